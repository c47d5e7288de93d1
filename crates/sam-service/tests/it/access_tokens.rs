//! Users' access tokens (the CSC API's bearer tokens) on both backends: a login needs the
//! user's password and counts as Authenticate (with its lock-out); a token speaks for exactly
//! its client and user; refresh tokens belong to their client; revocation ends what it names
//! and nothing of another user's; tokens end with their lifetime and their user.

use sam_plan::{PlanSettings, RequestType, TransactionLimit};
use sam_service::{RegisterUser, ServiceError, TokenHint};
use zeroize::Zeroizing;

use crate::fixtures::{client, databases, service};

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code.as_str()
}

fn password(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_speaks_for_its_user_only_until_it_ends() {
    let dbs = databases("svc_access_tokens").await;
    for db in &dbs {
        let f = service(db).await;
        let s = &f.service;
        let a = client("client-a");
        let b = client("client-b");
        for (ctx, user) in [(&a, "alice"), (&a, "bob"), (&b, "alice")] {
            s.register_user(
                ctx,
                RegisterUser {
                    user_id: user.into(),
                    password: Some(password(&format!("{user} password 1"))),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }

        // The password is the user's own; a wrong one, another client's user or an unknown
        // user are the same refusal.
        let alice = s
            .login_user(&a, "alice", password("alice password 1"), false)
            .await
            .unwrap();
        assert_eq!(alice.expires_in, 3600);
        assert!(
            alice.refresh_token.is_none(),
            "no refresh without remember me"
        );
        assert!(alice.access_token.starts_with("sat1_"));
        for (user, pw) in [("alice", "bob password 1"), ("nobody", "x")] {
            assert_eq!(
                code(s.login_user(&a, user, password(pw), false).await),
                "authentication_failed"
            );
        }
        let holder = s.access_token_holder(&alice.access_token).await.unwrap();
        assert_eq!(
            (holder.client.client_id.as_str(), holder.user_id.as_str()),
            ("client-a", "alice")
        );
        // Client B's alice is another user: her token names client B.
        let b_alice = s.issue_access_token(&b, "alice", false).await.unwrap();
        let b_holder = s.access_token_holder(&b_alice.access_token).await.unwrap();
        assert_eq!(b_holder.client.client_id.as_str(), "client-b");
        assert_eq!(
            code(s.issue_access_token(&b, "bob", false).await),
            "not_found",
            "a token only for the client's own users"
        );
        // Forged, altered and foreign tokens are refused alike.
        let mut altered = alice.access_token.to_string();
        altered.pop();
        altered.push(if alice.access_token.ends_with('A') {
            'B'
        } else {
            'A'
        });
        for bad in [altered.as_str(), "sat1_x", "", "Bearer x"] {
            assert_eq!(
                code(s.access_token_holder(bad).await),
                "access_token_invalid"
            );
        }

        // Lock-out: the logins count as Authenticate's failures.
        for _ in 0..3 {
            let _ = s.login_user(&a, "bob", password("wrong"), false).await;
        }
        assert_eq!(
            code(
                s.login_user(&a, "bob", password("bob password 1"), false)
                    .await
            ),
            "user_locked"
        );

        // Refresh: only by the grant's client; it replaces the access token.
        let remembered = s.issue_access_token(&a, "alice", true).await.unwrap();
        let refresh = remembered.refresh_token.as_deref().unwrap().to_owned();
        assert_eq!(
            code(s.refresh_access_token(&b, &refresh).await),
            "access_token_invalid"
        );
        assert_eq!(
            code(s.refresh_access_token(&a, &remembered.access_token).await),
            "access_token_invalid",
            "an access token is not a refresh token"
        );
        let renewed = s.refresh_access_token(&a, &refresh).await.unwrap();
        assert_eq!(
            code(s.access_token_holder(&remembered.access_token).await),
            "access_token_invalid"
        );
        s.access_token_holder(&renewed.access_token).await.unwrap();

        // Revocation by another user or client ends nothing, and says nothing.
        s.revoke_access_token(&b_holder, &alice.access_token, None)
            .await
            .unwrap();
        s.access_token_holder(&alice.access_token).await.unwrap();
        // Revoking the refresh token ends its grant; the first login lives on.
        s.revoke_access_token(&holder, &refresh, Some(TokenHint::Access))
            .await
            .unwrap();
        assert_eq!(
            code(s.access_token_holder(&renewed.access_token).await),
            "access_token_invalid"
        );
        assert_eq!(
            code(s.refresh_access_token(&a, &refresh).await),
            "access_token_invalid"
        );
        s.access_token_holder(&alice.access_token).await.unwrap();
        s.revoke_access_token(&holder, &alice.access_token, Some(TokenHint::Access))
            .await
            .unwrap();
        assert_eq!(
            code(s.access_token_holder(&alice.access_token).await),
            "access_token_invalid"
        );

        // A token ends with its lifetime (exclusive) and with its user.
        let timed = s.issue_access_token(&a, "alice", false).await.unwrap();
        f.clock.advance(3599);
        s.access_token_holder(&timed.access_token).await.unwrap();
        f.clock.advance(1);
        assert_eq!(
            code(s.access_token_holder(&timed.access_token).await),
            "access_token_invalid"
        );
        let b_alice = s.issue_access_token(&b, "alice", false).await.unwrap();
        let b_holder = s.access_token_holder(&b_alice.access_token).await.unwrap();
        let doomed = s.issue_access_token(&a, "alice", false).await.unwrap();
        s.delete_user(&a, "alice").await.unwrap();
        assert_eq!(
            code(s.access_token_holder(&doomed.access_token).await),
            "access_token_invalid"
        );
        s.access_token_holder(&b_alice.access_token).await.unwrap();

        // A plan's Authenticate limit bounds logins; revocation is never refused by it.
        let mut plan = PlanSettings::new(TransactionLimit::new(1000).unwrap(), f.now());
        plan.limits_by_type
            .insert(RequestType::Authenticate, TransactionLimit::new(1).unwrap());
        s.set_plan("client-b", &plan).await.unwrap();
        s.issue_access_token(&b, "alice", false).await.unwrap();
        assert_eq!(
            code(s.issue_access_token(&b, "alice", false).await),
            "plan_request_type_limit_reached"
        );
        s.revoke_access_token(&b_holder, &b_alice.access_token, None)
            .await
            .unwrap();
        assert_eq!(
            code(s.access_token_holder(&b_alice.access_token).await),
            "access_token_invalid"
        );
    }
}
