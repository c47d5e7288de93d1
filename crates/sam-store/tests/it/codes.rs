//! One-time codes on both backends: attempts bound guesses exactly, also in parallel; a code
//! confirms once; expiry is exclusive; another client's check learns nothing.

use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_store::{CodeCheck, NewCode, StoreError};

use crate::backends::{databases, drop_databases};

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

fn code(id: &str, attempts: i64) -> NewCode {
    NewCode {
        code_id: id.into(),
        client_id: "A".into(),
        user_id: "alice".into(),
        purpose: "otp".into(),
        code_hash: vec![0xAB; 32],
        payload: "request r1".into(),
        attempts,
        created_at: t(0),
        expires_at: t(300),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_confirm_once_within_their_attempts_and_time() {
    let dbs = databases("codes").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        assert!(matches!(
            store.issue_code(&code("c0", 0)).await,
            Err(StoreError::Invalid(_))
        ));
        store.issue_code(&code("c1", 3)).await.unwrap();
        let wrong = [0xCD; 32];
        let right = [0xAB; 32];
        let check = |client: &'static str, purpose: &'static str, hash: [u8; 32], at: i64| {
            let store = store.clone();
            async move {
                store
                    .check_code(client, "alice", "c1", purpose, &hash, t(at))
                    .await
                    .unwrap()
            }
        };
        // Another client or purpose: unusable, and no attempt is spent.
        assert_eq!(check("B", "otp", right, 1).await, CodeCheck::Unusable);
        assert_eq!(
            check("A", "change_email", right, 1).await,
            CodeCheck::Unusable
        );
        assert_eq!(
            check("A", "otp", wrong, 1).await,
            CodeCheck::Wrong { attempts_left: 2 }
        );
        assert_eq!(
            check("A", "otp", right, 2).await,
            CodeCheck::Confirmed {
                payload: "request r1".into()
            }
        );
        assert_eq!(check("A", "otp", right, 3).await, CodeCheck::Unusable);

        // A re-sent code replaces the old one with fresh attempts; expiry is exclusive.
        store.issue_code(&code("c1", 3)).await.unwrap();
        assert_eq!(check("A", "otp", right, 300).await, CodeCheck::Unusable);
        assert_eq!(
            check("A", "otp", right, 299).await,
            CodeCheck::Confirmed {
                payload: "request r1".into()
            }
        );

        // Out of attempts, the right code no longer helps.
        store.issue_code(&code("c1", 2)).await.unwrap();
        assert_eq!(
            check("A", "otp", wrong, 1).await,
            CodeCheck::Wrong { attempts_left: 1 }
        );
        assert_eq!(
            check("A", "otp", wrong, 1).await,
            CodeCheck::Wrong { attempts_left: 0 }
        );
        assert_eq!(check("A", "otp", right, 1).await, CodeCheck::Unusable);
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_exceed_the_attempts() {
    let dbs = databases("guesses").await;
    for db in &dbs {
        let nodes = Arc::new([db.open().await.unwrap(), db.open().await.unwrap()]);
        nodes[0].issue_code(&code("c2", 5)).await.unwrap();
        let mut guesses = Vec::new();
        for i in 0..40u8 {
            let nodes = nodes.clone();
            guesses.push(tokio::spawn(async move {
                nodes[usize::from(i % 2)]
                    .check_code("A", "alice", "c2", "otp", &[i; 32], t(5))
                    .await
                    .unwrap()
            }));
        }
        let mut wrong = 0;
        for guess in guesses {
            match guess.await.unwrap() {
                CodeCheck::Wrong { .. } => wrong += 1,
                CodeCheck::Unusable => {}
                CodeCheck::Confirmed { .. } => panic!("no guess was right"),
            }
        }
        assert_eq!(wrong, 5, "{:?}", nodes[0].backend());
        nodes[0].close().await;
        nodes[1].close().await;
    }
    drop_databases(dbs).await;
}
