//! SAM profiles as stored documents: each profile's JSON document (id, creation time and
//! settings, as `sam_profile::document` writes it) under its id, so that every `samd` node on
//! one database serves the same catalogue. The store does not interpret the document
//! (`sam-profile` parses and validates it); it keeps ids and names unique. Profiles are never
//! deleted (seed 001 deactivates them), so ids are never reused.

use sqlx::Row;

use sam_algorithms::UnixTime;

use crate::users::time;
use crate::{Store, StoreError};

/// A stored profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileRecord {
    /// The profile id (seed 001 *Profile ID*).
    pub profile_id: i64,
    /// The unique name.
    pub name: String,
    /// The profile document (JSON, as `sam_profile::document::to_json` writes it).
    pub settings: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last changed.
    pub updated_at: UnixTime,
}

/// A unique violation on a profile write is its name (the id is handled by each statement).
fn name_taken(e: sqlx::Error, name: &str) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(format!("a profile named {name:?} exists"))
        }
        other => other.into(),
    }
}

impl Store {
    /// Creates the profile or replaces its name and settings (keeping `created_at`). A name
    /// another profile has is a `Conflict`.
    pub async fn put_profile(&self, profile: &ProfileRecord) -> Result<(), StoreError> {
        let taken =
            sqlx::query("SELECT profile_id FROM profiles WHERE name = $1 AND profile_id <> $2")
                .bind(&profile.name)
                .bind(profile.profile_id)
                .fetch_optional(self.reader()?)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a profile named {:?} exists",
                profile.name
            )));
        }
        sqlx::query(
            "INSERT INTO profiles (profile_id, name, settings, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (profile_id) DO UPDATE SET name = excluded.name,
                 settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(profile.profile_id)
        .bind(&profile.name)
        .bind(&profile.settings)
        .bind(profile.created_at.as_secs())
        .bind(profile.updated_at.as_secs())
        .execute(self.pool()?)
        .await
        .map_err(|e| name_taken(e, &profile.name))?;
        Ok(())
    }

    /// Creates a new profile; `Ok(false)` if its id is taken (another node created a profile
    /// with that id first: reload and try the next), a `Conflict` if its name is.
    pub async fn insert_profile(&self, profile: &ProfileRecord) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO profiles (profile_id, name, settings, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (profile_id) DO NOTHING",
        )
        .bind(profile.profile_id)
        .bind(&profile.name)
        .bind(&profile.settings)
        .bind(profile.created_at.as_secs())
        .bind(profile.updated_at.as_secs())
        .execute(self.pool()?)
        .await
        .map_err(|e| name_taken(e, &profile.name))?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Every stored profile, by id.
    pub async fn profiles(&self) -> Result<Vec<ProfileRecord>, StoreError> {
        sqlx::query(
            "SELECT profile_id, name, settings, created_at, updated_at FROM profiles
             ORDER BY profile_id",
        )
        .fetch_all(self.reader()?)
        .await?
        .iter()
        .map(|row| {
            Ok(ProfileRecord {
                profile_id: row.try_get(0)?,
                name: row.try_get(1)?,
                settings: row.try_get(2)?,
                created_at: time(row.try_get(3)?)?,
                updated_at: time(row.try_get(4)?)?,
            })
        })
        .collect()
    }
}
