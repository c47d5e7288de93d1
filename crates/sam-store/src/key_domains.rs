//! The key domain of each crypto source — what a key stored for it needs to be usable: the
//! software master key's fingerprint, a PKCS#11 wrapping key's check value
//! (`sam_token::TokenIdentity::key_domain`). It is recorded once, and a source configured with
//! another key is refused at start (a wrong master key file would otherwise spend SADs and
//! then fail, and make keys that stay unusable once the right key is back).

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::{Store, StoreError};

impl Store {
    /// The key domain recorded for `token`, if any.
    pub async fn key_domain(&self, token: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT key_domain FROM key_domains WHERE token = $1")
            .bind(token)
            .fetch_optional(self.reader()?)
            .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    /// Records `domain` for `token` unless one is recorded already; returns the one that is
    /// recorded now (the caller compares it with its own: a racing node may have won).
    pub async fn record_key_domain(
        &self,
        token: &str,
        domain: &str,
        at: UnixTime,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO key_domains (token, key_domain, recorded_at) VALUES ($1, $2, $3)
             ON CONFLICT (token) DO NOTHING",
        )
        .bind(token)
        .bind(domain)
        .bind(at.as_secs())
        .execute(self.pool()?)
        .await?;
        self.key_domain(token)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("the key domain of {token} vanished")))
    }

    /// One stored key record of `token` (a user's key or a pooled one), to try whether the
    /// token's key opens it when no key domain was recorded yet (a database older than the
    /// record).
    pub async fn some_key_of_token(&self, token: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT reference FROM keys WHERE token = $1
             UNION ALL SELECT record FROM key_pool WHERE token = $1
             LIMIT 1",
        )
        .bind(token)
        .fetch_optional(self.reader()?)
        .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }
}
