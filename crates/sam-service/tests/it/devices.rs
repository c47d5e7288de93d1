//! Register Device needs proof of possession and follows the profile's device rules, on both
//! backends; devices are per client.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, MlDsaLevel, RsaPadding};
use sam_keys::{Input, SigningKey};
use sam_service::{RegisterDevice, RegisterUser, ServiceError, registration_message};

use crate::fixtures::{client, databases, service};

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

/// A device key and its registration request, signed as a device app would.
pub(crate) fn enrol(
    client_id: &str,
    user: &str,
    device: &str,
    key: &SigningKey,
    algorithm: &str,
) -> RegisterDevice {
    let public_key = key.public_key_der().unwrap();
    let message = registration_message(client_id, user, device, &public_key);
    let input = match key.spec() {
        KeySpec::MlDsa(_) => Input::Message(&message),
        _ => Input::Digest(HashAlgorithm::Sha256.digest(&message)),
    };
    RegisterDevice {
        user_id: user.into(),
        device_id: device.into(),
        profile_id: Some(1),
        proof: key.sign(RsaPadding::Pkcs1v15, &input).unwrap(),
        public_key,
        algorithm: algorithm.into(),
        biometric: true,
        secure_element: true,
    }
}

/// Registers the user alice for `client`.
async fn register_alice(f: &crate::fixtures::Fixture, client: &sam_service::ClientContext) {
    f.service
        .register_user(
            client,
            RegisterUser {
                user_id: "alice".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// The profile's device *Hashing Algorithm* (seed 001) is the hash of the JOSE algorithm a
/// device registers: profile 8's RSA devices sign with SHA-384, so RS384 and PS384 register and
/// RS256 is refused, its proof never looked at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_registers_only_with_the_profiles_device_hash() {
    let dbs = databases("svc_device_hash").await;
    for db in &dbs {
        let f = service(db).await;
        let a = client("client-a");
        register_alice(&f, &a).await;
        let rsa = SigningKey::generate(KeySpec::Rsa(sam_algorithms::RsaKeySize::Bits2048)).unwrap();
        let signed = |device: &str, algorithm: &str, padding: RsaPadding, hash: HashAlgorithm| {
            let mut request = enrol("client-a", "alice", device, &rsa, algorithm);
            let message = registration_message("client-a", "alice", device, &request.public_key);
            request.proof = rsa
                .sign(padding, &Input::Digest(hash.digest(&message)))
                .unwrap();
            request.profile_id = Some(8);
            request
        };
        let e = f
            .service
            .register_device(
                &a,
                signed(
                    "rs256",
                    "RS256",
                    RsaPadding::Pkcs1v15,
                    HashAlgorithm::Sha256,
                ),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, "device_not_allowed", "{e}");
        assert!(e.message.contains("sign with SHA-384, not SHA-256"), "{e}");
        for (device, algorithm, padding) in [
            ("rs384", "RS384", RsaPadding::Pkcs1v15),
            ("ps384", "PS384", RsaPadding::Pss),
        ] {
            let view = f
                .service
                .register_device(
                    &a,
                    signed(device, algorithm, padding, HashAlgorithm::Sha384),
                )
                .await
                .unwrap();
            assert_eq!(view.algorithm, algorithm);
        }
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_prove_possession_and_follow_the_profile() {
    let dbs = databases("svc_devices").await;
    for db in &dbs {
        let f = service(db).await;
        let a = client("client-a");
        register_alice(&f, &a).await;
        let p256 = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();

        let phone = f
            .service
            .register_device(&a, enrol("client-a", "alice", "phone", &p256, "ES256"))
            .await
            .unwrap();
        assert_eq!(
            (phone.device_id.as_str(), phone.algorithm.as_str()),
            ("phone", "ES256")
        );
        assert_eq!(f.service.get_device(&a, "phone").await.unwrap(), phone);

        // A proof made for another client, user or device, or by another key, is refused.
        let other = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        for request in [
            enrol("client-b", "alice", "tablet", &p256, "ES256"),
            enrol("client-a", "bob", "tablet", &p256, "ES256"),
            enrol("client-a", "alice", "other-id", &p256, "ES256"),
            RegisterDevice {
                public_key: p256.public_key_der().unwrap(),
                ..enrol("client-a", "alice", "tablet", &other, "ES256")
            },
        ] {
            let request = RegisterDevice {
                user_id: "alice".into(),
                device_id: "tablet".into(),
                ..request
            };
            assert_eq!(
                code(f.service.register_device(&a, request).await),
                "proof_of_possession_failed"
            );
        }
        // The profile's devices hold P-256 keys: ML-DSA and P-384 keys are not allowed.
        let ml = SigningKey::generate(KeySpec::MlDsa(MlDsaLevel::Level3)).unwrap();
        assert_eq!(
            code(
                f.service
                    .register_device(&a, enrol("client-a", "alice", "pq", &ml, "ML-DSA-65"))
                    .await
            ),
            "device_not_allowed"
        );
        let p384 = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P384)).unwrap();
        assert_eq!(
            code(
                f.service
                    .register_device(&a, enrol("client-a", "alice", "big", &p384, "ES384"))
                    .await
            ),
            "device_not_allowed"
        );
        assert_eq!(
            code(
                f.service
                    .register_device(&a, enrol("client-a", "alice", "odd", &p256, "ES384"))
                    .await
            ),
            "invalid_request"
        );
        assert_eq!(
            code(
                f.service
                    .register_device(&a, enrol("client-a", "alice", "phone", &other, "ES256"))
                    .await
            ),
            "device_exists"
        );

        // At most two devices per user (the profile); another client's user is not found.
        f.service
            .register_device(&a, enrol("client-a", "alice", "tablet", &other, "ES256"))
            .await
            .unwrap();
        let third = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        assert_eq!(
            code(
                f.service
                    .register_device(&a, enrol("client-a", "alice", "watch", &third, "ES256"))
                    .await
            ),
            "device_limit_reached"
        );
        let b = client("client-b");
        assert_eq!(
            code(
                f.service
                    .register_device(&b, enrol("client-b", "alice", "watch", &third, "ES256"))
                    .await
            ),
            "not_found"
        );
        assert_eq!(code(f.service.get_device(&b, "phone").await), "not_found");
        assert_eq!(
            code(f.service.get_devices(&b, "alice", None, 100).await),
            "not_found"
        );
        assert_eq!(
            code(f.service.delete_device(&b, "phone").await),
            "not_found"
        );
        // Device ids are per client: client B registers its own `phone`, which neither
        // collides with A's nor tells B that A has one.
        f.service
            .register_user(
                &b,
                RegisterUser {
                    user_id: "bob".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let theirs = f
            .service
            .register_device(&b, enrol("client-b", "bob", "phone", &third, "ES256"))
            .await
            .unwrap();
        assert_eq!(theirs.device_id, "phone");
        assert_eq!(theirs.user_id, "bob");
        assert_eq!(
            f.service.get_device(&a, "phone").await.unwrap().user_id,
            phone.user_id,
            "A's phone is unchanged"
        );
        f.service.delete_device(&b, "phone").await.unwrap();
        assert!(f.service.get_device(&a, "phone").await.is_ok());

        let listed: Vec<_> = f
            .service
            .get_devices(&a, "alice", None, 100)
            .await
            .unwrap()
            .devices
            .into_iter()
            .map(|d| d.device_id)
            .collect();
        assert_eq!(listed, ["phone", "tablet"]);
        // A page of one says where the next begins; the last page says nothing.
        let first = f.service.get_devices(&a, "alice", None, 1).await.unwrap();
        assert_eq!(first.devices.len(), 1);
        assert_eq!(first.next.as_deref(), Some("phone"));
        let last = f
            .service
            .get_devices(&a, "alice", first.next.as_deref(), 1)
            .await
            .unwrap();
        assert_eq!(last.devices[0].device_id, "tablet");
        assert_eq!(last.next.as_deref(), Some("tablet"));
        let after = f
            .service
            .get_devices(&a, "alice", Some("tablet"), 1)
            .await
            .unwrap();
        assert!(after.devices.is_empty() && after.next.is_none());
        for limit in [0, 1001] {
            assert_eq!(
                code(f.service.get_devices(&a, "alice", None, limit).await),
                "invalid_request"
            );
        }
        f.service.delete_device(&a, "phone").await.unwrap();
        f.service
            .register_device(&a, enrol("client-a", "alice", "watch", &third, "ES256"))
            .await
            .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
