//! Test infrastructure of the sam workspace (`publish = false`), shared by the integration
//! tests of `sam-cms` and `sam-service`: a test PKI made by OpenSSL (a CA with a CRL
//! distribution point and an OCSP responder, both `openssl` behind a local HTTP server, and a
//! TSA), certificates OpenSSL issues from PKCS#10 requests, an RFC 3161 TSA served by
//! `openssl ts -reply`, runners for the independent validators, and real faults (a disk that
//! fills up, one that turns read-only: [`faults`]), and the code blocks of the docs that tests
//! hold to their word ([`code_blocks`]).
//!
//! It depends on none of the workspace's crates, so that a crate's tests never see two
//! copies of the crate under test; requests and certificates cross as DER.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod faults;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use der::{Decode, DecodePem, EncodePem};
use x509_cert::Certificate;

/// The fenced code blocks of a Markdown document whose info string is `language` (e.g.
/// ```` ```toml ````), in order, each without its fences: what a test takes from the docs it
/// holds to their word.
pub fn code_blocks(markdown: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in markdown.lines() {
        let line = line.trim_end();
        match &mut block {
            None if line == opening => block = Some(String::new()),
            None => {}
            Some(b) if line == "```" => {
                blocks.push(std::mem::take(b));
                block = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_blocks_are_taken_whole_and_only_in_their_language() {
        let text = "a\n```toml\nname = 1\nx = 2\n```\n```sh\nls\n```\n```toml\n```\n";
        assert_eq!(
            super::code_blocks(text, "toml"),
            vec!["name = 1\nx = 2\n".to_owned(), String::new()]
        );
        assert_eq!(super::code_blocks(text, "sh"), vec!["ls\n".to_owned()]);
        assert!(super::code_blocks("```toml\nunclosed\n", "toml").is_empty());
    }
}

/// Runs `program` with `args` (it must exist: scripts/test installs it).
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/test installs it): {e}"))
}

/// Runs `program` and fails the test, showing its output, unless it succeeds.
pub fn run_ok(program: &str, args: &[&str]) -> Output {
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
pub fn python() -> String {
    std::env::var("SAM_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A fresh directory under Cargo's temporary directory for integration tests.
pub fn scratch(tag: &str) -> PathBuf {
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sam-testkit-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` to `dir/name`; the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// The CA (with a CRL distribution point and an OCSP responder, both `openssl` behind a
/// local HTTP server) and the TSA of the tests.
pub struct Pki {
    /// Where its files are.
    pub dir: PathBuf,
    /// The CA certificate (PEM file path).
    pub ca_pem: String,
    /// The TSA certificate (PEM file path).
    pub tsa_pem: String,
}

/// Serialises changes to the CA's database (`openssl ca` and `openssl ocsp` read it).
static CA_DATABASE: Mutex<()> = Mutex::new(());

/// Which revocation pointers a certificate carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pointers {
    /// An OCSP responder (authority information access) and a CRL distribution point.
    OcspAndCrl,
    /// A CRL distribution point only.
    CrlOnly,
}

impl Pointers {
    fn section(self) -> &'static str {
        match self {
            Self::OcspAndCrl => "ee",
            Self::CrlOnly => "ee_crl",
        }
    }
}

impl Pki {
    /// The test process's PKI, made on first use.
    pub fn get() -> &'static Pki {
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
        let ca_config = format!(
            "[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = {}\ncrlnumber = {}\ncertificate = {}\n\
             private_key = {}\ndefault_md = sha256\ndefault_crl_days = 30\n",
            d("index.txt"),
            d("crlnumber"),
            d("ca.pem"),
            d("ca.key"),
        );
        write(&dir, "ca.cnf", ca_config.as_bytes());
        write(&dir, "index.txt", b"");
        write(&dir, "index.txt.attr", b"unique_subject = no\n");
        write(&dir, "crlnumber", b"1000\n");
        let revocation_url = revocation_server(dir.clone());
        let pointers = format!(
            "crlDistributionPoints=URI:{revocation_url}/ca.crl\n\
             authorityInfoAccess=OCSP;URI:{revocation_url}/ocsp\n"
        );
        let crl_pointer = format!("crlDistributionPoints=URI:{revocation_url}/ca.crl\n");
        write(
            &dir,
            "tsa.ext",
            format!(
                "[tsa]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=critical,timeStamping\n{pointers}"
            )
            .as_bytes(),
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
        let ee = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n";
        write(
            &dir,
            "signer.ext",
            format!("[ee]\n{ee}{pointers}[ee_crl]\n{ee}{crl_pointer}").as_bytes(),
        );
        let tsa = Certificate::from_pem(std::fs::read(d("tsa.pem")).unwrap()).unwrap();
        add_to_database(&dir, &tsa, &d("tsa.pem"));
        Pki {
            ca_pem: d("ca.pem"),
            tsa_pem: d("tsa.pem"),
            dir,
        }
    }

    /// The path of one of its files.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The CA's certificate.
    pub fn ca(&self) -> Certificate {
        Certificate::from_pem(std::fs::read(&self.ca_pem).unwrap()).unwrap()
    }

    /// Revokes `cert` in the CA's database (the next CRL and OCSP answers show it).
    pub fn revoke(&self, cert: &Certificate) {
        let _guard = CA_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
        let dir = scratch("revoke");
        let pem = write(
            &dir,
            "cert.pem",
            cert.to_pem(der::pem::LineEnding::LF).unwrap().as_bytes(),
        );
        run_ok(
            "openssl",
            &["ca", "-config", &self.path("ca.cnf"), "-revoke", &pem],
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A fresh CRL of the CA (DER).
    pub fn crl(&self) -> Vec<u8> {
        generate_crl(&self.dir)
    }

    /// OpenSSL issues a certificate for a PKCS#10 request (which it verifies first), with
    /// the given revocation pointers (served by the CA's local HTTP server).
    pub fn issue(&self, csr_der: &[u8], pointers: Pointers) -> Certificate {
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
                pointers.section(),
                "-out",
                &out,
            ],
        );
        let cert = Certificate::from_pem(std::fs::read(&out).unwrap()).unwrap();
        add_to_database(&self.dir, &cert, &out);
        let _ = std::fs::remove_dir_all(&dir);
        cert
    }
}

/// Records an issued certificate as valid in the CA's `index.txt`, so that `openssl ocsp`
/// answers "good" and `openssl ca -revoke` finds it.
fn add_to_database(dir: &Path, cert: &Certificate, pem_path: &str) {
    use std::fmt::Write as _;
    let _guard = CA_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
    let tbs = cert.tbs_certificate();
    // The UTCTime's content, YYMMDDHHMMSSZ, as `openssl ca` writes it.
    let not_after = der::Encode::to_der(&tbs.validity().not_after).unwrap();
    let not_after = String::from_utf8_lossy(&not_after[2..]).into_owned();
    let serial = tbs
        .serial_number()
        .as_bytes()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        });
    // The subject as `openssl ca` writes it, which `-revoke` compares.
    let subject = run_ok(
        "openssl",
        &[
            "x509", "-in", pem_path, "-noout", "-subject", "-nameopt", "compat",
        ],
    );
    let subject = String::from_utf8_lossy(&subject.stdout);
    let subject = subject.trim().trim_start_matches("subject=");
    let line = format!("V\t{not_after}\t\t{serial}\tunknown\t{subject}\n");
    let mut index = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("index.txt"))
        .unwrap();
    index.write_all(line.as_bytes()).unwrap();
}

fn generate_crl(dir: &Path) -> Vec<u8> {
    let _guard = CA_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
    let d = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let pem = format!("{}.{}", d("crl.pem"), UNIQUE.fetch_add(1, Ordering::SeqCst));
    run_ok(
        "openssl",
        &["ca", "-config", &d("ca.cnf"), "-gencrl", "-out", &pem],
    );
    let out = run_ok("openssl", &["crl", "-in", &pem, "-outform", "DER"]);
    let _ = std::fs::remove_file(&pem);
    out.stdout
}

/// `openssl ocsp` answering one DER request from the CA's database, signed by the CA.
fn openssl_ocsp_reply(dir: &Path, request: &[u8]) -> Vec<u8> {
    let _guard = CA_DATABASE.lock().unwrap_or_else(|e| e.into_inner());
    let d = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let n = UNIQUE.fetch_add(1, Ordering::SeqCst);
    let req = d(&format!("ocsp-{n}.req"));
    let resp = d(&format!("ocsp-{n}.resp"));
    std::fs::write(&req, request).unwrap();
    run_ok(
        "openssl",
        &[
            "ocsp",
            "-index",
            &d("index.txt"),
            "-CA",
            &d("ca.pem"),
            "-rsigner",
            &d("ca.pem"),
            "-rkey",
            &d("ca.key"),
            "-reqin",
            &req,
            "-respout",
            &resp,
            "-ndays",
            "1",
        ],
    );
    let reply = std::fs::read(&resp).unwrap();
    let _ = std::fs::remove_file(&req);
    let _ = std::fs::remove_file(&resp);
    reply
}

/// The CA's CRL distribution point and OCSP responder over HTTP.
fn revocation_server(dir: PathBuf) -> String {
    http_server(move |method, path, body| match (method, path) {
        ("GET", "/ca.crl") => ("200 OK", "application/pkix-crl", generate_crl(&dir)),
        ("POST", "/ocsp") => (
            "200 OK",
            "application/ocsp-response",
            openssl_ocsp_reply(&dir, body),
        ),
        _ => ("404 Not Found", "text/plain", Vec::new()),
    })
}

/// `openssl cms -verify` of a DER signature, with detached content when given.
pub fn openssl_cms_verify(signature: &[u8], content: Option<&[u8]>) -> Output {
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

/// A reply of a local HTTP server: status line, content type, body.
pub type Reply = (&'static str, &'static str, Vec<u8>);

/// A one-thread HTTP/1.1 server on 127.0.0.1 that hands each request (method, path, body) to
/// `handler`; returns its base URL.
pub fn http_server(mut handler: impl FnMut(&str, &str, &[u8]) -> Reply + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some((method, path, body)) = read_request(&mut stream) else {
                continue;
            };
            let (status, content_type, reply) = handler(&method, &path, &body);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&reply);
        }
    });
    url
}

/// What the local TSA does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsaBehaviour {
    /// Answers with `openssl ts -reply`.
    Honest,
    /// Answers every request with the first response it made (a replay).
    ReplayFirst,
    /// Answers with HTTP 500.
    Broken,
}

/// An RFC 3161 TSA over HTTP on 127.0.0.1: `openssl ts -reply` behind a tiny responder.
pub struct LocalTsa {
    /// Its URL.
    pub url: String,
    /// How many requests it answered.
    pub requests: Arc<Mutex<u32>>,
}

impl LocalTsa {
    /// Starts one on an ephemeral port.
    pub fn start(behaviour: TsaBehaviour) -> LocalTsa {
        let requests = Arc::new(Mutex::new(0));
        let counter = requests.clone();
        let mut first: Option<Vec<u8>> = None;
        let base = http_server(move |_, _, body| {
            *counter.lock().unwrap() += 1;
            match behaviour {
                TsaBehaviour::Broken => ("500 Internal Server Error", "text/plain", Vec::new()),
                TsaBehaviour::ReplayFirst => {
                    let reply = openssl_ts_reply(body);
                    ("200 OK", TS_REPLY, first.get_or_insert(reply).clone())
                }
                TsaBehaviour::Honest => ("200 OK", TS_REPLY, openssl_ts_reply(body)),
            }
        });
        LocalTsa {
            url: format!("{base}/tsa"),
            requests,
        }
    }
}

const TS_REPLY: &str = "application/timestamp-reply";

fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let mut request_line = head.lines().next().unwrap_or("").split(' ');
            let method = request_line.next().unwrap_or("").to_owned();
            let path = request_line.next().unwrap_or("").to_owned();
            let length: usize = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let body_start = end + 4;
            while data.len() < body_start + length {
                let n = stream.read(&mut buf).ok()?;
                if n == 0 {
                    return None;
                }
                data.extend_from_slice(&buf[..n]);
            }
            return Some((method, path, data[body_start..body_start + length].to_vec()));
        }
    }
}

fn openssl_ts_reply(query: &[u8]) -> Vec<u8> {
    // `openssl ts -reply` reads and rewrites the TSA's serial file; two at once (the tests run
    // several TSAs in parallel) can read it half-written ("Error during serial number
    // generation"), so replies are made one at a time.
    static TSA_SERIAL: Mutex<()> = Mutex::new(());
    let _serial = TSA_SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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
pub fn openssl_ts_verify(token: &[u8], data: &[u8]) -> Output {
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
pub fn certificate(der: &[u8]) -> Certificate {
    Certificate::from_der(der).unwrap()
}
