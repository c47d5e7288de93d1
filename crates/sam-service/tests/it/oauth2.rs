//! The CSC API's OAuth 2.0 authorisation server through the service, on SQLite and
//! PostgreSQL: the authorization code flow with PKCE for `scope=service` from the request
//! (direct and pushed) to the user's tokens, and each refusal the protocol needs — an unknown
//! client or unregistered redirect URI shown, never redirected; other faults redirected with
//! `state` and `iss`; another browser, a wrong password, a wrong verifier, another client's,
//! an expired or a reused code (whose first tokens then end), a different redirect URI, a bad
//! client secret.

use sam_oauth2::ErrorCode as OAuthCode;
use sam_oauth2::pkce::CodeChallenge;
use sam_oauth2::token::{ClientAuthentication, Grant};
use sam_service::oauth2::{AuthorizeRefusal, CODE_SECS, OAuthFailure};
use sam_service::{ClientContext, RegisterUser};
use zeroize::Zeroizing;

use crate::fixtures::{Fixture, client, databases, service};

pub(crate) const ISSUER: &str = "https://sam.test";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PASSWORD: &str = "carol password 1";
const CALLBACK: &str = "https://app.example/cb";

fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn query(client_id: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&scope=service&state=st%201\
         &code_challenge={}&code_challenge_method=S256{extra}",
        enc(CALLBACK),
        CodeChallenge::of_verifier(VERIFIER).as_str()
    )
}

fn code_of(redirect: &str) -> String {
    let (_, query) = redirect.split_once('?').unwrap();
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("state").as_deref(), Some("st 1"), "{redirect}");
    assert_eq!(get("iss").as_deref(), Some(ISSUER), "{redirect}");
    get("code").unwrap_or_else(|| panic!("no code in {redirect}"))
}

fn protocol(e: OAuthFailure) -> OAuthCode {
    match e {
        OAuthFailure::Protocol(p) => p.code,
        OAuthFailure::Service(s) => panic!("a protocol refusal expected, not {s:?}"),
    }
}

fn shown(r: AuthorizeRefusal) -> OAuthFailure {
    assert!(r.redirect.is_none(), "not redirected: {:?}", r.redirect);
    r.failure
}

fn redirected(r: AuthorizeRefusal, error: &str) {
    let to = r
        .redirect
        .unwrap_or_else(|| panic!("redirected: {:?}", r.failure));
    assert!(to.starts_with(&format!("{CALLBACK}?error={error}")), "{to}");
    assert!(to.contains("state=st+1"), "{to}");
    assert!(to.contains(&format!("iss={}", enc(ISSUER))), "{to}");
}

fn secret(id: &str, secret: &str) -> ClientAuthentication {
    ClientAuthentication::Secret {
        client_id: id.into(),
        client_secret: Zeroizing::new(secret.into()),
    }
}

fn code_grant(code: &str, verifier: &str, redirect: Option<&str>) -> Grant {
    Grant::AuthorizationCode {
        code: Zeroizing::new(code.into()),
        redirect_uri: redirect.map(str::to_owned),
        code_verifier: Zeroizing::new(verifier.into()),
    }
}

/// Through the pages: open, log in, and the redirect with the code.
async fn code(f: &Fixture, client_id: &str) -> String {
    let begun = f
        .service
        .begin_authorization(query(client_id, "").as_bytes())
        .await
        .unwrap();
    let step = f
        .service
        .authorization_login(
            &begun.view.authorization_id,
            &begun.browser_secret,
            "carol",
            Zeroizing::new(PASSWORD.into()),
        )
        .await
        .unwrap();
    code_of(&redirect_of(step))
}

fn redirect_of(step: sam_service::oauth2::AuthorizationStep) -> String {
    match step {
        sam_service::oauth2::AuthorizationStep::Redirect(to) => to,
        other => panic!("a redirect, not {other:?}"),
    }
}

async fn set_up(f: &Fixture, ctx: &ClientContext) {
    f.register_client(ctx).await;
    f.service
        .register_user(
            ctx,
            RegisterUser {
                user_id: "carol".into(),
                password: Some(Zeroizing::new(PASSWORD.into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_scope_token_comes_through_the_code_flow_with_pkce() {
    let dbs = databases("svc_oauth2").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        set_up(&f, &ctx).await;
        let other = client("client-b");
        f.register_client(&other).await;

        // Registration: redirect URIs by the rules, a secret for a confidential client.
        for bad in [vec![], vec!["http://app.example/cb".to_owned()]] {
            assert!(
                f.service
                    .register_oauth_client("client-a", "App", &bad, true)
                    .await
                    .is_err()
            );
        }
        let app = f
            .service
            .register_oauth_client("client-a", "Example App", &[CALLBACK.to_owned()], true)
            .await
            .unwrap();
        let app_id = app.client.oauth_client_id.clone();
        let app_secret = app.client_secret.clone().unwrap();
        let spa = f
            .service
            .register_oauth_client("client-a", "Example SPA", &[CALLBACK.to_owned()], false)
            .await
            .unwrap();
        assert!(spa.client_secret.is_none());
        let foreign = f
            .service
            .register_oauth_client("client-b", "Other", &[CALLBACK.to_owned()], true)
            .await
            .unwrap();
        assert_eq!(f.service.oauth_clients("client-a").await.unwrap().len(), 2);
        let auth = secret(&app_id, &app_secret);

        // The happy path: a code, its tokens, the user's access token.
        let code1 = code(&f, &app_id).await;
        let tokens = f
            .service
            .exchange_oauth_grant(&auth, &code_grant(&code1, VERIFIER, Some(CALLBACK)))
            .await
            .unwrap();
        assert_eq!(tokens.scope, "service");
        let holder = f
            .service
            .access_token_holder(&tokens.issued.access_token)
            .await
            .unwrap();
        assert_eq!(
            (holder.client.client_id.as_str(), holder.user_id.as_str()),
            ("client-a", "carol")
        );

        // The code again: refused, and the tokens it gave end (RFC 6749 §4.1.2).
        let again = f
            .service
            .exchange_oauth_grant(&auth, &code_grant(&code1, VERIFIER, Some(CALLBACK)))
            .await
            .unwrap_err();
        assert_eq!(protocol(again), OAuthCode::InvalidGrant);
        assert!(
            f.service
                .access_token_holder(&tokens.issued.access_token)
                .await
                .is_err(),
            "a reused code ends the first tokens"
        );

        // A wrong verifier burns the code; a different redirect URI, another client, an
        // expired code: each invalid_grant.
        let c = code(&f, &app_id).await;
        let other_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(&auth, &code_grant(&c, other_verifier, Some(CALLBACK)))
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidGrant
        );
        assert!(
            f.service
                .exchange_oauth_grant(&auth, &code_grant(&c, VERIFIER, Some(CALLBACK)))
                .await
                .is_err(),
            "a code that failed its check is used"
        );
        let c = code(&f, &app_id).await;
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(
                        &auth,
                        &code_grant(&c, VERIFIER, Some("https://app.example/other"))
                    )
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidGrant
        );
        let c = code(&f, &app_id).await;
        let foreign_auth = secret(
            &foreign.client.oauth_client_id,
            foreign.client_secret.as_ref().unwrap(),
        );
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(&foreign_auth, &code_grant(&c, VERIFIER, Some(CALLBACK)))
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidGrant
        );
        f.clock.advance(CODE_SECS);
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(&auth, &code_grant(&c, VERIFIER, Some(CALLBACK)))
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidGrant,
            "expired"
        );

        // Client authentication: a wrong secret, a public client with a secret, a
        // confidential one without.
        for wrong in [
            secret(&app_id, "soc1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            secret(&app_id, "not even the form"),
            secret(&spa.client.oauth_client_id, &app_secret),
            ClientAuthentication::None {
                client_id: app_id.clone(),
            },
            ClientAuthentication::None {
                client_id: "unknown".into(),
            },
        ] {
            let c = code(&f, &app_id).await;
            assert_eq!(
                protocol(
                    f.service
                        .exchange_oauth_grant(&wrong, &code_grant(&c, VERIFIER, Some(CALLBACK)))
                        .await
                        .unwrap_err()
                ),
                OAuthCode::InvalidClient
            );
        }
        // A public client with PKCE alone.
        let spa_auth = ClientAuthentication::None {
            client_id: spa.client.oauth_client_id.clone(),
        };
        let c = code(&f, &spa.client.oauth_client_id).await;
        let tokens = f
            .service
            .exchange_oauth_grant(&spa_auth, &code_grant(&c, VERIFIER, Some(CALLBACK)))
            .await
            .unwrap();
        // Its refresh token gives a new access token.
        let refreshed = f
            .service
            .exchange_oauth_grant(
                &spa_auth,
                &Grant::RefreshToken {
                    refresh_token: tokens.issued.refresh_token.clone().unwrap(),
                },
            )
            .await
            .unwrap();
        f.service
            .access_token_holder(&refreshed.issued.access_token)
            .await
            .unwrap();
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(
                        &spa_auth,
                        &Grant::RefreshToken {
                            refresh_token: Zeroizing::new("sat1_nope".into())
                        },
                    )
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidGrant
        );

        // The page: only the browser it is bound to, only the user's password.
        let begun = f
            .service
            .begin_authorization(query(&app_id, "").as_bytes())
            .await
            .unwrap();
        assert_eq!(begun.view.client_name, "Example App");
        let id = begun.view.authorization_id.clone();
        let other_browser = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        shown(
            f.service
                .authorization_login(&id, other_browser, "carol", Zeroizing::new(PASSWORD.into()))
                .await
                .unwrap_err(),
        );
        shown(
            f.service
                .authorization_login(
                    &id,
                    &begun.browser_secret,
                    "carol",
                    Zeroizing::new("wrong".into()),
                )
                .await
                .unwrap_err(),
        );
        let to = f
            .service
            .authorization_login(
                &id,
                &begun.browser_secret,
                "carol",
                Zeroizing::new(PASSWORD.into()),
            )
            .await
            .unwrap();
        code_of(&redirect_of(to));
        shown(
            f.service
                .authorization_login(
                    &id,
                    &begun.browser_secret,
                    "carol",
                    Zeroizing::new(PASSWORD.into()),
                )
                .await
                .unwrap_err(),
        );

        // Refusals before the client is known good are shown, never redirected.
        for bad in [
            query("unknown", ""),
            query(&app_id, "").replace(&enc(CALLBACK), &enc("https://evil.example/cb")),
            query(&app_id, "").replace("client_id=", "client_id=&x="),
            "client_id=a&client_id=b".to_owned(),
        ] {
            shown(
                f.service
                    .begin_authorization(bad.as_bytes())
                    .await
                    .unwrap_err(),
            );
        }
        // After it, redirected with state and iss.
        redirected(
            f.service
                .begin_authorization(
                    query(&app_id, "")
                        .replace("&code_challenge_method=S256", "")
                        .as_bytes(),
                )
                .await
                .unwrap_err(),
            "invalid_request",
        );
        redirected(
            f.service
                .begin_authorization(
                    query(&app_id, "")
                        .replace("scope=service", "scope=credential-creation")
                        .as_bytes(),
                )
                .await
                .unwrap_err(),
            "invalid_scope",
        );
        redirected(
            f.service
                .begin_authorization(
                    query(&app_id, "")
                        .replace("response_type=code", "response_type=token")
                        .as_bytes(),
                )
                .await
                .unwrap_err(),
            "unsupported_response_type",
        );

        // PAR: pushed by the authenticated client, opened once, then the same flow.
        let pushed_query = query(&app_id, "");
        let pushed_params = sam_oauth2::params::Params::from_form(pushed_query.as_bytes()).unwrap();
        assert_eq!(
            protocol(
                f.service
                    .push_authorization(&foreign_auth, &pushed_params)
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidRequest,
            "another client's request"
        );
        let pushed = f
            .service
            .push_authorization(&auth, &pushed_params)
            .await
            .unwrap();
        assert!(
            pushed
                .request_uri
                .starts_with("urn:ietf:params:oauth:request_uri:")
        );
        let open = format!(
            "client_id={app_id}&request_uri={}",
            enc(&pushed.request_uri)
        );
        let begun = f
            .service
            .begin_authorization(open.as_bytes())
            .await
            .unwrap();
        shown(
            f.service
                .begin_authorization(open.as_bytes())
                .await
                .unwrap_err(),
        );
        // The page can be shown again in this browser only.
        let view = f
            .service
            .authorization_view(&begun.view.authorization_id, &begun.browser_secret)
            .await
            .unwrap();
        assert_eq!(view, begun.view);
        assert_eq!(view.redirect_uri, CALLBACK);
        shown(
            f.service
                .authorization_view(
                    &begun.view.authorization_id,
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                )
                .await
                .unwrap_err(),
        );
        let to = f
            .service
            .authorization_login(
                &begun.view.authorization_id,
                &begun.browser_secret,
                "carol",
                Zeroizing::new(PASSWORD.into()),
            )
            .await
            .unwrap();
        let pushed_tokens = f
            .service
            .exchange_oauth_grant(
                &auth,
                &code_grant(&code_of(&redirect_of(to)), VERIFIER, Some(CALLBACK)),
            )
            .await
            .unwrap();

        // Revocation (RFC 7009): another client's revocation ends nothing; the client's
        // refresh token ends its grant, the access token with it.
        let revocation = |token: &str| sam_oauth2::token::Revocation {
            token: Zeroizing::new(token.to_owned()),
            hint: Some(sam_oauth2::token::TokenTypeHint::RefreshToken),
        };
        let refresh = pushed_tokens.issued.refresh_token.clone().unwrap();
        f.service
            .revoke_oauth_token(&foreign_auth, &revocation(&refresh))
            .await
            .unwrap();
        assert!(
            f.service
                .access_token_holder(&pushed_tokens.issued.access_token)
                .await
                .is_ok(),
            "another client's revocation ends nothing"
        );
        assert_eq!(
            protocol(
                f.service
                    .revoke_oauth_token(&secret(&app_id, "soc1_wrong"), &revocation(&refresh))
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidClient
        );
        f.service
            .revoke_oauth_token(&auth, &revocation("not a token"))
            .await
            .unwrap();
        f.service
            .revoke_oauth_token(&auth, &revocation(&refresh))
            .await
            .unwrap();
        assert!(
            f.service
                .access_token_holder(&pushed_tokens.issued.access_token)
                .await
                .is_err(),
            "the refresh token's grant ended"
        );

        // A pushed request waits up to PUSHED_SECS to be opened; once opened, it may take as
        // long as any authorisation.
        let late = f
            .service
            .push_authorization(&auth, &pushed_params)
            .await
            .unwrap();
        f.clock.advance(sam_service::oauth2::PUSHED_SECS - 10);
        let begun = f
            .service
            .begin_authorization(
                format!("client_id={app_id}&request_uri={}", enc(&late.request_uri)).as_bytes(),
            )
            .await
            .unwrap();
        f.clock.advance(sam_service::oauth2::PUSHED_SECS * 2);
        let step = f
            .service
            .authorization_login(
                &begun.view.authorization_id,
                &begun.browser_secret,
                "carol",
                Zeroizing::new(PASSWORD.into()),
            )
            .await
            .unwrap();
        redirect_of(step);
        let stale = f
            .service
            .push_authorization(&auth, &pushed_params)
            .await
            .unwrap();
        f.clock.advance(sam_service::oauth2::PUSHED_SECS + 1);
        assert_eq!(
            protocol(shown(
                f.service
                    .begin_authorization(
                        format!("client_id={app_id}&request_uri={}", enc(&stale.request_uri))
                            .as_bytes(),
                    )
                    .await
                    .unwrap_err(),
            )),
            OAuthCode::InvalidRequestUri
        );

        // The audit: the registrations, the logins (one refused), the tokens via oauth2.
        let records = f.service.store().audit_records(1, 10_000).await.unwrap();
        let count = |action: &str, outcome: &str| {
            records
                .iter()
                .filter(|r| r.entry.action == action && r.entry.outcome == outcome)
                .count()
        };
        assert_eq!(count("register_oauth_client", "ok"), 3);
        assert_eq!(count("register_oauth_client", "invalid_request"), 2);
        assert_eq!(count("oauth_login", "authentication_failed"), 1);
        assert!(count("oauth_login", "ok") >= 9);
        assert!(
            records
                .iter()
                .any(|r| r.entry.action == "issue_access_token"
                    && r.entry.detail.contains("via=oauth2")
                    && r.entry.actor == "carol"),
            "{records:?}"
        );

        // Deleting the client ends its authorisations in progress.
        f.service
            .delete_oauth_client("client-a", &app_id)
            .await
            .unwrap();
        assert!(
            f.service
                .delete_oauth_client("client-a", &app_id)
                .await
                .is_err()
        );
        assert_eq!(
            protocol(
                f.service
                    .exchange_oauth_grant(&auth, &code_grant(&code1, VERIFIER, Some(CALLBACK)))
                    .await
                    .unwrap_err()
            ),
            OAuthCode::InvalidClient
        );
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

fn credential_query(client_id: &str, key_id: &str, documents: &[&[u8]]) -> String {
    use base64ct::Encoding as _;
    let hashes: Vec<String> = documents
        .iter()
        .map(|d| {
            base64ct::Base64UrlUnpadded::encode_string(
                sam_algorithms::HashAlgorithm::Sha256.digest(d).as_bytes(),
            )
        })
        .collect();
    query(client_id, "").replace(
        "scope=service",
        &format!(
            "scope=credential&credentialID={key_id}&numSignatures={}&hashes={}\
             &hashAlgorithmOID=2.16.840.1.101.3.4.2.1&description=Contracts",
            documents.len(),
            hashes.join(",")
        ),
    )
}

/// `scope=credential` through the service: after the login sam makes the Authorise of exactly
/// the documents; the page follows the user's device; only an approved request gives a code;
/// its token stands for the SAD — bound to that request, refused for a service-scope use,
/// signing exactly those hashes once — and a decline goes back to the client as
/// `access_denied`; another user's credential, a SCAL1 user's PIN, a qualifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_scope_token_stands_for_the_sad_of_exactly_the_approved_hashes() {
    use sam_service::SignExpectation;
    use sam_service::oauth2::AuthorizationStep;

    let dbs = databases("svc_oauth2_credential").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        set_up(&f, &ctx).await;
        let alice = crate::sap::alice(&f, &ctx).await;
        f.service
            .change_password(&ctx, "alice", None, Zeroizing::new(PASSWORD.into()))
            .await
            .unwrap();
        let app = f
            .service
            .register_oauth_client("client-a", "Example App", &[CALLBACK.to_owned()], true)
            .await
            .unwrap();
        let app_id = app.client.oauth_client_id.clone();
        let auth = secret(&app_id, app.client_secret.as_ref().unwrap());
        // Alice's profile signs one document per authorisation (its multisign).
        let documents: [&[u8]; 1] = [b"contract one"];

        let login = |query: String, user: &'static str| {
            let f = &f;
            async move {
                let begun = f
                    .service
                    .begin_authorization(query.as_bytes())
                    .await
                    .unwrap();
                let step = f
                    .service
                    .authorization_login(
                        &begun.view.authorization_id,
                        &begun.browser_secret,
                        user,
                        Zeroizing::new(PASSWORD.into()),
                    )
                    .await
                    .unwrap();
                (begun, step)
            }
        };

        // Alice logs in; the page waits for her device, which sees exactly the documents.
        let (begun, step) = login(
            credential_query(&app_id, &alice.key_id, &documents),
            "alice",
        )
        .await;
        assert_eq!(begun.view.scope, "credential");
        assert_eq!(begun.view.documents.len(), 1);
        assert_eq!(begun.view.documents[0].0, "Contracts");
        let AuthorizationStep::AwaitDevice(view) = step else {
            panic!("the device approves: {step:?}")
        };
        assert_eq!(view.credential_id.as_deref(), Some(alice.key_id.as_str()));
        let id = begun.view.authorization_id.clone();
        let pending = f
            .service
            .pending_requests(&ctx, "phone", None, 10)
            .await
            .unwrap();
        let [shown] = pending.as_slice() else {
            panic!("one pending request")
        };
        let request_id = shown.request_id.clone();
        assert!(matches!(
            f.service
                .authorization_progress(&id, &begun.browser_secret)
                .await
                .unwrap(),
            AuthorizationStep::AwaitDevice(_)
        ));
        // Another browser cannot follow it.
        shown_refusal(
            f.service
                .authorization_progress(&id, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .await
                .unwrap_err(),
        );
        let sad = crate::sap::approve(&f, &ctx, &alice.device, &request_id, |_| {}).await;
        f.service
            .submit_sad(&ctx, "phone", &request_id, &sad)
            .await
            .unwrap();
        let AuthorizationStep::Redirect(to) = f
            .service
            .authorization_progress(&id, &begun.browser_secret)
            .await
            .unwrap()
        else {
            panic!("the code")
        };
        let tokens = f
            .service
            .exchange_oauth_grant(&auth, &code_grant(&code_of(&to), VERIFIER, Some(CALLBACK)))
            .await
            .unwrap();
        assert_eq!(tokens.scope, "credential");
        assert_eq!(tokens.credential_id.as_deref(), Some(alice.key_id.as_str()));
        assert!(tokens.issued.refresh_token.is_none());
        let sad_left = f
            .service
            .authorisation_state(&ctx, "alice", &request_id)
            .await
            .unwrap()
            .sad_expires_in
            .unwrap();
        assert!(
            tokens.issued.expires_in <= sad_left && tokens.issued.expires_in < 3600,
            "no longer than the SAD: {} > {sad_left}",
            tokens.issued.expires_in
        );
        let holder = f
            .service
            .access_token_holder(&tokens.issued.access_token)
            .await
            .unwrap();
        assert_eq!(holder.bound_request.as_deref(), Some(request_id.as_str()));

        // The token's request signs exactly those hashes, once.
        let digests: Vec<_> = documents
            .iter()
            .map(|d| sam_algorithms::HashAlgorithm::Sha256.digest(d))
            .collect();
        let other = [sam_algorithms::HashAlgorithm::Sha256.digest(b"another")];
        let expect = |hashes| SignExpectation {
            user_id: "alice",
            key_id: &alice.key_id,
            format: Some(sam_cms::Format::Raw),
            hashes,
        };
        assert!(
            f.service
                .sign_expected(&ctx, &request_id, &expect(&other))
                .await
                .is_err()
        );
        let signatures = f
            .service
            .sign_expected(&ctx, &request_id, &expect(&digests))
            .await
            .unwrap();
        assert_eq!(signatures.len(), 1);
        // Over the multisign: back to the client before anything is authorised.
        let two: [&[u8]; 2] = [b"contract one", b"contract two"];
        let (_, step) = login(credential_query(&app_id, &alice.key_id, &two), "alice").await;
        let AuthorizationStep::Refused {
            redirect: to,
            error,
        } = step
        else {
            panic!("back to the client: {step:?}")
        };
        assert!(to.contains("Numbers+of+signatures+is+too+high"), "{to}");
        assert_eq!(error.code, sam_oauth2::ErrorCode::InvalidRequest);
        assert!(
            f.service
                .sign_expected(&ctx, &request_id, &expect(&digests))
                .await
                .is_err(),
            "once"
        );

        // A decline goes back to the client as access_denied.
        let (begun, _) = login(
            credential_query(&app_id, &alice.key_id, &documents[..1]),
            "alice",
        )
        .await;
        let pending = f
            .service
            .pending_requests(&ctx, "phone", None, 10)
            .await
            .unwrap();
        let declined = pending.last().unwrap().request_id.clone();
        f.service.decline(&ctx, "phone", &declined).await.unwrap();
        let AuthorizationStep::Refused { redirect: to, .. } = f
            .service
            .authorization_progress(&begun.view.authorization_id, &begun.browser_secret)
            .await
            .unwrap()
        else {
            panic!("back to the client")
        };
        assert!(
            to.starts_with(&format!("{CALLBACK}?error=access_denied")),
            "{to}"
        );

        // Carol logging in for alice's credential: back to the client, nothing authorised.
        let (_, step) = login(
            credential_query(&app_id, &alice.key_id, &documents[..1]),
            "carol",
        )
        .await;
        let AuthorizationStep::Refused { redirect: to, .. } = step else {
            panic!("back to the client: {step:?}")
        };
        assert!(
            to.starts_with(&format!("{CALLBACK}?error=access_denied")),
            "{to}"
        );

        // A qualifier, or no hashes: refused before anything is stored.
        for bad in [
            query(&app_id, "").replace(
                "scope=service",
                "scope=credential&signatureQualifier=eu_eidas_qes&numSignatures=1",
            ),
            query(&app_id, "").replace(
                "scope=service",
                &format!(
                    "scope=credential&credentialID={}&numSignatures=1",
                    alice.key_id
                ),
            ),
        ] {
            redirected(
                f.service
                    .begin_authorization(bad.as_bytes())
                    .await
                    .unwrap_err(),
                "invalid_request",
            );
        }

        // A credential-scope token cannot be refreshed (it has no refresh token) and its
        // code cannot be used twice: covered by the service-scope test's rules.
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}

fn shown_refusal(r: AuthorizeRefusal) {
    assert!(r.redirect.is_none(), "not redirected: {:?}", r.redirect);
}

/// A SCAL1 credential of a user without a device: after the login the page asks for the PIN
/// (the user's sam password); a wrong one keeps the page, the right one authorises exactly
/// the documents and gives the code; the token signs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scal1_credential_is_authorised_by_the_pin_on_the_page() {
    use sam_service::oauth2::AuthorizationStep;

    let dbs = databases("svc_oauth2_pin").await;
    for db in &dbs {
        let f = service(db).await;
        let ctx = client("client-a");
        let bob = crate::scal1::bob(&f, &ctx, 4).await;
        let app = f
            .service
            .register_oauth_client("client-a", "Example App", &[CALLBACK.to_owned()], false)
            .await
            .unwrap();
        let app_id = app.client.oauth_client_id.clone();
        let documents: [&[u8]; 1] = [b"a SCAL1 contract"];
        let begun = f
            .service
            .begin_authorization(credential_query(&app_id, &bob.key_id, &documents).as_bytes())
            .await
            .unwrap();
        let id = begun.view.authorization_id.clone();
        let step = f
            .service
            .authorization_login(
                &id,
                &begun.browser_secret,
                "bob",
                Zeroizing::new("4711-bob-pin".into()),
            )
            .await
            .unwrap();
        assert!(matches!(step, AuthorizationStep::AskPin(_)), "{step:?}");
        // No device follows it.
        shown_refusal(
            f.service
                .authorization_progress(&id, &begun.browser_secret)
                .await
                .unwrap_err(),
        );
        let wrong = f
            .service
            .authorization_pin(&id, &begun.browser_secret, Zeroizing::new("0000".into()))
            .await
            .unwrap_err();
        shown_refusal(wrong);
        let AuthorizationStep::Redirect(to) = f
            .service
            .authorization_pin(
                &id,
                &begun.browser_secret,
                Zeroizing::new("4711-bob-pin".into()),
            )
            .await
            .unwrap()
        else {
            panic!("the code")
        };
        let tokens = f
            .service
            .exchange_oauth_grant(
                &ClientAuthentication::None {
                    client_id: app_id.clone(),
                },
                &code_grant(&code_of(&to), VERIFIER, Some(CALLBACK)),
            )
            .await
            .unwrap();
        let holder = f
            .service
            .access_token_holder(&tokens.issued.access_token)
            .await
            .unwrap();
        let request_id = holder.bound_request.unwrap();
        let digests = [sam_algorithms::HashAlgorithm::Sha256.digest(documents[0])];
        let signed = f
            .service
            .sign_expected(
                &ctx,
                &request_id,
                &sam_service::SignExpectation {
                    user_id: "bob",
                    key_id: &bob.key_id,
                    format: Some(sam_cms::Format::Raw),
                    hashes: &digests,
                },
            )
            .await
            .unwrap();
        assert_eq!(signed.len(), 1);
        f.service.store().close().await;
    }
    sam_store::testing::drop_databases(dbs).await;
}
