//! Users of a client (seed 002: Register/Get/Update/Delete User, Get Users, passwords,
//! authentication lock-out). Every query names the client: another client's user is not
//! found.

use sqlx::Row;
use sqlx::any::AnyRow;

use sam_algorithms::UnixTime;

use crate::{Store, StoreError};

/// A user as registered. Its `Debug` does not show the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The client (business application) the user belongs to.
    pub client_id: String,
    /// The user's id, unique within the client.
    pub user_id: String,
    /// E-mail address, or empty.
    pub email: String,
    /// Mobile number, or empty.
    pub mobile: String,
    /// The password as a PHC string (Argon2id, made by the service), or empty.
    pub password_hash: String,
    /// When.
    pub created_at: UnixTime,
}

impl core::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewUser")
            .field("client_id", &self.client_id)
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("mobile", &self.mobile)
            .field(
                "password_hash",
                &(!self.password_hash.is_empty()).then_some("<redacted>"),
            )
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// What was registered (and updated since).
    pub user: NewUser,
    /// Failed authentications since the last success.
    pub failed_attempts: i64,
    /// Locked until this time (exclusive), if locked.
    pub locked_until: Option<UnixTime>,
}

const USER_COLUMNS: &str =
    "client_id, user_id, email, mobile, password_hash, failed_attempts, locked_until, created_at";

pub(crate) fn time(secs: i64) -> Result<UnixTime, StoreError> {
    UnixTime::from_secs(secs)
        .ok_or_else(|| StoreError::Corrupt(format!("time {secs} out of range")))
}

fn user_from(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let locked_until: i64 = row.try_get(6)?;
    Ok(UserRecord {
        user: NewUser {
            client_id: row.try_get(0)?,
            user_id: row.try_get(1)?,
            email: row.try_get(2)?,
            mobile: row.try_get(3)?,
            password_hash: row.try_get(4)?,
            created_at: time(row.try_get(7)?)?,
        },
        failed_attempts: row.try_get(5)?,
        locked_until: if locked_until == 0 {
            None
        } else {
            Some(time(locked_until)?)
        },
    })
}

impl Store {
    /// Registers a user; an existing id of the same client is a `Conflict`.
    pub async fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO users (client_id, user_id, email, mobile, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (client_id, user_id) DO NOTHING",
        )
        .bind(&user.client_id)
        .bind(&user.user_id)
        .bind(&user.email)
        .bind(&user.mobile)
        .bind(&user.password_hash)
        .bind(user.created_at.as_secs())
        .execute(self.pool()?)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "user {} exists",
                user.user_id
            )));
        }
        Ok(())
    }

    /// The user, if the client has it.
    pub async fn user(
        &self,
        client_id: &str,
        user_id: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE client_id = $1 AND user_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(user_id)
            .fetch_optional(self.reader()?)
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }

    /// Up to `limit` users of the client in id order, after `after` (keyset paging).
    pub async fn users(
        &self,
        client_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE client_id = $1 AND user_id > $2
             ORDER BY user_id LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.reader()?)
            .await?
            .iter()
            .map(user_from)
            .collect()
    }

    /// Changes e-mail and/or mobile; `false` if the client has no such user.
    pub async fn update_user_contact(
        &self,
        client_id: &str,
        user_id: &str,
        email: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET email = COALESCE($3, email), mobile = COALESCE($4, mobile)
             WHERE client_id = $1 AND user_id = $2",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(email)
        .bind(mobile)
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the password hash and clears the lock-out; `false` if there is no such user.
    pub async fn set_password_hash(
        &self,
        client_id: &str,
        user_id: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $3, failed_attempts = 0, locked_until = 0
             WHERE client_id = $1 AND user_id = $2",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(password_hash)
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the user with their devices, keys and certificates; `false` if there was none.
    /// (Deleting keys in their tokens is the service's job, before this.)
    pub async fn delete_user(&self, client_id: &str, user_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE client_id = $1 AND user_id = $2")
            .bind(client_id)
            .bind(user_id)
            .execute(self.pool()?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a failed authentication atomically; from the `max_attempts`-th in a row the
    /// user is locked for `lock_secs` from `now`. Returns the attempts and the lock, or `None`
    /// for an unknown user.
    pub async fn record_failed_authentication(
        &self,
        client_id: &str,
        user_id: &str,
        now: UnixTime,
        max_attempts: i64,
        lock_secs: i64,
    ) -> Result<Option<(i64, Option<UnixTime>)>, StoreError> {
        let row = sqlx::query(
            "UPDATE users SET failed_attempts = failed_attempts + 1,
                 locked_until = CASE WHEN failed_attempts + 1 >= $3 THEN $4 ELSE locked_until END
             WHERE client_id = $1 AND user_id = $2
             RETURNING failed_attempts, locked_until",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(max_attempts)
        .bind(now.as_secs().saturating_add(lock_secs))
        .fetch_optional(self.pool()?)
        .await?;
        row.map(|row| {
            let attempts: i64 = row.try_get(0)?;
            let until: i64 = row.try_get(1)?;
            Ok((attempts, if until == 0 { None } else { Some(time(until)?) }))
        })
        .transpose()
    }

    /// Clears the failed-authentication count after a success.
    pub async fn reset_failed_authentications(
        &self,
        client_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET failed_attempts = 0, locked_until = 0
             WHERE client_id = $1 AND user_id = $2",
        )
        .bind(client_id)
        .bind(user_id)
        .execute(self.pool()?)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
