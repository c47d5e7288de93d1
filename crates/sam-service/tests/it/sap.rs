//! The SCAL2 flow end to end through the service API, on SQLite and PostgreSQL: a user with a
//! P-256 device and a P-256 signing key certified by a CA; Authorise a document as CAdES-B-B;
//! the device fetches the request, signs the SAD; Sign returns a signature that
//! `openssl cms -verify` accepts. Then the threats of SECURITY.md at this layer: replay, a SAD
//! for another hash, another device, a declined or expired request.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding, UnixTime};
use sam_cms::Format;
use sam_keys::{Input, SigningKey};
use sam_sad::{AuthorisationRequest, DeviceId, Id128, InstanceId, Issuer, SadSigner};
use sam_service::{
    Authorise, ClientContext, DocumentInput, RegisterDevice, RegisterUser, ServiceError,
    registration_message,
};
use sam_store::ChainReport;

use crate::fixtures::{Fixture, INSTANCE, certify, client, databases, service};

pub(crate) const CONTRACT: &[u8] = b"I, Alice, agree to the terms.\n";

pub(crate) fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

pub(crate) struct Alice {
    pub(crate) device: SigningKey,
    pub(crate) key_id: String,
    pub(crate) ca_pem: String,
}

/// Registers alice with a P-256 device, generates her key in profile 2 and certifies it.
pub(crate) async fn alice(f: &Fixture, ctx: &ClientContext) -> Alice {
    f.service
        .register_user(
            ctx,
            RegisterUser {
                user_id: "alice".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let device = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
    let public_key = device.public_key_der().unwrap();
    let message = registration_message(ctx.client_id.as_str(), "alice", "phone", &public_key);
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
                user_id: "alice".into(),
                device_id: "phone".into(),
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
    let key = f.service.generate_key(ctx, "alice", 2).await.unwrap();
    let (cert, ca) = certify(&key.public_key);
    f.service
        .import_certificate(ctx, &key.key_id, &cert, std::slice::from_ref(&ca))
        .await
        .unwrap();
    Alice {
        device,
        key_id: key.key_id,
        ca_pem: der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca).unwrap(),
    }
}

pub(crate) fn authorise(alice: &Alice, format: Format, documents: &[(&str, &[u8])]) -> Authorise {
    Authorise {
        user_id: "alice".into(),
        key_id: alice.key_id.clone(),
        hash_algorithm: HashAlgorithm::Sha256,
        documents: documents
            .iter()
            .map(|(label, content)| {
                DocumentInput::digest(
                    *label,
                    HashAlgorithm::Sha256.digest(content).as_bytes().to_vec(),
                )
            })
            .collect(),
        format,
        signatures: None,
    }
}

/// What the phone does: fetch the pending request, show it, sign the SAD (with `tamper`
/// applied to the request first, to play a wrong device).
pub(crate) async fn approve(
    f: &Fixture,
    ctx: &ClientContext,
    signer: &SigningKey,
    request_id: &str,
    tamper: impl Fn(&mut AuthorisationRequest),
) -> Vec<u8> {
    let pending = f
        .service
        .pending_requests(ctx, "phone", None, 1000)
        .await
        .unwrap();
    let shown = pending
        .iter()
        .find(|p| p.request_id == request_id)
        .expect("the request is pending");
    let mut request = AuthorisationRequest::from_der(&shown.message).unwrap();
    // The device shows what it is asked to sign: each document's label.
    for document in &request.documents {
        assert!(
            shown.documents.contains(&document.label),
            "{}",
            shown.documents
        );
    }
    tamper(&mut request);
    let sad = request
        .answer(
            Id128::random().unwrap(),
            Issuer::Device(DeviceId::new("phone").unwrap()),
            InstanceId::new(INSTANCE).unwrap(),
            f.now(),
            120,
        )
        .unwrap();
    let copy = SigningKey::from_pkcs8_der(signer.spec(), &signer.to_pkcs8_der().unwrap()).unwrap();
    SadSigner::new(copy, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15)
        .sign_jws(&sad)
        .unwrap()
        .into_bytes()
}

pub(crate) fn openssl_verify(
    signature: &[u8],
    content: &[u8],
    ca_pem: &str,
) -> std::process::Output {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sap-{}-{}",
        std::process::id(),
        Id128::random().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sig.p7s"), signature).unwrap();
    std::fs::write(dir.join("content"), content).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
    let d = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let out = std::process::Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &d("sig.p7s"),
            "-content",
            &d("content"),
            "-CAfile",
            &d("ca.pem"),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .output()
        .expect("openssl (scripts/test installs it)");
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scal2_device_flow_signs_cades_that_openssl_accepts_and_only_once() {
    let dbs = databases("svc_sap").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;

        let authorised = f
            .service
            .authorise(
                &ctx,
                authorise(&alice, Format::CadesBB, &[("contract.pdf", CONTRACT)]),
            )
            .await
            .unwrap();
        let id = authorised.request_id;
        assert_eq!(f.service.status(&ctx, &id).await.unwrap().status, "pending");
        let listed = f
            .service
            .pending_requests_list(&ctx, None, 10)
            .await
            .unwrap()
            .requests;
        assert_eq!(
            listed
                .iter()
                .map(|r| r.request_id.as_str())
                .collect::<Vec<_>>(),
            [id.as_str()]
        );
        assert!(
            f.service
                .pending_requests_list(&client("client-b"), None, 10)
                .await
                .unwrap()
                .requests
                .is_empty()
        );
        assert_eq!(
            code(f.service.pending_requests_list(&ctx, None, 0).await),
            "invalid_request"
        );
        let profile = f.service.get_sam_profile(&ctx, 2).await.unwrap();
        assert!(profile.contains("\"name\": \"Fast EC\""), "{profile}");
        assert_eq!(code(f.service.get_sam_profile(&ctx, 42).await), "not_found");
        assert_eq!(
            code(f.service.sign(&ctx, &id).await),
            "request_not_authorised"
        );

        let sad = approve(&f, &ctx, &alice.device, &id, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &id, &sad)
            .await
            .unwrap();
        assert_eq!(
            f.service.status(&ctx, &id).await.unwrap().status,
            "authorised"
        );

        let outputs = f.service.sign(&ctx, &id).await.unwrap();
        assert_eq!(outputs.len(), 1);
        let out = openssl_verify(&outputs[0], CONTRACT, &alice.ca_pem);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found = sam_cms::verify(&outputs[0], &sam_cms::Detached::Data(CONTRACT)).unwrap();
        assert_eq!(found.level, sam_cms::Level::CadesBB);
        assert_eq!(
            found.signing_time,
            Some(UnixTime::from_secs(1_790_000_000).unwrap())
        );

        // Replay: the same request, or the same SAD again, signs nothing more.
        assert_eq!(
            code(f.service.sign(&ctx, &id).await),
            "request_not_authorised"
        );
        assert_eq!(
            code(f.service.submit_sad(&ctx, "phone", &id, &sad).await),
            "request_not_pending"
        );
        assert_eq!(f.service.status(&ctx, &id).await.unwrap().status, "used");
        // Another client sees nothing.
        let other = client("client-b");
        assert_eq!(code(f.service.status(&other, &id).await), "not_found");
        assert_eq!(code(f.service.sign(&other, &id).await), "not_found");

        assert!(matches!(
            f.service.store().verify_audit_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_sads_declined_and_expired_requests_change_nothing() {
    let dbs = databases("svc_sap_threats").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        let ask = |format| authorise(&alice, format, &[("contract.pdf", CONTRACT)]);

        // A SAD for another hash, or signed by a key that is not the registered device's.
        let id = f
            .service
            .authorise(&ctx, ask(Format::Raw))
            .await
            .unwrap()
            .request_id;
        let other_hash = approve(&f, &ctx, &alice.device, &id, |r| {
            r.documents[0].hash = HashAlgorithm::Sha256.digest(b"another document");
        })
        .await;
        assert_eq!(
            code(f.service.submit_sad(&ctx, "phone", &id, &other_hash).await),
            "sad_invalid"
        );
        let impostor = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        let forged = approve(&f, &ctx, &impostor, &id, |_| {}).await;
        assert_eq!(
            code(f.service.submit_sad(&ctx, "phone", &id, &forged).await),
            "sad_invalid"
        );
        assert_eq!(f.service.status(&ctx, &id).await.unwrap().status, "pending");

        // The right SAD still works; raw output verifies under the key.
        let sad = approve(&f, &ctx, &alice.device, &id, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &id, &sad)
            .await
            .unwrap();
        let raw = f.service.sign(&ctx, &id).await.unwrap();
        let key = f
            .service
            .store()
            .key("client-a", &alice.key_id)
            .await
            .unwrap()
            .unwrap();
        sam_keys::verify(
            &key.public_key,
            KeySpec::Ecdsa(EcCurve::P256),
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(CONTRACT)),
            &raw[0],
        )
        .unwrap();

        // Declined: nothing can authorise it afterwards.
        let declined = f
            .service
            .authorise(&ctx, ask(Format::Cms))
            .await
            .unwrap()
            .request_id;
        let late = approve(&f, &ctx, &alice.device, &declined, |_| {}).await;
        f.service.decline(&ctx, "phone", &declined).await.unwrap();
        assert_eq!(
            code(f.service.submit_sad(&ctx, "phone", &declined, &late).await),
            "request_not_pending"
        );
        assert_eq!(
            code(f.service.sign(&ctx, &declined).await),
            "request_not_authorised"
        );

        // Expired: the default expiry is 300 s; at 300 s the answer comes too late.
        let expiring = f
            .service
            .authorise(&ctx, ask(Format::Cms))
            .await
            .unwrap()
            .request_id;
        let answer = approve(&f, &ctx, &alice.device, &expiring, |_| {}).await;
        f.clock.advance(300);
        assert_eq!(
            code(
                f.service
                    .submit_sad(&ctx, "phone", &expiring, &answer)
                    .await
            ),
            "request_expired"
        );
        assert_eq!(
            f.service.status(&ctx, &expiring).await.unwrap().status,
            "expired"
        );

        // A device of another user cannot answer or decline.
        assert_eq!(
            code(
                f.service
                    .decline(&client("client-b"), "phone", &expiring)
                    .await
            ),
            "not_found"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ml_dsa_65_device_authorises_a_bulk_of_100_hashes_with_one_sad() {
    use sam_algorithms::MlDsaLevel;
    let dbs = databases("svc_sap_bulk").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        f.service
            .register_user(
                &ctx,
                RegisterUser {
                    user_id: "bob".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let device = SigningKey::generate(KeySpec::MlDsa(MlDsaLevel::Level3)).unwrap();
        let public_key = device.public_key_der().unwrap();
        let message = registration_message("client-a", "bob", "pq-phone", &public_key);
        let proof = device
            .sign(RsaPadding::Pkcs1v15, &Input::Message(&message))
            .unwrap();
        f.service
            .register_device(
                &ctx,
                RegisterDevice {
                    user_id: "bob".into(),
                    device_id: "pq-phone".into(),
                    profile_id: Some(3),
                    public_key,
                    algorithm: "ML-DSA-65".into(),
                    biometric: true,
                    secure_element: true,
                    proof,
                },
            )
            .await
            .unwrap();
        let key = f.service.generate_key(&ctx, "bob", 3).await.unwrap();

        let documents: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("invoice {i}").into_bytes())
            .collect();
        let request = Authorise {
            user_id: "bob".into(),
            key_id: key.key_id.clone(),
            hash_algorithm: HashAlgorithm::Sha256,
            documents: documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    DocumentInput::digest(
                        format!("invoice-{i}.pdf"),
                        HashAlgorithm::Sha256.digest(d).as_bytes().to_vec(),
                    )
                })
                .collect(),
            format: Format::Raw,
            signatures: None,
        };
        let id = f.service.authorise(&ctx, request).await.unwrap().request_id;

        let pending = f
            .service
            .pending_requests(&ctx, "pq-phone", None, 1000)
            .await
            .unwrap();
        let shown = AuthorisationRequest::from_der(&pending[0].message).unwrap();
        assert_eq!(shown.documents.len(), 100);
        let sad = shown
            .answer(
                Id128::random().unwrap(),
                Issuer::Device(DeviceId::new("pq-phone").unwrap()),
                InstanceId::new(INSTANCE).unwrap(),
                f.now(),
                120,
            )
            .unwrap();
        let jws = SadSigner::new(device, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15)
            .sign_jws(&sad)
            .unwrap();
        f.service
            .submit_sad(&ctx, "pq-phone", &id, jws.as_bytes())
            .await
            .unwrap();

        let signatures = f.service.sign(&ctx, &id).await.unwrap();
        assert_eq!(signatures.len(), 100);
        for (document, signature) in documents.iter().zip(&signatures) {
            sam_keys::verify(
                &key.public_key,
                KeySpec::Ecdsa(EcCurve::P256),
                RsaPadding::Pkcs1v15,
                &Input::Digest(HashAlgorithm::Sha256.digest(document)),
                signature,
            )
            .unwrap();
        }
        // One SAD, one use: the bulk is signed once.
        assert_eq!(
            code(f.service.sign(&ctx, &id).await),
            "request_not_authorised"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_compute_hash_at_signing_sam_hashes_the_data_with_the_profiles_algorithm() {
    let dbs = databases("svc_compute_hash").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        let key = f.service.generate_key(&ctx, "alice", 6).await.unwrap();
        let (cert, ca) = certify(&key.public_key);
        f.service
            .import_certificate(&ctx, &key.key_id, &cert, std::slice::from_ref(&ca))
            .await
            .unwrap();
        let ca_pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca).unwrap();
        let request = |hash, document: DocumentInput, key_id: &str| Authorise {
            user_id: "alice".into(),
            key_id: key_id.into(),
            hash_algorithm: hash,
            documents: vec![document],
            format: Format::CadesBB,
            signatures: None,
        };
        let data = || DocumentInput::data("contract.pdf", CONTRACT);
        // A digest where the profile wants data, the wrong hash, data where it wants a digest.
        let digest = DocumentInput::digest(
            "contract.pdf",
            HashAlgorithm::Sha384.digest(CONTRACT).as_bytes(),
        );
        for (bad, key_id) in [
            (
                request(HashAlgorithm::Sha384, digest, &key.key_id),
                key.key_id.as_str(),
            ),
            (
                request(HashAlgorithm::Sha256, data(), &key.key_id),
                key.key_id.as_str(),
            ),
            (
                request(HashAlgorithm::Sha256, data(), &alice.key_id),
                alice.key_id.as_str(),
            ),
        ] {
            let e = f.service.authorise(&ctx, bad).await.unwrap_err();
            assert_eq!(e.code, "invalid_request", "{key_id}: {e}");
        }
        let big = DocumentInput::data(
            "huge.bin",
            vec![0u8; sam_service::sap::MAX_DOCUMENT_DATA + 1],
        );
        assert_eq!(
            code(
                f.service
                    .authorise(&ctx, request(HashAlgorithm::Sha384, big, &key.key_id))
                    .await
            ),
            "invalid_request"
        );

        let authorised = f
            .service
            .authorise(&ctx, request(HashAlgorithm::Sha384, data(), &key.key_id))
            .await
            .unwrap();
        let pending = f
            .service
            .pending_requests(&ctx, "phone", None, 1000)
            .await
            .unwrap();
        // The device is shown the digest sam computed.
        let shown = HashAlgorithm::Sha384
            .digest(CONTRACT)
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        assert!(
            pending[0].documents.contains(&shown),
            "{}",
            pending[0].documents
        );
        let sad = approve(&f, &ctx, &alice.device, &authorised.request_id, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &authorised.request_id, &sad)
            .await
            .unwrap();
        let outputs = f.service.sign(&ctx, &authorised.request_id).await.unwrap();
        let verified = openssl_verify(&outputs[0], CONTRACT, &ca_pem);
        assert!(
            verified.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        let parsed =
            sam_cms::verify::verify(&outputs[0], &sam_cms::verify::Detached::Data(CONTRACT))
                .unwrap();
        assert_eq!(
            parsed.algorithm.hash_algorithm(),
            Some(HashAlgorithm::Sha384)
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// The profile's hash algorithm is the only one its digests may use: on a SHA-256 profile, an
/// Authorise with a matching SHA-224, SHA-384, SHA-512 or SHA3-256 digest is refused before
/// anything is stored (it would otherwise be approved and signed, and a SHA-3 digest would
/// sidestep the source's SHA-3 rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_of_another_algorithm_than_the_profiles_is_refused() {
    let dbs = databases("svc_sap_hash").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        for other in [
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
            HashAlgorithm::Sha3_256,
        ] {
            let mut request = authorise(&alice, Format::Raw, &[("doc", b"contract")]);
            request.hash_algorithm = other;
            request.documents = vec![DocumentInput::digest(
                "doc",
                other.digest(b"contract").as_bytes().to_vec(),
            )];
            let e = f.service.authorise(&ctx, request).await.unwrap_err();
            assert_eq!(e.code, "invalid_request", "{other}: {e}");
            assert!(e.message.contains("this profile signs"), "{other}: {e}");
        }
        assert!(
            f.service
                .pending_requests_list(&ctx, None, 100)
                .await
                .unwrap()
                .requests
                .is_empty(),
            "nothing was stored"
        );
        // The profile's own algorithm is accepted.
        f.service
            .authorise(
                &ctx,
                authorise(&alice, Format::Raw, &[("doc", b"contract")]),
            )
            .await
            .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_waits_for_the_device_and_a_request_nobody_answers_is_withdrawn() {
    let dbs = databases("svc_await").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        let request = |contract: &'static [u8]| Authorise {
            user_id: "alice".into(),
            key_id: alice.key_id.clone(),
            hash_algorithm: HashAlgorithm::Sha256,
            documents: vec![DocumentInput::digest(
                "contract.pdf",
                HashAlgorithm::Sha256.digest(contract).as_bytes().to_vec(),
            )],
            format: Format::Raw,
            signatures: None,
        };
        let created = f.service.authorise(&ctx, request(CONTRACT)).await.unwrap();
        let id = created.request_id.as_str();
        let state = f
            .service
            .authorisation_state(&ctx, "alice", id)
            .await
            .unwrap();
        assert_eq!(
            (state.status, state.key_id.as_str(), state.sad_expires_in),
            (
                sam_store::RequestStatus::Pending,
                alice.key_id.as_str(),
                None
            )
        );
        assert_eq!(
            code(f.service.authorisation_state(&ctx, "bob", id).await),
            "not_found",
            "another user's request"
        );
        assert_eq!(
            code(
                f.service
                    .authorisation_state(&client("client-b"), "alice", id)
                    .await
            ),
            "not_found"
        );
        // The device answers while the client waits.
        let waiting =
            f.service
                .await_authorisation(&ctx, "alice", id, std::time::Duration::from_secs(20));
        let answering = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let sad = approve(&f, &ctx, &alice.device, id, |_| {}).await;
            f.service.submit_sad(&ctx, "phone", id, &sad).await.unwrap();
        };
        let (state, ()) = tokio::join!(waiting, answering);
        let state = state.unwrap();
        assert_eq!(state.status, sam_store::RequestStatus::Authorised);
        assert!(state.sad_expires_in.is_some_and(|s| s > 0 && s <= 300));

        // Nobody answers: withdrawn (declined) at the bound, so no device can approve it.
        let created = f
            .service
            .authorise(&ctx, request(b"another contract"))
            .await
            .unwrap();
        let id = created.request_id.as_str();
        let started = std::time::Instant::now();
        assert_eq!(
            code(
                f.service
                    .await_authorisation(&ctx, "alice", id, std::time::Duration::from_millis(600))
                    .await
            ),
            "request_timeout"
        );
        assert!(started.elapsed() >= std::time::Duration::from_millis(600));
        assert_eq!(f.service.status(&ctx, id).await.unwrap().status, "declined");
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
