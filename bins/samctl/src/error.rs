//! Why a samctl command failed, and the exit status it gives.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or its input is wrong.
    #[error("{0}")]
    Usage(String),
    /// A file cannot be read or written.
    #[error("{what} {}: {message}", path.display())]
    File {
        /// What the file is.
        what: String,
        /// Where.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The server cannot be reached.
    #[error("cannot reach {server}: {message}")]
    Connect {
        /// The server.
        server: String,
        /// Why.
        message: String,
    },
    /// The server refused the request.
    #[error("{code}: {message} (HTTP {status})")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The stable error code (docs/api.md).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server answered something unexpected.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// A key or signature operation failed.
    #[error("{0}")]
    Crypto(String),
    /// The request was declined or expired, or a signature does not verify.
    #[error("{0}")]
    Refused(String),
}

impl CliError {
    /// The process's exit status: 2 for a wrong command line or file, 3 for a refusal of
    /// what was asked (declined, expired, not verified), 1 otherwise.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::File { .. } => 2,
            Self::Refused(_) => 3,
            _ => 1,
        }
    }
}
