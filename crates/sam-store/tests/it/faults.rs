//! SECURITY.md invariant 8, "nothing is acknowledged before it is durable", under a full disk:
//! the SQLite database lives on a small tmpfs that the test fills. Every spend and record the
//! store acknowledged — before, during and after the disk was full — is there after a restart,
//! every SAD is spent at most once, and the audit chain verifies.
//!
//! The fault is real (ENOSPC from the kernel, SQLITE_FULL from SQLite, at COMMIT when the WAL
//! cannot grow), so the test mounts a tmpfs (`sam_testkit::faults`) and needs root.

use sam_algorithms::UnixTime;
use sam_store::{AuditEntry, ChainReport, NewSad, Spend, Store};
use sam_testkit::faults::SmallDisk;

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

fn sad(id: &str) -> NewSad {
    NewSad {
        id: id.into(),
        client_id: "client-a".into(),
        user_id: "alice".into(),
        key_id: "key-1".into(),
        uses: 1,
        expires_at: t(3_000),
        created_at: t(0),
        request_id: format!("request-{id}"),
        // A SAD of a realistic size, so that a few hundred fill the WAL.
        encoded: vec![0x5a; 1_500],
        encoding: "json".into(),
    }
}

fn audit(detail: &str) -> AuditEntry {
    AuditEntry {
        at: t(1),
        client_id: "client-a".into(),
        actor: "alice".into(),
        action: "sad_spent".into(),
        outcome: String::new(),
        detail: detail.into(),
    }
}

/// What a restart must find: every registration acknowledged, every spend acknowledged (and
/// refused again), and an intact audit chain with at least the `records` acknowledged before
/// and the refusals just made.
async fn after_the_restart(
    store: &Store,
    registered: &[impl AsRef<str>],
    spent: &[impl AsRef<str>],
    records: i64,
) {
    for id in registered.iter().map(AsRef::as_ref) {
        assert!(
            store.sad_state(id).await.unwrap().is_some(),
            "SAD {id} was registered and acknowledged, and is gone after a restart"
        );
    }
    for id in spent.iter().map(AsRef::as_ref) {
        assert_eq!(
            store.sad_state(id).await.unwrap().unwrap().0,
            0,
            "SAD {id} was spent and acknowledged, and is unspent again"
        );
        assert!(
            matches!(
                store.spend_sad_use(id, t(30), &audit(id)).await.unwrap(),
                Spend::Refused(_)
            ),
            "SAD {id} signed a second time after the restart"
        );
    }
    match store.verify_audit_chain().await.unwrap() {
        ChainReport::Intact { records: n } => assert!(
            n >= records + i64::try_from(spent.len()).unwrap(),
            "the audit log has {n} records; {records} were acknowledged before the restart and {} after",
            spent.len()
        ),
        broken => panic!("audit chain after the disk was full: {broken:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_acknowledged_write_and_spends_no_sad_twice() {
    let Some(disk) = SmallDisk::mount(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
        "store",
        "16m",
    ) else {
        return;
    };
    let url = format!("sqlite:{}", disk.dir.join("sam.db").display());
    let store = Store::create(&url, 1).await.unwrap();
    let ids: Vec<String> = (0..300).map(|i| format!("sad-{i:03}")).collect();
    for id in &ids[..60] {
        store.register_sad(&sad(id)).await.unwrap();
    }

    // While the disk is full: whatever the store answers, it must be true.
    disk.fill();
    let mut registered: Vec<&str> = ids[..60].iter().map(String::as_str).collect();
    let mut spent: Vec<&str> = Vec::new();
    let mut records: i64 = 0;
    let mut failures = 0;
    for (i, id) in ids.iter().enumerate().skip(60).take(120) {
        match store.register_sad(&sad(id)).await {
            Ok(()) => registered.push(id),
            Err(_) => failures += 1,
        }
        // Spend an earlier one, and refuse a replay (a rolled-back transaction).
        let earlier = ids[i - 60].as_str();
        match store.spend_sad_use(earlier, t(10), &audit(earlier)).await {
            Ok(Spend::Spent { .. }) => {
                spent.push(earlier);
                records += 1;
            }
            Ok(Spend::Refused(_)) => records += 1,
            Err(_) => failures += 1,
        }
        if let Some(done) = spent.first()
            && let Ok(Spend::Refused(_)) = store.spend_sad_use(done, t(10), &audit(done)).await
        {
            records += 1;
        }
    }
    assert!(
        failures > 0,
        "the disk never got full: the test proves nothing"
    );

    // Space again: the store works again, and what it acknowledges stays.
    disk.free();
    let mut after = 0;
    for (i, id) in ids.iter().enumerate().skip(180) {
        if store.register_sad(&sad(id)).await.is_ok() {
            registered.push(id);
        }
        let earlier = ids[i - 60].as_str();
        match store.spend_sad_use(earlier, t(20), &audit(earlier)).await {
            Ok(Spend::Spent { .. }) => {
                spent.push(earlier);
                records += 1;
                after += 1;
            }
            Ok(Spend::Refused(_)) => records += 1,
            Err(e) => panic!("with space again, spending {earlier} failed: {e}"),
        }
        if let Ok(Spend::Refused(_)) = store.spend_sad_use(earlier, t(20), &audit(earlier)).await {
            records += 1;
        }
    }
    assert!(after > 0, "nothing was spent once the space was back");
    store.close().await;

    // A restart finds every acknowledged write.
    let store = Store::open(&url, 1).await.unwrap();
    after_the_restart(&store, &registered, &spent, records).await;
    store.close().await;
}

/// A caller dropped part-way (samd's request timeout drops the handler's future) leaves no
/// transaction open behind it: its connection is closed, not reused, so every later write is
/// committed for real — and each SAD is still spent at most once. Both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cancelled_mid_transaction_leaves_nothing_open() {
    let dbs = crate::backends::databases("cancel").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        let ids: Vec<String> = (0..160).map(|i| format!("cancel-{i:03}")).collect();
        for id in &ids {
            store.register_sad(&sad(id)).await.unwrap();
        }
        // Spends cut off after 0–39 µs, four times over: some never start, some stop while
        // `BEGIN` runs or inside the transaction, some finish. (Cut during `BEGIN`, an earlier
        // `Tx` pooled a connection inside a transaction: this test found it.)
        for (i, id) in ids.iter().enumerate() {
            let cut = std::time::Duration::from_micros(u64::try_from(i % 40).unwrap());
            let _ = tokio::time::timeout(cut, store.spend_sad_use(id, t(10), &audit(id))).await;
        }
        // Each SAD is now spent or not; a second spend says which, and spends at most once.
        for id in &ids {
            store.spend_sad_use(id, t(11), &audit(id)).await.unwrap();
            assert!(matches!(
                store.spend_sad_use(id, t(12), &audit(id)).await.unwrap(),
                Spend::Refused(_)
            ));
        }
        store.register_sad(&sad("after-the-cancels")).await.unwrap();
        store.close().await;

        // What was acknowledged after the cancellations is durable: a new pool sees it all.
        let again = db.open().await.unwrap();
        assert!(
            again
                .sad_state("after-the-cancels")
                .await
                .unwrap()
                .is_some()
        );
        for id in &ids {
            assert_eq!(again.sad_state(id).await.unwrap().unwrap().0, 0, "{id}");
        }
        assert!(
            matches!(
                again.verify_audit_chain().await.unwrap(),
                ChainReport::Intact { .. }
            ),
            "the audit chain after cancelled spends"
        );
        again.close().await;
    }
    crate::backends::drop_databases(dbs).await;
}

/// The same under concurrent writers, whose transactions SQLite groups into shared commits: a
/// group whose commit fails with the disk full fails every caller in it, so that still nothing
/// acknowledged is lost and no SAD is spent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_a_full_disk_lose_no_acknowledged_write() {
    let Some(disk) = SmallDisk::mount(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
        "group",
        "16m",
    ) else {
        return;
    };
    let url = format!("sqlite:{}", disk.dir.join("sam.db").display());
    let store = Store::create(&url, 2).await.unwrap();
    let ids: Vec<String> = (0..400).map(|i| format!("sad-{i:03}")).collect();
    for id in &ids[..200] {
        store.register_sad(&sad(id)).await.unwrap();
    }

    /// One round of concurrent writers: each registers `ids[i]` and spends `ids[i - 200]`;
    /// returns what was acknowledged, and how many calls failed.
    async fn round(
        store: &Store,
        ids: &[String],
        range: std::ops::Range<usize>,
    ) -> (Vec<String>, Vec<String>, i64, usize) {
        let mut handles = Vec::new();
        for i in range {
            let store = store.clone();
            let (new, earlier) = (ids[i].clone(), ids[i - 200].clone());
            handles.push(tokio::spawn(async move {
                let registered = store.register_sad(&sad(&new)).await.is_ok();
                let spent = store.spend_sad_use(&earlier, t(10), &audit(&earlier)).await;
                (new, earlier, registered, spent)
            }));
        }
        let (mut registered, mut spent, mut records, mut failures) = (vec![], vec![], 0, 0);
        for handle in handles {
            let (new, earlier, ok, spend) = handle.await.unwrap();
            if ok {
                registered.push(new);
            } else {
                failures += 1;
            }
            match spend {
                Ok(Spend::Spent { .. }) => {
                    spent.push(earlier);
                    records += 1;
                }
                Ok(Spend::Refused(_)) => records += 1,
                Err(_) => failures += 1,
            }
        }
        (registered, spent, records, failures)
    }

    let mut registered: Vec<String> = ids[..200].to_vec();
    // Full: each writer spends one of ids[..100]; then with space, one of ids[100..200].
    disk.fill();
    let (r, mut spent, mut records, failures) = round(&store, &ids, 200..300).await;
    registered.extend(r);
    assert!(
        failures > 0,
        "the disk never got full: the test proves nothing"
    );
    disk.free();
    let (r, s, n, _) = round(&store, &ids, 300..400).await;
    registered.extend(r);
    assert!(!s.is_empty(), "nothing was spent once the space was back");
    spent.extend(s);
    records += n;
    let commits = store.group_commits().unwrap();
    assert!(
        commits.members > commits.groups,
        "{commits:?}: nothing was grouped, the test proves nothing about groups"
    );
    store.close().await;

    let store = Store::open(&url, 2).await.unwrap();
    after_the_restart(&store, &registered, &spent, records).await;
    store.close().await;
}
