//! Reading profiles: errors name the field, unknown fields are refused, input is bounded, and
//! no input makes the parser panic.

use proptest::prelude::*;
use sam_profile::document::MAX_DOCUMENT_LEN;
use sam_profile::{
    AssertionType, IdpCertificate, ProfileError, ProfileQuery, ProfileSettings, UserIdSource,
};

use crate::fixtures::IDP_CERTIFICATE_PEM;

fn path_of(err: ProfileError) -> String {
    match err {
        ProfileError::Parse { path, .. } => path,
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (r#"{"signing_key":{"crypto_profiles":["software"]}}"#, "."),
        (
            r#"{"name":"","signing_key":{"crypto_profiles":["software"]}}"#,
            "name",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["a/b"]}}"#,
            "signing_key.crypto_profiles[0]",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"padding":"oaep"}}"#,
            "signing_key.padding",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"scal":"scal3"}}"#,
            "signing_key.scal",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"key":{"algorithm":"ml-dsa","security_level":4}}}"#,
            "signing_key.key",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"hash_algorithm":"md5"}}"#,
            "signing_key.hash_algorithm",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"]},"authorisation_key":{"max_devices_per_user":-1}}"#,
            "authorisation_key.max_devices_per_user",
        ),
        (
            r#"{"name":"x","signing_key":{"crypto_profiles":["software"]},"status":"paused"}"#,
            "status",
        ),
    ];
    for (doc, path) in cases {
        let err = ProfileSettings::from_json(doc).unwrap_err();
        assert_eq!(path_of(err), path, "{doc}");
    }
}

#[test]
fn unknown_fields_are_refused_everywhere() {
    for doc in [
        r#"{"name":"x","signing_key":{"crypto_profiles":["software"]},"colour":"red"}"#,
        r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"keylength":2048}}"#,
        r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"key":{"algorithm":"rsa","bits":2048}}}"#,
        r#"{"name":"x","signing_key":{"crypto_profiles":["software"]},"authorisation_key":{"biometric":true}}"#,
    ] {
        let err = ProfileSettings::from_json(doc).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
    assert!(sam_profile::document::from_json::<ProfileQuery>(r#"{"colour":"red"}"#).is_err());
}

#[test]
fn trailing_text_and_oversized_documents_are_refused() {
    let ok = r#"{"name":"x","signing_key":{"crypto_profiles":["software"]}}"#;
    assert!(ProfileSettings::from_json(ok).is_ok());
    assert!(ProfileSettings::from_json(&format!("{ok} {{}}")).is_err());
    let big = format!("{}{}", ok, " ".repeat(MAX_DOCUMENT_LEN));
    let err = ProfileSettings::from_json(&big).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    let big_toml = format!("# {}\n", "x".repeat(MAX_DOCUMENT_LEN));
    assert!(ProfileSettings::from_toml(&big_toml).is_err());
    // Deep nesting is refused by the JSON recursion limit, not by a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(ProfileSettings::from_json(&deep).is_err());
}

#[test]
fn idp_settings() {
    let toml = format!(
        "name = \"idp\"\n[signing_key]\ncrypto_profiles = [\"software\"]\n\
         [delegated_idp]\ncertificate = '''\n{IDP_CERTIFICATE_PEM}'''\nassertion_type = \"jwt\"\n\
         user_id = {{ attribute = \"email\" }}\nclock_tolerance_secs = 30\n"
    );
    let s = ProfileSettings::from_toml(&toml).unwrap();
    let idp = s.delegated_idp.unwrap();
    assert!(
        idp.enabled,
        "configuring an IdP enables it unless said otherwise"
    );
    assert_eq!(idp.assertion_type, AssertionType::Jwt);
    assert_eq!(
        idp.user_id,
        UserIdSource::Attribute("email".parse().unwrap())
    );
    assert_eq!(
        idp.certificate.subject(),
        "O=Example Identity Provider,CN=Example IdP"
    );

    let bad_cert = toml.replace("MIIB", "MIIC");
    let err = ProfileSettings::from_toml(&bad_cert).unwrap_err();
    assert_eq!(path_of(err), "delegated_idp.certificate");
    let empty_attribute = toml.replace("\"email\"", "\"\"");
    let err = ProfileSettings::from_toml(&empty_attribute).unwrap_err();
    assert_eq!(path_of(err), "delegated_idp.user_id.attribute");
    let saml = toml.replace("\"jwt\"", "\"saml\"");
    assert!(ProfileSettings::from_toml(&saml).is_ok());
    let oidc = toml.replace("\"jwt\"", "\"oidc\"");
    assert_eq!(
        path_of(ProfileSettings::from_toml(&oidc).unwrap_err()),
        "delegated_idp.assertion_type"
    );
}

#[test]
fn idp_certificate_from_pem_or_der() {
    let from_pem = IdpCertificate::from_pem_or_der(IDP_CERTIFICATE_PEM.as_bytes()).unwrap();
    let from_der = IdpCertificate::from_pem_or_der(from_pem.der()).unwrap();
    assert_eq!(from_pem, from_der);
    assert!(IdpCertificate::from_pem_or_der(b"not a certificate").is_err());
    assert!(IdpCertificate::from_pem_or_der(&from_pem.der()[..100]).is_err());
    assert!(IdpCertificate::from_der(&vec![0x30; 70_000]).is_err());
}

proptest! {
    /// The fuzz harness of `fuzz/fuzz_targets/profile_document.rs`, on stable.
    #[test]
    fn any_text_gives_settings_or_an_error(text in "\\PC{0,512}") {
        let _ = ProfileSettings::from_json(&text);
        let _ = ProfileSettings::from_toml(&text);
    }

    /// Mutations of a valid document: every one gives settings or an error naming a path.
    #[test]
    fn mutated_documents_never_panic(cut in 0usize..200, byte in any::<u8>(), at in 0usize..200) {
        let doc = r#"{"name":"x","signing_key":{"crypto_profiles":["software"],"key":{"algorithm":"ecdsa","curve_type":"brainpool-t","key_length":384},"sad_expiry":{"value":5,"unit":"minutes"}}}"#;
        let mut bytes = doc.as_bytes().to_vec();
        if at < bytes.len() { bytes[at] = byte; }
        bytes.truncate(cut.max(1).min(bytes.len()));
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Err(e) = ProfileSettings::from_json(text)
        {
            let is_parse_error = matches!(e, ProfileError::Parse { .. });
            prop_assert!(is_parse_error, "{}", e);
        }
    }
}
