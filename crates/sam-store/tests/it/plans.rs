//! Service plans on both backends: counting is exact under races from two independent pools
//! (64 requests against a limit of 20 → 20 counted), a refusal counts nowhere, per-type and
//! overall limits each refuse on their own, a renewal happens once, and an alert is logged
//! once per period.

use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_store::{AlertRecord, PlanCount, PlanHold, Store, StoredPeriod};

use crate::backends::{databases, drop_databases};

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

/// A fresh hold that expires at `t(deadline)`.
fn hold(deadline: i64) -> PlanHold {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    PlanHold {
        id: format!(
            "hold-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        deadline: t(deadline),
    }
}

fn period(start: i64, end: Option<i64>) -> StoredPeriod {
    StoredPeriod {
        number: 1,
        start: t(start),
        end: end.map(t),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_racing_requests_on_two_nodes_count_exactly_twenty() {
    let dbs = databases("plan_race").await;
    for db in &dbs {
        let nodes = Arc::new([db.open().await.unwrap(), db.open().await.unwrap()]);
        let first = nodes[0]
            .set_plan("A", "{}", period(0, None), t(0))
            .await
            .unwrap();
        let mut racers = Vec::new();
        for i in 0..64 {
            let nodes = nodes.clone();
            racers.push(tokio::spawn(async move {
                nodes[i % 2]
                    .count_plan_use("A", first.number, "sign", 20, None, &hold(0))
                    .await
                    .unwrap()
            }));
        }
        let (mut counted, mut refused) = (0, 0);
        for racer in racers {
            match racer.await.unwrap() {
                PlanCount::Counted { .. } => counted += 1,
                PlanCount::LimitReached => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((counted, refused), (20, 44), "{:?}", nodes[0].backend());
        assert_eq!(
            nodes[0].plan_usage("A", first.number).await.unwrap(),
            [("*".to_owned(), 20), ("sign".to_owned(), 20)]
        );
        for node in nodes.iter() {
            node.close().await;
        }
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_and_overall_limits_refuse_alone_and_refusals_count_nowhere() {
    let dbs = databases("plan_limits").await;
    for db in &dbs {
        let store: Store = db.open().await.unwrap();
        assert_eq!(store.plan("A").await.unwrap(), None);
        let p = store
            .set_plan("A", "{\"v\":1}", period(0, Some(100)), t(0))
            .await
            .unwrap();
        assert_eq!(p.number, 1);
        let stored = store.plan("A").await.unwrap().unwrap();
        assert_eq!((stored.settings.as_str(), stored.period), ("{\"v\":1}", p));

        // Sign has a limit of 2 of an overall 3.
        for n in 1..=2 {
            assert_eq!(
                store
                    .count_plan_use("A", 1, "sign", 3, Some(2), &hold(0))
                    .await
                    .unwrap(),
                PlanCount::Counted {
                    total: n,
                    of_type: n
                }
            );
        }
        assert_eq!(
            store
                .count_plan_use("A", 1, "sign", 3, Some(2), &hold(0))
                .await
                .unwrap(),
            PlanCount::TypeLimitReached
        );
        // The refusal counted nowhere: the overall count is still 2, so one more other
        // request passes, then the overall limit refuses.
        assert_eq!(
            store
                .count_plan_use("A", 1, "status", 3, None, &hold(0))
                .await
                .unwrap(),
            PlanCount::Counted {
                total: 3,
                of_type: 1
            }
        );
        assert_eq!(
            store
                .count_plan_use("A", 1, "status", 3, None, &hold(0))
                .await
                .unwrap(),
            PlanCount::LimitReached
        );
        assert_eq!(
            store.plan_usage("A", 1).await.unwrap(),
            [("*".into(), 3), ("sign".into(), 2), ("status".into(), 1)]
        );
        assert_eq!(
            store.plan_usage("A", 1).await.unwrap(),
            [("*".into(), 3), ("sign".into(), 2), ("status".into(), 1)]
        );
        // Another client counts apart.
        assert_eq!(
            store
                .count_plan_use("B", 1, "sign", 1, None, &hold(0))
                .await
                .unwrap(),
            PlanCount::Counted {
                total: 1,
                of_type: 1
            }
        );
        assert!(
            store
                .count_plan_use("A", 1, "*", 3, None, &hold(0))
                .await
                .is_err()
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_renewal_happens_once_and_history_and_alerts_are_kept() {
    let dbs = databases("plan_renew").await;
    for db in &dbs {
        let nodes = Arc::new([db.open().await.unwrap(), db.open().await.unwrap()]);
        let store = nodes[0].clone();
        store
            .set_plan("A", "{}", period(0, Some(100)), t(0))
            .await
            .unwrap();
        store
            .count_plan_use("A", 1, "sign", 5, None, &hold(0))
            .await
            .unwrap();
        // Eight nodes' worth of racing renewals of period 1: one wins.
        let mut racers = Vec::new();
        for i in 0..8 {
            let nodes = nodes.clone();
            racers.push(tokio::spawn(async move {
                let next = StoredPeriod {
                    number: 2,
                    start: t(90),
                    end: Some(t(190)),
                };
                nodes[i % 2]
                    .renew_plan("A", 1, next, "auto_time", t(90))
                    .await
                    .unwrap()
            }));
        }
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1);
        let plan = store.plan("A").await.unwrap().unwrap();
        assert_eq!((plan.period.number, plan.period.start), (2, t(90)));
        assert!(store.plan_usage("A", 2).await.unwrap().is_empty());
        assert_eq!(store.plan_usage("A", 1).await.unwrap()[0], ("*".into(), 1));
        let bad = StoredPeriod {
            number: 4,
            start: t(95),
            end: None,
        };
        assert!(
            store
                .renew_plan("A", 2, bad, "manual", t(95))
                .await
                .is_err()
        );

        // A new plan closes the current period and numbers on.
        let third = store
            .set_plan("A", "{\"new\":true}", period(100, None), t(100))
            .await
            .unwrap();
        assert_eq!(third.number, 3);
        let history = store.plan_periods("A").await.unwrap();
        assert_eq!(
            history
                .iter()
                .map(|p| (p.period.number, p.reason.as_str(), p.closed_at))
                .collect::<Vec<_>>(),
            [
                (1, "set", Some(t(90))),
                (2, "auto_time", Some(t(100))),
                (3, "set", None)
            ]
        );
        assert!(
            store
                .update_plan_settings("A", "{\"edited\":1}", t(101))
                .await
                .unwrap()
        );
        assert_eq!(store.plan("A").await.unwrap().unwrap().period.number, 3);
        assert!(!store.update_plan_settings("Z", "{}", t(101)).await.unwrap());

        // Alerts: once per client, period and kind.
        let alert = |period, kind: &str| AlertRecord {
            client_id: "A".into(),
            period_number: period,
            kind: kind.into(),
            sent_at: t(120),
            detail: "to ops@example.com, +4912345678".into(),
        };
        assert!(
            store
                .record_plan_alert(&alert(3, "plan_usage_reached"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_plan_alert(&alert(3, "plan_usage_reached"))
                .await
                .unwrap()
        );
        assert!(
            store
                .record_plan_alert(&alert(3, "plan_expires_soon"))
                .await
                .unwrap()
        );
        assert!(
            store
                .record_plan_alert(&alert(4, "plan_usage_reached"))
                .await
                .unwrap()
        );
        assert_eq!(store.plan_alerts("A", None, 100).await.unwrap().len(), 3);
        assert!(store.plan_alerts("B", None, 100).await.unwrap().is_empty());
        // Paged by period then kind, each page after the last (period, kind) of the one before.
        let kinds = |alerts: Vec<sam_store::AlertRecord>| {
            alerts
                .into_iter()
                .map(|a| (a.period_number, a.kind))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(store.plan_alerts("A", None, 2).await.unwrap()),
            [
                (3, "plan_expires_soon".to_owned()),
                (3, "plan_usage_reached".to_owned())
            ]
        );
        assert_eq!(
            kinds(
                store
                    .plan_alerts("A", Some((3, "plan_usage_reached")), 2)
                    .await
                    .unwrap()
            ),
            [(4, "plan_usage_reached".to_owned())]
        );
        assert_eq!(
            kinds(store.plan_alerts_of_period("A", 3).await.unwrap()).len(),
            2
        );
        for node in nodes.iter() {
            node.close().await;
        }
    }
    drop_databases(dbs).await;
}

/// Plan invariant 3 of issue 14: a count taken before its effect is held; confirmed it stays,
/// released it is given back once, and a hold its node never settled (killed between the count
/// and the effect) is given back after its deadline — so after a crash the count equals the
/// effects that happened. Both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_count_is_kept_given_back_once_or_given_back_after_its_deadline() {
    let dbs = databases("plan_holds").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        store
            .set_plan("A", "{}", period(0, None), t(0))
            .await
            .unwrap();
        let (kept, failed, abandoned) = (hold(100), hold(100), hold(100));
        for h in [&kept, &failed, &abandoned] {
            assert!(matches!(
                store
                    .count_plan_use("A", 1, "sign", 10, None, h)
                    .await
                    .unwrap(),
                PlanCount::Counted { .. }
            ));
        }
        store.confirm_plan_use(&kept.id).await.unwrap();
        assert!(store.release_plan_use(&failed.id).await.unwrap());
        assert!(
            !store.release_plan_use(&failed.id).await.unwrap(),
            "released twice"
        );
        assert!(
            !store.release_plan_use(&kept.id).await.unwrap(),
            "a confirmed count released"
        );
        assert_eq!(
            store.plan_usage("A", 1).await.unwrap(),
            [("*".into(), 2), ("sign".into(), 2)]
        );
        // The abandoned hold: kept until its deadline, given back after it, once.
        assert_eq!(store.release_expired_plan_holds(t(100)).await.unwrap(), 0);
        assert_eq!(store.release_expired_plan_holds(t(101)).await.unwrap(), 1);
        assert_eq!(store.release_expired_plan_holds(t(102)).await.unwrap(), 0);
        assert_eq!(
            store.plan_usage("A", 1).await.unwrap(),
            [("*".into(), 1), ("sign".into(), 1)]
        );
        store.close().await;
    }
    drop_databases(dbs).await;
}
