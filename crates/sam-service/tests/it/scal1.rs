//! SCAL1 end to end through the service API, on SQLite and PostgreSQL: the client's
//! authorisation certificate signs the SAD, and `sam` accepts it only with the evidence of its
//! method — an OTP `sam` sent and verified for that request, the user's PIN, or an external
//! IdP's JWT that verifies against the profile's IdP certificate. Each refusal leaves the
//! request pending and is audited.

use base64ct::{Base64UrlUnpadded, Encoding};
use sam_algorithms::{HashAlgorithm, KeySpec, RsaPadding};
use sam_cms::Format;
use sam_keys::{Input, SigningKey};
use sam_sad::{
    AuthMethod, AuthorisationRequest, ClientId, Id128, InstanceId, Issuer, Sad, SadSigner, Scal,
};
use sam_service::{
    Authorise, AuthoriseResponse, Channel, ClientContext, DocumentInput, RegisterUser, UserSecret,
};
use sam_store::ChainReport;
use zeroize::Zeroizing;

use crate::fixtures::{
    Fixture, IDP_ISSUER, INSTANCE, certify, client, client_key, databases, idp, service,
};
use crate::sap::{CONTRACT, code, code as code_of, openssl_verify};

pub(crate) struct Bob {
    pub(crate) key_id: String,
    pub(crate) public_key: Vec<u8>,
    pub(crate) ca_pem: String,
}

/// Registers bob (e-mail, mobile, PIN) with a P-256 key in `profile`, certified.
pub(crate) async fn bob(f: &Fixture, ctx: &ClientContext, profile: u32) -> Bob {
    f.register_client(ctx).await;
    f.service
        .register_user(
            ctx,
            RegisterUser {
                user_id: "bob".into(),
                email: Some("bob@example.com".into()),
                mobile: Some("+441234567890".into()),
                password: Some(Zeroizing::new("4711-bob-pin".into())),
            },
        )
        .await
        .unwrap();
    let key = f.service.generate_key(ctx, "bob", profile).await.unwrap();
    let (cert, ca) = certify(&key.public_key);
    f.service
        .import_certificate(ctx, &key.key_id, &cert, std::slice::from_ref(&ca))
        .await
        .unwrap();
    Bob {
        key_id: key.key_id,
        public_key: key.public_key,
        ca_pem: der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca).unwrap(),
    }
}

pub(crate) fn documents(contents: &[&[u8]]) -> Vec<DocumentInput> {
    contents
        .iter()
        .enumerate()
        .map(|(i, content)| {
            DocumentInput::digest(
                format!("document-{i}.pdf"),
                HashAlgorithm::Sha256.digest(content).as_bytes().to_vec(),
            )
        })
        .collect()
}

async fn authorise_bob(
    f: &Fixture,
    ctx: &ClientContext,
    bob: &Bob,
    format: Format,
) -> AuthoriseResponse {
    f.service
        .authorise(
            ctx,
            Authorise {
                user_id: "bob".into(),
                key_id: bob.key_id.clone(),
                hash_algorithm: HashAlgorithm::Sha256,
                documents: documents(&[CONTRACT]),
                format,
                signatures: None,
            },
        )
        .await
        .unwrap()
}

/// The SAD the business application signs with its authorisation key for `message`, valid
/// for `validity` seconds, after `tamper`.
pub(crate) fn client_sad(
    f: &Fixture,
    ctx: &ClientContext,
    message: &[u8],
    method: AuthMethod,
    assertion: Option<String>,
    validity: i64,
    tamper: impl Fn(&mut Sad),
) -> Vec<u8> {
    client_sad_signed_by(
        &client_key().key,
        f,
        ctx,
        message,
        method,
        assertion,
        validity,
        tamper,
    )
}

/// As [`client_sad`], signed by `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn client_sad_signed_by(
    key: &SigningKey,
    f: &Fixture,
    ctx: &ClientContext,
    message: &[u8],
    method: AuthMethod,
    assertion: Option<String>,
    validity: i64,
    tamper: impl Fn(&mut Sad),
) -> Vec<u8> {
    let request = AuthorisationRequest::from_der(message).unwrap();
    let now = f.now();
    let mut sad = Sad {
        sad_id: Id128::random().unwrap(),
        request_id: request.request_id,
        issuer: Issuer::Client(ClientId::new(ctx.client_id.as_str()).unwrap()),
        subject: request.subject.clone(),
        audience: InstanceId::new(INSTANCE).unwrap(),
        key_id: request.key_id.clone(),
        profile_id: request.profile_id,
        scal: Scal::Scal1,
        hash_algorithm: request.hash_algorithm,
        hashes: request.documents.iter().map(|d| d.hash).collect(),
        num_signatures: request.num_signatures,
        mode: request.mode,
        auth_method: method,
        assertion,
        issued_at: now,
        expires_at: now.checked_add_secs(validity).unwrap(),
    };
    tamper(&mut sad);
    let copy = SigningKey::from_pkcs8_der(key.spec(), &key.to_pkcs8_der().unwrap()).unwrap();
    SadSigner::new(copy, HashAlgorithm::Sha256, RsaPadding::Pkcs1v15)
        .sign_jws(&sad)
        .unwrap()
        .into_bytes()
}

/// The OTP in the last notification `f` delivered.
pub(crate) fn last_otp(f: &Fixture) -> Zeroizing<String> {
    let mail = f.mail();
    let last = mail.last().expect("a notification");
    Zeroizing::new(last["code"].as_str().unwrap().to_owned())
}

async fn status(f: &Fixture, ctx: &ClientContext, request: &str) -> String {
    f.service.status(ctx, request).await.unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scal1_otp_flow_signs_cades_only_after_sam_verified_the_otp() {
    let dbs = databases("svc_otp").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::CadesBB).await;
        let request = authorised.request_id.as_str();
        let sad = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Otp,
            None,
            120,
            |_| {},
        );

        // The client's signature alone is no evidence of the user.
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &sad).await),
            "sad_invalid"
        );
        assert_eq!(status(&f, &ctx, request).await, "pending");

        // Generate OTP: delivered by SMS, never returned.
        let sent = f
            .service
            .generate_otp(&ctx, "bob", request, Channel::Sms)
            .await
            .unwrap();
        assert_eq!(sent.attempts, 3);
        let mail = f.mail();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0]["recipient"], "+441234567890");
        assert_eq!(mail[0]["kind"], "otp");
        let otp = last_otp(&f);
        assert!(otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()));
        assert!(!format!("{sent:?}").contains(otp.as_str()));

        // A wrong OTP costs an attempt; another user's or client's check finds nothing.
        let wrong = if otp.as_str() == "000000" {
            "000001"
        } else {
            "000000"
        };
        let refused = f
            .service
            .verify_otp(&ctx, "bob", request, Zeroizing::new(wrong.into()))
            .await
            .unwrap_err();
        assert_eq!(refused.code, "otp_invalid");
        assert!(
            refused.message.contains("2 attempts left"),
            "{}",
            refused.message
        );
        assert_eq!(
            code(
                f.service
                    .verify_otp(&client("client-b"), "bob", request, otp.clone())
                    .await
            ),
            "otp_invalid"
        );
        f.service
            .verify_otp(&ctx, "bob", request, otp.clone())
            .await
            .unwrap();
        // Used up: the same code again is refused.
        assert_eq!(
            code(
                f.service
                    .verify_otp(&ctx, "bob", request, otp.clone())
                    .await
            ),
            "otp_invalid"
        );

        // The OTP is evidence for an OTP SAD only, and only the client's key signs it.
        let as_pin = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Pin,
            None,
            120,
            |_| {},
        );
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &as_pin).await),
            "sad_invalid"
        );
        let other_hash = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Otp,
            None,
            120,
            |s| {
                s.hashes = vec![HashAlgorithm::Sha256.digest(b"another document")];
            },
        );
        assert_eq!(
            code(
                f.service
                    .submit_client_sad(&ctx, request, &other_hash)
                    .await
            ),
            "sad_invalid"
        );
        assert_eq!(status(&f, &ctx, request).await, "pending");
        f.service
            .submit_client_sad(&ctx, request, &sad)
            .await
            .unwrap();
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &sad).await),
            "request_not_pending"
        );

        let outputs = f.service.sign(&ctx, request).await.unwrap();
        assert_eq!(outputs.len(), 1);
        let verified = openssl_verify(&outputs[0], CONTRACT, &bob.ca_pem);
        assert!(
            verified.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        assert_eq!(
            code(f.service.sign(&ctx, request).await),
            "request_not_authorised"
        );
        assert!(matches!(
            f.service.store().verify_audit_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_attempts_run_out_and_an_otp_ends_with_its_request() {
    let dbs = databases("svc_otp_limits").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let first = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        f.service
            .generate_otp(&ctx, "bob", &first.request_id, Channel::Email)
            .await
            .unwrap();
        assert_eq!(f.mail()[0]["recipient"], "bob@example.com");
        let otp = last_otp(&f);
        let wrong = if otp.as_str() == "999999" {
            "999998"
        } else {
            "999999"
        };
        for _ in 0..3 {
            assert_eq!(
                code(
                    f.service
                        .verify_otp(&ctx, "bob", &first.request_id, Zeroizing::new(wrong.into()))
                        .await
                ),
                "otp_invalid"
            );
        }
        // Out of attempts: even the right code no longer works.
        assert_eq!(
            code(
                f.service
                    .verify_otp(&ctx, "bob", &first.request_id, otp)
                    .await
            ),
            "otp_invalid"
        );

        // An OTP for an expired request cannot be generated or used.
        let second = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        f.service
            .generate_otp(&ctx, "bob", &second.request_id, Channel::Sms)
            .await
            .unwrap();
        let otp = last_otp(&f);
        f.clock.advance(300);
        assert_eq!(
            code(
                f.service
                    .verify_otp(&ctx, "bob", &second.request_id, otp)
                    .await
            ),
            "otp_invalid"
        );
        assert_eq!(
            code(
                f.service
                    .generate_otp(&ctx, "bob", &second.request_id, Channel::Sms)
                    .await
            ),
            "request_expired"
        );
        // Another user's request is not found.
        let third = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        assert_eq!(
            code(
                f.service
                    .generate_otp(&ctx, "mallory", &third.request_id, Channel::Sms)
                    .await
            ),
            "not_found"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scal1_pin_flow_signs_raw_after_the_pin_and_not_with_a_wrong_one() {
    let dbs = databases("svc_pin").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        let request = authorised.request_id.as_str();
        assert_eq!(
            code(
                f.service
                    .verify_pin(&ctx, "bob", request, Zeroizing::new("0000".into()))
                    .await
            ),
            "authentication_failed"
        );
        let sad = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Pin,
            None,
            120,
            |_| {},
        );
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &sad).await),
            "sad_invalid"
        );
        f.service
            .verify_pin(&ctx, "bob", request, Zeroizing::new("4711-bob-pin".into()))
            .await
            .unwrap();
        f.service
            .submit_client_sad(&ctx, request, &sad)
            .await
            .unwrap();
        let outputs = f.service.sign(&ctx, request).await.unwrap();
        sam_keys::verify(
            &bob.public_key,
            KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(CONTRACT)),
            &outputs[0],
        )
        .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_signs_the_sad_itself_after_checking_the_pin_and_only_under_scal1() {
    let dbs = databases("svc_service_sad").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        let request = authorised.request_id.as_str();
        let pin = |text: &str| UserSecret::Pin(Zeroizing::new(text.into()));
        // A wrong PIN authorises nothing; another user cannot answer bob's request.
        assert_eq!(
            code(
                f.service
                    .authorise_with_secret(&ctx, "bob", request, pin("0000"))
                    .await
            ),
            "authentication_failed"
        );
        assert_eq!(status(&f, &ctx, request).await, "pending");
        assert_eq!(
            code(
                f.service
                    .authorise_with_secret(&ctx, "alice", request, pin("4711-bob-pin"))
                    .await
            ),
            "not_found"
        );
        f.service
            .authorise_with_secret(&ctx, "bob", request, pin("4711-bob-pin"))
            .await
            .unwrap();
        assert_eq!(status(&f, &ctx, request).await, "authorised");
        assert_eq!(
            code(
                f.service
                    .authorise_with_secret(&ctx, "bob", request, pin("4711-bob-pin"))
                    .await
            ),
            "request_not_pending",
            "one authorisation per request"
        );
        // Another node of the deployment re-verifies sam's SAD at Sign; it signs once.
        let other = crate::fixtures::second_node(db, &f).await;
        let outputs = other.sign(&ctx, request).await.unwrap();
        sam_keys::verify(
            &bob.public_key,
            KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(CONTRACT)),
            &outputs[0],
        )
        .unwrap();
        assert_eq!(
            code(f.service.sign(&ctx, request).await),
            "request_not_authorised"
        );
        // The audit log names sam as the SAD's signer, with the method it checked.
        let records = f.service.audit_export(1, 10_000).await.unwrap();
        assert!(
            records.iter().any(|r| r.entry.action == "submit_sad"
                && r.entry.actor == "sam"
                && r.entry.outcome == "ok"
                && r.entry.detail.contains("method=pin")),
            "{records:?}"
        );

        // Under SCAL2 (profile 2) the device authorises: no PIN, and nothing changes.
        let scal2 = f.service.generate_key(&ctx, "bob", 2).await.unwrap();
        let pending = f
            .service
            .authorise(
                &ctx,
                Authorise {
                    user_id: "bob".into(),
                    key_id: scal2.key_id.clone(),
                    hash_algorithm: HashAlgorithm::Sha256,
                    documents: documents(&[CONTRACT]),
                    format: Format::Raw,
                    signatures: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            code(
                f.service
                    .authorise_with_secret(&ctx, "bob", &pending.request_id, pin("4711-bob-pin"))
                    .await
            ),
            "invalid_request"
        );
        assert_eq!(status(&f, &ctx, &pending.request_id).await, "pending");
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

fn expectation<'a>(
    user_id: &'a str,
    key_id: &'a str,
    format: Option<Format>,
    hashes: &'a [sam_algorithms::Digest],
) -> sam_service::SignExpectation<'a> {
    sam_service::SignExpectation {
        user_id,
        key_id,
        format,
        hashes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_with_expectations_signs_only_the_documents_and_format_authorised() {
    let dbs = databases("svc_sign_expected").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::CadesBB).await;
        let request = authorised.request_id.as_str();
        f.service
            .authorise_with_secret(
                &ctx,
                "bob",
                request,
                UserSecret::Pin(Zeroizing::new("4711-bob-pin".into())),
            )
            .await
            .unwrap();
        let contract = [HashAlgorithm::Sha256.digest(CONTRACT)];
        let other = [HashAlgorithm::Sha256.digest(b"another document")];
        let expect = |user, format, hashes| expectation(user, &bob.key_id, format, hashes);
        // The user authorised the signed attributes made from the document's digest: the
        // document (not the DTBS/R) is what is expected, in the format it was authorised for.
        for (expected, why) in [
            (
                expect("bob", Some(Format::Raw), &contract),
                "another format",
            ),
            (
                expect("bob", Some(Format::CadesBT), &contract),
                "another level",
            ),
            (
                expect("bob", Some(Format::CadesBB), &other),
                "another document",
            ),
            (expect("bob", Some(Format::CadesBB), &[]), "no document"),
            (
                expect("alice", Some(Format::CadesBB), &contract),
                "another user",
            ),
        ] {
            let refused = f.service.sign_expected(&ctx, request, &expected).await;
            assert_eq!(code(refused), "sad_invalid", "{why}");
            assert_eq!(
                code(
                    f.service
                        .check_sign_expected(&ctx, request, &expected)
                        .await
                ),
                "sad_invalid",
                "{why}"
            );
        }
        assert_eq!(
            status(&f, &ctx, request).await,
            "authorised",
            "nothing spent"
        );
        // Whatever the format, a check that the SAD stands for the document passes.
        f.service
            .check_sign_expected(&ctx, request, &expect("bob", None, &contract))
            .await
            .unwrap();
        let outputs = f
            .service
            .sign_expected(
                &ctx,
                request,
                &expect("bob", Some(Format::CadesBB), &contract),
            )
            .await
            .unwrap();
        let out = openssl_verify(&outputs[0], CONTRACT, &bob.ca_pem);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            code(
                f.service
                    .sign_expected(
                        &ctx,
                        request,
                        &expect("bob", Some(Format::CadesBB), &contract)
                    )
                    .await
            ),
            "request_not_authorised",
            "once"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_otp_authorises_one_request_of_that_key() {
    let dbs = databases("svc_key_otp").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let other_key = f.service.generate_key(&ctx, "bob", 4).await.unwrap();
        let authorise = |key: &str| Authorise {
            user_id: "bob".into(),
            key_id: key.into(),
            hash_algorithm: HashAlgorithm::Sha256,
            documents: documents(&[CONTRACT]),
            format: Format::Raw,
            signatures: None,
        };
        let otp = |code: &Zeroizing<String>| UserSecret::CredentialOtp(code.clone());
        // Bob has a mobile number: the code goes by text message, never back to the client.
        let sent = f
            .service
            .generate_credential_otp(&ctx, "bob", &bob.key_id)
            .await
            .unwrap();
        assert_eq!(sent.channel, Channel::Sms);
        let code = last_otp(&f);
        assert_eq!(f.mail().last().unwrap()["recipient"], "+441234567890");
        assert!(!format!("{sent:?}").contains(code.as_str()));
        // A wrong code is refused and its request declined; the code of one key does not
        // authorise another key's request.
        let wrong = Zeroizing::new("000000".to_owned());
        let wrong = if wrong == code {
            Zeroizing::new("000001".to_owned())
        } else {
            wrong
        };
        assert_eq!(
            code_of(
                f.service
                    .authorise_by_secret(&ctx, authorise(&bob.key_id), otp(&wrong))
                    .await
            ),
            "otp_invalid"
        );
        assert_eq!(
            code_of(
                f.service
                    .authorise_by_secret(&ctx, authorise(&other_key.key_id), otp(&code))
                    .await
            ),
            "otp_invalid"
        );
        // The refused authorisations left no request for a device to show or approve.
        let pending = f
            .service
            .pending_requests_list(&ctx, None, 100)
            .await
            .unwrap();
        assert!(pending.requests.is_empty(), "{pending:?}");
        let authorised = f
            .service
            .authorise_by_secret(&ctx, authorise(&bob.key_id), otp(&code))
            .await
            .unwrap();
        assert!(authorised.expires_in > 0 && authorised.expires_in <= 300);
        assert_eq!(status(&f, &ctx, &authorised.request_id).await, "authorised");
        let outputs = f.service.sign(&ctx, &authorised.request_id).await.unwrap();
        sam_keys::verify(
            &bob.public_key,
            KeySpec::Ecdsa(sam_algorithms::EcCurve::P256),
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(CONTRACT)),
            &outputs[0],
        )
        .unwrap();
        // Used once: the same code authorises nothing more.
        assert_eq!(
            code_of(
                f.service
                    .authorise_by_secret(&ctx, authorise(&bob.key_id), otp(&code))
                    .await
            ),
            "otp_invalid"
        );
        // Both factors: each is checked.
        f.service
            .generate_credential_otp(&ctx, "bob", &bob.key_id)
            .await
            .unwrap();
        let code = last_otp(&f);
        let both = |pin: &str| UserSecret::PinAndCredentialOtp {
            pin: Zeroizing::new(pin.into()),
            otp: code.clone(),
        };
        assert_eq!(
            code_of(
                f.service
                    .authorise_by_secret(&ctx, authorise(&bob.key_id), both("not the pin"))
                    .await
            ),
            "authentication_failed"
        );
        f.service
            .authorise_by_secret(&ctx, authorise(&bob.key_id), both("4711-bob-pin"))
            .await
            .unwrap();
        // Another user's key, and a user without contacts, get no code.
        assert_eq!(
            code_of(
                f.service
                    .generate_credential_otp(&ctx, "alice", &bob.key_id)
                    .await
            ),
            "not_found"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_scal2_no_pin_or_otp_stands_in_for_the_device() {
    let dbs = databases("svc_scal2_pin").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        // Bob's key under profile 2 (SCAL2); his PIN is right and sam checked it.
        let bob = bob(&f, &ctx, 2).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        let request = authorised.request_id.as_str();
        f.service
            .verify_pin(&ctx, "bob", request, Zeroizing::new("4711-bob-pin".into()))
            .await
            .unwrap();
        // A client SAD claiming SCAL2 for the PIN (it binds the hashes, as SCAL2 asks) is
        // still refused: under SCAL2 only the user's device authorises.
        for method in [AuthMethod::Pin, AuthMethod::Otp] {
            let sad = client_sad(&f, &ctx, &authorised.message, method, None, 120, |sad| {
                sad.scal = Scal::Scal2
            });
            let refused = f
                .service
                .submit_client_sad(&ctx, request, &sad)
                .await
                .unwrap_err();
            assert_eq!(refused.code.as_str(), "sad_invalid");
            assert!(refused.message.contains("SCAL1"), "{}", refused.message);
        }
        assert_eq!(status(&f, &ctx, request).await, "pending");
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sad_needs_the_clients_registered_authorisation_certificate() {
    let dbs = databases("svc_client_key").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let authorised = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
        let request = authorised.request_id.as_str();
        f.service
            .verify_pin(&ctx, "bob", request, Zeroizing::new("4711-bob-pin".into()))
            .await
            .unwrap();
        // Signed by another key than the certificate's.
        let stranger = SigningKey::generate(KeySpec::Ecdsa(sam_algorithms::EcCurve::P256)).unwrap();
        let forged = client_sad_signed_by(
            &stranger,
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Pin,
            None,
            60,
            |_| {},
        );
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &forged).await),
            "sad_invalid"
        );
        // Naming another client as issuer.
        let other = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Pin,
            None,
            60,
            |s| {
                s.issuer = Issuer::Client(ClientId::new("client-b").unwrap());
            },
        );
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &other).await),
            "sad_invalid"
        );
        // A client without an authorisation certificate.
        let mut record = f.service.store().client("client-a").await.unwrap().unwrap();
        record.authorisation_certificate = None;
        f.service.store().put_client(&record).await.unwrap();
        let good = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Pin,
            None,
            60,
            |_| {},
        );
        assert_eq!(
            code(f.service.submit_client_sad(&ctx, request, &good).await),
            "sad_invalid"
        );
        f.register_client(&ctx).await;
        f.service
            .submit_client_sad(&ctx, request, &good)
            .await
            .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// An IdP JWT over `claims`, RS256 by `key` (or `alg` `none` unsigned).
fn idp_jwt(key: Option<&SigningKey>, claims: &serde_json::Value) -> String {
    let alg = if key.is_some() { "RS256" } else { "none" };
    let input = format!(
        "{}.{}",
        b64(serde_json::json!({"alg": alg, "typ": "JWT"})
            .to_string()
            .as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.map_or_else(Vec::new, |key| {
        key.sign(
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(input.as_bytes())),
        )
        .unwrap()
    });
    format!("{input}.{}", b64(&signature))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delegated_idp_assertions_are_verified_before_the_sad_counts() {
    let dbs = databases("svc_idp").await;
    let other_idp =
        SigningKey::generate(KeySpec::Rsa(sam_algorithms::RsaKeySize::Bits2048)).unwrap();
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 4).await;
        let now = f.now().as_secs();
        let claims = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut c = serde_json::json!({
                "iss": IDP_ISSUER, "aud": "client-a", "sub": "bob",
                "iat": now, "exp": now + 300,
            });
            change(&mut c);
            c
        };
        let idp_key = Some(&idp().key);
        let refused: Vec<(&str, String)> = vec![
            (
                "wrong issuer",
                idp_jwt(idp_key, &claims(&|c| c["iss"] = "https://evil.test".into())),
            ),
            (
                "wrong audience",
                idp_jwt(idp_key, &claims(&|c| c["aud"] = "client-b".into())),
            ),
            (
                "another user",
                idp_jwt(idp_key, &claims(&|c| c["sub"] = "alice".into())),
            ),
            (
                "expired",
                idp_jwt(idp_key, &claims(&|c| c["exp"] = (now - 11).into())),
            ),
            ("another key", idp_jwt(Some(&other_idp), &claims(&|_| {}))),
            ("alg none", idp_jwt(None, &claims(&|_| {}))),
        ];
        for (case, assertion) in refused {
            let authorised = authorise_bob(&f, &ctx, &bob, Format::Raw).await;
            let sad = client_sad(
                &f,
                &ctx,
                &authorised.message,
                AuthMethod::Idp,
                Some(assertion),
                120,
                |_| {},
            );
            let e = f
                .service
                .submit_client_sad(&ctx, &authorised.request_id, &sad)
                .await
                .unwrap_err();
            assert!(
                e.code == "assertion_invalid" || e.code == "sad_invalid",
                "{case}: {e}"
            );
            assert_eq!(
                status(&f, &ctx, &authorised.request_id).await,
                "pending",
                "{case}"
            );
        }

        // Expired, but within the IdP's 10 s tolerance; then the whole flow.
        let authorised = authorise_bob(&f, &ctx, &bob, Format::CadesBB).await;
        let assertion = idp_jwt(idp_key, &claims(&|c| c["exp"] = (now - 9).into()));
        let sad = client_sad(
            &f,
            &ctx,
            &authorised.message,
            AuthMethod::Idp,
            Some(assertion),
            120,
            |_| {},
        );
        f.service
            .submit_client_sad(&ctx, &authorised.request_id, &sad)
            .await
            .unwrap();
        let outputs = f.service.sign(&ctx, &authorised.request_id).await.unwrap();
        let verified = openssl_verify(&outputs[0], CONTRACT, &bob.ca_pem);
        assert!(
            verified.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        // Every refusal is in the audit log with its code.
        let records = f.service.store().audit_records(0, 1000).await.unwrap();
        let refusals = records
            .iter()
            .filter(|r| r.entry.action == "submit_sad" && r.entry.outcome != "ok")
            .count();
        assert_eq!(refusals, 6);
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
