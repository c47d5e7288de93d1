//! Key Generation (fresh and from the pool of pre-generated keys), certificates that must
//! match their key, Key Delete; per client, on both backends.

use sam_algorithms::{EcCurve, KeySpec};
use sam_service::{RegisterUser, ServiceError};

use crate::fixtures::{certify, client, databases, service};

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_the_pool_first_and_certificates_must_match() {
    let dbs = databases("svc_keys").await;
    for db in &dbs {
        let f = service(db).await;
        let (a, b) = (client("client-a"), client("client-b"));
        f.service
            .register_user(
                &a,
                RegisterUser {
                    user_id: "alice".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();

        // Empty pool: generated now. Then the pool serves the next two, oldest first.
        let fresh = f.service.generate_key(&a, "alice", 2).await.unwrap();
        assert!(!fresh.from_pool);
        assert_eq!(fresh.spec, "ECDSA P-256");
        assert_eq!(
            f.service
                .refill_key_pool("software", KeySpec::Ecdsa(EcCurve::P256), 2)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            f.service
                .refill_key_pool("software", KeySpec::Ecdsa(EcCurve::P256), 2)
                .await
                .unwrap(),
            0
        );
        let pooled = [
            f.service.generate_key(&a, "alice", 2).await.unwrap(),
            f.service.generate_key(&a, "alice", 2).await.unwrap(),
        ];
        assert!(pooled.iter().all(|k| k.from_pool));
        assert_ne!(pooled[0].key_id, pooled[1].key_id);
        assert!(
            !f.service
                .generate_key(&a, "alice", 2)
                .await
                .unwrap()
                .from_pool
        );
        assert_eq!(
            f.service
                .store()
                .keys("client-a", "alice", None, 100)
                .await
                .unwrap()
                .len(),
            4
        );

        // Unknown user, another client's user, unknown profile.
        assert_eq!(
            code(f.service.generate_key(&a, "bob", 2).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.generate_key(&b, "alice", 2).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.generate_key(&a, "alice", 9).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.generate_key(&a, "alice", 0).await),
            "invalid_request"
        );

        // A certificate for this key, with its CA as chain; one for another key is refused.
        let (cert, ca) = certify(&fresh.public_key);
        let imported = f
            .service
            .import_certificate(&a, &fresh.key_id, &cert, std::slice::from_ref(&ca))
            .await
            .unwrap();
        assert_eq!(imported.chain, vec![ca.clone()]);
        let (other_cert, _) = certify(&pooled[0].public_key);
        assert_eq!(
            code(
                f.service
                    .import_certificate(&a, &fresh.key_id, &other_cert, &[])
                    .await
            ),
            "certificate_mismatch"
        );
        assert_eq!(
            code(
                f.service
                    .import_certificate(&a, &fresh.key_id, b"not DER", &[])
                    .await
            ),
            "invalid_request"
        );
        assert_eq!(
            code(
                f.service
                    .import_certificate(&b, &fresh.key_id, &cert, &[])
                    .await
            ),
            "not_found"
        );
        let back = f.service.get_certificate(&a, &fresh.key_id).await.unwrap();
        assert_eq!((back.certificate, back.chain), (cert, vec![ca]));
        assert_eq!(
            code(f.service.get_certificate(&b, &fresh.key_id).await),
            "not_found"
        );
        assert_eq!(
            f.service
                .get_certificates(&a, "alice", None, 100)
                .await
                .unwrap()
                .certificates
                .len(),
            1
        );

        // Key Delete: gone from the store with its certificate; not another client's to delete.
        assert_eq!(
            code(f.service.delete_key(&b, &fresh.key_id).await),
            "not_found"
        );
        f.service.delete_key(&a, &fresh.key_id).await.unwrap();
        assert_eq!(
            code(f.service.get_certificate(&a, &fresh.key_id).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.delete_key(&a, &fresh.key_id).await),
            "not_found"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_a_kak_generates_bound_keys_that_sign_only_through_the_kak() {
    let dbs = databases("svc_kak").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = crate::sap::alice(&f, &ctx).await;
        // Profile 7 keeps its keys on "cp5", a KAK-gated source.
        let key = f.service.generate_key(&ctx, "alice", 7).await.unwrap();
        let stored = f
            .service
            .store()
            .key("client-a", &key.key_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.token, "cp5");
        let record = sam_token::KeyRecord::from_der(&stored.reference).unwrap();
        assert!(record.kak.is_some(), "the key is bound to a KAK");

        let mut signer = alice;
        signer.key_id = key.key_id.clone();
        let authorised = f
            .service
            .authorise(
                &ctx,
                crate::sap::authorise(
                    &signer,
                    sam_cms::Format::Raw,
                    &[("contract.pdf", crate::sap::CONTRACT)],
                ),
            )
            .await
            .unwrap();
        let sad =
            crate::sap::approve(&f, &ctx, &signer.device, &authorised.request_id, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &authorised.request_id, &sad)
            .await
            .unwrap();
        let outputs = f.service.sign(&ctx, &authorised.request_id).await.unwrap();
        sam_keys::verify(
            &key.public_key,
            sam_algorithms::KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
            sam_algorithms::RsaPadding::Pkcs1v15,
            &sam_keys::Input::Digest(
                sam_algorithms::HashAlgorithm::Sha256.digest(crate::sap::CONTRACT),
            ),
            &outputs[0],
        )
        .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
