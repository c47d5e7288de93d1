//! SAM profiles kept in the store, so that every `samd` node on one database serves the same
//! catalogue: each profile is stored as its `sam_profile::document` JSON (id, creation time,
//! settings), and a service is built from what the store holds.
//!
//! The catalogue a [`Service`] holds is fixed when it is built; a node picks up profiles
//! created or edited through another node when it is rebuilt (the admin API of `samd` does
//! that after a change).

use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_profile::{ProfileCatalogue, SamProfile};
use sam_store::{ProfileRecord, Store};
use sam_token::Clock;

use crate::ServiceError;
use crate::service::{Service, ServiceSettings};

/// Stores `profile` (creating or replacing it), at `now`.
pub async fn store_profile(
    store: &Store,
    profile: &SamProfile,
    now: UnixTime,
) -> Result<(), ServiceError> {
    let document = sam_profile::document::to_json(profile)
        .map_err(|e| ServiceError::internal(format!("profile {}: {e}", profile.id())))?;
    store
        .put_profile(&ProfileRecord {
            profile_id: i64::from(profile.id().get()),
            name: profile.name().to_string(),
            settings: document,
            created_at: profile.created_at(),
            updated_at: now,
        })
        .await?;
    Ok(())
}

/// The catalogue of every stored profile. A document that no longer reads (edited by hand,
/// written by a newer version) is an error naming the profile, not a silently missing one.
pub async fn load_profiles(store: &Store) -> Result<ProfileCatalogue, ServiceError> {
    let mut profiles = Vec::new();
    for record in store.profiles().await? {
        let profile: SamProfile =
            sam_profile::document::from_json(&record.settings).map_err(|e| {
                ServiceError::internal(format!("stored profile {}: {e}", record.profile_id))
            })?;
        if i64::from(profile.id().get()) != record.profile_id {
            return Err(ServiceError::internal(format!(
                "stored profile {} holds the document of profile {}",
                record.profile_id,
                profile.id()
            )));
        }
        profiles.push(profile);
    }
    ProfileCatalogue::from_profiles(profiles, None)
        .map_err(|e| ServiceError::internal(format!("stored profiles: {e}")))
}

impl Service {
    /// A service over `store` serving the profiles stored in it.
    pub async fn from_store(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
    ) -> Result<Self, ServiceError> {
        let profiles = load_profiles(&store).await?;
        Ok(Self::new(store, profiles, clock, settings))
    }

    /// The profiles this service serves.
    pub fn profiles(&self) -> &ProfileCatalogue {
        &self.profiles
    }
}
