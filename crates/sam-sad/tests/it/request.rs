//! The authorisation request message: canonical, bounded, and answered by a SAD that
//! verifies against it.

use proptest::prelude::*;
use sam_algorithms::{HashAlgorithm, UnixTime};
use sam_sad::{AuthorisationRequest, DocumentToSign, Id128, SadFormat, SadMode, verify_sad};

use crate::fixtures::{Expected, ISSUED, p256_device};

pub(crate) fn request() -> AuthorisationRequest {
    AuthorisationRequest {
        request_id: Id128::from_bytes([2; 16]),
        client: "bank-app".parse().unwrap(),
        subject: "alice@example.org".parse().unwrap(),
        key_id: "alice-sign-1".parse().unwrap(),
        profile_id: 7,
        hash_algorithm: HashAlgorithm::Sha256,
        documents: vec![
            DocumentToSign {
                label: "Contract.pdf".into(),
                hash: HashAlgorithm::Sha256.digest(b"contract.pdf"),
            },
            DocumentToSign {
                label: "Annex Ä.pdf".into(),
                hash: HashAlgorithm::Sha256.digest(b"annex.pdf"),
            },
        ],
        num_signatures: 2,
        mode: SadMode::Transaction,
        description: Some("Loan agreement\nand annex".into()),
        created_at: UnixTime::from_secs(ISSUED - 60).unwrap(),
        expires_at: UnixTime::from_secs(ISSUED + 240).unwrap(),
    }
}

#[test]
fn the_canonical_encoding_round_trips_and_is_unique() {
    let r = request();
    let der = r.to_der().unwrap();
    assert_eq!(AuthorisationRequest::from_der(&der).unwrap(), r);
    assert_eq!(
        r.digest(HashAlgorithm::Sha256).unwrap(),
        HashAlgorithm::Sha256.digest(&der)
    );
    // A non-canonical encoding of the same value (its length with a needless leading zero
    // byte) is refused.
    let (len_bytes, header) = if der[1] & 0x80 == 0 {
        (vec![der[1]], 2)
    } else {
        let n = usize::from(der[1] & 0x7f);
        (der[2..2 + n].to_vec(), 2 + n)
    };
    let mut padded = vec![0x30, 0x80 | (len_bytes.len() as u8 + 1), 0x00];
    padded.extend_from_slice(&len_bytes);
    padded.extend_from_slice(&der[header..]);
    assert_ne!(padded, der);
    assert!(AuthorisationRequest::from_der(&padded).is_err());
}

#[test]
fn bounds_and_consistency() {
    let mut r = request();
    r.documents.clear();
    assert!(r.to_der().is_err());
    // A seal may name no documents (they come with each batch), and round-trips so.
    r.mode = SadMode::Seal;
    let der = r.to_der().unwrap();
    assert_eq!(AuthorisationRequest::from_der(&der).unwrap(), r);
    let mut r = request();
    r.documents[0].label = "two\nlines".into();
    assert!(r.to_der().is_err());
    let mut r = request();
    r.documents[0].label = "x".repeat(256);
    assert!(r.to_der().is_ok());
    r.documents[0].label = "x".repeat(257);
    assert!(r.to_der().is_err());
    let mut r = request();
    r.documents[1].hash = HashAlgorithm::Sha384.digest(b"annex.pdf");
    assert!(r.to_der().is_err());
    let mut r = request();
    r.expires_at = r.created_at;
    assert!(r.to_der().is_err());
}

#[test]
fn the_answer_verifies_against_the_request() {
    let (signer, key) = p256_device();
    let r = request();
    let sad = r
        .answer(
            Id128::from_bytes([1; 16]),
            "device:phone-1".parse().unwrap(),
            "sam.example.org".parse().unwrap(),
            UnixTime::from_secs(ISSUED).unwrap(),
            300,
        )
        .unwrap();
    assert_eq!(sad, crate::fixtures::sad());
    let jws = signer.sign_jws(&sad).unwrap();
    assert!(
        verify_sad(
            jws.as_bytes(),
            SadFormat::Json,
            &key,
            &Expected::new().get()
        )
        .is_ok()
    );
}

proptest! {
    /// The fuzz harness of `fuzz/fuzz_targets/authorisation_request.rs`, on stable.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = AuthorisationRequest::from_der(&bytes);
    }

    #[test]
    fn single_byte_changes_never_panic(index in 0usize..400, byte in any::<u8>()) {
        let mut der = request().to_der().unwrap();
        let i = index % der.len();
        der[i] = byte;
        if let Ok(r) = AuthorisationRequest::from_der(&der) {
            prop_assert_eq!(r.to_der().unwrap(), der);
        }
    }
}
