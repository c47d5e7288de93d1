//! Pre-generated keys (issue 6: Key Generation does not make a client wait for prime
//! generation). The service fills the pool in the background with stored key records —
//! wrapped at rest like any key — and Key Generation takes one. A key is handed out at most
//! once: taking deletes it in the same statement, and on PostgreSQL concurrent takers skip a
//! row another transaction holds (`FOR UPDATE SKIP LOCKED`) instead of colliding on it.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::{Backend, Store, StoreError};

/// A pre-generated key waiting in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PooledKey {
    /// The pool entry's id.
    pub entry_id: String,
    /// The token that generated it.
    pub token: String,
    /// Its key spec's name.
    pub spec: String,
    /// The stored key record (`sam_token::KeyRecord::to_der`).
    pub record: Vec<u8>,
    /// When it was generated.
    pub created_at: UnixTime,
}

impl Store {
    /// Adds a generated key to the pool.
    pub async fn put_pooled_key(&self, key: &PooledKey) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO key_pool (entry_id, token, spec, record, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (entry_id) DO NOTHING",
        )
        .bind(&key.entry_id)
        .bind(&key.token)
        .bind(&key.spec)
        .bind(&key.record)
        .bind(key.created_at.as_secs())
        .execute(self.pool()?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "pool entry {} exists",
                key.entry_id
            )));
        }
        Ok(())
    }

    /// Takes the oldest pooled key of `spec` from `token`, if there is one; it is gone from
    /// the pool when this returns.
    pub async fn take_pooled_key(
        &self,
        token: &str,
        spec: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = match self.backend() {
            Backend::Postgres => {
                "DELETE FROM key_pool WHERE entry_id = (
                     SELECT entry_id FROM key_pool WHERE token = $1 AND spec = $2
                     ORDER BY created_at, entry_id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING record"
            }
            // One writer at a time: the statement is atomic as it stands.
            Backend::Sqlite => {
                "DELETE FROM key_pool WHERE entry_id = (
                     SELECT entry_id FROM key_pool WHERE token = $1 AND spec = $2
                     ORDER BY created_at, entry_id LIMIT 1)
                 RETURNING record"
            }
        };
        let row = sqlx::query(sql)
            .bind(token)
            .bind(spec)
            .fetch_optional(self.pool()?)
            .await?;
        row.map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    /// How many keys of `spec` from `token` are waiting.
    pub async fn pooled_key_count(&self, token: &str, spec: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM key_pool WHERE token = $1 AND spec = $2",
        )
        .bind(token)
        .bind(spec)
        .fetch_one(self.reader()?)
        .await?
        .try_get(0)?)
    }
}
