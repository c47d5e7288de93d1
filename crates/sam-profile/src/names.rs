//! Identifiers and names that can only hold valid values: [`ProfileId`], [`ProfileName`],
//! [`Description`], [`CryptoSourceName`], [`AttributeName`].
//!
//! Each is checked once where it enters (parsing text, deserialising, or `try_from`), is
//! bounded in length, and refuses control characters, so it is safe to show, log, store and
//! compare everywhere after that.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A SAM profile's system-assigned identifier: a positive integer.
///
/// Parsing from text (an URL path, a CLI argument) accepts only ASCII digits, so an id that
/// looks like SQL or a path is refused before it reaches anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ProfileId(u32);

impl ProfileId {
    /// The first id a catalogue assigns.
    pub const FIRST: Self = Self(1);

    /// The id `value`, which must be at least 1.
    pub fn new(value: u32) -> Result<Self, InvalidName> {
        if value == 0 {
            return Err(InvalidName::new("profile id", "0", "it must be at least 1"));
        }
        Ok(Self(value))
    }

    /// The numeric value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The id after this one, if any.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl TryFrom<u32> for ProfileId {
    type Error = InvalidName;
    fn try_from(value: u32) -> Result<Self, InvalidName> {
        Self::new(value)
    }
}

impl From<ProfileId> for u32 {
    fn from(id: ProfileId) -> Self {
        id.0
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ProfileId {
    type Err = InvalidName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidName::new("profile id", s, "it is not a positive decimal number");
        if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u32>().map_err(|_| bad()).and_then(Self::new)
    }
}

/// A name or text that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {shown:?}: {reason}")]
pub struct InvalidName {
    /// What kind of name it is (`profile name`, ...).
    pub what: &'static str,
    /// The text given, cut to 64 characters.
    pub shown: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl InvalidName {
    fn new(what: &'static str, text: &str, reason: &'static str) -> Self {
        Self {
            what,
            shown: text.chars().take(64).collect(),
            reason,
        }
    }
}

/// Checks a one-line name: trimmed, 1 to `max` characters, no control characters.
fn one_line(what: &'static str, text: &str, max: usize) -> Result<(), InvalidName> {
    if text.trim().is_empty() {
        return Err(InvalidName::new(what, text, "it is empty"));
    }
    if text.trim() != text {
        return Err(InvalidName::new(
            what,
            text,
            "it starts or ends with white space",
        ));
    }
    if text.chars().count() > max {
        return Err(InvalidName::new(what, text, "it is too long"));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidName::new(
            what,
            text,
            "it contains control characters",
        ));
    }
    Ok(())
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The text, checked.
            pub fn new(text: impl Into<String>) -> Result<Self, InvalidName> {
                let text = text.into();
                let check: fn(&str) -> Result<(), InvalidName> = $check;
                check(&text)?;
                Ok(Self(text))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(text: String) -> Result<Self, InvalidName> {
                Self::new(text)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> Self {
                name.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, InvalidName> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The longest [`ProfileName`], in characters.
pub const MAX_PROFILE_NAME_CHARS: usize = 128;
/// The longest [`Description`], in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The longest [`CryptoSourceName`], in characters.
pub const MAX_CRYPTO_SOURCE_NAME_CHARS: usize = 64;
/// The longest [`AttributeName`], in characters.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 256;

text_newtype!(
    /// A profile's name (seed 001 *Profile Name*): mandatory, one line of 1 to 128
    /// characters, unique in the catalogue ignoring case.
    ProfileName,
    "profile name",
    |t| one_line("profile name", t, MAX_PROFILE_NAME_CHARS)
);

text_newtype!(
    /// A profile's description (seed 001 *Profile Description*), for information only: up to
    /// 1024 characters; line breaks and tabs are allowed, other control characters are not.
    /// The default is empty.
    #[derive(Default)]
    Description,
    "description",
    |t| {
        if t.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(InvalidName::new("description", t, "it is longer than 1024 characters"));
        }
        if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(InvalidName::new("description", t, "it contains control characters"));
        }
        Ok(())
    }
);

impl Description {
    /// Whether the description is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

text_newtype!(
    /// The name of a crypto source (seed 001 *Crypto Profile*): 1 to 64 characters of ASCII
    /// letters, digits, space, `.`, `_` and `-`, not starting or ending with a space.
    CryptoSourceName,
    "crypto profile name",
    |t| {
        one_line("crypto profile name", t, MAX_CRYPTO_SOURCE_NAME_CHARS)?;
        if !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'.' | b'_' | b'-'))
        {
            return Err(InvalidName::new(
                "crypto profile name",
                t,
                "only ASCII letters, digits, space, '.', '_' and '-' are allowed",
            ));
        }
        Ok(())
    }
);

text_newtype!(
    /// The assertion attribute that carries the user id (seed 001 *Attribute Name*): one line
    /// of 1 to 256 characters.
    AttributeName,
    "attribute name",
    |t| one_line("attribute name", t, MAX_ATTRIBUTE_NAME_CHARS)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_ids_parse_only_positive_decimals() {
        assert_eq!("1".parse::<ProfileId>().unwrap().get(), 1);
        assert_eq!("4294967295".parse::<ProfileId>().unwrap().get(), u32::MAX);
        for bad in [
            "0",
            "4294967296",
            "",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1;DROP TABLE profiles",
            "../1",
            "1e3",
            "00000000001",
        ] {
            assert!(bad.parse::<ProfileId>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<ProfileId>("0").is_err());
        assert_eq!(ProfileId(u32::MAX).next(), None);
    }

    #[test]
    fn profile_name_bounds() {
        let max = "n".repeat(MAX_PROFILE_NAME_CHARS);
        assert!(ProfileName::new(max.clone()).is_ok());
        assert!(ProfileName::new(max + "n").is_err());
        // Characters, not bytes.
        assert!(ProfileName::new("é".repeat(MAX_PROFILE_NAME_CHARS)).is_ok());
        for bad in ["", "   ", " lead", "trail ", "two\nlines", "bell\u{7}"] {
            let e = ProfileName::new(bad).unwrap_err();
            assert_eq!(e.what, "profile name", "{bad:?}");
        }
    }

    #[test]
    fn description_bounds() {
        assert!(Description::new("").is_ok());
        assert!(Description::new("line one\nline two\twith tab").is_ok());
        assert!(Description::new("d".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert!(Description::new("d".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert!(Description::new("escape\u{1b}[31m").is_err());
    }

    #[test]
    fn crypto_source_names() {
        assert!(CryptoSourceName::new("HSM-A_1.primary pool").is_ok());
        assert!(CryptoSourceName::new("s".repeat(64)).is_ok());
        assert!(CryptoSourceName::new("s".repeat(65)).is_err());
        for bad in ["", "a/b", "a;b", "ä", " x", "x "] {
            assert!(CryptoSourceName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn attribute_names() {
        assert!(AttributeName::new("urn:oid:0.9.2342.19200300.100.1.3").is_ok());
        assert!(AttributeName::new("a".repeat(256)).is_ok());
        assert!(AttributeName::new("a".repeat(257)).is_err());
        assert!(AttributeName::new("").is_err());
    }
}
