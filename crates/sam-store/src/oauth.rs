//! The CSC API's OAuth 2.0 authorisation server: OAuth clients and authorisations in
//! progress (schema 14). The store keeps text and hashes; what a request means is
//! `sam-oauth2`'s, what may happen is `sam-service`'s.
//!
//! An authorisation moves `pushed` (by PAR) or `started` (its first page) → `logged_in` →
//! `code_issued` → `exchanged`, or to `refused`; every move is a conditional write that names
//! the stage it leaves and the browser it is bound to, so of two racing moves one wins and
//! the other finds nothing. A code is taken once: its second presentation finds the
//! authorisation `exchanged` and the grant it gave ([`Store::oauth_code_reused`]).

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::tx::Tx;
use crate::{Store, StoreError};

/// An OAuth client as registered.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    /// Its `client_id` in the OAuth protocol.
    pub oauth_client_id: String,
    /// The sam client it acts for.
    pub client_id: String,
    /// A name the user's pages show.
    pub name: String,
    /// Its redirect URIs, a JSON list.
    pub redirect_uris: String,
    /// The keyed hash of its secret; `None`: a public client.
    pub secret_hash: Option<Vec<u8>>,
    /// When it was registered.
    pub created_at: UnixTime,
}

impl core::fmt::Debug for OAuthClientRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OAuthClientRecord")
            .field("oauth_client_id", &self.oauth_client_id)
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("confidential", &self.secret_hash.is_some())
            .finish_non_exhaustive()
    }
}

/// The stage of an authorisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthStage {
    /// Pushed by PAR; no browser has opened it yet.
    Pushed,
    /// Opened in a browser, which it is now bound to; the user has not logged in.
    Started,
    /// The user logged in.
    LoggedIn,
    /// A code was issued.
    CodeIssued,
    /// The code was exchanged for tokens.
    Exchanged,
    /// Declined, expired on the device, or refused.
    Refused,
}

impl OAuthStage {
    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pushed => "pushed",
            Self::Started => "started",
            Self::LoggedIn => "logged_in",
            Self::CodeIssued => "code_issued",
            Self::Exchanged => "exchanged",
            Self::Refused => "refused",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "pushed" => Self::Pushed,
            "started" => Self::Started,
            "logged_in" => Self::LoggedIn,
            "code_issued" => Self::CodeIssued,
            "exchanged" => Self::Exchanged,
            "refused" => Self::Refused,
            other => return Err(StoreError::Corrupt(format!("stored OAuth stage {other:?}"))),
        })
    }
}

/// An authorisation as stored. Its `Debug` shows no hash.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthAuthorizationRecord {
    /// Its identifier (random).
    pub authorization_id: String,
    /// The OAuth client.
    pub oauth_client_id: String,
    /// The sam client.
    pub client_id: String,
    /// The request's parameters, form-encoded, as sent.
    pub request: String,
    /// The redirect URI it matched (the one to redirect to).
    pub redirect_uri: String,
    /// Where it stands.
    pub stage: OAuthStage,
    /// The keyed hash of the browser's cookie, once opened.
    pub browser_hash: Option<Vec<u8>>,
    /// The user, once logged in.
    pub user_id: Option<String>,
    /// The SAP request of a credential scope, once made.
    pub request_id: Option<String>,
    /// The grant its code gave, once exchanged.
    pub grant_id: Option<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// Until when it (or its code) may be used (exclusive).
    pub expires_at: UnixTime,
}

impl core::fmt::Debug for OAuthAuthorizationRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OAuthAuthorizationRecord")
            .field("authorization_id", &self.authorization_id)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("stage", &self.stage)
            .field("user_id", &self.user_id)
            .field("request_id", &self.request_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A new authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOAuthAuthorization<'a> {
    /// Its identifier.
    pub authorization_id: &'a str,
    /// The OAuth client.
    pub oauth_client_id: &'a str,
    /// The sam client.
    pub client_id: &'a str,
    /// The request, form-encoded.
    pub request: &'a str,
    /// The redirect URI it matched.
    pub redirect_uri: &'a str,
    /// `Pushed` (PAR) or `Started` (opened in a browser, `browser_hash` set).
    pub stage: OAuthStage,
    /// The browser's cookie hash, for `Started`.
    pub browser_hash: Option<&'a [u8]>,
    /// Until when it may be completed.
    pub expires_at: UnixTime,
}

const CLIENT_COLUMNS: &str =
    "oauth_client_id, client_id, name, redirect_uris, secret_hash, created_at";
const AUTHORIZATION_COLUMNS: &str = "authorization_id, oauth_client_id, client_id, request, \
     redirect_uri, stage, browser_hash, user_id, request_id, grant_id, created_at, expires_at";

fn client_from(row: &sqlx::any::AnyRow) -> Result<OAuthClientRecord, StoreError> {
    Ok(OAuthClientRecord {
        oauth_client_id: row.try_get(0)?,
        client_id: row.try_get(1)?,
        name: row.try_get(2)?,
        redirect_uris: row.try_get(3)?,
        secret_hash: row.try_get(4)?,
        created_at: crate::users::time(row.try_get(5)?)?,
    })
}

fn authorization_from(row: &sqlx::any::AnyRow) -> Result<OAuthAuthorizationRecord, StoreError> {
    Ok(OAuthAuthorizationRecord {
        authorization_id: row.try_get(0)?,
        oauth_client_id: row.try_get(1)?,
        client_id: row.try_get(2)?,
        request: row.try_get(3)?,
        redirect_uri: row.try_get(4)?,
        stage: OAuthStage::parse(&row.try_get::<String, _>(5)?)?,
        browser_hash: row.try_get(6)?,
        user_id: row.try_get(7)?,
        request_id: row.try_get(8)?,
        grant_id: row.try_get(9)?,
        created_at: crate::users::time(row.try_get(10)?)?,
        expires_at: crate::users::time(row.try_get(11)?)?,
    })
}

impl Store {
    /// Registers an OAuth client; `false` when its identifier is taken.
    pub async fn insert_oauth_client(
        &self,
        client: &OAuthClientRecord,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO oauth_clients (oauth_client_id, client_id, name, redirect_uris,
                 secret_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (oauth_client_id) DO NOTHING",
        )
        .bind(&client.oauth_client_id)
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.redirect_uris)
        .bind(client.secret_hash.as_deref())
        .bind(client.created_at.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The OAuth client, if registered.
    pub async fn oauth_client(
        &self,
        oauth_client_id: &str,
    ) -> Result<Option<OAuthClientRecord>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE oauth_client_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(oauth_client_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    /// The sam client's OAuth clients, by identifier.
    pub async fn oauth_clients_of(
        &self,
        client_id: &str,
    ) -> Result<Vec<OAuthClientRecord>, StoreError> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1
             ORDER BY oauth_client_id"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(client_from)
            .collect()
    }

    /// Deletes the sam client's OAuth client and its authorisations; `false` when it has no
    /// such OAuth client.
    pub async fn delete_oauth_client(
        &self,
        client_id: &str,
        oauth_client_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "DELETE FROM oauth_authorizations WHERE oauth_client_id = $1 AND client_id = $2",
        )
        .bind(oauth_client_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        let done =
            sqlx::query("DELETE FROM oauth_clients WHERE oauth_client_id = $1 AND client_id = $2")
                .bind(oauth_client_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a new authorisation, after deleting the client's expired ones; `false` (and
    /// nothing recorded) when the OAuth client already has `max_live` live ones — a flood of
    /// unauthenticated authorisation requests cannot grow the table without bound.
    pub async fn insert_oauth_authorization(
        &self,
        new: &NewOAuthAuthorization<'_>,
        max_live: i64,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        if !matches!(new.stage, OAuthStage::Pushed | OAuthStage::Started)
            || (new.stage == OAuthStage::Started) != new.browser_hash.is_some()
        {
            return Err(StoreError::Invalid(
                "an authorisation begins pushed, or started in a browser".into(),
            ));
        }
        let mut tx = Tx::begin(self).await?;
        sqlx::query(
            "DELETE FROM oauth_authorizations WHERE oauth_client_id = $1 AND expires_at <= $2",
        )
        .bind(new.oauth_client_id)
        .bind(now.as_secs())
        .execute(&mut *tx)
        .await?;
        let live: i64 =
            sqlx::query("SELECT COUNT(*) FROM oauth_authorizations WHERE oauth_client_id = $1")
                .bind(new.oauth_client_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if live >= max_live {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO oauth_authorizations (authorization_id, oauth_client_id, client_id,
                 request, redirect_uri, stage, browser_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new.authorization_id)
        .bind(new.oauth_client_id)
        .bind(new.client_id)
        .bind(new.request)
        .bind(new.redirect_uri)
        .bind(new.stage.as_str())
        .bind(new.browser_hash)
        .bind(now.as_secs())
        .bind(new.expires_at.as_secs())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The live (unexpired) authorisation, if any.
    pub async fn oauth_authorization(
        &self,
        authorization_id: &str,
        now: UnixTime,
    ) -> Result<Option<OAuthAuthorizationRecord>, StoreError> {
        let sql = format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM oauth_authorizations
             WHERE authorization_id = $1 AND expires_at > $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(authorization_id)
            .bind(now.as_secs())
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(authorization_from)
            .transpose()
    }

    /// Opens a pushed authorisation in a browser: `pushed` → `started`, bound to
    /// `browser_hash`, to live until `expires_at` from now on (a pushed request waits briefly
    /// to be opened; once opened it takes as long as any). `false` when it is not live and
    /// pushed (opened before, or gone).
    pub async fn open_pushed_oauth_authorization(
        &self,
        authorization_id: &str,
        oauth_client_id: &str,
        browser_hash: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_authorizations SET stage = 'started', browser_hash = $1, expires_at = $5
             WHERE authorization_id = $2 AND oauth_client_id = $3 AND stage = 'pushed'
               AND expires_at > $4",
        )
        .bind(browser_hash)
        .bind(authorization_id)
        .bind(oauth_client_id)
        .bind(now.as_secs())
        .bind(expires_at.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves the live authorisation of this browser from `from` to `to`, setting the user and
    /// the SAP request where given (`None` keeps them). `false` when it is not in `from`, not
    /// this browser's, or not live.
    #[allow(clippy::too_many_arguments)]
    pub async fn advance_oauth_authorization(
        &self,
        authorization_id: &str,
        browser_hash: &[u8],
        from: OAuthStage,
        to: OAuthStage,
        user_id: Option<&str>,
        request_id: Option<&str>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_authorizations
             SET stage = $1, user_id = COALESCE($2, user_id), request_id = COALESCE($3, request_id)
             WHERE authorization_id = $4 AND browser_hash = $5 AND stage = $6 AND expires_at > $7",
        )
        .bind(to.as_str())
        .bind(user_id)
        .bind(request_id)
        .bind(authorization_id)
        .bind(browser_hash)
        .bind(from.as_str())
        .bind(now.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Issues the code of the browser's authorisation: `logged_in` → `code_issued`, with the
    /// code's hash and its (short) expiry. `false` when it is not logged in, not this
    /// browser's, or not live.
    pub async fn issue_oauth_code(
        &self,
        authorization_id: &str,
        browser_hash: &[u8],
        code_hash: &[u8],
        code_expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE oauth_authorizations
             SET stage = 'code_issued', code_hash = $1, expires_at = $2
             WHERE authorization_id = $3 AND browser_hash = $4 AND stage = 'logged_in'
               AND expires_at > $5",
        )
        .bind(code_hash)
        .bind(code_expires_at.as_secs())
        .bind(authorization_id)
        .bind(browser_hash)
        .bind(now.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the OAuth client's live code once: `code_issued` → `exchanged`, recording the
    /// grant it gives. `None` when there is no such live code of this client to take (unknown,
    /// expired, another client's, or taken before).
    pub async fn take_oauth_code(
        &self,
        oauth_client_id: &str,
        code_hash: &[u8],
        grant_id: &str,
        now: UnixTime,
    ) -> Result<Option<OAuthAuthorizationRecord>, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let done = sqlx::query(
            "UPDATE oauth_authorizations SET stage = 'exchanged', grant_id = $1
             WHERE code_hash = $2 AND oauth_client_id = $3 AND stage = 'code_issued'
               AND expires_at > $4",
        )
        .bind(grant_id)
        .bind(code_hash)
        .bind(oauth_client_id)
        .bind(now.as_secs())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let sql = format!(
            "SELECT {AUTHORIZATION_COLUMNS} FROM oauth_authorizations WHERE code_hash = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(code_hash)
            .fetch_one(&mut *tx)
            .await?;
        let record = authorization_from(&row)?;
        tx.commit().await?;
        Ok(Some(record))
    }

    /// A code presented again after it was exchanged: the grant it gave (to end it), if the
    /// code is one that was taken.
    pub async fn oauth_code_reused(&self, code_hash: &[u8]) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT grant_id FROM oauth_authorizations WHERE code_hash = $1 AND stage = 'exchanged'",
        )
        .bind(code_hash)
        .fetch_optional(self.reader()?)
        .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => None,
        })
    }
}
