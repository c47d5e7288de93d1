//! The one error type of this crate.

use core::fmt;

use crate::names::ProfileId;

/// One rule a profile breaks: the field at fault (a dotted path such as
/// `signing_key.kak`) and why, naming the allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The dotted path of the field at fault.
    pub field: String,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every rule a profile breaks, in the order the fields appear on the profile screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Whether `field` is among the fields at fault.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub(crate) fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong with SAM profiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The settings break one or more rules of seed 001.
    #[error("{}invalid SAM profile: {errors}", profile.map(|p| format!("profile {p}: ")).unwrap_or_default())]
    Invalid {
        /// The profile, when an existing one was edited.
        profile: Option<ProfileId>,
        /// Every rule broken.
        errors: ValidationErrors,
    },
    /// A JSON or TOML document that does not describe profile settings.
    #[error("cannot read the {format} profile: {path}: {message}")]
    Parse {
        /// `JSON` or `TOML`.
        format: &'static str,
        /// The dotted path of the field at fault (`.` for the document itself).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Settings that cannot be written in a format (e.g. a number too large for TOML).
    #[error("cannot write the profile as {format}: {message}")]
    Serialize {
        /// `JSON` or `TOML`.
        format: &'static str,
        /// What failed.
        message: String,
    },
    /// No profile has this id.
    #[error("profile {0} does not exist")]
    NotFound(ProfileId),
    /// Another profile already has this name (names are compared ignoring case).
    #[error("profile name {name:?} is already used by profile {existing}")]
    NameTaken {
        /// The name asked for.
        name: String,
        /// The profile that has it.
        existing: ProfileId,
    },
    /// Two profiles with one id were loaded into a catalogue.
    #[error("profile id {0} appears twice")]
    DuplicateId(ProfileId),
    /// The profile is inactive, so requests may not use it.
    #[error("profile {0} is inactive and cannot be used for requests")]
    Inactive(ProfileId),
    /// The catalogue has assigned every id up to the largest.
    #[error("no profile id is left to assign")]
    IdsExhausted,
    /// A search query that combines fields the advanced search does not allow together.
    #[error("invalid profile search: {0}")]
    Query(String),
}
