//! samctl's connection to `samd`: a `sam-client` [`Connection`] with the CA (and client
//! certificate) the user names, and a current-thread runtime that runs each call to its end —
//! samctl is a command that waits for its answer, so its commands stay plain functions.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sam_client::{AdminClient, ClientAuth, Connection, Endpoint, SamClient};
use zeroize::Zeroizing;

use crate::CliError;

/// How long one call may take (a bulk of signatures included).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the server is and how to reach it.
#[derive(Clone)]
pub(crate) struct Target {
    /// `https://host:port`.
    pub(crate) server: String,
    /// The CA certificate (PEM) the server's certificate must chain to.
    pub(crate) ca: PathBuf,
    /// A client certificate and key (PEM), for mutual TLS.
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
}

/// A connected samd and the runtime its calls run on.
pub(crate) struct Remote {
    runtime: tokio::runtime::Runtime,
    connection: Connection,
    server: String,
}

fn read(what: &str, path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| CliError::File {
            what: what.to_owned(),
            path: path.to_owned(),
            message: e.to_string(),
        })
}

impl Remote {
    /// Connects to `target` (no request is sent yet).
    pub(crate) fn connect(target: &Target) -> Result<Self, CliError> {
        let ca = read("CA certificate", &target.ca)?;
        let endpoint = match &target.client_certificate {
            None => Endpoint::new(&target.server, &ca),
            Some((cert, key)) => Endpoint::with_client_certificate(
                &target.server,
                &ca,
                &read("client certificate", cert)?,
                &read("client key", key)?,
            ),
        }
        .map_err(|e| {
            let files = match &target.client_certificate {
                Some((cert, key)) => format!(
                    "--ca {}, --client-cert {}, --client-key {}",
                    target.ca.display(),
                    cert.display(),
                    key.display()
                ),
                None => format!("--ca {}", target.ca.display()),
            };
            CliError::Usage(format!("{e} ({files})"))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Usage(format!("cannot start: {e}")))?;
        Ok(Self {
            runtime,
            connection: Connection::with_timeout(endpoint, CALL_TIMEOUT),
            server: target.server.clone(),
        })
    }

    /// Runs `call` to its end.
    pub(crate) fn run<T>(
        &self,
        call: impl Future<Output = Result<T, sam_client::Error>>,
    ) -> Result<T, CliError> {
        self.runtime.block_on(call).map_err(|e| self.error(e))
    }

    /// A client error as samctl reports it.
    pub(crate) fn error(&self, e: sam_client::Error) -> CliError {
        match e {
            sam_client::Error::Api {
                status,
                error,
                message,
                ..
            } => CliError::Server {
                status,
                code: error,
                message,
            },
            sam_client::Error::Transport(message) | sam_client::Error::Tls(message) => {
                CliError::Connect {
                    server: self.server.clone(),
                    message,
                }
            }
            sam_client::Error::Answer(message) => CliError::Protocol(message),
            sam_client::Error::TimedOut(message) => CliError::Refused(message),
            other => CliError::Usage(other.to_string()),
        }
    }

    /// The connection (for a device session).
    pub(crate) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The business application's client.
    pub(crate) fn client(&self, auth: ClientAuth) -> SamClient {
        SamClient::new(self.connection.clone(), auth)
    }

    /// The operator's client.
    pub(crate) fn admin(&self, credential: &str) -> AdminClient {
        AdminClient::new(self.connection.clone(), credential)
    }
}
