//! Access tokens on both backends: a token is found only by its hash, kind and client within
//! its lifetime; refreshing replaces the grant's access token; revoking a refresh token ends
//! the grant, an access token only itself, and another client's or user's revocation ends
//! nothing; the grants per user are bounded; deleting the user ends their tokens.

use sam_algorithms::UnixTime;
use sam_store::{NewAccessToken, Revoked, StoreError, TokenKind};

use crate::backends::{databases, drop_databases};
use crate::records::user;

fn t(secs: i64) -> UnixTime {
    UnixTime::from_secs(1_790_000_000 + secs).unwrap()
}

fn token(byte: u8, kind: TokenKind, until: i64) -> NewAccessToken {
    NewAccessToken {
        token_hash: vec![byte; 32],
        kind,
        expires_at: t(until),
        request_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_are_bound_refreshed_revoked_and_bounded() {
    let dbs = databases("access_tokens").await;
    for db in &dbs {
        let store = db.open().await.unwrap();
        for (client, id) in [("A", "alice"), ("A", "bob"), ("B", "alice")] {
            store.create_user(&user(client, id)).await.unwrap();
        }
        assert!(matches!(
            store
                .issue_access_grant("A", "alice", "g0", &[], 4, t(0))
                .await,
            Err(StoreError::Invalid(_))
        ));
        // A grant for a user who does not exist is refused by the database.
        assert!(
            store
                .issue_access_grant(
                    "A",
                    "nobody",
                    "gx",
                    &[token(9, TokenKind::Access, 60)],
                    4,
                    t(0)
                )
                .await
                .is_err()
        );
        store
            .issue_access_grant(
                "A",
                "alice",
                "g1",
                &[
                    token(1, TokenKind::Access, 60),
                    token(2, TokenKind::Refresh, 600),
                ],
                4,
                t(0),
            )
            .await
            .unwrap();
        let found = store
            .access_token(&[1; 32], TokenKind::Access, t(59))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                found.client_id.as_str(),
                found.user_id.as_str(),
                found.grant_id.as_str()
            ),
            ("A", "alice", "g1")
        );
        // Expiry is exclusive; the kind must match.
        assert!(
            store
                .access_token(&[1; 32], TokenKind::Access, t(60))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_token(&[1; 32], TokenKind::Refresh, t(1))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_token(&[2; 32], TokenKind::Access, t(1))
                .await
                .unwrap()
                .is_none()
        );

        // A refresh by another client finds nothing; by the grant's client it replaces the
        // access token.
        assert!(matches!(
            store
                .refresh_access_grant("A", &[2; 32], &token(3, TokenKind::Refresh, 60), t(1))
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(
            store
                .refresh_access_grant("B", &[2; 32], &token(3, TokenKind::Access, 120), t(1))
                .await
                .unwrap()
                .is_none()
        );
        let refreshed = store
            .refresh_access_grant("A", &[2; 32], &token(3, TokenKind::Access, 120), t(10))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(refreshed.user_id, "alice");
        assert!(
            store
                .access_token(&[1; 32], TokenKind::Access, t(11))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_token(&[3; 32], TokenKind::Access, t(11))
                .await
                .unwrap()
                .is_some()
        );
        // An access token is not a refresh token.
        assert!(
            store
                .refresh_access_grant("A", &[3; 32], &token(4, TokenKind::Access, 120), t(11))
                .await
                .unwrap()
                .is_none()
        );

        // Another user's or client's revocation ends nothing.
        assert_eq!(
            store
                .revoke_access_token("A", "bob", &[3; 32])
                .await
                .unwrap(),
            Revoked::Nothing
        );
        assert_eq!(
            store
                .revoke_access_token("B", "alice", &[2; 32])
                .await
                .unwrap(),
            Revoked::Nothing
        );
        assert_eq!(store.access_grants("A", "alice", t(11)).await.unwrap(), 1);
        // Revoking the access token leaves the refresh token; revoking that ends the grant.
        assert_eq!(
            store
                .revoke_access_token("A", "alice", &[3; 32])
                .await
                .unwrap(),
            Revoked::Tokens(1)
        );
        assert!(
            store
                .access_token(&[2; 32], TokenKind::Refresh, t(12))
                .await
                .unwrap()
                .is_some()
        );
        store
            .refresh_access_grant("A", &[2; 32], &token(5, TokenKind::Access, 120), t(12))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .revoke_access_token("A", "alice", &[2; 32])
                .await
                .unwrap(),
            Revoked::Tokens(2)
        );
        assert!(
            store
                .access_token(&[5; 32], TokenKind::Access, t(13))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .revoke_access_token("A", "alice", &[2; 32])
                .await
                .unwrap(),
            Revoked::Nothing
        );

        // At most 3 live grants: the fourth ends the oldest; expired ones do not count.
        for (i, at) in [(10u8, 20), (11, 21), (12, 22), (13, 23)] {
            store
                .issue_access_grant(
                    "A",
                    "bob",
                    &format!("b{i}"),
                    &[token(i, TokenKind::Access, 1000)],
                    3,
                    t(at),
                )
                .await
                .unwrap();
        }
        assert_eq!(store.access_grants("A", "bob", t(30)).await.unwrap(), 3);
        assert!(
            store
                .access_token(&[10; 32], TokenKind::Access, t(30))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_token(&[13; 32], TokenKind::Access, t(30))
                .await
                .unwrap()
                .is_some()
        );

        // Deleting the user ends their tokens; the other client's alice keeps hers.
        store
            .issue_access_grant(
                "B",
                "alice",
                "c1",
                &[token(20, TokenKind::Access, 1000)],
                3,
                t(30),
            )
            .await
            .unwrap();
        assert!(store.delete_user("A", "bob").await.unwrap());
        assert!(
            store
                .access_token(&[13; 32], TokenKind::Access, t(31))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_token(&[20; 32], TokenKind::Access, t(31))
                .await
                .unwrap()
                .is_some()
        );
    }
    drop_databases(dbs).await;
}
