//! The Cloud Signature Consortium API facade of a real `samd` (docs/csc.md), as a CSC client
//! sees it over HTTPS (curl): `info` for both versions, by POST and by GET, saying what the
//! configuration says and listing exactly the methods served and the algorithms the crypto
//! sources sign; refusals in CSC's `{"error", "error_description"}` form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{curl, scratch, start_samd};
use serde_json::Value;

fn call(server: &common::Server, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut args = vec!["-X", method];
    if let Some(body) = body {
        args.extend(["-H", "Content-Type: application/json", "--data", body]);
    }
    let (status, text) = curl(server, &args, path);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, value)
}

#[test]
fn info_tells_each_version_what_is_served() {
    let dir = scratch("csc-info");
    let named = |text: String| {
        format!(
            "{text}\n[csc]\nname = \"Example Trust Services\"\nregion = \"NL\"\n\
             logo = \"https://tsp.example/logo.png\"\n"
        )
    };
    let server = start_samd(&dir, Some(&named));

    for version in ["v1", "v2"] {
        let path = format!("/csc/{version}/info");
        let (status, posted) = call(&server, "POST", &path, Some(r#"{"lang":"en-US"}"#));
        assert_eq!(status, 200, "{posted}");
        // GET, for the clients that use it, and POST without a body answer the same.
        let (status, got) = call(&server, "GET", &path, None);
        assert_eq!((status, &got), (200, &posted));
        let (status, bare) = call(&server, "POST", &path, None);
        assert_eq!((status, &bare), (200, &posted));

        assert_eq!(posted["name"], "Example Trust Services");
        assert_eq!(posted["region"], "NL");
        assert_eq!(posted["lang"], "en-US");
        assert_eq!(posted["logo"], "https://tsp.example/logo.png");
        assert!(
            posted["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        // Exactly what is served, spelt as the spec spells it.
        assert_eq!(posted["methods"], serde_json::json!(["info"]), "{posted}");
        assert_eq!(posted["authType"], serde_json::json!([]), "{posted}");
    }

    let (_, v1) = call(&server, "POST", "/csc/v1/info", Some("{}"));
    assert_eq!(v1["specs"], "1.0.4.0");
    assert!(v1.get("signAlgorithms").is_none(), "{v1}");

    let (_, v2) = call(&server, "POST", "/csc/v2/info", Some("{}"));
    assert_eq!(
        v2["specs"], "2.2.0.0",
        "the newest clients want exactly this"
    );
    assert_eq!(v2["asynchronousOperationMode"], false);
    let algos: Vec<&str> = v2["signAlgorithms"]["algos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The development setup's software source: RSA (PKCS#1 v1.5 and PSS), ECDSA, ML-DSA.
    for oid in [
        "1.2.840.113549.1.1.11",   // sha256WithRSAEncryption
        "1.2.840.113549.1.1.10",   // RSASSA-PSS
        "1.2.840.10045.4.3.2",     // ecdsa-with-SHA256
        "2.16.840.1.101.3.4.3.18", // ML-DSA-65
    ] {
        assert!(algos.contains(&oid), "{oid} missing from {algos:?}");
    }
    let mut unique = algos.clone();
    unique.dedup();
    assert_eq!(unique.len(), algos.len(), "each algorithm once: {algos:?}");
    let hashes = v2["supportedHashTypes"].as_array().unwrap();
    assert!(
        hashes.contains(&Value::from("2.16.840.1.101.3.4.2.1")),
        "SHA-256: {hashes:?}"
    );

    // Refusals in CSC's form.
    let (status, refused) = call(&server, "POST", "/csc/v2/info", Some("{"));
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].as_str().is_some());
    let (status, refused) = call(&server, "POST", "/csc/v2/credentials/list", Some("{}"));
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("info lists"),
        "{refused}"
    );
}
