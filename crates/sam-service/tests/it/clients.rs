//! The client manager, on SQLite and PostgreSQL: access, selected and default profiles, the
//! profile usage map, and client authentication by TLS certificate and/or HTTP Basic (seed
//! 002's option requiring both).

use sam_service::{ClientCredentials, ClientSettings};
use zeroize::Zeroizing;

use crate::fixtures::{certify, client, client_key, databases, service};
use crate::sap::code;

fn settings(id: &str) -> ClientSettings {
    ClientSettings {
        client_id: id.into(),
        sam_access: true,
        ..ClientSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_selected_and_default_profiles_each_have_their_own_answer() {
    let dbs = databases("svc_clients").await;
    for db in &dbs {
        let f = service(db).await;
        // Registration: by default every existing profile, no default.
        let view = f
            .service
            .register_client(&settings("portal"))
            .await
            .unwrap();
        let all: Vec<u32> = f.service.profiles().iter().map(|p| p.id().get()).collect();
        assert_eq!(view.selected_profiles, all);
        assert_eq!(
            code(f.service.register_client(&settings("portal")).await),
            "client_exists"
        );
        let ctx = client("portal");
        f.service
            .register_user(
                &ctx,
                sam_service::RegisterUser {
                    user_id: "dora".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // No profile named and no default.
        assert_eq!(
            code(f.service.generate_key(&ctx, "dora", None).await),
            "no_profile"
        );
        // A default outside the selection is refused; inside, it is used.
        let mut edit = ClientSettings {
            selected_profiles: Some(vec![2, 4]),
            default_profile: Some(1),
            ..settings("portal")
        };
        assert_eq!(
            code(f.service.update_client(&edit).await),
            "invalid_request"
        );
        edit.default_profile = Some(2);
        f.service.update_client(&edit).await.unwrap();
        let key = f.service.generate_key(&ctx, "dora", None).await.unwrap();
        assert_eq!(key.profile_id, 2);
        // A profile not selected is not found, like one that does not exist.
        assert_eq!(
            code(f.service.generate_key(&ctx, "dora", 1).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.generate_key(&ctx, "dora", 99).await),
            "not_found"
        );
        // Unknown profiles cannot be selected.
        edit.selected_profiles = Some(vec![2, 99]);
        assert_eq!(
            code(f.service.update_client(&edit).await),
            "invalid_request"
        );

        // The usage map: profile 2 and 4 used by portal; every profile by the fixtures'.
        let map = f.service.profile_usage_map(None, 100).await.unwrap().usage;
        assert!(map[&2].contains(&"portal".to_owned()));
        assert!(!map[&1].contains(&"portal".to_owned()));
        assert!(map[&1].contains(&"client-a".to_owned()));

        // Without SAM access: every request refused, audited, nothing done.
        edit.selected_profiles = Some(vec![2, 4]);
        edit.sam_access = false;
        f.service.update_client(&edit).await.unwrap();
        assert_eq!(
            code(f.service.get_user(&ctx, "dora").await),
            "client_access_denied"
        );
        assert_eq!(
            code(f.service.generate_key(&ctx, "dora", 2).await),
            "client_access_denied"
        );
        assert_eq!(
            code(
                f.service
                    .submit_client_sad(&ctx, "00000000000000000000000000000000", b"x")
                    .await
            ),
            "client_access_denied"
        );
        // An unregistered client likewise.
        assert_eq!(
            code(f.service.get_user(&client("stranger"), "dora").await),
            "client_access_denied"
        );
        let records = f.service.store().audit_records(0, 1000).await.unwrap();
        assert_eq!(
            records
                .iter()
                .filter(|r| r.entry.outcome == "client_access_denied")
                .count(),
            4
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_authenticate_by_tls_certificate_basic_or_both_when_required() {
    let dbs = databases("svc_client_auth").await;
    let (tls_cert, _) = certify(&client_key().key.public_key_der().unwrap());
    let (other_cert, _) = certify(&client_key().key.public_key_der().unwrap());
    for db in &dbs {
        let f = service(db).await;
        f.service
            .register_client(&ClientSettings {
                tls_certificates: vec![tls_cert.clone()],
                ..settings("bank")
            })
            .await
            .unwrap();
        f.service.register_client(&settings("shop")).await.unwrap();
        assert_eq!(
            code(
                f.service
                    .set_client_secret("bank", Zeroizing::new("short".into()))
                    .await
            ),
            "invalid_request"
        );
        let secret = || Zeroizing::new("correct horse battery staple".to_owned());
        f.service.set_client_secret("bank", secret()).await.unwrap();
        f.service.set_client_secret("shop", secret()).await.unwrap();
        assert!(f.service.get_client("bank").await.unwrap().has_secret);
        let basic = |id: &str, s: &str| Some((id.to_owned(), Zeroizing::new(s.to_owned())));
        let auth = |tls: Option<Vec<u8>>, basic| ClientCredentials {
            tls_certificate: tls,
            basic,
            peer: None,
        };
        let ok =
            |r: Result<sam_service::ClientContext, _>| r.unwrap().client_id.as_str().to_owned();

        // mTLS alone identifies the bound client; Basic alone works without mTLS.
        assert_eq!(
            ok(f.service
                .authenticate_client(&auth(Some(tls_cert.clone()), None))
                .await),
            "bank"
        );
        assert_eq!(
            ok(f.service
                .authenticate_client(&auth(None, basic("shop", "correct horse battery staple")))
                .await),
            "shop"
        );
        // Wrong secret, unknown client, unbound certificate, nothing at all: one answer.
        for credentials in [
            auth(None, basic("shop", "wrong wrong wrong wrong")),
            auth(None, basic("nobody", "correct horse battery staple")),
            auth(Some(other_cert.clone()), None),
            auth(None, None),
            // mTLS with Basic naming another client.
            auth(
                Some(tls_cert.clone()),
                basic("shop", "correct horse battery staple"),
            ),
        ] {
            assert_eq!(
                code(f.service.authenticate_client(&credentials).await),
                "client_authentication_failed",
                "{credentials:?}"
            );
        }
        // The seed-002 option: with mTLS, Basic is required too.
        f.service
            .update_client(&ClientSettings {
                tls_certificates: vec![tls_cert.clone()],
                basic_with_tls: true,
                ..settings("bank")
            })
            .await
            .unwrap();
        assert_eq!(
            code(
                f.service
                    .authenticate_client(&auth(Some(tls_cert.clone()), None))
                    .await
            ),
            "client_authentication_failed"
        );
        assert_eq!(
            code(
                f.service
                    .authenticate_client(&auth(
                        Some(tls_cert.clone()),
                        basic("bank", "wrong wrong wrong wrong")
                    ))
                    .await
            ),
            "client_authentication_failed"
        );
        assert_eq!(
            ok(f.service
                .authenticate_client(&auth(
                    Some(tls_cert.clone()),
                    basic("bank", "correct horse battery staple")
                ))
                .await),
            "bank"
        );
        // Without mTLS the option is disregarded: Basic alone.
        assert_eq!(
            ok(f.service
                .authenticate_client(&auth(None, basic("bank", "correct horse battery staple")))
                .await),
            "bank"
        );
        // The secret survives an edit and is never shown.
        let shown = format!("{:?}", f.service.get_client("bank").await.unwrap());
        assert!(!shown.contains("argon2"), "{shown}");
        // A verified secret is remembered (no Argon2id on the next request), but a new secret
        // replaces it at once: the old one no longer authenticates, the new one does.
        f.service
            .set_client_secret("bank", Zeroizing::new("a brand new secret for bank".into()))
            .await
            .unwrap();
        assert_eq!(
            code(
                f.service
                    .authenticate_client(&auth(None, basic("bank", "correct horse battery staple")))
                    .await
            ),
            "client_authentication_failed"
        );
        assert_eq!(
            ok(f.service
                .authenticate_client(&auth(None, basic("bank", "a brand new secret for bank")))
                .await),
            "bank"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// `secret_check`: after the free failures (5 by default) a client id, and a peer address,
/// is refused with `authentication_throttled` and a `Retry-After` before any Argon2id work;
/// a secret verified before is still answered at once, another id from another peer is not
/// slowed, and the operator's credential is slowed per peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_per_client_and_peer_but_a_remembered_secret_is_not() {
    let dbs = databases("svc_client_backoff").await;
    for db in &dbs {
        let f = service(db).await;
        for id in ["bank", "shop"] {
            f.service.register_client(&settings(id)).await.unwrap();
            f.service
                .set_client_secret(id, Zeroizing::new(format!("{id} correct horse")))
                .await
                .unwrap();
        }
        let from = |peer: [u8; 4], id: &str, secret: &str| ClientCredentials {
            tls_certificate: None,
            basic: Some((id.to_owned(), Zeroizing::new(secret.to_owned()))),
            peer: Some(std::net::IpAddr::from(peer)),
        };
        let attacker = [192, 0, 2, 66];
        // The bank's own application authenticates once: its secret is remembered.
        f.service
            .authenticate_client(&from([198, 51, 100, 1], "bank", "bank correct horse"))
            .await
            .unwrap();
        for n in 1..=5 {
            assert_eq!(
                code(
                    f.service
                        .authenticate_client(&from(attacker, "bank", "guess"))
                        .await
                ),
                "client_authentication_failed",
                "failure {n} is free"
            );
        }
        // The next attempt waits — even with the right secret of another client, from the
        // attacker's address (the peer is slowed) — held for the rest of the back-off (a
        // second), then refused without Argon2id work.
        let (guess, right) = (
            from(attacker, "bank", "guess"),
            from(attacker, "shop", "shop correct horse"),
        );
        let started = std::time::Instant::now();
        let (throttled, right_secret) = tokio::join!(
            f.service.authenticate_client(&guess),
            f.service.authenticate_client(&right),
        );
        let held = started.elapsed();
        let throttled = throttled.unwrap_err();
        assert_eq!(throttled.code, "authentication_throttled", "{throttled}");
        assert_eq!(throttled.retry_after_secs, Some(1));
        assert_eq!(code(right_secret), "authentication_throttled");
        assert!(
            held >= std::time::Duration::from_millis(900)
                && held < std::time::Duration::from_millis(1500),
            "held {held:?}"
        );
        // … but the bank's application, whose secret is remembered, is not slowed, and
        // another client from another address is not either.
        f.service
            .authenticate_client(&from([198, 51, 100, 1], "bank", "bank correct horse"))
            .await
            .unwrap();
        f.service
            .authenticate_client(&from([198, 51, 100, 2], "shop", "shop correct horse"))
            .await
            .unwrap();
        // The back-off has ended: an attempt is checked again; its failure doubles the
        // back-off (2 s: held a second, then `Retry-After: 1`).
        assert_eq!(
            code(
                f.service
                    .authenticate_client(&from(attacker, "bank", "guess"))
                    .await
            ),
            "client_authentication_failed"
        );
        let refused = f
            .service
            .authenticate_client(&from(attacker, "bank", "guess"))
            .await
            .unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.retry_after_secs),
            ("authentication_throttled", Some(1)),
            "the back-off doubles"
        );

        // The operator's credential, per peer.
        let phc = argon2::password_hash::PasswordHasher::hash_password_with_salt(
            &argon2::Argon2::default(),
            b"admin token",
            b"0123456789abcdef",
        )
        .unwrap()
        .to_string();
        let admin = |token: &str, peer: [u8; 4]| {
            let token = Zeroizing::new(token.to_owned());
            let service = &f.service;
            let phc = phc.clone();
            async move {
                service
                    .authenticate_admin(&phc, &token, Some(peer.into()))
                    .await
            }
        };
        for _ in 0..5 {
            assert_eq!(
                code(admin("wrong", attacker).await),
                "admin_authentication_failed"
            );
        }
        assert_eq!(
            code(admin("admin token", attacker).await),
            "authentication_throttled"
        );
        admin("admin token", [198, 51, 100, 9]).await.unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// Each operator change to a client and its plan is one audit record with its typed action
/// (no client id, actor `admin`), refused or not, and the secret is never in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_change_of_a_client_is_audited_once() {
    let dbs = databases("svc_admin_audit").await;
    for db in &dbs {
        let f = service(db).await;
        let before = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .len();
        f.service
            .register_client(&settings("ledger"))
            .await
            .unwrap();
        f.service
            .register_client(&settings("ledger"))
            .await
            .unwrap_err();
        f.service.update_client(&settings("ledger")).await.unwrap();
        f.service
            .set_client_secret("ledger", Zeroizing::new("a secret of the ledger".into()))
            .await
            .unwrap();
        let plan =
            sam_plan::PlanSettings::new(sam_plan::TransactionLimit::new(10).unwrap(), f.now());
        f.service.set_plan("ledger", &plan).await.unwrap();
        f.service.renew_plan("ledger").await.unwrap();
        let records = f.service.store().audit_records(1, 10_000).await.unwrap();
        let ours: Vec<(&str, &str, &str, &str)> = records[before..]
            .iter()
            .map(|r| {
                (
                    r.entry.action.as_str(),
                    r.entry.outcome.as_str(),
                    r.entry.client_id.as_str(),
                    r.entry.actor.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ours,
            [
                ("register_client", "ok", "", "admin"),
                ("register_client", "client_exists", "", "admin"),
                ("edit_client", "ok", "", "admin"),
                ("set_client_secret", "ok", "", "admin"),
                ("set_plan", "ok", "", "admin"),
                ("renew_plan", "ok", "", "admin"),
            ]
        );
        assert!(
            records[before..]
                .iter()
                .all(|r| r.entry.detail == "client=ledger"
                    && !r.entry.detail.contains("a secret of the ledger"))
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
