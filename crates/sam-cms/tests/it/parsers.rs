//! The parsers are total: arbitrary bytes and mutations of valid inputs give results or
//! errors, never panics (the same harnesses as the cargo-fuzz targets in `fuzz/`).

use std::sync::OnceLock;

use der::Decode;
use proptest::prelude::*;
use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding, UnixTime};
use sam_cms::timestamp::TimeStampResp;
use sam_cms::{
    Content, Detached, Format, PreparedState, Services, SignatureRequest, TimeStampToken, prepare,
    sign, verify,
};

use crate::fixtures::Signer;

struct Samples {
    signature: Vec<u8>,
    state: Vec<u8>,
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let signer = Signer::new(
            KeySpec::Ecdsa(EcCurve::P256),
            HashAlgorithm::Sha256,
            RsaPadding::Pkcs1v15,
        );
        let request = SignatureRequest::new(
            Format::CadesBB,
            signer.algorithm,
            Content::Attached(b"content"),
            vec![signer.certificate.clone()],
            UnixTime::parse_rfc3339("2026-11-22T14:00:00Z").unwrap(),
        );
        Samples {
            signature: sign(&request, &signer.local(), &Services::none()).unwrap(),
            state: prepare(&request).unwrap().state.to_der().unwrap(),
        }
    })
}

fn mutate(base: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, value) in edits {
        let i = at % out.len();
        out[i] = *value;
    }
    out.truncate(out.len() - cut % out.len());
    out
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = verify(&data, &Detached::None);
        let _ = PreparedState::from_der(&data);
        let _ = TimeStampResp::from_der(&data);
        let _ = TimeStampToken::from_der(&data);
        let _ = sam_cms::csr::verify_csr(&data);
        let _ = sam_cms::ocsp::OcspResponse::from_der(&data);
        let _ = sam_cms::ocsp::BasicOcspResponse::from_der(&data);
        let _ = sam_cms::signed_data::SignedData::from_der(&data);
    }

    #[test]
    fn mutated_signatures_and_states_never_panic_and_never_verify_changed_content(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in 0usize..64,
    ) {
        let s = samples();
        let changed = mutate(&s.signature, &edits, cut);
        if let Ok(found) = verify(&changed, &Detached::None) {
            // Whatever still verifies still carries the signed content.
            prop_assert_eq!(found.content.as_deref(), Some(&b"content"[..]));
        }
        let state = mutate(&s.state, &edits, cut);
        if let Ok(state) = PreparedState::from_der(&state) {
            let _ = state.to_be_signed();
        }
    }
}
