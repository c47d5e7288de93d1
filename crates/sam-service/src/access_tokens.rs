//! Users' access tokens: the bearer tokens of the CSC API (docs/csc.md "Access tokens"). A
//! token stands for one user of one client; the facade checks it on every call
//! ([`Service::access_token_holder`]) and acts for that user only.
//!
//! - **Issued** by a login: the user's password checked with Authenticate's lock-out
//!   ([`Service::login_user`]), or a business application acting for one of its users
//!   ([`Service::issue_access_token`]) — either is counted against the plan as Authenticate
//!   and audited `issue_access_token` with how it was obtained. With "remember me" the grant
//!   also has a refresh token ([`Service::refresh_access_token`] replaces the access token).
//! - **Form**: `sat1_` then 32 random bytes in base64url (the prefix lets secret scanners
//!   find a leaked one). Only an HMAC-SHA-256 of the token under the deployment's code key is
//!   stored, so neither a database copy nor a log of it gives a usable token, and every node
//!   checks it against the shared store.
//! - **Ends** at its expiry, when revoked ([`Service::revoke_access_token`]: an access token
//!   alone, a refresh token with its grant), or when its user is deleted.

use base64ct::Encoding as _;
use sam_plan::RequestType;
use sam_store::{NewAccessToken, Revoked, TokenKind};
use zeroize::Zeroizing;

use crate::service::{ClientContext, Service};
use crate::{ErrorCode, OtherAction, ServiceError};

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "sat1_";
/// The most live logins (grants) a user keeps; one more ends the oldest.
pub const MAX_GRANTS_PER_USER: i64 = 16;

const HASH_PURPOSE: &str = "access_token";

/// A login's tokens. `Debug` shows neither token.
pub struct IssuedAccessToken {
    /// The bearer token for the user's calls.
    pub access_token: Zeroizing<String>,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// With "remember me" (and refresh tokens enabled): exchanged for a new access token.
    pub refresh_token: Option<Zeroizing<String>>,
}

impl core::fmt::Debug for IssuedAccessToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedAccessToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Who a valid access token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHolder {
    /// The client it was issued under.
    pub client: ClientContext,
    /// The user.
    pub user_id: String,
    /// For a credential-scope token (OAuth 2.0): the authorised request it stands for, whose
    /// SAD `signatures/signHash` uses when the call sends none; such a token serves no other
    /// call.
    pub bound_request: Option<String>,
}

/// Which token a revocation names (RFC 7009 `token_type_hint`); a wrong hint is no error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHint {
    /// `access_token`.
    Access,
    /// `refresh_token`.
    Refresh,
}

fn refused() -> ServiceError {
    ServiceError::new(
        ErrorCode::AccessTokenInvalid,
        "the access token is unknown, expired or revoked",
    )
}

fn new_token() -> Result<Zeroizing<String>, ServiceError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    Ok(Zeroizing::new(format!(
        "{TOKEN_PREFIX}{}",
        base64ct::Base64UrlUnpadded::encode_string(bytes.as_ref())
    )))
}

fn new_grant_id() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    Ok(base64ct::Base64UrlUnpadded::encode_string(&bytes))
}

/// The token's text, if it has the form of one (bounded before it is hashed).
fn well_formed(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    (rest.len() == 43
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

impl Service {
    fn token_hash(&self, token: &str) -> Result<Vec<u8>, ServiceError> {
        self.code_key()?.hash(HASH_PURPOSE, "", token)
    }

    fn lifetime(&self, secs: i64) -> Result<sam_algorithms::UnixTime, ServiceError> {
        self.now()
            .checked_add_secs(secs)
            .ok_or_else(|| ServiceError::internal("time overflow"))
    }

    /// Authenticate, then a token: the user's password is checked as Authenticate checks it
    /// (the same lock-out and answers), and the login is counted as Authenticate.
    pub async fn login_user(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        password: Zeroizing<String>,
        remember: bool,
    ) -> Result<IssuedAccessToken, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authenticate,
            OtherAction::IssueAccessToken,
            user_id,
            format!("user={user_id} via=password"),
            async {
                crate::sap::user_id(user_id)?;
                self.check_password(ctx, user_id, password).await?;
                self.grant(ctx, user_id, remember).await
            },
        )
        .await
    }

    /// A token for the client's user `user_id`, for a business application acting for its
    /// users (the client is authenticated; the user's sole control is still proven for every
    /// signature by its SAD). Counted as Authenticate.
    pub async fn issue_access_token(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        remember: bool,
    ) -> Result<IssuedAccessToken, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authenticate,
            OtherAction::IssueAccessToken,
            user_id,
            format!("user={user_id} via=client"),
            async {
                crate::sap::user_id(user_id)?;
                if self.store.user(ctx.id(), user_id).await?.is_none() {
                    return Err(ServiceError::not_found("user", user_id));
                }
                self.grant(ctx, user_id, remember).await
            },
        )
        .await
    }

    async fn grant(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        remember: bool,
    ) -> Result<IssuedAccessToken, ServiceError> {
        self.grant_with_id(ctx, user_id, &new_grant_id()?, remember)
            .await
    }

    /// [`Self::grant`] under a grant id chosen before (an OAuth code records the grant it
    /// gives, so that a second use can end it).
    pub(crate) async fn grant_with_id(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        grant_id: &str,
        remember: bool,
    ) -> Result<IssuedAccessToken, ServiceError> {
        let access = new_token()?;
        let expires_in = self.settings.access_token_secs;
        let mut tokens = vec![NewAccessToken {
            token_hash: self.token_hash(&access)?,
            kind: TokenKind::Access,
            expires_at: self.lifetime(expires_in)?,
            request_id: None,
        }];
        let refresh = if remember && self.settings.refresh_token_secs > 0 {
            let refresh = new_token()?;
            tokens.push(NewAccessToken {
                token_hash: self.token_hash(&refresh)?,
                kind: TokenKind::Refresh,
                expires_at: self.lifetime(self.settings.refresh_token_secs)?,
                request_id: None,
            });
            Some(refresh)
        } else {
            None
        };
        self.store
            .issue_access_grant(
                ctx.id(),
                user_id,
                grant_id,
                &tokens,
                MAX_GRANTS_PER_USER,
                self.now(),
            )
            .await?;
        Ok(IssuedAccessToken {
            access_token: access,
            expires_in,
            refresh_token: refresh,
        })
    }

    /// A credential-scope token (OAuth 2.0): an access token of the user bound to their
    /// authorised request `request_id`, standing for its SAD; it lives no longer than the SAD
    /// and has no refresh token. Answers the token and the request's credential (key id).
    pub(crate) async fn credential_grant(
        &self,
        ctx: &ClientContext,
        user_id: &str,
        grant_id: &str,
        request_id: &str,
    ) -> Result<(IssuedAccessToken, String), ServiceError> {
        let state = self
            .read_authorisation_state(ctx, user_id, request_id)
            .await?;
        let Some(sad_left) = state
            .sad_expires_in
            .filter(|_| state.status == sam_store::RequestStatus::Authorised)
        else {
            return Err(ServiceError::new(
                ErrorCode::RequestNotPending,
                format!(
                    "request {request_id} is {}: no SAD to stand for",
                    state.status
                ),
            ));
        };
        let access = new_token()?;
        let expires_in = self.settings.access_token_secs.min(sad_left).max(1);
        self.store
            .issue_access_grant(
                ctx.id(),
                user_id,
                grant_id,
                &[NewAccessToken {
                    token_hash: self.token_hash(&access)?,
                    kind: TokenKind::Access,
                    expires_at: self.lifetime(expires_in)?,
                    request_id: Some(request_id.to_owned()),
                }],
                MAX_GRANTS_PER_USER,
                self.now(),
            )
            .await?;
        Ok((
            IssuedAccessToken {
                access_token: access,
                expires_in,
                refresh_token: None,
            },
            state.key_id,
        ))
    }

    /// A new access token for the client's refresh token (the grant's earlier access token
    /// ends). Counted as Authenticate; an unknown, expired, revoked or another client's
    /// refresh token is `access_token_invalid`.
    pub async fn refresh_access_token(
        &self,
        ctx: &ClientContext,
        refresh_token: &str,
    ) -> Result<IssuedAccessToken, ServiceError> {
        self.request_as(
            ctx,
            RequestType::Authenticate,
            OtherAction::IssueAccessToken,
            "-",
            "via=refresh".to_owned(),
            async {
                let refresh = well_formed(refresh_token).ok_or_else(refused)?;
                let access = new_token()?;
                let expires_in = self.settings.access_token_secs;
                let token = NewAccessToken {
                    token_hash: self.token_hash(&access)?,
                    kind: TokenKind::Access,
                    expires_at: self.lifetime(expires_in)?,
                    request_id: None,
                };
                self.store
                    .refresh_access_grant(ctx.id(), &self.token_hash(refresh)?, &token, self.now())
                    .await?
                    .ok_or_else(refused)?;
                Ok(IssuedAccessToken {
                    access_token: access,
                    expires_in,
                    refresh_token: None,
                })
            },
        )
        .await
    }

    /// Who a bearer access token speaks for, if it is live (not expired, not revoked, its user
    /// not deleted). Not audited: the call it authenticates is.
    pub async fn access_token_holder(&self, token: &str) -> Result<TokenHolder, ServiceError> {
        let token = well_formed(token).ok_or_else(refused)?;
        let stored = self
            .store
            .access_token(&self.token_hash(token)?, TokenKind::Access, self.now())
            .await?
            .ok_or_else(refused)?;
        Ok(TokenHolder {
            client: ClientContext::new(&stored.client_id)?,
            user_id: stored.user_id,
            bound_request: stored.request_id,
        })
    }

    /// Revokes one of the holder's tokens (RFC 7009): an access token alone, a refresh token
    /// with every token of its login. A token that is not the holder's — unknown, another
    /// user's or client's, already ended — is no error and ends nothing (RFC 7009 section
    /// 2.2), so revoking tells nothing about other tokens. Audited, never counted: a plan
    /// limit never keeps a token alive.
    pub async fn revoke_access_token(
        &self,
        holder: &TokenHolder,
        token: &str,
        hint: Option<TokenHint>,
    ) -> Result<(), ServiceError> {
        let ctx = &holder.client;
        let user = holder.user_id.as_str();
        let hint = match hint {
            Some(TokenHint::Access) => "access_token",
            Some(TokenHint::Refresh) => "refresh_token",
            None => "none",
        };
        let result = self.end_token(ctx, Some(user), token).await;
        let ended = result.as_ref().map_or("-", String::as_str).to_owned();
        self.audited(
            ctx,
            OtherAction::RevokeAccessToken,
            user,
            format!("user={user} hint={hint} ended={ended}"),
            result.map(|_| ()),
        )
        .await
    }
}

impl Service {
    /// Revokes `token` of the client's `user` (or of any of its users): how many tokens
    /// ended, as the audit detail says it ("nothing" for a token unknown or not theirs).
    async fn end_token(
        &self,
        ctx: &ClientContext,
        user: Option<&str>,
        token: &str,
    ) -> Result<String, ServiceError> {
        let Some(token) = well_formed(token) else {
            return Ok("nothing".to_owned());
        };
        let hash = self.token_hash(token)?;
        let revoked = match user {
            Some(user) => {
                self.store
                    .revoke_access_token(ctx.id(), user, &hash)
                    .await?
            }
            None => self.store.revoke_client_token(ctx.id(), &hash).await?,
        };
        Ok(match revoked {
            Revoked::Tokens(n) => n.to_string(),
            Revoked::Nothing => "nothing".to_owned(),
        })
    }

    /// OAuth 2.0 revocation (RFC 7009, `/csc/v2/oauth2/revoke`): the authenticated OAuth
    /// client revokes an access or refresh token of its sam client, whichever user's — an
    /// access token alone, a refresh token with its grant. An unknown token, or another
    /// client's, ends nothing and is no error (RFC 7009 §2.2). Audited
    /// `revoke_access_token` with `via=oauth2`.
    pub async fn revoke_oauth_token(
        &self,
        authentication: &sam_oauth2::token::ClientAuthentication,
        revocation: &sam_oauth2::token::Revocation,
    ) -> Result<(), crate::oauth2::OAuthFailure> {
        let client = self.authenticate_oauth_client(authentication).await?;
        let ctx = ClientContext::new(&client.client_id)?;
        let hint = match revocation.hint {
            Some(sam_oauth2::token::TokenTypeHint::AccessToken) => "access_token",
            Some(sam_oauth2::token::TokenTypeHint::RefreshToken) => "refresh_token",
            None => "none",
        };
        let result = self.end_token(&ctx, None, &revocation.token).await;
        let ended = result.as_ref().map_or("-", String::as_str).to_owned();
        self.audited(
            &ctx,
            OtherAction::RevokeAccessToken,
            "-",
            format!(
                "via=oauth2 oauth_client={} hint={hint} ended={ended}",
                client.oauth_client_id
            ),
            result.map(|_| ()),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_form_and_never_show() {
        let token = new_token().unwrap();
        assert!(well_formed(&token).is_some(), "{}", token.len());
        assert_ne!(*token, *new_token().unwrap());
        for bad in [
            "",
            TOKEN_PREFIX,
            "sat2_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sat1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sat1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sat1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "sat1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA~",
        ] {
            assert!(well_formed(bad).is_none(), "{bad}");
        }
        let issued = IssuedAccessToken {
            access_token: token.clone(),
            expires_in: 60,
            refresh_token: Some(token.clone()),
        };
        let shown = format!("{issued:?}");
        assert!(!shown.contains(token.as_str()), "{shown}");
    }
}
