//! The vocabulary `samd`'s native API shares with its clients: the stable error codes
//! ([`ErrorCode`]) every refusal carries in its `{"error", "message"}` body, and the
//! [`ErrorKind`] that gives each its HTTP status. `sam-service` refuses with these codes and
//! `samd` renders them; `sam-client` reads them back — one list, so a code cannot be misspelt
//! on either side, and docs/api.md's table is checked against [`ErrorCode::ALL`].
//!
//! The crate has no dependencies: a device app, a client or a PKCS#11 module can use it
//! without pulling in the service.

/// The kind of a refusal: what a transport makes of it (an HTTP status, a CSC error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is wrong (400).
    BadRequest,
    /// Who sent it is not known (401).
    Unauthenticated,
    /// Known, but not allowed (403).
    Forbidden,
    /// No such object (404).
    NotFound,
    /// The state does not allow it (409).
    Conflict,
    /// Too big (413).
    TooLarge,
    /// Locked (423).
    Locked,
    /// A limit is reached (429).
    TooMany,
    /// The server failed (500).
    Internal,
    /// Not implemented here (501).
    NotSupported,
    /// Temporarily impossible (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status samd answers with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::TooLarge => 413,
            Self::Locked => 423,
            Self::TooMany => 429,
            Self::Internal => 500,
            Self::NotSupported => 501,
            Self::Unavailable => 503,
        }
    }
}

/// Every stable error code `sam` answers with: one variant per condition, its `snake_case`
/// text for clients (docs/api.md lists them all, a test holds the two together) and its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: The input is malformed or breaks a rule.
    InvalidRequest,
    /// `too_many_hashes`: More documents (hashes) than one request may carry.
    TooManyHashes,
    /// `sad_invalid`: The SAD does not verify or does not match the request.
    SadInvalid,
    /// `assertion_invalid`: The IdP assertion in a SAD does not verify.
    AssertionInvalid,
    /// `otp_invalid`: The one-time password is wrong or used up.
    OtpInvalid,
    /// `code_invalid`: The confirmation code is wrong or used up.
    CodeInvalid,
    /// `no_profile`: The request names no profile and the client has no default one.
    NoProfile,
    /// `proof_of_possession_failed`: A registration's proof does not verify under its key.
    ProofOfPossessionFailed,
    /// `device_not_allowed`: The device breaks the profile's authorisation key rules.
    DeviceNotAllowed,
    /// `certificate_mismatch`: The certificate is not for this key.
    CertificateMismatch,
    /// `no_certificate`: The key has no certificate, and the output needs one.
    NoCertificate,
    /// `client_authentication_failed`: The client credentials are missing or wrong.
    ClientAuthenticationFailed,
    /// `admin_authentication_failed`: The admin credential is missing or wrong.
    AdminAuthenticationFailed,
    /// `device_authentication_failed`: The device session or its challenge answer is missing or wrong.
    DeviceAuthenticationFailed,
    /// `access_token_invalid`: The user's access token (CSC API) is missing, unknown, expired or revoked.
    AccessTokenInvalid,
    /// `authentication_failed`: The user's password is wrong.
    AuthenticationFailed,
    /// `client_access_denied`: The client may not use the SAM service.
    ClientAccessDenied,
    /// `plan_expired`: The client's plan period has ended.
    PlanExpired,
    /// `plan_not_started`: The client's plan starts later.
    PlanNotStarted,
    /// `profile_inactive`: The profile is deactivated.
    ProfileInactive,
    /// `not_found`: No such object (also another client's, and a profile not selected).
    NotFound,
    /// `user_exists`: A user with this id exists.
    UserExists,
    /// `device_exists`: A device with this id exists for this client.
    DeviceExists,
    /// `client_exists`: A client with this id exists.
    ClientExists,
    /// `conflict`: The change conflicts with what is stored.
    Conflict,
    /// `device_limit_reached`: The user has the profile's most devices.
    DeviceLimitReached,
    /// `request_expired`: The authorisation request has expired.
    RequestExpired,
    /// `request_not_pending`: The authorisation request is not waiting for a SAD.
    RequestNotPending,
    /// `request_not_authorised`: The authorisation request has no SAD to sign with.
    RequestNotAuthorised,
    /// `sad_replayed`: The SAD was used up.
    SadReplayed,
    /// `sad_expired`: The SAD is past its own expiry or the profile's.
    SadExpired,
    /// `sad_unknown`: The SAD was never registered.
    SadUnknown,
    /// `plan_auto_renewed`: The plan was renewed while the request ran; try again.
    PlanAutoRenewed,
    /// `payload_too_large`: The body is over the size limit.
    PayloadTooLarge,
    /// `user_locked`: The user is locked out after too many wrong passwords.
    UserLocked,
    /// `plan_limit_reached`: The plan's transaction limit is reached.
    PlanLimitReached,
    /// `plan_request_type_limit_reached`: The plan's limit for this request type is reached.
    PlanRequestTypeLimitReached,
    /// `authentication_throttled`: Too many failed authentications: wait (`Retry-After`).
    AuthenticationThrottled,
    /// `internal_error`: Storage or token trouble; the details are in the log.
    InternalError,
    /// `key_mismatch`: A crypto source's key is not the one its stored keys were made under (at start).
    KeyMismatch,
    /// `not_supported`: This build or configuration cannot do it.
    NotSupported,
    /// `not_configured`: A setting this request needs is not configured.
    NotConfigured,
    /// `notification_failed`: The notification could not be sent.
    NotificationFailed,
    /// `output_failed`: The signature output could not be made (time-stamp, revocation data).
    OutputFailed,
    /// `request_timeout`: The request took longer than the request timeout.
    RequestTimeout,
    /// `store_unavailable`: The database cannot take the write now; nothing was stored.
    StoreUnavailable,
    /// `key_unusable`: The key's crypto source cannot use it now; the SAD is not spent.
    KeyUnusable,
    /// `busy`: Every worker is busy: try again (`Retry-After`).
    Busy,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: &[Self] = &[
        Self::InvalidRequest,
        Self::TooManyHashes,
        Self::SadInvalid,
        Self::AssertionInvalid,
        Self::OtpInvalid,
        Self::CodeInvalid,
        Self::NoProfile,
        Self::ProofOfPossessionFailed,
        Self::DeviceNotAllowed,
        Self::CertificateMismatch,
        Self::NoCertificate,
        Self::ClientAuthenticationFailed,
        Self::AdminAuthenticationFailed,
        Self::DeviceAuthenticationFailed,
        Self::AccessTokenInvalid,
        Self::AuthenticationFailed,
        Self::ClientAccessDenied,
        Self::PlanExpired,
        Self::PlanNotStarted,
        Self::ProfileInactive,
        Self::NotFound,
        Self::UserExists,
        Self::DeviceExists,
        Self::ClientExists,
        Self::Conflict,
        Self::DeviceLimitReached,
        Self::RequestExpired,
        Self::RequestNotPending,
        Self::RequestNotAuthorised,
        Self::SadReplayed,
        Self::SadExpired,
        Self::SadUnknown,
        Self::PlanAutoRenewed,
        Self::PayloadTooLarge,
        Self::UserLocked,
        Self::PlanLimitReached,
        Self::PlanRequestTypeLimitReached,
        Self::AuthenticationThrottled,
        Self::InternalError,
        Self::KeyMismatch,
        Self::NotSupported,
        Self::NotConfigured,
        Self::NotificationFailed,
        Self::OutputFailed,
        Self::RequestTimeout,
        Self::StoreUnavailable,
        Self::KeyUnusable,
        Self::Busy,
    ];

    /// The stable text (`snake_case`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::TooManyHashes => "too_many_hashes",
            Self::SadInvalid => "sad_invalid",
            Self::AssertionInvalid => "assertion_invalid",
            Self::OtpInvalid => "otp_invalid",
            Self::CodeInvalid => "code_invalid",
            Self::NoProfile => "no_profile",
            Self::ProofOfPossessionFailed => "proof_of_possession_failed",
            Self::DeviceNotAllowed => "device_not_allowed",
            Self::CertificateMismatch => "certificate_mismatch",
            Self::NoCertificate => "no_certificate",
            Self::ClientAuthenticationFailed => "client_authentication_failed",
            Self::AdminAuthenticationFailed => "admin_authentication_failed",
            Self::DeviceAuthenticationFailed => "device_authentication_failed",
            Self::AccessTokenInvalid => "access_token_invalid",
            Self::AuthenticationFailed => "authentication_failed",
            Self::ClientAccessDenied => "client_access_denied",
            Self::PlanExpired => "plan_expired",
            Self::PlanNotStarted => "plan_not_started",
            Self::ProfileInactive => "profile_inactive",
            Self::NotFound => "not_found",
            Self::UserExists => "user_exists",
            Self::DeviceExists => "device_exists",
            Self::ClientExists => "client_exists",
            Self::Conflict => "conflict",
            Self::DeviceLimitReached => "device_limit_reached",
            Self::RequestExpired => "request_expired",
            Self::RequestNotPending => "request_not_pending",
            Self::RequestNotAuthorised => "request_not_authorised",
            Self::SadReplayed => "sad_replayed",
            Self::SadExpired => "sad_expired",
            Self::SadUnknown => "sad_unknown",
            Self::PlanAutoRenewed => "plan_auto_renewed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UserLocked => "user_locked",
            Self::PlanLimitReached => "plan_limit_reached",
            Self::PlanRequestTypeLimitReached => "plan_request_type_limit_reached",
            Self::AuthenticationThrottled => "authentication_throttled",
            Self::InternalError => "internal_error",
            Self::KeyMismatch => "key_mismatch",
            Self::NotSupported => "not_supported",
            Self::NotConfigured => "not_configured",
            Self::NotificationFailed => "notification_failed",
            Self::OutputFailed => "output_failed",
            Self::RequestTimeout => "request_timeout",
            Self::StoreUnavailable => "store_unavailable",
            Self::KeyUnusable => "key_unusable",
            Self::Busy => "busy",
        }
    }

    /// Its kind.
    pub const fn kind(self) -> ErrorKind {
        match self {
            Self::InvalidRequest
            | Self::TooManyHashes
            | Self::SadInvalid
            | Self::AssertionInvalid
            | Self::OtpInvalid
            | Self::CodeInvalid
            | Self::NoProfile
            | Self::ProofOfPossessionFailed
            | Self::DeviceNotAllowed
            | Self::CertificateMismatch
            | Self::NoCertificate => ErrorKind::BadRequest,
            Self::ClientAuthenticationFailed
            | Self::AdminAuthenticationFailed
            | Self::DeviceAuthenticationFailed
            | Self::AccessTokenInvalid
            | Self::AuthenticationFailed => ErrorKind::Unauthenticated,
            Self::ClientAccessDenied
            | Self::PlanExpired
            | Self::PlanNotStarted
            | Self::ProfileInactive => ErrorKind::Forbidden,
            Self::NotFound => ErrorKind::NotFound,
            Self::UserExists
            | Self::DeviceExists
            | Self::ClientExists
            | Self::Conflict
            | Self::DeviceLimitReached
            | Self::RequestExpired
            | Self::RequestNotPending
            | Self::RequestNotAuthorised
            | Self::SadReplayed
            | Self::SadExpired
            | Self::SadUnknown
            | Self::PlanAutoRenewed => ErrorKind::Conflict,
            Self::PayloadTooLarge => ErrorKind::TooLarge,
            Self::UserLocked => ErrorKind::Locked,
            Self::PlanLimitReached
            | Self::PlanRequestTypeLimitReached
            | Self::AuthenticationThrottled => ErrorKind::TooMany,
            Self::InternalError | Self::KeyMismatch => ErrorKind::Internal,
            Self::NotSupported => ErrorKind::NotSupported,
            Self::NotConfigured
            | Self::NotificationFailed
            | Self::OutputFailed
            | Self::RequestTimeout
            | Self::StoreUnavailable
            | Self::KeyUnusable
            | Self::Busy => ErrorKind::Unavailable,
        }
    }

    /// The HTTP status samd answers with.
    pub const fn http_status(self) -> u16 {
        self.kind().http_status()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is none of [`ErrorCode::ALL`]'s (a newer server's code, or not a code): a
/// client keeps the text and treats it by its HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownErrorCode(pub String);

impl std::fmt::Display for UnknownErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown error code {:?}", self.0)
    }
}

impl std::error::Error for UnknownErrorCode {}

impl std::str::FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    /// The code whose text is `s`.
    fn from_str(s: &str) -> Result<Self, UnknownErrorCode> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownErrorCode(s.chars().take(64).collect()))
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_code_has_its_own_text_that_reads_back() {
        let texts: BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(texts.len(), ErrorCode::ALL.len(), "two codes share a text");
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
            assert_eq!(code.to_string(), code.as_str());
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code} is not snake_case"
            );
        }
        assert!("no_such_code".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn kinds_give_the_statuses_clients_rely_on() {
        assert_eq!(ErrorCode::InvalidRequest.http_status(), 400);
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::SadReplayed.http_status(), 409);
        assert_eq!(ErrorCode::AuthenticationThrottled.http_status(), 429);
        assert_eq!(ErrorCode::InternalError.http_status(), 500);
        assert_eq!(ErrorCode::Busy.http_status(), 503);
        // Only the internal kind is a 500: everything else is a refusal with its reason.
        for code in ErrorCode::ALL {
            assert_eq!(
                code.http_status() == 500,
                code.kind() == ErrorKind::Internal,
                "{code}"
            );
        }
    }
}

/// The README's example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
