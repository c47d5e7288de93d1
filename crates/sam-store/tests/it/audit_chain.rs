//! The audit chain detects and names an edited, deleted, reordered or truncated record, on
//! both backends, when someone with database access changes the tables directly.

use sam_algorithms::UnixTime;
use sam_store::{AuditEntry, ChainReport};
use sqlx::Executor;

use sam_store::testing::TestDatabase;

use crate::backends::{databases, drop_databases};

fn entry(n: i64) -> AuditEntry {
    AuditEntry {
        at: UnixTime::from_secs(1_790_000_000 + n).unwrap(),
        client_id: "client-a".into(),
        actor: format!("user-{n}"),
        action: "sign".into(),
        outcome: "ok".into(),
        detail: format!("request {n}"),
    }
}

async fn five_records(db: &TestDatabase) -> sam_store::Store {
    let store = db.open().await.unwrap();
    for n in 1..=5 {
        let record = store.append_audit(&entry(n)).await.unwrap();
        assert_eq!(record.seq, n);
    }
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        ChainReport::Intact { records: 5 }
    );
    store
}

fn broken_at(report: ChainReport, seq: i64, words: &str, case: &str) {
    match report {
        ChainReport::Broken { seq: found, reason } => {
            assert_eq!(found, seq, "{case}: {reason}");
            assert!(reason.contains(words), "{case}: {reason}");
        }
        ChainReport::Intact { .. } => panic!("{case} at {seq} went unnoticed"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_deletions_reordering_and_truncation_are_named() {
    let dbs = databases("audit").await;
    for db in &dbs {
        // Create the schema before tampering with it.
        db.open().await.unwrap().close().await;
        // Each case on a fresh chain in the same database: clear between cases.
        let cases: [(&str, &[&str], i64, &str); 4] = [
            (
                "edit",
                &["UPDATE audit_records SET detail = 'request 99' WHERE seq = 3"],
                3,
                "altered",
            ),
            (
                "delete",
                &["DELETE FROM audit_records WHERE seq = 2"],
                2,
                "missing",
            ),
            (
                // Swap records 2 and 4 (through a free sequence number).
                "reorder",
                &[
                    "UPDATE audit_records SET seq = -2 WHERE seq = 2",
                    "UPDATE audit_records SET seq = 2 WHERE seq = 4",
                    "UPDATE audit_records SET seq = 4 WHERE seq = -2",
                ],
                2,
                "does not follow",
            ),
            (
                "truncate",
                &["DELETE FROM audit_records WHERE seq = 5"],
                5,
                "missing",
            ),
        ];
        for (case, tamper, seq, words) in cases {
            let raw = db.raw().await.unwrap();
            raw.execute("DELETE FROM audit_records").await.unwrap();
            let genesis: Vec<u8> = vec![0; 32];
            sqlx::query("UPDATE audit_head SET seq = 0, last_hash = $1 WHERE id = 1")
                .bind(genesis)
                .execute(&raw)
                .await
                .unwrap();
            let store = five_records(db).await;
            for statement in tamper {
                raw.execute(*statement).await.unwrap();
            }
            let report = store.verify_audit_chain().await.unwrap();
            broken_at(report, seq, words, case);
            store.close().await;
            raw.close().await;
        }
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_the_schema_and_a_changed_migration_is_refused() {
    let dbs = databases("migrate").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.append_audit(&entry(1)).await.unwrap();
        store.close().await;
        // A second start (or a second node) applies nothing and keeps the data.
        let again = db.open().await.unwrap();
        assert_eq!(
            again.verify_audit_chain().await.unwrap(),
            ChainReport::Intact { records: 1 }
        );
        again.close().await;

        let raw = db.raw().await.unwrap();
        raw.execute("UPDATE sam_schema_migrations SET checksum = 'edited' WHERE version = 1")
            .await
            .unwrap();
        raw.close().await;
        let err = sam_store::Store::open(&db.url, 2)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("migration 1"), "{err}");
    }
    drop_databases(dbs).await;
}
