//! Any bytes as the input of `sam-pkcs11`'s raw mechanisms (a DigestInfo for `CKM_RSA_PKCS`,
//! a digest for `CKM_ECDSA`) and as samd's ECDSA signature to re-encode as r‖s: a digest of
//! the profile's hash or a refusal, never a panic; an r‖s is always the curve's length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding};
use sam_pkcs11::mechanism::{KeyProfile, SignMechanism, SignOperation};

fuzz_target!(|data: &[u8]| {
    let rsa = KeyProfile {
        spec: KeySpec::Rsa(RsaKeySize::from_bits(2048).expect("a size sam has")),
        hash: HashAlgorithm::Sha256,
        padding: RsaPadding::Pkcs1v15,
    };
    let ec = KeyProfile {
        spec: KeySpec::Ecdsa(EcCurve::P384),
        hash: HashAlgorithm::Sha384,
        padding: RsaPadding::Pkcs1v15,
    };
    for (profile, mechanism) in [(rsa, SignMechanism::RsaPkcs), (ec, SignMechanism::Ecdsa)] {
        let mut operation = SignOperation::new(profile, mechanism);
        if operation.update(data).is_ok()
            && let Ok(digest) = operation.digest()
        {
            assert_eq!(digest.algorithm(), profile.hash);
        }
    }
    if let Ok(raw) = ec.encode_signature(data) {
        assert_eq!(raw.len(), ec.signature_len());
    }
});
