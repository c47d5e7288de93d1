//! [`HttpTransport`]: RFC 3161 §3.4 (time-stamp requests over HTTP) and RFC 5280
//! §4.2.1.13 (CRLs over HTTP), over `ureq` without TLS. Time-stamp tokens and CRLs are
//! signed objects checked after download, which is why these services are usually plain
//! HTTP; an `https` URL is refused with a clear error rather than fetched insecurely.

use std::time::Duration;

use crate::CmsError;
use crate::timestamp::Transport;

/// The most a response may hold (a CRL of a large CA fits; a runaway server does not).
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A blocking HTTP/1.1 client with a global timeout per request.
pub struct HttpTransport {
    agent: ureq::Agent,
}

impl HttpTransport {
    /// A transport whose requests fail after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build();
        Self {
            agent: config.into(),
        }
    }

    fn check_url(url: &str) -> Result<(), CmsError> {
        if url.starts_with("http://") {
            Ok(())
        } else {
            Err(CmsError::Transport(format!(
                "{url}: only http:// URLs are supported by this transport"
            )))
        }
    }

    fn body(
        url: &str,
        expected_type: Option<&str>,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> Result<Vec<u8>, CmsError> {
        let status = response.status();
        if !status.is_success() {
            return Err(CmsError::Transport(format!("{url}: HTTP status {status}")));
        }
        if let Some(expected) = expected_type {
            let found = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !found.eq_ignore_ascii_case(expected) {
                return Err(CmsError::Transport(format!(
                    "{url}: content type {found:?}, expected {expected:?}"
                )));
            }
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| CmsError::Transport(format!("{url}: {e}")))
    }
}

impl Default for HttpTransport {
    /// A 30-second timeout.
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl Transport for HttpTransport {
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, CmsError> {
        Self::check_url(url)?;
        let response = self
            .agent
            .post(url)
            .header("Content-Type", content_type)
            .send(body)
            .map_err(|e| CmsError::Transport(format!("{url}: {e}")))?;
        let expected = (content_type == "application/timestamp-query")
            .then_some("application/timestamp-reply");
        Self::body(url, expected, response)
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, CmsError> {
        Self::check_url(url)?;
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| CmsError::Transport(format!("{url}: {e}")))?;
        Self::body(url, None, response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_other_schemes_are_refused_before_any_connection() {
        let t = HttpTransport::default();
        for url in ["https://tsa.example/", "ftp://x/", "file:///etc/passwd", ""] {
            let err = t.get(url).unwrap_err().to_string();
            assert!(err.contains("only http://"), "{url}: {err}");
        }
    }

    #[test]
    fn an_unreachable_server_is_a_transport_error() {
        // Port 9 (discard) on loopback is closed on these machines.
        let t = HttpTransport::new(Duration::from_secs(2));
        assert!(matches!(
            t.post("http://127.0.0.1:9/", "application/timestamp-query", b"x"),
            Err(CmsError::Transport(_))
        ));
    }
}
