//! OAuth clients and authorisations on both backends: a client belongs to one sam client;
//! an authorisation moves one stage at a time, only for the browser it is bound to, only
//! while live; its code is taken once, by its own client, before it expires, and a second
//! presentation finds the grant it gave; the live authorisations per client are bounded;
//! deleting the OAuth client deletes its authorisations.

use sam_algorithms::UnixTime;
use sam_store::{
    ClientRecord, NewAccessToken, NewOAuthAuthorization, OAuthClientRecord, OAuthStage, TokenKind,
};

use crate::backends::{databases, drop_databases};
use crate::records::user;

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

fn oauth_client(id: &str, client: &str) -> OAuthClientRecord {
    OAuthClientRecord {
        oauth_client_id: id.into(),
        client_id: client.into(),
        name: format!("{id} app"),
        redirect_uris: r#"["https://app.example/cb"]"#.into(),
        secret_hash: Some(vec![7; 32]),
        created_at: t(0),
    }
}

fn started<'a>(id: &'a str, browser: &'a [u8], until: i64) -> NewOAuthAuthorization<'a> {
    NewOAuthAuthorization {
        authorization_id: id,
        oauth_client_id: "app",
        client_id: "A",
        request: "response_type=code&client_id=app",
        redirect_uri: "https://app.example/cb",
        stage: OAuthStage::Started,
        browser_hash: Some(browser),
        expires_at: t(until),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_authorizations_move_one_stage_at_a_time_and_codes_are_taken_once() {
    let dbs = databases("oauth").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for client in ["A", "B"] {
            store
                .put_client(&ClientRecord::new(client, t(0)))
                .await
                .unwrap();
        }
        store.create_user(&user("A", "alice")).await.unwrap();
        // A client of a sam client that does not exist is refused by the database.
        assert!(
            store
                .insert_oauth_client(&oauth_client("x", "nobody"))
                .await
                .is_err()
        );
        assert!(
            store
                .insert_oauth_client(&oauth_client("app", "A"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .insert_oauth_client(&oauth_client("app", "B"))
                .await
                .unwrap()
        );
        assert!(
            store
                .insert_oauth_client(&oauth_client("other", "B"))
                .await
                .unwrap()
        );
        let found = store.oauth_client("app").await.unwrap().unwrap();
        assert_eq!(found, oauth_client("app", "A"));
        assert!(!format!("{found:?}").contains("7, 7"), "{found:?}");
        assert_eq!(
            store.oauth_clients_of("A").await.unwrap(),
            [oauth_client("app", "A")]
        );

        let browser = [1u8; 32];
        let stranger = [2u8; 32];
        assert!(
            store
                .insert_oauth_authorization(&started("az1", &browser, 600), 2, t(0))
                .await
                .unwrap()
        );
        let a = store
            .oauth_authorization("az1", t(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((a.stage, a.user_id.as_deref()), (OAuthStage::Started, None));
        assert!(
            store
                .oauth_authorization("az1", t(600))
                .await
                .unwrap()
                .is_none()
        );

        // Only this browser, only from the stage it is in.
        assert!(
            !store
                .advance_oauth_authorization(
                    "az1",
                    &stranger,
                    OAuthStage::Started,
                    OAuthStage::LoggedIn,
                    Some("alice"),
                    None,
                    t(1)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .issue_oauth_code("az1", &browser, &[9; 32], t(60), t(1))
                .await
                .unwrap(),
            "no code before the login"
        );
        assert!(
            store
                .advance_oauth_authorization(
                    "az1",
                    &browser,
                    OAuthStage::Started,
                    OAuthStage::LoggedIn,
                    Some("alice"),
                    Some("req1"),
                    t(1)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .advance_oauth_authorization(
                    "az1",
                    &browser,
                    OAuthStage::Started,
                    OAuthStage::LoggedIn,
                    Some("alice"),
                    None,
                    t(1)
                )
                .await
                .unwrap(),
            "a stage is left once"
        );
        assert!(
            store
                .issue_oauth_code("az1", &browser, &[9; 32], t(61), t(1))
                .await
                .unwrap()
        );
        let a = store
            .oauth_authorization("az1", t(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.stage, OAuthStage::CodeIssued);
        assert_eq!(a.user_id.as_deref(), Some("alice"));
        assert_eq!(a.request_id.as_deref(), Some("req1"));
        assert_eq!(
            a.expires_at,
            t(61),
            "the code's expiry is the authorisation's now"
        );

        // The code: not another client's, not after its expiry, once.
        assert!(
            store
                .take_oauth_code("other", &[9; 32], "g1", t(2))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .take_oauth_code("app", &[9; 32], "g1", t(61))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .take_oauth_code("app", &[8; 32], "g1", t(2))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.oauth_code_reused(&[9; 32]).await.unwrap(), None);
        let taken = store
            .take_oauth_code("app", &[9; 32], "g1", t(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (taken.stage, taken.grant_id.as_deref()),
            (OAuthStage::Exchanged, Some("g1"))
        );
        assert!(
            store
                .take_oauth_code("app", &[9; 32], "g2", t(3))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.oauth_code_reused(&[9; 32]).await.unwrap().as_deref(),
            Some("g1")
        );

        // The grant a reused code gave can be ended.
        store
            .issue_access_grant(
                "A",
                "alice",
                "g1",
                &[NewAccessToken {
                    token_hash: vec![3; 32],
                    kind: TokenKind::Access,
                    expires_at: t(600),
                    request_id: Some("req1".into()),
                }],
                4,
                t(2),
            )
            .await
            .unwrap();
        let bound = store
            .access_token(&[3; 32], TokenKind::Access, t(3))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            bound.request_id.as_deref(),
            Some("req1"),
            "a credential-scope token"
        );
        assert_eq!(store.end_access_grant("g1").await.unwrap(), 1);
        assert!(
            store
                .access_token(&[3; 32], TokenKind::Access, t(3))
                .await
                .unwrap()
                .is_none()
        );

        // Pushed: opened once, by one browser.
        let pushed = NewOAuthAuthorization {
            stage: OAuthStage::Pushed,
            browser_hash: None,
            ..started("az2", &browser, 90)
        };
        assert!(
            store
                .insert_oauth_authorization(&pushed, 2, t(3))
                .await
                .unwrap()
        );
        assert!(
            !store
                .open_pushed_oauth_authorization("az2", "other", &browser, t(90), t(4))
                .await
                .unwrap()
        );
        assert!(
            store
                .open_pushed_oauth_authorization("az2", "app", &browser, t(90), t(4))
                .await
                .unwrap()
        );
        assert!(
            !store
                .open_pushed_oauth_authorization("az2", "app", &stranger, t(90), t(5))
                .await
                .unwrap()
        );
        // Refused.
        assert!(
            store
                .advance_oauth_authorization(
                    "az2",
                    &browser,
                    OAuthStage::Started,
                    OAuthStage::Refused,
                    None,
                    None,
                    t(5)
                )
                .await
                .unwrap()
        );

        // Bounded: two live per client; an expired one makes room.
        assert!(
            !store
                .insert_oauth_authorization(&started("az3", &browser, 600), 2, t(5))
                .await
                .unwrap()
        );
        assert!(
            store
                .insert_oauth_authorization(&started("az3", &browser, 600), 2, t(90))
                .await
                .unwrap()
        );
        assert!(
            store
                .insert_oauth_authorization(
                    &NewOAuthAuthorization {
                        browser_hash: None,
                        ..started("az4", &browser, 600)
                    },
                    2,
                    t(90)
                )
                .await
                .is_err(),
            "a started authorisation has its browser"
        );

        // A pushed request waits briefly; once opened it lives as long as it is given.
        assert!(
            store
                .insert_oauth_authorization(
                    &NewOAuthAuthorization {
                        stage: OAuthStage::Pushed,
                        browser_hash: None,
                        ..started("az5", &browser, 100)
                    },
                    3,
                    t(91)
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .open_pushed_oauth_authorization("az5", "app", &browser, t(700), t(92))
                .await
                .unwrap()
        );
        assert!(
            store
                .oauth_authorization("az5", t(699))
                .await
                .unwrap()
                .is_some_and(|a| a.stage == OAuthStage::Started)
        );

        // Deleting the OAuth client deletes its authorisations; another sam client cannot.
        assert!(!store.delete_oauth_client("B", "app").await.unwrap());
        assert!(store.delete_oauth_client("A", "app").await.unwrap());
        assert!(
            store
                .oauth_authorization("az3", t(91))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.oauth_client("app").await.unwrap().is_none());
        store.close().await;
    }
    drop_databases(dbs).await;
}
