//! Any bytes as a DER `AlgorithmIdentifier`: a signature algorithm or an error, never a
//! panic; a recognised algorithm re-encodes to the canonical form, which decodes to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sam_algorithms::SignatureAlgorithm;

fuzz_target!(|data: &[u8]| {
    if let Ok(alg) = SignatureAlgorithm::from_der(data) {
        let der = alg.to_der().expect("known algorithms encode");
        assert_eq!(SignatureAlgorithm::from_der(&der).ok(), Some(alg));
    }
});
