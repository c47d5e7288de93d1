//! What an operator sets on a client's service plan (seed 002, *Enable Service Plan for this
//! Client* and below), with the rules between the settings.

use std::collections::BTreeMap;

use sam_algorithms::{Period, PeriodUnit, UnixTime};
use serde::{Deserialize, Serialize};

use crate::{PlanError, RequestType};

/// *Transaction Limit*: 1 to 9,223,372,036,854,775,807 (`i64::MAX`); 0 is not permitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct TransactionLimit(i64);

impl TransactionLimit {
    /// The largest limit.
    pub const MAX: Self = Self(i64::MAX);

    /// A limit of `n` transactions.
    pub fn new(n: i64) -> Result<Self, PlanError> {
        if n >= 1 {
            Ok(Self(n))
        } else {
            Err(PlanError::Limit(i128::from(n)))
        }
    }

    /// The number of transactions.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for TransactionLimit {
    type Error = PlanError;
    fn try_from(n: i64) -> Result<Self, PlanError> {
        Self::new(n)
    }
}

impl From<TransactionLimit> for i64 {
    fn from(l: TransactionLimit) -> i64 {
        l.0
    }
}

/// A percentage of a limit, 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Percent(u8);

impl Percent {
    /// `n` percent.
    pub fn new(n: u64) -> Result<Self, PlanError> {
        match u8::try_from(n) {
            Ok(p @ 1..=100) => Ok(Self(p)),
            _ => Err(PlanError::Percent(n)),
        }
    }

    /// The percentage.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Whether `used` has reached this share of `limit` (exact integer arithmetic:
    /// `used × 100 ≥ percent × limit`).
    pub fn reached(self, used: i64, limit: TransactionLimit) -> bool {
        i128::from(used) * 100 >= i128::from(self.0) * i128::from(limit.get())
    }
}

impl TryFrom<u64> for Percent {
    type Error = PlanError;
    fn try_from(n: u64) -> Result<Self, PlanError> {
        Self::new(n)
    }
}

impl From<Percent> for u64 {
    fn from(p: Percent) -> u64 {
        u64::from(p.0)
    }
}

/// *Expire After*: a number of days, months or years.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDuration {
    /// How many.
    pub value: u32,
    /// Of what.
    pub unit: DurationUnit,
}

/// The units of *Expire After*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    /// Days (86,400 s).
    Days,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

impl PlanDuration {
    /// As a calendar period.
    pub fn period(self) -> Result<Period, PlanError> {
        let unit = match self.unit {
            DurationUnit::Days => PeriodUnit::Days,
            DurationUnit::Months => PeriodUnit::Months,
            DurationUnit::Years => PeriodUnit::Years,
        };
        Period::new(u64::from(self.value), unit).map_err(|_| PlanError::Zero("expire_after"))
    }

    /// The shortest such a duration can be, in seconds (a month is at least 28 days, a year
    /// at least 365).
    fn shortest_secs(self) -> i64 {
        let days = match self.unit {
            DurationUnit::Days => 1,
            DurationUnit::Months => 28,
            DurationUnit::Years => 365,
        };
        i64::from(self.value) * days * 86_400
    }
}

/// *Auto-Renew service plan before expiry by*: hours, days or months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewalLead {
    /// How many.
    pub value: u32,
    /// Of what.
    pub unit: LeadUnit,
}

/// The units of *Auto-Renew service plan before expiry by*.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadUnit {
    /// Hours.
    Hours,
    /// Days.
    Days,
    /// Calendar months.
    Months,
}

impl RenewalLead {
    /// As a calendar period.
    pub fn period(self) -> Result<Period, PlanError> {
        let unit = match self.unit {
            LeadUnit::Hours => PeriodUnit::Hours,
            LeadUnit::Days => PeriodUnit::Days,
            LeadUnit::Months => PeriodUnit::Months,
        };
        Period::new(u64::from(self.value), unit)
            .map_err(|_| PlanError::Zero("auto_renew.before_expiry"))
    }

    /// The longest such a lead can be, in seconds (a month is at most 31 days).
    fn longest_secs(self) -> i64 {
        let secs = match self.unit {
            LeadUnit::Hours => 3_600,
            LeadUnit::Days => 86_400,
            LeadUnit::Months => 31 * 86_400,
        };
        i64::from(self.value) * secs
    }
}

/// The alert options (sent only when the client has both an e-mail address and a mobile
/// number, as seed 002 says).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// *Send alerts when the service plan has expired*.
    #[serde(default)]
    pub on_expiry: bool,
    /// *Send alerts before this service plan expires*: this many days before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before_expiry: Option<u32>,
    /// *Send alerts when transaction limit has been reached*: at this share of the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_usage: Option<Percent>,
}

/// The auto-renewal options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRenewSettings {
    /// *Auto-Renew service plan before expiry by*.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_expiry: Option<RenewalLead>,
    /// *Auto-Renew service plan when transaction limit is reached*: at this share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_usage: Option<Percent>,
}

impl AutoRenewSettings {
    /// Whether any auto-renewal option is on (which disables manual renewal).
    pub fn any(&self) -> bool {
        self.before_expiry.is_some() || self.at_usage.is_some()
    }
}

/// A client's service plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// *Enable Service Plan for this Client*. Off: nothing is limited or counted.
    pub enabled: bool,
    /// *Transaction Limit*: every request type counts towards it.
    pub transaction_limit: TransactionLimit,
    /// *Apply Transaction Limit by Request Type*: a limit of its own for some types.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits_by_type: BTreeMap<RequestType, TransactionLimit>,
    /// *Start From*.
    pub start: UnixTime,
    /// *Expire After*; absent: the plan does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<PlanDuration>,
    /// The alerts.
    #[serde(default)]
    pub alerts: AlertSettings,
    /// The auto-renewal options.
    #[serde(default)]
    pub auto_renew: AutoRenewSettings,
}

impl PlanSettings {
    /// An enabled plan of `limit` transactions from `start`, without expiry, alerts or
    /// renewal.
    pub fn new(limit: TransactionLimit, start: UnixTime) -> Self {
        Self {
            enabled: true,
            transaction_limit: limit,
            limits_by_type: BTreeMap::new(),
            start,
            expire_after: None,
            alerts: AlertSettings::default(),
            auto_renew: AutoRenewSettings::default(),
        }
    }

    /// Checks the rules between the settings:
    ///
    /// - *Expire After* is at least 1 unit; an expiry before-alert and time-based auto-renewal
    ///   need an expiry, and so does the expiry alert;
    /// - the days before expiry of the alert and the auto-renewal lead are at least 1 and
    ///   shorter than the shortest period the plan can have (a month counts as 28 days, a
    ///   year as 365; a lead month as 31 days), so that a renewal never starts a period that
    ///   is already due for renewal;
    /// - the first period ends before 9999-12-31.
    pub fn validate(&self) -> Result<(), PlanError> {
        let needs_expiry = |field: &'static str| PlanError::Inconsistent {
            field,
            reason: "applies only to a plan that expires: set expire_after".into(),
        };
        let Some(duration) = self.expire_after else {
            if self.alerts.on_expiry {
                return Err(needs_expiry("alerts.on_expiry"));
            }
            if self.alerts.days_before_expiry.is_some() {
                return Err(needs_expiry("alerts.days_before_expiry"));
            }
            if self.auto_renew.before_expiry.is_some() {
                return Err(needs_expiry("auto_renew.before_expiry"));
            }
            return Ok(());
        };
        let period = duration.period()?;
        self.start
            .checked_add(period)
            .ok_or(PlanError::OutOfRange)?;
        if let Some(days) = self.alerts.days_before_expiry {
            if days == 0 {
                return Err(PlanError::Zero("alerts.days_before_expiry"));
            }
            if i64::from(days) * 86_400 >= duration.shortest_secs() {
                return Err(PlanError::Inconsistent {
                    field: "alerts.days_before_expiry",
                    reason: "must be shorter than the plan period".into(),
                });
            }
        }
        if let Some(lead) = self.auto_renew.before_expiry {
            lead.period()?;
            if lead.longest_secs() >= duration.shortest_secs() {
                return Err(PlanError::Inconsistent {
                    field: "auto_renew.before_expiry",
                    reason: "must be shorter than the plan period".into(),
                });
            }
        }
        Ok(())
    }

    /// The limit of `request_type`, if it has one of its own.
    pub fn limit_for(&self, request_type: RequestType) -> Option<TransactionLimit> {
        self.limits_by_type.get(&request_type).copied()
    }
}
