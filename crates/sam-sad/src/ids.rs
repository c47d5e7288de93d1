//! The identifiers a SAD carries, each bounded and of a fixed grammar, so that any value that
//! exists is safe to log, store and compare.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SadError;

fn check(
    field: &'static str,
    text: &str,
    max: usize,
    allowed: fn(u8) -> bool,
    grammar: &str,
) -> Result<(), SadError> {
    if text.is_empty() || text.len() > max || !text.bytes().all(allowed) {
        return Err(SadError::field(
            field,
            format!("expected 1 to {max} characters of {grammar}"),
        ));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $allowed:expr, $grammar:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checks and wraps `text`.
            pub fn new(text: impl Into<String>) -> Result<Self, SadError> {
                let text = text.into();
                check($field, &text, $max, $allowed, $grammar)?;
                Ok(Self(text))
            }

            /// The identifier.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = SadError;
            fn try_from(text: String) -> Result<Self, SadError> {
                Self::new(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = SadError;
            fn from_str(s: &str) -> Result<Self, SadError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-')
}

fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')
}

fn audience_char(b: u8) -> bool {
    b.is_ascii_graphic()
}

string_id!(
    /// A user id, as the product allows it: 1 to 50 of `a-zA-Z0-9_.@-`.
    UserId,
    "user id",
    50,
    user_char,
    "a-z A-Z 0-9 _ . @ -"
);
string_id!(
    /// A business application's id: 1 to 64 of `a-zA-Z0-9_.-`.
    ClientId,
    "client id",
    64,
    name_char,
    "a-z A-Z 0-9 _ . -"
);
string_id!(
    /// A registered device's id: 1 to 64 of `a-zA-Z0-9_.-`.
    DeviceId,
    "device id",
    64,
    name_char,
    "a-z A-Z 0-9 _ . -"
);
string_id!(
    /// The signing key's id (as `sam-token` names keys): 1 to 128 of `a-zA-Z0-9_.:-`.
    KeyRef,
    "key id",
    128,
    key_char,
    "a-z A-Z 0-9 _ . : -"
);
string_id!(
    /// The SAM instance a SAD is meant for (its `audience`): 1 to 128 printable ASCII
    /// characters without spaces.
    InstanceId,
    "audience",
    128,
    audience_char,
    "printable ASCII without spaces"
);

/// A 128-bit random identifier, written as 32 lower-case hex digits: a SAD's id (its replay
/// key) or an authorisation request's id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id128([u8; 16]);

impl Id128 {
    /// A fresh random id from the operating system.
    pub fn random() -> Result<Self, SadError> {
        let mut bytes = [0u8; 16];
        getrandom(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The id with these bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

fn getrandom(bytes: &mut [u8]) -> Result<(), SadError> {
    getrandom::fill(bytes)
        .map_err(|e| SadError::Signing(format!("system random number generator: {e}")))
}

impl fmt::Display for Id128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id128({self})")
    }
}

impl FromStr for Id128 {
    type Err = SadError;

    fn from_str(s: &str) -> Result<Self, SadError> {
        let bad = || SadError::field("id", "expected 32 lower-case hexadecimal digits");
        if s.len() != 32
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let text = core::str::from_utf8(pair).map_err(|_| bad())?;
            bytes[i] = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

impl TryFrom<String> for Id128 {
    type Error = SadError;
    fn try_from(s: String) -> Result<Self, SadError> {
        s.parse()
    }
}

impl From<Id128> for String {
    fn from(id: Id128) -> String {
        id.to_string()
    }
}

/// Who signed a SAD: the user's registered device (SCAL2), the client's authorisation key
/// (SCAL1 PIN/OTP, external IdP, eSeal renewal), or the SAM instance itself after it checked
/// the user's PIN or OTP (SCAL1 through the CSC API, where the server authenticates the
/// user). Written `device:<id>`, `client:<id>` or `sam:<instance id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Issuer {
    /// A registered device.
    Device(DeviceId),
    /// A business application's authorisation certificate.
    Client(ClientId),
    /// The SAM instance's own SAD key.
    Service(InstanceId),
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(id) => write!(f, "device:{id}"),
            Self::Client(id) => write!(f, "client:{id}"),
            Self::Service(id) => write!(f, "sam:{id}"),
        }
    }
}

impl FromStr for Issuer {
    type Err = SadError;

    fn from_str(s: &str) -> Result<Self, SadError> {
        match s.split_once(':') {
            Some(("device", id)) => Ok(Self::Device(id.parse()?)),
            Some(("client", id)) => Ok(Self::Client(id.parse()?)),
            Some(("sam", id)) => Ok(Self::Service(id.parse()?)),
            _ => Err(SadError::field(
                "issuer",
                "expected device:<id>, client:<id> or sam:<instance id>",
            )),
        }
    }
}

impl TryFrom<String> for Issuer {
    type Error = SadError;
    fn try_from(s: String) -> Result<Self, SadError> {
        s.parse()
    }
}

impl From<Issuer> for String {
    fn from(i: Issuer) -> String {
        i.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_follow_the_product_grammar() {
        assert!(UserId::new("alice.smith@example.org").is_ok());
        assert!(UserId::new("u".repeat(50)).is_ok());
        assert!(UserId::new("u".repeat(51)).is_err());
        for bad in ["", "a b", "a/b", "é", "x';--", "a+b"] {
            assert!(UserId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_round_trip() {
        let id = Id128::from_bytes([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<Id128>().unwrap(), id);
        assert!(
            "AB".repeat(16).parse::<Id128>().is_err(),
            "upper case is not canonical"
        );
        assert!("ab".repeat(15).parse::<Id128>().is_err());
        assert_ne!(Id128::random().unwrap(), Id128::random().unwrap());
        let issuer: Issuer = "device:phone-1".parse().unwrap();
        assert_eq!(issuer.to_string(), "device:phone-1");
        for text in ["client:shop", "sam:sam-dev"] {
            assert_eq!(text.parse::<Issuer>().unwrap().to_string(), text);
        }
        assert_eq!(
            "sam:sam-dev".parse::<Issuer>().unwrap(),
            Issuer::Service(InstanceId::new("sam-dev").unwrap())
        );
        assert!("server:x".parse::<Issuer>().is_err());
        assert!("sam:".parse::<Issuer>().is_err());
        assert!("device:".parse::<Issuer>().is_err());
    }
}
