//! Signs a file with a local key as CMS or CAdES, so that anyone can check the output with
//! OpenSSL:
//!
//! ```sh
//! cargo run -p sam-cms --example sign_file -- --key KEY.pem --cert CERT.pem \
//!     --format cades-b-b --in FILE --out FILE.p7s
//! openssl cms -verify -binary -inform DER -in FILE.p7s -content FILE -CAfile CA.pem -out /dev/null
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use der::Encode;
use sam_algorithms::{HashAlgorithm, RsaPadding, SignatureAlgorithm, UnixTime};
use sam_cms::http::HttpTransport;
use sam_cms::revocation::FetchingRevocationSource;
use sam_cms::{
    Certificate, Content, Format, LocalSigner, Services, SignatureRequest, TimeStampClient, sign,
};
use sam_keys::SigningKey;

const USAGE: &str = "\
sign_file: sign a file with a local key as raw, CMS or CAdES (sam-cms example)

USAGE:
    sign_file --key KEY.pem --cert CERT.pem --in FILE --out FILE.p7s [OPTIONS]

REQUIRED:
    --key PATH        the private key, PKCS#8 PEM (\"BEGIN PRIVATE KEY\")
    --cert PATH       the signer's certificate, PEM; more certificates in the file are
                      included as the chain
    --in PATH         the file to sign
    --out PATH        where to write the signature (DER)

OPTIONS:
    --format NAME     raw, cms, cades-b-b (default), cades-b-t or cades-b-lt
    --hash NAME       sha256 (default), sha384, sha512, sha3-256, ...
    --pss             RSA-PSS instead of PKCS#1 v1.5 (RSA keys only)
    --attached        embed the file in the signature (default: detached)
    --tsa URL         the RFC 3161 time-stamp authority for cades-b-t and cades-b-lt
                      (http:// only)
                      cades-b-lt also fetches OCSP responses or CRLs as the certificates
                      point to them; give the whole chain up to the root in --cert
    -h, --help        this text

EXAMPLE:
    sign_file --key alice.key --cert alice.pem --format cades-b-b --in contract.pdf \\
        --out contract.pdf.p7s
    openssl cms -verify -binary -inform DER -in contract.pdf.p7s -content contract.pdf \\
        -CAfile ca.pem -out /dev/null
";

struct Args {
    key: String,
    cert: String,
    input: String,
    output: String,
    format: Format,
    hash: HashAlgorithm,
    pss: bool,
    attached: bool,
    tsa: Option<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = std::env::args().skip(1);
    let (mut key, mut cert, mut input, mut output, mut tsa) = (None, None, None, None, None);
    let (mut format, mut hash, mut pss, mut attached) =
        (Format::CadesBB, HashAlgorithm::Sha256, false, false);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--key" => key = Some(value("--key")?),
            "--cert" => cert = Some(value("--cert")?),
            "--in" => input = Some(value("--in")?),
            "--out" => output = Some(value("--out")?),
            "--tsa" => tsa = Some(value("--tsa")?),
            "--format" => format = value("--format")?.parse().map_err(|e| format!("{e}"))?,
            "--hash" => {
                hash = value("--hash")?
                    .parse()
                    .map_err(|e| format!("--hash: {e}"))?
            }
            "--pss" => pss = true,
            "--attached" => attached = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let need = |v: Option<String>, name: &str| v.ok_or(format!("{name} is required"));
    Ok(Some(Args {
        key: need(key, "--key")?,
        cert: need(cert, "--cert")?,
        input: need(input, "--in")?,
        output: need(output, "--out")?,
        format,
        hash,
        pss,
        attached,
        tsa,
    }))
}

fn run(args: Args) -> Result<(), String> {
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("{path}: {e}"));
    let certificates = Certificate::load_pem_chain(&read(&args.cert)?)
        .map_err(|e| format!("{}: not a PEM certificate: {e}", args.cert))?;
    let signer_cert = certificates
        .first()
        .ok_or(format!("{}: no certificate", args.cert))?;
    let spki = signer_cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    let spec = sam_keys::public_key_spec(&spki).map_err(|e| format!("{}: {e}", args.cert))?;

    let key_pem =
        String::from_utf8(read(&args.key)?).map_err(|_| format!("{}: not a PEM file", args.key))?;
    let (label, key_der) = der::pem::decode_vec(key_pem.as_bytes())
        .map_err(|e| format!("{}: not PEM: {e}", args.key))?;
    if label != "PRIVATE KEY" {
        return Err(format!(
            "{}: a PKCS#8 \"PRIVATE KEY\" is expected, found \"{label}\" (convert with \
             `openssl pkcs8 -topk8 -nocrypt`)",
            args.key
        ));
    }
    let key =
        SigningKey::from_pkcs8_der(spec, &key_der).map_err(|e| format!("{}: {e}", args.key))?;
    if key.public_key_der().map_err(|e| e.to_string())? != spki {
        return Err(format!("{} is not the key of {}", args.key, args.cert));
    }

    let padding = if args.pss {
        RsaPadding::Pss
    } else {
        RsaPadding::Pkcs1v15
    };
    let algorithm = SignatureAlgorithm::for_key(spec, args.hash, padding);
    let data = read(&args.input)?;
    let content = if args.attached {
        Content::Attached(&data)
    } else {
        Content::Detached(&data)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let signing_time = UnixTime::from_secs(i64::try_from(now).map_err(|e| e.to_string())?)
        .ok_or("the clock is out of range")?;
    let request = SignatureRequest::new(
        args.format,
        algorithm,
        content,
        certificates.clone(),
        signing_time,
    );

    let client = args
        .tsa
        .as_ref()
        .map(|url| TimeStampClient::new(url.clone(), HttpTransport::default()));
    let fetcher = FetchingRevocationSource::new(HttpTransport::default());
    let services = match &client {
        Some(c) if args.format.has_validation_data() => Services::with_validation_data(c, &fetcher),
        Some(c) => Services::with_time_stamps(c),
        None => Services::none(),
    };
    let output =
        sign(&request, &LocalSigner::new(&key, algorithm), &services).map_err(|e| e.to_string())?;
    std::fs::write(&args.output, &output).map_err(|e| format!("{}: {e}", args.output))?;
    eprintln!(
        "{}: {} signature ({algorithm}, {} bytes) written to {}",
        args.input,
        args.format,
        output.len(),
        args.output
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sign_file: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("sign_file: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
