//! A user's credentials (the CSC API's `credentials/list` and `credentials/info`) on both
//! backends: each of the user's keys with its certificate, the one algorithm its profile signs
//! with, its SCAL, how many hashes one authorisation covers and how the user can authorise —
//! and only the user's own, under their own client.

use sam_algorithms::{HashAlgorithm, Scal, SignatureAlgorithm};
use sam_service::{
    CertificateValidity, Channel, ClientSettings, CredentialAuthorisation, RegisterUser,
};
use zeroize::Zeroizing;

use crate::fixtures::{client, databases, service};
use crate::sap::{alice, code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_describe_the_users_own_keys() {
    let dbs = databases("svc_credentials").await;
    for db in &dbs {
        let f = service(db).await;
        let s = &f.service;
        let a = client("client-a");
        let b = client("client-b");
        // Alice: a device and a certified SCAL2 P-256 key (profile 2).
        let alice = alice(&f, &a).await;
        // Bob: a password and an e-mail address, a SCAL1 key (profile 4) and a bulk SCAL2
        // key (profile 3), neither certified yet.
        s.register_user(
            &a,
            RegisterUser {
                user_id: "bob".into(),
                password: Some(Zeroizing::new("bob password 1".into())),
                email: Some("bob@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let bob_scal1 = s.generate_key(&a, "bob", 4).await.unwrap();
        let bob_bulk = s.generate_key(&a, "bob", 3).await.unwrap();

        let page = s.credentials(&a, "alice", None, 10).await.unwrap();
        assert_eq!(page.next, None);
        let [c] = &page.credentials[..] else {
            panic!("{page:?}")
        };
        assert_eq!(c.key_id, alice.key_id);
        assert_eq!(
            c.signature_algorithm,
            SignatureAlgorithm::Ecdsa(HashAlgorithm::Sha256)
        );
        assert_eq!(c.scal, Scal::Scal2);
        assert_eq!(c.max_signatures, 1, "profile 2 signs one hash at a time");
        assert!(c.certificate.as_ref().is_some_and(|v| v.chain.len() == 1));
        assert_eq!(c.certificate_validity, Some(CertificateValidity::Valid));
        assert!(c.enabled && c.usable());
        assert_eq!(
            c.authorisation,
            CredentialAuthorisation {
                device: true,
                pin: false,
                otp: None
            },
            "under SCAL2 only the device"
        );
        assert_eq!(
            s.credential(&a, "alice", &alice.key_id).await.unwrap(),
            *c,
            "info says what the list says"
        );

        // Bob's, paged in key id order.
        let mut ids = [bob_scal1.key_id.clone(), bob_bulk.key_id.clone()];
        ids.sort();
        let first = s.credentials(&a, "bob", None, 1).await.unwrap();
        assert_eq!(first.credentials.len(), 1);
        assert_eq!(first.credentials[0].key_id, ids[0]);
        let rest = s
            .credentials(&a, "bob", first.next.as_deref(), 1)
            .await
            .unwrap();
        assert_eq!(rest.credentials[0].key_id, ids[1]);
        let scal1 = s.credential(&a, "bob", &bob_scal1.key_id).await.unwrap();
        assert_eq!(scal1.scal, Scal::Scal1);
        assert_eq!(
            scal1.authorisation,
            CredentialAuthorisation {
                device: false,
                pin: true,
                otp: Some(Channel::Email)
            }
        );
        assert_eq!(scal1.certificate, None);
        assert_eq!(scal1.certificate_validity, None);
        assert!(scal1.enabled && !scal1.usable(), "no certificate yet");
        let bulk = s.credential(&a, "bob", &bob_bulk.key_id).await.unwrap();
        assert_eq!(
            bulk.max_signatures,
            u32::try_from(sam_sad::sad::MAX_HASHES).unwrap(),
            "unlimited bulk: the deployment's limit"
        );
        assert!(!bulk.authorisation.any(), "SCAL2 and no device");

        // Another user's key, another client's user: the answer of a missing one.
        for r in [
            s.credential(&a, "bob", &alice.key_id).await,
            s.credential(&b, "alice", &alice.key_id).await,
            s.credential(&a, "alice", "k00000000000000000000000000000000")
                .await,
        ] {
            assert_eq!(code(r), "not_found");
        }
        assert_eq!(
            code(s.credentials(&b, "alice", None, 10).await),
            "not_found"
        );
        assert_eq!(
            code(s.credentials(&a, "alice", None, 0).await),
            "invalid_request"
        );
        assert_eq!(
            code(s.credential(&a, "alice", "../k1").await),
            "invalid_request"
        );

        // A profile the client no longer has disables its keys; past its validity the
        // certificate has expired.
        let selected = |profiles: Vec<u32>| ClientSettings {
            client_id: "client-a".into(),
            sam_access: true,
            selected_profiles: Some(profiles),
            ..ClientSettings::default()
        };
        s.update_client(&selected(vec![1, 3, 4])).await.unwrap();
        let c = s.credential(&a, "alice", &alice.key_id).await.unwrap();
        assert!(!c.enabled && !c.usable());
        s.update_client(&selected(vec![1, 2, 3, 4])).await.unwrap();
        assert!(
            s.credential(&a, "alice", &alice.key_id)
                .await
                .unwrap()
                .usable()
        );
        f.clock.advance(400 * 86_400);
        let c = s.credential(&a, "alice", &alice.key_id).await.unwrap();
        assert_eq!(c.certificate_validity, Some(CertificateValidity::Expired));
        assert!(c.enabled && !c.usable());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reference_opens_only_for_its_client_user_key_and_purpose() {
    use sam_service::ReferencePurpose::{Handle, Sad};
    let dbs = databases("svc_references").await;
    let db = &dbs[0];
    let f = service(db).await;
    let s = &f.service;
    let (a, b) = (client("client-a"), client("client-b"));
    let request = "0123456789abcdef0123456789abcdef";
    let sad = s
        .request_reference(Sad, &a, "alice", "k1", request)
        .unwrap();
    assert!(
        sad.starts_with("sad1.0123456789abcdef0123456789abcdef."),
        "{sad}"
    );
    assert_eq!(
        s.open_request_reference(Sad, &a, "alice", "k1", &sad)
            .unwrap(),
        request
    );
    // Another node of the deployment opens it too (the code key is shared).
    let other = crate::fixtures::second_node(db, &f).await;
    assert_eq!(
        other
            .open_request_reference(Sad, &a, "alice", "k1", &sad)
            .unwrap(),
        request
    );
    let handle = s
        .request_reference(Handle, &a, "alice", "k1", request)
        .unwrap();
    for (purpose, ctx, user, key, reference) in [
        (Sad, &b, "alice", "k1", sad.as_str()),
        (Sad, &a, "bob", "k1", &sad),
        (Sad, &a, "alice", "k2", &sad),
        (Handle, &a, "alice", "k1", &sad),
        (Sad, &a, "alice", "k1", &handle),
    ] {
        assert!(
            s.open_request_reference(purpose, ctx, user, key, reference)
                .is_err(),
            "{purpose:?} {user} {key} {reference}"
        );
    }
    // Any change of a character, and any truncation, is refused.
    for i in 0..sad.len() {
        let mut bytes = sad.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        if altered != sad {
            assert!(
                s.open_request_reference(Sad, &a, "alice", "k1", &altered)
                    .is_err(),
                "{altered}"
            );
        }
        assert!(
            s.open_request_reference(Sad, &a, "alice", "k1", &sad[..i])
                .is_err()
        );
    }
    assert_eq!(
        code(s.open_request_reference(Sad, &a, "alice", "k1", "sad1.x.y")),
        "sad_invalid"
    );
    assert_eq!(
        code(s.open_request_reference(Handle, &a, "alice", "k1", "hdl1.")),
        "not_found"
    );
    assert_eq!(
        code(s.request_reference(Sad, &a, "alice", "k1", "not-a-request")),
        "invalid_request"
    );
}
