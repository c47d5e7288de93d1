//! OAuth 2.0 errors: the `error` codes of RFC 6749 §4.1.2.1 (authorisation endpoint) and
//! §5.2 (token endpoint), RFC 7009 §2.2.1, RFC 9126 §2.3 and RFC 9396 §5, with a description
//! for a person (`error_description`, which never carries a secret).

use core::fmt;

/// An OAuth 2.0 `error` code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated, malformed or not allowed.
    InvalidRequest,
    /// `invalid_client`: the client is unknown or its authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, used, or another's.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant or response type.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`: the user (or the user's device) declined.
    AccessDenied,
    /// `invalid_request_uri` (RFC 9126): the pushed request is unknown, expired or used.
    InvalidRequestUri,
    /// `invalid_authorization_details` (RFC 9396).
    InvalidAuthorizationDetails,
    /// `unsupported_token_type` (RFC 7009).
    UnsupportedTokenType,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as the protocol spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidAuthorizationDetails => "invalid_authorization_details",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The HTTP status of this error at the token, revocation and PAR endpoints (RFC 6749
    /// §5.2: 400, and 401 for a failed client authentication).
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 refusal: its code and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The `error` code.
    pub code: ErrorCode,
    /// The `error_description`.
    pub description: String,
}

impl OAuthError {
    /// A refusal with `code`.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelt_as_the_rfcs_spell_them() {
        assert_eq!(ErrorCode::InvalidRequestUri.as_str(), "invalid_request_uri");
        assert_eq!(
            ErrorCode::InvalidAuthorizationDetails.to_string(),
            "invalid_authorization_details"
        );
        assert_eq!(ErrorCode::InvalidClient.http_status(), 401);
        assert_eq!(ErrorCode::InvalidGrant.http_status(), 400);
        let e = OAuthError::invalid("code is missing");
        assert_eq!(e.to_string(), "invalid_request: code is missing");
    }
}
