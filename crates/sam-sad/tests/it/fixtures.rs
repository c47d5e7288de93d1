//! A SAD, its signer, and matching expectations.

use sam_algorithms::{Digest, EcCurve, HashAlgorithm, KeySpec, RsaPadding, UnixTime};
use sam_keys::SigningKey;
use sam_sad::{
    AuthMethod, Expectations, Id128, InstanceId, Issuer, IssuerKey, KeyRef, Sad, SadMode,
    SadSigner, Scal, UserId,
};

pub(crate) const ISSUED: i64 = 1_795_000_000;

pub(crate) fn hashes() -> Vec<Digest> {
    vec![
        HashAlgorithm::Sha256.digest(b"contract.pdf"),
        HashAlgorithm::Sha256.digest(b"annex.pdf"),
    ]
}

pub(crate) fn sad() -> Sad {
    Sad {
        sad_id: Id128::from_bytes([1; 16]),
        request_id: Id128::from_bytes([2; 16]),
        issuer: "device:phone-1".parse().unwrap(),
        subject: "alice@example.org".parse().unwrap(),
        audience: "sam.example.org".parse().unwrap(),
        key_id: "alice-sign-1".parse().unwrap(),
        profile_id: 7,
        scal: Scal::Scal2,
        hash_algorithm: HashAlgorithm::Sha256,
        hashes: hashes(),
        num_signatures: 2,
        mode: SadMode::Transaction,
        auth_method: AuthMethod::Device,
        assertion: None,
        issued_at: UnixTime::from_secs(ISSUED).unwrap(),
        expires_at: UnixTime::from_secs(ISSUED + 300).unwrap(),
    }
}

/// A device key of `spec`, its signer (with `hash` and `padding`) and its registration.
pub(crate) fn device(
    spec: KeySpec,
    hash: HashAlgorithm,
    padding: RsaPadding,
) -> (SadSigner, IssuerKey) {
    let key = SigningKey::generate(spec).unwrap();
    let signer = SadSigner::new(key, hash, padding);
    let registered = IssuerKey {
        issuer: "device:phone-1".parse().unwrap(),
        spki_der: signer.public_key_der().unwrap(),
        spec,
        padding,
    };
    (signer, registered)
}

pub(crate) fn p256_device() -> (SadSigner, IssuerKey) {
    device(
        KeySpec::Ecdsa(EcCurve::P256),
        HashAlgorithm::Sha256,
        RsaPadding::Pkcs1v15,
    )
}

pub(crate) struct Expected {
    pub(crate) audience: InstanceId,
    pub(crate) subject: UserId,
    pub(crate) key_id: KeyRef,
    pub(crate) hashes: Vec<Digest>,
    pub(crate) now: i64,
    pub(crate) tolerance: u32,
    pub(crate) signature_hash: HashAlgorithm,
    pub(crate) request_id: Id128,
    pub(crate) profile_id: u32,
    pub(crate) scal: Scal,
}

impl Expected {
    pub(crate) fn new() -> Self {
        let sad = sad();
        Self {
            audience: sad.audience,
            subject: sad.subject,
            key_id: sad.key_id,
            hashes: hashes(),
            now: ISSUED + 10,
            tolerance: 0,
            signature_hash: HashAlgorithm::Sha256,
            request_id: sad.request_id,
            profile_id: sad.profile_id,
            scal: sad.scal,
        }
    }

    pub(crate) fn get(&self) -> Expectations<'_> {
        Expectations {
            audience: &self.audience,
            request_id: self.request_id,
            subject: &self.subject,
            key_id: &self.key_id,
            profile_id: self.profile_id,
            scal: self.scal,
            signature_hash: self.signature_hash,
            hashes_to_sign: &self.hashes,
            clock_tolerance_secs: self.tolerance,
            now: UnixTime::from_secs(self.now).unwrap(),
        }
    }
}

/// The client's key, for SCAL1 and renewals.
pub(crate) fn client_issuer(key: &IssuerKey) -> IssuerKey {
    IssuerKey {
        issuer: Issuer::Client("bank-app".parse().unwrap()),
        ..key.clone()
    }
}
