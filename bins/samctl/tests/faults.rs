//! `samd` under the faults of SECURITY.md's threat list, tried from outside with the release
//! interfaces (the binaries, curl, samctl): a clear refusal at start (exit code 2 within 5 s,
//! the cause named, nothing changed) for a wrong master key, a missing or read-only database
//! and an unreachable PostgreSQL; an unready server while its database file is gone or its
//! disk is full; and under a full disk no acknowledged write lost and no SAD signed twice
//! (invariant 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    ok(run(&server, &dir, &client, &["user", "create", "alice"]));
    ok(run(
        &server,
        &dir,
        &client,
        &["device", "enroll", "--user", "alice", "--device", "phone"],
    ));
    let key = ok(run(
        &server,
        &dir,
        &client,
        &["key", "generate", "alice", "--field", "key_id"],
    ));
    // 30 requests, each approved on the device: 30 one-use SADs.
    let requests: Vec<String> = (0..30)
        .map(|i| {
            let request = authorise_raw(&server, basic, "alice", &key, &format!("doc-{i}"));
            ok(run(
                &server,
                &dir,
                &[],
                &[
                    "device",
                    "approve",
                    "--key-file",
                    "phone.device.json",
                    &request,
                    "--yes",
                ],
            ));
            request
        })
        .collect();
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
