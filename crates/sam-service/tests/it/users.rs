//! The user request types on both backends: validation, client isolation, Argon2id passwords,
//! lock-out, and an audit record for every call.

use sam_service::{RegisterUser, ServiceError};
use sam_store::ChainReport;
use zeroize::Zeroizing;

use crate::fixtures::{client, databases, service};

fn pw(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.into())
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_registered_read_paged_updated_and_deleted_per_client() {
    let dbs = databases("svc_users").await;
    for db in &dbs {
        let f = service(db).await;
        let (a, b) = (client("client-a"), client("client-b"));
        let alice = f
            .service
            .register_user(
                &a,
                RegisterUser {
                    user_id: "alice".into(),
                    email: Some("alice@example.com".into()),
                    mobile: Some("+32470123456".into()),
                    password: Some(pw("correct horse battery")),
                },
            )
            .await
            .unwrap();
        assert_eq!(alice.user_id, "alice");
        assert!(alice.has_password && !alice.locked);
        assert_eq!(alice.email.as_deref(), Some("alice@example.com"));

        for (bad, expected) in [
            (
                RegisterUser {
                    user_id: "alice".into(),
                    ..Default::default()
                },
                "user_exists",
            ),
            (
                RegisterUser {
                    user_id: "al ice".into(),
                    ..Default::default()
                },
                "invalid_request",
            ),
            (
                RegisterUser {
                    user_id: "bob".into(),
                    email: Some("bob".into()),
                    ..Default::default()
                },
                "invalid_request",
            ),
            (
                RegisterUser {
                    user_id: "bob".into(),
                    password: Some(pw("short")),
                    ..Default::default()
                },
                "invalid_request",
            ),
        ] {
            assert_eq!(code(f.service.register_user(&a, bad).await), expected);
        }
        for id in ["bob", "carol", "dave"] {
            f.service
                .register_user(
                    &a,
                    RegisterUser {
                        user_id: id.into(),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }

        // Another client: the same answer as a user that does not exist.
        assert_eq!(code(f.service.get_user(&b, "alice").await), "not_found");
        assert_eq!(code(f.service.get_user(&a, "nobody").await), "not_found");
        assert_eq!(code(f.service.delete_user(&b, "alice").await), "not_found");
        assert_eq!(
            code(
                f.service
                    .update_user(&b, "alice", Some("x@example.com"), None)
                    .await
            ),
            "not_found"
        );

        let page = f.service.get_users(&a, None, 3).await.unwrap();
        let ids: Vec<_> = page.users.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["alice", "bob", "carol"]);
        assert_eq!(page.next.as_deref(), Some("carol"));
        let rest = f
            .service
            .get_users(&a, page.next.as_deref(), 3)
            .await
            .unwrap();
        assert_eq!(rest.users.len(), 1);
        assert_eq!(rest.next, None);
        assert_eq!(
            code(f.service.get_users(&a, None, 0).await),
            "invalid_request"
        );

        let updated = f
            .service
            .update_user(&a, "bob", Some("bob@example.com"), None)
            .await
            .unwrap();
        assert_eq!(updated.email.as_deref(), Some("bob@example.com"));
        assert_eq!(
            code(f.service.update_user(&a, "bob", None, None).await),
            "invalid_request"
        );
        f.service.delete_user(&a, "dave").await.unwrap();
        assert_eq!(code(f.service.get_user(&a, "dave").await), "not_found");

        // Every call, refused or not, is in the chain.
        let records = f.service.store().audit_records(1, 1000).await.unwrap();
        assert_eq!(records.len(), 19, "{:?}", f.service.store().backend());
        assert!(records.iter().any(|r| r.entry.action == "get_user"
            && r.entry.outcome == "not_found"
            && r.entry.client_id == "client-b"));
        assert!(records.iter().all(|r| !r.entry.detail.contains("horse")));
        assert_eq!(
            f.service.store().verify_audit_chain().await.unwrap(),
            ChainReport::Intact { records: 19 }
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_authenticate_lock_out_and_change() {
    let dbs = databases("svc_passwords").await;
    for db in &dbs {
        let f = service(db).await;
        let a = client("client-a");
        f.service
            .register_user(
                &a,
                RegisterUser {
                    user_id: "alice".into(),
                    password: Some(pw("correct horse battery")),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        f.service
            .authenticate(&a, "alice", pw("correct horse battery"))
            .await
            .unwrap();
        // Unknown user, other client, wrong password: one answer.
        assert_eq!(
            code(
                f.service
                    .authenticate(&a, "nobody", pw("correct horse battery"))
                    .await
            ),
            "authentication_failed"
        );
        assert_eq!(
            code(
                f.service
                    .authenticate(&client("client-b"), "alice", pw("correct horse battery"))
                    .await
            ),
            "authentication_failed"
        );
        // Three failures in a row lock for 60 s, even the right password.
        for _ in 0..3 {
            assert_eq!(
                code(
                    f.service
                        .authenticate(&a, "alice", pw("wrong horse battery"))
                        .await
                ),
                "authentication_failed"
            );
        }
        assert_eq!(
            code(
                f.service
                    .authenticate(&a, "alice", pw("correct horse battery"))
                    .await
            ),
            "user_locked"
        );
        assert!(f.service.get_user(&a, "alice").await.unwrap().locked);
        f.clock.advance(60);
        f.service
            .authenticate(&a, "alice", pw("correct horse battery"))
            .await
            .unwrap();

        // Changing needs the current password; afterwards only the new one works.
        assert_eq!(
            code(
                f.service
                    .change_password(&a, "alice", None, pw("new horse battery"))
                    .await
            ),
            "authentication_failed"
        );
        assert_eq!(
            code(
                f.service
                    .change_password(
                        &a,
                        "alice",
                        Some(pw("wrong horse battery")),
                        pw("new horse battery")
                    )
                    .await
            ),
            "authentication_failed"
        );
        f.service
            .change_password(
                &a,
                "alice",
                Some(pw("correct horse battery")),
                pw("new horse battery"),
            )
            .await
            .unwrap();
        assert_eq!(
            code(
                f.service
                    .authenticate(&a, "alice", pw("correct horse battery"))
                    .await
            ),
            "authentication_failed"
        );
        f.service
            .authenticate(&a, "alice", pw("new horse battery"))
            .await
            .unwrap();
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
