//! `samd --dev`: a development setup in one directory, made on first start and reused after.
//!
//! On first start it creates, in the data directory (mode 700):
//!
//! - `samd.toml`: a configuration that uses the files below (relative paths);
//! - `dev-ca/ca.pem`, `dev-ca/ca.key`: a development CA (P-256), which issues the server
//!   certificate (and, later, `samctl dev-ca issue` user certificates); clients trust
//!   `dev-ca/ca.pem`;
//! - `tls/cert.pem`, `tls/key.pem`: the server certificate for `localhost` and `127.0.0.1`;
//! - `keys/master.key`: the software master key (hex, mode 600);
//! - `admin.phc`: the Argon2id hash of an admin credential, which is printed once;
//! - `notifications.jsonl`: where OTPs and codes land (a mailbox, mode 600).
//!
//! Secrets are written with mode 600. Nothing here is for production: the CA key sits beside
//! the server, and the master key is a plain file.

use std::io::Write;
use std::path::{Path, PathBuf};

use argon2::password_hash::PasswordHasher;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use zeroize::Zeroizing;

/// The configuration file's name in a development data directory.
pub(crate) const CONFIG_FILE: &str = "samd.toml";

/// What `prepare` did.
pub(crate) struct DevSetup {
    /// The configuration to load.
    pub(crate) config: PathBuf,
    /// The admin credential, on first start only (shown once, never stored in clear).
    pub(crate) admin_credential: Option<Zeroizing<String>>,
    /// Whether the setup was made now (then samd makes its database too).
    pub(crate) fresh: bool,
}

/// Why the development setup could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DevError {
    /// A file or directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Key or certificate generation failed.
    #[error("{0}")]
    Crypto(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
    move |source| DevError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path`, creating it with `mode` (600 for secrets) and failing if it
/// exists.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DevError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn crypto(e: impl std::fmt::Display) -> DevError {
    DevError::Crypto(e.to_string())
}

fn random_secret() -> Result<Zeroizing<String>, DevError> {
    let mut bytes = Zeroizing::new([0u8; 24]);
    getrandom::fill(bytes.as_mut()).map_err(crypto)?;
    Ok(Zeroizing::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

/// Makes the development setup in `data_dir`, or finds the one made before.
pub(crate) fn prepare(data_dir: &Path) -> Result<DevSetup, DevError> {
    use std::os::unix::fs::DirBuilderExt;
    let config = data_dir.join(CONFIG_FILE);
    if config.exists() {
        return Ok(DevSetup {
            config,
            admin_credential: None,
            fresh: false,
        });
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(io(data_dir))?;

    // The development CA.
    let ca_key = KeyPair::generate().map_err(crypto)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(crypto)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sam development CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "sam (development only)");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(crypto)?;
    write_new(
        &data_dir.join("dev-ca/ca.pem"),
        ca_cert.pem().as_bytes(),
        0o644,
    )?;
    write_new(
        &data_dir.join("dev-ca/ca.key"),
        ca_key.serialize_pem().as_bytes(),
        0o600,
    )?;

    // The server certificate, issued by it.
    let server_key = KeyPair::generate().map_err(crypto)?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(crypto)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "sam development server");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(crypto)?;
    write_new(
        &data_dir.join("tls/cert.pem"),
        server_cert.pem().as_bytes(),
        0o644,
    )?;
    write_new(
        &data_dir.join("tls/key.pem"),
        server_key.serialize_pem().as_bytes(),
        0o600,
    )?;

    // The software master key.
    let master = sam_token::MasterKey::generate().map_err(crypto)?;
    write_new(
        &data_dir.join("keys/master.key"),
        master.to_hex().as_bytes(),
        0o600,
    )?;

    // The admin credential: shown once, kept as an Argon2id hash.
    let admin = random_secret()?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(crypto)?;
    let phc = argon2::Argon2::default()
        .hash_password_with_salt(admin.as_bytes(), &salt)
        .map_err(crypto)?
        .to_string();
    write_new(&data_dir.join("admin.phc"), phc.as_bytes(), 0o600)?;
    write_new(&data_dir.join("notifications.jsonl"), b"", 0o600)?;

    let text = format!(
        "# samd development configuration, made by `samd --dev`. Not for production.\n\
         data_dir = {data_dir:?}\n\
         listen = \"127.0.0.1:8443\"\n\
         instance_id = \"sam-dev\"\n\n\
         [tls]\ncertificate = \"tls/cert.pem\"\nkey = \"tls/key.pem\"\n\
         # Clients may present a certificate of the development CA (mutual TLS).\n\
         client_ca = \"dev-ca/ca.pem\"\n\n\
         [signing]\neseals_enabled = true\n\n\
         [software_source]\nname = \"software\"\nmaster_key_file = \"keys/master.key\"\n\n\
         [notifier]\nmailbox = \"notifications.jsonl\"\n\n\
         [admin]\ncredential_file = \"admin.phc\"\n",
        data_dir = absolute(data_dir).display().to_string()
    );
    write_new(&config, text.as_bytes(), 0o644)?;
    Ok(DevSetup {
        config,
        admin_credential: Some(admin),
        fresh: true,
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}
