//! A service over a fresh database of each backend, with a profile whose devices hold P-256
//! keys (at most two per user), and a clock the test steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sam_algorithms::{EcCurve, KeySpec, MlDsaLevel, Period, PeriodUnit, RsaKeySize, UnixTime};
use sam_keys::SigningKey;
use sam_profile::{
    AssertionType, AuthorisationMode, CryptoSourceDescriptor, DelegatedIdp, Expiry, IdpCertificate,
    ProfileCatalogue, ProfileSettings, SadFormat, Scal, UserIdSource, ValidationContext,
};
use sam_service::{ClientContext, CodeKey, FileMailbox, Service, ServiceSettings, Signing};
use sam_store::ClientRecord;
use sam_store::testing::TestDatabase;
use sam_token::{ActivationIssuer, Clock, KakGate, MasterKey, SoftwareToken, SystemClock};

/// A clock the test moves.
#[derive(Default)]
pub(crate) struct TestClock(AtomicI64);

impl TestClock {
    pub(crate) fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(1_790_000_000 + self.0.load(Ordering::SeqCst)).unwrap()
    }
}

pub(crate) fn profiles() -> ProfileCatalogue {
    // "cp5": a source whose keys are activated with a Key Authorisation Key (a KakGate over a
    // software token here, as on a Utimaco CP5).
    let mut cp5 = CryptoSourceDescriptor::software("cp5".parse().unwrap());
    cp5.requires_kak = true;
    let sources = [
        CryptoSourceDescriptor::software("software".parse().unwrap()),
        cp5,
    ];
    let ctx = ValidationContext {
        crypto_sources: &sources,
        sad_format: SadFormat::Json,
        eseals_enabled: true,
        now: UnixTime::from_secs(1_790_000_000).unwrap(),
    };
    let mut settings =
        ProfileSettings::with_defaults("Qualified".parse().unwrap(), "software".parse().unwrap());
    settings.authorisation_key.max_devices_per_user = 2;
    let mut catalogue = ProfileCatalogue::new();
    // Profile 1: the seed's defaults (RSA-2048 user keys), at most two devices per user.
    catalogue.create(settings, &ctx).unwrap();
    // Profile 2: P-256 user keys (quick to generate in tests), 30 s clock tolerance.
    let mut p256 =
        ProfileSettings::with_defaults("Fast EC".parse().unwrap(), "software".parse().unwrap());
    p256.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    p256.authorisation_key.clock_tolerance_secs = 30;
    catalogue.create(p256, &ctx).unwrap();
    // Profile 3: P-256 user keys, unlimited bulk signing, ML-DSA-65 devices.
    let mut bulk =
        ProfileSettings::with_defaults("Bulk PQ".parse().unwrap(), "software".parse().unwrap());
    bulk.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    bulk.signing_key.bulk_signing = true;
    bulk.signing_key.max_hashes_per_request = 0;
    bulk.authorisation_key.key = KeySpec::MlDsa(MlDsaLevel::Level3);
    catalogue.create(bulk, &ctx).unwrap();
    // Profile 4: SCAL1 (OTP, PIN or the IdP below), P-256 user keys, 30 s clock tolerance.
    let mut scal1 =
        ProfileSettings::with_defaults("SCAL1".parse().unwrap(), "software".parse().unwrap());
    scal1.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    scal1.signing_key.scal = Scal::Scal1;
    scal1.authorisation_key.clock_tolerance_secs = 30;
    scal1.delegated_idp = Some(DelegatedIdp {
        enabled: true,
        certificate: IdpCertificate::from_der(&idp().certificate).unwrap(),
        clock_tolerance_secs: 10,
        assertion_type: AssertionType::Jwt,
        user_id: UserIdSource::Subject,
        issuer: Some(IDP_ISSUER.into()),
        audience: None,
    });
    catalogue.create(scal1, &ctx).unwrap();
    // Profile 5: eSeals — SCAL1, once until SAD expiry (10 minutes), bulk up to 5 hashes.
    let mut seal =
        ProfileSettings::with_defaults("eSeal".parse().unwrap(), "software".parse().unwrap());
    seal.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    seal.signing_key.scal = Scal::Scal1;
    seal.signing_key.authorisation_mode = AuthorisationMode::OnceUntilSadExpiry;
    seal.signing_key.sad_expiry =
        Some(Expiry::After(Period::new(10, PeriodUnit::Minutes).unwrap()));
    seal.signing_key.bulk_signing = true;
    seal.signing_key.max_hashes_per_request = 5;
    catalogue.create(seal, &ctx).unwrap();
    // Profile 6: P-256 keys; sam computes the documents' SHA-384 at signing time.
    let mut data =
        ProfileSettings::with_defaults("Data".parse().unwrap(), "software".parse().unwrap());
    data.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    data.signing_key.compute_hash_at_signing = true;
    data.signing_key.hash_algorithm = sam_algorithms::HashAlgorithm::Sha384;
    catalogue.create(data, &ctx).unwrap();
    // Profile 7: P-256 keys behind a KAK (RSA-2048) on the "cp5" source.
    let mut kak = ProfileSettings::with_defaults("KAK".parse().unwrap(), "cp5".parse().unwrap());
    kak.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    kak.signing_key.kak = Some(sam_profile::KakSettings::default());
    catalogue.create(kak, &ctx).unwrap();
    // Profile 8: RSA-2048 devices that sign their messages with SHA-384 (RS384 or PS384).
    let mut rsa_devices =
        ProfileSettings::with_defaults("RSA devices".parse().unwrap(), "software".parse().unwrap());
    rsa_devices.signing_key.key = KeySpec::Ecdsa(EcCurve::P256);
    rsa_devices.authorisation_key.key = KeySpec::Rsa(sam_algorithms::RsaKeySize::Bits2048);
    rsa_devices.authorisation_key.hash_algorithm = sam_algorithms::HashAlgorithm::Sha384;
    catalogue.create(rsa_devices, &ctx).unwrap();
    catalogue
}

/// The issuer of the test IdP's JWTs.
pub(crate) const IDP_ISSUER: &str = "https://idp.sam.test";

/// A key with a certificate from a throwaway CA (made once per test process).
pub(crate) struct CertifiedKey {
    pub(crate) key: SigningKey,
    pub(crate) certificate: Vec<u8>,
}

fn certified(spec: KeySpec) -> CertifiedKey {
    let key = SigningKey::generate(spec).unwrap();
    let (certificate, _) = certify(&key.public_key_der().unwrap());
    CertifiedKey { key, certificate }
}

/// The external IdP: an RSA-2048 key (RS256 JWTs) and its certificate.
pub(crate) fn idp() -> &'static CertifiedKey {
    static IDP: std::sync::OnceLock<CertifiedKey> = std::sync::OnceLock::new();
    IDP.get_or_init(|| certified(KeySpec::Rsa(RsaKeySize::Bits2048)))
}

/// The business application's authorisation key (P-256) and its *Authorisation
/// Certificate*.
pub(crate) fn client_key() -> &'static CertifiedKey {
    static CLIENT: std::sync::OnceLock<CertifiedKey> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| certified(KeySpec::Ecdsa(EcCurve::P256)))
}

/// This test process's one activation issuer, shared by every service the tests make.
pub(crate) fn issuer() -> Arc<ActivationIssuer> {
    static ISSUER: std::sync::OnceLock<Arc<ActivationIssuer>> = std::sync::OnceLock::new();
    ISSUER
        .get_or_init(|| Arc::new(ActivationIssuer::take().expect("the test process's issuer")))
        .clone()
}

pub(crate) const INSTANCE: &str = "sam-test-instance";

pub(crate) struct Fixture {
    pub(crate) service: Service,
    pub(crate) clock: Arc<TestClock>,
    pub(crate) master_key_hex: String,
    /// Where the service's notifications land (one JSON line each).
    pub(crate) mailbox: std::path::PathBuf,
}

impl Fixture {
    /// The service's current time.
    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The notifications delivered so far.
    pub(crate) fn mail(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Registers `ctx`'s client with SAM access and the test authorisation certificate.
    pub(crate) async fn register_client(&self, ctx: &ClientContext) {
        self.service
            .store()
            .put_client(&ClientRecord {
                authorisation_certificate: Some(client_key().certificate.clone()),
                ..ClientRecord::new(ctx.client_id.as_str(), self.now())
            })
            .await
            .unwrap();
    }
}

pub(crate) async fn service(db: &TestDatabase) -> Fixture {
    service_with(db, |s| s).await
}

/// A service whose signing settings `configure` changes (e.g. to add a TSA).
pub(crate) async fn service_with(
    db: &TestDatabase,
    configure: impl FnOnce(Signing) -> Signing,
) -> Fixture {
    let master = MasterKey::generate().unwrap();
    let master_key_hex = master.to_hex().to_string();
    let clock = Arc::new(TestClock::default());
    let mailbox = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "mailbox-{}-{}.jsonl",
        std::process::id(),
        sam_sad::Id128::random().unwrap()
    ));
    let node = node(db, master, clock.clone()).await;
    // The clients of the tests, registered with SAM access and every profile.
    for id in ["client-a", "client-b"] {
        node.store()
            .put_client(&ClientRecord::new(id, clock.now()))
            .await
            .unwrap();
    }
    let signing = configure(signing());
    Fixture {
        service: node
            .with_signing(signing)
            .with_notifier(Arc::new(FileMailbox::new(&mailbox))),
        clock,
        master_key_hex,
        mailbox,
    }
}

/// The code key of every test node (nodes of one deployment share it).
fn code_key() -> CodeKey {
    CodeKey::new([0x5a; 32])
}

/// A service on its own pool over `db`: what one `samd` node is.
pub(crate) async fn node(db: &TestDatabase, master: MasterKey, clock: Arc<TestClock>) -> Service {
    let settings = ServiceSettings {
        max_failed_authentications: 3,
        lock_secs: 60,
        code_key: Some(code_key()),
        // Nodes of one deployment share it, as they share the code key.
        service_sad_key: Some(sam_service::ServiceSadKey::from_seed(&[0x33; 32]).unwrap()),
        oauth2_issuer: Some(crate::oauth2::ISSUER.into()),
        ..ServiceSettings::default()
    };
    // The KAK gate's own master key wraps the KAKs; nodes of one deployment share it.
    static KAK_MASTER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let kak_master = KAK_MASTER.get_or_init(|| MasterKey::generate().unwrap().to_hex().to_string());
    let cp5 = KakGate::new(
        SoftwareToken::new("cp5", MasterKey::from_hex(&master.to_hex()).unwrap()),
        MasterKey::from_hex(kak_master).unwrap(),
        RsaKeySize::Bits2048,
        Box::new(SystemClock),
    );
    Service::new(db.open().await.unwrap(), profiles(), clock, settings)
        .with_token(Arc::new(SoftwareToken::new("software", master)))
        .with_token(Arc::new(cp5))
        .with_signing(signing())
}

/// The signing settings of every test node: this instance, JSON SADs, 5-minute requests.
fn signing() -> Signing {
    Signing {
        issuer: issuer(),
        instance: sam_sad::InstanceId::new(INSTANCE).unwrap(),
        sad_format: sam_sad::SadFormat::Json,
        default_request_expiry_secs: 300,
        time_stamp_authority: None,
        revocation: None,
    }
}

/// Another node of the same deployment as `f`: same database and master key, same clock.
pub(crate) async fn second_node(db: &TestDatabase, f: &Fixture) -> Service {
    node(
        db,
        MasterKey::from_hex(&f.master_key_hex).unwrap(),
        f.clock.clone(),
    )
    .await
}

pub(crate) fn client(id: &str) -> ClientContext {
    ClientContext::new(id).unwrap()
}

pub(crate) async fn databases(tag: &str) -> Vec<TestDatabase> {
    sam_store::testing::databases(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), tag)
        .await
        .unwrap()
}

/// The python interpreter with `cryptography` (scripts/test sets it up).
pub(crate) fn python() -> String {
    std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A certificate for `spki_der` from a throwaway EC CA made by python `cryptography`:
/// (certificate DER, CA certificate DER).
pub(crate) fn certify(spki_der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    const SCRIPT: &str = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
public = serialization.load_der_public_key(sys.stdin.buffer.read())
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sam service test CA")])
now = datetime.datetime.now(datetime.timezone.utc)
day = datetime.timedelta(days=1)
# Valid from well before the tests' clock (September 2026) to after today.
start = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
      .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
      .not_valid_before(start).not_valid_after(now + 30 * day)
      .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
      .sign(ca_key, hashes.SHA256()))
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")]))
        .issuer_name(ca_name).public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(now + 30 * day)
        .sign(ca_key, hashes.SHA256()))
out = cert.public_bytes(serialization.Encoding.DER) + ca.public_bytes(serialization.Encoding.DER)
sys.stdout.buffer.write(len(cert.public_bytes(serialization.Encoding.DER)).to_bytes(4, "big") + out)
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python with cryptography (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(spki_der).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = u32::from_be_bytes(out.stdout[..4].try_into().unwrap()) as usize;
    (out.stdout[4..4 + n].to_vec(), out.stdout[4 + n..].to_vec())
}
