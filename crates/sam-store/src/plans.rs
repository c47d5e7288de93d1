//! Service plans (seed 002; the rules are `sam-plan`'s): the plan of each client with its
//! current period, the periods it has had, the usage counted per period, and the alert log.
//!
//! Counting is exact under concurrency: [`Store::count_plan_use`] is one transaction whose
//! first statement is the conditional `UPDATE plan_usage SET used = used + 1 WHERE … AND used
//! < $limit` on the overall row, then the same on the request type's row; either refusal
//! rolls the whole back, so a refused request counts nowhere. The overall row's lock
//! (PostgreSQL) or the single writer (SQLite) orders racing nodes. A renewal is one
//! conditional update of the current period number, so racing nodes renew once.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::tx::Tx;
use crate::users::time;
use crate::{Store, StoreError};

/// The request-type key of the overall count.
pub const TOTAL: &str = "*";

/// A plan period as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredPeriod {
    /// 1, 2, …
    pub number: i64,
    /// Its start.
    pub start: UnixTime,
    /// Its end (exclusive), if it ends.
    pub end: Option<UnixTime>,
}

/// A client's plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRecord {
    /// The client.
    pub client_id: String,
    /// The settings (`sam-plan`'s JSON).
    pub settings: String,
    /// The current period.
    pub period: StoredPeriod,
    /// When it last changed.
    pub updated_at: UnixTime,
}

/// A period in a plan's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodRecord {
    /// The period.
    pub period: StoredPeriod,
    /// When it was closed by a renewal or a new plan, if it was.
    pub closed_at: Option<UnixTime>,
    /// How it began: `set`, `manual`, `auto_time`, `auto_usage`.
    pub reason: String,
}

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanCount {
    /// Counted; the period's usage is now this, overall and of the request's type.
    Counted {
        /// Overall.
        total: i64,
        /// Of the request's type.
        of_type: i64,
    },
    /// The overall limit is reached; nothing was counted.
    LimitReached,
    /// The request type's limit is reached; nothing was counted.
    TypeLimitReached,
}

/// An alert in the alert log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRecord {
    /// The client.
    pub client_id: String,
    /// The period it concerns.
    pub period_number: i64,
    /// `plan_expired`, `plan_expires_soon`, `plan_usage_reached`.
    pub kind: String,
    /// When it was sent.
    pub sent_at: UnixTime,
    /// What was sent (recipients, usage), never a secret.
    pub detail: String,
}

/// A plan count held until its effect happens (see [`Store::count_plan_use`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanHold {
    /// Its id (unique; the service makes a random one per request).
    pub id: String,
    /// After this, a node that has neither confirmed nor released it is taken to have died,
    /// and the count is given back.
    pub deadline: UnixTime,
}

/// Deletes hold `hold_id` and gives its count back, inside `tx`: whether there was one.
async fn release_in(tx: &mut Tx, hold_id: &str) -> Result<bool, StoreError> {
    let Some(row) = sqlx::query(
        "DELETE FROM plan_holds WHERE id = $1 RETURNING client_id, period, request_type",
    )
    .bind(hold_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(false);
    };
    let client_id: String = row.try_get(0)?;
    let period: i64 = row.try_get(1)?;
    let request_type: String = row.try_get(2)?;
    for key in [TOTAL, request_type.as_str()] {
        sqlx::query(
            "UPDATE plan_usage SET used = used - 1
             WHERE client_id = $1 AND period_number = $2 AND request_type = $3 AND used > 0",
        )
        .bind(&client_id)
        .bind(period)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(true)
}

/// `used + 1` on one usage row if it is below `limit`; the new count.
async fn bump_usage(
    tx: &mut Tx,
    client_id: &str,
    period: i64,
    key: &str,
    limit: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "UPDATE plan_usage SET used = used + 1
         WHERE client_id = $1 AND period_number = $2 AND request_type = $3 AND used < $4
         RETURNING used",
    )
    .bind(client_id)
    .bind(period)
    .bind(key)
    .bind(limit)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

fn period_from(number: i64, start: i64, end: Option<i64>) -> Result<StoredPeriod, StoreError> {
    Ok(StoredPeriod {
        number,
        start: time(start)?,
        end: end.map(time).transpose()?,
    })
}

impl Store {
    /// Sets the client's plan to `settings`, starting a period from `period.start` to
    /// `period.end`: usage starts at zero, and the client's previous period, if any, is closed
    /// in the history. Period numbers keep growing across plans (so the usage of an old plan
    /// never mixes in); the period as numbered is returned.
    pub async fn set_plan(
        &self,
        client_id: &str,
        settings: &str,
        period: StoredPeriod,
        now: UnixTime,
    ) -> Result<StoredPeriod, StoreError> {
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "UPDATE plan_periods SET closed_at = $2 WHERE client_id = $1 AND closed_at IS NULL",
        )
        .bind(client_id)
        .bind(now.as_secs())
        .execute(&mut *tx)
        .await?;
        let last: Option<i64> =
            sqlx::query("SELECT MAX(number) FROM plan_periods WHERE client_id = $1")
                .bind(client_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let number = last.map_or(1, |n| n + 1);
        sqlx::query(
            "INSERT INTO plans (client_id, settings, period_number, period_start, period_end,
                 updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (client_id) DO UPDATE SET settings = excluded.settings,
                 period_number = excluded.period_number, period_start = excluded.period_start,
                 period_end = excluded.period_end, updated_at = excluded.updated_at",
        )
        .bind(client_id)
        .bind(settings)
        .bind(number)
        .bind(period.start.as_secs())
        .bind(period.end.map(UnixTime::as_secs))
        .bind(now.as_secs())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO plan_periods (client_id, number, start_at, end_at, closed_at, reason)
             VALUES ($1, $2, $3, $4, NULL, 'set')",
        )
        .bind(client_id)
        .bind(number)
        .bind(period.start.as_secs())
        .bind(period.end.map(UnixTime::as_secs))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredPeriod { number, ..period })
    }

    /// Replaces the plan's settings, keeping its period and usage (an edit that does not
    /// restart the plan). Whether the client has a plan.
    pub async fn update_plan_settings(
        &self,
        client_id: &str,
        settings: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE plans SET settings = $2, updated_at = $3 WHERE client_id = $1")
                .bind(client_id)
                .bind(settings)
                .bind(now.as_secs())
                .execute(self.pool()?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The client's plan, if it has one.
    pub async fn plan(&self, client_id: &str) -> Result<Option<PlanRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, settings, period_number, period_start, period_end, updated_at
             FROM plans WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.reader()?)
        .await?;
        row.map(|row| {
            Ok(PlanRecord {
                client_id: row.try_get(0)?,
                settings: row.try_get(1)?,
                period: period_from(row.try_get(2)?, row.try_get(3)?, row.try_get(4)?)?,
                updated_at: time(row.try_get(5)?)?,
            })
        })
        .transpose()
    }

    /// Renews the plan from period `from` to `next` (number `from + 1`), if `from` is still
    /// the current period: racing nodes renew once. Whether this call renewed it.
    pub async fn renew_plan(
        &self,
        client_id: &str,
        from: i64,
        next: StoredPeriod,
        reason: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        if next.number != from + 1 {
            return Err(StoreError::Invalid(format!(
                "period {} does not follow period {from}",
                next.number
            )));
        }
        let mut tx = Tx::begin(self).await?;
        let renewed = sqlx::query(
            "UPDATE plans SET period_number = $3, period_start = $4, period_end = $5,
                 updated_at = $6
             WHERE client_id = $1 AND period_number = $2
             RETURNING client_id",
        )
        .bind(client_id)
        .bind(from)
        .bind(next.number)
        .bind(next.start.as_secs())
        .bind(next.end.map(UnixTime::as_secs))
        .bind(now.as_secs())
        .fetch_optional(&mut *tx)
        .await?;
        if renewed.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE plan_periods SET closed_at = $3 WHERE client_id = $1 AND number = $2")
            .bind(client_id)
            .bind(from)
            .bind(next.start.as_secs())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO plan_periods (client_id, number, start_at, end_at, closed_at, reason)
             VALUES ($1, $2, $3, $4, NULL, $5)",
        )
        .bind(client_id)
        .bind(next.number)
        .bind(next.start.as_secs())
        .bind(next.end.map(UnixTime::as_secs))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The periods the client's plans have had, oldest first.
    pub async fn plan_periods(&self, client_id: &str) -> Result<Vec<PeriodRecord>, StoreError> {
        sqlx::query(
            "SELECT number, start_at, end_at, closed_at, reason FROM plan_periods
             WHERE client_id = $1 ORDER BY number",
        )
        .bind(client_id)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(|row| {
            let closed: Option<i64> = row.try_get(3)?;
            Ok(PeriodRecord {
                period: period_from(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?,
                closed_at: closed.map(time).transpose()?,
                reason: row.try_get(4)?,
            })
        })
        .collect()
    }

    /// Counts one request of `request_type` in period `period` of the client's plan, if the
    /// overall count is below `total_limit` and the type's count below `type_limit` (when it
    /// has one); otherwise counts nothing. This is `sam_plan::Quota::admits` applied
    /// atomically, one conditional update per limit (a service test holds the two to one
    /// rule); the limits are the plan's `Quota`. The count is held under `hold` in the same
    /// transaction: [`Store::confirm_plan_use`] keeps it once the effect happened,
    /// [`Store::release_plan_use`] gives it back, and [`Store::release_expired_plan_holds`]
    /// gives back the holds of nodes that died before either.
    #[allow(clippy::too_many_arguments)]
    pub async fn count_plan_use(
        &self,
        client_id: &str,
        period: i64,
        request_type: &str,
        total_limit: i64,
        type_limit: Option<i64>,
        hold: &PlanHold,
    ) -> Result<PlanCount, StoreError> {
        if request_type == TOTAL {
            return Err(StoreError::Invalid("not a request type".into()));
        }
        let mut tx = Tx::begin(self).await?;
        for key in [TOTAL, request_type] {
            sqlx::query(
                "INSERT INTO plan_usage (client_id, period_number, request_type, used)
                 VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
            )
            .bind(client_id)
            .bind(period)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }
        let Some(total) = bump_usage(&mut tx, client_id, period, TOTAL, total_limit).await? else {
            tx.rollback().await?;
            return Ok(PlanCount::LimitReached);
        };
        let limit = type_limit.unwrap_or(i64::MAX);
        let Some(of_type) = bump_usage(&mut tx, client_id, period, request_type, limit).await?
        else {
            tx.rollback().await?;
            return Ok(PlanCount::TypeLimitReached);
        };
        sqlx::query(
            "INSERT INTO plan_holds (id, client_id, period, request_type, deadline)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&hold.id)
        .bind(client_id)
        .bind(period)
        .bind(request_type)
        .bind(hold.deadline.as_secs())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PlanCount::Counted { total, of_type })
    }

    /// Keeps the count held under `hold_id`: its effect happened.
    pub async fn confirm_plan_use(&self, hold_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM plan_holds WHERE id = $1")
            .bind(hold_id)
            .execute(self.pool()?)
            .await?;
        Ok(())
    }

    /// Gives back the count held under `hold_id` (its effect failed), once: a hold already
    /// confirmed or released changes nothing. Whether a count was given back.
    pub async fn release_plan_use(&self, hold_id: &str) -> Result<bool, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let released = release_in(&mut tx, hold_id).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// Gives back the counts of holds whose deadline is before `now` (their node died between
    /// the count and the effect): how many.
    pub async fn release_expired_plan_holds(&self, now: UnixTime) -> Result<usize, StoreError> {
        let ids: Vec<String> = sqlx::query(
            "SELECT id FROM plan_holds WHERE deadline < $1 ORDER BY deadline LIMIT 1000",
        )
        .bind(now.as_secs())
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut released = 0;
        for id in ids {
            if self.release_plan_use(&id).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// The usage counted in `period`: `("*", total)` and one entry per request type counted.
    pub async fn plan_usage(
        &self,
        client_id: &str,
        period: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query(
            "SELECT request_type, used FROM plan_usage
             WHERE client_id = $1 AND period_number = $2 ORDER BY request_type",
        )
        .bind(client_id)
        .bind(period)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
    }

    /// Records an alert in the log, once per client, period and kind: whether it is new
    /// (and should be sent).
    pub async fn record_plan_alert(&self, alert: &AlertRecord) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO plan_alerts (client_id, period_number, kind, sent_at, detail)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&alert.client_id)
        .bind(alert.period_number)
        .bind(&alert.kind)
        .bind(alert.sent_at.as_secs())
        .bind(&alert.detail)
        .execute(self.pool()?)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Up to `limit` entries of the client's alert log after `after` (a period number and a
    /// kind), by period then kind.
    pub async fn plan_alerts(
        &self,
        client_id: &str,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let (period, kind) = after.unwrap_or((i64::MIN, ""));
        sqlx::query(
            "SELECT client_id, period_number, kind, sent_at, detail FROM plan_alerts
             WHERE client_id = $1 AND (period_number > $2 OR (period_number = $3 AND kind > $4))
             ORDER BY period_number, kind LIMIT $5",
        )
        .bind(client_id)
        .bind(period)
        .bind(period)
        .bind(kind)
        .bind(limit)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(alert_from)
        .collect()
    }

    /// The alerts sent for one period (one per kind at most).
    pub async fn plan_alerts_of_period(
        &self,
        client_id: &str,
        period: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        sqlx::query(
            "SELECT client_id, period_number, kind, sent_at, detail FROM plan_alerts
             WHERE client_id = $1 AND period_number = $2 ORDER BY kind",
        )
        .bind(client_id)
        .bind(period)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(alert_from)
        .collect()
    }
}

fn alert_from(row: &sqlx::any::AnyRow) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        client_id: row.try_get(0)?,
        period_number: row.try_get(1)?,
        kind: row.try_get(2)?,
        sent_at: time(row.try_get(3)?)?,
        detail: row.try_get(4)?,
    })
}
