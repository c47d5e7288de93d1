//! Recover Password, Change Email and Change Mobile with confirmation codes, and Get User
//! Profile, on SQLite and PostgreSQL: the code goes to the right address and never back to the
//! client; nothing changes until it is confirmed; a wrong code costs an attempt; codes are per
//! purpose, per user and per client.

use sam_service::{Channel, ClientContext, RegisterUser};
use zeroize::Zeroizing;

use crate::fixtures::{Fixture, client, databases, service};
use crate::sap::code;

async fn carol(f: &Fixture, ctx: &ClientContext) {
    f.service
        .register_user(
            ctx,
            RegisterUser {
                user_id: "carol".into(),
                email: Some("carol@example.com".into()),
                mobile: Some("+4915112345678".into()),
                password: Some(Zeroizing::new("old password 1".into())),
            },
        )
        .await
        .unwrap();
}

/// The code in the last notification, and where it went.
fn last_code(f: &Fixture) -> (Zeroizing<String>, String, String) {
    let mail = f.mail();
    let last = mail.last().expect("a notification");
    (
        Zeroizing::new(last["code"].as_str().unwrap().to_owned()),
        last["recipient"].as_str().unwrap().to_owned(),
        last["kind"].as_str().unwrap().to_owned(),
    )
}

fn wrong(code: &str) -> Zeroizing<String> {
    Zeroizing::new(if code == "123456" { "654321" } else { "123456" }.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_password_resets_it_with_the_code_and_lifts_the_lock() {
    let dbs = databases("svc_recover").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        carol(&f, &ctx).await;
        // Lock carol out (the fixture locks after three failures).
        for _ in 0..3 {
            let _ = f
                .service
                .authenticate(&ctx, "carol", Zeroizing::new("guess guess".into()))
                .await;
        }
        assert!(f.service.get_user(&ctx, "carol").await.unwrap().locked);

        let sent = f
            .service
            .recover_password(&ctx, "carol", Channel::Email)
            .await
            .unwrap();
        let (code_sent, recipient, kind) = last_code(&f);
        assert_eq!(
            (recipient.as_str(), kind.as_str()),
            ("carol@example.com", "recover_password")
        );
        assert!(!format!("{sent:?}").contains(code_sent.as_str()));

        // A bad new password is refused before the code is spent.
        assert_eq!(
            code(
                f.service
                    .confirm_recover_password(
                        &ctx,
                        "carol",
                        code_sent.clone(),
                        Zeroizing::new("short".into())
                    )
                    .await
            ),
            "invalid_request"
        );
        let refused = f
            .service
            .confirm_recover_password(
                &ctx,
                "carol",
                wrong(&code_sent),
                Zeroizing::new("new password 2".into()),
            )
            .await
            .unwrap_err();
        assert_eq!(refused.code, "code_invalid");
        assert!(
            refused.message.contains("2 attempts left"),
            "{}",
            refused.message
        );
        // Another client cannot use carol's code.
        assert_eq!(
            code(
                f.service
                    .confirm_recover_password(
                        &client("client-b"),
                        "carol",
                        code_sent.clone(),
                        Zeroizing::new("new password 2".into())
                    )
                    .await
            ),
            "code_invalid"
        );
        f.service
            .confirm_recover_password(
                &ctx,
                "carol",
                code_sent.clone(),
                Zeroizing::new("new password 2".into()),
            )
            .await
            .unwrap();
        assert!(!f.service.get_user(&ctx, "carol").await.unwrap().locked);
        f.service
            .authenticate(&ctx, "carol", Zeroizing::new("new password 2".into()))
            .await
            .unwrap();
        assert_eq!(
            code(
                f.service
                    .authenticate(&ctx, "carol", Zeroizing::new("old password 1".into()))
                    .await
            ),
            "authentication_failed"
        );
        // Used: the code does not work twice.
        assert_eq!(
            code(
                f.service
                    .confirm_recover_password(
                        &ctx,
                        "carol",
                        code_sent,
                        Zeroizing::new("new password 3".into())
                    )
                    .await
            ),
            "code_invalid"
        );
        // By SMS to the registered mobile; unknown users are not found.
        f.service
            .recover_password(&ctx, "carol", Channel::Sms)
            .await
            .unwrap();
        assert_eq!(last_code(&f).1, "+4915112345678");
        assert_eq!(
            code(
                f.service
                    .recover_password(&ctx, "nobody", Channel::Email)
                    .await
            ),
            "not_found"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_and_mobile_change_only_when_the_new_address_confirms() {
    let dbs = databases("svc_contact").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        carol(&f, &ctx).await;

        assert_eq!(
            code(
                f.service
                    .change_email(&ctx, "carol", "not an address")
                    .await
            ),
            "invalid_request"
        );
        f.service
            .change_email(&ctx, "carol", "carol@new.example")
            .await
            .unwrap();
        let (email_code, recipient, kind) = last_code(&f);
        assert_eq!(
            (recipient.as_str(), kind.as_str()),
            ("carol@new.example", "change_email")
        );
        // Nothing changed yet.
        let before = f.service.get_user(&ctx, "carol").await.unwrap();
        assert_eq!(before.email.as_deref(), Some("carol@example.com"));

        f.service
            .change_mobile(&ctx, "carol", "+447700900123")
            .await
            .unwrap();
        let (mobile_code, recipient, kind) = last_code(&f);
        assert_eq!(
            (recipient.as_str(), kind.as_str()),
            ("+447700900123", "change_mobile")
        );

        // Codes are per purpose: the mobile code does not confirm the e-mail.
        if mobile_code.as_str() != email_code.as_str() {
            assert_eq!(
                code(
                    f.service
                        .confirm_change_email(&ctx, "carol", mobile_code.clone())
                        .await
                ),
                "code_invalid"
            );
        }
        let after = f
            .service
            .confirm_change_email(&ctx, "carol", email_code)
            .await
            .unwrap();
        assert_eq!(after.email.as_deref(), Some("carol@new.example"));
        assert_eq!(after.mobile.as_deref(), Some("+4915112345678"));
        let after = f
            .service
            .confirm_change_mobile(&ctx, "carol", mobile_code)
            .await
            .unwrap();
        assert_eq!(after.mobile.as_deref(), Some("+447700900123"));

        // Three wrong codes use a code up.
        f.service
            .change_email(&ctx, "carol", "carol@third.example")
            .await
            .unwrap();
        let (third, _, _) = last_code(&f);
        for _ in 0..3 {
            assert_eq!(
                code(
                    f.service
                        .confirm_change_email(&ctx, "carol", wrong(&third))
                        .await
                ),
                "code_invalid"
            );
        }
        assert_eq!(
            code(f.service.confirm_change_email(&ctx, "carol", third).await),
            "code_invalid"
        );
        // Expiry: a code confirmed after its validity is refused.
        f.service
            .change_mobile(&ctx, "carol", "+447700900999")
            .await
            .unwrap();
        let (late, _, _) = last_code(&f);
        f.clock.advance(30 * 60);
        assert_eq!(
            code(f.service.confirm_change_mobile(&ctx, "carol", late).await),
            "code_invalid"
        );
        let profile = f
            .service
            .get_user_profile(&ctx, "carol", Default::default())
            .await
            .unwrap();
        assert_eq!(profile.user.email.as_deref(), Some("carol@new.example"));
        assert_eq!(profile.user.mobile.as_deref(), Some("+447700900123"));
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_profile_lists_devices_and_keys_of_that_client_only() {
    let dbs = databases("svc_profile").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let alice = crate::sap::alice(&f, &ctx).await;
        let profile = f
            .service
            .get_user_profile(&ctx, "alice", Default::default())
            .await
            .unwrap();
        assert_eq!(profile.user.user_id, "alice");
        assert_eq!(
            profile
                .devices
                .iter()
                .map(|d| d.device_id.as_str())
                .collect::<Vec<_>>(),
            ["phone"]
        );
        assert_eq!(
            profile
                .keys
                .iter()
                .map(|k| k.key_id.as_str())
                .collect::<Vec<_>>(),
            [alice.key_id.as_str()]
        );
        assert_eq!(
            code(
                f.service
                    .get_user_profile(&client("client-b"), "alice", Default::default())
                    .await
            ),
            "not_found"
        );
        assert_eq!(
            code(
                f.service
                    .get_user_profile(&ctx, "../etc/passwd", Default::default())
                    .await
            ),
            "invalid_request"
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
