//! HTTPS to one `samd`: rustls (ring) trusting only the CA certificates it is given, an
//! optional TLS client certificate (mutual TLS), HTTP/1.1 over hyper, and a few kept-alive
//! connections reused between requests. Every request is bounded in time and every answer in
//! size.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::Error;

/// The largest answer read (a bulk of a thousand signatures fits).
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// How many idle connections are kept for reuse.
const IDLE_CONNECTIONS: usize = 8;
/// How long an idle connection is reused, at most: well under the time a server waits for
/// the next request on it (samd closes one idle for 10 s, its header-read timeout). A
/// connection closed by the server while this client's runtime did not run is not yet seen
/// closed, and a request sent on it would fail after it was written — which cannot be retried
/// safely (it may be a Sign).
const IDLE_REUSE: Duration = Duration::from_secs(4);

/// Where `samd` is and how the connection is secured.
#[derive(Clone)]
pub struct Endpoint {
    /// The host name or address the certificate is checked for (also the `Host` header).
    host: String,
    /// The TCP port.
    port: u16,
    /// A path prefix before `/api/v1` (empty when samd is at the root).
    prefix: String,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "https://{}:{}{}", self.host, self.port, self.prefix)
    }
}

impl Endpoint {
    /// `samd` at `url` (`https://host[:port][/prefix]`, port 443 by default), whose
    /// certificate must chain to one of the PEM certificates in `ca_pem`.
    pub fn new(url: &str, ca_pem: &[u8]) -> Result<Self, Error> {
        Self::build(url, ca_pem, None)
    }

    /// [`Self::new`], presenting the PEM certificate chain and private key (PKCS#8, SEC1 or
    /// PKCS#1) as the TLS client certificate: a client that `samd` knows by its certificate.
    pub fn with_client_certificate(
        url: &str,
        ca_pem: &[u8],
        certificate_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, Error> {
        Self::build(url, ca_pem, Some((certificate_pem, key_pem)))
    }

    fn build(url: &str, ca_pem: &[u8], client: Option<(&[u8], &[u8])>) -> Result<Self, Error> {
        let (host, port, prefix) = parse_url(url)?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| Error::Config(format!("CA certificate PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(Error::Config("no PEM certificate in the CA file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let mut tls = match client {
            None => builder.with_no_client_auth(),
            Some((certificate_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(certificate_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Error::Config(format!("client certificate PEM: {e}")))?;
                if chain.is_empty() {
                    return Err(Error::Config(
                        "no PEM certificate in the client certificate file".into(),
                    ));
                }
                let key = PrivateKeyDer::from_pem_slice(key_pem)
                    .map_err(|e| Error::Config(format!("client key PEM: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::Config(format!("client certificate: {e}")))?
            }
        };
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            host,
            port,
            prefix,
            tls: Arc::new(tls),
        })
    }
}

/// `https://host[:port][/prefix]` → (host, port, prefix without a trailing `/`).
fn parse_url(url: &str) -> Result<(String, u16, String), Error> {
    let bad = |why: &str| Error::Config(format!("{url:?} is not an https URL: {why}"));
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("it must start with https://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if path.contains(['?', '#']) {
        return Err(bad("no query or fragment"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("junk after the address")),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
        None => 443,
    };
    Ok((host.to_owned(), port, path.to_owned()))
}

/// An HTTP request of the API, before authentication is added.
pub(crate) struct Call<'a> {
    pub(crate) method: hyper::Method,
    /// The path from `/`, with its query.
    pub(crate) path: &'a str,
    /// `Authorization`'s value, if any.
    pub(crate) authorization: Option<&'a str>,
    /// The JSON body, if any.
    pub(crate) body: Option<Vec<u8>>,
}

/// An answer: its status, `Retry-After` if it had one, and its body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u64>,
    pub(crate) body: Bytes,
}

/// The connections to one `samd`.
pub(crate) struct Transport {
    endpoint: Endpoint,
    timeout: Duration,
    idle: Mutex<Vec<(SendRequest<Full<Bytes>>, std::time::Instant)>>,
}

impl Transport {
    pub(crate) fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Self {
            endpoint,
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `call`, within the timeout.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Answer, Error> {
        tokio::time::timeout(self.timeout, self.send_unbounded(call))
            .await
            .map_err(|_| {
                Error::Transport(format!(
                    "no answer from {:?} within {} s",
                    self.endpoint,
                    self.timeout.as_secs()
                ))
            })?
    }

    async fn send_unbounded(&self, call: Call<'_>) -> Result<Answer, Error> {
        let request = self.request(&call)?;
        // A kept-alive connection the server has closed meanwhile fails before the request is
        // taken; then a new one is made (the request was not sent, so this is safe for a Sign).
        // Let the idle connections' tasks see what the server did meanwhile (a close).
        tokio::task::yield_now().await;
        let mut sender = match self.idle_connection() {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut e) => match e.take_message() {
                Some(request) if e.error().is_canceled() || e.error().is_closed() => {
                    sender = self.connect().await?;
                    sender
                        .send_request(request)
                        .await
                        .map_err(|e| Error::Transport(format!("{:?}: {e}", self.endpoint)))?
                }
                _ => {
                    return Err(Error::Transport(format!(
                        "{:?}: {}",
                        self.endpoint,
                        e.error()
                    )));
                }
            },
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| Error::Transport(format!("reading the answer: {e}")))?
            .to_bytes();
        self.keep(sender);
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn request(&self, call: &Call<'_>) -> Result<hyper::Request<Full<Bytes>>, Error> {
        let host = if self.endpoint.host.contains(':') {
            format!("[{}]:{}", self.endpoint.host, self.endpoint.port)
        } else {
            format!("{}:{}", self.endpoint.host, self.endpoint.port)
        };
        let mut builder = hyper::Request::builder()
            .method(call.method.clone())
            .uri(format!("{}{}", self.endpoint.prefix, call.path))
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("sam-client/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(value) = call.authorization {
            let mut value = hyper::header::HeaderValue::from_str(value)
                .map_err(|_| Error::Config("the credentials are not a header value".into()))?;
            value.set_sensitive(true);
            builder = builder.header(hyper::header::AUTHORIZATION, value);
        }
        let body = match &call.body {
            Some(json) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(json.clone())
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(body))
            .map_err(|e| Error::Config(format!("request: {e}")))
    }

    fn idle_connection(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < IDLE_REUSE {
                return Some(sender);
            }
        }
        None
    }

    fn keep(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push((sender, std::time::Instant::now()));
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let endpoint = &self.endpoint;
        let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(|e| Error::Transport(format!("connecting to {endpoint:?}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| Error::Config(format!("{:?} is not a server name: {e}", endpoint.host)))?;
        let tls = tokio_rustls::TlsConnector::from(endpoint.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| Error::Tls(format!("{endpoint:?}: {e}")))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| Error::Transport(format!("{endpoint:?}: {e}")))?;
        // The connection runs until the server closes it or the sender is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_with_a_host_an_optional_port_and_prefix() {
        let ok = |url: &str| parse_url(url).unwrap();
        assert_eq!(
            ok("https://localhost"),
            ("localhost".into(), 443, "".into())
        );
        assert_eq!(
            ok("https://127.0.0.1:8443/"),
            ("127.0.0.1".into(), 8443, "".into())
        );
        assert_eq!(
            ok("https://sam.example/signing/"),
            ("sam.example".into(), 443, "/signing".into())
        );
        assert_eq!(ok("https://[::1]:9"), ("::1".into(), 9, "".into()));
        for bad in [
            "http://localhost",
            "localhost:8443",
            "https://",
            "https://:8443",
            "https://host:port",
            "https://host:99999",
            "https://[::1",
            "https://[::1]x",
            "https://host/a?b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
