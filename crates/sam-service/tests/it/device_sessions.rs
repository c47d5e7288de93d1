//! Device sessions on both backends: a device opens a session only by signing a fresh
//! challenge with its registered key; a challenge opens at most one session; tokens expire,
//! cannot be altered, and end when their device is deleted.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_keys::{Input, SigningKey};
use sam_service::{RegisterUser, ServiceError, session_message};

use crate::devices::enrol;
use crate::fixtures::{client, databases, service};

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

fn answer(key: &SigningKey, client: &str, device: &str, id: &str, challenge: &str) -> Vec<u8> {
    let message = session_message(client, device, id, challenge);
    key.sign(
        RsaPadding::Pkcs1v15,
        &Input::Digest(HashAlgorithm::Sha256.digest(&message)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_session_needs_the_device_key_and_ends_with_the_device() {
    let dbs = databases("svc_device_sessions").await;
    for db in &dbs {
        let f = service(db).await;
        let s = &f.service;
        let a = client("client-a");
        for user in ["alice", "bob"] {
            s.register_user(
                &a,
                RegisterUser {
                    user_id: user.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        let alice_key = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        let bob_key = SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        s.register_device(&a, enrol("client-a", "alice", "phone", &alice_key, "ES256"))
            .await
            .unwrap();
        s.register_device(&a, enrol("client-a", "bob", "bob.phone", &bob_key, "ES256"))
            .await
            .unwrap();

        // The device signs the challenge: a session for that device and its user.
        let c = s.device_challenge("client-a", "phone").await.unwrap();
        let signature = answer(
            &alice_key,
            "client-a",
            "phone",
            &c.challenge_id,
            &c.challenge,
        );
        let opened = s
            .open_device_session(
                "client-a",
                "phone",
                &c.challenge_id,
                &c.challenge,
                &signature,
            )
            .await
            .unwrap();
        let session = s.device_session(&opened.token).await.unwrap();
        assert_eq!(
            (
                session.client.client_id.as_str(),
                session.device_id.as_str(),
                session.user_id.as_str()
            ),
            ("client-a", "phone", "alice")
        );

        // The same challenge again: refused, even with the right signature.
        assert_eq!(
            code(
                s.open_device_session(
                    "client-a",
                    "phone",
                    &c.challenge_id,
                    &c.challenge,
                    &signature
                )
                .await
            ),
            "device_authentication_failed"
        );

        // Another key's signature (bob's, for alice's device) is refused and spends the
        // challenge; so does a challenge answered for another device or client.
        let c = s.device_challenge("client-a", "phone").await.unwrap();
        let wrong = answer(&bob_key, "client-a", "phone", &c.challenge_id, &c.challenge);
        assert_eq!(
            code(
                s.open_device_session("client-a", "phone", &c.challenge_id, &c.challenge, &wrong)
                    .await
            ),
            "device_authentication_failed"
        );
        let right = answer(
            &alice_key,
            "client-a",
            "phone",
            &c.challenge_id,
            &c.challenge,
        );
        assert_eq!(
            code(
                s.open_device_session("client-a", "phone", &c.challenge_id, &c.challenge, &right)
                    .await
            ),
            "device_authentication_failed"
        );
        let c = s.device_challenge("client-a", "bob.phone").await.unwrap();
        let bob_answer = answer(
            &bob_key,
            "client-a",
            "bob.phone",
            &c.challenge_id,
            &c.challenge,
        );
        for (client_id, device) in [("client-a", "phone"), ("client-b", "bob.phone")] {
            assert_eq!(
                code(
                    s.open_device_session(
                        client_id,
                        device,
                        &c.challenge_id,
                        &c.challenge,
                        &bob_answer
                    )
                    .await
                ),
                "device_authentication_failed",
                "{client_id} {device}"
            );
        }

        // A challenge for an unknown device is issued like any other, and cannot be answered.
        let c = s.device_challenge("client-a", "nobody").await.unwrap();
        let signature = answer(
            &alice_key,
            "client-a",
            "nobody",
            &c.challenge_id,
            &c.challenge,
        );
        assert_eq!(
            code(
                s.open_device_session(
                    "client-a",
                    "nobody",
                    &c.challenge_id,
                    &c.challenge,
                    &signature
                )
                .await
            ),
            "device_authentication_failed"
        );

        // An expired challenge is refused.
        let c = s.device_challenge("client-a", "phone").await.unwrap();
        f.clock.advance(61);
        let signature = answer(
            &alice_key,
            "client-a",
            "phone",
            &c.challenge_id,
            &c.challenge,
        );
        assert_eq!(
            code(
                s.open_device_session(
                    "client-a",
                    "phone",
                    &c.challenge_id,
                    &c.challenge,
                    &signature
                )
                .await
            ),
            "device_authentication_failed"
        );

        // An altered token is refused: another device, another expiry, another MAC.
        let c = s.device_challenge("client-a", "phone").await.unwrap();
        let signature = answer(
            &alice_key,
            "client-a",
            "phone",
            &c.challenge_id,
            &c.challenge,
        );
        let token = s
            .open_device_session(
                "client-a",
                "phone",
                &c.challenge_id,
                &c.challenge,
                &signature,
            )
            .await
            .unwrap()
            .token;
        let parts: Vec<&str> = token.split('~').collect();
        assert_eq!(parts.len(), 5, "{token}");
        for altered in [
            token.replace("~phone~", "~bob.phone~"),
            format!(
                "{}~{}~{}~{}~{}",
                parts[0], parts[1], parts[2], "99999999999", parts[4]
            ),
            format!("{}A", token),
            token[..token.len() - 2].to_owned(),
            String::new(),
            "v1~client-a~phone~1~".into(),
        ] {
            assert_eq!(
                code(s.device_session(&altered).await),
                "device_authentication_failed",
                "{altered}"
            );
        }
        assert!(s.device_session(&token).await.is_ok());

        // Sessions expire after five minutes.
        f.clock.advance(299);
        assert!(s.device_session(&token).await.is_ok());
        f.clock.advance(1);
        assert_eq!(
            code(s.device_session(&token).await),
            "device_authentication_failed"
        );

        // Deleting the device ends its sessions at once.
        let c = s.device_challenge("client-a", "phone").await.unwrap();
        let signature = answer(
            &alice_key,
            "client-a",
            "phone",
            &c.challenge_id,
            &c.challenge,
        );
        let token = s
            .open_device_session(
                "client-a",
                "phone",
                &c.challenge_id,
                &c.challenge,
                &signature,
            )
            .await
            .unwrap()
            .token;
        s.delete_device(&a, "phone").await.unwrap();
        assert_eq!(
            code(s.device_session(&token).await),
            "device_authentication_failed"
        );

        // Every refusal is audited with its reason.
        let audit = s.store().audit_records(1, 10_000).await.unwrap();
        let refusals: Vec<_> = audit
            .iter()
            .map(|r| &r.entry)
            .filter(|e| e.action == "open_device_session" && e.outcome != "ok")
            .collect();
        assert_eq!(refusals.len(), 7, "{refusals:#?}");
        s.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
