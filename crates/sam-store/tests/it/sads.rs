//! SECURITY.md invariant 2, "one use means one use", on both backends: a SAD use is spent
//! once, refusals change nothing but the audit log, and racing requests — from one pool or
//! from two independent pools, as two `samd` nodes would be — spend exactly the uses there are.

use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_store::{AuditEntry, ChainReport, NewSad, Spend, SpendRefusal, Store, StoreError};

use crate::backends::{databases, drop_databases};

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

fn sad(id: &str, uses: i64) -> NewSad {
    NewSad {
        id: id.into(),
        client_id: "client-a".into(),
        user_id: "alice".into(),
        key_id: "key-1".into(),
        uses,
        expires_at: t(300),
        created_at: t(0),
        request_id: "r1".into(),
        encoded: b"eyJ.sad.jws".to_vec(),
        encoding: "json".into(),
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        at: t(1),
        client_id: "client-a".into(),
        actor: "alice".into(),
        action: action.into(),
        outcome: "pending".into(),
        detail: "sad=s1".into(),
    }
}

async fn outcomes(store: &Store) -> Vec<String> {
    store
        .audit_records(1, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.entry.outcome)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_is_spent_once_and_each_refusal_is_audited_without_changing_anything() {
    let dbs = databases("spend").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.register_sad(&sad("s1", 1)).await.unwrap();
        // Registering again cannot re-arm it.
        assert!(matches!(
            store.register_sad(&sad("s1", 5)).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.register_sad(&sad("s0", 0)).await,
            Err(StoreError::Invalid(_))
        ));

        let first = store
            .spend_sad_use("s1", t(10), &audit("sign"))
            .await
            .unwrap();
        assert!(
            matches!(first, Spend::Spent { remaining: 0, .. }),
            "{first:?}"
        );
        let replay = store
            .spend_sad_use("s1", t(11), &audit("sign"))
            .await
            .unwrap();
        assert_eq!(replay, Spend::Refused(SpendRefusal::Exhausted));
        let unknown = store
            .spend_sad_use("nope", t(11), &audit("sign"))
            .await
            .unwrap();
        assert_eq!(unknown, Spend::Refused(SpendRefusal::Unknown));
        assert_eq!(store.sad_state("s1").await.unwrap(), Some((0, t(300))));
        assert_eq!(
            store.sad_as_received("client-a", "s1").await.unwrap(),
            Some(("r1".into(), b"eyJ.sad.jws".to_vec(), "json".into()))
        );
        assert_eq!(store.sad_as_received("client-b", "s1").await.unwrap(), None);
        let shown = format!("{:?}", sad("s1", 1));
        assert!(
            shown.contains("<11 bytes>") && !shown.contains("eyJ"),
            "{shown}"
        );

        // Expiry is exclusive: one second before it spends, at it refuses.
        store.register_sad(&sad("s2", 2)).await.unwrap();
        let before = store
            .spend_sad_use("s2", t(299), &audit("sign"))
            .await
            .unwrap();
        assert!(matches!(before, Spend::Spent { remaining: 1, .. }));
        let at = store
            .spend_sad_use("s2", t(300), &audit("sign"))
            .await
            .unwrap();
        assert_eq!(at, Spend::Refused(SpendRefusal::Expired));
        assert_eq!(store.sad_state("s2").await.unwrap(), Some((1, t(300))));

        assert_eq!(
            outcomes(&store).await,
            ["ok", "sad_replayed", "sad_unknown", "ok", "sad_expired"],
            "{:?}",
            store.backend()
        );
        assert_eq!(
            store.verify_audit_chain().await.unwrap(),
            ChainReport::Intact { records: 5 }
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_batch_spends_all_its_uses_or_none() {
    let dbs = databases("batch").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store.register_sad(&sad("seal", 4)).await.unwrap();
        assert!(matches!(
            store.spend_sad_uses("seal", 0, t(10), &audit("sign")).await,
            Err(StoreError::Invalid(_))
        ));
        let three = store
            .spend_sad_uses("seal", 3, t(10), &audit("sign"))
            .await
            .unwrap();
        assert!(
            matches!(three, Spend::Spent { remaining: 1, .. }),
            "{three:?}"
        );
        // Two more than the one left: refused whole, nothing spent.
        let over = store
            .spend_sad_uses("seal", 2, t(11), &audit("sign"))
            .await
            .unwrap();
        assert_eq!(over, Spend::Refused(SpendRefusal::Exhausted));
        assert_eq!(store.sad_state("seal").await.unwrap(), Some((1, t(300))));
        let last = store
            .spend_sad_uses("seal", 1, t(12), &audit("sign"))
            .await
            .unwrap();
        assert!(matches!(last, Spend::Spent { remaining: 0, .. }));
        // Past expiry with uses left reads as expired, not as a replay.
        store.register_sad(&sad("late", 4)).await.unwrap();
        assert_eq!(
            store
                .spend_sad_uses("late", 5, t(300), &audit("sign"))
                .await
                .unwrap(),
            Spend::Refused(SpendRefusal::Expired)
        );
        assert_eq!(
            outcomes(&store).await,
            ["ok", "sad_replayed", "ok", "sad_expired"],
            "{:?}",
            store.backend()
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

/// Races `tasks` spends of a SAD with `uses` uses, alternating between two independent
/// stores (two nodes); returns how many were spent and refused.
async fn race(nodes: [Store; 2], id: &str, uses: i64, tasks: usize) -> (usize, usize) {
    nodes[0].register_sad(&sad(id, uses)).await.unwrap();
    let nodes = Arc::new(nodes);
    let mut handles = Vec::new();
    for i in 0..tasks {
        let nodes = nodes.clone();
        let id = id.to_owned();
        handles.push(tokio::spawn(async move {
            nodes[i % 2]
                .spend_sad_use(&id, t(20), &audit("sign"))
                .await
                .unwrap()
        }));
    }
    let (mut spent, mut refused) = (0, 0);
    for handle in handles {
        match handle.await.unwrap() {
            Spend::Spent { .. } => spent += 1,
            Spend::Refused(SpendRefusal::Exhausted) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    (spent, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_spends_are_exact_across_two_nodes() {
    let dbs = databases("race").await;
    for db in &dbs {
        let nodes = [db.open().await.unwrap(), db.open().await.unwrap()];
        let check = nodes[0].clone();
        // Transaction mode: 16 racers, one signature.
        assert_eq!(
            race(nodes.clone(), "tx", 1, 16).await,
            (1, 15),
            "{:?}",
            check.backend()
        );
        // An eSeal SAD with a count of 10 raced by 50.
        assert_eq!(
            race(nodes, "seal", 10, 50).await,
            (10, 40),
            "{:?}",
            check.backend()
        );
        assert_eq!(check.sad_state("seal").await.unwrap().map(|s| s.0), Some(0));
        // Every attempt is in the audit log, and the chain held under the race.
        assert_eq!(
            check.verify_audit_chain().await.unwrap(),
            ChainReport::Intact { records: 66 }
        );
        let ok = outcomes(&check).await.iter().filter(|o| *o == "ok").count();
        assert_eq!(ok, 11);
        check.close().await;
    }
    drop_databases(dbs).await;
}

/// SQLite's group commit: concurrent spends on one node share commits (fewer groups than
/// transactions), and stay exact — each SAD spent once, every refusal audited, the chain whole —
/// also after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_spends_share_commits_and_stay_exact() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("group-commit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("sam.db").display());
    let store = Store::create(&url, 2).await.unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("sad-{i:03}")).collect();
    for id in &ids {
        store.register_sad(&sad(id, 1)).await.unwrap();
    }
    let before = store.group_commits().unwrap();
    let mut handles = Vec::new();
    for i in 0..400 {
        let store = store.clone();
        let id = ids[i % ids.len()].clone();
        handles.push(tokio::spawn(async move {
            store
                .spend_sad_use(&id, t(20), &audit("sign"))
                .await
                .unwrap()
        }));
    }
    let (mut spent, mut refused) = (0, 0);
    for handle in handles {
        match handle.await.unwrap() {
            Spend::Spent { .. } => spent += 1,
            Spend::Refused(SpendRefusal::Exhausted) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((spent, refused), (200, 200));
    let after = store.group_commits().unwrap();
    let (groups, members) = (after.groups - before.groups, after.members - before.members);
    assert!(
        members > groups,
        "{members} transactions in {groups} commits: nothing was grouped"
    );
    store.close().await;

    let store = Store::open(&url, 2).await.unwrap();
    for id in &ids {
        assert_eq!(store.sad_state(id).await.unwrap().unwrap().0, 0, "{id}");
    }
    assert_eq!(
        store.verify_audit_chain().await.unwrap(),
        ChainReport::Intact { records: 400 }
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
