//! A user's registered authorisation devices (seed 002: Register/Get/Delete Device, Get
//! Devices). The profile's maximum number of devices holds under concurrency: adding takes
//! the user's row lock first.

use sqlx::Row;
use sqlx::any::AnyRow;

use sam_algorithms::UnixTime;

use crate::tx::Tx;
use crate::users::time;
use crate::{Store, StoreError};

/// A device as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDevice {
    /// The device's id.
    pub device_id: String,
    /// The client.
    pub client_id: String,
    /// The user it authorises for.
    pub user_id: String,
    /// Its authorisation public key (DER SubjectPublicKeyInfo).
    pub public_key: Vec<u8>,
    /// The signature algorithm it signs SADs with (JOSE name).
    pub algorithm: String,
    /// Whether the key is unlocked by biometrics.
    pub biometric: bool,
    /// Whether the key is held in a secure element.
    pub secure_element: bool,
    /// When.
    pub created_at: UnixTime,
}

/// The outcome of adding a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAdd {
    /// Added.
    Added,
    /// The client has no such user.
    UnknownUser,
    /// The user already has the maximum number of devices.
    LimitReached,
    /// A device with this id exists.
    DuplicateId,
}

const DEVICE_COLUMNS: &str =
    "device_id, client_id, user_id, public_key, algorithm, biometric, secure_element, created_at";

fn device_from(row: &AnyRow) -> Result<StoredDevice, StoreError> {
    let biometric: i64 = row.try_get(5)?;
    let secure_element: i64 = row.try_get(6)?;
    Ok(StoredDevice {
        device_id: row.try_get(0)?,
        client_id: row.try_get(1)?,
        user_id: row.try_get(2)?,
        public_key: row.try_get(3)?,
        algorithm: row.try_get(4)?,
        biometric: biometric != 0,
        secure_element: secure_element != 0,
        created_at: time(row.try_get(7)?)?,
    })
}

impl Store {
    /// Adds a device if the user has fewer than `max_devices`.
    pub async fn add_device(
        &self,
        device: &StoredDevice,
        max_devices: i64,
    ) -> Result<DeviceAdd, StoreError> {
        let mut tx = Tx::begin(self).await?;
        // The conditional write first: it locks the user's row, so two registrations of one
        // user are ordered and the count below is exact.
        let user = sqlx::query(
            "UPDATE users SET device_changes = device_changes + 1
             WHERE client_id = $1 AND user_id = $2 RETURNING device_changes",
        )
        .bind(&device.client_id)
        .bind(&device.user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if user.is_none() {
            tx.rollback().await?;
            return Ok(DeviceAdd::UnknownUser);
        }
        let count: i64 = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM devices WHERE client_id = $1 AND user_id = $2",
        )
        .bind(&device.client_id)
        .bind(&device.user_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if count >= max_devices {
            tx.rollback().await?;
            return Ok(DeviceAdd::LimitReached);
        }
        let inserted = sqlx::query(
            "INSERT INTO devices (device_id, client_id, user_id, public_key, algorithm, biometric,
                 secure_element, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (client_id, device_id) DO NOTHING",
        )
        .bind(&device.device_id)
        .bind(&device.client_id)
        .bind(&device.user_id)
        .bind(&device.public_key)
        .bind(&device.algorithm)
        .bind(i64::from(device.biometric))
        .bind(i64::from(device.secure_element))
        .bind(device.created_at.as_secs())
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(DeviceAdd::DuplicateId);
        }
        tx.commit().await?;
        Ok(DeviceAdd::Added)
    }

    /// The device, if it belongs to one of the client's users.
    pub async fn device(
        &self,
        client_id: &str,
        device_id: &str,
    ) -> Result<Option<StoredDevice>, StoreError> {
        let sql =
            format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE client_id = $1 AND device_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(device_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(device_from)
            .transpose()
    }

    /// Up to `limit` of the user's devices after the device id `after`, in id order (Get
    /// Devices).
    pub async fn devices(
        &self,
        client_id: &str,
        user_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredDevice>, StoreError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM devices
             WHERE client_id = $1 AND user_id = $2 AND device_id > $3
             ORDER BY device_id LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(user_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(device_from)
            .collect()
    }

    /// Deletes the device; `false` if the client has no such device.
    pub async fn delete_device(
        &self,
        client_id: &str,
        device_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM devices WHERE client_id = $1 AND device_id = $2")
            .bind(client_id)
            .bind(device_id)
            .execute(self.pool()?)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
