//! SECURITY.md's threats at the service layer, on both backends: a SAD of user A used for user
//! B, a SAD for another request (another key), a device deleted between approval and Sign, and
//! a SAD at and past its expiry with the profile's clock tolerance. Each refusal signs nothing
//! and leaves the request as it was.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_cms::Format;
use sam_keys::{Input, SigningKey};
use sam_sad::{AuthorisationRequest, DeviceId, Id128, InstanceId, Issuer, SadSigner};
use sam_service::{ClientContext, RegisterDevice, RegisterUser, registration_message};

use crate::fixtures::{Fixture, INSTANCE, client, databases, profiles, service};
use crate::sap::{CONTRACT, code};

struct Person {
    device: SigningKey,
    device_id: String,
    key_id: String,
}

async fn person(f: &Fixture, ctx: &ClientContext, user: &str, device_id: &str) -> Person {
    f.service
        .register_user(
            ctx,
            RegisterUser {
                user_id: user.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let device = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
    let public_key = device.public_key_der().unwrap();
    let message = registration_message(ctx.client_id.as_str(), user, device_id, &public_key);
    let proof = device
        .sign(
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(&message)),
        )
        .unwrap();
    f.service
        .register_device(
            ctx,
            RegisterDevice {
                user_id: user.into(),
                device_id: device_id.into(),
                profile_id: Some(1),
                public_key,
                algorithm: "ES256".into(),
                biometric: true,
                secure_element: true,
                proof,
            },
        )
        .await
        .unwrap();
    let key = f.service.generate_key(ctx, user, 2).await.unwrap();
    Person {
        device,
        device_id: device_id.into(),
        key_id: key.key_id,
    }
}

async fn ask(f: &Fixture, ctx: &ClientContext, user: &str, key_id: &str) -> String {
    f.service
        .authorise(
            ctx,
            sam_service::Authorise {
                user_id: user.into(),
                key_id: key_id.into(),
                hash_algorithm: HashAlgorithm::Sha256,
                documents: vec![sam_service::DocumentInput::digest(
                    "contract.pdf",
                    HashAlgorithm::Sha256.digest(CONTRACT).as_bytes().to_vec(),
                )],
                format: Format::Raw,
                signatures: None,
            },
        )
        .await
        .unwrap()
        .request_id
}

/// The SAD `signer` (claiming to be device `device_id`) makes for `request`, as fetched by
/// `reader`'s pending list (or built from `message`), valid for `validity` seconds.
fn sad_for(
    f: &Fixture,
    message: &[u8],
    device_id: &str,
    signer: &SigningKey,
    validity: i64,
) -> Vec<u8> {
    let request = AuthorisationRequest::from_der(message).unwrap();
    let sad = request
        .answer(
            Id128::random().unwrap(),
            Issuer::Device(DeviceId::new(device_id).unwrap()),
            InstanceId::new(INSTANCE).unwrap(),
            f.now(),
            validity,
        )
        .unwrap();
    let copy = SigningKey::from_pkcs8_der(signer.spec(), &signer.to_pkcs8_der().unwrap()).unwrap();
    SadSigner::new(copy, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15)
        .sign_jws(&sad)
        .unwrap()
        .into_bytes()
}

async fn message_of(f: &Fixture, ctx: &ClientContext, device_id: &str, request: &str) -> Vec<u8> {
    f.service
        .pending_requests(ctx, device_id, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.request_id == request)
        .expect("pending")
        .message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_device_another_request_and_a_deleted_device_sign_nothing() {
    let dbs = databases("svc_threats").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = person(&f, &ctx, "alice", "alice-phone").await;
        let bob = person(&f, &ctx, "bob", "bob-phone").await;

        // Alice's device cannot answer Bob's request: not through its own id (the request is
        // not its user's), nor by claiming Bob's device id (wrong key).
        let bobs = ask(&f, &ctx, "bob", &bob.key_id).await;
        let message = message_of(&f, &ctx, &bob.device_id, &bobs).await;
        assert!(
            f.service
                .pending_requests(&ctx, &alice.device_id, None, 1000)
                .await
                .unwrap()
                .is_empty()
        );
        let as_alice = sad_for(&f, &message, &alice.device_id, &alice.device, 120);
        assert_eq!(
            code(
                f.service
                    .submit_sad(&ctx, &alice.device_id, &bobs, &as_alice)
                    .await
            ),
            "not_found"
        );
        assert_eq!(
            code(
                f.service
                    .submit_sad(&ctx, &bob.device_id, &bobs, &as_alice)
                    .await
            ),
            "sad_invalid"
        );
        let claiming_bob = sad_for(&f, &message, &bob.device_id, &alice.device, 120);
        assert_eq!(
            code(
                f.service
                    .submit_sad(&ctx, &bob.device_id, &bobs, &claiming_bob)
                    .await
            ),
            "sad_invalid"
        );
        assert_eq!(
            f.service.status(&ctx, &bobs).await.unwrap().status,
            "pending"
        );

        // A SAD for one of Alice's requests (one key) does not authorise another (another key).
        let second_key = f
            .service
            .generate_key(&ctx, "alice", 2)
            .await
            .unwrap()
            .key_id;
        let first = ask(&f, &ctx, "alice", &alice.key_id).await;
        let second = ask(&f, &ctx, "alice", &second_key).await;
        let for_first = sad_for(
            &f,
            &message_of(&f, &ctx, &alice.device_id, &first).await,
            &alice.device_id,
            &alice.device,
            120,
        );
        assert_eq!(
            code(
                f.service
                    .submit_sad(&ctx, &alice.device_id, &second, &for_first)
                    .await
            ),
            "sad_invalid"
        );
        f.service
            .submit_sad(&ctx, &alice.device_id, &first, &for_first)
            .await
            .unwrap();

        // The device is deleted after approving: Sign verifies again and refuses; the use is
        // not spent, nothing is signed.
        f.service
            .delete_device(&ctx, &alice.device_id)
            .await
            .unwrap();
        assert_eq!(code(f.service.sign(&ctx, &first).await), "sad_invalid");
        assert_eq!(
            f.service.status(&ctx, &first).await.unwrap().status,
            "authorised"
        );
        let sad_id = f
            .service
            .store()
            .request("client-a", &first, f.now())
            .await
            .unwrap()
            .unwrap()
            .sad_id
            .unwrap();
        assert_eq!(
            f.service
                .store()
                .sad_state(&sad_id)
                .await
                .unwrap()
                .unwrap()
                .0,
            1
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sad_is_good_until_its_expiry_plus_the_tolerance_and_refused_at_it() {
    let tolerance = i64::from(
        profiles()
            .profile(sam_profile::ProfileId::new(2).unwrap())
            .unwrap()
            .settings()
            .authorisation_key
            .clock_tolerance_secs,
    );
    let dbs = databases("svc_sad_expiry").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = person(&f, &ctx, "alice", "alice-phone").await;
        for (late_by, signs) in [(tolerance - 1, true), (tolerance, false)] {
            let request = ask(&f, &ctx, "alice", &alice.key_id).await;
            let sad = sad_for(
                &f,
                &message_of(&f, &ctx, &alice.device_id, &request).await,
                &alice.device_id,
                &alice.device,
                60,
            );
            f.service
                .submit_sad(&ctx, &alice.device_id, &request, &sad)
                .await
                .unwrap();
            // The SAD expires 60 s after issue; Sign comes `late_by` seconds after that.
            f.clock.advance(60 + late_by);
            let outcome = f.service.sign(&ctx, &request).await;
            if signs {
                assert_eq!(outcome.unwrap().len(), 1, "late by {late_by} s");
            } else {
                assert_eq!(code(outcome), "sad_expired", "late by {late_by} s");
                assert_eq!(
                    f.service.status(&ctx, &request).await.unwrap().status,
                    "authorised"
                );
            }
        }
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_racing_signs_of_one_authorised_request_make_one_signature_across_two_nodes() {
    let dbs = databases("svc_sign_race").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = person(&f, &ctx, "alice", "alice-phone").await;
        let request = ask(&f, &ctx, "alice", &alice.key_id).await;
        let sad = sad_for(
            &f,
            &message_of(&f, &ctx, &alice.device_id, &request).await,
            &alice.device_id,
            &alice.device,
            120,
        );
        f.service
            .submit_sad(&ctx, &alice.device_id, &request, &sad)
            .await
            .unwrap();

        // A second service on its own pool over the same database: another node. It shares
        // the first one's master key (as nodes of one deployment do) through its token.
        let second = crate::fixtures::second_node(db, &f).await;
        let nodes = std::sync::Arc::new([f.service, second]);
        let mut racers = Vec::new();
        for i in 0..16 {
            let (nodes, ctx, request) = (nodes.clone(), ctx.clone(), request.clone());
            racers.push(tokio::spawn(async move {
                nodes[i % 2].sign(&ctx, &request).await
            }));
        }
        let mut signed = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(outputs) => signed += outputs.len(),
                Err(e) => assert!(
                    ["sad_replayed", "request_not_authorised"].contains(&e.code.as_str()),
                    "{}: {}",
                    e.code,
                    e.message
                ),
            }
        }
        assert_eq!(signed, 1, "{:?}", nodes[0].store().backend());
        nodes[0].store().close().await;
        nodes[1].store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_the_client_was_not_given_is_not_found_and_changes_nothing() {
    let dbs = databases("svc_selected").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = crate::sap::alice(&f, &ctx).await;
        // The client is given profile 2 only (alice's key is in it).
        let mut record = sam_store::ClientRecord {
            selected_profiles: Some(vec![2]),
            ..sam_store::ClientRecord::new("client-a", f.now())
        };
        f.service.store().put_client(&record).await.unwrap();
        let unknown = f.service.get_sam_profile(&ctx, 99).await.unwrap_err();
        let not_given = f.service.get_sam_profile(&ctx, 1).await.unwrap_err();
        assert_eq!(
            (unknown.code.as_str(), not_given.code.as_str()),
            ("not_found", "not_found")
        );
        assert_eq!(
            not_given.message.replace(" 1 ", " 99 "),
            unknown.message,
            "the same answer as for a profile that does not exist"
        );
        assert_eq!(
            code(f.service.generate_key(&ctx, "alice", 1).await),
            "not_found"
        );
        f.service.get_sam_profile(&ctx, 2).await.unwrap();
        let keys_before = f
            .service
            .get_user_profile(&ctx, "alice", Default::default())
            .await
            .unwrap()
            .keys
            .len();
        f.service.generate_key(&ctx, "alice", 2).await.unwrap();

        // Taking the profile away stops its keys from being used.
        record.selected_profiles = Some(vec![1]);
        f.service.store().put_client(&record).await.unwrap();
        let request = crate::sap::authorise(&alice, Format::Raw, &[("contract.pdf", CONTRACT)]);
        assert_eq!(code(f.service.authorise(&ctx, request).await), "not_found");
        assert_eq!(
            code(
                f.service
                    .authorise_csr(&ctx, "alice", &alice.key_id, "CN=Alice")
                    .await
            ),
            "not_found"
        );
        assert!(
            f.service
                .pending_requests(&ctx, "phone", None, 1000)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            f.service
                .get_user_profile(&ctx, "alice", Default::default())
                .await
                .unwrap()
                .keys
                .len(),
            keys_before + 1
        );
        // Each refusal is audited.
        let records = f.service.store().audit_records(0, 1000).await.unwrap();
        let refused = records
            .iter()
            .filter(|r| r.entry.outcome == "not_found")
            .count();
        assert_eq!(refused, 5);
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// SECURITY.md threats, "a wrong master key": a node whose master key is not the one the keys
/// were made under is refused at start (`check_key_domains`, also for a database without a
/// recorded key domain), and if it runs anyway its Sign refuses before the SAD is spent, so
/// the right node still signs the request, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_master_key_is_refused_and_spends_no_sad() {
    let dbs = databases("svc_wrong_key").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = person(&f, &ctx, "alice", "alice-phone").await;
        let wrong = crate::fixtures::node(
            db,
            sam_token::MasterKey::generate().unwrap(),
            f.clock.clone(),
        )
        .await;
        // Nothing recorded yet: the stored key does not open under the other key.
        let refused = wrong.check_key_domains().await.unwrap_err();
        assert_eq!(refused.code, "key_mismatch", "{refused}");
        assert!(refused.message.contains("does not open"), "{refused}");
        // The right key opens it and is recorded; the other one is then refused by the record.
        f.service.check_key_domains().await.unwrap();
        f.service.check_key_domains().await.unwrap();
        let refused = wrong.check_key_domains().await.unwrap_err();
        assert!(refused.message.contains("is not the one"), "{refused}");

        let request = ask(&f, &ctx, "alice", &alice.key_id).await;
        let message = message_of(&f, &ctx, &alice.device_id, &request).await;
        let sad = sad_for(&f, &message, &alice.device_id, &alice.device, 120);
        f.service
            .submit_sad(&ctx, &alice.device_id, &request, &sad)
            .await
            .unwrap();
        assert_eq!(code(wrong.sign(&ctx, &request).await), "key_unusable");
        assert_eq!(
            f.service.status(&ctx, &request).await.unwrap().status,
            "authorised",
            "the approval is not used up"
        );
        f.service.sign(&ctx, &request).await.unwrap();
        assert_eq!(
            code(f.service.sign(&ctx, &request).await),
            "request_not_authorised"
        );
        f.service.store().close().await;
        wrong.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
