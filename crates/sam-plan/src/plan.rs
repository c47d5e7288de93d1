//! Plan periods, admission, renewal and alerts: what happens to a request and to the plan as
//! time passes and usage grows. Everything is a function of the settings, the current
//! period, its usage and `now`; the counting itself is the store's (an atomic conditional
//! update, so that concurrent requests on any number of nodes never pass a limit).

use std::collections::BTreeMap;

use sam_algorithms::UnixTime;
use serde::{Deserialize, Serialize};

use crate::{PlanError, PlanSettings, RequestType, TransactionLimit};

/// One period of a plan: numbered from 1, from `start` (inclusive) to `end` (exclusive;
/// `None`: it does not expire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPeriod {
    /// 1 for the first period, +1 per renewal.
    pub number: u64,
    /// When it starts.
    pub start: UnixTime,
    /// When it ends, if it does.
    pub end: Option<UnixTime>,
}

/// What a period has counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Every counted request.
    pub total: i64,
    /// Counted requests per type.
    pub by_type: BTreeMap<RequestType, i64>,
}

impl Usage {
    /// The count of `request_type`.
    pub fn of(&self, request_type: RequestType) -> i64 {
        self.by_type.get(&request_type).copied().unwrap_or(0)
    }
}

/// The limits one more request of a type is counted against: the plan's transaction limit
/// over every type, and the type's own limit if it has one ([`PlanSettings::admit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// The request type counted.
    pub request_type: RequestType,
    /// The most requests of every type the period counts.
    pub total: i64,
    /// The most requests of this type the period counts, if the plan limits it.
    pub of_type: Option<i64>,
}

impl Quota {
    /// Whether one more request may be counted on top of `usage`: the overall limit first,
    /// then the type's. A count that has reached a limit is refused; one below passes.
    pub fn admits(&self, usage: &Usage) -> Result<(), Refusal> {
        if usage.total >= self.total {
            return Err(Refusal::LimitReached);
        }
        if self
            .of_type
            .is_some_and(|limit| usage.of(self.request_type) >= limit)
        {
            return Err(Refusal::RequestTypeLimitReached(self.request_type));
        }
        Ok(())
    }
}

/// Why a request is refused by the plan. Each has a stable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The plan starts later (`plan_not_started`).
    NotStarted,
    /// The plan period has ended and was not renewed (`plan_expired`).
    Expired,
    /// The overall transaction limit is reached (`plan_limit_reached`).
    LimitReached,
    /// The request type's own limit is reached (`plan_request_type_limit_reached`).
    RequestTypeLimitReached(RequestType),
}

impl Refusal {
    /// The stable error code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::NotStarted => "plan_not_started",
            Self::Expired => "plan_expired",
            Self::LimitReached => "plan_limit_reached",
            Self::RequestTypeLimitReached(_) => "plan_request_type_limit_reached",
        }
    }
}

impl PlanSettings {
    /// The first period: from *Start From*, for *Expire After*.
    pub fn first_period(&self) -> Result<PlanPeriod, PlanError> {
        self.period_from(1, self.start)
    }

    /// Period `number`, starting at `start` and lasting *Expire After*.
    pub fn period_from(&self, number: u64, start: UnixTime) -> Result<PlanPeriod, PlanError> {
        let end = match self.expire_after {
            None => None,
            Some(d) => Some(
                start
                    .checked_add(d.period()?)
                    .ok_or(PlanError::OutOfRange)?,
            ),
        };
        Ok(PlanPeriod { number, start, end })
    }

    /// Admits a request of `request_type` in `period` at `now` by time (the plan has started
    /// and not expired) and gives the [`Quota`] its count must stay within. The count itself
    /// is the store's: one atomic conditional update per limit, so that concurrent requests
    /// on any number of nodes never pass it; [`Quota::admits`] is that rule, and a service
    /// test holds the store to it. A disabled plan admits everything, without a limit.
    pub fn admit(
        &self,
        period: &PlanPeriod,
        request_type: RequestType,
        now: UnixTime,
    ) -> Result<Quota, Refusal> {
        if !self.enabled {
            return Ok(Quota {
                request_type,
                total: i64::MAX,
                of_type: None,
            });
        }
        if now < period.start {
            return Err(Refusal::NotStarted);
        }
        if period.end.is_some_and(|end| now >= end) {
            return Err(Refusal::Expired);
        }
        Ok(Quota {
            request_type,
            total: self.transaction_limit.get(),
            of_type: self.limit_for(request_type).map(TransactionLimit::get),
        })
    }

    /// When *Auto-Renew before expiry* renews `period`: its end minus the lead. The same
    /// instant on every node, so a renewal is decided once.
    pub fn renewal_due_at(&self, period: &PlanPeriod) -> Option<UnixTime> {
        let lead = self.auto_renew.before_expiry?;
        let end = period.end?;
        end.checked_sub(lead.period().ok()?)
    }

    /// Whether *Auto-Renew when the transaction limit is reached* renews a period whose
    /// usage is now `total`.
    pub fn usage_renewal_due(&self, total: i64) -> bool {
        self.auto_renew
            .at_usage
            .is_some_and(|p| p.reached(total, self.transaction_limit))
    }

    /// The renewal of `current` at `at`: the next period, starting at `at` and lasting
    /// *Expire After*. Its usage starts at zero; `current` and its usage stay in the history.
    pub fn renewed(&self, current: &PlanPeriod, at: UnixTime) -> Result<PlanPeriod, PlanError> {
        self.period_from(current.number + 1, at)
    }

    /// Checks that an operator may renew the plan by hand (*Renew Service Plan*): not while
    /// an auto-renewal option is on.
    pub fn manual_renewal(&self) -> Result<(), PlanError> {
        if self.auto_renew.any() {
            Err(PlanError::AutoRenewOn)
        } else {
            Ok(())
        }
    }

    /// The period in force at `now`, after the time-based renewals due since `current`
    /// (several, if no request came for a long time). Usage-based and manual renewals are
    /// events, not functions of time, and are applied by the caller.
    pub fn period_at(&self, current: PlanPeriod, now: UnixTime) -> Result<PlanPeriod, PlanError> {
        let mut period = current;
        // Bounded: each renewal moves the start forward by at least the shortest period
        // minus the longest lead (validated positive); 10,000 renewals is decades of hours.
        for _ in 0..10_000 {
            match self.renewal_due_at(&period) {
                Some(at) if at <= now && at > period.start => period = self.renewed(&period, at)?,
                _ => return Ok(period),
            }
        }
        Ok(period)
    }

    /// The alerts due for `period` with usage `total` at `now` (seed 002): none unless the
    /// client has both an e-mail address and a mobile number. The caller sends each at most
    /// once per period (the store keeps which were sent).
    pub fn alerts_due(
        &self,
        period: &PlanPeriod,
        total: i64,
        now: UnixTime,
        has_email_and_mobile: bool,
    ) -> Vec<AlertKind> {
        let mut due = Vec::new();
        if !self.enabled || !has_email_and_mobile {
            return due;
        }
        if let Some(end) = period.end {
            if self.alerts.on_expiry && now >= end {
                due.push(AlertKind::Expired);
            }
            if let Some(days) = self.alerts.days_before_expiry
                && let Some(from) = end.checked_add_secs(-i64::from(days) * 86_400)
                && now >= from
                && now < end
            {
                due.push(AlertKind::ExpiresSoon);
            }
        }
        if let Some(p) = self.alerts.at_usage
            && p.reached(total, self.transaction_limit)
        {
            due.push(AlertKind::UsageReached);
        }
        due
    }
}

/// When an alert becomes due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertTrigger {
    /// At this instant.
    At(UnixTime),
    /// When usage reaches this many requests.
    Usage(i64),
}

impl PlanSettings {
    /// The alerts this plan will send in `period`, and when each becomes due (whether or not
    /// it was sent already; the alert log knows that).
    pub fn alert_schedule(&self, period: &PlanPeriod) -> Vec<(AlertKind, AlertTrigger)> {
        let mut schedule = Vec::new();
        if !self.enabled {
            return schedule;
        }
        if let Some(end) = period.end {
            if let Some(days) = self.alerts.days_before_expiry
                && let Some(from) = end.checked_add_secs(-i64::from(days) * 86_400)
            {
                schedule.push((AlertKind::ExpiresSoon, AlertTrigger::At(from)));
            }
            if self.alerts.on_expiry {
                schedule.push((AlertKind::Expired, AlertTrigger::At(end)));
            }
        }
        if let Some(p) = self.alerts.at_usage {
            // The smallest count with count × 100 ≥ P × limit.
            let needed =
                (i128::from(p.get()) * i128::from(self.transaction_limit.get()) + 99) / 100;
            schedule.push((
                AlertKind::UsageReached,
                AlertTrigger::Usage(i64::try_from(needed).unwrap_or(i64::MAX)),
            ));
        }
        schedule
    }
}

/// A plan alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The plan period has expired.
    Expired,
    /// The plan period expires within the configured days.
    ExpiresSoon,
    /// Usage reached the configured share of the limit.
    UsageReached,
}

impl AlertKind {
    /// The stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Expired => "plan_expired",
            Self::ExpiresSoon => "plan_expires_soon",
            Self::UsageReached => "plan_usage_reached",
        }
    }
}
