//! Results of signatures made after the answer: the CSC API's asynchronous `signHash` answers
//! with a response id at once, signs in the background, and `signPolling` reads the outcome
//! here — on whichever node the poll arrives. A result is bound to its client and user (a
//! lookup names both, so another's id is the answer of a missing one), written once from
//! `pending` to `done` (the outputs) or `failed` (the refusal's code and message), and gone at
//! its expiry. A signing whose node died leaves its row pending until then: the request itself
//! is given back by the recovery of interrupted signings.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::{Store, StoreError};

/// Where a deferred result stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeferredOutcome {
    /// Still being made.
    Pending,
    /// Made: the outputs, in order.
    Done(Vec<Vec<u8>>),
    /// Refused: the error code and message.
    Failed {
        /// The stable error code.
        code: String,
        /// Why.
        message: String,
    },
}

/// Length-prefixed outputs.
fn encode(outputs: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in outputs {
        out.extend_from_slice(&u32::try_from(o.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(o);
    }
    out
}

fn decode(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| StoreError::Corrupt("stored outputs are truncated".into()))?;
        let len = u32::from_be_bytes(*len) as usize;
        let output = rest
            .get(..len)
            .ok_or_else(|| StoreError::Corrupt("stored outputs are truncated".into()))?;
        out.push(output.to_vec());
        bytes = &rest[len..];
    }
    Ok(out)
}

impl Store {
    /// Records a pending result `response_id` of the client's user until `expires_at`, after
    /// removing the user's expired ones.
    pub async fn begin_deferred(
        &self,
        client_id: &str,
        user_id: &str,
        response_id: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM deferred_results WHERE client_id = $1 AND user_id = $2 AND expires_at <= $3",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(now.as_secs())
        .execute(self.pool()?)
        .await?;
        sqlx::query(
            "INSERT INTO deferred_results (response_id, client_id, user_id, status, created_at,
                 expires_at)
             VALUES ($1, $2, $3, 'pending', $4, $5)",
        )
        .bind(response_id)
        .bind(client_id)
        .bind(user_id)
        .bind(now.as_secs())
        .bind(expires_at.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(())
    }

    /// Writes the outcome of the pending result (once: a result that is no longer pending, or
    /// gone, is left as it is); whether it was written.
    pub async fn finish_deferred(
        &self,
        client_id: &str,
        response_id: &str,
        outcome: &DeferredOutcome,
    ) -> Result<bool, StoreError> {
        let (status, outputs, code, message) = match outcome {
            DeferredOutcome::Pending => {
                return Err(StoreError::Invalid("an outcome is done or failed".into()));
            }
            DeferredOutcome::Done(outputs) => ("done", Some(encode(outputs)), None, None),
            DeferredOutcome::Failed { code, message } => {
                ("failed", None, Some(code.as_str()), Some(message.as_str()))
            }
        };
        let done = sqlx::query(
            "UPDATE deferred_results SET status = $3, outputs = $4, error_code = $5,
                 error_message = $6
             WHERE client_id = $1 AND response_id = $2 AND status = 'pending'",
        )
        .bind(client_id)
        .bind(response_id)
        .bind(status)
        .bind(outputs)
        .bind(code)
        .bind(message)
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The client's user's result `response_id`, if it exists and has not expired.
    pub async fn deferred(
        &self,
        client_id: &str,
        user_id: &str,
        response_id: &str,
        now: UnixTime,
    ) -> Result<Option<DeferredOutcome>, StoreError> {
        let row = sqlx::query(
            "SELECT status, outputs, error_code, error_message FROM deferred_results
             WHERE client_id = $1 AND user_id = $2 AND response_id = $3 AND expires_at > $4",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(response_id)
        .bind(now.as_secs())
        .fetch_optional(self.reader()?)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let status: String = row.try_get(0)?;
        Ok(Some(match status.as_str() {
            "pending" => DeferredOutcome::Pending,
            "done" => {
                let outputs: Option<Vec<u8>> = row.try_get(1)?;
                DeferredOutcome::Done(decode(&outputs.unwrap_or_default())?)
            }
            "failed" => DeferredOutcome::Failed {
                code: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                message: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
            },
            other => {
                return Err(StoreError::Corrupt(format!(
                    "stored deferred status {other:?}"
                )));
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_round_trip_and_truncation_is_refused() {
        let outputs = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        let bytes = encode(&outputs);
        assert_eq!(decode(&bytes).unwrap(), outputs);
        for cut in 1..bytes.len() {
            let decoded = decode(&bytes[..cut]);
            assert!(
                decoded.is_err() || decoded.as_ref().is_ok_and(|d| d != &outputs),
                "{cut}"
            );
        }
        assert_eq!(decode(&[]).unwrap(), Vec::<Vec<u8>>::new());
    }
}
