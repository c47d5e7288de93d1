//! The signature formats of a SAM profile (seed 001: PKCS1, CMS, CAdES baseline, CAdES
//! extended) as `sam` names them.

use core::fmt;
use core::str::FromStr;

/// An output format. CAdES extended (EPES, EN 319 122-2) is a CAdES format with a
/// signature policy; see [`crate::SignaturePolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// The bare signature value: PKCS#1 v1.5, PSS, ECDSA (DER `Ecdsa-Sig-Value`) or ML-DSA.
    Raw,
    /// CMS `SignedData` (RFC 5652) with content-type, message-digest and signing-time.
    Cms,
    /// CAdES-B-B (EN 319 122-1 §6.3): CMS plus ESS signing-certificate-v2.
    CadesBB,
    /// CAdES-B-T: B-B plus a signature time-stamp (RFC 3161) over the signature value.
    CadesBT,
    /// CAdES-B-LT: B-T plus every certificate of the signer's and the TSA's chains and
    /// revocation values (CRLs, OCSP responses) for each, in `SignedData`.
    CadesBLT,
}

impl Format {
    /// Every format, in the order of the seed's list.
    pub const ALL: [Self; 5] = [
        Self::Raw,
        Self::Cms,
        Self::CadesBB,
        Self::CadesBT,
        Self::CadesBLT,
    ];

    /// The name used in profiles, APIs and the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Cms => "cms",
            Self::CadesBB => "cades-b-b",
            Self::CadesBT => "cades-b-t",
            Self::CadesBLT => "cades-b-lt",
        }
    }

    /// Whether the format is a CAdES one (ESS signing-certificate-v2 and the optional CAdES
    /// attributes).
    pub const fn is_cades(self) -> bool {
        matches!(self, Self::CadesBB | Self::CadesBT | Self::CadesBLT)
    }

    /// Whether the format needs a signature time-stamp.
    pub const fn has_time_stamp(self) -> bool {
        matches!(self, Self::CadesBT | Self::CadesBLT)
    }

    /// Whether the format carries the validation data (certificates and revocation values).
    pub const fn has_validation_data(self) -> bool {
        matches!(self, Self::CadesBLT)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown format name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signature format {0:?}; expected one of raw, cms, cades-b-b, cades-b-t, cades-b-lt"
)]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
            assert_eq!(f.to_string().to_uppercase().parse::<Format>(), Ok(f));
        }
        assert!("cades-b-x".parse::<Format>().is_err());
        assert!("".parse::<Format>().is_err());
    }

    #[test]
    fn only_cades_formats_are_cades() {
        assert!(!Format::Raw.is_cades());
        assert!(!Format::Cms.is_cades());
        assert!(Format::CadesBB.is_cades());
        assert!(Format::CadesBT.is_cades() && Format::CadesBT.has_time_stamp());
        assert!(!Format::CadesBB.has_time_stamp());
    }
}
