//! Profiles kept in the store, on SQLite and PostgreSQL: what one node stores, another node
//! built from the same database serves; a stored document that no longer reads is an error
//! naming the profile.

use std::sync::Arc;

use sam_service::profiles::{load_profiles, store_profile};
use sam_service::{Service, ServiceSettings};
use sam_store::ProfileRecord;

use crate::fixtures::{TestClock, client, databases, profiles};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_profiles_are_what_every_node_serves() {
    let dbs = databases("svc_profiles").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        let catalogue = profiles();
        let clock = Arc::new(TestClock::default());
        for profile in catalogue.iter() {
            store_profile(&store, profile, profile.created_at())
                .await
                .unwrap();
        }
        let loaded = load_profiles(&store).await.unwrap();
        assert_eq!(
            loaded.iter().collect::<Vec<_>>(),
            catalogue.iter().collect::<Vec<_>>()
        );
        assert_eq!(loaded.last_assigned(), catalogue.last_assigned());

        // Another node, from the same database.
        let node = Service::from_store(
            db.open().await.unwrap(),
            clock.clone(),
            ServiceSettings::default(),
        )
        .await
        .unwrap();
        assert_eq!(node.profiles().len(), catalogue.len());
        store
            .put_client(&sam_store::ClientRecord::new(
                "client-a",
                sam_token::Clock::now(clock.as_ref()),
            ))
            .await
            .unwrap();
        let json = node.get_sam_profile(&client("client-a"), 4).await.unwrap();
        assert!(json.contains("\"scal1\""), "{json}");

        // A stored document that does not read is named.
        store
            .put_profile(&ProfileRecord {
                profile_id: 99,
                name: "broken".into(),
                settings: "{\"id\": 99, \"name\": ".into(),
                created_at: sam_token::Clock::now(clock.as_ref()),
                updated_at: sam_token::Clock::now(clock.as_ref()),
            })
            .await
            .unwrap();
        let e = load_profiles(&store).await.unwrap_err();
        assert!(e.message.contains("stored profile 99"), "{e}");
        assert!(
            Service::from_store(store.clone(), clock, ServiceSettings::default())
                .await
                .is_err()
        );
        store.close().await;
        node.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// The admin functions: create (ids through the store, also with two nodes at once), edit,
/// copy, deactivate, search; invalid settings and taken names change nothing; another node
/// serves a change after its reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_administration_is_shared_by_the_nodes() {
    use sam_profile::{
        CryptoSourceDescriptor, ProfileQuery, ProfileSettings, ProfileStatus, SadFormat, SortKey,
        SortOrder,
    };
    use sam_service::ProfileRules;

    let rules = ProfileRules {
        crypto_sources: vec![CryptoSourceDescriptor::software(
            "software".parse().unwrap(),
        )],
        sad_format: SadFormat::Json,
        eseals_enabled: false,
    };
    let dbs = databases("svc_profile_admin").await;
    for db in &dbs {
        let clock = Arc::new(TestClock::default());
        let node = |clock: Arc<TestClock>| {
            let rules = rules.clone();
            async move {
                Service::from_store(db.open().await.unwrap(), clock, ServiceSettings::default())
                    .await
                    .unwrap()
                    .with_profile_rules(rules)
            }
        };
        let one = Arc::new(node(clock.clone()).await);
        let two = Arc::new(node(clock.clone()).await);
        let settings = |name: &str| {
            ProfileSettings::with_defaults(name.parse().unwrap(), "software".parse().unwrap())
        };

        let first = one.create_profile(settings("Qualified")).await.unwrap();
        assert_eq!(first.id().get(), 1);
        // Taken name (ignoring case), unknown crypto source: refused, nothing stored.
        let e = two.create_profile(settings("qualified")).await.unwrap_err();
        assert_eq!(e.code, "conflict", "{e}");
        let e = one
            .create_profile(ProfileSettings::with_defaults(
                "Elsewhere".parse().unwrap(),
                "hsm-9".parse().unwrap(),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code, "invalid_request", "{e}");
        assert!(e.message.contains("hsm-9"), "{e}");
        assert_eq!(one.store().profiles().await.unwrap().len(), 1);

        // Two nodes creating at once: every profile gets its own id.
        let mut tasks = Vec::new();
        for i in 0..6 {
            let node = if i % 2 == 0 { one.clone() } else { two.clone() };
            let s = settings(&format!("Parallel {i}"));
            tasks.push(tokio::spawn(async move { node.create_profile(s).await }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(t.await.unwrap().unwrap().id().get());
        }
        ids.sort_unstable();
        assert_eq!(ids, [2, 3, 4, 5, 6, 7]);

        // Copy, deactivate; the other node serves both after its reload.
        let copy = one
            .copy_profile(1, "Qualified copy".parse().unwrap(), Default::default())
            .await
            .unwrap();
        assert_eq!(copy.id().get(), 8);
        assert_eq!(
            copy.settings().signing_key,
            first.settings().signing_key,
            "a copy keeps every setting but name and description"
        );
        one.set_profile_status(1, ProfileStatus::Inactive)
            .await
            .unwrap();
        two.reload_profiles().await.unwrap();
        assert_eq!(two.profile(8).unwrap(), copy);
        assert_eq!(two.profile(1).unwrap().status(), ProfileStatus::Inactive);
        assert_eq!(
            two.sorted_profiles(SortKey::Name, SortOrder::Descending, None, 100)
                .unwrap()
                .profiles
                .first()
                .map(|p| p.name().to_string()),
            Some("Qualified copy".to_owned())
        );
        let inactive = two
            .search_profiles(
                &ProfileQuery {
                    status: Some(ProfileStatus::Inactive),
                    ..Default::default()
                },
                None,
                100,
            )
            .unwrap()
            .profiles;
        assert_eq!(inactive.len(), 1);
        // The table comes in pages in its order, each after the last profile of the one before.
        let whole = two
            .sorted_profiles(SortKey::Name, SortOrder::Descending, None, 100)
            .unwrap();
        assert!(whole.next.is_none() && whole.profiles.len() > 2);
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = two
                .sorted_profiles(SortKey::Name, SortOrder::Descending, after.as_deref(), 2)
                .unwrap();
            paged.extend(page.profiles);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(paged, whole.profiles);
        for cursor in ["9999", "name"] {
            assert_eq!(
                two.sorted_profiles(SortKey::Id, SortOrder::Ascending, Some(cursor), 2)
                    .unwrap_err()
                    .code,
                "invalid_request"
            );
        }

        // Edit: invalid settings change nothing; valid ones are stored.
        let mut edited = settings("Qualified");
        edited.signing_key.bulk_signing = true;
        edited.signing_key.max_hashes_per_request = 50;
        let before = one.profile(1).unwrap();
        let mut invalid = settings("Qualified");
        invalid.signing_key.crypto_profiles = vec!["hsm-9".parse().unwrap()];
        assert_eq!(
            one.edit_profile(1, invalid).await.unwrap_err().code,
            "invalid_request"
        );
        assert_eq!(one.profile(1).unwrap(), before);
        assert_eq!(
            one.edit_profile(99, settings("Nobody"))
                .await
                .unwrap_err()
                .code,
            "not_found"
        );
        let after = two.edit_profile(1, edited.clone()).await.unwrap();
        assert_eq!(after.settings(), &edited);
        one.reload_profiles().await.unwrap();
        assert_eq!(one.profile(1).unwrap(), after);

        // The admin actions are audited.
        let audit = one.store().audit_records(1, 1000).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|r| r.entry.action == "create_profile" && r.entry.outcome == "conflict")
        );
        one.store().close().await;
        two.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// A profile is checked against what its source really holds (the token's key specs, and
/// what `sam-keys` verifies) and against RFC 9882: Brainpool 224/320/512 on the software
/// source, or ML-DSA-65 with SHA-256, are refused when the profile is made — never a 500 at
/// Key Generation later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_asking_for_keys_its_source_cannot_hold_is_refused_when_made() {
    use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel};
    use sam_profile::{CryptoSourceDescriptor, ProfileSettings, SadFormat};
    use sam_service::ProfileRules;

    let rules = ProfileRules {
        crypto_sources: vec![CryptoSourceDescriptor::software(
            "software".parse().unwrap(),
        )],
        sad_format: SadFormat::Der,
        eseals_enabled: false,
    };
    let dbs = databases("svc_profile_specs").await;
    for db in &dbs {
        let node = Service::from_store(
            db.open().await.unwrap(),
            Arc::new(TestClock::default()),
            ServiceSettings::default(),
        )
        .await
        .unwrap()
        .with_token(Arc::new(sam_token::SoftwareToken::new(
            "software",
            sam_token::MasterKey::generate().unwrap(),
        )))
        .with_profile_rules(rules.clone());
        let with = |name: &str, key: KeySpec, hash: Option<HashAlgorithm>| {
            let mut s =
                ProfileSettings::with_defaults(name.parse().unwrap(), "software".parse().unwrap());
            s.signing_key.key = key;
            if let Some(hash) = hash {
                s.signing_key.hash_algorithm = hash;
            }
            s
        };
        for curve in [
            EcCurve::BrainpoolP224r1,
            EcCurve::BrainpoolP320r1,
            EcCurve::BrainpoolP320t1,
            EcCurve::BrainpoolP512r1,
            EcCurve::BrainpoolP512t1,
        ] {
            let e = node
                .create_profile(with(&format!("c{curve:?}"), KeySpec::Ecdsa(curve), None))
                .await
                .unwrap_err();
            assert_eq!(e.code, "invalid_request", "{curve:?}: {e}");
            assert!(
                e.message.contains("crypto profile software cannot hold"),
                "{curve:?}: {e}"
            );
        }
        let e = node
            .create_profile(with(
                "pq",
                KeySpec::MlDsa(MlDsaLevel::Level3),
                Some(HashAlgorithm::Sha256),
            ))
            .await
            .unwrap_err();
        assert!(e.message.contains("RFC 9882"), "{e}");
        assert!(node.store().profiles().await.unwrap().is_empty());
        // What the source holds is accepted.
        node.create_profile(with(
            "bp384",
            KeySpec::Ecdsa(EcCurve::BrainpoolP384r1),
            None,
        ))
        .await
        .unwrap();
        node.create_profile(with(
            "pq",
            KeySpec::MlDsa(MlDsaLevel::Level3),
            Some(HashAlgorithm::Sha384),
        ))
        .await
        .unwrap();
        node.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// What an opened source can do is what its token reports: a source configured as a plain
/// one (no KAK) whose token gates its keys with a KAK gets profiles without a KAK refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sources_rules_follow_its_token_not_its_configuration() {
    use sam_algorithms::RsaKeySize;
    use sam_profile::{CryptoSourceDescriptor, ProfileSettings, SadFormat};
    use sam_service::ProfileRules;
    use sam_token::{KakGate, MasterKey, SoftwareToken, SystemClock};

    // The configuration says nothing of a KAK.
    let rules = ProfileRules {
        crypto_sources: vec![CryptoSourceDescriptor::software("gated".parse().unwrap())],
        sad_format: SadFormat::Json,
        eseals_enabled: false,
    };
    let dbs = databases("svc_profile_token_rules").await;
    for db in &dbs {
        let gate = KakGate::new(
            SoftwareToken::new("gated", MasterKey::generate().unwrap()),
            MasterKey::generate().unwrap(),
            RsaKeySize::Bits2048,
            Box::new(SystemClock),
        );
        let node = Service::from_store(
            db.open().await.unwrap(),
            Arc::new(TestClock::default()),
            ServiceSettings::default(),
        )
        .await
        .unwrap()
        .with_token(Arc::new(gate))
        .with_profile_rules(rules.clone());
        let settings =
            ProfileSettings::with_defaults("plain".parse().unwrap(), "gated".parse().unwrap());
        let e = node.create_profile(settings.clone()).await.unwrap_err();
        assert_eq!(e.code, "invalid_request", "{e}");
        assert!(e.message.contains("activates user keys with a KAK"), "{e}");
        let mut with_kak = settings;
        with_kak.signing_key.kak = Some(sam_profile::KakSettings::default());
        node.create_profile(with_kak).await.unwrap();
        node.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
