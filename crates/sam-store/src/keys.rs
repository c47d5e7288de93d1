//! Signing keys (the token's record: which token, which spec, the key reference or wrapped
//! blob) and their certificates (seed 002: Key Generation, Key Delete, Import Certificate,
//! Get Certificate(s)).

use sqlx::Row;
use sqlx::any::AnyRow;

use sam_algorithms::UnixTime;

use crate::users::time;
use crate::{Store, StoreError};

/// A key as generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// The key's id.
    pub key_id: String,
    /// The client.
    pub client_id: String,
    /// The user who owns it.
    pub user_id: String,
    /// The SAM profile it was generated under.
    pub profile_id: i64,
    /// The token (or pool) that holds it.
    pub token: String,
    /// Its key spec, as `sam-algorithms` names it.
    pub spec: String,
    /// The token's reference: a handle label, or the wrapped key (never the clear key).
    pub reference: Vec<u8>,
    /// The public key (DER SubjectPublicKeyInfo).
    pub public_key: Vec<u8>,
    /// When.
    pub created_at: UnixTime,
}

/// A key's certificate and the chain to give with it (concatenated DER certificates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    /// The key.
    pub key_id: String,
    /// The DER certificate.
    pub certificate: Vec<u8>,
    /// The chain, DER certificates one after another (possibly empty).
    pub chain: Vec<u8>,
    /// When it was imported.
    pub imported_at: UnixTime,
}

const KEY_COLUMNS: &str =
    "key_id, client_id, user_id, profile_id, token, spec, reference, public_key, created_at";

fn key_from(row: &AnyRow) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        key_id: row.try_get(0)?,
        client_id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        profile_id: row.try_get(3)?,
        token: row.try_get(4)?,
        spec: row.try_get(5)?,
        reference: row.try_get(6)?,
        public_key: row.try_get(7)?,
        created_at: time(row.try_get(8)?)?,
    })
}

impl Store {
    /// Records a key of one of the client's users: `Invalid` for an unknown user,
    /// `Conflict` for an existing key id.
    pub async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO keys (key_id, client_id, user_id, profile_id, token, spec, reference,
                 public_key, created_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
             WHERE EXISTS (SELECT 1 FROM users WHERE client_id = $2 AND user_id = $3)
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(&key.key_id)
        .bind(&key.client_id)
        .bind(&key.user_id)
        .bind(key.profile_id)
        .bind(&key.token)
        .bind(&key.spec)
        .bind(&key.reference)
        .bind(&key.public_key)
        .bind(key.created_at.as_secs())
        .execute(self.pool()?)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(());
        }
        if self.user(&key.client_id, &key.user_id).await?.is_none() {
            return Err(StoreError::Invalid(format!("no user {}", key.user_id)));
        }
        Err(StoreError::Conflict(format!("key {} exists", key.key_id)))
    }

    /// The key, if it belongs to one of the client's users.
    pub async fn key(
        &self,
        client_id: &str,
        key_id: &str,
    ) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM keys WHERE client_id = $1 AND key_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(key_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(key_from)
            .transpose()
    }

    /// Up to `limit` of the user's keys after the key id `after`, in id order.
    pub async fn keys(
        &self,
        client_id: &str,
        user_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM keys
             WHERE client_id = $1 AND user_id = $2 AND key_id > $3
             ORDER BY key_id LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(user_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(key_from)
            .collect()
    }

    /// Deletes the key (and its certificate) and returns what it was, so that the caller
    /// can delete it in its token; `None` if the client has no such key.
    pub async fn delete_key(
        &self,
        client_id: &str,
        key_id: &str,
    ) -> Result<Option<StoredKey>, StoreError> {
        let sql = format!(
            "DELETE FROM keys WHERE client_id = $1 AND key_id = $2 RETURNING {KEY_COLUMNS}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(key_id)
            .fetch_optional(self.pool()?)
            .await?
            .as_ref()
            .map(key_from)
            .transpose()
    }

    /// Sets (or replaces) the key's certificate; `false` if the client has no such key. That
    /// the certificate matches the key is the service's check, before this.
    pub async fn set_certificate(
        &self,
        client_id: &str,
        record: &CertificateRecord,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO certificates (key_id, certificate, chain, imported_at)
             SELECT $2, $3, $4, $5
             WHERE EXISTS (SELECT 1 FROM keys WHERE client_id = $1 AND key_id = $2)
             ON CONFLICT (key_id) DO UPDATE SET certificate = excluded.certificate,
                 chain = excluded.chain, imported_at = excluded.imported_at",
        )
        .bind(client_id)
        .bind(&record.key_id)
        .bind(&record.certificate)
        .bind(&record.chain)
        .bind(record.imported_at.as_secs())
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` certificates of the user's keys whose id is after `after`, in key id
    /// order (Get Certificates; keys without a certificate are left out).
    pub async fn certificates(
        &self,
        client_id: &str,
        user_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        sqlx::query(
            "SELECT c.key_id, c.certificate, c.chain, c.imported_at
             FROM certificates c JOIN keys k ON k.key_id = c.key_id
             WHERE k.client_id = $1 AND k.user_id = $2 AND k.key_id > $3
             ORDER BY k.key_id LIMIT $4",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(certificate_from)
        .collect()
    }

    /// The key's certificate, if the client has the key and it has one.
    pub async fn certificate(
        &self,
        client_id: &str,
        key_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT c.key_id, c.certificate, c.chain, c.imported_at
             FROM certificates c JOIN keys k ON k.key_id = c.key_id
             WHERE k.client_id = $1 AND c.key_id = $2",
        )
        .bind(client_id)
        .bind(key_id)
        .fetch_optional(self.reader()?)
        .await?;
        row.as_ref().map(certificate_from).transpose()
    }
}

fn certificate_from(row: &AnyRow) -> Result<CertificateRecord, StoreError> {
    Ok(CertificateRecord {
        key_id: row.try_get(0)?,
        certificate: row.try_get(1)?,
        chain: row.try_get(2)?,
        imported_at: time(row.try_get(3)?)?,
    })
}
