//! docs/plans.md's JSON example reads as written, validates, and says what the page says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sam_plan::{DurationUnit, LeadUnit, PlanSettings, RequestType};

const PLANS_MD: &str = include_str!("../../../docs/plans.md");

#[test]
fn the_documented_plan_reads() {
    let start = PLANS_MD
        .find("```json plan-example")
        .expect("docs/plans.md has the plan example");
    let body = &PLANS_MD[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let body = &body[..body.find("```").unwrap()];
    let plan: PlanSettings = serde_json::from_str(body).unwrap();
    plan.validate().unwrap();
    assert!(plan.enabled);
    assert_eq!(plan.transaction_limit.get(), 100_000);
    assert_eq!(plan.limits_by_type[&RequestType::Sign].get(), 50_000);
    assert_eq!(
        plan.limits_by_type[&RequestType::GetPendingRequests].get(),
        40_000
    );
    assert_eq!(plan.start.to_string(), "2027-01-01T00:00:00Z");
    let expiry = plan.expire_after.unwrap();
    assert_eq!((expiry.value, expiry.unit), (1, DurationUnit::Years));
    assert!(plan.alerts.on_expiry);
    assert_eq!(plan.alerts.days_before_expiry, Some(14));
    let lead = plan.auto_renew.before_expiry.unwrap();
    assert_eq!((lead.value, lead.unit), (2, LeadUnit::Days));
    // It writes back to the same settings.
    let again: PlanSettings = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    assert_eq!(again, plan);
}
