//! Hostile clients against a real `samd --dev`, with curl and raw sockets (SECURITY.md
//! "bounded resources"): a flood of wrong credentials keeps samd small and a known client
//! fast; a declared body over the limit is refused before it is read; the HTTP edge follows
//! RFC 9110 (one `Authorization`, scheme case-insensitive); out of file descriptors, samd
//! waits instead of spinning and serves again as soon as one frees.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The tests of this file measure samd's CPU and latency: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const PROFILE: &str = "name = \"Hostile\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
     key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
     [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n";

const CLIENT: [(&str, &str); 2] = [
    ("SAM_CLIENT_ID", "shop"),
    ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
];

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`: the peak).
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// The CPU time samd has used (user + system), from `/proc/PID/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name (which is in parentheses).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// curl with `connections` parallel connections sending the same request again and again
/// (with `args`; a URL glob of a million, the query ignored by samd) until it is stopped; it
/// writes one HTTP status per answer to a file (not a pipe, which would fill and stall it).
fn flood(
    server: &Server,
    dir: &Path,
    tag: &str,
    connections: usize,
    args: &[&str],
    path: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let statuses = dir.join(format!("{tag}.statuses"));
    // stdbuf: each status is written as it comes (curl is killed at the end, and would lose
    // what it buffered).
    let child = Command::new("stdbuf")
        .args(["-oL", "curl"])
        .args([
            "--silent",
            "--parallel",
            "--parallel-immediate",
            "--parallel-max",
        ])
        .arg(connections.to_string())
        .arg("--cacert")
        .arg(server.data.join("dev-ca/ca.pem"))
        .args(["--output", "/dev/null", "--write-out", "%{http_code}\n"])
        .args(args)
        .arg(format!("https://{}{path}?n=[1-1000000]", server.address))
        .stdout(std::fs::File::create(&statuses).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl (scripts/test installs it)");
    (child, statuses)
}

/// Stops a flood and counts its answers by status.
fn flood_statuses(
    (mut child, statuses): (std::process::Child, std::path::PathBuf),
) -> std::collections::BTreeMap<String, usize> {
    let _ = child.kill();
    let _ = child.wait();
    let mut counts = std::collections::BTreeMap::new();
    for status in std::fs::read_to_string(&statuses).unwrap().lines() {
        *counts.entry(status.trim().to_owned()).or_insert(0) += 1;
    }
    counts
}

/// One Sign as the shop (a fresh curl, so a fresh connection); its answer and curl's own
/// measure of the time it took.
fn timed_sign(server: &Server, request: &str) -> (u16, Duration) {
    let out = Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code} %{time_total}",
            "--cacert",
        ])
        .arg(server.data.join("dev-ca/ca.pem"))
        .args([
            "-u",
            "shop:a-secret-of-the-shop",
            "-H",
            "Content-Type: application/json",
            "--data",
        ])
        .arg(format!(r#"{{"request_id":"{request}"}}"#))
        .arg(format!("https://{}/api/v1/sign", server.address))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (status, secs) = text.trim().split_once(' ').unwrap();
    (
        status.parse().unwrap(),
        Duration::from_secs_f64(secs.parse().unwrap()),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A flood of wrong credentials — 100 connections of wrong client secrets and 100 of wrong
/// admin tokens — first with the default back-off, then with none (every attempt costs an
/// Argon2id check or is refused `busy`): samd's peak memory stays under 150 MB, the flood
/// gets only 401, 429 `authentication_throttled` and 503 `busy`, and the shop, whose secret
/// samd remembers, signs meanwhile — quickly, with the back-off.
#[test]
fn a_flood_of_wrong_credentials_keeps_samd_small_and_a_known_client_fast() {
    let _one = one_at_a_time();
    let dir = scratch("flood");
    // 8 s each in the suite; docs/performance.md's figures use SAM_FLOOD_SECS=30 and the
    // release binary (SAM_TEST_SAMD=target/release/samd).
    let seconds: u64 = std::env::var("SAM_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for (phase, backoff) in [("backoff", None), ("no-backoff", Some(0u64))] {
        let phase_dir = dir.join(phase);
        std::fs::create_dir_all(&phase_dir).unwrap();
        let no_backoff =
            |config: String| format!("{config}\n[limits]\nauth_max_backoff_secs = 0\n");
        let server = match backoff {
            None => start_samd(&phase_dir, None),
            Some(_) => start_samd(&phase_dir, Some(&no_backoff)),
        };
        let pid = server.child.id();
        profile_and_client(&server, &phase_dir, &CLIENT, PROFILE);
        // One Sign every 200 ms through the flood, and one before it.
        let requests = approved_requests(&server, &phase_dir, 5 * seconds as usize + 1);
        // The shop's secret is verified once before the flood (and then remembered).
        let (status, _) = timed_sign(&server, &requests[0]);
        assert_eq!(status, 200);
        let before = memory_kib(pid, "VmRSS");

        let clients = flood(
            &server,
            &phase_dir,
            "clients",
            100,
            &["-u", "shop:not-the-secret"],
            "/api/v1/users/alice",
        );
        let admins = flood(
            &server,
            &phase_dir,
            "admins",
            100,
            &["-H", "Authorization: Bearer not-the-token"],
            "/admin/v1/clients",
        );
        std::thread::sleep(Duration::from_secs(1));
        let started = Instant::now();
        let mut times = Vec::new();
        for request in &requests[1..] {
            if started.elapsed() > Duration::from_secs(seconds) {
                break;
            }
            let (status, took) = timed_sign(&server, request);
            assert_eq!(status, 200, "{phase}: the shop's Sign during the flood");
            times.push(took);
            std::thread::sleep(Duration::from_millis(200));
        }
        while started.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let client_answers = flood_statuses(clients);
        let admin_answers = flood_statuses(admins);
        let peak = memory_kib(pid, "VmHWM");
        times.sort();
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        eprintln!(
            "{phase}: {seconds} s, 200 connections: clients {client_answers:?}, admins \
             {admin_answers:?}; samd RSS {before} KiB before, peak {peak} KiB; the shop's {} \
             Signs p50 {p50:?} p99 {p99:?}",
            times.len()
        );
        for (who, answers) in [("clients", &client_answers), ("admins", &admin_answers)] {
            let total: usize = answers.values().sum();
            assert!(
                total > 50,
                "{phase} {who}: the flood hardly ran: {answers:?}"
            );
            for status in answers.keys() {
                assert!(
                    ["401", "429", "503"].contains(&status.as_str()),
                    "{phase} {who}: answered {status}: {answers:?}"
                );
            }
        }
        if backoff.is_none() {
            assert!(
                client_answers.contains_key("429") && admin_answers.contains_key("429"),
                "the back-off never slowed the flood: {client_answers:?} {admin_answers:?}"
            );
        }
        assert!(peak < 150 * 1024, "{phase}: samd's peak RSS {peak} KiB");
        // Every Sign of the shop succeeds; without the back-off they are slow (the flood
        // takes the CPU), so only a few fit in the phase.
        assert!(!times.is_empty(), "{phase}: no Sign");
        if backoff.is_none() {
            assert!(times.len() >= 10, "{phase}: only {} Signs", times.len());
        }
        // With the back-off, the flood gets about one answer per connection per second and
        // the shop's Signs stay quick (a debug build on a shared 2-core machine: the release
        // figures are in docs/performance.md; before this, seconds). Without it the flood is
        // answered as fast as it asks — that costs CPU, but never memory.
        if backoff.is_none() {
            assert!(
                p99 < Duration::from_millis(250),
                "{phase}: the shop's Sign p99 {p99:?}"
            );
        }
        // 503 is only `busy`, with its Retry-After.
        let (status, body) = curl(
            &server,
            &["-u", "shop:not-the-secret", "-D", "-"],
            "/api/v1/users/alice",
        );
        assert!([401, 429, 503].contains(&status), "{body}");
        if status != 401 {
            assert!(body.to_ascii_lowercase().contains("retry-after:"), "{body}");
        }
    }
}

/// A declared body over the limit is refused at once, before any of it is read or any
/// credential checked; two `Authorization` headers are refused; the scheme is
/// case-insensitive.
#[test]
fn the_http_edge_refuses_an_oversized_declared_body_at_once_and_follows_rfc_9110() {
    let _one = one_at_a_time();
    let dir = scratch("edge");
    let server = start_samd(&dir, None);
    profile_and_client(&server, &dir, &CLIENT, PROFILE);
    ok(run(&server, &dir, &CLIENT, &["user", "create", "alice"]));

    // A length declared over the limit, of which only 10 bytes come: over HTTP/1.1 the
    // answer is 413 at once (RFC 9110 §15.5.14), not after waiting for the rest.
    let lie = [
        "-u",
        "shop:a-secret-of-the-shop",
        "-H",
        "Content-Type: application/json",
        "-H",
        "Content-Length: 1000000000000",
        "--data",
        "0123456789",
    ];
    let started = Instant::now();
    let (exit, spoken, status, body) = curl_over(&server, "--http1.1", &lie, None, "/api/v1/sign");
    assert_eq!((exit, spoken.as_str(), status), (0, "1.1", 413), "{body}");
    assert!(body.contains("payload_too_large"), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused after {:?}",
        started.elapsed()
    );
    // Over HTTP/2 the same request is malformed (its DATA ends short of its content-length):
    // the stream is reset with PROTOCOL_ERROR at once (RFC 9113 §8.1.1) — or, when samd's
    // refusal of the declared length is sent before the short DATA is seen, answered 413.
    // Either way at once, and samd goes on.
    let started = Instant::now();
    let (exit, spoken, status, body) = curl_over(&server, "--http2", &lie, None, "/api/v1/sign");
    match exit {
        92 => assert!(body.contains("PROTOCOL_ERROR"), "{body}"),
        0 => {
            assert_eq!((spoken.as_str(), status), ("2", 413), "{body}");
            assert!(body.contains("payload_too_large"), "{body}");
        }
        other => panic!("curl exit {other} over HTTP/2: {body}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));

    let (status, body) = curl(
        &server,
        &[
            "-H",
            "Authorization: Basic c2hvcDphLXNlY3JldC1vZi10aGUtc2hvcA==",
            "-H",
            "Authorization: Bearer something-else",
        ],
        "/api/v1/users/alice",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("more than one Authorization"), "{body}");

    // shop:a-secret-of-the-shop, with the scheme in lower and mixed case.
    for scheme in ["basic", "BASIC", "bAsIc"] {
        let (status, body) = curl(
            &server,
            &[
                "-H",
                &format!("Authorization: {scheme} c2hvcDphLXNlY3JldC1vZi10aGUtc2hvcA=="),
            ],
            "/api/v1/users/alice",
        );
        assert_eq!(status, 200, "{scheme}: {body}");
    }
    let (status, _) = curl(
        &server,
        &[
            "-H",
            &format!("Authorization: bearer {}", server.admin_token),
        ],
        "/admin/v1/clients",
    );
    assert_eq!(status, 200);
}

/// curl over `version` (`--http2` or `--http1.1`): its exit code, the HTTP version it spoke,
/// the status and the body. A reset stream or connection is a nonzero exit (16, 55, 56, 92).
fn curl_over(
    server: &Server,
    version: &str,
    args: &[&str],
    stdin: Option<&Path>,
    path: &str,
) -> (i32, String, u16, String) {
    let mut command = Command::new("curl");
    command
        .args([
            "--silent",
            "--show-error",
            version,
            "--max-time",
            "20",
            "--write-out",
            "\n%{http_version} %{http_code}",
            "--cacert",
        ])
        .arg(server.data.join("dev-ca/ca.pem"))
        .args(args)
        .arg(format!("https://{}{path}", server.address));
    if let Some(file) = stdin {
        command.stdin(std::fs::File::open(file).unwrap());
    }
    let out = command.output().expect("curl (scripts/test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = text.rsplit_once('\n').unwrap_or(("", "0 0"));
    let (spoken, status) = last.split_once(' ').unwrap_or(("0", "0"));
    (
        out.status.code().unwrap_or(-1),
        spoken.to_owned(),
        status.trim().parse().unwrap_or(0),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// An answer given before the request's body was read (a body over the limit, declared or
/// found by reading) reaches an HTTP/2 client whole, as it does an HTTP/1.1 one: curl exits 0
/// with the 413 and its JSON, not with a reset stream (RFC 9113 §8.1: the server ends the
/// stream with `RST_STREAM(NO_ERROR)` after its answer). Both versions are offered (ALPN).
#[test]
fn an_early_answer_reaches_http2_and_http1_clients_whole() {
    let _one = one_at_a_time();
    let dir = scratch("h2-early");
    let server = start_samd(&dir, None);
    profile_and_client(&server, &dir, &CLIENT, PROFILE);
    ok(run(&server, &dir, &CLIENT, &["user", "create", "alice"]));
    // 5 MiB: over the default limit of 4 MiB (docs/configuration.md, limits.max_body_bytes).
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 5 * 1024 * 1024]).unwrap();
    let auth = [
        "-u",
        "shop:a-secret-of-the-shop",
        "-H",
        "Content-Type: application/json",
    ];

    for (version, spoken) in [("--http2", "2"), ("--http1.1", "1.1")] {
        // Declared over the limit (curl sends the file's length): refused at the headers,
        // while curl is still sending.
        let mut declared = auth.to_vec();
        declared.extend(["--data-binary", "@-"]);
        let (exit, version_spoken, status, body) =
            curl_over(&server, version, &declared, Some(&big), "/api/v1/sign");
        assert_eq!(
            (exit, version_spoken.as_str(), status),
            (0, spoken, 413),
            "{version}, declared: {body}"
        );
        assert!(body.contains("payload_too_large"), "{version}: {body}");

        // Not declared (streamed: HTTP/2 without content-length, HTTP/1.1 chunked): found
        // over the limit only by reading.
        let mut streamed = auth.to_vec();
        streamed.extend(["-X", "POST", "-T", "-"]);
        let (exit, version_spoken, status, body) =
            curl_over(&server, version, &streamed, Some(&big), "/api/v1/sign");
        assert_eq!(
            (exit, version_spoken.as_str(), status),
            (0, spoken, 413),
            "{version}, streamed: {body}"
        );
        assert!(body.contains("payload_too_large"), "{version}: {body}");

        // Wrong credentials with a body under the limit: the answer is 401, whole.
        let (exit, version_spoken, status, body) = curl_over(
            &server,
            version,
            &[
                "-u",
                "shop:not-the-secret",
                "-H",
                "Content-Type: application/json",
                "--data",
                "{}",
            ],
            None,
            "/api/v1/sign",
        );
        assert_eq!(
            (exit, version_spoken.as_str(), status),
            (0, spoken, 401),
            "{version}, wrong secret: {body}"
        );

        // And the connection's next request is served: one known client signs in.
        let (exit, version_spoken, status, body) = curl_over(
            &server,
            version,
            &["-u", "shop:a-secret-of-the-shop"],
            None,
            "/api/v1/users/alice",
        );
        assert_eq!(
            (exit, version_spoken.as_str(), status),
            (0, spoken, 200),
            "{version}: {body}"
        );
    }
}

/// An HTTP/2 connection on which no request comes is sent GOAWAY after 10 s, as an idle
/// HTTP/1.1 one is closed by its header timeout, and is dropped 5 s later when the client
/// does not acknowledge the PING that comes with it (this one does not): idle connections
/// hold none of `max_connections` for long. A raw TLS client (openssl s_client, ALPN h2)
/// sends the connection preface and its SETTINGS, then nothing.
#[test]
fn an_idle_http2_connection_is_closed_after_ten_seconds() {
    use std::io::Write as _;
    let _one = one_at_a_time();
    let dir = scratch("h2-idle");
    let server = start_samd(&dir, None);
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-ign_eof", "-alpn", "h2", "-connect"])
        .arg(&server.address)
        .arg("-CAfile")
        .arg(server.data.join("dev-ca/ca.pem"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl (scripts/test installs it)");
    let started = Instant::now();
    let mut stdin = client.stdin.take().unwrap();
    // RFC 9113 §3.4: the preface, then an empty SETTINGS frame (length 0, type 4, stream 0).
    stdin
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .unwrap();
    stdin.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    stdin.flush().unwrap();
    let closed = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(25) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = client.kill();
    let mut frames = Vec::new();
    std::io::Read::read_to_end(&mut client.stdout.take().unwrap(), &mut frames).unwrap();
    drop(stdin);
    let elapsed = started.elapsed();
    assert!(closed.is_some(), "still open after {elapsed:?}");
    assert!(
        elapsed >= Duration::from_secs(9) && elapsed < Duration::from_secs(20),
        "closed after {elapsed:?}"
    );
    // Somewhere in what the server sent: a GOAWAY frame (type 7) on stream 0.
    let goaway = frames
        .windows(9)
        .any(|h| h[3] == 7 && h[5..9] == [0, 0, 0, 0] && h[0..3] == [0, 0, 8]);
    assert!(goaway, "no GOAWAY in {frames:02x?}");
}

/// With 64 file descriptors and 100 idle connections, samd cannot accept: it logs it once,
/// waits instead of spinning (under 5% of a core), and serves a new client as soon as
/// descriptors free.
#[test]
fn out_of_file_descriptors_samd_waits_without_spinning_and_serves_again() {
    let _one = one_at_a_time();
    let dir = scratch("emfile");
    let server = start_samd(&dir, None);
    let pid = server.child.id();
    let limited = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), "--nofile=64:64"])
        .status()
        .expect("prlimit (scripts/test installs util-linux)");
    assert!(limited.success());
    let idle: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(&server.address).unwrap())
        .collect();
    // Give samd time to take the descriptors it can, then measure it while it cannot.
    std::thread::sleep(Duration::from_secs(1));
    let (cpu_before, wall) = (cpu_time(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(4));
    let used = cpu_time(pid) - cpu_before;
    let share = used.as_secs_f64() / wall.elapsed().as_secs_f64();
    eprintln!(
        "out of descriptors: samd used {used:?} of CPU in {:?} ({:.1}%)",
        wall.elapsed(),
        share * 100.0
    );
    assert!(share < 0.05, "samd spins: {:.1}% of a core", share * 100.0);

    drop(idle);
    let started = Instant::now();
    loop {
        let (status, _) = curl(&server, &["--max-time", "2"], "/healthz");
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no new client served {:?} after descriptors freed",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(&server.log).unwrap();
    // Once per episode, not per failed accept: an episode ends when an accept succeeds (a
    // descriptor freed), and may begin again while the idle connections still hold the rest.
    let cannot = log.matches("cannot accept connections").count();
    let again = log.matches("accepting connections again").count();
    assert!(
        cannot >= 1 && cannot <= again + 1 && cannot < 10,
        "{cannot} episodes logged, {again} ends"
    );
}
