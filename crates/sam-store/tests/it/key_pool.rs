//! Pre-generated keys are handed out at most once, also to racing takers on two nodes.

use std::collections::HashSet;
use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_store::{PooledKey, StoreError};

use crate::backends::{databases, drop_databases};

fn pooled(n: u32, spec: &str) -> PooledKey {
    PooledKey {
        entry_id: format!("entry-{spec}-{n}"),
        token: "software".into(),
        spec: spec.into(),
        record: n.to_be_bytes().to_vec(),
        created_at: UnixTime::from_secs(1_790_000_000 + i64::from(n)).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_pooled_key_is_taken_once_oldest_first() {
    let dbs = databases("keypool").await;
    for db in &dbs {
        let nodes = Arc::new([db.open().await.unwrap(), db.open().await.unwrap()]);
        for n in 0..20 {
            nodes[0]
                .put_pooled_key(&pooled(n, "RSA-2048"))
                .await
                .unwrap();
        }
        nodes[0]
            .put_pooled_key(&pooled(0, "ECDSA P-256"))
            .await
            .unwrap();
        assert!(matches!(
            nodes[0].put_pooled_key(&pooled(3, "RSA-2048")).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            nodes[1]
                .pooled_key_count("software", "RSA-2048")
                .await
                .unwrap(),
            20
        );

        // Oldest first.
        assert_eq!(
            nodes[0]
                .take_pooled_key("software", "RSA-2048")
                .await
                .unwrap(),
            Some(0u32.to_be_bytes().to_vec())
        );

        let mut takers = Vec::new();
        for i in 0..40 {
            let nodes = nodes.clone();
            takers.push(tokio::spawn(async move {
                nodes[i % 2]
                    .take_pooled_key("software", "RSA-2048")
                    .await
                    .unwrap()
            }));
        }
        let mut taken = Vec::new();
        for taker in takers {
            if let Some(record) = taker.await.unwrap() {
                taken.push(record);
            }
        }
        let distinct: HashSet<_> = taken.iter().cloned().collect();
        assert_eq!(taken.len(), 19, "{:?}", nodes[0].backend());
        assert_eq!(distinct.len(), 19, "a key was handed out twice");
        assert_eq!(
            nodes[0]
                .pooled_key_count("software", "RSA-2048")
                .await
                .unwrap(),
            0
        );
        // Other specs and tokens are untouched.
        assert_eq!(
            nodes[0]
                .take_pooled_key("other-token", "ECDSA P-256")
                .await
                .unwrap(),
            None
        );
        assert!(
            nodes[0]
                .take_pooled_key("software", "ECDSA P-256")
                .await
                .unwrap()
                .is_some()
        );
        nodes[0].close().await;
        nodes[1].close().await;
    }
    drop_databases(dbs).await;
}
