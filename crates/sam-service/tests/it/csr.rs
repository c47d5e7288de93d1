//! Get CSR under a SAD, on SQLite and PostgreSQL: the certification request is built by `sam`
//! from the key and the subject, authorised by the user's device like any signature, signed
//! once, and accepted by `openssl req -verify`; without an authorisation nothing is signed.

use sam_service::ClientContext;

use crate::fixtures::{Fixture, client, databases, service};
use crate::sap::{alice, approve, code};

fn openssl_req(csr: &[u8]) -> std::process::Output {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "csr-{}-{}.der",
        std::process::id(),
        sam_sad::Id128::random().unwrap()
    ));
    std::fs::write(&path, csr).unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-verify", "-noout", "-subject", "-inform", "DER", "-in",
        ])
        .arg(&path)
        .output()
        .expect("openssl (scripts/test installs it)");
    let _ = std::fs::remove_file(&path);
    out
}

async fn csr_request(f: &Fixture, ctx: &ClientContext, key_id: &str) -> String {
    f.service
        .authorise_csr(ctx, "alice", key_id, "CN=Alice Example,O=Example,C=BE")
        .await
        .unwrap()
        .request_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csr_is_signed_once_under_a_sad_and_openssl_verifies_it() {
    let dbs = databases("svc_csr").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = alice(&f, &ctx).await;

        // Bad subjects and other users' keys are refused up front.
        assert_eq!(
            code(
                f.service
                    .authorise_csr(&ctx, "alice", &alice.key_id, "not a name")
                    .await
            ),
            "invalid_request"
        );
        assert_eq!(
            code(
                f.service
                    .authorise_csr(&ctx, "bob", &alice.key_id, "CN=Bob")
                    .await
            ),
            "not_found"
        );
        assert_eq!(
            code(
                f.service
                    .authorise_csr(&client("client-b"), "alice", &alice.key_id, "CN=Alice")
                    .await
            ),
            "not_found"
        );

        let request = csr_request(&f, &ctx, &alice.key_id).await;
        // Nothing is signed before the user authorised it.
        assert_eq!(
            code(f.service.get_csr(&ctx, &request).await),
            "request_not_authorised"
        );
        let sad = approve(&f, &ctx, &alice.device, &request, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &request, &sad)
            .await
            .unwrap();
        // A CSR request is not a signature request, and the reverse.
        assert_eq!(
            code(f.service.sign(&ctx, &request).await),
            "invalid_request"
        );

        let view = f.service.get_csr(&ctx, &request).await.unwrap();
        assert_eq!(view.key_id, alice.key_id);
        let parsed = sam_cms::csr::verify_csr(&view.csr).unwrap();
        let spki = der::Encode::to_der(&parsed.info.public_key).unwrap();
        assert_eq!(
            spki,
            f.service
                .get_user_profile(&ctx, "alice", Default::default())
                .await
                .unwrap()
                .keys[0]
                .public_key
        );
        let out = openssl_req(&view.csr);
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            shown.contains("CN") && shown.contains("Alice Example"),
            "{shown}"
        );
        // Once.
        assert_eq!(
            code(f.service.get_csr(&ctx, &request).await),
            "request_not_authorised"
        );
        // Audited as what it is: a Get CSR, whose SAD was spent for a Get CSR — never a
        // signature (the one `sign` record is the refused Sign above).
        let records: Vec<(String, String, String)> = f
            .service
            .store()
            .audit_records(1, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.detail.contains(&request))
            .map(|r| (r.entry.action, r.entry.outcome, r.entry.detail))
            .collect();
        let has = |action: &str, outcome: &str, detail: &str| {
            records
                .iter()
                .any(|(a, o, d)| a == action && o == outcome && d.contains(detail))
        };
        assert!(has("sad_spent", "ok", "for=get_csr"), "{records:?}");
        assert!(has("get_csr", "ok", ""), "{records:?}");
        assert!(
            !records
                .iter()
                .any(|(a, o, d)| (a == "sign" && o == "ok") || d.contains("for=sign")),
            "{records:?}"
        );

        // A declined CSR request signs nothing.
        let declined = csr_request(&f, &ctx, &alice.key_id).await;
        f.service.decline(&ctx, "phone", &declined).await.unwrap();
        assert_eq!(
            code(f.service.get_csr(&ctx, &declined).await),
            "request_not_authorised"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
