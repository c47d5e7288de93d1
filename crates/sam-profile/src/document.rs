//! Reading and writing profiles as JSON (RFC 8259) and TOML (v1.0) documents.
//!
//! Reading is bounded (at most [`MAX_DOCUMENT_LEN`] bytes; JSON nesting is limited by
//! `serde_json`'s recursion limit) and total: any text gives a value or a
//! [`ProfileError::Parse`] naming the dotted path of the field at fault, never a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ProfileError;

/// The largest document accepted, in bytes. A profile with an IdP certificate is a few KiB.
pub const MAX_DOCUMENT_LEN: usize = 256 * 1024;

fn too_long(format: &'static str, len: usize) -> ProfileError {
    ProfileError::Parse {
        format,
        path: ".".into(),
        message: format!("the document has {len} bytes; at most {MAX_DOCUMENT_LEN} are accepted"),
    }
}

/// Reads a `T` from JSON, refusing unknown fields and trailing text.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, ProfileError> {
    if text.len() > MAX_DOCUMENT_LEN {
        return Err(too_long("JSON", text.len()));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| ProfileError::Parse {
        format: "JSON",
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| ProfileError::Parse {
        format: "JSON",
        path: ".".into(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// Reads a `T` from TOML, refusing unknown fields.
pub fn from_toml<T: DeserializeOwned>(text: &str) -> Result<T, ProfileError> {
    if text.len() > MAX_DOCUMENT_LEN {
        return Err(too_long("TOML", text.len()));
    }
    let parse_error = |path: String, e: &toml::de::Error| {
        let place = e.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" (line {line}, column {column})")
        });
        ProfileError::Parse {
            format: "TOML",
            path,
            message: format!("{}{}", e.message().trim(), place.unwrap_or_default()),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| parse_error(".".into(), &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| parse_error(e.path().to_string(), e.inner()))
}

/// Writes `value` as pretty-printed JSON.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, ProfileError> {
    serde_json::to_string_pretty(value).map_err(|e| ProfileError::Serialize {
        format: "JSON",
        message: e.to_string(),
    })
}

/// Writes `value` as TOML.
pub fn to_toml<T: Serialize>(value: &T) -> Result<String, ProfileError> {
    toml::to_string(value).map_err(|e| ProfileError::Serialize {
        format: "TOML",
        message: e.to_string(),
    })
}
