//! Any bytes as an OCSP response, a CRL or `SignedData` with revocation values: parsed or
//! refused, never a panic.
#![no_main]

use der::Decode;
use libfuzzer_sys::fuzz_target;
use sam_cms::ocsp::{BasicOcspResponse, OcspResponse};
use sam_cms::signed_data::SignedData;

fuzz_target!(|data: &[u8]| {
    let _ = OcspResponse::from_der(data);
    let _ = BasicOcspResponse::from_der(data);
    let _ = <x509_cert::crl::CertificateList>::from_der(data);
    let _ = SignedData::from_der(data);
});
