//! Clients: the business applications that may use the SAM service (seed 002, Client
//! Manager). This schema holds what the service core needs — whether the client may access
//! the SAM service, and its *Authorisation Certificate*, which verifies the SADs the client
//! signs (SCAL1 PIN/OTP, delegated IdP, eSeal renewal).

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::users::time;
use crate::{Store, StoreError};

/// A client as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// When it was first stored.
    pub created_at: UnixTime,
    /// When it was last changed.
    pub updated_at: UnixTime,
}

impl Store {
    /// Creates the client or replaces its settings (keeping `created_at`).
    pub async fn put_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (client_id, sam_access, authorisation_certificate, created_at,
                 updated_at, selected_profiles, default_profile, email, mobile)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (client_id) DO UPDATE SET sam_access = excluded.sam_access,
                 authorisation_certificate = excluded.authorisation_certificate,
                 updated_at = excluded.updated_at,
                 selected_profiles = excluded.selected_profiles,
                 default_profile = excluded.default_profile, email = excluded.email,
                 mobile = excluded.mobile",
        )
        .bind(&client.client_id)
        .bind(i64::from(client.sam_access))
        .bind(client.authorisation_certificate.as_deref())
        .bind(client.created_at.as_secs())
        .bind(client.updated_at.as_secs())
        .bind(
            client
                .selected_profiles
                .as_ref()
                .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
                .map(|list| format!("[{list}]")),
        )
        .bind(client.default_profile)
        .bind(client.email.as_deref())
        .bind(client.mobile.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The client, if stored.
    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, sam_access, authorisation_certificate, created_at, updated_at,
                 selected_profiles, default_profile, email, mobile
             FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let access: i64 = row.try_get(1)?;
            let selected: Option<String> = row.try_get(5)?;
            let selected_profiles = selected.map(|text| parse_ids(&text)).transpose()?;
            Ok(ClientRecord {
                client_id: row.try_get(0)?,
                sam_access: access != 0,
                authorisation_certificate: row.try_get(2)?,
                created_at: time(row.try_get(3)?)?,
                updated_at: time(row.try_get(4)?)?,
                selected_profiles,
                default_profile: row.try_get(6)?,
                email: row.try_get(7)?,
                mobile: row.try_get(8)?,
            })
        })
        .transpose()
    }
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
