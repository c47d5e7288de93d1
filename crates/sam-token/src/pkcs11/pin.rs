//! Where PINs come from, and the policy new PINs must match (seed 004: PIN and Sign PIN
//! handling, `SignPin_Validation=reg_exp([0-9]{4,})`).

use core::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// Where a PIN (user PIN, Sign PIN) is read from when a token opens.
#[derive(Clone)]
pub enum PinSource {
    /// An environment variable.
    Env(String),
    /// The first line of a file.
    File(PathBuf),
    /// A value given directly (CLI prompts, tests).
    Value(Zeroizing<String>),
}

impl PinSource {
    pub(crate) fn read(&self) -> Result<Zeroizing<String>, String> {
        let text = match self {
            Self::Env(name) => Zeroizing::new(
                std::env::var(name)
                    .map_err(|_| format!("environment variable {name} is not set"))?,
            ),
            Self::File(path) => {
                let all = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("PIN file {}: {e}", path.display()))?,
                );
                Zeroizing::new(all.lines().next().unwrap_or_default().trim().to_owned())
            }
            Self::Value(v) => v.clone(),
        };
        if text.is_empty() {
            return Err("the PIN is empty".into());
        }
        Ok(text)
    }
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "PinSource::Env({name})"),
            Self::File(path) => write!(f, "PinSource::File({})", path.display()),
            Self::Value(_) => f.write_str("PinSource::Value(<redacted>)"),
        }
    }
}

/// A regular expression every new PIN must match in full.
#[derive(Clone, Debug)]
pub struct PinPolicy {
    source: String,
    regex: regex::Regex,
}

impl PinPolicy {
    /// The longest pattern accepted, in bytes.
    pub const MAX_PATTERN_LEN: usize = 256;

    /// A policy from a regular expression, matched against the whole PIN (e.g. `[0-9]{4,}`).
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.len() > Self::MAX_PATTERN_LEN {
            return Err(format!(
                "the PIN policy is longer than {} bytes",
                Self::MAX_PATTERN_LEN
            ));
        }
        let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 16)
            .build()
            .map_err(|e| format!("invalid PIN policy {pattern:?}: {e}"))?;
        Ok(Self {
            source: pattern.to_owned(),
            regex,
        })
    }

    /// Whether `pin` matches.
    pub fn allows(&self, pin: &str) -> bool {
        self.regex.is_match(pin)
    }
}

impl fmt::Display for PinPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_example_policy() {
        let p = PinPolicy::new("[0-9]{4,}").unwrap();
        assert!(p.allows("1234"));
        assert!(p.allows("12345678"));
        assert!(!p.allows("123"), "one digit short");
        assert!(!p.allows("1234a"), "the whole PIN must match");
        assert!(!p.allows("a1234"));
        assert!(!p.allows(""));
        assert!(PinPolicy::new("[0-9").is_err());
        assert!(PinPolicy::new(&"a".repeat(257)).is_err());
    }

    #[test]
    fn pin_sources_never_show_the_pin() {
        let v = PinSource::Value(Zeroizing::new("123456".into()));
        assert_eq!(format!("{v:?}"), "PinSource::Value(<redacted>)");
        assert!(
            PinSource::Env("SAM_SURELY_UNSET_PIN_VARIABLE".into())
                .read()
                .is_err()
        );
    }
}
