//! A test PKI made by OpenSSL (CA, TSA), signers whose certificates OpenSSL issues from our
//! PKCS#10 requests, an RFC 3161 TSA served by `openssl ts -reply` over a local HTTP
//! responder, and runners for the independent validators.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use der::{Decode, DecodePem, EncodePem};
use sam_algorithms::{HashAlgorithm, KeySpec, RsaPadding, SignatureAlgorithm};
use sam_cms::csr::certification_request;
use sam_cms::{Certificate, LocalSigner};
use sam_keys::SigningKey;

pub(crate) fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/test installs it): {e}"))
}

pub(crate) fn run_ok(program: &str, args: &[&str]) -> Output {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The python interpreter with `cryptography` and pyHanko (scripts/test sets it up).
pub(crate) fn python() -> String {
    std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A fresh directory under Cargo's temporary directory for integration tests.
pub(crate) fn scratch(tag: &str) -> PathBuf {
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sam-cms-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// The CA and the TSA of the tests.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    pub(crate) ca_pem: String,
    pub(crate) tsa_pem: String,
}

impl Pki {
    pub(crate) fn get() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Pki::create)
    }

    fn create() -> Pki {
        let dir = scratch("pki");
        let d = |n: &str| dir.join(n).to_string_lossy().into_owned();
        run_ok(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &d("ca.key"),
                "-out",
                &d("ca.pem"),
                "-days",
                "3650",
                "-subj",
                "/CN=sam test CA/O=sam",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        run_ok(
            "openssl",
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &d("tsa.key"),
                "-out",
                &d("tsa.csr"),
                "-subj",
                "/CN=sam test TSA/O=sam",
            ],
        );
        write(
            &dir,
            "tsa.ext",
            b"[tsa]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n",
        );
        run_ok(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &d("tsa.csr"),
                "-CA",
                &d("ca.pem"),
                "-CAkey",
                &d("ca.key"),
                "-set_serial",
                "7001",
                "-days",
                "3650",
                "-extfile",
                &d("tsa.ext"),
                "-extensions",
                "tsa",
                "-out",
                &d("tsa.pem"),
            ],
        );
        write(&dir, "tsaserial", b"01\n");
        let config = format!(
            "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = {serial}\ncrypto_device = builtin\n\
             signer_cert = {cert}\ncerts = {ca}\nsigner_key = {key}\nsigner_digest = sha256\n\
             default_policy = 1.3.6.1.4.1.99999.1.1\nother_policies = 1.3.6.1.4.1.99999.1.2\n\
             digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = yes\n\
             ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            serial = d("tsaserial"),
            cert = d("tsa.pem"),
            ca = d("ca.pem"),
            key = d("tsa.key"),
        );
        write(&dir, "tsa.cnf", config.as_bytes());
        write(
            &dir,
            "signer.ext",
            b"[ee]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n",
        );
        Pki {
            ca_pem: d("ca.pem"),
            tsa_pem: d("tsa.pem"),
            dir,
        }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// OpenSSL issues a certificate for a PKCS#10 request (which it verifies first).
    pub(crate) fn issue(&self, csr_der: &[u8]) -> Certificate {
        let dir = scratch("issue");
        let pem = der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, csr_der)
            .unwrap();
        let csr = write(&dir, "req.pem", pem.as_bytes());
        run_ok("openssl", &["req", "-in", &csr, "-verify", "-noout"]);
        let out = dir.join("cert.pem").to_string_lossy().into_owned();
        let serial = (UNIQUE.fetch_add(1, Ordering::SeqCst) + 1000).to_string();
        run_ok(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &self.ca_pem,
                "-CAkey",
                &self.path("ca.key"),
                "-set_serial",
                &serial,
                "-days",
                "365",
                "-extfile",
                &self.path("signer.ext"),
                "-extensions",
                "ee",
                "-out",
                &out,
            ],
        );
        let cert = Certificate::from_pem(std::fs::read(&out).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        cert
    }
}

/// A signing key with a certificate from the test CA.
pub(crate) struct Signer {
    pub(crate) key: SigningKey,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) certificate: Certificate,
}

impl Signer {
    /// A key of `spec`, certified through our CSR and `openssl x509 -req`.
    pub(crate) fn new(spec: KeySpec, hash: HashAlgorithm, padding: RsaPadding) -> Signer {
        let key = SigningKey::generate(spec).unwrap();
        let algorithm = SignatureAlgorithm::for_key(spec, hash, padding);
        let csr = certification_request(
            &format!("CN=sam signer {spec},O=sam"),
            &key.public_key_der().unwrap(),
            algorithm,
            &LocalSigner::new(&key, algorithm),
        )
        .unwrap();
        let certificate = Pki::get().issue(&csr);
        Signer {
            key,
            algorithm,
            certificate,
        }
    }

    pub(crate) fn local(&self) -> LocalSigner<'_> {
        LocalSigner::new(&self.key, self.algorithm)
    }

    pub(crate) fn cert_pem(&self) -> String {
        self.certificate.to_pem(der::pem::LineEnding::LF).unwrap()
    }
}

/// `openssl cms -verify` of a DER signature, with detached content when given.
pub(crate) fn openssl_cms_verify(signature: &[u8], content: Option<&[u8]>) -> Output {
    let dir = scratch("cmsverify");
    let sig = write(&dir, "sig.p7s", signature);
    let out = dir.join("out.bin").to_string_lossy().into_owned();
    let ca = &Pki::get().ca_pem;
    let mut args = vec![
        "cms", "-verify", "-binary", "-inform", "DER", "-in", &sig, "-CAfile", ca, "-out", &out,
    ];
    let content_path;
    if let Some(c) = content {
        content_path = write(&dir, "content.bin", c);
        args.extend(["-content", &content_path]);
    }
    let result = run("openssl", &args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What the local TSA does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsaBehaviour {
    /// Answers with `openssl ts -reply`.
    Honest,
    /// Answers every request with the first response it made (a replay).
    ReplayFirst,
    /// Answers with HTTP 500.
    Broken,
}

/// An RFC 3161 TSA over HTTP on 127.0.0.1: `openssl ts -reply` behind a tiny responder.
pub(crate) struct LocalTsa {
    pub(crate) url: String,
    pub(crate) requests: Arc<Mutex<u32>>,
}

impl LocalTsa {
    pub(crate) fn start(behaviour: TsaBehaviour) -> LocalTsa {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            let mut first: Option<Vec<u8>> = None;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                *counter.lock().unwrap() += 1;
                serve(stream, behaviour, &mut first);
            }
        });
        LocalTsa { url, requests }
    }
}

fn serve(mut stream: TcpStream, behaviour: TsaBehaviour, first: &mut Option<Vec<u8>>) {
    let Some(body) = read_request(&mut stream) else {
        return;
    };
    let (status, reply) = match behaviour {
        TsaBehaviour::Broken => ("500 Internal Server Error", Vec::new()),
        _ => {
            let reply = openssl_ts_reply(&body);
            if behaviour == TsaBehaviour::ReplayFirst {
                ("200 OK", first.get_or_insert(reply).clone())
            } else {
                ("200 OK", reply)
            }
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply);
}

fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            while data.len() < body_start + length {
                let n = stream.read(&mut buf).ok()?;
                if n == 0 {
                    return None;
                }
                data.extend_from_slice(&buf[..n]);
            }
            return Some(data[body_start..body_start + length].to_vec());
        }
    }
}

fn openssl_ts_reply(query: &[u8]) -> Vec<u8> {
    let pki = Pki::get();
    let dir = scratch("tsq");
    let q = write(&dir, "query.tsq", query);
    let r = dir.join("reply.tsr").to_string_lossy().into_owned();
    run_ok(
        "openssl",
        &[
            "ts",
            "-reply",
            "-config",
            &pki.path("tsa.cnf"),
            "-queryfile",
            &q,
            "-out",
            &r,
        ],
    );
    let reply = std::fs::read(&r).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    reply
}

/// `openssl ts -verify` of a token (DER ContentInfo) over `data`.
pub(crate) fn openssl_ts_verify(token: &[u8], data: &[u8]) -> Output {
    let pki = Pki::get();
    let dir = scratch("tsverify");
    let t = write(&dir, "token.der", token);
    let d = write(&dir, "data.bin", data);
    let out = run(
        "openssl",
        &[
            "ts",
            "-verify",
            "-in",
            &t,
            "-token_in",
            "-data",
            &d,
            "-CAfile",
            &pki.ca_pem,
            "-untrusted",
            &pki.tsa_pem,
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Decodes a certificate in DER.
pub(crate) fn certificate(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}
