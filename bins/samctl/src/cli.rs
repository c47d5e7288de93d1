//! samctl's command line: every command, option and example `--help` shows (clap). The
//! commands themselves are in the modules named after them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
pub(crate) struct Global {
    /// The server.
    #[arg(
        long,
        env = "SAM_SERVER",
        default_value = "https://127.0.0.1:8443",
        global = true
    )]
    pub(crate) server: String,
    /// The CA certificate (PEM) the server's TLS certificate must chain to.
    #[arg(
        long,
        env = "SAM_CA",
        default_value = "sam-data/dev-ca/ca.pem",
        global = true
    )]
    pub(crate) ca: PathBuf,
    /// A TLS client certificate (PEM) for mutual TLS, with --client-key.
    #[arg(long, env = "SAM_CLIENT_CERT", requires = "client_key", global = true)]
    pub(crate) client_cert: Option<PathBuf>,
    /// The TLS client certificate's private key (PEM).
    #[arg(long, env = "SAM_CLIENT_KEY", requires = "client_cert", global = true)]
    pub(crate) client_key: Option<PathBuf>,
    /// The business application's id (HTTP Basic).
    #[arg(long, env = "SAM_CLIENT_ID", global = true)]
    pub(crate) client_id: Option<String>,
    /// The environment variable holding the client secret.
    #[arg(long, default_value = "SAM_CLIENT_SECRET", global = true)]
    pub(crate) client_secret_env: String,
    /// The environment variable holding the admin credential.
    #[arg(long, default_value = "SAM_ADMIN_TOKEN", global = true)]
    pub(crate) admin_token_env: String,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print only this field of the result (for scripts), e.g. `--field key_id`.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) field: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum AdminCommand {
    /// SAM profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Business applications (clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Service plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// OAuth 2.0 clients of a business application (the CSC API's authorisation server,
    /// `[csc] oauth2_issuer`; docs/csc.md).
    #[command(subcommand)]
    OauthClient(OAuthClientCommand),
    /// The crypto sources and their health.
    CryptoSources,
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
pub(crate) enum ProfileCommand {
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
    /// Advanced search (seed 001's seven fields): every option given must match.
    #[command(after_help = "Examples:\n  \
            samctl admin profile search --status active --key-algorithm ecdsa --key-length 256\n  \
            samctl admin profile search --key-algorithm ml-dsa --security-level 3\n  \
            samctl admin profile search --crypto-profile hsm-a --name seal")]
    Search {
        /// Active or inactive.
        #[arg(long)]
        status: Option<String>,
        /// Exactly this profile id.
        #[arg(long)]
        id: Option<u32>,
        /// Names containing this text (ignoring case).
        #[arg(long)]
        name: Option<String>,
        /// User key algorithm: rsa, ecdsa, ml-dsa.
        #[arg(long)]
        key_algorithm: Option<String>,
        /// User key length in bits (RSA modulus or curve size; not with ml-dsa).
        #[arg(long)]
        key_length: Option<u32>,
        /// ML-DSA security level, 2, 3 or 5 (only with --key-algorithm ml-dsa).
        #[arg(long)]
        security_level: Option<u8>,
        /// Profiles whose keys are on this crypto source (crypto profile).
        #[arg(long)]
        crypto_profile: Option<String>,
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
pub(crate) enum ClientCommand {
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
pub(crate) enum OAuthClientCommand {
    /// Registers an OAuth 2.0 client for a business application. A confidential client's
    /// secret is printed once: keep it; sam stores only its hash.
    #[command(
        after_help = "Examples:\n  samctl admin oauth-client create shop --name \"Shop\" --redirect-uri https://shop.example/callback\n  samctl admin oauth-client create shop --name \"Shop app\" --redirect-uri http://127.0.0.1/callback --public"
    )]
    Create {
        /// The business application (sam client) it acts for.
        client_id: String,
        /// The name the user's pages show ("Shop asks you to sign …").
        #[arg(long)]
        name: String,
        /// A redirect URI (repeat; 1 to 16): https://, or http:// to a loopback IP. Compared
        /// exactly; for loopback the port may differ (RFC 8252).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (an app on the user's device, no secret; PKCE binds its codes).
        #[arg(long)]
        public: bool,
    },
    /// Lists a business application's OAuth 2.0 clients.
    #[command(after_help = "Example:\n  samctl admin oauth-client list shop")]
    List {
        /// The business application (sam client).
        client_id: String,
    },
    /// Deletes an OAuth 2.0 client and its authorisations in progress (tokens it obtained
    /// stay valid until they expire or are revoked).
    #[command(after_help = "Example:\n  samctl admin oauth-client delete shop 3Jq…")]
    Delete {
        /// The business application (sam client).
        client_id: String,
        /// The OAuth client's id.
        oauth_client_id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum PlanCommand {
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
pub(crate) enum AuditCommand {
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
pub(crate) enum UserCommand {
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
pub(crate) enum KeyCommand {
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
pub(crate) enum DeviceCommand {
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
pub(crate) enum DevCaCommand {
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
