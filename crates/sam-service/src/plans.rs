//! Service plans at work (seed 002; the rules are `sam-plan`'s, the exact counting is
//! `sam-store`'s): every request type is admitted and counted against the client's plan
//! before its effect, and given back if the effect fails, so that only requests that took
//! effect count and a refused request never does. Refusals carry the plan's stable codes
//! (`plan_limit_reached`, `plan_request_type_limit_reached`, `plan_expired`,
//! `plan_not_started`) and are audited like any other.
//!
//! On the way, the plan moves on: time-based auto-renewals due since the stored period are
//! applied (racing nodes renew once), a request that brings usage to the auto-renewal share
//! renews the plan, and the alerts that are due are logged once per period and sent through
//! the [`Notifier`](crate::Notifier) to the client's e-mail and mobile.
//!
//! The admin operations (set, edit, renew, inspect, the alert log) are here too; `samd`'s
//! admin API calls them.

use crate::ErrorCode;
use std::collections::BTreeMap;

use sam_algorithms::UnixTime;
use sam_plan::{AlertKind, AlertTrigger, PlanPeriod, PlanSettings, Refusal, RequestType, Usage};
use sam_store::{AlertRecord, PlanCount, PlanHold, StoredPeriod};
use serde::Serialize;

use crate::notify::{Channel, Notification, NotificationKind};
use crate::service::{ClientContext, Service};
use crate::{OtherAction, ServiceError};

/// One entry of the plan alert log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertView {
    /// The plan period it concerns.
    pub period_number: i64,
    /// `plan_expired`, `plan_expires_soon` or `plan_usage_reached`.
    pub kind: String,
    /// When it was sent (RFC 3339).
    pub sent_at: String,
    /// What was sent (recipients, usage).
    pub detail: String,
}

/// One page of the plan alert log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertsPage {
    /// The alerts, by period then kind.
    pub alerts: Vec<AlertView>,
    /// The cursor to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// A request counted against a plan, to give back if its effect fails.
#[derive(Clone, Debug)]
pub(crate) struct Counted {
    /// The plan hold the count is kept under until the effect happens or fails.
    pub(crate) hold: String,
}

fn to_stored(p: PlanPeriod) -> Result<StoredPeriod, ServiceError> {
    Ok(StoredPeriod {
        number: i64::try_from(p.number).map_err(|_| ServiceError::internal("period number"))?,
        start: p.start,
        end: p.end,
    })
}

fn from_stored(p: StoredPeriod) -> Result<PlanPeriod, ServiceError> {
    Ok(PlanPeriod {
        number: u64::try_from(p.number).map_err(|_| ServiceError::internal("period number"))?,
        start: p.start,
        end: p.end,
    })
}

fn refusal(r: Refusal) -> ServiceError {
    let message = match r {
        Refusal::NotStarted => "the client's service plan has not started yet".to_owned(),
        Refusal::Expired => "the client's service plan has expired".to_owned(),
        Refusal::LimitReached => {
            "the client's service plan transaction limit is reached".to_owned()
        }
        Refusal::RequestTypeLimitReached(t) => {
            format!(
                "the client's service plan limit for {} is reached",
                t.title()
            )
        }
    };
    ServiceError::new(crate::error::plan_refusal_code(r), message)
}

/// A plan as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanStatus {
    /// The settings.
    pub settings: PlanSettings,
    /// The current period.
    pub period: PlanPeriod,
    /// Its usage.
    pub usage: Usage,
    /// When the next time-based renewal happens, if one is configured (RFC 3339).
    pub renews_at: Option<String>,
    /// The alerts of this period not sent yet, and when each becomes due.
    pub next_alerts: Vec<(AlertKind, AlertTrigger)>,
}

impl Service {
    /// The client's plan settings and stored period, if it has a plan.
    async fn stored_plan(
        &self,
        client: &str,
    ) -> Result<Option<(PlanSettings, PlanPeriod)>, ServiceError> {
        let Some(record) = self.store.plan(client).await? else {
            return Ok(None);
        };
        let settings: PlanSettings = serde_json::from_str(&record.settings)
            .map_err(|e| ServiceError::internal(format!("stored plan of {client}: {e}")))?;
        Ok(Some((settings, from_stored(record.period)?)))
    }

    /// The plan's period in force at `now`, after the time-based renewals due.
    async fn current_period(
        &self,
        client: &str,
        settings: &PlanSettings,
        stored: PlanPeriod,
        now: UnixTime,
    ) -> Result<PlanPeriod, ServiceError> {
        let mut period = stored;
        loop {
            let due = settings
                .period_at(period, now)
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            if due == period {
                return Ok(period);
            }
            // One step at a time, each a conditional update; a node that loses the race
            // reads the winner's period.
            let next = settings
                .renewed(
                    &period,
                    settings
                        .renewal_due_at(&period)
                        .ok_or_else(|| ServiceError::internal("renewal instant"))?,
                )
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            let from = to_stored(period)?.number;
            self.store
                .renew_plan(client, from, to_stored(next)?, "auto_time", now)
                .await?;
            period = match self.stored_plan(client).await? {
                Some((_, p)) => p,
                None => return Ok(next),
            };
        }
    }

    /// Checks the client's access, then admits and counts one request of `request_type`
    /// against the client's plan; `None` when the client has no plan or it is disabled.
    pub(crate) async fn plan_count(
        &self,
        ctx: &ClientContext,
        request_type: RequestType,
    ) -> Result<Option<Counted>, ServiceError> {
        self.ensure_client_access(ctx).await?;
        let client = ctx.id();
        let Some((settings, stored)) = self.stored_plan(client).await? else {
            return Ok(None);
        };
        if !settings.enabled {
            return Ok(None);
        }
        let now = self.now();
        let period = self.current_period(client, &settings, stored, now).await?;
        // Time here (not started, expired); the quota is counted by the store in one atomic
        // step per limit (`Quota::admits` is its rule).
        let quota = settings
            .admit(&period, request_type, now)
            .map_err(refusal)?;
        let number = to_stored(period)?.number;
        let hold = PlanHold {
            id: sam_sad::Id128::random()
                .map_err(|e| ServiceError::internal(e.to_string()))?
                .to_string(),
            deadline: now
                .checked_add_secs(self.settings.plan_hold_secs)
                .ok_or_else(|| ServiceError::internal("plan hold deadline out of range"))?,
        };
        let total = match self
            .store
            .count_plan_use(
                client,
                number,
                request_type.code(),
                quota.total,
                quota.of_type,
                &hold,
            )
            .await?
        {
            PlanCount::Counted { total, .. } => total,
            PlanCount::LimitReached => return Err(refusal(Refusal::LimitReached)),
            PlanCount::TypeLimitReached => {
                return Err(refusal(Refusal::RequestTypeLimitReached(request_type)));
            }
        };
        self.send_plan_alerts(ctx, &settings, &period, total, now)
            .await?;
        if settings.usage_renewal_due(total) {
            let next = settings
                .renewed(&period, now)
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            self.store
                .renew_plan(client, number, to_stored(next)?, "auto_usage", now)
                .await?;
        }
        Ok(Some(Counted { hold: hold.id }))
    }

    /// Gives a counted request back (its effect failed).
    pub(crate) async fn plan_uncount(&self, ctx: &ClientContext, counted: Option<Counted>) {
        let _ = ctx;
        if let Some(c) = counted {
            // Best effort: if this fails, the hold's deadline gives the count back.
            let _ = self.store.release_plan_use(&c.hold).await;
        }
    }

    /// Keeps a counted request's count: its effect happened.
    pub(crate) async fn plan_confirm(&self, counted: Option<Counted>) {
        if let Some(c) = counted {
            // Best effort: if this fails, the hold outlives its deadline and the count is
            // given back — the one case where a count can be lost (never one too many).
            let _ = self.store.confirm_plan_use(&c.hold).await;
        }
    }

    /// Logs and sends the alerts due (seed 002: only to a client with both an e-mail address
    /// and a mobile number; each once per period).
    async fn send_plan_alerts(
        &self,
        ctx: &ClientContext,
        settings: &PlanSettings,
        period: &PlanPeriod,
        total: i64,
        now: UnixTime,
    ) -> Result<(), ServiceError> {
        let client = self.request_client(ctx).await?;
        let (email, mobile) = client
            .map(|c| {
                (
                    c.email.clone().unwrap_or_default(),
                    c.mobile.clone().unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        let due = settings.alerts_due(period, total, now, !email.is_empty() && !mobile.is_empty());
        for kind in due {
            let fresh = self
                .store
                .record_plan_alert(&AlertRecord {
                    client_id: ctx.id().to_owned(),
                    period_number: to_stored(*period)?.number,
                    kind: kind.code().to_owned(),
                    sent_at: now,
                    detail: format!(
                        "usage {total} of {}; period {} ends {}",
                        settings.transaction_limit.get(),
                        period.number,
                        period.end.map_or("never".to_owned(), |e| e.to_string())
                    ),
                })
                .await?;
            if !fresh {
                continue;
            }
            let text = match kind {
                AlertKind::Expired => "Your SAM service plan has expired.".to_owned(),
                AlertKind::ExpiresSoon => format!(
                    "Your SAM service plan expires at {}.",
                    period.end.map_or("-".to_owned(), |e| e.to_string())
                ),
                AlertKind::UsageReached => format!(
                    "Your SAM service plan has used {total} of {} transactions.",
                    settings.transaction_limit.get()
                ),
            };
            for (channel, recipient) in [(Channel::Email, &email), (Channel::Sms, &mobile)] {
                // An alert that cannot be delivered does not refuse the request: it is in
                // the alert log, and the operator's log says why.
                let _ = self
                    .deliver(Notification {
                        kind: NotificationKind::PlanAlert,
                        channel,
                        recipient: recipient.clone(),
                        client_id: ctx.id().to_owned(),
                        user_id: None,
                        subject: "SAM service plan".into(),
                        text: text.clone(),
                        code: None,
                    })
                    .await;
            }
        }
        Ok(())
    }

    /// Admin: sets `client`'s plan (validated), starting its first period at *Start From*
    /// with zero usage.
    pub async fn set_plan(
        &self,
        client: &str,
        settings: &PlanSettings,
    ) -> Result<PlanPeriod, ServiceError> {
        let result = async {
            settings
                .validate()
                .map_err(|e| ServiceError::invalid(e.to_string()))?;
            let first = settings
                .first_period()
                .map_err(|e| ServiceError::invalid(e.to_string()))?;
            let json = serde_json::to_string(settings)
                .map_err(|e| ServiceError::internal(e.to_string()))?;
            let stored = self
                .store
                .set_plan(client, &json, to_stored(first)?, self.now())
                .await?;
            from_stored(stored)
        }
        .await;
        self.admin_audited(OtherAction::SetPlan, format!("client={client}"), result)
            .await
    }

    /// Admin: *Renew Service Plan*, refused while an auto-renewal option is on.
    pub async fn renew_plan(&self, client: &str) -> Result<PlanPeriod, ServiceError> {
        let result = async {
            let (settings, period) = self
                .stored_plan(client)
                .await?
                .ok_or_else(|| ServiceError::not_found("plan of client", client))?;
            settings
                .manual_renewal()
                .map_err(|e| ServiceError::new(ErrorCode::PlanAutoRenewed, e.to_string()))?;
            let now = self.now();
            let next = settings
                .renewed(&period, now)
                .map_err(|e| ServiceError::invalid(e.to_string()))?;
            if !self
                .store
                .renew_plan(
                    client,
                    to_stored(period)?.number,
                    to_stored(next)?,
                    "manual",
                    now,
                )
                .await?
            {
                return Err(ServiceError::new(
                    ErrorCode::Conflict,
                    "the plan was renewed meanwhile; try again",
                ));
            }
            Ok(next)
        }
        .await;
        self.admin_audited(OtherAction::RenewPlan, format!("client={client}"), result)
            .await
    }

    /// Admin: the plan, its current period (after the renewals due) and its usage.
    pub async fn plan_status(&self, client: &str) -> Result<PlanStatus, ServiceError> {
        let (settings, stored) = self
            .stored_plan(client)
            .await?
            .ok_or_else(|| ServiceError::not_found("plan of client", client))?;
        let period = self
            .current_period(client, &settings, stored, self.now())
            .await?;
        let mut usage = Usage::default();
        let mut by_type = BTreeMap::new();
        for (key, used) in self
            .store
            .plan_usage(client, to_stored(period)?.number)
            .await?
        {
            if key == sam_store::plans::TOTAL {
                usage.total = used;
            } else if let Ok(t) = key.parse::<RequestType>() {
                by_type.insert(t, used);
            }
        }
        usage.by_type = by_type;
        let number = to_stored(period)?.number;
        let sent: Vec<String> = self
            .store
            .plan_alerts_of_period(client, number)
            .await?
            .into_iter()
            .map(|a| a.kind)
            .collect();
        let next_alerts = settings
            .alert_schedule(&period)
            .into_iter()
            .filter(|(kind, _)| !sent.iter().any(|s| s == kind.code()))
            .collect();
        Ok(PlanStatus {
            next_alerts,
            renews_at: settings.renewal_due_at(&period).map(|t| t.to_string()),
            settings,
            period,
            usage,
        })
    }

    /// Admin: a page of at most `limit` (1 to 1000) entries of the client's plan alert log,
    /// by period and kind, after the cursor `after` (a page's `next`: `PERIOD/KIND`).
    pub async fn plan_alerts(
        &self,
        client: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<AlertsPage, ServiceError> {
        let limit = crate::paging::checked_limit(limit)?;
        let after = after
            .map(|cursor| {
                cursor
                    .split_once('/')
                    .and_then(|(period, kind)| Some((period.parse::<i64>().ok()?, kind)))
                    .ok_or_else(|| {
                        ServiceError::invalid(format!(
                            "after: {cursor:?} is not a page's next (PERIOD/KIND)"
                        ))
                    })
            })
            .transpose()?;
        let alerts: Vec<AlertView> = self
            .store
            .plan_alerts(client, after, limit)
            .await?
            .into_iter()
            .map(|a| AlertView {
                period_number: a.period_number,
                kind: a.kind,
                sent_at: a.sent_at.to_string(),
                detail: a.detail,
            })
            .collect();
        let next = crate::paging::next_cursor(&alerts, limit, |a| {
            format!("{}/{}", a.period_number, a.kind)
        });
        Ok(AlertsPage { alerts, next })
    }
}
