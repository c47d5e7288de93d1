//! One request, one audit record (SECURITY.md invariant 7; issue 16's request envelope): a
//! walk through every request type of seed 002 (`RequestType::ALL`) and every operator action
//! on SQLite and PostgreSQL, each step checked to add exactly the audit records it names —
//! its own typed action once, and for a step that spends a SAD the `sad_spent` record of the
//! spend's transaction before it. A refused request is recorded once too, with its code.
//!
//! The one action not walked is `signature_not_made`: it is written by the recovery of an
//! interrupted signing, which `sap.rs`'s tests reproduce.

use std::collections::BTreeSet;

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_cms::Format;
use sam_keys::{Input, SigningKey};
use sam_plan::{PlanSettings, RequestType as R, TransactionLimit};
use sam_profile::{CryptoSourceDescriptor, ProfileSettings, ProfileStatus, SadFormat};
use sam_sad::AuthMethod;
use sam_service::{
    AuditAction, Authorise, Channel, ClientContext, ClientCredentials, ClientSettings,
    OtherAction as O, ProfileRules, RegisterUser, SealSign, Service, ServiceSettings,
    UserProfilePaging, session_message,
};
use sam_store::testing::TestDatabase;
use zeroize::Zeroizing;

use crate::devices::enrol;
use crate::fixtures::{Fixture, certify, client, databases, service};
use crate::sap::{CONTRACT, approve, code};
use crate::scal1::{client_sad, documents, last_otp};

/// Reads the audit log on from where the last step left it.
struct Walk<'a> {
    f: &'a Fixture,
    next_seq: i64,
    walked: BTreeSet<&'static str>,
}

impl<'a> Walk<'a> {
    async fn new(f: &'a Fixture) -> Self {
        let mut walk = Self {
            f,
            next_seq: 1,
            walked: BTreeSet::new(),
        };
        walk.records().await;
        walk
    }

    /// The records since the last call: (action, outcome).
    async fn records(&mut self) -> Vec<(String, String)> {
        let records = self
            .f
            .service
            .audit_export(self.next_seq, 10_000)
            .await
            .unwrap();
        if let Some(last) = records.last() {
            self.next_seq = last.seq + 1;
        }
        records
            .into_iter()
            .map(|r| (r.entry.action, r.entry.outcome))
            .collect()
    }

    /// Checks that the step just taken added exactly `expected` (each an action and `ok`, or
    /// the code of its refusal), in this order.
    async fn step<T>(&mut self, what: &str, expected: &[(AuditAction, &str)], value: T) -> T {
        let got = self.records().await;
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(action, outcome)| (action.code().to_owned(), (*outcome).to_owned()))
            .collect();
        assert_eq!(got, want, "the audit records of {what}");
        self.walked
            .extend(expected.iter().map(|(action, _)| action.code()));
        value
    }
}

fn ok(action: impl Into<AuditAction>) -> (AuditAction, &'static str) {
    (action.into(), "ok")
}

fn spent() -> (AuditAction, &'static str) {
    ok(O::SadSpent)
}

fn refused(action: impl Into<AuditAction>, code: &'static str) -> (AuditAction, &'static str) {
    (action.into(), code)
}

fn user(id: &str) -> RegisterUser {
    RegisterUser {
        user_id: id.into(),
        email: Some(format!("{id}@example.com")),
        mobile: Some("+441234567890".into()),
        password: Some(Zeroizing::new(format!("{id} password 1"))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_type_and_operator_action_is_audited_once_with_its_action() {
    let dbs = databases("svc_envelope").await;
    for db in &dbs {
        let f = service(db).await;
        let s = &f.service;
        let ctx = client("client-a");
        f.register_client(&ctx).await;
        let mut w = Walk::new(&f).await;
        walk_users(&mut w, s, &ctx).await;
        walk_signing(&mut w, &f, &ctx).await;
        walk_scal1_and_seals(&mut w, &f, &ctx).await;
        walk_operator(&mut w, s, db).await;

        let mut expected: BTreeSet<&str> = AuditAction::all().map(AuditAction::code).collect();
        expected.remove(O::SignatureNotMade.code());
        let missing: Vec<_> = expected.difference(&w.walked).collect();
        assert!(missing.is_empty(), "not walked: {missing:?}");
        assert!(matches!(
            s.audit_verify().await.unwrap(),
            sam_store::ChainReport::Intact { .. }
        ));
    }
}

/// The user administration requests, the confirmations, and authentication.
async fn walk_users(w: &mut Walk<'_>, s: &Service, ctx: &ClientContext) {
    let v = s.register_user(ctx, user("carol")).await.unwrap();
    w.step("Register User", &[ok(R::RegisterUser)], v).await;
    let v = s.get_user(ctx, "carol").await.unwrap();
    w.step("Get User", &[ok(R::GetUser)], v).await;
    let v = s.get_users(ctx, None, 10).await.unwrap();
    w.step("Get Users", &[ok(R::GetUsers)], v).await;
    let v = s
        .update_user(ctx, "carol", Some("carol@elsewhere.example"), None)
        .await
        .unwrap();
    w.step("Update User", &[ok(R::UpdateUser)], v).await;
    let v = s
        .get_user_profile(ctx, "carol", UserProfilePaging::default())
        .await
        .unwrap();
    w.step("Get User Profile", &[ok(R::GetUserProfile)], v)
        .await;

    s.change_password(
        ctx,
        "carol",
        Some(Zeroizing::new("carol password 1".into())),
        Zeroizing::new("carol password 2".into()),
    )
    .await
    .unwrap();
    w.step("Change Password", &[ok(R::ChangePassword)], ())
        .await;
    s.authenticate(ctx, "carol", Zeroizing::new("carol password 2".into()))
        .await
        .unwrap();
    w.step("Authenticate", &[ok(R::Authenticate)], ()).await;
    // An authentication failure is one record too, with its code.
    let e = code(
        s.authenticate(ctx, "carol", Zeroizing::new("not it".into()))
            .await,
    );
    w.step(
        "a failed Authenticate",
        &[refused(R::Authenticate, "authentication_failed")],
        (),
    )
    .await;
    assert_eq!(e, "authentication_failed");
    // A CSC login and its revocation: one record each; a refused login is one record.
    let login = s
        .login_user(
            ctx,
            "carol",
            Zeroizing::new("carol password 2".into()),
            true,
        )
        .await
        .unwrap();
    w.step("a CSC login", &[ok(O::IssueAccessToken)], ()).await;
    let e = code(
        s.login_user(ctx, "carol", Zeroizing::new("not it".into()), false)
            .await,
    );
    w.step(
        "a refused CSC login",
        &[refused(O::IssueAccessToken, e)],
        (),
    )
    .await;
    let holder = s.access_token_holder(&login.access_token).await.unwrap();
    w.step("a token check (the call it serves is audited)", &[], ())
        .await;
    s.revoke_access_token(&holder, login.refresh_token.as_deref().unwrap(), None)
        .await
        .unwrap();
    w.step("a CSC revocation", &[ok(O::RevokeAccessToken)], ())
        .await;
    // A time-stamp (CSC signatures/timestamp) from a service without a TSA: one refusal
    // (long_term.rs walks the granted ones).
    let e = code(
        s.time_stamp_digest(ctx, "carol", HashAlgorithm::Sha256.digest(b"hash"), None)
            .await,
    );
    assert_eq!(e, "not_configured");
    w.step(
        "a time-stamp without a TSA",
        &[refused(O::TimeStamp, e)],
        (),
    )
    .await;
    // So is a request for something that does not exist.
    let e = code(s.get_user(ctx, "nobody").await);
    w.step("Get User of nobody", &[refused(R::GetUser, e)], ())
        .await;

    s.recover_password(ctx, "carol", Channel::Email)
        .await
        .unwrap();
    w.step("Recover Password", &[ok(R::RecoverPassword)], ())
        .await;
    let code_sent = last_otp(w.f);
    s.confirm_recover_password(
        ctx,
        "carol",
        code_sent,
        Zeroizing::new("carol password 3".into()),
    )
    .await
    .unwrap();
    w.step(
        "Confirm Recover Password",
        &[ok(R::ConfirmRecoverPassword)],
        (),
    )
    .await;
    s.change_email(ctx, "carol", "carol@new.example")
        .await
        .unwrap();
    w.step("Change Email", &[ok(R::ChangeEmail)], ()).await;
    let v = s
        .confirm_change_email(ctx, "carol", last_otp(w.f))
        .await
        .unwrap();
    w.step("Confirm Change Email", &[ok(R::ConfirmChangeEmail)], v)
        .await;
    s.change_mobile(ctx, "carol", "+447700900123")
        .await
        .unwrap();
    w.step("Change Mobile", &[ok(R::ChangeMobile)], ()).await;
    let v = s
        .confirm_change_mobile(ctx, "carol", last_otp(w.f))
        .await
        .unwrap();
    w.step("Confirm Change Mobile", &[ok(R::ConfirmChangeMobile)], v)
        .await;

    s.delete_user(ctx, "carol").await.unwrap();
    w.step("Delete User", &[ok(R::DeleteUser)], ()).await;
}

/// Devices, keys and certificates, the SCAL2 flow, a declined request, and a CSR.
async fn walk_signing(w: &mut Walk<'_>, f: &Fixture, ctx: &ClientContext) {
    let s = &f.service;
    s.register_user(ctx, user("alice")).await.unwrap();
    w.step("Register User", &[ok(R::RegisterUser)], ()).await;
    let phone = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
    let v = s
        .register_device(ctx, enrol("client-a", "alice", "phone", &phone, "ES256"))
        .await
        .unwrap();
    w.step("Register Device", &[ok(R::RegisterDevice)], v).await;
    let v = s.get_device(ctx, "phone").await.unwrap();
    w.step("Get Device", &[ok(R::GetDevice)], v).await;
    let v = s.get_devices(ctx, "alice", None, 10).await.unwrap();
    w.step("Get Devices", &[ok(R::GetDevices)], v).await;

    let challenge = s.device_challenge("client-a", "phone").await.unwrap();
    w.step("a device challenge", &[], ()).await;
    let message = session_message(
        "client-a",
        "phone",
        &challenge.challenge_id,
        &challenge.challenge,
    );
    let proof = phone
        .sign(
            RsaPadding::Pkcs1v15,
            &Input::Digest(HashAlgorithm::Sha256.digest(&message)),
        )
        .unwrap();
    let v = s
        .open_device_session(
            "client-a",
            "phone",
            &challenge.challenge_id,
            &challenge.challenge,
            &proof,
        )
        .await
        .unwrap();
    w.step("Open Device Session", &[ok(O::OpenDeviceSession)], v)
        .await;

    let v = s.get_sam_profile(ctx, 2).await.unwrap();
    w.step("Get SAM Profile", &[ok(R::GetSamProfile)], v).await;
    let key = s.generate_key(ctx, "alice", 2).await.unwrap();
    w.step("Key Generation", &[ok(R::KeyGeneration)], ()).await;
    let (cert, ca) = certify(&key.public_key);
    let v = s
        .import_certificate(ctx, &key.key_id, &cert, std::slice::from_ref(&ca))
        .await
        .unwrap();
    w.step("Import Certificate", &[ok(R::ImportCertificate)], v)
        .await;
    let v = s.get_certificate(ctx, &key.key_id).await.unwrap();
    w.step("Get Certificate", &[ok(R::GetCertificate)], v).await;
    let v = s.get_certificates(ctx, "alice", None, 10).await.unwrap();
    w.step("Get Certificates", &[ok(R::GetCertificates)], v)
        .await;
    // A user's credentials are those request types, with what a client needs beside them.
    let v = s.credentials(ctx, "alice", None, 10).await.unwrap();
    w.step(
        "Get Certificates (credentials)",
        &[ok(R::GetCertificates)],
        v,
    )
    .await;
    let v = s.credential(ctx, "alice", &key.key_id).await.unwrap();
    w.step("Get Certificate (credential)", &[ok(R::GetCertificate)], v)
        .await;

    // SCAL2: Authorise, the device fetches and answers, Status, Sign.
    let authorise = |documents| Authorise {
        user_id: "alice".into(),
        key_id: key.key_id.clone(),
        hash_algorithm: HashAlgorithm::Sha256,
        documents,
        format: Format::CadesBB,
        signatures: None,
    };
    let authorised = s
        .authorise(ctx, authorise(documents(&[CONTRACT])))
        .await
        .unwrap();
    w.step("Authorise", &[ok(R::Authorise)], ()).await;
    let v = s.pending_requests_list(ctx, None, 10).await.unwrap();
    w.step(
        "Get Pending Requests List",
        &[ok(R::GetPendingRequestsList)],
        v,
    )
    .await;
    let sad = approve(f, ctx, &phone, &authorised.request_id, |_| {}).await;
    w.step("Get Pending Requests", &[ok(R::GetPendingRequests)], ())
        .await;
    s.submit_sad(ctx, "phone", &authorised.request_id, &sad)
        .await
        .unwrap();
    w.step("the device's SAD", &[ok(O::SubmitSad)], ()).await;
    let v = s.status(ctx, &authorised.request_id).await.unwrap();
    w.step("Status", &[ok(R::Status)], v).await;
    let v = s.sign(ctx, &authorised.request_id).await.unwrap();
    w.step("Sign", &[spent(), ok(R::Sign)], v).await;
    // A second Sign under the spent SAD is refused, and recorded once.
    let e = code(s.sign(ctx, &authorised.request_id).await);
    w.step("a replayed Sign", &[refused(R::Sign, e)], ()).await;

    // A request the user declines.
    let declined = s
        .authorise(ctx, authorise(documents(&[b"another"])))
        .await
        .unwrap();
    w.step("Authorise", &[ok(R::Authorise)], ()).await;
    s.decline(ctx, "phone", &declined.request_id).await.unwrap();
    w.step("Decline Request", &[ok(R::DeclineRequest)], ())
        .await;

    // A CSR: authorised, approved on the device, made once.
    let csr = s
        .authorise_csr(ctx, "alice", &key.key_id, "CN=Alice Example,C=BE")
        .await
        .unwrap();
    w.step("Authorise CSR", &[ok(O::AuthoriseCsr)], ()).await;
    let sad = approve(f, ctx, &phone, &csr.request_id, |_| {}).await;
    w.step("Get Pending Requests", &[ok(R::GetPendingRequests)], ())
        .await;
    s.submit_sad(ctx, "phone", &csr.request_id, &sad)
        .await
        .unwrap();
    w.step("the device's SAD", &[ok(O::SubmitSad)], ()).await;
    let v = s.get_csr(ctx, &csr.request_id).await.unwrap();
    w.step("Get CSR", &[spent(), ok(R::GetCsr)], v).await;

    s.delete_device(ctx, "phone").await.unwrap();
    w.step("Delete Device", &[ok(R::DeleteDevice)], ()).await;
    s.delete_key(ctx, &key.key_id).await.unwrap();
    w.step("Key Delete", &[ok(R::KeyDelete)], ()).await;
}

/// SCAL1 by OTP and by PIN, and an eSeal: a batch under it and its renewal.
async fn walk_scal1_and_seals(w: &mut Walk<'_>, f: &Fixture, ctx: &ClientContext) {
    let s = &f.service;
    s.register_user(ctx, user("bob")).await.unwrap();
    w.step("Register User", &[ok(R::RegisterUser)], ()).await;
    let key = s.generate_key(ctx, "bob", 5).await.unwrap();
    w.step("Key Generation", &[ok(R::KeyGeneration)], ()).await;
    let (cert, ca) = certify(&key.public_key);
    s.import_certificate(ctx, &key.key_id, &cert, std::slice::from_ref(&ca))
        .await
        .unwrap();
    w.step("Import Certificate", &[ok(R::ImportCertificate)], ())
        .await;

    let seal = s
        .authorise(
            ctx,
            Authorise {
                user_id: "bob".into(),
                key_id: key.key_id.clone(),
                hash_algorithm: HashAlgorithm::Sha256,
                documents: Vec::new(),
                format: Format::Raw,
                signatures: Some(3),
            },
        )
        .await
        .unwrap();
    w.step("Authorise (a seal)", &[ok(R::Authorise)], ()).await;
    // A PIN check is its own action (counted as Authenticate); the OTP verified after it is
    // the evidence the SAD names.
    s.verify_pin(
        ctx,
        "bob",
        &seal.request_id,
        Zeroizing::new("bob password 1".into()),
    )
    .await
    .unwrap();
    w.step("Verify PIN", &[ok(O::VerifyPin)], ()).await;
    let v = s
        .generate_otp(ctx, "bob", &seal.request_id, Channel::Sms)
        .await
        .unwrap();
    w.step("Generate OTP", &[ok(R::GenerateOtp)], v).await;
    s.verify_otp(ctx, "bob", &seal.request_id, last_otp(f))
        .await
        .unwrap();
    w.step("Verify OTP", &[ok(R::VerifyOtp)], ()).await;
    let sad = client_sad(f, ctx, &seal.message, AuthMethod::Otp, None, 3600, |_| {});
    s.submit_client_sad(ctx, &seal.request_id, &sad)
        .await
        .unwrap();
    w.step("the client's SAD", &[ok(O::SubmitSad)], ()).await;
    let v = s
        .seal_sign(
            ctx,
            SealSign {
                request_id: seal.request_id.clone(),
                hash_algorithm: HashAlgorithm::Sha256,
                documents: documents(&[b"invoice 1"]),
                format: Format::Raw,
            },
        )
        .await
        .unwrap();
    w.step("a seal batch", &[spent(), ok(R::Sign)], v).await;
    let v = s.renew_seal(ctx, &seal.request_id).await.unwrap();
    w.step("Renew Seal", &[ok(O::RenewSeal)], v).await;
}

/// The operator's changes to clients, plans and profiles.
async fn walk_operator(w: &mut Walk<'_>, s: &Service, db: &TestDatabase) {
    let mut settings = ClientSettings {
        client_id: "portal".into(),
        sam_access: true,
        ..ClientSettings::default()
    };
    s.register_client(&settings).await.unwrap();
    w.step("Register Client", &[ok(O::RegisterClient)], ())
        .await;
    let e = code(s.register_client(&settings).await);
    w.step(
        "a second Register Client",
        &[refused(O::RegisterClient, e)],
        (),
    )
    .await;
    settings.email = Some("ops@portal.example".into());
    s.update_client(&settings).await.unwrap();
    w.step("Edit Client", &[ok(O::EditClient)], ()).await;
    s.set_client_secret("portal", Zeroizing::new("a long client secret 1".into()))
        .await
        .unwrap();
    w.step("Set Client Secret", &[ok(O::SetClientSecret)], ())
        .await;
    // An OAuth client of the portal, a user's login on its authorisation page (oauth2.rs
    // walks the rest of the flow), and its deletion.
    let oauth = s
        .register_oauth_client(
            "portal",
            "Portal",
            &["https://portal.example/cb".into()],
            false,
        )
        .await
        .unwrap();
    w.step("Register OAuth Client", &[ok(O::RegisterOAuthClient)], ())
        .await;
    let begun = s
        .begin_authorization(
            format!(
                "response_type=code&client_id={}&scope=service&code_challenge=\
                 E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
                oauth.client.oauth_client_id
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    w.step("an OAuth authorisation opened (not a request)", &[], ())
        .await;
    let refusal = s
        .authorization_login(
            &begun.view.authorization_id,
            &begun.browser_secret,
            "nobody",
            Zeroizing::new("a guess".into()),
        )
        .await
        .unwrap_err();
    let sam_service::oauth2::OAuthFailure::Service(e) = refusal.failure else {
        panic!("a service refusal")
    };
    w.step(
        "a refused OAuth login",
        &[refused(O::OAuthLogin, e.code.as_str())],
        (),
    )
    .await;
    s.delete_oauth_client("portal", &oauth.client.oauth_client_id)
        .await
        .unwrap();
    w.step("Delete OAuth Client", &[ok(O::DeleteOAuthClient)], ())
        .await;
    // Credentials checked and refused are recorded; accepted ones are not (the request that
    // follows is).
    let credentials = |secret: &str| ClientCredentials {
        tls_certificate: None,
        basic: Some(("portal".into(), Zeroizing::new(secret.into()))),
        peer: Some(std::net::Ipv4Addr::new(192, 0, 2, 7).into()),
    };
    let e = code(s.authenticate_client(&credentials("a guess")).await);
    w.step(
        "a wrong client secret",
        &[refused(O::ClientAuthentication, e)],
        (),
    )
    .await;
    assert_eq!(e, "client_authentication_failed");
    s.authenticate_client(&credentials("a long client secret 1"))
        .await
        .unwrap();
    w.step("the right client secret", &[], ()).await;
    // Refusals that cost no check are not recorded: a flood of them cannot fill the log.
    for (what, tls_certificate, basic) in [
        ("no credentials", None, None),
        (
            "an unknown certificate",
            Some(crate::fixtures::client_key().certificate.clone()),
            None,
        ),
        (
            "an unknown certificate with another id's Basic",
            Some(crate::fixtures::client_key().certificate.clone()),
            Some(("portal".to_owned(), Zeroizing::new("a guess".to_owned()))),
        ),
    ] {
        let e = code(
            s.authenticate_client(&ClientCredentials {
                tls_certificate,
                basic,
                peer: None,
            })
            .await,
        );
        assert_eq!(e, "client_authentication_failed", "{what}");
        w.step(what, &[], ()).await;
    }
    let phc = argon2::password_hash::PasswordHasher::hash_password_with_salt(
        &argon2::Argon2::default(),
        b"admin token",
        b"0123456789abcdef",
    )
    .unwrap()
    .to_string();
    let e = code(
        s.authenticate_admin(&phc, &Zeroizing::new("not it".into()), None)
            .await,
    );
    w.step(
        "a wrong admin credential",
        &[refused(O::AdminAuthentication, e)],
        (),
    )
    .await;
    s.authenticate_admin(&phc, &Zeroizing::new("admin token".into()), None)
        .await
        .unwrap();
    w.step("the admin credential", &[], ()).await;

    // Reads change nothing and are not audited.
    s.get_client("portal").await.unwrap();
    s.clients(None, 10).await.unwrap();
    w.step("reading clients", &[], ()).await;

    let now = w.f.now();
    s.set_plan(
        "portal",
        &PlanSettings::new(TransactionLimit::new(100).unwrap(), now),
    )
    .await
    .unwrap();
    w.step("Set Plan", &[ok(O::SetPlan)], ()).await;
    s.renew_plan("portal").await.unwrap();
    w.step("Renew Plan", &[ok(O::RenewPlan)], ()).await;

    // Profile administration runs on a node whose catalogue is the store's (the fixture's
    // profiles are in memory only); its records go to the same audit log.
    let s = &Service::from_store(
        db.open().await.unwrap(),
        w.f.clock.clone(),
        ServiceSettings::default(),
    )
    .await
    .unwrap()
    .with_profile_rules(ProfileRules {
        crypto_sources: vec![CryptoSourceDescriptor::software(
            "software".parse().unwrap(),
        )],
        sad_format: SadFormat::Json,
        eseals_enabled: false,
    });
    let mut profile =
        ProfileSettings::with_defaults("Walked".parse().unwrap(), "software".parse().unwrap());
    let created = s.create_profile(profile.clone()).await.unwrap();
    w.step("Create Profile", &[ok(O::CreateProfile)], ()).await;
    let id = created.id().get();
    profile.signing_key.key = KeySpec::Ecdsa(EcCurve::P384);
    s.edit_profile(id, profile).await.unwrap();
    w.step("Edit Profile", &[ok(O::EditProfile)], ()).await;
    s.copy_profile(id, "Walked copy".parse().unwrap(), Default::default())
        .await
        .unwrap();
    w.step("Copy Profile", &[ok(O::CopyProfile)], ()).await;
    s.set_profile_status(id, ProfileStatus::Inactive)
        .await
        .unwrap();
    w.step("Set Profile Status", &[ok(O::SetProfileStatus)], ())
        .await;
}
