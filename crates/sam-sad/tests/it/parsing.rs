//! Parsers survive any input, and any change to a signed SAD is refused.

use proptest::prelude::*;
use sam_sad::{SadFormat, peek_issuer, verify_sad};

use crate::fixtures::{Expected, p256_device, sad};

proptest! {
    /// The fuzz harness of `fuzz/fuzz_targets/sad_der.rs` and `sad_jws.rs`, on stable.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = peek_issuer(&bytes, SadFormat::Der);
        let _ = peek_issuer(&bytes, SadFormat::Json);
    }

    #[test]
    fn arbitrary_jws_shaped_text_never_panics(text in "[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,400}\\.[A-Za-z0-9_-]{0,100}") {
        let _ = peek_issuer(text.as_bytes(), SadFormat::Json);
    }
}

#[test]
fn every_single_bit_flip_of_a_signed_sad_is_refused() {
    let (signer, key) = p256_device();
    let e = Expected::new();
    let der = signer.sign_der(&sad()).unwrap();
    let jws = signer.sign_jws(&sad()).unwrap().into_bytes();
    for (encoded, encoding) in [(der, SadFormat::Der), (jws, SadFormat::Json)] {
        assert!(verify_sad(&encoded, encoding, &key, &e.get()).is_ok());
        for bit in 0..encoded.len() * 8 {
            let mut flipped = encoded.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                verify_sad(&flipped, encoding, &key, &e.get()).is_err(),
                "{encoding:?}: bit {bit} flipped still verifies"
            );
        }
        // Truncations too.
        for cut in 0..encoded.len() {
            assert!(verify_sad(&encoded[..cut], encoding, &key, &e.get()).is_err());
        }
    }
}
