//! `samctl`: the sam command line. Administration (profiles, clients, plans, crypto sources,
//! the audit log), a business application's requests (users, keys, certificates, signing),
//! a software authorisation device (the role of the user's phone app), the development CA,
//! and verification. It talks to `samd` over HTTPS; all rules are the server's.
#![forbid(unsafe_code)]

mod admin;
mod cli;
mod devca;
mod device;
mod error;
mod key;
mod out;
mod remote;
mod sign;
mod user;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sam_algorithms::{HashAlgorithm, UnixTime};
use sam_client::{ClientAuth, SamClient};
use serde_json::json;
use zeroize::Zeroizing;

use crate::cli::{Cli, Command, DevCaCommand, DeviceCommand, Global};
pub(crate) use crate::error::CliError;
pub(crate) use crate::out::Out;
use crate::remote::{Remote, Target};

/// The current time.
pub(crate) fn now() -> Result<UnixTime, CliError> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| CliError::Crypto(e.to_string()))?
        .as_secs();
    i64::try_from(secs)
        .ok()
        .and_then(UnixTime::from_secs)
        .ok_or_else(|| CliError::Crypto("the clock is out of range".into()))
}

/// A secret from the environment variable `name`.
pub(crate) fn secret_from_env(name: &str) -> Result<Zeroizing<String>, CliError> {
    std::env::var(name)
        .map(Zeroizing::new)
        .map_err(|_| CliError::Usage(format!("set the environment variable {name}")))
}

/// The certificates (DER) of a PEM file.
pub(crate) fn pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(|e| CliError::File {
        what: "certificate".into(),
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let certificates: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&text)
        .filter_map(Result::ok)
        .map(|c| c.to_vec())
        .collect();
    if certificates.is_empty() {
        return Err(CliError::File {
            what: "certificate".into(),
            path: path.to_owned(),
            message: "no PEM certificate in it".into(),
        });
    }
    Ok(certificates)
}

/// What every command has: the global options and how to show results.
pub(crate) struct Context {
    pub(crate) global: Global,
    pub(crate) out: Out,
}

impl Context {
    /// The server, as the global options name it.
    pub(crate) fn remote(&self) -> Result<Remote, CliError> {
        Remote::connect(&Target {
            server: self.global.server.clone(),
            ca: self.global.ca.clone(),
            client_certificate: self
                .global
                .client_cert
                .clone()
                .zip(self.global.client_key.clone()),
        })
    }

    /// The business application, as the global options name it.
    pub(crate) fn client(&self, remote: &Remote) -> Result<SamClient, CliError> {
        let auth = match &self.global.client_id {
            // A client known by its certificate may still be named (a device's enrolment
            // records the client id); without its secret, the certificate authenticates it.
            Some(_)
                if self.global.client_cert.is_some()
                    && std::env::var_os(&self.global.client_secret_env).is_none() =>
            {
                ClientAuth::Certificate
            }
            Some(id) => ClientAuth::Basic {
                client_id: id.clone(),
                secret: secret_from_env(&self.global.client_secret_env)?,
            },
            None if self.global.client_cert.is_some() => ClientAuth::Certificate,
            None => {
                return Err(CliError::Usage(
                    "name the client: --client-id (or SAM_CLIENT_ID) with its secret in \
                     SAM_CLIENT_SECRET, or a TLS client certificate (--client-cert)"
                        .into(),
                ));
            }
        };
        Ok(remote.client(auth))
    }

    fn client_id(&self) -> Result<String, CliError> {
        self.global.client_id.clone().ok_or_else(|| {
            CliError::Usage("name the client: --client-id (or SAM_CLIENT_ID)".into())
        })
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Context {
        out: Out {
            json: cli.global.json,
            field: cli.global.field.clone(),
        },
        global: cli.global,
    };
    let out = &ctx.out;
    match cli.command {
        Command::Admin(command) => admin::run(&ctx, command),
        Command::User(command) => user::run(&ctx, command),
        Command::Key(command) => key::run(&ctx, command),
        Command::Device(command) => {
            let remote = ctx.remote()?;
            match command {
                DeviceCommand::Enroll {
                    user,
                    device,
                    algorithm,
                    profile,
                    key_file,
                    claim_biometric,
                    claim_secure_element,
                } => device::enroll(
                    &remote,
                    &ctx.client(&remote)?,
                    &device::Enrolment {
                        client_id: &ctx.client_id()?,
                        user: &user,
                        device: &device,
                        algorithm: &algorithm,
                        profile,
                        key_file: &key_file.unwrap_or_else(|| device::default_key_file(&device)),
                        claims: device::DeviceClaims {
                            biometric: claim_biometric,
                            secure_element: claim_secure_element,
                        },
                    },
                    out,
                ),
                DeviceCommand::Session { key_file } => {
                    device::open_session(&remote, &key_file, out)
                }
                DeviceCommand::Pending { key_file } => {
                    device::list_pending(&remote, &key_file, out)
                }
                DeviceCommand::Approve {
                    key_file,
                    request_id,
                    yes,
                    wait,
                } => device::approve(
                    &remote,
                    &key_file,
                    request_id.as_deref(),
                    yes,
                    Duration::from_secs(wait),
                    out,
                ),
                DeviceCommand::Decline {
                    key_file,
                    request_id,
                } => device::decline(&remote, &key_file, &request_id, out),
            }
        }
        Command::DevCa(DevCaCommand::Issue {
            csr,
            out: path,
            data_dir,
            days,
        }) => {
            if path.exists() {
                return Err(CliError::Usage(format!("{} exists", path.display())));
            }
            let pem = devca::issue(&data_dir.join("dev-ca"), &csr, days)?;
            std::fs::write(&path, &pem).map_err(|e| CliError::File {
                what: "certificate".into(),
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.show(&json!({"certificate": path.display().to_string()}), || {
                format!("certificate written to {}", path.display())
            });
            Ok(())
        }
        Command::Health { wait } => {
            // Waits also for the CA file, which `samd --dev` writes on its first start.
            let started = std::time::Instant::now();
            loop {
                match ctx
                    .remote()
                    .and_then(|remote| remote.run(remote.connection().ready()))
                {
                    Ok(()) => break,
                    Err(e) if started.elapsed() >= Duration::from_secs(wait) => return Err(e),
                    Err(_) => std::thread::sleep(Duration::from_millis(200)),
                }
            }
            out.show(&json!({"ready": true, "server": ctx.global.server}), || {
                format!("{} is ready", ctx.global.server)
            });
            Ok(())
        }
        Command::Status { request_id } => {
            let remote = ctx.remote()?;
            let client = ctx.client(&remote)?;
            let state = remote.run(client.status(&request_id))?;
            out.show(&out::json(&state), || {
                format!(
                    "request {request_id}: {} (expires {})",
                    state.status, state.expires_at
                )
            });
            Ok(())
        }
        Command::Authorise {
            user,
            key,
            format,
            hash,
            files,
        } => {
            let hash: HashAlgorithm = hash
                .parse()
                .map_err(|_| CliError::Usage(format!("unknown hash {hash}")))?;
            let remote = ctx.remote()?;
            sign::authorise(
                &remote,
                &ctx.client(&remote)?,
                &sign::SignJob {
                    user: &user,
                    key: &key,
                    format: &format,
                    hash,
                    files: &files,
                    wait: Duration::ZERO,
                    overwrite: true,
                },
                out,
            )
        }
        Command::Sign {
            user,
            key,
            format,
            hash,
            wait,
            overwrite,
            request,
            files,
        } => {
            let hash: HashAlgorithm = hash
                .parse()
                .map_err(|_| CliError::Usage(format!("unknown hash {hash}")))?;
            let remote = ctx.remote()?;
            sign::sign(
                &remote,
                &ctx.client(&remote)?,
                &sign::SignJob {
                    user: user.as_deref().unwrap_or_default(),
                    key: key.as_deref().unwrap_or_default(),
                    format: &format,
                    hash,
                    files: &files,
                    wait: Duration::from_secs(wait),
                    overwrite,
                },
                request.as_deref(),
                out,
            )
        }
        Command::Verify {
            signature,
            content,
            trust,
        } => sign::verify(&signature, content.as_deref(), trust.as_deref(), out),
    }
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samctl: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
