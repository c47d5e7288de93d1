//! SAM profiles kept in the store, so that every `samd` node on one database serves the same
//! catalogue: each profile is stored as its `sam_profile::document` JSON (id, creation time,
//! settings), and a service is built from what the store holds.
//!
//! The admin functions (create, edit, copy, activate/deactivate) change the store first and
//! then the catalogue this node serves; another node picks the change up with
//! [`Service::reload_profiles`] (`samd` reloads on a timer). Ids are assigned through the
//! store, so two nodes creating profiles at once never give two profiles one id.

use crate::ErrorCode;
use std::sync::Arc;

use sam_algorithms::UnixTime;
use sam_profile::{
    CryptoSourceDescriptor, Description, ProfileCatalogue, ProfileError, ProfileId, ProfileName,
    ProfileQuery, ProfileSettings, ProfileStatus, SadFormat, SamProfile, SortKey, SortOrder,
    ValidationContext,
};
use sam_store::{ProfileRecord, Store};
use sam_token::Clock;

use crate::service::{Service, ServiceSettings};
use crate::{OtherAction, ServiceError};

/// Stores `profile` (creating or replacing it), at `now`.
pub async fn store_profile(
    store: &Store,
    profile: &SamProfile,
    now: UnixTime,
) -> Result<(), ServiceError> {
    store.put_profile(&record(profile, now)?).await?;
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
    pub fn profiles(&self) -> Arc<ProfileCatalogue> {
        self.catalogue()
    }
}

/// What profile validation needs to know of this deployment (seed 001): the configured
/// crypto sources, the global SAD format, and whether eSeals are enabled.
#[derive(Clone, Debug)]
pub struct ProfileRules {
    /// Every configured crypto source.
    pub crypto_sources: Vec<CryptoSourceDescriptor>,
    /// The global SAD format.
    pub sad_format: SadFormat,
    /// Whether eSeals (authorisation once until SAD expiry) may be configured.
    pub eseals_enabled: bool,
}

/// How many times a create is tried when other nodes take the next id first (changes on one
/// node are serialised, so each round loses only to another node).
const CREATE_ATTEMPTS: usize = 16;

fn profile_error(e: ProfileError) -> ServiceError {
    match e {
        ProfileError::NotFound(id) => ServiceError::not_found("profile", &id.to_string()),
        ProfileError::NameTaken { .. } => ServiceError::new(ErrorCode::Conflict, e.to_string()),
        other => ServiceError::invalid(other.to_string()),
    }
}

fn store_conflict(e: sam_store::StoreError) -> ServiceError {
    match e {
        sam_store::StoreError::Conflict(message) => ServiceError::new(ErrorCode::Conflict, message),
        other => other.into(),
    }
}

impl Service {
    /// Sets what profile validation needs; without it the admin profile functions answer
    /// `not_configured`.
    pub fn with_profile_rules(mut self, rules: ProfileRules) -> Self {
        self.profile_rules = Some(rules);
        self
    }

    /// The rules, with each source's key specs as its token reports them where the
    /// configuration left them unknown — and only those `sam-keys` can verify, because every
    /// signature is checked in software before it is handed out (`sam_cms::complete`): a
    /// profile asking for keys that could not sign end to end is refused here, not by a Key
    /// Generation or a Sign that fails later.
    fn profile_rules(&self) -> Result<ProfileRules, ServiceError> {
        let mut rules = self.profile_rules.clone().ok_or_else(|| {
            ServiceError::new(
                ErrorCode::NotConfigured,
                "profile administration is not configured on this node",
            )
        })?;
        // What an opened source can do is what its token reports, not what the configuration
        // says: the key specs (those sam can also verify), SHA-3 prehashes, secp256k1 and
        // whether its keys need a KAK.
        let verifiable = sam_keys::software_specs();
        for source in &mut rules.crypto_sources {
            let Some(token) = self.tokens.get(source.name.as_str()) else {
                continue;
            };
            let capabilities = token.capabilities();
            if source.key_specs.is_none() {
                source.key_specs = Some(
                    capabilities
                        .key_specs
                        .iter()
                        .copied()
                        .filter(|spec| verifiable.contains(spec))
                        .collect(),
                );
            }
            source.supports_sha3 = capabilities.sha3_prehash;
            source.supports_secp256k1 = capabilities.supports(sam_algorithms::KeySpec::Ecdsa(
                sam_algorithms::EcCurve::Secp256k1,
            ));
            source.requires_kak = capabilities.needs_kak;
        }
        Ok(rules)
    }

    /// Reads the stored profiles again (changes made through other nodes) and serves them.
    pub async fn reload_profiles(&self) -> Result<(), ServiceError> {
        let catalogue = load_profiles(&self.store).await?;
        self.replace_catalogue(catalogue);
        Ok(())
    }

    /// Creates a profile (seed 001 *Add New SAM Profile*) with the next free id, valid for this
    /// deployment. Every node on the database agrees on ids: the id is taken in the store,
    /// and a node that finds it taken reloads and takes the next.
    pub async fn create_profile(
        &self,
        settings: ProfileSettings,
    ) -> Result<SamProfile, ServiceError> {
        let detail = format!("name={}", settings.name);
        let result = self.insert_new_profile(settings).await;
        self.admin_audited(OtherAction::CreateProfile, detail, result)
            .await
    }

    /// Stores `settings` as a new profile with the next free id (the effect of Create and
    /// of Make a Copy, each audited as itself).
    async fn insert_new_profile(
        &self,
        settings: ProfileSettings,
    ) -> Result<SamProfile, ServiceError> {
        let rules = self.profile_rules()?;
        let _one_change_at_a_time = self.profile_changes.lock().await;
        for _ in 0..CREATE_ATTEMPTS {
            let mut catalogue = load_profiles(&self.store).await?;
            let ctx = ValidationContext {
                crypto_sources: &rules.crypto_sources,
                sad_format: rules.sad_format,
                eseals_enabled: rules.eseals_enabled,
                now: self.now(),
            };
            let id = catalogue
                .create(settings.clone(), &ctx)
                .map_err(profile_error)?;
            let profile = catalogue.profile(id).map_err(profile_error)?.clone();
            if self
                .store
                .insert_profile(&record(&profile, self.now())?)
                .await
                .map_err(store_conflict)?
            {
                self.replace_catalogue(catalogue);
                return Ok(profile);
            }
        }
        Err(ServiceError::new(
            ErrorCode::Conflict,
            "other nodes kept taking the next profile id; try again",
        ))
    }

    /// Replaces profile `id`'s settings (seed 001 *Edit*); nothing changes if they are
    /// invalid.
    pub async fn edit_profile(
        &self,
        id: u32,
        settings: ProfileSettings,
    ) -> Result<SamProfile, ServiceError> {
        let result = async {
            let rules = self.profile_rules()?;
            let id = profile_id(id)?;
            self.change_profile(|catalogue, now| {
                let ctx = ValidationContext {
                    crypto_sources: &rules.crypto_sources,
                    sad_format: rules.sad_format,
                    eseals_enabled: rules.eseals_enabled,
                    now,
                };
                catalogue.edit(id, settings, &ctx).map(|()| id)
            })
            .await
        }
        .await;
        self.admin_audited(OtherAction::EditProfile, format!("profile={id}"), result)
            .await
    }

    /// Activates or deactivates profile `id`.
    pub async fn set_profile_status(
        &self,
        id: u32,
        status: ProfileStatus,
    ) -> Result<SamProfile, ServiceError> {
        let result = async {
            let id = profile_id(id)?;
            self.change_profile(|catalogue, _| catalogue.set_status(id, status).map(|()| id))
                .await
        }
        .await;
        self.admin_audited(
            OtherAction::SetProfileStatus,
            format!("profile={id} status={status:?}"),
            result,
        )
        .await
    }

    /// *Make a Copy*: a new profile with profile `id`'s settings under a new name and
    /// description.
    pub async fn copy_profile(
        &self,
        id: u32,
        name: ProfileName,
        description: Description,
    ) -> Result<SamProfile, ServiceError> {
        let detail = format!("profile={id} name={name}");
        let result = async {
            let pid = profile_id(id)?;
            let copy = self.catalogue().make_copy(pid).map_err(profile_error)?;
            self.insert_new_profile(copy.named(name, description)).await
        }
        .await;
        self.admin_audited(OtherAction::CopyProfile, detail, result)
            .await
    }

    /// Applies `change` to the stored catalogue and stores the profile it names.
    async fn change_profile(
        &self,
        change: impl FnOnce(&mut ProfileCatalogue, UnixTime) -> Result<ProfileId, ProfileError>,
    ) -> Result<SamProfile, ServiceError> {
        let _one_change_at_a_time = self.profile_changes.lock().await;
        let mut catalogue = load_profiles(&self.store).await?;
        let now = self.now();
        let id = change(&mut catalogue, now).map_err(profile_error)?;
        let profile = catalogue.profile(id).map_err(profile_error)?.clone();
        self.store
            .put_profile(&record(&profile, now)?)
            .await
            .map_err(store_conflict)?;
        self.replace_catalogue(catalogue);
        Ok(profile)
    }

    /// Profile `id`, active or not.
    pub fn profile(&self, id: u32) -> Result<SamProfile, ServiceError> {
        self.catalogue()
            .profile(profile_id(id)?)
            .cloned()
            .map_err(profile_error)
    }

    /// A page of the profile table, sorted (seed 001's profile table): at most `limit` (1 to
    /// 1000) profiles after the profile `after` in that order.
    pub fn sorted_profiles(
        &self,
        key: SortKey,
        order: SortOrder,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ProfilesPage, ServiceError> {
        let catalogue = self.catalogue();
        profile_page(catalogue.sorted(key, order), after, limit)
    }

    /// Seed 001's *Advanced Search*: a page of at most `limit` (1 to 1000) matches, in id
    /// order, after the profile `after`.
    pub fn search_profiles(
        &self,
        query: &ProfileQuery,
        after: Option<&str>,
        limit: i64,
    ) -> Result<ProfilesPage, ServiceError> {
        let catalogue = self.catalogue();
        profile_page(
            catalogue.search(query).map_err(profile_error)?,
            after,
            limit,
        )
    }
}

/// One page of the profile table or of a search.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProfilesPage {
    /// The profiles.
    pub profiles: Vec<SamProfile>,
    /// The profile id to pass as `after` for the next page, when there may be one.
    pub next: Option<String>,
}

/// The page of `all` (in their order) after the profile whose id is `after`.
fn profile_page(
    all: Vec<&SamProfile>,
    after: Option<&str>,
    limit: i64,
) -> Result<ProfilesPage, ServiceError> {
    let limit = crate::paging::checked_limit(limit)?;
    let start = match after {
        None => 0,
        Some(cursor) => {
            let id: u32 = cursor.parse().map_err(|_| {
                ServiceError::invalid(format!("after: {cursor:?} is not a profile id"))
            })?;
            all.iter()
                .position(|p| p.id().get() == id)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    ServiceError::invalid(format!("after: profile {id} is not in this list"))
                })?
        }
    };
    let profiles: Vec<SamProfile> = all
        .into_iter()
        .skip(start)
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let next = crate::paging::next_cursor(&profiles, limit, |p| p.id().get().to_string());
    Ok(ProfilesPage { profiles, next })
}

fn profile_id(id: u32) -> Result<ProfileId, ServiceError> {
    ProfileId::new(id).map_err(|_| ServiceError::not_found("profile", &id.to_string()))
}

fn record(profile: &SamProfile, now: UnixTime) -> Result<ProfileRecord, ServiceError> {
    Ok(ProfileRecord {
        profile_id: i64::from(profile.id().get()),
        name: profile.name().to_string(),
        settings: sam_profile::document::to_json(profile)
            .map_err(|e| ServiceError::internal(format!("profile {}: {e}", profile.id())))?,
        created_at: profile.created_at(),
        updated_at: now,
    })
}
