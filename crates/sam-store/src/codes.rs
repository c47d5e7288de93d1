//! One-time codes: OTPs (Generate OTP / Verify OTP, the SCAL1 flow) and the confirmation codes
//! of Recover Password, Change Email and Change Mobile (seed 002). The store keeps only a
//! keyed hash of each code (the service computes it with its secret, so a stolen database does
//! not reveal codes, and 6 digits cannot be searched offline without the key), an expiry and
//! a number of attempts. Checking a code spends one attempt atomically before comparing, so
//! parallel guesses cannot exceed the attempts; a matching code is used up in the same
//! transaction.

use sqlx::Row;
use subtle::ConstantTimeEq;

use sam_algorithms::UnixTime;

use crate::tx::Tx;
use crate::{Store, StoreError};

/// A code as issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCode {
    /// The code's id (e.g. the authorisation request an OTP is bound to).
    pub code_id: String,
    /// The client.
    pub client_id: String,
    /// The user it was sent to.
    pub user_id: String,
    /// What it confirms: `otp`, `recover_password`, `change_email`, `change_mobile`.
    pub purpose: String,
    /// The keyed hash of the code.
    pub code_hash: Vec<u8>,
    /// What confirming it applies (the new e-mail, the request id, …); never a secret.
    pub payload: String,
    /// How many checks it allows.
    pub attempts: i64,
    /// When.
    pub created_at: UnixTime,
    /// Until when (exclusive).
    pub expires_at: UnixTime,
}

/// The outcome of checking a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// It matched and is now used; here is its payload.
    Confirmed {
        /// The payload stored with it.
        payload: String,
    },
    /// It did not match; this many attempts are left.
    Wrong {
        /// Attempts left.
        attempts_left: i64,
    },
    /// No usable code: unknown, another client's or purpose's, used, expired or out of
    /// attempts (one answer for all, so that nothing is learnt from it).
    Unusable,
}

impl Store {
    /// Issues a code, replacing an earlier one with the same id (a re-sent OTP).
    pub async fn issue_code(&self, code: &NewCode) -> Result<(), StoreError> {
        if code.attempts < 1 {
            return Err(StoreError::Invalid(
                "a code needs at least one attempt".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO one_time_codes (code_id, client_id, user_id, purpose, code_hash, payload,
                 attempts_left, used, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)
             ON CONFLICT (code_id) DO UPDATE SET client_id = excluded.client_id,
                 user_id = excluded.user_id, purpose = excluded.purpose,
                 code_hash = excluded.code_hash, payload = excluded.payload,
                 attempts_left = excluded.attempts_left, used = 0,
                 created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(&code.code_id)
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.purpose)
        .bind(&code.code_hash)
        .bind(&code.payload)
        .bind(code.attempts)
        .bind(code.created_at.as_secs())
        .bind(code.expires_at.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(())
    }

    /// Checks `candidate_hash` against the code `code_id` of the client's user for `purpose`.
    pub async fn check_code(
        &self,
        client_id: &str,
        user_id: &str,
        code_id: &str,
        purpose: &str,
        candidate_hash: &[u8],
        now: UnixTime,
    ) -> Result<CodeCheck, StoreError> {
        let mut tx = Tx::begin(self).await?;
        // Spend the attempt first, whatever the outcome.
        let row = sqlx::query(
            "UPDATE one_time_codes SET attempts_left = attempts_left - 1
             WHERE code_id = $1 AND client_id = $2 AND user_id = $3 AND purpose = $4
                 AND used = 0 AND attempts_left > 0 AND expires_at > $5
             RETURNING code_hash, payload, attempts_left",
        )
        .bind(code_id)
        .bind(client_id)
        .bind(user_id)
        .bind(purpose)
        .bind(now.as_secs())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(CodeCheck::Unusable);
        };
        let stored: Vec<u8> = row.try_get(0)?;
        let payload: String = row.try_get(1)?;
        let attempts_left: i64 = row.try_get(2)?;
        if bool::from(stored.ct_eq(candidate_hash)) {
            sqlx::query("UPDATE one_time_codes SET used = 1 WHERE code_id = $1")
                .bind(code_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(CodeCheck::Confirmed { payload });
        }
        tx.commit().await?;
        Ok(CodeCheck::Wrong { attempts_left })
    }
}
