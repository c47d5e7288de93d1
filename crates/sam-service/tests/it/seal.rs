//! eSeals through the service API, on SQLite and PostgreSQL: one authorisation for a count of
//! signatures, batches until the count is spent (then refused), renewal by the client's key
//! while the seal SAD is unexpired, and a seal SAD with a count of 10 raced by 50 batches on
//! two nodes: exactly 10 signatures.

use std::sync::Arc;

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_cms::Format;
use sam_keys::Input;
use sam_sad::AuthMethod;
use sam_service::{Authorise, Channel, ClientContext, SealSign, Service};
use sam_store::ChainReport;

use crate::fixtures::{Fixture, client, databases, second_node, service};
use crate::sap::code;
use crate::scal1::{Bob, bob, client_sad, documents, last_otp};

/// Authorises a seal of `count` signatures for bob's key, by OTP; the request id.
pub(crate) async fn authorised_seal(
    f: &Fixture,
    ctx: &ClientContext,
    bob: &Bob,
    count: u32,
) -> String {
    let authorised = f
        .service
        .authorise(
            ctx,
            Authorise {
                user_id: "bob".into(),
                key_id: bob.key_id.clone(),
                hash_algorithm: HashAlgorithm::Sha256,
                documents: Vec::new(),
                format: Format::Raw,
                signatures: Some(count),
            },
        )
        .await
        .unwrap();
    let request = authorised.request_id;
    f.service
        .generate_otp(ctx, "bob", &request, Channel::Sms)
        .await
        .unwrap();
    f.service
        .verify_otp(ctx, "bob", &request, last_otp(f))
        .await
        .unwrap();
    let sad = client_sad(
        f,
        ctx,
        &authorised.message,
        AuthMethod::Otp,
        None,
        3600,
        |_| {},
    );
    f.service
        .submit_client_sad(ctx, &request, &sad)
        .await
        .unwrap();
    request
}

fn batch(request: &str, contents: &[&[u8]]) -> SealSign {
    SealSign {
        request_id: request.into(),
        hash_algorithm: HashAlgorithm::Sha256,
        documents: documents(contents),
        format: Format::Raw,
    }
}

fn check_raw(bob: &Bob, content: &[u8], signature: &[u8]) {
    sam_keys::verify(
        &bob.public_key,
        KeySpec::Ecdsa(EcCurve::P256),
        RsaPadding::Pkcs1v15,
        &Input::Digest(HashAlgorithm::Sha256.digest(content)),
        signature,
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seal_signs_batches_up_to_its_count_then_is_renewed_by_the_client() {
    let dbs = databases("svc_seal").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 5).await;

        // A seal authorisation names a count and no documents.
        let mut with_docs = Authorise {
            user_id: "bob".into(),
            key_id: bob.key_id.clone(),
            hash_algorithm: HashAlgorithm::Sha256,
            documents: documents(&[b"x"]),
            format: Format::Raw,
            signatures: Some(3),
        };
        assert_eq!(
            code(f.service.authorise(&ctx, with_docs.clone()).await),
            "invalid_request"
        );
        with_docs.documents.clear();
        with_docs.signatures = None;
        assert_eq!(
            code(f.service.authorise(&ctx, with_docs).await),
            "invalid_request"
        );

        let request = authorised_seal(&f, &ctx, &bob, 10).await;
        assert_eq!(
            code(f.service.sign(&ctx, &request).await),
            "invalid_request"
        );
        let mut signed = 0;
        for size in [3usize, 5, 2] {
            let contents: Vec<Vec<u8>> = (0..size)
                .map(|i| format!("invoice {signed} {i}").into_bytes())
                .collect();
            let refs: Vec<&[u8]> = contents.iter().map(Vec::as_slice).collect();
            let outputs = f
                .service
                .seal_sign(&ctx, batch(&request, &refs))
                .await
                .unwrap();
            assert_eq!(outputs.len(), size);
            for (content, signature) in refs.iter().zip(&outputs) {
                check_raw(&bob, content, signature);
            }
            signed += size;
        }
        assert_eq!(signed, 10);
        // The count is spent: refused, and a batch over the profile's five hashes too.
        assert_eq!(
            code(
                f.service
                    .seal_sign(&ctx, batch(&request, &[b"one more"]))
                    .await
            ),
            "sad_replayed"
        );
        let six: Vec<&[u8]> = vec![b"a", b"b", b"c", b"d", b"e", b"f"];
        assert_eq!(
            code(f.service.seal_sign(&ctx, batch(&request, &six)).await),
            "too_many_hashes"
        );

        // Renewal: a new seal request answered by the client's own SAD.
        let renewal = f.service.renew_seal(&ctx, &request).await.unwrap();
        // A renewal SAD answers only a renewal request (here: a fresh seal request).
        let fresh = f
            .service
            .authorise(
                &ctx,
                Authorise {
                    user_id: "bob".into(),
                    key_id: bob.key_id.clone(),
                    hash_algorithm: HashAlgorithm::Sha256,
                    documents: Vec::new(),
                    format: Format::Raw,
                    signatures: Some(10),
                },
            )
            .await
            .unwrap();
        let wrong = client_sad(
            &f,
            &ctx,
            &fresh.message,
            AuthMethod::Renewal,
            None,
            3600,
            |_| {},
        );
        assert_eq!(
            code(
                f.service
                    .submit_client_sad(&ctx, &fresh.request_id, &wrong)
                    .await
            ),
            "sad_invalid"
        );
        let sad = client_sad(
            &f,
            &ctx,
            &renewal.message,
            AuthMethod::Renewal,
            None,
            3600,
            |_| {},
        );
        f.service
            .submit_client_sad(&ctx, &renewal.request_id, &sad)
            .await
            .unwrap();
        let outputs = f
            .service
            .seal_sign(&ctx, batch(&renewal.request_id, &[b"after renewal"]))
            .await
            .unwrap();
        check_raw(&bob, b"after renewal", &outputs[0]);

        // The profile's SAD expiry (10 minutes) ends the seal whatever the SAD says; a lapsed
        // seal cannot be renewed — the user must authorise again.
        f.clock.advance(10 * 60);
        assert_eq!(
            code(
                f.service
                    .seal_sign(&ctx, batch(&renewal.request_id, &[b"too late"]))
                    .await
            ),
            "sad_expired"
        );
        let late = f
            .service
            .renew_seal(&ctx, &renewal.request_id)
            .await
            .unwrap();
        let sad = client_sad(
            &f,
            &ctx,
            &late.message,
            AuthMethod::Renewal,
            None,
            3600,
            |_| {},
        );
        assert_eq!(
            code(
                f.service
                    .submit_client_sad(&ctx, &late.request_id, &sad)
                    .await
            ),
            "sad_invalid"
        );
        assert!(matches!(
            f.service.store().verify_audit_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_racing_batches_on_two_nodes_spend_a_count_of_ten_exactly() {
    let dbs = databases("svc_seal_race").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = bob(&f, &ctx, 5).await;
        let request = authorised_seal(&f, &ctx, &bob, 10).await;
        let nodes: Arc<[Service; 2]> =
            Arc::new([second_node(db, &f).await, second_node(db, &f).await]);
        let mut racers = Vec::new();
        for i in 0..50 {
            let nodes = nodes.clone();
            let ctx = ctx.clone();
            let request = request.clone();
            racers.push(tokio::spawn(async move {
                let content = format!("racing invoice {i}").into_bytes();
                nodes[i % 2]
                    .seal_sign(&ctx, batch(&request, &[content.as_slice()]))
                    .await
                    .map(|outputs| (content, outputs))
            }));
        }
        let (mut signed, mut replayed) = (0, 0);
        for racer in racers {
            match racer.await.unwrap() {
                Ok((content, outputs)) => {
                    check_raw(&bob, &content, &outputs[0]);
                    signed += 1;
                }
                Err(e) if e.code == "sad_replayed" => replayed += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(
            (signed, replayed),
            (10, 40),
            "{:?}",
            f.service.store().backend()
        );
        let records = f.service.store().audit_records(0, 10_000).await.unwrap();
        let spent = records
            .iter()
            .filter(|r| r.entry.action == "sign" && r.entry.outcome == "ok")
            .count();
        assert_eq!(spent, 10);
        assert!(matches!(
            f.service.store().verify_audit_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
