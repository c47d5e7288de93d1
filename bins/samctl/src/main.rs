//! `samctl`: the sam command line. Administration (profiles, clients, plans, crypto sources,
//! the audit log), a business application's requests (users, keys, certificates, signing),
//! a software authorisation device (the role of the user's phone app), the development CA,
//! and verification. It talks to `samd` over HTTPS; all rules are the server's.
#![forbid(unsafe_code)]

mod devca;
mod device;
mod http;
mod sign;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sam_algorithms::{HashAlgorithm, UnixTime};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::http::{Api, Auth, Connection};

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
    fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::File { .. } => 2,
            Self::Refused(_) => 3,
            _ => 1,
        }
    }
}

/// How results are shown: for people, or as JSON for scripts.
pub(crate) struct Out {
    json: bool,
    field: Option<String>,
}

impl Out {
    /// Shows a result: its JSON with `--json`, `human()` otherwise (stdout).
    #[allow(clippy::print_stdout)]
    pub(crate) fn show(&self, value: &Value, human: impl FnOnce() -> String) {
        if let Some(field) = &self.field {
            match value.get(field) {
                Some(Value::String(text)) => println!("{text}"),
                Some(other) => println!("{other}"),
                None => println!(),
            }
        } else if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
            );
        } else {
            println!("{}", human());
        }
    }

    /// Whether only the result is printed (`--json`, `--field`).
    fn quiet(&self) -> bool {
        self.json || self.field.is_some()
    }

    /// A remark on the way (stderr, not with `--json` or `--field`).
    #[allow(clippy::print_stderr)]
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet() {
            eprintln!("{}", text.trim_end());
        }
    }

    /// A progress bar over `total` bytes (hidden with `--json` or off a terminal).
    pub(crate) fn progress(&self, total: u64, message: &str) -> ProgressBar {
        if self.quiet() {
            return sign::hidden();
        }
        ProgressBar::new(total)
            .with_style(sign::bar_style())
            .with_message(message.to_owned())
    }

    /// A spinner while waiting.
    pub(crate) fn spinner(&self, message: &str) -> ProgressBar {
        if self.quiet() {
            return sign::hidden();
        }
        let spinner = ProgressBar::new_spinner().with_message(message.to_owned());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    }
}

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

/// The sam command line: administer a sam server, act as a business application or as a
/// user's authorisation device, sign files and verify signatures.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples (against `samd --dev`, which made ./sam-data):\n  \
        export SAM_ADMIN_TOKEN=...                 the credential samd --dev printed once\n  \
        samctl admin profile create profile.toml\n  \
        export SAM_CLIENT_ID=shop SAM_CLIENT_SECRET=$(openssl rand -hex 24)\n  \
        samctl admin client create shop --secret-env SAM_CLIENT_SECRET\n  \
        samctl user create alice\n  \
        samctl device enroll --user alice --device phone\n  \
        samctl sign --user alice --key KEY contract.pdf\n  \
        samctl verify contract.pdf.p7s --content contract.pdf --trust sam-data/dev-ca/ca.pem\n\n\
        The README's quickstart runs these end to end."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// The server.
    #[arg(
        long,
        env = "SAM_SERVER",
        default_value = "https://127.0.0.1:8443",
        global = true
    )]
    server: String,
    /// The CA certificate (PEM) the server's TLS certificate must chain to.
    #[arg(
        long,
        env = "SAM_CA",
        default_value = "sam-data/dev-ca/ca.pem",
        global = true
    )]
    ca: PathBuf,
    /// A TLS client certificate (PEM) for mutual TLS, with --client-key.
    #[arg(long, env = "SAM_CLIENT_CERT", requires = "client_key", global = true)]
    client_cert: Option<PathBuf>,
    /// The TLS client certificate's private key (PEM).
    #[arg(long, env = "SAM_CLIENT_KEY", requires = "client_cert", global = true)]
    client_key: Option<PathBuf>,
    /// The business application's id (HTTP Basic).
    #[arg(long, env = "SAM_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// The environment variable holding the client secret.
    #[arg(long, default_value = "SAM_CLIENT_SECRET", global = true)]
    client_secret_env: String,
    /// The environment variable holding the admin credential.
    #[arg(long, default_value = "SAM_ADMIN_TOKEN", global = true)]
    admin_token_env: String,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// Print only this field of the result (for scripts), e.g. `--field key_id`.
    #[arg(long, global = true, value_name = "NAME")]
    field: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// The operator's commands (need the admin credential).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Users of the business application.
    #[command(subcommand)]
    User(UserCommand),
    /// The users' signing keys and certificates.
    #[command(subcommand)]
    Key(KeyCommand),
    /// A software authorisation device: the user's phone app, in a key file.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// The development CA of `samd --dev`.
    #[command(subcommand, name = "dev-ca")]
    DevCa(DevCaCommand),
    /// Whether the server answers (and is ready), waiting for it if asked.
    #[command(
        after_help = "Example:\n  samctl health --wait 30     (after starting samd in the background)"
    )]
    Health {
        /// Wait up to this many seconds for the server to become ready.
        #[arg(long, default_value = "0")]
        wait: u64,
    },
    /// The state of an authorisation request.
    Status {
        /// The request id.
        request_id: String,
    },
    /// Signs files: hashes them here, asks the user's approval for all of them at once, and
    /// writes FILE.p7s beside each.
    #[command(
        after_help = "Example:\n  samctl sign --user alice --key 3f2a... a.pdf b.pdf\n  \
        (approve with `samctl device approve` while it waits)"
    )]
    Sign {
        /// The user who signs.
        #[arg(long, required_unless_present = "request")]
        user: Option<String>,
        /// The user's key.
        #[arg(long, required_unless_present = "request")]
        key: Option<String>,
        /// The output: raw, cms, cades-b-b, cades-b-t, cades-b-lt.
        #[arg(long, default_value = "cades-b-b")]
        format: String,
        /// The hash of the documents.
        #[arg(long, default_value = "sha-256")]
        hash: String,
        /// How long to wait for the approval, seconds.
        #[arg(long, default_value = "300")]
        wait: u64,
        /// Replace existing FILE.p7s.
        #[arg(long)]
        overwrite: bool,
        /// Finish this earlier `samctl authorise` of the same files instead of authorising.
        #[arg(long, value_name = "REQUEST_ID")]
        request: Option<String>,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Asks the user's approval to sign files (hashed here) and prints the request id, without
    /// waiting; `samctl sign --request ID FILE...` finishes it.
    #[command(
        after_help = "Example:\n  ID=$(samctl authorise --user alice --key KEY a.pdf b.pdf)\n  \
        samctl sign --user alice --key KEY --request \"$ID\" a.pdf b.pdf"
    )]
    Authorise {
        /// The user who signs.
        #[arg(long)]
        user: String,
        /// The user's key.
        #[arg(long)]
        key: String,
        /// The output: raw, cms, cades-b-b, cades-b-t, cades-b-lt.
        #[arg(long, default_value = "cades-b-b")]
        format: String,
        /// The hash of the documents.
        #[arg(long, default_value = "sha-256")]
        hash: String,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Verifies a CMS/CAdES signature with sam's verifier.
    #[command(
        after_help = "Example:\n  samctl verify a.pdf.p7s --content a.pdf --trust sam-data/dev-ca/ca.pem"
    )]
    Verify {
        /// The signature (DER).
        signature: PathBuf,
        /// The signed content, for a detached signature.
        #[arg(long)]
        content: Option<PathBuf>,
        /// The CA (PEM) that must have issued the signer's certificate.
        #[arg(long = "trust")]
        trust: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// SAM profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Business applications (clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Service plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// The crypto sources and their health.
    CryptoSources,
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Creates a profile from a TOML (or JSON) file of settings (docs/profiles.md).
    #[command(after_help = "Example:\n  samctl admin profile create qualified.toml")]
    Create {
        /// The settings file.
        file: PathBuf,
    },
    /// Replaces a profile's settings with a file's.
    #[command(after_help = "Example:\n  samctl admin profile edit 3 qualified.toml")]
    Edit {
        /// The profile id.
        id: u32,
        /// The settings file.
        file: PathBuf,
    },
    /// Lists the profiles.
    #[command(after_help = "Example:\n  samctl admin profile list --sort name --desc")]
    List {
        /// id, name, created-at or status.
        #[arg(long, default_value = "id")]
        sort: String,
        /// Descending order.
        #[arg(long)]
        desc: bool,
    },
    /// Advanced search: every option given must match.
    #[command(
        after_help = "Example:\n  samctl admin profile search --status active --key-algorithm ecdsa --key-length 256"
    )]
    Search {
        /// Active or inactive.
        #[arg(long)]
        status: Option<String>,
        /// Names containing this text.
        #[arg(long)]
        name: Option<String>,
        /// User key algorithm: rsa, ecdsa, ml-dsa.
        #[arg(long)]
        key_algorithm: Option<String>,
        /// User key length in bits.
        #[arg(long)]
        key_length: Option<u32>,
    },
    /// Shows a profile.
    #[command(after_help = "Example:\n  samctl admin profile show 3 --json")]
    Show {
        /// The profile id.
        id: u32,
    },
    /// Makes a copy under a new name.
    #[command(after_help = "Example:\n  samctl admin profile copy 3 --name \"Qualified (copy)\"")]
    Copy {
        /// The profile id.
        id: u32,
        /// The copy's name.
        #[arg(long)]
        name: String,
        /// The copy's description.
        #[arg(long)]
        description: Option<String>,
    },
    /// Activates a profile.
    #[command(after_help = "Example:\n  samctl admin profile activate 3")]
    Activate {
        /// The profile id.
        id: u32,
    },
    /// Deactivates a profile (requests can no longer use it).
    #[command(after_help = "Example:\n  samctl admin profile deactivate 3")]
    Deactivate {
        /// The profile id.
        id: u32,
    },
    /// Which clients use which profile.
    #[command(after_help = "Example:\n  samctl admin profile usage")]
    Usage,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Registers a client, and sets its secret from an environment variable.
    #[command(
        after_help = "Example:\n  SHOP_SECRET=$(openssl rand -hex 24) samctl admin client create shop --secret-env SHOP_SECRET"
    )]
    Create {
        /// The client id.
        client_id: String,
        /// The environment variable holding its secret (HTTP Basic).
        #[arg(long)]
        secret_env: Option<String>,
        /// A profile it may use (repeat; default: every profile).
        #[arg(long = "profile")]
        profiles: Vec<u32>,
        /// The profile used when a request names none.
        #[arg(long)]
        default_profile: Option<u32>,
        /// A TLS client certificate (PEM) that authenticates it (repeat).
        #[arg(long = "tls-cert")]
        tls_certificates: Vec<PathBuf>,
        /// Require HTTP Basic together with the TLS certificate (seed 002).
        #[arg(long)]
        basic_with_tls: bool,
    },
    /// Shows a client.
    #[command(after_help = "Example:\n  samctl admin client show shop")]
    Show {
        /// The client id.
        client_id: String,
    },
    /// Lists the clients.
    #[command(after_help = "Example:\n  samctl admin client list --json")]
    List,
    /// Sets a client's secret from an environment variable.
    #[command(
        after_help = "Example:\n  NEW=$(openssl rand -hex 24) samctl admin client secret shop --secret-env NEW"
    )]
    Secret {
        /// The client id.
        client_id: String,
        /// The environment variable holding the secret.
        #[arg(long)]
        secret_env: String,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Sets a client's plan from a JSON file (docs/plans.md).
    #[command(
        after_help = "Example:\n  samctl admin plan set shop plan.json     (docs/plans.md shows the fields)"
    )]
    Set {
        /// The client id.
        client_id: String,
        /// The plan settings (JSON).
        file: PathBuf,
    },
    /// Shows a client's plan, usage and next renewal.
    #[command(after_help = "Example:\n  samctl admin plan show shop")]
    Show {
        /// The client id.
        client_id: String,
    },
    /// Renews a client's plan now.
    #[command(after_help = "Example:\n  samctl admin plan renew shop")]
    Renew {
        /// The client id.
        client_id: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Writes audit records as JSON.
    #[command(
        after_help = "Example:\n  samctl admin audit export --from 1 --limit 500 > audit.json"
    )]
    Export {
        /// The first sequence number.
        #[arg(long, default_value = "1")]
        from: i64,
        /// How many.
        #[arg(long, default_value = "1000")]
        limit: i64,
    },
    /// Checks the hash chain of the whole log.
    #[command(after_help = "Example:\n  samctl admin audit verify")]
    Verify,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Registers a user.
    #[command(
        after_help = "Example:\n  samctl user create alice --email alice@example.com --mobile +31612345678"
    )]
    Create {
        /// The user id.
        user_id: String,
        /// E-mail address (for codes).
        #[arg(long)]
        email: Option<String>,
        /// Mobile number (for codes).
        #[arg(long)]
        mobile: Option<String>,
    },
    /// Shows a user.
    #[command(after_help = "Example:\n  samctl user show alice")]
    Show {
        /// The user id.
        user_id: String,
    },
    /// Lists users.
    #[command(after_help = "Example:\n  samctl user list --json")]
    List,
    /// Deletes a user.
    #[command(after_help = "Example:\n  samctl user delete alice")]
    Delete {
        /// The user id.
        user_id: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generates a signing key for a user.
    #[command(after_help = "Example:\n  samctl key generate alice --profile 1")]
    Generate {
        /// The user.
        user_id: String,
        /// The profile (default: the client's default profile).
        #[arg(long)]
        profile: Option<u32>,
    },
    /// Gets a certification request (PKCS#10) for a key, after the user approves it on their
    /// device.
    #[command(
        after_help = "Example:\n  samctl key csr KEY --user alice --subject 'CN=Alice Example,C=NL' --out alice.csr"
    )]
    Csr {
        /// The key.
        key_id: String,
        /// Its user.
        #[arg(long)]
        user: String,
        /// The subject DN (RFC 4514).
        #[arg(long)]
        subject: String,
        /// Where to write the request (PEM).
        #[arg(long)]
        out: PathBuf,
        /// How long to wait for the approval, seconds.
        #[arg(long, default_value = "300")]
        wait: u64,
    },
    /// Imports the key's certificate (PEM), with the issuing chain.
    #[command(
        after_help = "Example:\n  samctl key import-cert KEY alice.pem --chain sam-data/dev-ca/ca.pem"
    )]
    ImportCert {
        /// The key.
        key_id: String,
        /// The certificate (PEM).
        certificate: PathBuf,
        /// The issuing CA certificates (PEM), issuer first.
        #[arg(long)]
        chain: Option<PathBuf>,
    },
    /// Shows the key's certificate.
    #[command(after_help = "Example:\n  samctl key show KEY")]
    Show {
        /// The key.
        key_id: String,
    },
    /// Deletes a key.
    #[command(after_help = "Example:\n  samctl key delete KEY")]
    Delete {
        /// The key.
        key_id: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Creates the device's key, registers it for the user, and keeps it in a file.
    #[command(
        after_help = "Example:\n  samctl device enroll --user alice --device phone   (writes phone.device.json)"
    )]
    Enroll {
        /// The user.
        #[arg(long)]
        user: String,
        /// The device id.
        #[arg(long)]
        device: String,
        /// The JOSE algorithm: ES256, ES384, ES512, ML-DSA-44, ML-DSA-65, ML-DSA-87.
        #[arg(long, default_value = "ES256")]
        algorithm: String,
        /// The profile whose device rules apply (default: the client's default).
        #[arg(long)]
        profile: Option<u32>,
        /// The key file (default: DEVICE.device.json).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Claim that the key is unlocked by a biometric (for trying a profile with
        /// `biometric_required`; this software device has no biometric).
        #[arg(long)]
        claim_biometric: bool,
        /// Claim that the key is in a secure element (for trying a profile with
        /// `secure_element_required`; this software device keeps its key in a file).
        #[arg(long)]
        claim_secure_element: bool,
    },
    /// Opens a device session and prints its bearer token (for scripts and debugging).
    #[command(
        after_help = "Example:\n  TOKEN=$(samctl device session --key-file phone.device.json --field token)"
    )]
    Session {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Lists what the user is asked to approve.
    #[command(after_help = "Example:\n  samctl device pending --key-file phone.device.json")]
    Pending {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
    },
    /// Approves a request (or every pending one): shows what is signed and signs the SAD.
    #[command(
        after_help = "Example:\n  samctl device approve --key-file phone.device.json            (shows and asks)\n  samctl device approve --key-file phone.device.json --yes --wait 30"
    )]
    Approve {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
        /// The request (default: every pending one).
        request_id: Option<String>,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
        /// Wait up to this many seconds for a request to arrive.
        #[arg(long, default_value = "0")]
        wait: u64,
    },
    /// Declines a request.
    #[command(
        after_help = "Example:\n  samctl device decline --key-file phone.device.json REQUEST_ID"
    )]
    Decline {
        /// The key file.
        #[arg(long)]
        key_file: PathBuf,
        /// The request.
        request_id: String,
    },
}

#[derive(Subcommand)]
enum DevCaCommand {
    /// Issues a signing certificate for a certification request.
    #[command(after_help = "Example:\n  samctl dev-ca issue alice.csr --out alice.pem")]
    Issue {
        /// The request (PEM or DER).
        csr: PathBuf,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        out: PathBuf,
        /// The development data directory.
        #[arg(long, default_value = "sam-data")]
        data_dir: PathBuf,
        /// Validity in days.
        #[arg(long, default_value = "365")]
        days: u32,
    },
}

fn secret_from_env(name: &str) -> Result<Zeroizing<String>, CliError> {
    std::env::var(name)
        .map(Zeroizing::new)
        .map_err(|_| CliError::Usage(format!("set the environment variable {name}")))
}

fn pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let text = std::fs::read(path).map_err(|e| CliError::File {
        what: "certificate".into(),
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let certificates: Vec<Vec<u8>> = ureq::tls::parse_pem(&text)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.der().to_vec()),
            _ => None,
        })
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

fn b64(bytes: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    Base64::encode_string(bytes)
}

struct Context {
    global: Global,
    out: Out,
}

impl Context {
    fn api(&self) -> Result<Api, CliError> {
        Api::connect(&Connection {
            server: self.global.server.clone(),
            ca: self.global.ca.clone(),
            client_certificate: self
                .global
                .client_cert
                .clone()
                .zip(self.global.client_key.clone()),
        })
    }

    fn admin(&self) -> Result<Auth, CliError> {
        Ok(Auth::Admin(secret_from_env(&self.global.admin_token_env)?))
    }

    fn client(&self) -> Result<Auth, CliError> {
        match &self.global.client_id {
            Some(id) => Ok(Auth::Client {
                id: id.clone(),
                secret: secret_from_env(&self.global.client_secret_env)?,
            }),
            None if self.global.client_cert.is_some() => Ok(Auth::ClientCertificate),
            None => Err(CliError::Usage(
                "name the client: --client-id (or SAM_CLIENT_ID) with its secret in \
                 SAM_CLIENT_SECRET, or a TLS client certificate (--client-cert)"
                    .into(),
            )),
        }
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
        Command::Admin(command) => admin(&ctx, command),
        Command::User(command) => user(&ctx, command),
        Command::Key(command) => key(&ctx, command),
        Command::Device(command) => {
            let api = ctx.api()?;
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
                    &api,
                    &ctx.client()?,
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
                DeviceCommand::Session { key_file } => device::open_session(&api, &key_file, out),
                DeviceCommand::Pending { key_file } => device::list_pending(&api, &key_file, out),
                DeviceCommand::Approve {
                    key_file,
                    request_id,
                    yes,
                    wait,
                } => device::approve(
                    &api,
                    &key_file,
                    request_id.as_deref(),
                    yes,
                    Duration::from_secs(wait),
                    out,
                ),
                DeviceCommand::Decline {
                    key_file,
                    request_id,
                } => device::decline(&api, &key_file, &request_id, out),
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
                    .api()
                    .and_then(|api| api.call(&Auth::None, "GET", "/readyz", None))
                {
                    Ok(_) => break,
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
            let api = ctx.api()?;
            let state = api.call(
                &ctx.client()?,
                "GET",
                &format!("/api/v1/authorisations/{request_id}"),
                None,
            )?;
            out.show(&state, || {
                format!(
                    "request {request_id}: {} (expires {})",
                    state["status"].as_str().unwrap_or("?"),
                    state["expires_at"].as_str().unwrap_or("?")
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
            let api = ctx.api()?;
            sign::authorise(
                &api,
                &ctx.client()?,
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
            let api = ctx.api()?;
            sign::sign(
                &api,
                &ctx.client()?,
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

fn show_list(out: &Out, value: &Value, line: impl Fn(&Value) -> String) {
    out.show(value, || {
        value.as_array().map_or_else(
            || value.to_string(),
            |items| {
                if items.is_empty() {
                    "(none)".to_owned()
                } else {
                    items.iter().map(&line).collect::<Vec<_>>().join("\n")
                }
            },
        )
    });
}

fn profile_line(p: &Value) -> String {
    format!(
        "{:>4}  {:<8}  {}",
        p["id"].as_u64().unwrap_or(0),
        p["settings"]["status"].as_str().unwrap_or("?"),
        p["settings"]["name"].as_str().unwrap_or("?")
    )
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Reads profile settings from TOML (or JSON, by extension) and checks them locally.
fn profile_settings(file: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| CliError::File {
        what: "profile".into(),
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    let settings = if file.extension().is_some_and(|e| e == "json") {
        sam_profile::ProfileSettings::from_json(&text)
    } else {
        sam_profile::ProfileSettings::from_toml(&text)
    }
    .map_err(|e| CliError::File {
        what: "profile".into(),
        path: file.to_owned(),
        message: e.to_string(),
    })?;
    serde_json::to_value(&settings).map_err(|e| CliError::Usage(e.to_string()))
}

fn admin(ctx: &Context, command: AdminCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    let auth = ctx.admin()?;
    let out = &ctx.out;
    match command {
        AdminCommand::Profile(command) => match command {
            ProfileCommand::Create { file } => {
                let body = profile_settings(&file)?;
                let created = api.call(&auth, "POST", "/admin/v1/profiles", Some(&body))?;
                out.show(&created, || {
                    format!(
                        "profile {} created: {}",
                        created["id"].as_u64().unwrap_or(0),
                        created["settings"]["name"].as_str().unwrap_or("?")
                    )
                });
            }
            ProfileCommand::Edit { id, file } => {
                let body = profile_settings(&file)?;
                let edited = api.call(
                    &auth,
                    "PUT",
                    &format!("/admin/v1/profiles/{id}"),
                    Some(&body),
                )?;
                out.show(&edited, || format!("profile {id} changed"));
            }
            ProfileCommand::List { sort, desc } => {
                let order = if desc { "descending" } else { "ascending" };
                let list = api.every_page(
                    &auth,
                    "GET",
                    &format!("/admin/v1/profiles?sort={sort}&order={order}"),
                    None,
                    "profiles",
                )?;
                show_list(out, &list, profile_line);
            }
            ProfileCommand::Search {
                status,
                name,
                key_algorithm,
                key_length,
            } => {
                let mut query = serde_json::Map::new();
                if let Some(s) = status {
                    query.insert("status".into(), json!(s));
                }
                if let Some(n) = name {
                    query.insert("name".into(), json!(n));
                }
                if let Some(a) = key_algorithm {
                    query.insert("key_algorithm".into(), json!(a));
                }
                if let Some(l) = key_length {
                    query.insert("key_length".into(), json!(l));
                }
                let list = api.every_page(
                    &auth,
                    "POST",
                    "/admin/v1/profiles/search",
                    Some(&Value::Object(query)),
                    "profiles",
                )?;
                show_list(out, &list, profile_line);
            }
            ProfileCommand::Show { id } => {
                let p = api.call(&auth, "GET", &format!("/admin/v1/profiles/{id}"), None)?;
                out.show(&p, || pretty(&p));
            }
            ProfileCommand::Copy {
                id,
                name,
                description,
            } => {
                let copy = api.call(
                    &auth,
                    "POST",
                    &format!("/admin/v1/profiles/{id}/copy"),
                    Some(&json!({"name": name, "description": description})),
                )?;
                out.show(&copy, || {
                    format!(
                        "profile {id} copied as profile {}",
                        copy["id"].as_u64().unwrap_or(0)
                    )
                });
            }
            ProfileCommand::Activate { id } | ProfileCommand::Deactivate { id } => {
                let status = if matches!(command, ProfileCommand::Activate { .. }) {
                    "active"
                } else {
                    "inactive"
                };
                let p = api.call(
                    &auth,
                    "PUT",
                    &format!("/admin/v1/profiles/{id}/status"),
                    Some(&json!({ "status": status })),
                )?;
                out.show(&p, || format!("profile {id} is {status}"));
            }
            ProfileCommand::Usage => {
                let mut usage = serde_json::Map::new();
                api.each_page(&auth, "GET", "/admin/v1/profiles/usage", None, |page| {
                    let entries = page
                        .get("usage")
                        .and_then(Value::as_object)
                        .ok_or_else(|| CliError::Protocol("the answer has no usage".to_owned()))?;
                    for (profile, clients) in entries {
                        let all = usage
                            .entry(profile.clone())
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let (Some(all), Some(more)) = (all.as_array_mut(), clients.as_array()) {
                            all.extend(more.iter().cloned());
                        }
                    }
                    Ok(false)
                })?;
                let map = Value::Object(usage);
                out.show(&map, || pretty(&map));
            }
        },
        AdminCommand::Client(command) => match command {
            ClientCommand::Create {
                client_id,
                secret_env,
                profiles,
                default_profile,
                tls_certificates,
                basic_with_tls,
            } => {
                let secret = secret_env.as_deref().map(secret_from_env).transpose()?;
                let mut certificates = Vec::new();
                for path in &tls_certificates {
                    certificates.extend(pem_certificates(path)?.iter().map(|c| b64(c)));
                }
                let body = json!({
                    "client_id": client_id,
                    "selected_profiles": if profiles.is_empty() { Value::Null } else { json!(profiles) },
                    "default_profile": default_profile,
                    "tls_certificates": certificates,
                    "basic_with_tls": basic_with_tls,
                });
                let created = api.call(&auth, "POST", "/admin/v1/clients", Some(&body))?;
                if let Some(secret) = secret {
                    api.call(
                        &auth,
                        "PUT",
                        &format!("/admin/v1/clients/{client_id}/secret"),
                        Some(&json!({"secret": secret.as_str()})),
                    )?;
                }
                out.show(&created, || format!("client {client_id} registered"));
            }
            ClientCommand::Show { client_id } => {
                let c = api.call(
                    &auth,
                    "GET",
                    &format!("/admin/v1/clients/{client_id}"),
                    None,
                )?;
                out.show(&c, || pretty(&c));
            }
            ClientCommand::List => {
                let list = api.every_page(&auth, "GET", "/admin/v1/clients", None, "clients")?;
                show_list(out, &list, |c| {
                    c["client_id"].as_str().unwrap_or("?").to_owned()
                });
            }
            ClientCommand::Secret {
                client_id,
                secret_env,
            } => {
                let secret = secret_from_env(&secret_env)?;
                api.call(
                    &auth,
                    "PUT",
                    &format!("/admin/v1/clients/{client_id}/secret"),
                    Some(&json!({"secret": secret.as_str()})),
                )?;
                out.show(&json!({"client_id": client_id}), || {
                    format!("secret of {client_id} set")
                });
            }
        },
        AdminCommand::Plan(command) => match command {
            PlanCommand::Set { client_id, file } => {
                let text = std::fs::read_to_string(&file).map_err(|e| CliError::File {
                    what: "plan".into(),
                    path: file.clone(),
                    message: e.to_string(),
                })?;
                let settings: sam_plan::PlanSettings =
                    serde_json::from_str(&text).map_err(|e| CliError::File {
                        what: "plan".into(),
                        path: file.clone(),
                        message: e.to_string(),
                    })?;
                let body =
                    serde_json::to_value(&settings).map_err(|e| CliError::Usage(e.to_string()))?;
                let period = api.call(
                    &auth,
                    "PUT",
                    &format!("/admin/v1/clients/{client_id}/plan"),
                    Some(&body),
                )?;
                out.show(&period, || format!("plan of {client_id} set"));
            }
            PlanCommand::Show { client_id } => {
                let status = api.call(
                    &auth,
                    "GET",
                    &format!("/admin/v1/clients/{client_id}/plan"),
                    None,
                )?;
                out.show(&status, || pretty(&status));
            }
            PlanCommand::Renew { client_id } => {
                let period = api.call(
                    &auth,
                    "POST",
                    &format!("/admin/v1/clients/{client_id}/plan/renew"),
                    None,
                )?;
                out.show(&period, || format!("plan of {client_id} renewed"));
            }
        },
        AdminCommand::CryptoSources => {
            let list = api.call(&auth, "GET", "/admin/v1/crypto-sources", None)?;
            show_list(out, &list, |s| {
                format!(
                    "{}  {}",
                    s["name"].as_str().unwrap_or("?"),
                    if s["available"].as_bool() == Some(true) {
                        "available".to_owned()
                    } else {
                        format!("unavailable: {}", s["reason"].as_str().unwrap_or("?"))
                    }
                )
            });
        }
        AdminCommand::Audit(AuditCommand::Export { from, limit }) => {
            let records = api.call(
                &auth,
                "GET",
                &format!("/admin/v1/audit?from={from}&limit={limit}"),
                None,
            )?;
            out.show(&records, || pretty(&records));
        }
        AdminCommand::Audit(AuditCommand::Verify) => {
            let report = api.call(&auth, "GET", "/admin/v1/audit/verify", None)?;
            if report["intact"].as_bool() != Some(true) {
                out.show(&report, || pretty(&report));
                return Err(CliError::Refused(format!(
                    "the audit chain is broken at record {}: {}",
                    report["seq"],
                    report["reason"].as_str().unwrap_or("?")
                )));
            }
            out.show(&report, || {
                format!("the audit chain is intact: {} records", report["records"])
            });
        }
    }
    Ok(())
}

fn user(ctx: &Context, command: UserCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    let auth = ctx.client()?;
    let out = &ctx.out;
    match command {
        UserCommand::Create {
            user_id,
            email,
            mobile,
        } => {
            let user = api.call(
                &auth,
                "POST",
                "/api/v1/users",
                Some(&json!({"user_id": user_id, "email": email, "mobile": mobile})),
            )?;
            out.show(&user, || format!("user {user_id} registered"));
        }
        UserCommand::Show { user_id } => {
            let user = api.call(
                &auth,
                "GET",
                &format!("/api/v1/users/{user_id}/profile"),
                None,
            )?;
            out.show(&user, || pretty(&user));
        }
        UserCommand::List => {
            let users = api.every_page(&auth, "GET", "/api/v1/users", None, "users")?;
            show_list(out, &users, |u| {
                u["user_id"].as_str().unwrap_or("?").to_owned()
            });
        }
        UserCommand::Delete { user_id } => {
            api.call(&auth, "DELETE", &format!("/api/v1/users/{user_id}"), None)?;
            out.show(&json!({"deleted": user_id}), || {
                format!("user {user_id} deleted")
            });
        }
    }
    Ok(())
}

fn key(ctx: &Context, command: KeyCommand) -> Result<(), CliError> {
    let api = ctx.api()?;
    let auth = ctx.client()?;
    let out = &ctx.out;
    match command {
        KeyCommand::Generate { user_id, profile } => {
            let body = match profile {
                Some(p) => json!({ "profile_id": p }),
                None => json!({}),
            };
            let key = api.call(
                &auth,
                "POST",
                &format!("/api/v1/users/{user_id}/keys"),
                Some(&body),
            )?;
            out.show(&key, || {
                format!(
                    "key {} ({}) generated for {user_id}",
                    key["key_id"].as_str().unwrap_or("?"),
                    key["spec"].as_str().unwrap_or("?")
                )
            });
        }
        KeyCommand::Csr {
            key_id,
            user,
            subject,
            out: path,
            wait,
        } => {
            if path.exists() {
                return Err(CliError::Usage(format!("{} exists", path.display())));
            }
            let started = api.call(
                &auth,
                "POST",
                &format!("/api/v1/keys/{key_id}/csr"),
                Some(&json!({"user_id": user, "subject": subject})),
            )?;
            let id = http::field_str(&started, "request_id")?.to_owned();
            out.note(&format!(
                "request {id}: the certification request awaits {user}'s approval"
            ));
            sign::wait_for_approval(&api, &auth, &id, Duration::from_secs(wait), out)?;
            let csr = api.call(
                &auth,
                "POST",
                &format!("/api/v1/keys/{key_id}/csr"),
                Some(&json!({ "request_id": id })),
            )?;
            let der = http::field_b64(&csr, "csr")?;
            let pem =
                der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
                    .map_err(|e| CliError::Crypto(e.to_string()))?;
            std::fs::write(&path, pem).map_err(|e| CliError::File {
                what: "certification request".into(),
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.show(
                &json!({"request_id": id, "csr": path.display().to_string()}),
                || format!("certification request written to {}", path.display()),
            );
        }
        KeyCommand::ImportCert {
            key_id,
            certificate,
            chain,
        } => {
            let certificate = pem_certificates(&certificate)?;
            let chain = chain
                .as_deref()
                .map(pem_certificates)
                .transpose()?
                .unwrap_or_default();
            let view = api.call(
                &auth,
                "PUT",
                &format!("/api/v1/keys/{key_id}/certificate"),
                Some(&json!({
                    "certificate": b64(&certificate[0]),
                    "chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>(),
                })),
            )?;
            out.show(&view, || format!("certificate of key {key_id} imported"));
        }
        KeyCommand::Show { key_id } => {
            let view = api.call(
                &auth,
                "GET",
                &format!("/api/v1/keys/{key_id}/certificate"),
                None,
            )?;
            out.show(&view, || pretty(&view));
        }
        KeyCommand::Delete { key_id } => {
            api.call(&auth, "DELETE", &format!("/api/v1/keys/{key_id}"), None)?;
            out.show(&json!({"deleted": key_id}), || {
                format!("key {key_id} deleted")
            });
        }
    }
    Ok(())
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samctl: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
