//! Deferred results on both backends: bound to their client and user, written once from
//! pending to done or failed, gone at their expiry and with their user.

use sam_algorithms::UnixTime;
use sam_store::DeferredOutcome;

use crate::backends::{databases, drop_databases};
use crate::records::user;

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_result_is_its_users_written_once_and_ends() {
    let dbs = databases("deferred").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for (client, id) in [("A", "alice"), ("A", "bob"), ("B", "alice")] {
            store.create_user(&user(client, id)).await.unwrap();
        }
        store
            .begin_deferred("A", "alice", "r1", t(0), t(600))
            .await
            .unwrap();
        store
            .begin_deferred("A", "alice", "r2", t(0), t(600))
            .await
            .unwrap();
        assert_eq!(
            store.deferred("A", "alice", "r1", t(1)).await.unwrap(),
            Some(DeferredOutcome::Pending)
        );
        // Another user's or client's look finds nothing.
        assert_eq!(store.deferred("A", "bob", "r1", t(1)).await.unwrap(), None);
        assert_eq!(
            store.deferred("B", "alice", "r1", t(1)).await.unwrap(),
            None
        );
        // The same id twice is refused (the primary key).
        assert!(
            store
                .begin_deferred("A", "bob", "r1", t(0), t(600))
                .await
                .is_err()
        );
        let done = DeferredOutcome::Done(vec![vec![1, 2, 3], vec![4; 100]]);
        assert!(!store.finish_deferred("B", "r1", &done).await.unwrap());
        assert!(store.finish_deferred("A", "r1", &done).await.unwrap());
        let failed = DeferredOutcome::Failed {
            code: "sad_invalid".into(),
            message: "why".into(),
        };
        assert!(
            !store.finish_deferred("A", "r1", &failed).await.unwrap(),
            "written once"
        );
        assert_eq!(
            store.deferred("A", "alice", "r1", t(2)).await.unwrap(),
            Some(done)
        );
        assert!(store.finish_deferred("A", "r2", &failed).await.unwrap());
        assert_eq!(
            store.deferred("A", "alice", "r2", t(2)).await.unwrap(),
            Some(failed)
        );
        assert!(
            store
                .finish_deferred("A", "r2", &DeferredOutcome::Pending)
                .await
                .is_err()
        );
        // At its expiry it is gone; a later begin clears the expired ones of the user.
        assert_eq!(
            store.deferred("A", "alice", "r1", t(600)).await.unwrap(),
            None
        );
        store
            .begin_deferred("A", "alice", "r3", t(700), t(900))
            .await
            .unwrap();
        store
            .begin_deferred("A", "alice", "r1", t(700), t(900))
            .await
            .unwrap();
        // Deleting the user deletes them.
        assert!(store.delete_user("A", "alice").await.unwrap());
        assert_eq!(
            store.deferred("A", "alice", "r3", t(701)).await.unwrap(),
            None
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}
