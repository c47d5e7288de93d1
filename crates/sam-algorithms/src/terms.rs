//! The SAM's own terms that several crates share, defined once: the Sole Control Assurance
//! Level (CEN EN 419 241-1 §5.4), the slot of a token a key lives in (seed 004's `Location`),
//! and the encoding of Signature Activation Data (seed 001's global `SAD_FORMAT`). Profiles
//! configure them, the SAD carries the level, tokens open the slot, and the service checks one
//! against the other — with these types, not with copies of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The Sole Control Assurance Level (CEN EN 419 241-1 §5.4). In settings it reads `scal1` or
/// `scal2`; in a SAD it is the number ([`Scal::level`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scal {
    /// SCAL1: the signer is authenticated (PIN/OTP, external IdP); the SAD need not carry the
    /// hashes.
    Scal1,
    /// SCAL2: the signer authorises exactly the hashes to be signed, from their own device.
    /// The default: it is the level qualified remote signing asks for.
    #[default]
    Scal2,
}

impl Scal {
    /// The level's number, as a SAD carries it: 1 or 2.
    pub const fn level(self) -> u8 {
        match self {
            Self::Scal1 => 1,
            Self::Scal2 => 2,
        }
    }

    /// The level numbered `n` (1 or 2).
    pub const fn from_level(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::Scal1),
            2 => Some(Self::Scal2),
            _ => None,
        }
    }
}

impl fmt::Display for Scal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scal{}", self.level())
    }
}

/// Which slot of a hardware crypto source holds a key (seed 004's `Location` keyword): the
/// default slot, or the separate signature slot protected by its own Sign PIN, typically for
/// qualified signatures. In settings it reads `default` or `signature`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyLocation {
    /// The default slot, unlocked by the user PIN.
    #[default]
    Default,
    /// The separate signature slot, unlocked by its own Sign PIN.
    Signature,
}

impl KeyLocation {
    /// Its text in settings and storage: `default` or `signature`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Signature => "signature",
        }
    }
}

impl fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyLocation {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "default" => Ok(Self::Default),
            "signature" => Ok(Self::Signature),
            _ => Err(Error::UnknownName {
                kind: "key location",
                name: s.chars().take(64).collect(),
                expected: "default, signature",
            }),
        }
    }
}

/// How Signature Activation Data is encoded: seed 001's global `SAD_FORMAT` setting, and the
/// encoding a SAD arrives in. In settings it reads `json` or `der`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SadFormat {
    /// A JWS compact serialisation (RFC 7515) of the SAD's JSON claims, with seed 001's JSON
    /// rules.
    #[default]
    Json,
    /// A DER `SignatureActivationData` structure.
    Der,
}

impl SadFormat {
    /// Its text in settings and on the device API: `json` or `der`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Der => "der",
        }
    }
}

impl fmt::Display for SadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_term_reads_back_from_its_text() {
        for scal in [Scal::Scal1, Scal::Scal2] {
            assert_eq!(Scal::from_level(scal.level()), Some(scal));
            let json = serde_json::to_string(&scal).unwrap();
            assert_eq!(json, format!("\"{scal}\""));
            assert_eq!(serde_json::from_str::<Scal>(&json).unwrap(), scal);
        }
        assert_eq!(Scal::from_level(0), None);
        assert_eq!(Scal::from_level(3), None);
        for location in [KeyLocation::Default, KeyLocation::Signature] {
            assert_eq!(location.as_str().parse::<KeyLocation>().unwrap(), location);
            let json = serde_json::to_string(&location).unwrap();
            assert_eq!(json, format!("\"{location}\""));
        }
        assert!("Signature".parse::<KeyLocation>().is_err());
        for format in [SadFormat::Json, SadFormat::Der] {
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{format}\""));
            assert_eq!(serde_json::from_str::<SadFormat>(&json).unwrap(), format);
        }
        assert_eq!(Scal::default(), Scal::Scal2);
        assert_eq!(KeyLocation::default(), KeyLocation::Default);
        assert_eq!(SadFormat::default(), SadFormat::Json);
    }
}
