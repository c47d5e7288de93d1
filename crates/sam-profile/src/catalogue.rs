//! The catalogue of SAM profiles (seed 001): create, edit, make a copy, activate and
//! deactivate, sort, and advanced search.
//!
//! Ids are assigned in increasing order and never reused, even after a profile is gone from
//! a catalogue: keys, audit records and clients refer to profiles by id, and a reused id
//! would silently point them at another profile. Names are unique ignoring case, so that
//! "eSeal" and "ESEAL" cannot both appear in an operator's list.

use core::cmp::Ordering;
use std::collections::BTreeMap;

use sam_algorithms::{KeyAlgorithm, MlDsaLevel, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::ProfileError;
use crate::names::{CryptoSourceName, Description, ProfileId, ProfileName};
use crate::settings::{
    AuthorisationKeySettings, DelegatedIdp, ProfileSettings, ProfileStatus, SigningKeySettings,
};
use crate::validation::ValidationContext;

/// A profile in the catalogue: its settings with the id and creation time the catalogue
/// assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamProfile {
    id: ProfileId,
    created_at: UnixTime,
    settings: ProfileSettings,
}

impl SamProfile {
    /// The system-assigned id.
    pub fn id(&self) -> ProfileId {
        self.id
    }

    /// When the profile was created.
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }

    /// The settings.
    pub fn settings(&self) -> &ProfileSettings {
        &self.settings
    }

    /// The name.
    pub fn name(&self) -> &ProfileName {
        &self.settings.name
    }

    /// The status.
    pub fn status(&self) -> ProfileStatus {
        self.settings.status
    }

    /// Refuses an inactive profile: seed 001 says it is not used to process requests.
    pub fn ensure_active(&self) -> Result<&Self, ProfileError> {
        match self.settings.status {
            ProfileStatus::Active => Ok(self),
            ProfileStatus::Inactive => Err(ProfileError::Inactive(self.id)),
        }
    }
}

/// A copy of a profile made by *Make a Copy*: every setting but the name and description,
/// which the operator gives before the copy becomes a profile with the next id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileCopy {
    source: ProfileId,
    status: ProfileStatus,
    signing_key: SigningKeySettings,
    authorisation_key: AuthorisationKeySettings,
    delegated_idp: Option<DelegatedIdp>,
}

impl ProfileCopy {
    /// The profile this was copied from.
    pub fn source(&self) -> ProfileId {
        self.source
    }

    /// The copied settings under a new name and description.
    pub fn named(self, name: ProfileName, description: Description) -> ProfileSettings {
        ProfileSettings {
            name,
            description,
            status: self.status,
            signing_key: self.signing_key,
            authorisation_key: self.authorisation_key,
            delegated_idp: self.delegated_idp,
        }
    }
}

/// The columns the profile table sorts by (seed 001).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SortKey {
    /// SAM Profile ID.
    Id,
    /// SAM Profile Name, ignoring case.
    Name,
    /// Created At.
    CreatedAt,
    /// Status (active before inactive, ascending).
    Status,
}

/// Ascending or descending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// Seed 001's *Advanced Search*: every field given must match; none given matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileQuery {
    /// Active or inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProfileStatus>,
    /// Exactly this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ProfileId>,
    /// Names containing this text, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User keys of this algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<KeyAlgorithm>,
    /// User keys of this length in bits (RSA modulus or curve size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_length: Option<u32>,
    /// ML-DSA security level (2, 3, 5); only together with `key_algorithm` ML-DSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_level: Option<u8>,
    /// Profiles that use this crypto profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto_profile: Option<CryptoSourceName>,
}

/// The longest name fragment a search accepts, in characters.
pub const MAX_QUERY_NAME_CHARS: usize = 128;

impl ProfileQuery {
    /// Checks the combination of fields, as the search screen does, and returns the ML-DSA
    /// level asked for, if any.
    fn check(&self) -> Result<Option<MlDsaLevel>, ProfileError> {
        if self
            .name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_QUERY_NAME_CHARS)
        {
            return Err(ProfileError::Query(format!(
                "name is longer than {MAX_QUERY_NAME_CHARS} characters"
            )));
        }
        if self.key_algorithm == Some(KeyAlgorithm::MlDsa) && self.key_length.is_some() {
            return Err(ProfileError::Query(
                "ML-DSA keys have a security_level, not a key_length".into(),
            ));
        }
        match self.security_level {
            None => Ok(None),
            Some(_) if self.key_algorithm != Some(KeyAlgorithm::MlDsa) => Err(ProfileError::Query(
                "security_level is only available with key_algorithm ml-dsa".into(),
            )),
            Some(level) => MlDsaLevel::from_level(u32::from(level))
                .map(Some)
                .map_err(|e| ProfileError::Query(e.to_string())),
        }
    }

    fn matches(&self, p: &SamProfile, level: Option<MlDsaLevel>) -> bool {
        let key = p.settings.signing_key.key;
        self.status.is_none_or(|s| p.status() == s)
            && self.id.is_none_or(|id| p.id == id)
            && self.name.as_ref().is_none_or(|n| {
                p.name()
                    .as_str()
                    .to_lowercase()
                    .contains(&n.trim().to_lowercase())
            })
            && self.key_algorithm.is_none_or(|a| key.algorithm() == a)
            && self.key_length.is_none_or(|l| key.key_length() == Some(l))
            && level.is_none_or(|l| key.security_level() == Some(l))
            && self
                .crypto_profile
                .as_ref()
                .is_none_or(|c| p.settings.signing_key.crypto_profiles.contains(c))
    }
}

/// Sorts profiles by `key` in `order`; ties keep id order, so the result is deterministic.
pub fn sort_profiles(profiles: &mut [&SamProfile], key: SortKey, order: SortOrder) {
    profiles.sort_by(|a, b| {
        let primary = match key {
            SortKey::Id => Ordering::Equal,
            SortKey::Name => a
                .name()
                .as_str()
                .to_lowercase()
                .cmp(&b.name().as_str().to_lowercase()),
            SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
            SortKey::Status => a.status().cmp(&b.status()),
        };
        let ordering = primary.then(a.id.cmp(&b.id));
        match order {
            SortOrder::Ascending => ordering,
            SortOrder::Descending => ordering.reverse(),
        }
    });
}

/// The SAM profiles of one `sam` instance.
///
/// ```
/// use sam_profile::{
///     CryptoSourceDescriptor, ProfileCatalogue, ProfileSettings, SadFormat, SortKey, SortOrder,
///     ValidationContext,
/// };
///
/// let sources = [CryptoSourceDescriptor::software("software".parse()?)];
/// let ctx = ValidationContext {
///     crypto_sources: &sources,
///     sad_format: SadFormat::Json,
///     eseals_enabled: false,
///     now: "2026-11-22T00:00:00Z".parse()?,
/// };
/// let mut catalogue = ProfileCatalogue::new();
/// let rsa = catalogue.create(
///     ProfileSettings::with_defaults("RSA signatures".parse()?, "software".parse()?),
///     &ctx,
/// )?;
/// let copy = catalogue.make_copy(rsa)?.named("Another".parse()?, Default::default());
/// let another = catalogue.create(copy, &ctx)?;
/// assert_eq!(another.get(), rsa.get() + 1);
///
/// let by_name: Vec<_> = catalogue
///     .sorted(SortKey::Name, SortOrder::Ascending)
///     .iter()
///     .map(|p| p.name().to_string())
///     .collect();
/// assert_eq!(by_name, ["Another", "RSA signatures"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ProfileCatalogue {
    profiles: BTreeMap<ProfileId, SamProfile>,
    /// The largest id ever assigned; the next profile gets the one after it.
    last_assigned: Option<ProfileId>,
}

impl ProfileCatalogue {
    /// An empty catalogue; the first profile gets id 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// A catalogue of stored profiles, assigning new ids after `last_assigned` (the largest id
    /// ever assigned, which a store keeps so that ids of removed profiles are not reused) or
    /// after the largest loaded id, whichever is larger. Refuses duplicate ids and names.
    pub fn from_profiles(
        profiles: impl IntoIterator<Item = SamProfile>,
        last_assigned: Option<ProfileId>,
    ) -> Result<Self, ProfileError> {
        let mut catalogue = Self {
            profiles: BTreeMap::new(),
            last_assigned,
        };
        for profile in profiles {
            if catalogue.profiles.contains_key(&profile.id) {
                return Err(ProfileError::DuplicateId(profile.id));
            }
            catalogue.ensure_name_free(&profile.settings.name, None)?;
            catalogue.last_assigned = catalogue.last_assigned.max(Some(profile.id));
            catalogue.profiles.insert(profile.id, profile);
        }
        Ok(catalogue)
    }

    /// The largest id ever assigned (for a store to keep, so that ids are never reused).
    pub fn last_assigned(&self) -> Option<ProfileId> {
        self.last_assigned
    }

    /// The number of profiles.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The profiles in id order.
    pub fn iter(&self) -> impl Iterator<Item = &SamProfile> {
        self.profiles.values()
    }

    /// The profile with `id`.
    pub fn profile(&self, id: ProfileId) -> Result<&SamProfile, ProfileError> {
        self.profiles.get(&id).ok_or(ProfileError::NotFound(id))
    }

    /// The profile with `id`, refusing it if inactive: what a request uses.
    pub fn active_profile(&self, id: ProfileId) -> Result<&SamProfile, ProfileError> {
        self.profile(id)?.ensure_active()
    }

    /// The profile named `name`, ignoring case.
    pub fn by_name(&self, name: &str) -> Option<&SamProfile> {
        let wanted = name.to_lowercase();
        self.iter()
            .find(|p| p.name().as_str().to_lowercase() == wanted)
    }

    fn ensure_name_free(
        &self,
        name: &ProfileName,
        except: Option<ProfileId>,
    ) -> Result<(), ProfileError> {
        match self.by_name(name.as_str()) {
            Some(existing) if Some(existing.id) != except => Err(ProfileError::NameTaken {
                name: name.to_string(),
                existing: existing.id,
            }),
            _ => Ok(()),
        }
    }

    /// Validates `settings` and adds them as a new profile with the next id, created at
    /// `ctx.now`.
    pub fn create(
        &mut self,
        settings: ProfileSettings,
        ctx: &ValidationContext<'_>,
    ) -> Result<ProfileId, ProfileError> {
        settings
            .validate(ctx)
            .map_err(|errors| ProfileError::Invalid {
                profile: None,
                errors,
            })?;
        self.ensure_name_free(&settings.name, None)?;
        let id = match self.last_assigned {
            None => ProfileId::FIRST,
            Some(last) => last.next().ok_or(ProfileError::IdsExhausted)?,
        };
        self.last_assigned = Some(id);
        self.profiles.insert(
            id,
            SamProfile {
                id,
                created_at: ctx.now,
                settings,
            },
        );
        Ok(id)
    }

    /// Validates `settings` and replaces profile `id`'s settings with them; the id and creation
    /// time stay. Nothing changes if they are invalid.
    pub fn edit(
        &mut self,
        id: ProfileId,
        settings: ProfileSettings,
        ctx: &ValidationContext<'_>,
    ) -> Result<(), ProfileError> {
        self.profile(id)?;
        settings
            .validate(ctx)
            .map_err(|errors| ProfileError::Invalid {
                profile: Some(id),
                errors,
            })?;
        self.ensure_name_free(&settings.name, Some(id))?;
        if let Some(profile) = self.profiles.get_mut(&id) {
            profile.settings = settings;
        }
        Ok(())
    }

    /// *Make a Copy*: profile `id`'s settings without its name and description.
    pub fn make_copy(&self, id: ProfileId) -> Result<ProfileCopy, ProfileError> {
        let s = &self.profile(id)?.settings;
        Ok(ProfileCopy {
            source: id,
            status: s.status,
            signing_key: s.signing_key.clone(),
            authorisation_key: s.authorisation_key.clone(),
            delegated_idp: s.delegated_idp.clone(),
        })
    }

    /// Activates or deactivates profile `id`.
    pub fn set_status(&mut self, id: ProfileId, status: ProfileStatus) -> Result<(), ProfileError> {
        let profile = self
            .profiles
            .get_mut(&id)
            .ok_or(ProfileError::NotFound(id))?;
        profile.settings.status = status;
        Ok(())
    }

    /// Every profile, sorted by `key` in `order` (ties in id order).
    pub fn sorted(&self, key: SortKey, order: SortOrder) -> Vec<&SamProfile> {
        let mut profiles: Vec<_> = self.iter().collect();
        sort_profiles(&mut profiles, key, order);
        profiles
    }

    /// The profiles matching every field of `query`, in id order.
    pub fn search(&self, query: &ProfileQuery) -> Result<Vec<&SamProfile>, ProfileError> {
        let level = query.check()?;
        Ok(self.iter().filter(|p| query.matches(p, level)).collect())
    }
}
