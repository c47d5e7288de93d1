//! The SAD replay registry: how many uses each SAD has left. Spending a use is one
//! transaction whose **first statement is the conditional write** — `UPDATE … SET remaining =
//! remaining - 1 WHERE id = $1 AND remaining > 0 AND expires_at > $now RETURNING remaining` —
//! followed by the audit record, then commit. Two requests (or two `samd` nodes on one
//! PostgreSQL) can never both spend the last use: the row lock (PostgreSQL) or the single
//! writer (SQLite) orders them, and the second finds `remaining = 0`. SECURITY.md invariant 2.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::audit::{AuditEntry, AuditRecord, append_in};
use crate::tx::Tx;
use crate::{Store, StoreError};

/// A SAD as the registry records it when it is accepted. Its `Debug` shows the SAD's length,
/// never its bytes (SECURITY.md invariant 4).
#[derive(Clone, PartialEq, Eq)]
pub struct NewSad {
    /// The SAD's id (`jti`).
    pub id: String,
    /// The client the SAD was issued to.
    pub client_id: String,
    /// The user who authorised.
    pub user_id: String,
    /// The key it activates.
    pub key_id: String,
    /// How many signatures it allows (1 in transaction mode; the count of an eSeal SAD).
    pub uses: i64,
    /// Until when (exclusive).
    pub expires_at: UnixTime,
    /// When it was registered.
    pub created_at: UnixTime,
    /// The authorisation request it answers.
    pub request_id: String,
    /// The SAD as received, to be verified again when it is used.
    pub encoded: Vec<u8>,
    /// Its encoding: `json` or `der`.
    pub encoding: String,
}

impl core::fmt::Debug for NewSad {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewSad")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("key_id", &self.key_id)
            .field("uses", &self.uses)
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("request_id", &self.request_id)
            .field("encoded", &format_args!("<{} bytes>", self.encoded.len()))
            .field("encoding", &self.encoding)
            .finish()
    }
}

/// The outcome of spending one use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spend {
    /// One use was spent; this many are left. The audit record is committed with it.
    Spent {
        /// Uses left.
        remaining: i64,
        /// The audit record written in the same transaction.
        record: AuditRecord,
    },
    /// Refused, and why; the refusal is audited in its own transaction.
    Refused(SpendRefusal),
}

/// Why a use could not be spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpendRefusal {
    /// No SAD with this id is registered.
    Unknown,
    /// Every use is spent (a replay).
    Exhausted,
    /// The SAD has expired.
    Expired,
}

impl SpendRefusal {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unknown => "sad_unknown",
            Self::Exhausted => "sad_replayed",
            Self::Expired => "sad_expired",
        }
    }
}

impl Store {
    /// Registers a SAD with its uses. Registering an id twice is refused
    /// (`StoreError::Conflict`), so a SAD cannot be re-armed.
    pub async fn register_sad(&self, sad: &NewSad) -> Result<(), StoreError> {
        if sad.uses < 1 {
            return Err(StoreError::Invalid(format!(
                "a SAD needs at least one use, not {}",
                sad.uses
            )));
        }
        let inserted = sqlx::query(
            "INSERT INTO sads (id, client_id, user_id, key_id, issued_uses, remaining, expires_at,
                 created_at, request_id, encoded, encoding)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&sad.id)
        .bind(&sad.client_id)
        .bind(&sad.user_id)
        .bind(&sad.key_id)
        .bind(sad.uses)
        .bind(sad.expires_at.as_secs())
        .bind(sad.created_at.as_secs())
        .bind(&sad.request_id)
        .bind(&sad.encoded)
        .bind(&sad.encoding)
        .execute(self.pool()?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "SAD {} is already registered",
                sad.id
            )));
        }
        Ok(())
    }

    /// Spends one use of SAD `id` at `now`, recording `audit` (with outcome `ok`) in the
    /// same transaction. A refusal changes nothing but the audit log: it is recorded with
    /// the refusal's code as outcome.
    pub async fn spend_sad_use(
        &self,
        id: &str,
        now: UnixTime,
        audit: &AuditEntry,
    ) -> Result<Spend, StoreError> {
        self.spend_sad_uses(id, 1, now, audit).await
    }

    /// Spends `uses` uses of SAD `id` at once (an eSeal batch of that many signatures), or
    /// none: a SAD with fewer left refuses the whole batch as `Exhausted`.
    pub async fn spend_sad_uses(
        &self,
        id: &str,
        uses: i64,
        now: UnixTime,
        audit: &AuditEntry,
    ) -> Result<Spend, StoreError> {
        self.spend(id, uses, None, now, audit).await
    }

    /// Spends the one use of SAD `id` for transaction-mode request `request_id` of
    /// `client_id`, and moves the request `authorised → signing` in the same transaction
    /// (then [`Store::complete_signing`] or [`Store::abandon_signing`]). A request that is not
    /// `authorised` with this SAD spends nothing (`Exhausted`: it was spent for it already).
    pub async fn spend_sad_for_request(
        &self,
        id: &str,
        client_id: &str,
        request_id: &str,
        now: UnixTime,
        audit: &AuditEntry,
    ) -> Result<Spend, StoreError> {
        self.spend(id, 1, Some((client_id, request_id)), now, audit)
            .await
    }

    async fn spend(
        &self,
        id: &str,
        uses: i64,
        request: Option<(&str, &str)>,
        now: UnixTime,
        audit: &AuditEntry,
    ) -> Result<Spend, StoreError> {
        if uses < 1 {
            return Err(StoreError::Invalid(format!(
                "a spend is at least one use, not {uses}"
            )));
        }
        let mut tx = Tx::begin(self).await?;
        let spent = sqlx::query(
            "UPDATE sads SET remaining = remaining - $3
             WHERE id = $1 AND remaining >= $3 AND expires_at > $2
             RETURNING remaining",
        )
        .bind(id)
        .bind(now.as_secs())
        .bind(uses)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = spent {
            let remaining: i64 = row.try_get(0)?;
            if let Some((client_id, request_id)) = request {
                let moved = sqlx::query(
                    "UPDATE authorisation_requests SET status = 'signing', signing_since = $4
                     WHERE client_id = $1 AND request_id = $2 AND sad_id = $3
                         AND status = 'authorised'
                     RETURNING request_id",
                )
                .bind(client_id)
                .bind(request_id)
                .bind(id)
                .bind(now.as_secs())
                .fetch_optional(&mut *tx)
                .await?;
                if moved.is_none() {
                    tx.rollback().await?;
                    return self.refuse(SpendRefusal::Exhausted, audit).await;
                }
            }
            let record = append_in(
                &mut tx,
                &AuditEntry {
                    outcome: "ok".into(),
                    ..audit.clone()
                },
            )
            .await?;
            tx.commit().await?;
            return Ok(Spend::Spent { remaining, record });
        }
        tx.rollback().await?;

        let refusal = match self.sad_state(id).await? {
            None => SpendRefusal::Unknown,
            Some((_, expires_at)) if now >= expires_at => SpendRefusal::Expired,
            Some(_) => SpendRefusal::Exhausted,
        };
        self.refuse(refusal, audit).await
    }

    /// A refused spend: audited with the refusal's code, nothing else changes.
    async fn refuse(&self, refusal: SpendRefusal, audit: &AuditEntry) -> Result<Spend, StoreError> {
        self.append_audit(&AuditEntry {
            outcome: refusal.code().into(),
            ..audit.clone()
        })
        .await?;
        Ok(Spend::Refused(refusal))
    }

    /// Gives `uses` uses back to SAD `id` after the signatures they were spent for could not
    /// be made (an eSeal batch that failed), with `audit` in the same transaction. Never
    /// above the uses it was issued with.
    pub async fn give_back_sad_uses(
        &self,
        id: &str,
        uses: i64,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "UPDATE sads SET remaining = remaining + $2
             WHERE id = $1 AND remaining + $2 <= issued_uses",
        )
        .bind(id)
        .bind(uses)
        .execute(&mut *tx)
        .await?;
        append_in(&mut tx, audit).await?;
        tx.commit().await
    }

    /// The SAD as received (bytes and encoding) and the request it answers, if the client has
    /// it.
    pub async fn sad_as_received(
        &self,
        client_id: &str,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT request_id, encoded, encoding FROM sads WHERE client_id = $1 AND id = $2",
        )
        .bind(client_id)
        .bind(id)
        .fetch_optional(self.reader()?)
        .await?;
        row.map(|row| {
            let encoded: Option<Vec<u8>> = row.try_get(1)?;
            Ok((
                row.try_get(0)?,
                encoded.unwrap_or_default(),
                row.try_get(2)?,
            ))
        })
        .transpose()
    }

    /// The uses left and the expiry of a SAD, if it is registered.
    pub async fn sad_state(&self, id: &str) -> Result<Option<(i64, UnixTime)>, StoreError> {
        let row = sqlx::query("SELECT remaining, expires_at FROM sads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader()?)
            .await?;
        row.map(|row| {
            let remaining: i64 = row.try_get(0)?;
            let expires: i64 = row.try_get(1)?;
            let expires = UnixTime::from_secs(expires)
                .ok_or_else(|| StoreError::Corrupt(format!("SAD expiry {expires} out of range")))?;
            Ok((remaining, expires))
        })
        .transpose()
    }
}
