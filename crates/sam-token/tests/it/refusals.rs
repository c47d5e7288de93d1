//! What a token must refuse, each with its own error, signing nothing.

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_token::{
    ActivationIssuer, ActivationRefusal, CryptoToken, KeyId, KeyLocation, KeyRecord, KeyReference,
    MasterKey, SoftwareToken, ToBeSigned, TokenError,
};

use crate::fixtures::issuer;

fn setup() -> (SoftwareToken, KeyRecord) {
    let token = SoftwareToken::new("software", MasterKey::generate().unwrap());
    let key = token
        .generate(
            KeyId::new("alice-1").unwrap(),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    (token, key)
}

fn digest(text: &str) -> sam_algorithms::Digest {
    HashAlgorithm::Sha256.digest(text.as_bytes())
}

#[test]
fn a_digest_outside_the_activation_is_refused() {
    let (token, key) = setup();
    let activation = issuer().activate(
        key.key_id.clone(),
        vec![digest("approved"), digest("also approved")],
    );
    let err = token
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[
                ToBeSigned::Digest(digest("approved")),
                ToBeSigned::Digest(digest("smuggled")),
            ],
        )
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::NotActivated(ActivationRefusal::DigestNotAllowed { index: 1 })
    );
    // The same hash under another algorithm is another digest.
    let sha384 = HashAlgorithm::Sha384.digest(b"approved");
    assert!(
        token
            .sign(
                &key,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(sha384)]
            )
            .is_err()
    );
}

#[test]
fn more_inputs_than_activated_digests_are_refused() {
    let (token, key) = setup();
    let d = digest("approved");
    let activation = issuer().activate(key.key_id.clone(), vec![d]);
    let err = token
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d), ToBeSigned::Digest(d)],
        )
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::NotActivated(ActivationRefusal::TooMany {
            requested: 2,
            allowed: 1
        })
    );
}

#[test]
fn an_activation_for_another_key_is_refused() {
    let (token, key) = setup();
    let other = token
        .generate(
            KeyId::new("bob-1").unwrap(),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    let d = digest("approved");
    let activation = issuer().activate(other.key_id.clone(), vec![d]);
    let err = token
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d)],
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::NotActivated(ActivationRefusal::OtherKey { .. })
        ),
        "{err}"
    );
}

#[test]
fn a_second_issuer_cannot_be_taken() {
    let _ = issuer();
    assert!(ActivationIssuer::take().is_none());
}

#[test]
fn a_tampered_wrapped_key_is_refused() {
    let (token, key) = setup();
    let d = digest("approved");
    let activation = issuer().activate(key.key_id.clone(), vec![d]);
    let KeyReference::SoftwareWrapped(blob) = &key.reference else {
        unreachable!()
    };
    for i in [0, 5, blob.len() / 2, blob.len() - 1] {
        let mut bad = blob.clone();
        bad[i] ^= 0x80;
        let tampered = KeyRecord {
            reference: KeyReference::SoftwareWrapped(bad),
            ..key.clone()
        };
        let err = token
            .sign(
                &tampered,
                &activation,
                RsaPadding::Pkcs1v15,
                &[ToBeSigned::Digest(d)],
            )
            .unwrap_err();
        assert_eq!(
            err,
            TokenError::Unwrap {
                key_id: "alice-1".into()
            }
        );
    }
}

#[test]
fn a_wrapped_key_moved_to_another_id_or_spec_is_refused() {
    let (token, key) = setup();
    let d = digest("approved");
    let renamed = KeyRecord {
        key_id: KeyId::new("mallory-1").unwrap(),
        ..key.clone()
    };
    let activation = issuer().activate(renamed.key_id.clone(), vec![d]);
    let err = token
        .sign(
            &renamed,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d)],
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::Unwrap { .. }), "{err}");
    let respecced = KeyRecord {
        spec: KeySpec::Ecdsa(EcCurve::Secp256k1),
        ..key.clone()
    };
    let activation = issuer().activate(key.key_id.clone(), vec![d]);
    let err = token
        .sign(
            &respecced,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d)],
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::Unwrap { .. }), "{err}");
}

#[test]
fn a_wrong_master_key_is_refused() {
    let (_, key) = setup();
    let other = SoftwareToken::new("software", MasterKey::generate().unwrap());
    let d = digest("approved");
    let activation = issuer().activate(key.key_id.clone(), vec![d]);
    let err = other
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d)],
        )
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::Unwrap {
            key_id: "alice-1".into()
        }
    );
}

#[test]
fn a_restored_master_key_opens_the_keys() {
    let master = MasterKey::generate().unwrap();
    let backup = master.export("a long enough passphrase").unwrap();
    let token = SoftwareToken::new("software", master);
    let key = token
        .generate(
            KeyId::new("carol-1").unwrap(),
            KeySpec::Ecdsa(EcCurve::P384),
            KeyLocation::Default,
        )
        .unwrap();
    let restored = SoftwareToken::new(
        "software",
        MasterKey::import(&backup, "a long enough passphrase").unwrap(),
    );
    assert_eq!(
        restored.master_key_fingerprint(),
        token.master_key_fingerprint()
    );
    let d = HashAlgorithm::Sha384.digest(b"after the restore");
    let activation = issuer().activate(key.key_id.clone(), vec![d]);
    let sig = restored
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            &[ToBeSigned::Digest(d)],
        )
        .unwrap();
    sam_token::verify::verify(
        &key.public_key_der,
        key.spec,
        RsaPadding::Pkcs1v15,
        &ToBeSigned::Digest(d),
        &sig[0],
    )
    .unwrap();
}

#[test]
fn master_key_files_must_be_private() {
    let dir = crate::fixtures::TempDir::new("mk");
    let key = MasterKey::generate().unwrap();
    let path = dir.file("master.key", key.to_hex().as_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::from_file(path.as_ref()).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let loaded = MasterKey::from_file(path.as_ref()).unwrap();
    assert_eq!(loaded.fingerprint(), key.fingerprint());
    assert!(MasterKey::from_env("SAM_TEST_SURELY_UNSET_VARIABLE").is_err());
}

#[test]
fn messages_are_refused_for_rsa_and_ecdsa() {
    let (token, key) = setup();
    let input = ToBeSigned::Message {
        data: b"raw message".as_slice().into(),
        bound_by: HashAlgorithm::Sha256,
    };
    let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
    let err = token
        .sign(&key, &activation, RsaPadding::Pkcs1v15, &[input])
        .unwrap_err();
    assert!(matches!(err, TokenError::Input(_)), "{err}");
}
