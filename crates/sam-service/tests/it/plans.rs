//! Service plans enforced by the service, on SQLite and PostgreSQL: 64 concurrent Sign
//! requests against a limit of 20 on two independent service instances → exactly 20 signed,
//! 44 `plan_limit_reached`, a stored count of 20 (and the seal SAD spent only 20 times);
//! per-type limits, start and expiry, refusals that count nowhere and are audited, manual
//! renewal, and alerts through the notifier, logged once.

use std::sync::Arc;

use sam_algorithms::{HashAlgorithm, UnixTime};
use sam_cms::Format;
use sam_plan::{
    DurationUnit, LeadUnit, Percent, PlanDuration, PlanSettings, Refusal, RenewalLead, RequestType,
    TransactionLimit,
};
use sam_service::{SealSign, Service};

use crate::fixtures::{client, databases, second_node, service};
use crate::sap::code;
use crate::scal1::{bob, documents};

fn limit(n: i64) -> TransactionLimit {
    TransactionLimit::new(n).unwrap()
}

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_signs_against_a_limit_of_twenty_sign_twenty() {
    let dbs = databases("svc_plan_race").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 5).await;
        let request = crate::seal::authorised_seal(&f, &ctx, &bob, 100).await;
        // The plan starts now: setting it up did not count.
        f.service
            .set_plan("client-a", &PlanSettings::new(limit(20), f.now()))
            .await
            .unwrap();
        // Two independent instances on PostgreSQL (two nodes); one on SQLite, whose single
        // writer is one node's.
        let nodes: Arc<Vec<Service>> = Arc::new(match f.service.store().backend() {
            sam_store::Backend::Postgres => {
                vec![second_node(db, &f).await, second_node(db, &f).await]
            }
            _ => vec![second_node(db, &f).await],
        });
        let mut racers = Vec::new();
        for i in 0..64 {
            let nodes = nodes.clone();
            let ctx = ctx.clone();
            let request = request.clone();
            racers.push(tokio::spawn(async move {
                let content = format!("invoice {i}");
                nodes[i % nodes.len()]
                    .seal_sign(
                        &ctx,
                        SealSign {
                            request_id: request,
                            hash_algorithm: HashAlgorithm::Sha256,
                            documents: documents(&[content.as_bytes()]),
                            format: Format::Raw,
                        },
                    )
                    .await
            }));
        }
        let (mut signed, mut refused) = (0, 0);
        for racer in racers {
            match racer.await.unwrap() {
                Ok(_) => signed += 1,
                Err(e) if e.code == "plan_limit_reached" => refused += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(
            (signed, refused),
            (20, 44),
            "{:?}",
            f.service.store().backend()
        );
        let status = f.service.plan_status("client-a").await.unwrap();
        assert_eq!(status.usage.total, 20);
        assert_eq!(status.usage.of(RequestType::Sign), 20);
        // Refused requests did not spend the seal: 80 of 100 signatures are left.
        let record = f
            .service
            .store()
            .request("client-a", &request, f.now())
            .await
            .unwrap()
            .unwrap();
        let (left, _) = f
            .service
            .store()
            .sad_state(record.sad_id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(left, 80);
        // Every refusal is audited with its code.
        let records = f.service.store().audit_records(0, 10_000).await.unwrap();
        assert_eq!(
            records
                .iter()
                .filter(|r| r.entry.outcome == "plan_limit_reached")
                .count(),
            44
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_limits_time_bounds_refusals_and_manual_renewal() {
    let dbs = databases("svc_plan_rules").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        crate::sap::alice(&f, &ctx).await;

        // Not started yet: everything is refused, nothing counts.
        let mut plan = PlanSettings::new(limit(5), t(100));
        plan.limits_by_type.insert(RequestType::GetUser, limit(2));
        plan.expire_after = Some(PlanDuration {
            value: 1,
            unit: DurationUnit::Days,
        });
        f.service.set_plan("client-a", &plan).await.unwrap();
        assert_eq!(
            code(f.service.get_user(&ctx, "alice").await),
            "plan_not_started"
        );
        f.clock.advance(100);
        // A failed request counts nowhere (an unknown user).
        assert_eq!(code(f.service.get_user(&ctx, "nobody").await), "not_found");
        f.service.get_user(&ctx, "alice").await.unwrap();
        f.service.get_user(&ctx, "alice").await.unwrap();
        // The type's limit, while the overall one is not reached.
        assert_eq!(
            code(f.service.get_user(&ctx, "alice").await),
            "plan_request_type_limit_reached"
        );
        f.service
            .get_devices(&ctx, "alice", None, 100)
            .await
            .unwrap();
        f.service
            .get_devices(&ctx, "alice", None, 100)
            .await
            .unwrap();
        f.service
            .get_devices(&ctx, "alice", None, 100)
            .await
            .unwrap();
        // The overall limit.
        assert_eq!(
            code(f.service.get_devices(&ctx, "alice", None, 100).await),
            "plan_limit_reached"
        );
        let status = f.service.plan_status("client-a").await.unwrap();
        assert_eq!(status.usage.total, 5);
        assert_eq!(status.usage.of(RequestType::GetUser), 2);
        assert_eq!(status.usage.of(RequestType::GetDevices), 3);

        // Manual renewal: a new period from now with zero usage.
        let renewed = f.service.renew_plan("client-a").await.unwrap();
        assert_eq!(renewed.number, 2);
        f.service.get_user(&ctx, "alice").await.unwrap();
        assert_eq!(
            f.service.plan_status("client-a").await.unwrap().usage.total,
            1
        );
        // The period ends a day after the renewal: then plan_expired.
        f.clock.advance(86_400);
        assert_eq!(
            code(f.service.get_user(&ctx, "alice").await),
            "plan_expired"
        );

        // With auto-renewal on, manual renewal is refused; time renews by itself.
        plan.auto_renew.before_expiry = Some(RenewalLead {
            value: 1,
            unit: LeadUnit::Hours,
        });
        plan.start = f.now();
        f.service.set_plan("client-a", &plan).await.unwrap();
        assert_eq!(
            f.service.renew_plan("client-a").await.unwrap_err().code,
            "plan_auto_renewed"
        );
        f.clock.advance(86_400 - 3_600);
        f.service.get_user(&ctx, "alice").await.unwrap();
        let status = f.service.plan_status("client-a").await.unwrap();
        assert_eq!(status.usage.total, 1);
        assert_eq!(status.period.start, f.now());
        let history = f.service.store().plan_periods("client-a").await.unwrap();
        assert_eq!(history.last().unwrap().reason, "auto_time");

        // Another client has no plan: unlimited.
        let other = client("client-b");
        for _ in 0..10 {
            f.service.get_sam_profile(&other, 1).await.unwrap();
        }
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_clients_with_email_and_mobile_once_per_period() {
    let dbs = databases("svc_plan_alerts").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let mut plan = PlanSettings::new(limit(4), f.now());
        plan.alerts.at_usage = Some(Percent::new(50).unwrap());
        f.service.set_plan("client-a", &plan).await.unwrap();
        assert_eq!(
            f.service.plan_status("client-a").await.unwrap().next_alerts,
            [(
                sam_plan::AlertKind::UsageReached,
                sam_plan::AlertTrigger::Usage(2)
            )]
        );
        // Only an e-mail address: no alert (seed 002 needs both).
        let mut record = sam_store::ClientRecord {
            email: Some("ops@example.com".into()),
            ..sam_store::ClientRecord::new("client-a", f.now())
        };
        f.service.store().put_client(&record).await.unwrap();
        for _ in 0..2 {
            f.service.get_sam_profile(&ctx, 1).await.unwrap();
        }
        assert!(f.mail().is_empty());
        assert!(
            f.service
                .plan_alerts("client-a", None, 100)
                .await
                .unwrap()
                .alerts
                .is_empty()
        );
        // With both: the alert is due (2 of 4 is 50 %), logged once, sent by e-mail and SMS.
        record.mobile = Some("+3212345678".into());
        f.service.store().put_client(&record).await.unwrap();
        for _ in 0..2 {
            f.service.get_sam_profile(&ctx, 1).await.unwrap();
        }
        let log = f
            .service
            .plan_alerts("client-a", None, 100)
            .await
            .unwrap()
            .alerts;
        assert_eq!(log.len(), 1);
        // The log is paged by period and kind; a cursor that is not a page's next is refused.
        let page = f.service.plan_alerts("client-a", None, 1).await.unwrap();
        let next = page.next.expect("a full page has a next");
        assert_eq!(next, format!("{}/plan_usage_reached", log[0].period_number));
        let rest = f
            .service
            .plan_alerts("client-a", Some(&next), 1)
            .await
            .unwrap();
        assert!(rest.alerts.is_empty() && rest.next.is_none());
        for cursor in ["plan_usage_reached", "x/plan_usage_reached"] {
            assert_eq!(
                code(f.service.plan_alerts("client-a", Some(cursor), 1).await),
                "invalid_request"
            );
        }
        assert!(
            f.service
                .plan_status("client-a")
                .await
                .unwrap()
                .next_alerts
                .is_empty()
        );
        assert_eq!(log[0].kind, "plan_usage_reached");
        let mail = f.mail();
        assert_eq!(mail.len(), 2, "{mail:?}");
        assert!(mail.iter().all(|m| m["kind"] == "plan_alert"));
        let recipients: Vec<_> = mail
            .iter()
            .map(|m| m["recipient"].as_str().unwrap())
            .collect();
        assert_eq!(recipients, ["ops@example.com", "+3212345678"]);
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaching_the_auto_renewal_share_starts_a_fresh_period() {
    let dbs = databases("svc_plan_usage_renew").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let mut plan = PlanSettings::new(limit(4), f.now());
        plan.auto_renew.at_usage = Some(Percent::new(75).unwrap());
        f.service.set_plan("client-a", &plan).await.unwrap();
        // Three of four is 75 %: the third request renews the plan.
        for _ in 0..3 {
            f.service.get_sam_profile(&ctx, 1).await.unwrap();
        }
        let status = f.service.plan_status("client-a").await.unwrap();
        assert_eq!((status.period.number, status.usage.total), (2, 0));
        // The new period has its full limit: four more pass (the third renews again).
        for _ in 0..4 {
            f.service.get_sam_profile(&ctx, 1).await.unwrap();
        }
        let history = f.service.store().plan_periods("client-a").await.unwrap();
        assert_eq!(
            history
                .iter()
                .map(|p| p.reason.as_str())
                .collect::<Vec<_>>(),
            ["set", "auto_usage", "auto_usage"]
        );
        // Manual renewal is refused while it is on.
        assert_eq!(
            f.service.renew_plan("client-a").await.unwrap_err().code,
            "plan_auto_renewed"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// The plan's limits have one rule, `sam_plan::Quota::admits`, and the store's atomic count
/// applies exactly it: walked over every usage up to past both limits, with and without a
/// type limit, each count the store makes or refuses is the one the rule says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_counts_exactly_what_the_plans_quota_admits() {
    let dbs = databases("svc_plan_quota").await;
    for db in &dbs {
        let f = service(db).await;
        f.service
            .set_plan("client-a", &PlanSettings::new(limit(1000), f.now()))
            .await
            .unwrap();
        let store = f.service.store();
        let mut period = 1;
        for (total, of_type) in [(3, None), (5, Some(2)), (2, Some(4))] {
            period += 1;
            let mut plan = PlanSettings::new(limit(total), f.now());
            if let Some(n) = of_type {
                plan.limits_by_type.insert(RequestType::Sign, limit(n));
            }
            let current = plan.first_period().unwrap();
            let mut usage = sam_plan::Usage::default();
            for step in 0..8 {
                let request_type = if step % 3 == 2 {
                    RequestType::Status
                } else {
                    RequestType::Sign
                };
                let quota = plan.admit(&current, request_type, f.now()).unwrap();
                let hold = sam_store::plans::PlanHold {
                    id: format!("quota-{period}-{step}"),
                    deadline: f.now().checked_add_secs(60).unwrap(),
                };
                let counted = store
                    .count_plan_use(
                        "client-a",
                        period,
                        request_type.code(),
                        quota.total,
                        quota.of_type,
                        &hold,
                    )
                    .await
                    .unwrap();
                let expected = quota.admits(&usage);
                match (&counted, expected) {
                    (sam_store::plans::PlanCount::Counted { total, of_type }, Ok(())) => {
                        usage.total += 1;
                        *usage.by_type.entry(request_type).or_default() += 1;
                        assert_eq!((*total, *of_type), (usage.total, usage.of(request_type)));
                    }
                    (sam_store::plans::PlanCount::LimitReached, Err(Refusal::LimitReached))
                    | (
                        sam_store::plans::PlanCount::TypeLimitReached,
                        Err(Refusal::RequestTypeLimitReached(_)),
                    ) => {}
                    (got, want) => panic!(
                        "step {step} of quota {quota:?} at {usage:?}: the store {got:?}, the rule \
                         {want:?}"
                    ),
                }
            }
        }
    }
}
