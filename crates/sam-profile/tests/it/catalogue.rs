//! The catalogue: create, edit, copy, activate/deactivate, sort, search.

use sam_algorithms::{KeyAlgorithm, KeySpec, MlDsaLevel, RsaKeySize, UnixTime};
use sam_profile::{
    Description, ProfileCatalogue, ProfileError, ProfileId, ProfileQuery, ProfileSettings,
    ProfileStatus, SortKey, SortOrder,
};

use crate::fixtures::{Env, base};

fn named(name: &str) -> ProfileSettings {
    let mut s = base();
    s.name = name.parse().unwrap();
    s
}

fn ids(profiles: &[&sam_profile::SamProfile]) -> Vec<u32> {
    profiles.iter().map(|p| p.id().get()).collect()
}

/// Four profiles created a minute apart: 1 "Zeta" RSA-2048, 2 "alpha" ML-DSA-65 (inactive),
/// 3 "Mid" RSA-4096 on hsm-a, 4 "beta" ECDSA P-384.
fn four() -> (ProfileCatalogue, Env) {
    let mut env = Env::json();
    let mut c = ProfileCatalogue::new();
    let mut add = |s: ProfileSettings, env: &mut Env| {
        let id = c.create(s, &env.ctx()).unwrap();
        env.now = env.now.checked_add_secs(60).unwrap();
        id
    };
    add(named("Zeta"), &mut env);
    let mut ml = named("alpha");
    ml.signing_key.key = KeySpec::MlDsa(MlDsaLevel::Level3);
    ml.signing_key.hash_algorithm = sam_algorithms::HashAlgorithm::Sha384;
    ml.status = ProfileStatus::Inactive;
    add(ml, &mut env);
    let mut mid = named("Mid");
    mid.signing_key.key = KeySpec::Rsa(RsaKeySize::Bits4096);
    mid.signing_key.crypto_profiles = vec!["hsm-a".parse().unwrap()];
    add(mid, &mut env);
    let mut beta = named("beta");
    beta.signing_key.key = "ecdsa"
        .parse::<KeyAlgorithm>()
        .map(|a| KeySpec::new(a, None, Some(384), None).unwrap())
        .unwrap();
    add(beta, &mut env);
    (c, env)
}

#[test]
fn create_assigns_increasing_ids_and_the_creation_time() {
    let (c, env) = four();
    assert_eq!(c.len(), 4);
    assert_eq!(ids(&c.iter().collect::<Vec<_>>()), [1, 2, 3, 4]);
    let first = c.profile(ProfileId::FIRST).unwrap();
    assert_eq!(first.created_at(), crate::fixtures::now());
    assert_eq!(
        c.profile(ProfileId::new(4).unwrap()).unwrap().created_at(),
        env.now.checked_add_secs(-60).unwrap()
    );
}

#[test]
fn names_are_unique_ignoring_case() {
    let (mut c, env) = four();
    let err = c.create(named("ZETA"), &env.ctx()).unwrap_err();
    assert_eq!(
        err,
        ProfileError::NameTaken {
            name: "ZETA".into(),
            existing: ProfileId::FIRST
        }
    );
    // Renaming a profile to its own name in another case is fine.
    c.edit(ProfileId::FIRST, named("zeta"), &env.ctx()).unwrap();
    let err = c
        .edit(ProfileId::new(3).unwrap(), named("Beta"), &env.ctx())
        .unwrap_err();
    assert!(matches!(err, ProfileError::NameTaken { .. }), "{err}");
}

#[test]
fn invalid_settings_change_nothing() {
    let (mut c, env) = four();
    let before = c.profile(ProfileId::FIRST).unwrap().clone();
    let mut bad = named("Zeta");
    bad.signing_key.max_hashes_per_request = 3;
    let err = c
        .edit(ProfileId::FIRST, bad.clone(), &env.ctx())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("profile 1: invalid SAM profile: signing_key.max_hashes_per_request"),
        "{err}"
    );
    assert_eq!(c.profile(ProfileId::FIRST).unwrap(), &before);
    bad.name = "New".parse().unwrap();
    assert!(c.create(bad, &env.ctx()).is_err());
    assert_eq!(c.len(), 4);
    let missing = ProfileId::new(99).unwrap();
    assert_eq!(
        c.edit(missing, named("x"), &env.ctx()),
        Err(ProfileError::NotFound(missing))
    );
}

#[test]
fn edit_keeps_id_and_creation_time() {
    let (mut c, env) = four();
    let created = c.profile(ProfileId::FIRST).unwrap().created_at();
    let mut s = named("Zeta renamed");
    s.description = Description::new("now with a description").unwrap();
    c.edit(ProfileId::FIRST, s.clone(), &env.ctx()).unwrap();
    let p = c.profile(ProfileId::FIRST).unwrap();
    assert_eq!(
        (p.id(), p.created_at(), p.settings()),
        (ProfileId::FIRST, created, &s)
    );
}

#[test]
fn copy_drops_name_and_description_and_gets_the_next_id() {
    let (mut c, env) = four();
    let source = ProfileId::new(3).unwrap();
    let mut s = c.profile(source).unwrap().settings().clone();
    s.description = Description::new("HSM keys").unwrap();
    c.edit(source, s, &env.ctx()).unwrap();

    let copy = c.make_copy(source).unwrap();
    assert_eq!(copy.source(), source);
    let settings = copy.named("Mid copy".parse().unwrap(), Description::default());
    assert!(settings.description.is_empty());
    let id = c.create(settings, &env.ctx()).unwrap();
    assert_eq!(id.get(), 5);
    let (orig, dup) = (c.profile(source).unwrap(), c.profile(id).unwrap());
    assert_eq!(orig.settings().signing_key, dup.settings().signing_key);
    assert_eq!(
        orig.settings().authorisation_key,
        dup.settings().authorisation_key
    );
    assert_ne!(orig.name(), dup.name());
    // The copy cannot keep the original's name.
    let again = c
        .make_copy(source)
        .unwrap()
        .named("MID".parse().unwrap(), Description::default());
    assert!(matches!(
        c.create(again, &env.ctx()),
        Err(ProfileError::NameTaken { .. })
    ));
}

#[test]
fn ids_are_never_reused() {
    let (c, env) = four();
    // A store reloads profiles 1 and 2 after 3 and 4 were removed, remembering 4 was assigned.
    let kept: Vec<_> = c.iter().take(2).cloned().collect();
    let mut reloaded = ProfileCatalogue::from_profiles(kept.clone(), c.last_assigned()).unwrap();
    assert_eq!(reloaded.create(named("New"), &env.ctx()).unwrap().get(), 5);
    // Without the memory, the next id still follows the largest loaded one.
    let mut reloaded = ProfileCatalogue::from_profiles(kept.clone(), None).unwrap();
    assert_eq!(reloaded.create(named("New"), &env.ctx()).unwrap().get(), 3);
    let twice = [kept[0].clone(), kept[0].clone()];
    assert_eq!(
        ProfileCatalogue::from_profiles(twice, None).unwrap_err(),
        ProfileError::DuplicateId(ProfileId::FIRST)
    );
    let mut full =
        ProfileCatalogue::from_profiles([], Some(ProfileId::new(u32::MAX).unwrap())).unwrap();
    assert_eq!(
        full.create(named("Last"), &env.ctx()),
        Err(ProfileError::IdsExhausted)
    );
}

#[test]
fn inactive_profiles_are_refused_for_requests() {
    let (mut c, _) = four();
    let alpha = ProfileId::new(2).unwrap();
    assert_eq!(
        c.active_profile(alpha).unwrap_err(),
        ProfileError::Inactive(alpha)
    );
    c.set_status(alpha, ProfileStatus::Active).unwrap();
    assert!(c.active_profile(alpha).is_ok());
    c.set_status(ProfileId::FIRST, ProfileStatus::Inactive)
        .unwrap();
    assert!(c.active_profile(ProfileId::FIRST).is_err());
    assert!(
        c.set_status(ProfileId::new(9).unwrap(), ProfileStatus::Active)
            .is_err()
    );
}

#[test]
fn sort_by_each_column_in_both_orders() {
    let (mut c, _) = four();
    // A later-created profile with an earlier time breaks the id = time correlation.
    let mut env_past = Env::json();
    env_past.now = "2020-01-01T00:00:00Z".parse::<UnixTime>().unwrap();
    c.create(named("Old"), &env_past.ctx()).unwrap();
    use SortKey::*;
    use SortOrder::*;
    assert_eq!(ids(&c.sorted(Id, Ascending)), [1, 2, 3, 4, 5]);
    assert_eq!(ids(&c.sorted(Id, Descending)), [5, 4, 3, 2, 1]);
    // alpha, beta, Mid, Old, Zeta: case-insensitive.
    assert_eq!(ids(&c.sorted(Name, Ascending)), [2, 4, 3, 5, 1]);
    assert_eq!(ids(&c.sorted(Name, Descending)), [1, 5, 3, 4, 2]);
    assert_eq!(ids(&c.sorted(CreatedAt, Ascending)), [5, 1, 2, 3, 4]);
    assert_eq!(ids(&c.sorted(CreatedAt, Descending)), [4, 3, 2, 1, 5]);
    // Active first; ties by id.
    assert_eq!(ids(&c.sorted(Status, Ascending)), [1, 3, 4, 5, 2]);
    assert_eq!(ids(&c.sorted(Status, Descending)), [2, 5, 4, 3, 1]);
}

#[test]
fn advanced_search() {
    let (c, _) = four();
    let search = |q: ProfileQuery| ids(&c.search(&q).unwrap());
    assert_eq!(search(ProfileQuery::default()), [1, 2, 3, 4]);
    assert_eq!(
        search(ProfileQuery {
            status: Some(ProfileStatus::Inactive),
            ..Default::default()
        }),
        [2]
    );
    assert_eq!(
        search(ProfileQuery {
            id: Some(ProfileId::new(3).unwrap()),
            ..Default::default()
        }),
        [3]
    );
    assert_eq!(
        search(ProfileQuery {
            name: Some("ET".into()),
            ..Default::default()
        }),
        [1, 4]
    );
    assert_eq!(
        search(ProfileQuery {
            key_algorithm: Some(KeyAlgorithm::Rsa),
            ..Default::default()
        }),
        [1, 3]
    );
    assert_eq!(
        search(ProfileQuery {
            key_length: Some(384),
            ..Default::default()
        }),
        [4]
    );
    assert_eq!(
        search(ProfileQuery {
            key_algorithm: Some(KeyAlgorithm::Rsa),
            key_length: Some(4096),
            ..Default::default()
        }),
        [3]
    );
    assert_eq!(
        search(ProfileQuery {
            key_algorithm: Some(KeyAlgorithm::MlDsa),
            security_level: Some(3),
            ..Default::default()
        }),
        [2]
    );
    assert!(
        search(ProfileQuery {
            key_algorithm: Some(KeyAlgorithm::MlDsa),
            security_level: Some(5),
            ..Default::default()
        })
        .is_empty()
    );
    assert_eq!(
        search(ProfileQuery {
            crypto_profile: Some("hsm-a".parse().unwrap()),
            ..Default::default()
        }),
        [3]
    );
    assert!(
        search(ProfileQuery {
            name: Some("nothing".into()),
            ..Default::default()
        })
        .is_empty()
    );
}

#[test]
fn search_refuses_combinations_the_screen_does_not_offer() {
    let (c, _) = four();
    for (query, reason) in [
        (
            ProfileQuery {
                security_level: Some(3),
                ..Default::default()
            },
            "only available with key_algorithm ml-dsa",
        ),
        (
            ProfileQuery {
                key_algorithm: Some(KeyAlgorithm::Rsa),
                security_level: Some(3),
                ..Default::default()
            },
            "only available with key_algorithm ml-dsa",
        ),
        (
            ProfileQuery {
                key_algorithm: Some(KeyAlgorithm::MlDsa),
                security_level: Some(4),
                ..Default::default()
            },
            "security_level 4",
        ),
        (
            ProfileQuery {
                key_algorithm: Some(KeyAlgorithm::MlDsa),
                key_length: Some(256),
                ..Default::default()
            },
            "not a key_length",
        ),
        (
            ProfileQuery {
                name: Some("n".repeat(129)),
                ..Default::default()
            },
            "longer than 128",
        ),
    ] {
        let err = c.search(&query).unwrap_err().to_string();
        assert!(err.contains(reason), "{query:?}: {err}");
    }
    assert!(
        c.search(&ProfileQuery {
            name: Some("n".repeat(128)),
            ..Default::default()
        })
        .is_ok()
    );
}
