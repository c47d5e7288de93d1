//! The boundaries of seed 002's service plan, each at the value and one past it: limits of 1
//! and `i64::MAX` (0 refused), per-type and overall limits, a start in the future, month-end
//! and leap-day expiry, alerts at exactly P %, auto-renewal by time and by usage, and manual
//! renewal refused while auto-renewal is on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use sam_algorithms::UnixTime;
use sam_plan::{
    AlertKind, DurationUnit, LeadUnit, Percent, PlanDuration, PlanError, PlanPeriod, PlanSettings,
    Refusal, RenewalLead, RequestType, TransactionLimit, Usage,
};

/// The whole admission of one request: by time and the quota, then by the usage so far (the
/// store applies the second part atomically; `Quota::admits` is its rule).
fn admit(
    plan: &PlanSettings,
    period: &PlanPeriod,
    usage: &Usage,
    request_type: RequestType,
    now: UnixTime,
) -> Result<(), Refusal> {
    plan.admit(period, request_type, now)?.admits(usage)
}

fn t(text: &str) -> UnixTime {
    UnixTime::parse_rfc3339(text).unwrap()
}

fn limit(n: i64) -> TransactionLimit {
    TransactionLimit::new(n).unwrap()
}

fn usage(total: i64, by_type: &[(RequestType, i64)]) -> Usage {
    Usage {
        total,
        by_type: by_type.iter().copied().collect(),
    }
}

fn plan(n: i64) -> PlanSettings {
    PlanSettings::new(limit(n), t("2026-01-01T00:00:00Z"))
}

const NOW: &str = "2026-06-01T00:00:00Z";

#[test]
fn limits_are_1_to_i64_max_and_0_is_refused() {
    assert_eq!(TransactionLimit::new(0), Err(PlanError::Limit(0)));
    assert!(TransactionLimit::new(-1).is_err());
    assert_eq!(
        TransactionLimit::new(i64::MAX).unwrap(),
        TransactionLimit::MAX
    );
    assert!(serde_json::from_str::<TransactionLimit>("0").is_err());
    assert!(serde_json::from_str::<TransactionLimit>("9223372036854775808").is_err());
    assert_eq!(
        serde_json::from_str::<TransactionLimit>("9223372036854775807").unwrap(),
        TransactionLimit::MAX
    );

    let one = plan(1);
    let period = one.first_period().unwrap();
    assert_eq!(
        admit(&one, &period, &usage(0, &[]), RequestType::Sign, t(NOW)),
        Ok(())
    );
    assert_eq!(
        admit(&one, &period, &usage(1, &[]), RequestType::Sign, t(NOW)),
        Err(Refusal::LimitReached)
    );
    let max = plan(i64::MAX);
    assert_eq!(
        admit(
            &max,
            &period,
            &usage(i64::MAX - 1, &[]),
            RequestType::Sign,
            t(NOW)
        ),
        Ok(())
    );
    assert_eq!(
        admit(
            &max,
            &period,
            &usage(i64::MAX, &[]),
            RequestType::Sign,
            t(NOW)
        ),
        Err(Refusal::LimitReached)
    );
    // Percentages near i64::MAX do not overflow.
    assert!(
        Percent::new(100)
            .unwrap()
            .reached(i64::MAX, TransactionLimit::MAX)
    );
    assert!(
        !Percent::new(100)
            .unwrap()
            .reached(i64::MAX - 1, TransactionLimit::MAX)
    );
}

#[test]
fn a_type_limit_and_the_overall_limit_each_refuse_on_their_own() {
    let mut p = plan(10);
    p.limits_by_type.insert(RequestType::Sign, limit(3));
    let period = p.first_period().unwrap();
    // The type's limit is reached while the overall one is not.
    assert_eq!(
        admit(
            &p,
            &period,
            &usage(3, &[(RequestType::Sign, 3)]),
            RequestType::Sign,
            t(NOW)
        ),
        Err(Refusal::RequestTypeLimitReached(RequestType::Sign))
    );
    assert_eq!(
        Refusal::RequestTypeLimitReached(RequestType::Sign).code(),
        "plan_request_type_limit_reached"
    );
    // Other types still pass.
    assert_eq!(
        admit(
            &p,
            &period,
            &usage(3, &[(RequestType::Sign, 3)]),
            RequestType::Status,
            t(NOW)
        ),
        Ok(())
    );
    // The overall limit is reached while the type's is not.
    assert_eq!(
        admit(
            &p,
            &period,
            &usage(10, &[(RequestType::Sign, 2)]),
            RequestType::Sign,
            t(NOW)
        ),
        Err(Refusal::LimitReached)
    );
    assert_eq!(Refusal::LimitReached.code(), "plan_limit_reached");
}

#[test]
fn before_the_start_nothing_passes_and_at_it_everything_does() {
    let p = PlanSettings::new(limit(5), t("2027-03-01T00:00:00Z"));
    let period = p.first_period().unwrap();
    let refused = admit(
        &p,
        &period,
        &Usage::default(),
        RequestType::GetUser,
        t("2027-02-28T23:59:59Z"),
    );
    assert_eq!(refused, Err(Refusal::NotStarted));
    assert_eq!(Refusal::NotStarted.code(), "plan_not_started");
    assert_eq!(
        admit(
            &p,
            &period,
            &Usage::default(),
            RequestType::GetUser,
            t("2027-03-01T00:00:00Z")
        ),
        Ok(())
    );
    // A disabled plan limits nothing.
    let mut off = p.clone();
    off.enabled = false;
    assert_eq!(
        admit(
            &off,
            &period,
            &usage(99, &[]),
            RequestType::Sign,
            t("2000-01-01T00:00:00Z")
        ),
        Ok(())
    );
}

#[test]
fn expiry_follows_the_calendar_at_month_ends_and_leap_days() {
    let month = |start: &str| {
        let mut p = PlanSettings::new(limit(5), t(start));
        p.expire_after = Some(PlanDuration {
            value: 1,
            unit: DurationUnit::Months,
        });
        p
    };
    assert_eq!(
        month("2027-01-31T09:00:00Z").first_period().unwrap().end,
        Some(t("2027-02-28T09:00:00Z"))
    );
    assert_eq!(
        month("2028-01-31T09:00:00Z").first_period().unwrap().end,
        Some(t("2028-02-29T09:00:00Z"))
    );
    let mut year = PlanSettings::new(limit(5), t("2028-02-29T00:00:00Z"));
    year.expire_after = Some(PlanDuration {
        value: 1,
        unit: DurationUnit::Years,
    });
    let period = year.first_period().unwrap();
    assert_eq!(period.end, Some(t("2029-02-28T00:00:00Z")));
    // The end is exclusive.
    assert_eq!(
        admit(
            &year,
            &period,
            &Usage::default(),
            RequestType::Sign,
            t("2029-02-27T23:59:59Z")
        ),
        Ok(())
    );
    assert_eq!(
        admit(
            &year,
            &period,
            &Usage::default(),
            RequestType::Sign,
            t("2029-02-28T00:00:00Z")
        ),
        Err(Refusal::Expired)
    );
    let mut days = PlanSettings::new(limit(5), t("2026-12-30T00:00:00Z"));
    days.expire_after = Some(PlanDuration {
        value: 3,
        unit: DurationUnit::Days,
    });
    assert_eq!(
        days.first_period().unwrap().end,
        Some(t("2027-01-02T00:00:00Z"))
    );
    // 9999 is the end of time.
    let mut far = PlanSettings::new(limit(5), t("9999-06-01T00:00:00Z"));
    far.expire_after = Some(PlanDuration {
        value: 1,
        unit: DurationUnit::Years,
    });
    assert_eq!(far.validate(), Err(PlanError::OutOfRange));
}

fn alerting(percent: u64) -> PlanSettings {
    let mut p = plan(200);
    p.expire_after = Some(PlanDuration {
        value: 30,
        unit: DurationUnit::Days,
    });
    p.alerts.on_expiry = true;
    p.alerts.days_before_expiry = Some(5);
    p.alerts.at_usage = Some(Percent::new(percent).unwrap());
    p.validate().unwrap();
    p
}

#[test]
fn alerts_come_at_exactly_p_percent_and_n_days_and_only_with_email_and_mobile() {
    let p = alerting(75);
    let period = p.first_period().unwrap();
    let mid = t("2026-01-10T00:00:00Z");
    // 75 % of 200 is 150.
    assert!(p.alerts_due(&period, 149, mid, true).is_empty());
    assert_eq!(
        p.alerts_due(&period, 150, mid, true),
        [AlertKind::UsageReached]
    );
    // Without both contact details, nothing (seed 002).
    assert!(p.alerts_due(&period, 150, mid, false).is_empty());
    // Five days before the end (31 January): from 26 January on.
    let end = period.end.unwrap();
    assert_eq!(end, t("2026-01-31T00:00:00Z"));
    assert!(
        p.alerts_due(&period, 0, t("2026-01-25T23:59:59Z"), true)
            .is_empty()
    );
    assert_eq!(
        p.alerts_due(&period, 0, t("2026-01-26T00:00:00Z"), true),
        [AlertKind::ExpiresSoon]
    );
    assert_eq!(p.alerts_due(&period, 0, end, true), [AlertKind::Expired]);
    // A percentage that does not divide evenly: 33 % of 200 is 66.
    let p = alerting(33);
    assert!(p.alerts_due(&period, 65, mid, true).is_empty());
    assert_eq!(
        p.alerts_due(&period, 66, mid, true),
        [AlertKind::UsageReached]
    );
}

#[test]
fn auto_renewal_by_time_renews_at_end_minus_lead_and_by_usage_at_p_percent() {
    let mut p = plan(100);
    p.expire_after = Some(PlanDuration {
        value: 1,
        unit: DurationUnit::Months,
    });
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 2,
        unit: LeadUnit::Days,
    });
    p.validate().unwrap();
    let first = p.first_period().unwrap();
    assert_eq!(first.end, Some(t("2026-02-01T00:00:00Z")));
    let due = p.renewal_due_at(&first).unwrap();
    assert_eq!(due, t("2026-01-30T00:00:00Z"));
    // One second before: the same period; at the instant: the next one, from then.
    assert_eq!(
        p.period_at(first, t("2026-01-29T23:59:59Z")).unwrap(),
        first
    );
    let second = p.period_at(first, due).unwrap();
    assert_eq!(
        second,
        PlanPeriod {
            number: 2,
            start: due,
            end: Some(t("2026-02-28T00:00:00Z")),
        }
    );
    // Months later without a request: every renewal due since then, in order.
    let later = p.period_at(first, t("2026-05-15T00:00:00Z")).unwrap();
    assert_eq!(later.number, 5);
    assert!(later.start <= t("2026-05-15T00:00:00Z"));
    assert!(later.end.unwrap() > t("2026-05-15T00:00:00Z"));

    let mut by_usage = plan(100);
    by_usage.auto_renew.at_usage = Some(Percent::new(90).unwrap());
    assert!(!by_usage.usage_renewal_due(89));
    assert!(by_usage.usage_renewal_due(90));
    let renewed = by_usage
        .renewed(&by_usage.first_period().unwrap(), t(NOW))
        .unwrap();
    assert_eq!(
        (renewed.number, renewed.start, renewed.end),
        (2, t(NOW), None)
    );
}

#[test]
fn manual_renewal_is_refused_while_an_auto_renewal_option_is_on() {
    let mut p = plan(10);
    assert_eq!(p.manual_renewal(), Ok(()));
    p.auto_renew.at_usage = Some(Percent::new(50).unwrap());
    assert_eq!(p.manual_renewal(), Err(PlanError::AutoRenewOn));
    p.auto_renew.at_usage = None;
    p.expire_after = Some(PlanDuration {
        value: 1,
        unit: DurationUnit::Years,
    });
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 1,
        unit: LeadUnit::Hours,
    });
    assert_eq!(p.manual_renewal(), Err(PlanError::AutoRenewOn));
}

#[test]
fn settings_that_contradict_each_other_are_refused() {
    let mut p = plan(10);
    p.alerts.on_expiry = true;
    assert!(matches!(
        p.validate(),
        Err(PlanError::Inconsistent {
            field: "alerts.on_expiry",
            ..
        })
    ));
    let mut p = plan(10);
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 1,
        unit: LeadUnit::Days,
    });
    assert!(matches!(
        p.validate(),
        Err(PlanError::Inconsistent {
            field: "auto_renew.before_expiry",
            ..
        })
    ));
    // A lead as long as the shortest month is refused; a day shorter is fine.
    p.expire_after = Some(PlanDuration {
        value: 1,
        unit: DurationUnit::Months,
    });
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 28,
        unit: LeadUnit::Days,
    });
    assert!(p.validate().is_err());
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 27,
        unit: LeadUnit::Days,
    });
    assert_eq!(p.validate(), Ok(()));
    p.auto_renew.before_expiry = Some(RenewalLead {
        value: 0,
        unit: LeadUnit::Hours,
    });
    assert_eq!(
        p.validate(),
        Err(PlanError::Zero("auto_renew.before_expiry"))
    );
    p.auto_renew.before_expiry = None;
    p.expire_after = Some(PlanDuration {
        value: 0,
        unit: DurationUnit::Days,
    });
    assert_eq!(p.validate(), Err(PlanError::Zero("expire_after")));
    assert!(Percent::new(0).is_err() && Percent::new(101).is_err());
}

#[test]
fn settings_read_and_write_as_json() {
    let mut p = alerting(80);
    p.limits_by_type = BTreeMap::from([
        (RequestType::Sign, limit(100)),
        (RequestType::KeyGeneration, limit(5)),
    ]);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"key_generation\":5"), "{json}");
    assert_eq!(serde_json::from_str::<PlanSettings>(&json).unwrap(), p);
    let zero = json.replace("\"transaction_limit\":200", "\"transaction_limit\":0");
    assert!(serde_json::from_str::<PlanSettings>(&zero).is_err());
    let unknown = json.replace("\"sign\":100", "\"sign_all\":100");
    assert!(serde_json::from_str::<PlanSettings>(&unknown).is_err());
}

proptest! {
    /// A request is admitted exactly when both counts are below their limits (inside the
    /// period).
    #[test]
    fn admission_is_exactly_below_both_limits(
        limit_total in 1i64..50,
        limit_sign in 1i64..50,
        total in 0i64..60,
        signs in 0i64..60,
    ) {
        let mut p = plan(limit_total);
        p.limits_by_type.insert(RequestType::Sign, limit(limit_sign));
        let period = p.first_period().unwrap();
        let admitted = admit(&p, &period, &usage(total, &[(RequestType::Sign, signs)]), RequestType::Sign, t(NOW))
            .is_ok();
        prop_assert_eq!(admitted, total < limit_total && signs < limit_sign);
    }

    /// Renewed periods follow each other: each starts where the renewal happened, before the
    /// previous one's end, and lasts the plan's duration.
    #[test]
    fn time_renewals_chain_without_gaps(days in 2u32..400, lead_hours in 1u32..40, months in 1u32..30) {
        let mut p = plan(10);
        p.expire_after = Some(PlanDuration { value: days, unit: DurationUnit::Days });
        p.auto_renew.before_expiry = Some(RenewalLead { value: lead_hours, unit: LeadUnit::Hours });
        prop_assume!(p.validate().is_ok());
        let first = p.first_period().unwrap();
        let now = first.start.checked_add_secs(i64::from(months) * 30 * 86_400).unwrap();
        let at = p.period_at(first, now).unwrap();
        prop_assert!(at.start <= now);
        prop_assert!(at.end.unwrap() > now);
        prop_assert!(p.renewal_due_at(&at).unwrap() > now);
    }
}
