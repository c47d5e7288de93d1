//! The module's configuration: a TOML file named by `SAM_PKCS11_CONFIG`, or
//! [`DEFAULT_PATH`]. It says where `samd` is, how the module authenticates to it as a
//! business application (a TLS client certificate, HTTP Basic, or both — seed 002), how long
//! it waits for a user's approval, and which users' keys it offers: one slot, with its
//! token, per configured user.
//!
//! ```toml
//! server = "https://sam.example:8443"
//! ca = "/etc/sam/ca.pem"
//!
//! [client]
//! certificate = "/etc/sam/signer.pem"   # mTLS; with `key`
//! key = "/etc/sam/signer.key"
//! # id = "shop"                          # HTTP Basic; its secret in the environment
//! # secret_env = "SAM_CLIENT_SECRET"
//!
//! [approval]
//! every_ms = 1000                       # how often a pending request is looked at
//! within_s = 120                        # how long a signature waits for its approval
//!
//! # [authorisation]                     # SCAL1 keys: the client's SAD key (needs [client] id)
//! # key = "/etc/sam/authorisation.key"  # PKCS#8 PEM
//! # certificate = "/etc/sam/authorisation.pem"
//! # instance_id = "sam-prod"            # samd's instance_id
//! # sad_hash = "sha256"
//!
//! [[token]]
//! user = "alice"
//! label = "Alice Example"               # the token's label (default: the user id)
//!
//! [[token]]
//! user = "bob"
//! keys = ["k0123…"]                     # only these keys (default: all of the user's)
//! ```
//!
//! Secrets never live in the file: a client secret is read from the environment variable
//! the file names. Every path is read when the module starts (`C_Initialize`), so a
//! mistake is reported there, once, with the file and the setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the module looks when `SAM_PKCS11_CONFIG` is not set.
pub const DEFAULT_PATH: &str = "/etc/sam/pkcs11.toml";

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SAM_PKCS11_CONFIG";

/// At most this many tokens (slots): a PKCS#11 slot list is read whole by consumers.
pub const MAX_TOKENS: usize = 64;

/// At most this many bytes of configuration.
pub const MAX_CONFIG_LEN: usize = 64 * 1024;

/// The configuration, as the file says it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `samd`'s URL (`https://host[:port][/prefix]`).
    pub server: String,
    /// The PEM CA certificates `samd`'s TLS certificate must chain to.
    pub ca: PathBuf,
    /// How the module authenticates.
    pub client: ClientConfig,
    /// How it waits for approvals.
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// SCAL1: the client's authorisation key, which signs each SAD once samd checked the
    /// user's PIN (seed 002's Authorisation Certificate). Without it, SCAL1 keys cannot sign.
    pub authorisation: Option<AuthorisationConfig>,
    /// The users whose keys it offers, one token each, in slot order.
    #[serde(rename = "token", default)]
    pub tokens: Vec<TokenConfig>,
}

/// The business application the module is, to `samd`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The PEM TLS client certificate chain (with `key`).
    pub certificate: Option<PathBuf>,
    /// Its PEM private key.
    pub key: Option<PathBuf>,
    /// The client id, for HTTP Basic (with its secret in `secret_env`).
    pub id: Option<String>,
    /// The environment variable holding the client secret.
    #[serde(default = "default_secret_env")]
    pub secret_env: String,
}

fn default_secret_env() -> String {
    "SAM_CLIENT_SECRET".into()
}

/// The client's authorisation key (SCAL1).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisationConfig {
    /// Its PKCS#8 PEM private key.
    pub key: PathBuf,
    /// Its PEM certificate, as registered with the client.
    pub certificate: PathBuf,
    /// samd's `instance_id`: every SAD's audience.
    pub instance_id: String,
    /// The hash the SAD is signed under (the profiles' `sad_hash_algorithm`).
    #[serde(default = "default_sad_hash")]
    pub sad_hash: String,
}

fn default_sad_hash() -> String {
    "sha256".into()
}

/// How a signature waits for its user's approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// Milliseconds between looks at a pending request (at least 100).
    #[serde(default = "default_every_ms")]
    pub every_ms: u64,
    /// Seconds a signature waits at most (1 to 3600).
    #[serde(default = "default_within_s")]
    pub within_s: u64,
}

fn default_every_ms() -> u64 {
    1000
}

fn default_within_s() -> u64 {
    120
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            every_ms: default_every_ms(),
            within_s: default_within_s(),
        }
    }
}

/// One user's token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The user in `samd`.
    pub user: String,
    /// The token's label (`CK_TOKEN_INFO.label`, at most 32 bytes of UTF-8); the user id by
    /// default.
    pub label: Option<String>,
    /// Only these of the user's keys (all by default).
    #[serde(default)]
    pub keys: Vec<String>,
}

impl TokenConfig {
    /// The token's label.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.user)
    }
}

/// A configuration that cannot be used, with the file and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, naming the setting.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The file `SAM_PKCS11_CONFIG` names, or [`DEFAULT_PATH`].
    pub fn path_from_env() -> PathBuf {
        std::env::var_os(CONFIG_ENV).map_or_else(|| PathBuf::from(DEFAULT_PATH), PathBuf::from)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let error = |reason: String| ConfigError {
            path: path.to_owned(),
            reason,
        };
        let metadata = std::fs::metadata(path).map_err(|e| {
            error(format!(
                "{e} (the module's configuration: set {CONFIG_ENV} to its path)"
            ))
        })?;
        if metadata.len() > MAX_CONFIG_LEN as u64 {
            return Err(error(format!(
                "{} bytes: a configuration is at most {MAX_CONFIG_LEN}",
                metadata.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Self::parse(&text).map_err(error)
    }

    /// Parses and checks configuration text; relative paths are left as they are.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_CONFIG_LEN {
            return Err(format!("a configuration is at most {MAX_CONFIG_LEN} bytes"));
        }
        let config: Self = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if !self.server.starts_with("https://") {
            return Err(format!(
                "server = {:?}: samd is reached over HTTPS only (https://host[:port])",
                self.server
            ));
        }
        match (&self.client.certificate, &self.client.key, &self.client.id) {
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err("[client]: certificate and key go together".into());
            }
            (None, None, None) => {
                return Err(
                    "[client]: set certificate and key (mTLS), or id with its secret in the \
                     environment (HTTP Basic), or both"
                        .into(),
                );
            }
            _ => {}
        }
        if self.client.id.as_deref() == Some("") {
            return Err("[client] id is empty".into());
        }
        if self.approval.every_ms < 100 {
            return Err(format!(
                "[approval] every_ms = {}: at least 100",
                self.approval.every_ms
            ));
        }
        if !(1..=3600).contains(&self.approval.within_s) {
            return Err(format!(
                "[approval] within_s = {}: from 1 to 3600",
                self.approval.within_s
            ));
        }
        if let Some(authorisation) = &self.authorisation {
            if self.client.id.is_none() {
                return Err(
                    "[authorisation] needs [client] id: the SAD names the client whose key signs it"
                        .into(),
                );
            }
            if authorisation.instance_id.is_empty() {
                return Err("[authorisation] instance_id is empty".into());
            }
            if authorisation
                .sad_hash
                .parse::<sam_algorithms::HashAlgorithm>()
                .is_err()
            {
                return Err(format!(
                    "[authorisation] sad_hash = {:?}: not a hash algorithm",
                    authorisation.sad_hash
                ));
            }
        }
        if self.tokens.is_empty() {
            return Err("no [[token]]: name at least one user whose keys to offer".into());
        }
        if self.tokens.len() > MAX_TOKENS {
            return Err(format!(
                "{} tokens: at most {MAX_TOKENS}",
                self.tokens.len()
            ));
        }
        for (n, token) in self.tokens.iter().enumerate() {
            let at = format!("[[token]] {} (user {:?})", n + 1, token.user);
            if token.user.is_empty() {
                return Err(format!("{at}: user is empty"));
            }
            if token.label().is_empty() || token.label().len() > 32 {
                return Err(format!(
                    "{at}: a token label is 1 to 32 bytes (CK_TOKEN_INFO.label), not {}",
                    token.label().len()
                ));
            }
            if self.tokens[..n].iter().any(|t| t.label() == token.label()) {
                return Err(format!(
                    "{at}: label {:?} is another token's: consumers find tokens by label",
                    token.label()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const MTLS: &str = "server = \"https://sam.example:8443\"\nca = \"ca.pem\"\n\
        [client]\ncertificate = \"c.pem\"\nkey = \"c.key\"\n";

    #[test]
    fn the_documented_example_parses_with_its_defaults() {
        let config = Config::parse(&format!(
            "{MTLS}[[token]]\nuser = \"alice\"\nlabel = \"Alice Example\"\n\
             [[token]]\nuser = \"bob\"\nkeys = [\"k1\"]\n"
        ))
        .unwrap();
        assert_eq!(config.approval, ApprovalConfig::default());
        assert_eq!(config.client.secret_env, "SAM_CLIENT_SECRET");
        assert_eq!(config.tokens[0].label(), "Alice Example");
        assert_eq!(config.tokens[1].label(), "bob");
        assert_eq!(config.tokens[1].keys, ["k1"]);
        // The module documentation's example is this format.
        let documented: String = include_str!("config.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect::<String>()
            .replace("k0123…", "k0123");
        let documented = Config::parse(&documented).unwrap();
        assert_eq!(documented.tokens.len(), 2);
        assert_eq!(documented.approval.within_s, 120);
    }

    #[test]
    fn a_configuration_that_cannot_work_is_refused_naming_the_setting() {
        let token = "[[token]]\nuser = \"alice\"\n";
        for (text, says) in [
            (
                format!("{}{token}", MTLS.replace("https://", "http://")),
                "HTTPS",
            ),
            (
                format!("{}{token}", MTLS.replace("key = \"c.key\"\n", "")),
                "go together",
            ),
            (
                format!("server = \"https://s\"\nca = \"ca.pem\"\n[client]\n{token}"),
                "[client]",
            ),
            (
                format!("{MTLS}[approval]\nevery_ms = 10\n{token}"),
                "every_ms",
            ),
            (
                format!("{MTLS}[approval]\nwithin_s = 0\n{token}"),
                "within_s",
            ),
            (MTLS.to_owned(), "no [[token]]"),
            (format!("{MTLS}{token}{token}"), "another token's"),
            (
                format!(
                    "{MTLS}[[token]]\nuser = \"alice\"\nlabel = \"{}\"\n",
                    "x".repeat(33)
                ),
                "1 to 32 bytes",
            ),
            (format!("{MTLS}{token}pin = \"1234\"\n"), "unknown field"),
            (
                format!(
                    "{MTLS}[authorisation]\nkey = \"k\"\ncertificate = \"c\"\ninstance_id = \"i\"\n{token}"
                ),
                "needs [client] id",
            ),
            (
                format!(
                    "{}[authorisation]\nkey = \"k\"\ncertificate = \"c\"\ninstance_id = \"i\"\nsad_hash = \"md5\"\n{token}",
                    MTLS.replace("[client]\n", "[client]\nid = \"shop\"\n")
                ),
                "sad_hash",
            ),
        ] {
            let refused = Config::parse(&text).unwrap_err();
            assert!(refused.contains(says), "{text}: {refused}");
        }
        let many: String = (0..=MAX_TOKENS)
            .map(|n| format!("[[token]]\nuser = \"u{n}\"\n"))
            .collect();
        assert!(
            Config::parse(&format!("{MTLS}{many}"))
                .unwrap_err()
                .contains("at most")
        );
        assert!(
            Config::parse(&" ".repeat(MAX_CONFIG_LEN + 1))
                .unwrap_err()
                .contains("at most")
        );
    }

    #[test]
    fn the_configuration_in_docs_remote_token_md_parses() {
        let doc = include_str!("../../../docs/remote-token.md");
        let blocks = sam_testkit::code_blocks(doc, "toml");
        assert_eq!(
            blocks.len(),
            1,
            "docs/remote-token.md's configuration example"
        );
        let config = Config::parse(&blocks[0]).unwrap();
        assert_eq!(config.tokens.len(), 2);
        assert_eq!(config.tokens[1].keys, ["k0123"]);
    }

    #[test]
    fn a_missing_file_names_the_environment_variable() {
        let refused = Config::load(Path::new("/nonexistent/sam-pkcs11.toml")).unwrap_err();
        assert!(refused.to_string().contains(CONFIG_ENV), "{refused}");
        assert!(refused.to_string().contains("/nonexistent/"), "{refused}");
    }
}
