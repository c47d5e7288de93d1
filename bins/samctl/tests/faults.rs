//! `samd` under the faults of SECURITY.md's threat list, tried from outside with the release
//! interfaces (the binaries, curl, samctl): a clear refusal at start (exit code 2 within 5 s,
//! the cause named, nothing changed) for a wrong master key, a missing or read-only database
//! and an unreachable PostgreSQL; an unready server while its database file is gone or its
//! disk is full; and under a full disk no acknowledged write lost and no SAD signed twice
//! (invariant 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The crash tests report what the kills cost on stderr.
#![allow(clippy::print_stderr)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sam_testkit::faults::SmallDisk;

/// `samd ARGS` must stop at start: exit code 2 within 5 s, with `expected` in what it says.
fn refused_at_start(args: &[&str], expected: &str) {
    let started = Instant::now();
    let out = Command::new(samd())
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "samd {args:?} did not refuse: {said}"
    );
    assert!(
        took < Duration::from_secs(5),
        "samd {args:?} took {took:?} to refuse: {said}"
    );
    assert!(
        said.contains(expected),
        "samd {args:?} should say {expected:?}: {said}"
    );
}

/// How many records the audit chain holds (and that it is intact).
fn audit_records(server: &Server, dir: &Path) -> u64 {
    let report = ok(run(
        server,
        dir,
        &[],
        &["admin", "audit", "verify", "--json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["intact"], true, "{report}");
    report["records"].as_u64().unwrap()
}

fn config_with(data: &Path, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(data.join("samd.toml")).unwrap();
    let path = data.join("edited.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

#[test]
fn a_wrong_key_a_missing_database_and_an_unreachable_postgresql_stop_samd_at_start() {
    let dir = scratch("refusals");
    let server = start_samd(&dir, None);
    let records = audit_records(&server, &dir);
    let data = server.data.clone();
    let admin_token = server.admin_token.clone();
    drop(server);
    let config = data.join("samd.toml");
    let config = config.to_str().unwrap();

    // Another master key, well formed: refused before anything is served or written.
    let key_file = data.join("keys/master.key");
    let right_key = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, "ab".repeat(32)).unwrap();
    refused_at_start(
        &["--config", config],
        "is not the one the keys in this database were made under",
    );
    std::fs::write(&key_file, &right_key).unwrap();

    // The database moved away: no new empty one in its place.
    let db = data.join("sam.db");
    let aside = dir.join("aside");
    std::fs::create_dir_all(&aside).unwrap();
    for file in ["sam.db", "sam.db-wal", "sam.db-shm"] {
        let _ = std::fs::rename(data.join(file), aside.join(file));
    }
    refused_at_start(&["--config", config], "does not exist");
    assert!(
        !db.exists(),
        "samd made a new database in place of the missing one"
    );
    for file in ["sam.db", "sam.db-wal", "sam.db-shm"] {
        let _ = std::fs::rename(aside.join(file), data.join(file));
    }

    // PostgreSQL: a port nobody listens on, a missing database, an unknown host.
    let base = std::env::var("SAM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server_url = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(s, _)| s)
        .to_owned();
    for (url, cause) in [
        (
            "postgres://postgres@127.0.0.1:1/sam".to_owned(),
            "connection refused",
        ),
        (
            format!("{server_url}/sam_no_such_database"),
            "does not exist",
        ),
        (
            "postgres://postgres@no-such-host.invalid/sam".to_owned(),
            "unknown host",
        ),
    ] {
        let edited = config_with(&data, &format!("[database]\nurl = \"{url}\"\n"));
        refused_at_start(&["--config", edited.to_str().unwrap()], cause);
    }

    // With everything right again, it starts on the same data.
    let mut again = spawn(&[], &["--config", config, "--listen", "127.0.0.1:0"]);
    again.data = data.clone();
    again.admin_token = admin_token;
    assert!(
        audit_records(&again, &dir) >= records,
        "the audit records of before are there"
    );
}

#[test]
fn a_read_only_database_stops_samd_and_a_removed_one_makes_it_unready() {
    let dir = scratch("readonly");
    let Some(disk) = SmallDisk::mount(&dir, "ro", "64m") else {
        return;
    };
    let data = disk.dir.join("sam-data");
    let server = start_samd(&disk.dir, None);
    let (status, body) = curl(&server, &[], "/readyz");
    assert_eq!(status, 200, "{body}");

    // Removed while running: unready, and writes are refused rather than acknowledged into a
    // file that no start will see again.
    let db = data.join("sam.db");
    std::fs::rename(&db, data.join("aside.db")).unwrap();
    let (status, body) = curl(&server, &[], "/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("removed or replaced"), "{body}");
    let secret = [("SAM_CLIENT_SECRET", "a-secret-of-the-shop")];
    let create = [
        "admin",
        "client",
        "create",
        "shop",
        "--secret-env",
        "SAM_CLIENT_SECRET",
    ];
    let out = run(&server, &dir, &secret, &create);
    assert!(
        !out.status.success(),
        "a write to a removed database was acknowledged"
    );
    assert!(
        stderr(&out).contains("store_unavailable"),
        "{}",
        stderr(&out)
    );
    std::fs::rename(data.join("aside.db"), &db).unwrap();
    let (status, body) = curl(&server, &[], "/readyz");
    assert_eq!(status, 200, "back in place, ready again: {body}");
    ok(run(&server, &dir, &secret, &create));
    drop(server);

    // Read-only at start: refused with the reason.
    disk.make_read_only();
    refused_at_start(
        &["--config", data.join("samd.toml").to_str().unwrap()],
        "read-only",
    );
}

/// SIGTERM, and wait for samd to stop.
fn stop(mut server: Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let waited = server.child.wait().unwrap();
    assert!(waited.success(), "samd stopped with {waited:?}");
}

#[test]
fn a_full_disk_loses_no_acknowledged_write_and_signs_no_request_twice() {
    let dir = scratch("diskfull");
    let Some(disk) = SmallDisk::mount(&dir, "full", "32m") else {
        return;
    };
    // samd --dev with its data directory on the small disk.
    let start = || start_samd(&disk.dir, None);
    let server = start();
    let admin_token = server.admin_token.clone();
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    let basic = "shop:a-secret-of-the-shop";
    profile_and_client(
        &server,
        &dir,
        &client,
        "name = \"Disk\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    // 30 requests, each approved on the device: 30 one-use SADs.
    let requests = approved_requests(&server, &dir, 30);
    let sign = |server: &Server, request: &str| {
        post_json(
            server,
            basic,
            "/api/v1/sign",
            &format!(r#"{{"request_id":"{request}"}}"#),
        )
    };

    // The disk is full: every answer is a signature or a refusal with its reason, and the
    // server says it is not ready.
    disk.fill();
    let mut signed = Vec::new();
    let mut refused = Vec::new();
    for request in &requests[..10] {
        let (status, body) = sign(&server, request);
        match status {
            200 => signed.push(request.clone()),
            503 => {
                assert!(body.contains("store_unavailable"), "{body}");
                refused.push(request.clone());
            }
            other => panic!("Sign on a full disk answered {other}: {body}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk never got full: the test proves nothing"
    );
    let (status, body) = curl(&server, &[], "/readyz");
    assert_eq!(status, 503, "ready while the disk is full: {body}");
    assert!(body.contains("full"), "{body}");

    // Space again: ready, and every request not signed yet signs now, once.
    disk.free();
    let (status, body) = curl(&server, &[], "/readyz");
    assert_eq!(status, 200, "{body}");
    for request in refused.iter().chain(&requests[10..]) {
        let (status, body) = sign(&server, request);
        assert_eq!(status, 200, "{request}: {body}");
        signed.push(request.clone());
    }
    ok(run(&server, &dir, &client, &["user", "create", "bob"]));
    stop(server);

    // After a restart: every acknowledged write is there, and no request signs again.
    let mut server = start();
    server.admin_token = admin_token;
    assert_eq!(signed.len(), requests.len());
    for request in &requests {
        let (status, body) = sign(&server, request);
        assert_eq!(status, 409, "{request} signed twice: {body}");
    }
    let out = run(&server, &dir, &client, &["user", "create", "bob"]);
    assert!(
        stderr(&out).contains("user_exists"),
        "bob, created once the space was back, is gone: {}",
        stderr(&out)
    );
    assert!(audit_records(&server, &dir) > 0);
}

/// A pseudo-random number from `state` (xorshift64): the kill moments.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `GET path` as the shop: the JSON answer.
fn get_json(server: &Server, path: &str) -> serde_json::Value {
    let (status, body) = curl(server, &["-u", "shop:a-secret-of-the-shop"], path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// SECURITY.md threats, "a crash (kill -9) in the middle of signing": 40 approved requests,
/// Signs from 6 connections at once, samd killed with SIGKILL at a random moment in each of
/// 8 rounds and started again. Afterwards: no request answered 200 twice; every request is
/// `used`, `authorised` (never spent) or back to `pending` with its unsigned spends counted
/// (none stays `signing` once the lease is over); the audit log has exactly one `sign ok` per
/// `used` request and one `sad_spent` per spend; the plan counted exactly the signatures; the
/// audit chain verifies.
fn signs_survive_kill_9(tag: &str, database_url: Option<String>) {
    let dir = scratch(tag);
    let url = database_url.clone();
    let edit = move |text: String| {
        let text = text.replace("[signing]\n", "[signing]\nsigning_lease_secs = 2\n");
        match &url {
            Some(url) => format!("{text}\n[database]\nurl = \"{url}\"\n"),
            None => text,
        }
    };
    let first = start_samd(&dir, Some(&edit));
    let (data, admin_token) = (first.data.clone(), first.admin_token.clone());
    let config = data.join("samd.toml");
    let start = || {
        let mut server = spawn(
            &[],
            &[
                "--config",
                config.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ],
        );
        server.data = data.clone();
        server.admin_token = admin_token.clone();
        server
    };
    let client = [
        ("SAM_CLIENT_ID", "shop"),
        ("SAM_CLIENT_SECRET", "a-secret-of-the-shop"),
    ];
    profile_and_client(
        &first,
        &dir,
        &client,
        "name = \"Crash\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         key = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n\
         [authorisation_key]\nkey = { algorithm = \"ecdsa\", curve_type = \"nist-p\", key_length = 256 }\n",
    );
    std::fs::write(
        dir.join("plan.json"),
        r#"{"enabled": true, "transaction_limit": 1000000, "start": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    ok(run(
        &first,
        &dir,
        &[],
        &["admin", "plan", "set", "shop", "plan.json"],
    ));
    let requests = approved_requests(&first, &dir, 40);

    let mut answered_200 = std::collections::BTreeSet::new();
    let mut seed = u64::from(std::process::id()) | 1;
    let mut server = Some(first);
    for _round in 0..8 {
        let mut running = server.take().unwrap_or_else(start);
        let open: Vec<String> = requests
            .iter()
            .filter(|r| !answered_200.contains(*r))
            .cloned()
            .collect();
        let address = running.address.clone();
        let ca = running.data.join("dev-ca/ca.pem");
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let mine: Vec<String> = open.iter().skip(w).step_by(6).cloned().collect();
                let (address, ca) = (address.clone(), ca.clone());
                std::thread::spawn(move || {
                    mine.into_iter()
                        .map(|request| {
                            let out = Command::new("curl")
                                .args(["--silent", "--max-time", "10", "--cacert"])
                                .arg(&ca)
                                .args(["-u", "shop:a-secret-of-the-shop", "-H"])
                                .args(["Content-Type: application/json", "--data"])
                                .arg(format!(r#"{{"request_id":"{request}"}}"#))
                                .args(["--write-out", "\n%{http_code}", "--output", "/dev/null"])
                                .arg(format!("https://{address}/api/v1/sign"))
                                .output()
                                .unwrap();
                            let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                            (request, code)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + next(&mut seed) % 1200));
        running.child.kill().unwrap(); // SIGKILL
        running.child.wait().unwrap();
        for worker in workers {
            for (request, code) in worker.join().unwrap() {
                if code == "200" {
                    assert!(
                        answered_200.insert(request.clone()),
                        "{request} was signed twice"
                    );
                }
                assert_ne!(code, "500", "a Sign answered 500 for {request}");
            }
        }
    }

    // After the lease, every interrupted signing is given back; then the records must agree.
    let server = start();
    std::thread::sleep(Duration::from_secs(4));
    let (mut used, mut unsigned_spends) = (0_u64, 0_u64);
    for request in &requests {
        let state = get_json(&server, &format!("/api/v1/authorisations/{request}"));
        let status = state["status"].as_str().unwrap().to_owned();
        let unsigned = state["unsigned_spends"].as_u64().unwrap();
        unsigned_spends += unsigned;
        match status.as_str() {
            "used" => used += 1,
            "authorised" => assert_eq!(unsigned, 0, "{request}: {state}"),
            "pending" => assert!(
                unsigned > 0,
                "{request} is pending without a spend: {state}"
            ),
            other => panic!("{request} is {other} after the lease: {state}"),
        }
        if answered_200.contains(request) {
            assert_eq!(status, "used", "{request} was answered 200 but is {status}");
        }
    }
    let records = ok(run(
        &server,
        &dir,
        &[],
        &["admin", "audit", "export", "--limit", "10000", "--json"],
    ));
    let records: Vec<serde_json::Value> = serde_json::from_str(&records).unwrap();
    let count = |action: &str, outcome: &str| {
        records
            .iter()
            .filter(|r| r["action"] == action && r["outcome"] == outcome)
            .count() as u64
    };
    assert_eq!(
        count("sign", "ok"),
        used,
        "sign ok records against used requests"
    );
    assert_eq!(
        count("sad_spent", "ok"),
        used + unsigned_spends,
        "one sad_spent per spend: the signed ones and those given back"
    );
    let plan = ok(run(
        &server,
        &dir,
        &[],
        &["admin", "plan", "show", "shop", "--json"],
    ));
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(
        plan["usage"]["by_type"]["sign"].as_u64().unwrap_or(0),
        used,
        "the plan counted exactly the signatures: {plan}"
    );
    assert!(audit_records(&server, &dir) > 0);
    assert!(used > 0, "no Sign got through: the test proves nothing");
    eprintln!(
        "kill -9 ({tag}): {used} signed ({} answers received, {} lost in the kills), {unsigned_spends} SADs spent without a signature and given back",
        answered_200.len(),
        used - answered_200.len() as u64
    );
}

#[test]
fn kill_9_under_sign_load_on_sqlite_signs_nothing_twice_and_keeps_the_records_true() {
    signs_survive_kill_9("crash-sqlite", None);
}

#[test]
fn kill_9_under_sign_load_on_postgresql_signs_nothing_twice_and_keeps_the_records_true() {
    let database = PostgresDatabase::create("sam_crash");
    signs_survive_kill_9("crash-postgres", Some(database.url.clone()));
}

/// A client idle longer than samd keeps its connection (10 s, samd's header-read timeout):
/// samd closes it while the client's runtime is not running, so the client cannot see the
/// close; its next call must still be answered — on a new connection, not a failed write to
/// the closed one (sam-client reuses a connection only briefly).
#[test]
fn a_client_idle_longer_than_samd_keeps_its_connection_is_still_answered() {
    let dir = scratch("faults-idle");
    let server = start_samd(&dir, None);
    let sam = Sam::new(&server, "shop:shop-secret-1234");
    sam.run(sam.admin.register_client(&sam_client::ClientSettings {
        client_id: "shop".into(),
        ..sam_client::ClientSettings::default()
    }));
    std::thread::sleep(Duration::from_secs(11));
    sam.run(sam.admin.client("shop"));
}
