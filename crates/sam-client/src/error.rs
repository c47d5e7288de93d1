//! What can go wrong talking to `samd`: a refusal with its stable code (docs/api.md "Error
//! codes and statuses"), or a connection, TLS, answer or configuration problem on this side.

pub use sam_api::{ErrorCode, ErrorKind};

/// Why a call did not give its answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `samd` refused or failed the request and said why.
    #[error("samd answered {status} {error}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable code, when it is one this crate knows (see `error` otherwise: a newer
        /// server may send codes this version does not have).
        code: Option<ErrorCode>,
        /// The code as sent.
        error: String,
        /// The server's message, for people.
        message: String,
        /// `Retry-After`, seconds, on a temporary refusal (`busy`, `authentication_throttled`).
        retry_after: Option<u64>,
    },
    /// The server could not be reached, or the connection broke, or it did not answer in time.
    #[error("{0}")]
    Transport(String),
    /// The TLS handshake failed (a certificate that does not chain to the CA, a client
    /// certificate the server refused).
    #[error("TLS: {0}")]
    Tls(String),
    /// The answer is not what docs/api.md says it is.
    #[error("unexpected answer: {0}")]
    Answer(String),
    /// The client is set up wrongly (a URL, a PEM file, a credential).
    #[error("{0}")]
    Config(String),
    /// Waiting for something (a device's approval) took longer than allowed, or the request
    /// expired first.
    #[error("{0}")]
    TimedOut(String),
    /// The user declined: on the device, or by giving no PIN.
    #[error("{0}")]
    Declined(String),
    /// The wait was cancelled by this side (`remote::Cancel`).
    #[error("cancelled while waiting for the user's approval")]
    Cancelled,
}

impl Error {
    /// The stable code of a refusal (`None` for anything else, and for a code this version
    /// does not know).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// An answer `status` whose body is `body`: the `{"error", "message"}` document, or, for a
    /// body that is not one (a proxy's page), the status alone.
    pub(crate) fn from_answer(status: u16, body: &[u8], retry_after: Option<u64>) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            error: String,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Body>(body) {
            Ok(b) => Self::Api {
                status,
                code: b.error.parse().ok(),
                error: b.error.chars().take(64).collect(),
                message: b.message.chars().take(4096).collect(),
                retry_after,
            },
            Err(_) => Self::Api {
                status,
                code: None,
                error: format!("http_{status}"),
                message: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
                retry_after,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_code_and_an_unknown_one_its_text() {
        let e = Error::from_answer(409, br#"{"error":"sad_replayed","message":"spent"}"#, None);
        assert_eq!(e.code(), Some(ErrorCode::SadReplayed));
        assert_eq!(e.status(), Some(409));
        let e = Error::from_answer(400, br#"{"error":"from_the_future","message":""}"#, None);
        assert!(matches!(&e, Error::Api { code: None, error, .. } if error == "from_the_future"));
        let e = Error::from_answer(502, b"<html>bad gateway</html>", Some(3));
        assert!(
            matches!(&e, Error::Api { code: None, error, retry_after: Some(3), .. } if error == "http_502")
        );
    }
}
