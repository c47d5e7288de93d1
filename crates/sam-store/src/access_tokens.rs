//! Users' access tokens: the bearer tokens of the CSC API (`auth/login`, and the native call by
//! which a business application obtains one for its user). The store keeps only a keyed hash
//! of each token (the service computes it with its secret; a stolen database gives no token),
//! the client and user it is bound to, and its expiry. A *grant* is one login: an access token
//! and, with "remember me", a refresh token; refreshing replaces the grant's access token,
//! revoking the refresh token ends the grant, revoking an access token ends only that token.
//! Deleting the user deletes their tokens (a foreign key).
//!
//! The number of live grants per user is bounded: issuing one beyond the bound ends the
//! oldest, so a flood of logins cannot grow the table without limit.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::tx::Tx;
use crate::{Store, StoreError};

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Presented on every call (`Authorization: Bearer`).
    Access,
    /// Exchanged for a new access token.
    Refresh,
}

impl TokenKind {
    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "access" => Ok(Self::Access),
            "refresh" => Ok(Self::Refresh),
            other => Err(StoreError::Corrupt(format!("stored token kind {other:?}"))),
        }
    }
}

/// A token as issued. Its `Debug` never shows the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccessToken {
    /// The keyed hash of the token.
    pub token_hash: Vec<u8>,
    /// The kind.
    pub kind: TokenKind,
    /// Until when (exclusive).
    pub expires_at: UnixTime,
    /// The authorised request a credential-scope token stands for (OAuth 2.0), if any.
    pub request_id: Option<String>,
}

impl core::fmt::Debug for NewAccessToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewAccessToken")
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// A live token, as a lookup finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccessToken {
    /// The login it belongs to.
    pub grant_id: String,
    /// The kind.
    pub kind: TokenKind,
    /// The client it is bound to.
    pub client_id: String,
    /// The user it is bound to.
    pub user_id: String,
    /// Until when (exclusive).
    pub expires_at: UnixTime,
    /// The authorised request a credential-scope token stands for, if any.
    pub request_id: Option<String>,
}

/// What revoking found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// This many tokens ended (the grant's, for a refresh token).
    Tokens(u64),
    /// No live token of this client and user has that hash (unknown, another's, expired, or
    /// revoked before).
    Nothing,
}

impl Store {
    /// Records a new grant `grant_id` of the client's user with its tokens, after removing the
    /// user's expired tokens and, when the user already has `max_grants` live grants, the
    /// oldest of them — in one transaction.
    pub async fn issue_access_grant(
        &self,
        client_id: &str,
        user_id: &str,
        grant_id: &str,
        tokens: &[NewAccessToken],
        max_grants: i64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if tokens.is_empty() || max_grants < 1 {
            return Err(StoreError::Invalid(
                "a grant has at least one token, and a user at least one grant".into(),
            ));
        }
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "DELETE FROM access_tokens WHERE client_id = $1 AND user_id = $2 AND expires_at <= $3",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(now.as_secs())
        .execute(&mut *tx)
        .await?;
        // Keep the newest max_grants - 1 grants; the new one makes max_grants.
        sqlx::query(
            "DELETE FROM access_tokens WHERE client_id = $1 AND user_id = $2 AND grant_id IN (
                 SELECT grant_id FROM access_tokens WHERE client_id = $1 AND user_id = $2
                 GROUP BY grant_id ORDER BY MIN(created_at) DESC, grant_id DESC
                 LIMIT 1000000000 OFFSET $3)",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(max_grants - 1)
        .execute(&mut *tx)
        .await?;
        for token in tokens {
            insert(&mut tx, client_id, user_id, grant_id, token, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The live token with this hash and kind, if any.
    pub async fn access_token(
        &self,
        token_hash: &[u8],
        kind: TokenKind,
        now: UnixTime,
    ) -> Result<Option<StoredAccessToken>, StoreError> {
        let row = sqlx::query(
            "SELECT grant_id, kind, client_id, user_id, expires_at, request_id FROM access_tokens
             WHERE token_hash = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(now.as_secs())
        .fetch_optional(self.reader()?)
        .await?;
        row.map(|row| stored(&row)).transpose()
    }

    /// Exchanges the client's live refresh token `refresh_hash` for `access`: the grant's
    /// earlier access tokens end, in the same transaction. `None` when there is no such live
    /// refresh token of this client.
    pub async fn refresh_access_grant(
        &self,
        client_id: &str,
        refresh_hash: &[u8],
        access: &NewAccessToken,
        now: UnixTime,
    ) -> Result<Option<StoredAccessToken>, StoreError> {
        if access.kind != TokenKind::Access {
            return Err(StoreError::Invalid(
                "a refresh gives an access token".into(),
            ));
        }
        let mut tx = Tx::begin(self).await?;
        let row = sqlx::query(
            "SELECT grant_id, kind, client_id, user_id, expires_at, request_id FROM access_tokens
             WHERE token_hash = $1 AND kind = 'refresh' AND client_id = $2 AND expires_at > $3",
        )
        .bind(refresh_hash)
        .bind(client_id)
        .bind(now.as_secs())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let refresh = stored(&row)?;
        sqlx::query("DELETE FROM access_tokens WHERE grant_id = $1 AND kind = 'access'")
            .bind(&refresh.grant_id)
            .execute(&mut *tx)
            .await?;
        insert(
            &mut tx,
            &refresh.client_id,
            &refresh.user_id,
            &refresh.grant_id,
            access,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(refresh))
    }

    /// Ends every token of the grant `grant_id` (a reused OAuth code's, RFC 6749 section
    /// 4.1.2); how many ended.
    pub async fn end_access_grant(&self, grant_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE grant_id = $1")
            .bind(grant_id)
            .execute(self.pool()?)
            .await?;
        Ok(done.rows_affected())
    }

    /// Revokes the client's user's token `token_hash`: an access token alone, a refresh token
    /// with its whole grant (RFC 7009 section 2.1). Another client's or user's token is
    /// [`Revoked::Nothing`], as an unknown one.
    pub async fn revoke_access_token(
        &self,
        client_id: &str,
        user_id: &str,
        token_hash: &[u8],
    ) -> Result<Revoked, StoreError> {
        self.revoke_token_of(client_id, Some(user_id), token_hash)
            .await
    }

    /// Revokes the client's token of any of its users, as
    /// [`revoke_access_token`](Self::revoke_access_token) does (OAuth 2.0 revocation, RFC
    /// 7009, where the client authenticates and the user is the token's).
    pub async fn revoke_client_token(
        &self,
        client_id: &str,
        token_hash: &[u8],
    ) -> Result<Revoked, StoreError> {
        self.revoke_token_of(client_id, None, token_hash).await
    }

    async fn revoke_token_of(
        &self,
        client_id: &str,
        user_id: Option<&str>,
        token_hash: &[u8],
    ) -> Result<Revoked, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let row = sqlx::query(
            "SELECT grant_id, kind, user_id FROM access_tokens
             WHERE token_hash = $1 AND client_id = $2",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let row = match (row, user_id) {
            (Some(row), Some(user)) if row.try_get::<String, _>(2)? != user => None,
            (row, _) => row,
        };
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(Revoked::Nothing);
        };
        let grant_id: String = row.try_get(0)?;
        let kind = TokenKind::parse(&row.try_get::<String, _>(1)?)?;
        let done = match kind {
            TokenKind::Refresh => {
                sqlx::query("DELETE FROM access_tokens WHERE grant_id = $1")
                    .bind(&grant_id)
                    .execute(&mut *tx)
                    .await?
            }
            TokenKind::Access => {
                sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(Revoked::Tokens(done.rows_affected()))
    }

    /// How many live grants the client's user has.
    pub async fn access_grants(
        &self,
        client_id: &str,
        user_id: &str,
        now: UnixTime,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT grant_id) FROM access_tokens
             WHERE client_id = $1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(now.as_secs())
        .fetch_one(self.reader()?)
        .await?;
        Ok(row.try_get(0)?)
    }
}

async fn insert(
    tx: &mut Tx,
    client_id: &str,
    user_id: &str,
    grant_id: &str,
    token: &NewAccessToken,
    now: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, grant_id, kind, client_id, user_id, created_at,
             expires_at, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&token.token_hash)
    .bind(grant_id)
    .bind(token.kind.as_str())
    .bind(client_id)
    .bind(user_id)
    .bind(now.as_secs())
    .bind(token.expires_at.as_secs())
    .bind(token.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn stored(row: &sqlx::any::AnyRow) -> Result<StoredAccessToken, StoreError> {
    let expires: i64 = row.try_get(4)?;
    Ok(StoredAccessToken {
        grant_id: row.try_get(0)?,
        kind: TokenKind::parse(&row.try_get::<String, _>(1)?)?,
        client_id: row.try_get(2)?,
        user_id: row.try_get(3)?,
        expires_at: UnixTime::from_secs(expires)
            .ok_or_else(|| StoreError::Corrupt("stored token expiry".into()))?,
        request_id: row.try_get(5)?,
    })
}
