//! The HTTPS client of `samctl`: one ureq agent over rustls (ring), trusting only the CA the
//! user names (the development CA by default), optionally presenting a client certificate;
//! JSON in and out; the server's `{"error", "message"}` becomes a [`CliError::Server`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64, Encoding};
use serde_json::Value;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::CliError;

/// The largest answer read (a bulk of signatures fits).
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// How a request authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    /// Nothing (health, device challenges).
    None,
    /// The operator: `Authorization: Bearer <admin credential>`.
    Admin(Zeroizing<String>),
    /// A business application: HTTP Basic (and the TLS client certificate, if configured).
    Client {
        /// Its id.
        id: String,
        /// Its secret.
        secret: Zeroizing<String>,
    },
    /// A client with only its TLS client certificate.
    ClientCertificate,
    /// A device session: `Authorization: Bearer <token>`.
    Device(Zeroizing<String>),
}

/// Where the server is and how to reach it.
#[derive(Clone)]
pub(crate) struct Connection {
    /// `https://host:port`.
    pub(crate) server: String,
    /// The CA certificate (PEM) the server's certificate must chain to.
    pub(crate) ca: PathBuf,
    /// A client certificate and key (PEM), for mutual TLS.
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
}

/// A connected client.
pub(crate) struct Api {
    agent: ureq::Agent,
    server: String,
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::File {
        what: what.to_owned(),
        path: path.to_owned(),
        message: e.to_string(),
    })
}

impl Api {
    /// An agent for `connection`.
    pub(crate) fn connect(connection: &Connection) -> Result<Self, CliError> {
        let pem = read("CA certificate", &connection.ca)?;
        let roots: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if roots.is_empty() {
            return Err(CliError::File {
                what: "CA certificate".into(),
                path: connection.ca.clone(),
                message: "no PEM certificate in it".into(),
            });
        }
        let mut tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(roots)));
        if let Some((cert, key)) = &connection.client_certificate {
            let chain_pem = read("client certificate", cert)?;
            let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&chain_pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key_pem = Zeroizing::new(read("client key", key)?);
            let key = PrivateKey::from_pem(&key_pem).map_err(|e| CliError::File {
                what: "client key".into(),
                path: key.clone(),
                message: e.to_string(),
            })?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Ok(Self {
            agent: config.into(),
            server: connection.server.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends `method path` with `body` (JSON) and returns the JSON answer (`null` for 204).
    pub(crate) fn call(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let url = format!("{}{path}", self.server);
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", "application/json");
        match auth {
            Auth::None | Auth::ClientCertificate => {}
            Auth::Admin(token) | Auth::Device(token) => {
                request = request.header("Authorization", format!("Bearer {}", token.as_str()));
            }
            Auth::Client { id, secret } => {
                let pair = Zeroizing::new(format!("{id}:{}", secret.as_str()));
                request = request.header(
                    "Authorization",
                    format!("Basic {}", Base64::encode_string(pair.as_bytes())),
                );
            }
        }
        let bytes = match body {
            Some(value) => {
                request = request.header("Content-Type", "application/json");
                serde_json::to_vec(value).map_err(|e| CliError::Usage(e.to_string()))?
            }
            None => Vec::new(),
        };
        let request = request
            .body(bytes)
            .map_err(|e| CliError::Usage(format!("{url}: {e}")))?;
        let mut response = self.agent.run(request).map_err(|e| CliError::Connect {
            server: self.server.clone(),
            message: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| CliError::Connect {
                server: self.server.clone(),
                message: e.to_string(),
            })?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&text)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&text).into_owned()))
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        Err(CliError::Server {
            status,
            code: value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("http_error")
                .to_owned(),
            message: value
                .get("message")
                .and_then(Value::as_str)
                .map_or_else(|| value.to_string(), str::to_owned),
        })
    }
}

impl Api {
    /// Every entry of a paged list (docs/api.md: `after`, `limit`, `next`): the pages of
    /// `method path` with `body`, their `field` arrays joined into one array.
    pub(crate) fn every_page(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Option<&Value>,
        field: &str,
    ) -> Result<Value, CliError> {
        let mut all = Vec::new();
        self.each_page(auth, method, path, body, |page| {
            let entries = page
                .get(field)
                .and_then(Value::as_array)
                .ok_or_else(|| CliError::Protocol(format!("the answer has no {field}")))?;
            all.extend(entries.iter().cloned());
            Ok(entries.is_empty())
        })?;
        Ok(Value::Array(all))
    }

    /// Calls `visit` with each page of a paged list, following `next` until there is none
    /// (or `visit` says the page was empty).
    pub(crate) fn each_page(
        &self,
        auth: &Auth,
        method: &str,
        path: &str,
        body: Option<&Value>,
        mut visit: impl FnMut(&Value) -> Result<bool, CliError>,
    ) -> Result<(), CliError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut after: Option<String> = None;
        loop {
            let page_path = match &after {
                Some(cursor) => format!("{path}{separator}limit=1000&after={cursor}"),
                None => format!("{path}{separator}limit=1000"),
            };
            let page = self.call(auth, method, &page_path, body)?;
            let empty = visit(&page)?;
            after = page.get("next").and_then(Value::as_str).map(str::to_owned);
            if empty || after.is_none() {
                return Ok(());
            }
        }
    }
}

/// A base64 field of an answer.
pub(crate) fn field_b64(value: &Value, field: &str) -> Result<Vec<u8>, CliError> {
    let text = value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::Protocol(format!("the answer has no {field}")))?;
    Base64::decode_vec(text).map_err(|_| CliError::Protocol(format!("{field} is not base64")))
}

/// A string field of an answer.
pub(crate) fn field_str<'a>(value: &'a Value, field: &str) -> Result<&'a str, CliError> {
    value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::Protocol(format!("the answer has no {field}")))
}
