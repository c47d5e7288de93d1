//! The Signature Activation Data (CEN EN 419 241-2 SAD; PROTOCOL.md "The SAD"): one logical
//! structure, encoded as a JWS ([`crate::jws`]) or in DER ([`crate::der_sad`]).

use core::fmt;

use der::Enumerated;
use sam_algorithms::{Digest, HashAlgorithm, UnixTime};
use serde::{Deserialize, Serialize};

use crate::error::SadError;
use crate::ids::{Id128, InstanceId, Issuer, KeyRef, UserId};

/// The most hashes one SAD may authorise (bulk signing).
pub const MAX_HASHES: usize = 1000;
/// The longest IdP assertion a SAD may carry, in bytes.
pub const MAX_ASSERTION_LEN: usize = 64 * 1024;
/// The largest encoded SAD accepted, in bytes (either encoding).
pub const MAX_SAD_LEN: usize = 256 * 1024;

/// The Sole Control Assurance Level a SAD claims (CEN EN 419 241-1 §5.4); a SAD carries its
/// number (`Scal::level`).
pub use sam_algorithms::Scal;

/// How often a SAD may be used (seed 001: signatures vs seals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Enumerated)]
#[serde(rename_all = "kebab-case")]
#[repr(u32)]
pub enum SadMode {
    /// One use (every transaction is authorised).
    Transaction = 0,
    /// Reused until `num_signatures` or expiry (eSeals).
    Seal = 1,
}

/// How the signer was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Enumerated)]
#[serde(rename_all = "kebab-case")]
#[repr(u32)]
pub enum AuthMethod {
    /// On the user's registered device (SCAL2).
    Device = 0,
    /// By a one-time password `sam` verified (SCAL1).
    Otp = 1,
    /// By a PIN (SCAL1).
    Pin = 2,
    /// By an external identity provider, whose assertion the SAD carries.
    Idp = 3,
    /// By a previous seal SAD of the same key, renewed by the client (eSeals).
    Renewal = 4,
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Device => "device",
            Self::Otp => "otp",
            Self::Pin => "pin",
            Self::Idp => "idp",
            Self::Renewal => "renewal",
        })
    }
}

impl AuthMethod {
    /// Whether `issuer` may sign a SAD for this method (PROTOCOL.md "Actors and trust
    /// anchors"): devices authorise as themselves; clients' keys only with the evidence of
    /// OTP, PIN, IdP or renewal; the SAM instance only after it checked the user's OTP or PIN
    /// itself.
    pub fn allows(self, issuer: &Issuer) -> bool {
        matches!(
            (self, issuer),
            (Self::Device, Issuer::Device(_))
                | (
                    Self::Otp | Self::Pin | Self::Idp | Self::Renewal,
                    Issuer::Client(_)
                )
                | (Self::Otp | Self::Pin, Issuer::Service(_))
        )
    }
}

/// Signature Activation Data: what the signer authorised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sad {
    /// 128-bit random id: the replay key.
    pub sad_id: Id128,
    /// The authorisation request it answers.
    pub request_id: Id128,
    /// Who signed it.
    pub issuer: Issuer,
    /// The user.
    pub subject: UserId,
    /// The SAM instance it is meant for.
    pub audience: InstanceId,
    /// The signing key it activates.
    pub key_id: KeyRef,
    /// The key's SAM profile.
    pub profile_id: u32,
    /// The level of sole control.
    pub scal: Scal,
    /// The algorithm of `hashes`.
    pub hash_algorithm: HashAlgorithm,
    /// The DTBS/R hashes it authorises (required for SCAL2; for bulk, all of them).
    pub hashes: Vec<Digest>,
    /// How many signatures it allows.
    pub num_signatures: u32,
    /// One use, or reuse until count or expiry.
    pub mode: SadMode,
    /// How the signer was authenticated.
    pub auth_method: AuthMethod,
    /// The IdP assertion, for `auth_method` IdP.
    pub assertion: Option<String>,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
}

impl Sad {
    /// Checks what the types alone cannot: bounds, and the consistency of the fields.
    pub fn check(&self) -> Result<(), SadError> {
        if self.profile_id == 0 {
            return Err(SadError::field("profile_id", "must be at least 1"));
        }
        if self.hashes.len() > MAX_HASHES {
            return Err(SadError::field(
                "hashes",
                format!("at most {MAX_HASHES} hashes"),
            ));
        }
        if let Some(i) = self
            .hashes
            .iter()
            .position(|h| h.algorithm() != self.hash_algorithm)
        {
            return Err(SadError::field(
                "hashes",
                format!("hash {i} is not a {} digest", self.hash_algorithm),
            ));
        }
        if self.scal == Scal::Scal2 && self.hashes.is_empty() {
            return Err(SadError::field(
                "hashes",
                "a SCAL2 SAD names the hashes it authorises",
            ));
        }
        if self.num_signatures == 0 {
            return Err(SadError::field("num_signatures", "must be at least 1"));
        }
        if self.mode == SadMode::Transaction
            && !self.hashes.is_empty()
            && self.num_signatures as usize > self.hashes.len()
        {
            return Err(SadError::field(
                "num_signatures",
                "a transaction SAD allows at most one signature per hash",
            ));
        }
        match (&self.assertion, self.auth_method) {
            (Some(a), AuthMethod::Idp) if a.is_empty() || a.len() > MAX_ASSERTION_LEN => {
                return Err(SadError::field(
                    "assertion",
                    format!("1 to {MAX_ASSERTION_LEN} bytes"),
                ));
            }
            (None, AuthMethod::Idp) => {
                return Err(SadError::field("assertion", "required for auth_method idp"));
            }
            (Some(_), method) if method != AuthMethod::Idp => {
                return Err(SadError::field("assertion", "only for auth_method idp"));
            }
            _ => {}
        }
        if self.issued_at.as_secs() < 0 {
            return Err(SadError::field("issued_at", "before 1970"));
        }
        if self.expires_at <= self.issued_at {
            return Err(SadError::field("expires_at", "not after issued_at"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, DeviceId, InstanceId};

    #[test]
    fn each_issuer_may_sign_only_its_methods() {
        let device = Issuer::Device(DeviceId::new("phone").unwrap());
        let client = Issuer::Client(ClientId::new("shop").unwrap());
        let service = Issuer::Service(InstanceId::new("sam-dev").unwrap());
        let all = [
            AuthMethod::Device,
            AuthMethod::Otp,
            AuthMethod::Pin,
            AuthMethod::Idp,
            AuthMethod::Renewal,
        ];
        let allowed = |issuer: &Issuer| -> Vec<AuthMethod> {
            all.into_iter().filter(|m| m.allows(issuer)).collect()
        };
        assert_eq!(allowed(&device), [AuthMethod::Device]);
        assert_eq!(
            allowed(&client),
            [
                AuthMethod::Otp,
                AuthMethod::Pin,
                AuthMethod::Idp,
                AuthMethod::Renewal
            ]
        );
        // The SAM instance signs only after it checked the user's own secret: never for a
        // device, an IdP assertion or a renewal.
        assert_eq!(allowed(&service), [AuthMethod::Otp, AuthMethod::Pin]);
    }
}
