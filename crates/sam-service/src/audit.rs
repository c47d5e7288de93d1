//! What an audit record is about: one typed action per request type of seed 002 (a Get CSR
//! is `get_csr`, never `sign`), the operator's actions, the device's and user's answers, and
//! the two facts of a signature's life that are not requests (`sad_spent`,
//! `signature_not_made`). SECURITY.md invariant 7 (every request audited) and 9 (the audit
//! outcome is what happened).
//!
//! The stored record keeps the action's stable `snake_case` code (docs/service.md, "Audit
//! actions", lists them all; a test keeps that list and [`AuditAction::ALL`] the same).

use std::fmt;
use std::str::FromStr;

use sam_plan::RequestType;

macro_rules! other_actions {
    ($($variant:ident => $code:literal, $what:literal;)*) => {
        /// An audited action that is not one of seed 002's request types.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OtherAction {
            $(
                #[doc = $what]
                $variant,
            )*
        }

        impl OtherAction {
            /// Every one, in the order docs/service.md lists them.
            pub const ALL: &'static [OtherAction] = &[$(OtherAction::$variant),*];

            /// The stable `snake_case` code stored in the audit record.
            pub const fn code(self) -> &'static str {
                match self {
                    $(OtherAction::$variant => $code,)*
                }
            }

            /// What it records, in a sentence.
            pub const fn description(self) -> &'static str {
                match self {
                    $(OtherAction::$variant => $what,)*
                }
            }
        }
    };
}

other_actions! {
    AuthoriseCsr => "authorise_csr", "A business application asks the user to authorise a certification request for their key.";
    SubmitSad => "submit_sad", "The user's device (SCAL2) or the user's PIN/OTP (SCAL1) answers a pending request with a SAD, or declines it.";
    VerifyPin => "verify_pin", "A user's PIN is checked for a SCAL1 authorisation.";
    OpenDeviceSession => "open_device_session", "A registered device proves its key and opens a session.";
    RenewSeal => "renew_seal", "An eSeal SAD is renewed for further signatures.";
    SadSpent => "sad_spent", "A SAD's uses are spent, in the transaction that spends them; the detail says for which action (`for=sign`, `for=get_csr`).";
    SignatureNotMade => "signature_not_made", "A SAD was spent but no signature was recorded within the signing lease (its node died): the request is back to pending.";
    CreateProfile => "create_profile", "The operator creates a SAM profile.";
    EditProfile => "edit_profile", "The operator edits a SAM profile.";
    SetProfileStatus => "set_profile_status", "The operator activates or deactivates a SAM profile.";
    CopyProfile => "copy_profile", "The operator copies a SAM profile.";
    RegisterClient => "register_client", "The operator registers a client.";
    EditClient => "edit_client", "The operator edits a client (access, profiles, certificates, contacts).";
    SetClientSecret => "set_client_secret", "The operator sets a client's secret (never recorded).";
    SetPlan => "set_plan", "The operator sets a client's service plan.";
    RenewPlan => "renew_plan", "The operator renews a client's service plan by hand.";
    ClientAuthentication => "client_authentication", "A business application's client secret (HTTP Basic, with or without its TLS client certificate) was checked and did not match; the detail names the peer and the method. An accepted one is recorded by the request that follows; refusals that cost no check (no credentials, an unknown certificate, a certificate without the Basic it needs, `authentication_throttled`, `busy`) are not recorded.";
    IssueAccessToken => "issue_access_token", "A user's access token (CSC API) is issued: after their password (`via=password`), to their business application (`via=client`), or for a refresh token (`via=refresh`); counted as Authenticate.";
    RevokeAccessToken => "revoke_access_token", "A user revokes one of their access or refresh tokens; the detail says how many tokens ended.";
    RegisterOAuthClient => "register_oauth_client", "The operator registers an OAuth client of a client (CSC API OAuth 2.0); its secret is never recorded.";
    DeleteOAuthClient => "delete_oauth_client", "The operator deletes an OAuth client and its authorisations in progress.";
    OAuthLogin => "oauth_login", "A user logs in on sam's OAuth 2.0 authorisation page (their password checked as Authenticate checks it); counted as Authenticate.";
    TimeStamp => "time_stamp", "A user's signature application has a digest time-stamped by the configured TSA (the CSC API's `signatures/timestamp`); the detail names the digest; counted as Sign.";
    AdminAuthentication => "admin_authentication", "The operator's credential was checked and refused; the detail names the peer.";
}

/// What an audit record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A request of one of seed 002's request types (its code is the request type's code).
    Request(RequestType),
    /// Anything else the log records.
    Other(OtherAction),
}

impl AuditAction {
    /// Every action: the request types in seed 002's order, then the others.
    pub fn all() -> impl Iterator<Item = AuditAction> {
        RequestType::ALL
            .iter()
            .copied()
            .map(AuditAction::Request)
            .chain(OtherAction::ALL.iter().copied().map(AuditAction::Other))
    }

    /// The stable `snake_case` code stored in the audit record and used as the metrics label.
    pub const fn code(self) -> &'static str {
        match self {
            AuditAction::Request(t) => t.code(),
            AuditAction::Other(o) => o.code(),
        }
    }
}

impl From<RequestType> for AuditAction {
    fn from(t: RequestType) -> Self {
        AuditAction::Request(t)
    }
}

impl From<OtherAction> for AuditAction {
    fn from(o: OtherAction) -> Self {
        AuditAction::Other(o)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An action code that is not one of [`AuditAction::all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAuditAction(pub String);

impl fmt::Display for UnknownAuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown audit action {:?}", self.0)
    }
}

impl std::error::Error for UnknownAuditAction {}

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::all()
            .find(|a| a.code() == s)
            .ok_or_else(|| UnknownAuditAction(s.chars().take(64).collect()))
    }
}

/// The most records one Audit Export page gives.
pub const MAX_EXPORT_PAGE: i64 = 10_000;

impl crate::Service {
    /// Admin: *Audit Export* — the records with `seq` ≥ `from` (1 or more), at most `limit`
    /// (1 to [`MAX_EXPORT_PAGE`]), in order; page on with `from` = last `seq` + 1.
    pub async fn audit_export(
        &self,
        from: i64,
        limit: i64,
    ) -> Result<Vec<sam_store::AuditRecord>, crate::ServiceError> {
        if !(1..=MAX_EXPORT_PAGE).contains(&limit) || from < 1 {
            return Err(crate::ServiceError::invalid(format!(
                "from is 1 or more; limit is 1 to {MAX_EXPORT_PAGE}"
            )));
        }
        Ok(self.store.audit_records(from, limit).await?)
    }

    /// Admin: checks the audit log's hash chain from its first record: intact, or where and
    /// why it breaks.
    pub async fn audit_verify(&self) -> Result<sam_store::ChainReport, crate::ServiceError> {
        Ok(self.store.verify_audit_chain().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_action_has_its_own_code_that_parses_back() {
        let all: Vec<_> = AuditAction::all().collect();
        assert_eq!(all.len(), RequestType::ALL.len() + OtherAction::ALL.len());
        let codes: BTreeSet<_> = all.iter().map(|a| a.code()).collect();
        assert_eq!(codes.len(), all.len(), "two actions share a code");
        for action in all {
            assert_eq!(action.code().parse::<AuditAction>(), Ok(action));
            assert_eq!(action.to_string(), action.code());
        }
        assert_eq!(
            AuditAction::from(RequestType::GetCsr).code(),
            "get_csr",
            "a Get CSR is not audited as a signature"
        );
        assert!("seal_sign".parse::<AuditAction>().is_err());
    }
}
