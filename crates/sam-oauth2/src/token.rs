//! Token endpoint requests (RFC 6749 §4.1.3 authorisation code, §6 refresh, §4.4 client
//! credentials) and revocation requests (RFC 7009 §2.1), with the client's credentials when
//! it sends them in the body (`client_secret_post`, §2.3.1); `client_secret_basic` is the
//! HTTP layer's, and the caller passes what it read there ([`ClientAuthentication`]).

use zeroize::Zeroizing;

use crate::params::Params;
use crate::{ErrorCode, OAuthError};

/// The longest code, token or secret read.
pub const MAX_TOKEN_LEN: usize = 512;

/// A grant presented at the token endpoint.
#[derive(Debug, PartialEq, Eq)]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode {
        /// The code the redirect carried.
        code: Zeroizing<String>,
        /// The redirect URI of the authorisation request, if it named one (RFC 6749 §4.1.3:
        /// then required and identical).
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: Zeroizing<String>,
    },
    /// `refresh_token`.
    RefreshToken {
        /// The refresh token.
        refresh_token: Zeroizing<String>,
    },
    /// `client_credentials`: the client for itself.
    ClientCredentials {
        /// The scope asked for, if any.
        scope: Option<String>,
    },
}

/// How the client authenticated itself.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// A public client: only its `client_id` (PKCE binds the code to it).
    None {
        /// The client.
        client_id: String,
    },
    /// A confidential client: its identifier and secret (Basic or the body).
    Secret {
        /// The client.
        client_id: String,
        /// Its secret.
        client_secret: Zeroizing<String>,
    },
}

impl ClientAuthentication {
    /// The client's identifier.
    pub fn client_id(&self) -> &str {
        match self {
            Self::None { client_id } | Self::Secret { client_id, .. } => client_id,
        }
    }

    /// The client's authentication from the body's `client_id` / `client_secret` and what
    /// HTTP Basic carried (`basic`: identifier and secret, already decoded). Both at once is
    /// refused (RFC 6749 §2.3: "MUST NOT use more than one authentication method").
    pub fn from_params(
        params: &Params,
        basic: Option<(String, Zeroizing<String>)>,
    ) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id");
        let body_secret = params.get("client_secret");
        match (basic, body_secret) {
            (Some(_), Some(_)) => Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "the client authenticated both by HTTP Basic and client_secret; use one",
            )),
            (Some((id, secret)), None) => {
                if body_id.is_some_and(|b| b != id) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidClient,
                        "client_id differs from the HTTP Basic user",
                    ));
                }
                Ok(Self::Secret {
                    client_id: id,
                    client_secret: secret,
                })
            }
            (None, Some(secret)) => {
                let id = body_id.ok_or_else(|| OAuthError::invalid("client_id is missing"))?;
                bounded("client_secret", secret)?;
                Ok(Self::Secret {
                    client_id: id.to_owned(),
                    client_secret: Zeroizing::new(secret.to_owned()),
                })
            }
            (None, None) => {
                let id = body_id.ok_or_else(|| {
                    OAuthError::new(
                        ErrorCode::InvalidClient,
                        "the client is not identified (client_id, or HTTP Basic)",
                    )
                })?;
                Ok(Self::None {
                    client_id: id.to_owned(),
                })
            }
        }
    }
}

fn bounded<'a>(name: &str, value: &'a str) -> Result<&'a str, OAuthError> {
    if value.len() > MAX_TOKEN_LEN {
        return Err(OAuthError::invalid(format!(
            "{name} is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    Ok(value)
}

fn secret(params: &Params, name: &str) -> Result<Zeroizing<String>, OAuthError> {
    Ok(Zeroizing::new(
        bounded(name, params.required(name)?)?.to_owned(),
    ))
}

impl Grant {
    /// The grant of a token request.
    pub fn from_params(params: &Params) -> Result<Self, OAuthError> {
        match params.required("grant_type")? {
            "authorization_code" => Ok(Self::AuthorizationCode {
                code: secret(params, "code")?,
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                code_verifier: secret(params, "code_verifier").map_err(|_| {
                    OAuthError::invalid("code_verifier is missing: PKCE is required")
                })?,
            }),
            "refresh_token" => Ok(Self::RefreshToken {
                refresh_token: secret(params, "refresh_token")?,
            }),
            "client_credentials" => Ok(Self::ClientCredentials {
                scope: params.bounded("scope", 64)?.map(str::to_owned),
            }),
            _ => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type is authorization_code, refresh_token or client_credentials",
            )),
        }
    }
}

/// Which kind of token a revocation names (`token_type_hint`, RFC 7009 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

/// A revocation request.
#[derive(Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The token to revoke.
    pub token: Zeroizing<String>,
    /// The hint, if given.
    pub hint: Option<TokenTypeHint>,
}

impl Revocation {
    /// Reads a revocation request. An unknown hint is `unsupported_token_type` (RFC 7009
    /// §2.2.1).
    pub fn from_params(params: &Params) -> Result<Self, OAuthError> {
        let hint = match params.get("token_type_hint") {
            None => None,
            Some("access_token") => Some(TokenTypeHint::AccessToken),
            Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
            Some(_) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedTokenType,
                    "token_type_hint is access_token or refresh_token",
                ));
            }
        };
        Ok(Self {
            token: secret(params, "token")?,
            hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Params {
        Params::from_form(text.as_bytes()).unwrap()
    }

    #[test]
    fn each_grant_reads_with_what_it_needs() {
        let g = Grant::from_params(&params(
            "grant_type=authorization_code&code=c1&redirect_uri=https%3A%2F%2Fa%2Fcb\
             &code_verifier=v1",
        ))
        .unwrap();
        assert_eq!(
            g,
            Grant::AuthorizationCode {
                code: Zeroizing::new("c1".into()),
                redirect_uri: Some("https://a/cb".into()),
                code_verifier: Zeroizing::new("v1".into()),
            }
        );
        let e = Grant::from_params(&params("grant_type=authorization_code&code=c1")).unwrap_err();
        assert!(e.description.contains("PKCE"), "{e}");
        assert!(matches!(
            Grant::from_params(&params("grant_type=refresh_token&refresh_token=r")).unwrap(),
            Grant::RefreshToken { .. }
        ));
        assert_eq!(
            Grant::from_params(&params("grant_type=client_credentials&scope=service")).unwrap(),
            Grant::ClientCredentials {
                scope: Some("service".into())
            }
        );
        for bad in ["grant_type=password&username=u", "grant_type=implicit", ""] {
            let e = Grant::from_params(&params(bad)).unwrap_err();
            assert!(
                matches!(
                    e.code,
                    ErrorCode::UnsupportedGrantType | ErrorCode::InvalidRequest
                ),
                "{bad}: {e}"
            );
        }
        let long = format!("grant_type=refresh_token&refresh_token={}", "r".repeat(513));
        assert!(Grant::from_params(&params(&long)).is_err());
    }

    #[test]
    fn a_client_authenticates_one_way_only() {
        let basic = || Some(("app".to_owned(), Zeroizing::new("s3cret".to_owned())));
        let a = ClientAuthentication::from_params(&params("client_id=app"), basic()).unwrap();
        assert_eq!(a.client_id(), "app");
        assert!(matches!(a, ClientAuthentication::Secret { .. }));
        assert_eq!(
            ClientAuthentication::from_params(&params("client_id=other"), basic())
                .unwrap_err()
                .code,
            ErrorCode::InvalidClient
        );
        assert!(ClientAuthentication::from_params(&params("client_secret=s"), basic()).is_err());
        let a =
            ClientAuthentication::from_params(&params("client_id=app&client_secret=s3cret"), None)
                .unwrap();
        assert!(matches!(a, ClientAuthentication::Secret { .. }));
        assert!(ClientAuthentication::from_params(&params("client_secret=s3cret"), None).is_err());
        assert_eq!(
            ClientAuthentication::from_params(&params("client_id=spa"), None).unwrap(),
            ClientAuthentication::None {
                client_id: "spa".into()
            }
        );
        assert_eq!(
            ClientAuthentication::from_params(&params(""), None)
                .unwrap_err()
                .code,
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn a_revocation_names_its_token_and_maybe_its_kind() {
        let r = Revocation::from_params(&params("token=t&token_type_hint=refresh_token")).unwrap();
        assert_eq!(r.hint, Some(TokenTypeHint::RefreshToken));
        assert_eq!(r.token.as_str(), "t");
        assert_eq!(
            Revocation::from_params(&params("token=t&token_type_hint=id_token"))
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedTokenType
        );
        assert!(Revocation::from_params(&params("token_type_hint=access_token")).is_err());
    }
}
