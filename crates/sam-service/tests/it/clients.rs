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
        let map = f.service.profile_usage_map().await.unwrap();
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
