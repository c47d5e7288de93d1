//! Service plans of the `sam` SAM service (seed 002, *Client Manager*): what bounds the
//! requests a business application may make — a transaction limit overall and per request
//! type, a start date, an expiry after days, months or years, alerts, and renewal. Pure logic
//! over the settings, the current period, its usage and the time; the store counts.
//!
//! # The rules, written down
//!
//! - **Limits.** 1 to 9,223,372,036,854,775,807 (`i64::MAX`); 0 is refused. Every request
//!   type counts towards the overall limit; a type with its own limit also counts towards
//!   that. A request is admitted while both counts are below their limits, and only an
//!   admitted request counts (a refused one does not).
//! - **Periods.** The first period starts at *Start From*; each lasts *Expire After* from its
//!   start (no expiry: one endless period). Before the start every request is
//!   `plan_not_started`; from the end on, `plan_expired` until the plan is renewed.
//! - **Calendar.** UTC; adding months or years keeps the time of day and clamps the day to
//!   the end of a shorter month: 31 January + 1 month = 28 (29) February, 29 February + 1 year
//!   = 28 February. Each period's end is computed from its own start.
//! - **Renewal.** A renewal at instant *t* closes the current period and starts the next
//!   one at *t*, lasting *Expire After*, with usage counters at zero; the closed period and
//!   its usage are kept (history). *Auto-Renew before expiry by L* renews at *end − L* (the
//!   same instant on every node); *Auto-Renew when the limit is reached* renews when an
//!   admitted request brings usage to *P %* of the limit; *Renew Service Plan* renews now and
//!   is refused while either auto-renewal option is on. The lead must be shorter than the
//!   shortest period the plan can have, so a renewal never starts an already-due period.
//! - **Alerts** (only when the client has both an e-mail address and a mobile number): when
//!   the period has expired; from *N days* before its end; when usage reaches *P %* of the
//!   limit (`used × 100 ≥ P × limit`, exactly). Each at most once per period.
#![forbid(unsafe_code)]

/// The README's example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod error;
mod plan;
mod request_type;
mod settings;

pub use error::PlanError;
pub use plan::{AlertKind, AlertTrigger, PlanPeriod, Quota, Refusal, Usage};
pub use request_type::RequestType;
pub use settings::{
    AlertSettings, AutoRenewSettings, DurationUnit, LeadUnit, Percent, PlanDuration, PlanSettings,
    RenewalLead, TransactionLimit,
};
