//! CAdES-B-T and B-LT through the service, on SQLite and PostgreSQL, from the services it is
//! configured with: the key gets its certificate from the test PKI (through Get CSR under a
//! SAD), the time-stamp comes from an RFC 3161 TSA (`openssl ts -reply` over HTTP) and the
//! revocation values from the CA's OCSP responder; `openssl cms -verify` accepts the results
//! and our verifier reads their levels. A service without a TSA refuses these formats at
//! Authorise, before anything is stored. Digests a signature application computed are
//! time-stamped by the same TSA (the CSC API's `signatures/timestamp`).

use std::sync::Arc;

use der::Encode;
use sam_cms::http::HttpTransport;
use sam_cms::revocation::FetchingRevocationSource;
use sam_cms::{Format, Level, TimeStampClient};
use sam_service::{ClientContext, Signing};
use sam_testkit::{LocalTsa, Pki, Pointers, TsaBehaviour, openssl_cms_verify};

use crate::fixtures::{Fixture, client, databases, service, service_with};
use crate::sap::{CONTRACT, alice, approve, authorise, code};

/// Signing settings with the RFC 3161 TSA at `url`.
fn with_tsa(url: String) -> impl FnOnce(Signing) -> Signing {
    move |s| Signing {
        time_stamp_authority: Some(Arc::new(TimeStampClient::new(
            url,
            HttpTransport::default(),
        ))),
        ..s
    }
}

/// A key of alice's whose certificate the test PKI issued from the CSR she authorised.
async fn pki_certified_key(
    f: &Fixture,
    ctx: &ClientContext,
    device: &sam_keys::SigningKey,
) -> String {
    let key = f.service.generate_key(ctx, "alice", 2).await.unwrap();
    let request = f
        .service
        .authorise_csr(ctx, "alice", &key.key_id, "CN=Alice Example,O=sam")
        .await
        .unwrap()
        .request_id;
    let sad = approve(f, ctx, device, &request, |_| {}).await;
    f.service
        .submit_sad(ctx, "phone", &request, &sad)
        .await
        .unwrap();
    let csr = f.service.get_csr(ctx, &request).await.unwrap().csr;
    let pki = Pki::get();
    let certificate = pki.issue(&csr, Pointers::OcspAndCrl).to_der().unwrap();
    f.service
        .import_certificate(
            ctx,
            &key.key_id,
            &certificate,
            &[pki.ca().to_der().unwrap()],
        )
        .await
        .unwrap();
    key.key_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_t_and_b_lt_come_from_the_configured_tsa_and_ocsp_responder() {
    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let dbs = databases("svc_long_term").await;
    for db in &dbs {
        let url = tsa.url.clone();
        let f = service_with(db, move |s| Signing {
            time_stamp_authority: Some(Arc::new(TimeStampClient::new(
                url,
                HttpTransport::default(),
            ))),
            revocation: Some(Arc::new(FetchingRevocationSource::new(
                HttpTransport::default(),
            ))),
            ..s
        })
        .await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        let key_id = pki_certified_key(&f, &ctx, &alice.device).await;
        let mut signer = alice;
        signer.key_id = key_id;

        for (format, level) in [
            (Format::CadesBT, Level::CadesBT),
            (Format::CadesBLT, Level::CadesBLT),
        ] {
            let authorised = f
                .service
                .authorise(
                    &ctx,
                    authorise(&signer, format, &[("contract.pdf", CONTRACT)]),
                )
                .await
                .unwrap();
            let sad = approve(&f, &ctx, &signer.device, &authorised.request_id, |_| {}).await;
            f.service
                .submit_sad(&ctx, "phone", &authorised.request_id, &sad)
                .await
                .unwrap();
            let outputs = f.service.sign(&ctx, &authorised.request_id).await.unwrap();
            let out = openssl_cms_verify(&outputs[0], Some(CONTRACT));
            assert!(
                out.status.success(),
                "{format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let verified =
                sam_cms::verify(&outputs[0], &sam_cms::Detached::Data(CONTRACT)).unwrap();
            assert_eq!(verified.level, level, "{format}");
            assert_eq!(verified.time_stamps.len(), 1, "{format}");
        }
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tsa_b_t_and_b_lt_are_refused_at_authorise() {
    let dbs = databases("svc_no_tsa").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        for format in [Format::CadesBT, Format::CadesBLT] {
            assert_eq!(
                code(
                    f.service
                        .authorise(
                            &ctx,
                            authorise(&alice, format, &[("contract.pdf", CONTRACT)])
                        )
                        .await
                ),
                "not_supported"
            );
        }
        assert!(
            f.service
                .pending_requests(&ctx, "phone", None, 1000)
                .await
                .unwrap()
                .is_empty()
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// SECURITY.md invariant 9: a SAD spent for a signature whose output could not be completed
/// (the TSA answers 500) is not a signature produced. The audit log says `sad_spent` and
/// `sign output_failed`, never `sign ok`; the request goes back to `pending` with one unsigned
/// spend, and the user can approve it again (a new SAD is accepted for it). Both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_whose_output_fails_is_not_recorded_and_the_request_can_be_approved_again() {
    let tsa = LocalTsa::start(TsaBehaviour::Broken);
    let dbs = databases("svc_unsigned").await;
    for db in &dbs {
        let url = tsa.url.clone();
        let f = service_with(db, with_tsa(url)).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;
        let key_id = pki_certified_key(&f, &ctx, &alice.device).await;
        let mut signer = alice;
        signer.key_id = key_id;
        let request = f
            .service
            .authorise(
                &ctx,
                authorise(&signer, Format::CadesBT, &[("contract.pdf", CONTRACT)]),
            )
            .await
            .unwrap()
            .request_id;
        let records_before = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .len();
        for attempt in 1..=2 {
            let sad = approve(&f, &ctx, &signer.device, &request, |_| {}).await;
            f.service
                .submit_sad(&ctx, "phone", &request, &sad)
                .await
                .unwrap();
            assert_eq!(code(f.service.sign(&ctx, &request).await), "output_failed");
            let state = f.service.status(&ctx, &request).await.unwrap();
            assert_eq!(
                (state.status.as_str(), state.unsigned_spends),
                ("pending", attempt),
                "attempt {attempt}"
            );
        }
        let after: Vec<(String, String)> = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .into_iter()
            .skip(records_before)
            .map(|r| (r.entry.action, r.entry.outcome))
            .collect();
        let count = |action: &str, outcome: &str| {
            after
                .iter()
                .filter(|(a, o)| a == action && o == outcome)
                .count()
        };
        assert_eq!(count("sad_spent", "ok"), 2, "{after:?}");
        assert_eq!(count("sign", "output_failed"), 2, "{after:?}");
        assert_eq!(count("sign", "ok"), 0, "{after:?}");
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// The CSC API's `signatures/timestamp` through the service: the configured TSA stamps a
/// digest the caller computed, with the caller's nonce, and `openssl ts -verify` accepts the
/// token for the document; each is counted as a Sign (a plan's Sign limit bounds them) and
/// audited as `time_stamp`; an unknown user is `not_found`, an oversized nonce
/// `invalid_request`, neither counted. Both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_is_time_stamped_counted_as_a_sign_and_audited() {
    use sam_algorithms::HashAlgorithm;
    use sam_plan::{PlanSettings, RequestType, TransactionLimit};

    let tsa = LocalTsa::start(TsaBehaviour::Honest);
    let document = b"a document whose hash the application computed";
    let digest = HashAlgorithm::Sha512.digest(document);
    let nonce = vec![0x51, 0x7a, 0x00, 0x13, 0x37, 0xee, 0x01, 0x02];
    let dbs = databases("svc_time_stamp").await;
    for db in &dbs {
        let url = tsa.url.clone();
        let f = service_with(db, with_tsa(url)).await;
        assert!(f.service.time_stamps_digests());
        let ctx = client("client-a");
        alice(&f, &ctx).await;
        let mut plan = PlanSettings::new(TransactionLimit::new(100).unwrap(), f.now());
        plan.limits_by_type
            .insert(RequestType::Sign, TransactionLimit::new(2).unwrap());
        f.service.set_plan("client-a", &plan).await.unwrap();

        let token = f
            .service
            .time_stamp_digest(&ctx, "alice", digest, Some(nonce.clone()))
            .await
            .unwrap();
        let parsed = sam_cms::TimeStampToken::from_der(&token).unwrap();
        assert_eq!(parsed.info().nonce.as_ref().unwrap().as_bytes(), &nonce);
        let out = sam_testkit::openssl_ts_verify(&token, document);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = sam_testkit::openssl_ts_verify(&token, b"another document");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));

        assert_eq!(
            code(
                f.service
                    .time_stamp_digest(&ctx, "nobody", digest, None)
                    .await
            ),
            "not_found"
        );
        assert_eq!(
            code(
                f.service
                    .time_stamp_digest(&ctx, "alice", digest, Some(vec![7; 33]))
                    .await
            ),
            "invalid_request"
        );
        // The second counted Sign is the plan's last; the third is refused before the TSA.
        f.service
            .time_stamp_digest(&ctx, "alice", digest, None)
            .await
            .unwrap();
        let asked = *tsa.requests.lock().unwrap();
        assert_eq!(
            code(
                f.service
                    .time_stamp_digest(&ctx, "alice", digest, None)
                    .await
            ),
            "plan_request_type_limit_reached"
        );
        assert_eq!(*tsa.requests.lock().unwrap(), asked, "the TSA was asked");

        let records: Vec<(String, String, String, String)> = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.action == "time_stamp")
            .map(|r| {
                (
                    r.entry.actor,
                    r.entry.detail,
                    r.entry.outcome,
                    r.entry.client_id,
                )
            })
            .collect();
        let outcomes: Vec<&str> = records.iter().map(|r| r.2.as_str()).collect();
        assert_eq!(
            outcomes,
            [
                "ok",
                "not_found",
                "invalid_request",
                "ok",
                "plan_request_type_limit_reached"
            ],
            "{records:?}"
        );
        assert_eq!(records[0].0, "alice");
        assert_eq!(records[0].3, "client-a");
        assert!(
            records[0]
                .1
                .contains(&format!("hash={}", HashAlgorithm::Sha512)),
            "{records:?}"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

/// `signatures/timestamp` refused: a TSA that fails is `output_failed`, none configured is
/// `not_configured`, audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_stamp_without_a_working_tsa_is_refused_with_its_reason() {
    let broken = LocalTsa::start(TsaBehaviour::Broken);
    let digest = sam_algorithms::HashAlgorithm::Sha256.digest(b"a document");
    let dbs = databases("svc_no_time_stamp").await;
    for db in &dbs {
        let url = broken.url.clone();
        let failing = service_with(db, with_tsa(url)).await;
        let ctx = client("client-a");
        alice(&failing, &ctx).await;
        let err = failing
            .service
            .time_stamp_digest(&ctx, "alice", digest, None)
            .await
            .unwrap_err();
        assert_eq!(err.code.as_str(), "output_failed");
        assert!(err.message.contains("500"), "{err:?}");
        failing.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;

    let dbs = databases("svc_no_tsa").await;
    for db in &dbs {
        let f = service(db).await;
        assert!(!f.service.time_stamps_digests());
        let ctx = client("client-a");
        alice(&f, &ctx).await;
        assert_eq!(
            code(
                f.service
                    .time_stamp_digest(&ctx, "alice", digest, None)
                    .await
            ),
            "not_configured"
        );
        let outcomes: Vec<String> = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.action == "time_stamp")
            .map(|r| r.entry.outcome)
            .collect();
        assert_eq!(outcomes, ["not_configured"]);
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
