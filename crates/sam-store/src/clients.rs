//! Clients: the business applications that may use the SAM service (seed 002, *Client
//! Manager*): whether the client may access the SAM service, its selected and default
//! profiles, its *Authorisation Certificate* (which verifies the SADs the client signs: SCAL1
//! PIN/OTP, delegated IdP, eSeal renewal), its credentials (an Argon2id PHC string of its
//! secret, made by the service), the TLS client certificates bound to it (SHA-256
//! fingerprints), the *Require HTTP Basic Authentication with TLS Client Authentication*
//! option, and where its plan alerts go.

use sqlx::Row;
use sqlx::any::AnyRow;

use sam_algorithms::UnixTime;

use crate::users::time;
use crate::{Store, StoreError};

/// A client as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's id.
    pub client_id: String,
    /// *Allow this client to access the SAM Service*.
    pub sam_access: bool,
    /// *Selected SAM Profiles*: the ids the client may use; `None` for every profile.
    pub selected_profiles: Option<Vec<i64>>,
    /// *Default SAM Profile*, for requests that name none.
    pub default_profile: Option<i64>,
    /// The e-mail address plan alerts go to.
    pub email: Option<String>,
    /// The mobile number plan alerts go to.
    pub mobile: Option<String>,
    /// The *Authorisation Certificate* (DER), if the client signs SADs.
    pub authorisation_certificate: Option<Vec<u8>>,
    /// The Argon2id PHC string of the client secret, if it has one.
    pub secret_hash: Option<String>,
    /// SHA-256 fingerprints (lowercase hex) of the TLS client certificates bound to it.
    pub tls_certificates: Vec<String>,
    /// *Require HTTP Basic Authentication with TLS Client Authentication*.
    pub basic_with_tls: bool,
    /// When it was first stored.
    pub created_at: UnixTime,
    /// When it was last changed.
    pub updated_at: UnixTime,
}

impl ClientRecord {
    /// A client with SAM access and nothing else set, at `now`.
    pub fn new(client_id: impl Into<String>, now: UnixTime) -> Self {
        Self {
            client_id: client_id.into(),
            sam_access: true,
            selected_profiles: None,
            default_profile: None,
            email: None,
            mobile: None,
            authorisation_certificate: None,
            secret_hash: None,
            tls_certificates: Vec::new(),
            basic_with_tls: false,
            created_at: now,
            updated_at: now,
        }
    }
}

impl core::fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("sam_access", &self.sam_access)
            .field("selected_profiles", &self.selected_profiles)
            .field("default_profile", &self.default_profile)
            .field("email", &self.email)
            .field("mobile", &self.mobile)
            .field(
                "authorisation_certificate",
                &self.authorisation_certificate.as_ref().map(Vec::len),
            )
            .field(
                "secret_hash",
                &self.secret_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("tls_certificates", &self.tls_certificates)
            .field("basic_with_tls", &self.basic_with_tls)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

const CLIENT_COLUMNS: &str = "client_id, sam_access, authorisation_certificate, created_at,
    updated_at, selected_profiles, default_profile, email, mobile, secret_hash,
    tls_certificates, basic_with_tls";

fn join_ids(ids: &[i64]) -> String {
    format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    )
}

/// Reads a stored list of profile ids (`[1,2,3]`).
fn parse_ids(text: &str) -> Result<Vec<i64>, StoreError> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| StoreError::Corrupt(format!("selected profiles {text:?}")))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|id| {
            id.trim()
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("selected profiles {text:?}")))
        })
        .collect()
}

fn client_from(row: &AnyRow) -> Result<ClientRecord, StoreError> {
    let access: i64 = row.try_get(1)?;
    let selected: Option<String> = row.try_get(5)?;
    let tls: String = row.try_get(10)?;
    let basic_with_tls: i64 = row.try_get(11)?;
    Ok(ClientRecord {
        client_id: row.try_get(0)?,
        sam_access: access != 0,
        authorisation_certificate: row.try_get(2)?,
        created_at: time(row.try_get(3)?)?,
        updated_at: time(row.try_get(4)?)?,
        selected_profiles: selected.map(|text| parse_ids(&text)).transpose()?,
        default_profile: row.try_get(6)?,
        email: row.try_get(7)?,
        mobile: row.try_get(8)?,
        secret_hash: row.try_get(9)?,
        tls_certificates: tls
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        basic_with_tls: basic_with_tls != 0,
    })
}

impl Store {
    /// Creates the client or replaces its settings (keeping `created_at`).
    pub async fn put_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        if client.tls_certificates.iter().any(|f| f.contains(',')) {
            return Err(StoreError::Invalid("a fingerprint with a comma".into()));
        }
        sqlx::query(
            "INSERT INTO clients (client_id, sam_access, authorisation_certificate, created_at,
                 updated_at, selected_profiles, default_profile, email, mobile, secret_hash,
                 tls_certificates, basic_with_tls)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (client_id) DO UPDATE SET sam_access = excluded.sam_access,
                 authorisation_certificate = excluded.authorisation_certificate,
                 updated_at = excluded.updated_at,
                 selected_profiles = excluded.selected_profiles,
                 default_profile = excluded.default_profile, email = excluded.email,
                 mobile = excluded.mobile, secret_hash = excluded.secret_hash,
                 tls_certificates = excluded.tls_certificates,
                 basic_with_tls = excluded.basic_with_tls",
        )
        .bind(&client.client_id)
        .bind(i64::from(client.sam_access))
        .bind(client.authorisation_certificate.as_deref())
        .bind(client.created_at.as_secs())
        .bind(client.updated_at.as_secs())
        .bind(client.selected_profiles.as_deref().map(join_ids))
        .bind(client.default_profile)
        .bind(client.email.as_deref())
        .bind(client.mobile.as_deref())
        .bind(client.secret_hash.as_deref())
        .bind(client.tls_certificates.join(","))
        .bind(i64::from(client.basic_with_tls))
        .execute(self.pool()?)
        .await?;
        Ok(())
    }

    /// The client, if stored.
    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    /// The client a TLS client certificate (its SHA-256 fingerprint, lowercase hex) is bound
    /// to, if any: one query per request, instead of a scan of every client in the caller.
    pub async fn client_by_certificate(
        &self,
        fingerprint: &str,
    ) -> Result<Option<ClientRecord>, StoreError> {
        if fingerprint.is_empty() || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        // Fingerprints are stored comma-separated; matching `,fp,` in `,list,` finds whole
        // entries only.
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM clients
             WHERE ',' || tls_certificates || ',' LIKE '%,' || $1 || ',%'
             ORDER BY client_id LIMIT 1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(fingerprint)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    /// Up to `limit` clients after the client id `after`, in id order.
    pub async fn clients(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ClientRecord>, StoreError> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id > $1
             ORDER BY client_id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(client_from)
            .collect()
    }
}
