//! The KAK gate: every use of a key needs a fresh authorisation signed by that key's KAK.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaKeySize, RsaPadding, UnixTime};
use sam_token::{
    Activation, Clock, CryptoToken, KakGate, KeyId, KeyLocation, KeyRecord, MasterKey,
    SoftwareToken, ToBeSigned, TokenError,
};

use crate::fixtures::issuer;

#[derive(Clone)]
struct SteppedClock(Arc<AtomicI64>);

impl Clock for SteppedClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

const START: i64 = 1_795_000_000;

fn gate() -> (KakGate<SoftwareToken>, Arc<AtomicI64>) {
    let time = Arc::new(AtomicI64::new(START));
    let gate = KakGate::new(
        SoftwareToken::new("cp5-like", MasterKey::generate().unwrap()),
        MasterKey::generate().unwrap(),
        RsaKeySize::Bits2048,
        Box::new(SteppedClock(Arc::clone(&time))),
    );
    (gate, time)
}

fn key(gate: &KakGate<SoftwareToken>, id: &str) -> KeyRecord {
    gate.generate(
        KeyId::new(id).unwrap(),
        KeySpec::Ecdsa(EcCurve::P256),
        KeyLocation::Default,
    )
    .unwrap()
}

fn activation(key: &KeyRecord, text: &str) -> (Activation, [ToBeSigned<'static>; 1]) {
    let digest = HashAlgorithm::Sha256.digest(text.as_bytes());
    (
        issuer().activate(key.key_id.clone(), vec![digest]),
        [ToBeSigned::Digest(digest)],
    )
}

fn refusal(result: Result<Vec<Vec<u8>>, TokenError>) -> String {
    match result {
        Err(TokenError::KakRefused { reason, .. }) => reason,
        other => panic!("expected a KAK refusal, got {other:?}"),
    }
}

#[test]
fn an_authorised_use_signs_and_the_record_carries_the_kak() {
    let (gate, _) = gate();
    assert!(gate.capabilities().needs_kak);
    let key = key(&gate, "alice");
    let kak = key.kak.as_ref().expect("a KAK is bound");
    assert!(!kak.public_key_der.is_empty() && kak.binding_tag.len() == 32);
    let (mut act, inputs) = activation(&key, "approved");
    let auth = gate.authorise(&key, &act, 60).unwrap();
    act.attach_kak_authorisation(auth);
    let sig = gate
        .sign(&key, &act, RsaPadding::Pkcs1v15, &inputs)
        .unwrap();
    sam_token::verify::verify(
        &key.public_key_der,
        key.spec,
        RsaPadding::Pkcs1v15,
        &inputs[0],
        &sig[0],
    )
    .unwrap();
}

#[test]
fn through_the_token_trait_the_gate_authorises_and_plain_tokens_need_nothing() {
    let (gate, _) = gate();
    let key = key(&gate, "dyn");
    let (mut act, inputs) = activation(&key, "approved");
    let token: &dyn CryptoToken = &gate;
    let auth = token
        .authorise_key_use(&key, &act)
        .unwrap()
        .expect("a KAK-gated token authorises the use");
    act.attach_kak_authorisation(auth);
    token
        .sign(&key, &act, RsaPadding::Pkcs1v15, &inputs)
        .unwrap();
    // The authorisation covers exactly this activation: another digest is refused.
    let (other, other_inputs) = activation(&key, "something else");
    let mut other = other;
    other.attach_kak_authorisation(token.authorise_key_use(&key, &act).unwrap().unwrap());
    let reason = refusal(gate.sign(&key, &other, RsaPadding::Pkcs1v15, &other_inputs));
    assert!(reason.contains("other digests"), "{reason}");

    let plain = SoftwareToken::new("software", MasterKey::generate().unwrap());
    let plain_key = plain
        .generate(
            KeyId::new("plain").unwrap(),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    let (act, _) = activation(&plain_key, "approved");
    assert!(plain.authorise_key_use(&plain_key, &act).unwrap().is_none());
}

#[test]
fn no_authorisation_no_signature() {
    let (gate, _) = gate();
    let key = key(&gate, "bob");
    let (act, inputs) = activation(&key, "approved");
    let reason = refusal(gate.sign(&key, &act, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("no KAK authorisation"), "{reason}");
}

#[test]
fn an_authorisation_is_used_once() {
    let (gate, _) = gate();
    let key = key(&gate, "carol");
    let (mut act, inputs) = activation(&key, "approved");
    act.attach_kak_authorisation(gate.authorise(&key, &act, 60).unwrap());
    gate.sign(&key, &act, RsaPadding::Pkcs1v15, &inputs)
        .unwrap();
    let reason = refusal(gate.sign(&key, &act, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("used before"), "{reason}");
}

#[test]
fn an_authorisation_expires_to_the_second() {
    let (gate, time) = gate();
    let key = key(&gate, "dave");
    let (mut act, inputs) = activation(&key, "approved");
    act.attach_kak_authorisation(gate.authorise(&key, &act, 60).unwrap());
    time.store(START + 60, Ordering::SeqCst);
    let reason = refusal(gate.sign(&key, &act, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("expired"), "{reason}");
    // One second earlier the same authorisation is still valid: the refused attempt did not
    // spend its nonce, only a use that passes every check does.
    time.store(START + 59, Ordering::SeqCst);
    gate.sign(&key, &act, RsaPadding::Pkcs1v15, &inputs)
        .unwrap();
    for bad in [0, -1, sam_token::kak::MAX_AUTHORISATION_SECS + 1] {
        assert!(gate.authorise(&key, &act, bad).is_err(), "{bad}");
    }
    assert!(
        gate.authorise(&key, &act, sam_token::kak::MAX_AUTHORISATION_SECS)
            .is_ok()
    );
}

#[test]
fn an_authorisation_for_other_digests_is_refused() {
    let (gate, _) = gate();
    let key = key(&gate, "erin");
    let (first, _) = activation(&key, "first document");
    let auth = gate.authorise(&key, &first, 60).unwrap();
    let (mut second, inputs) = activation(&key, "second document");
    second.attach_kak_authorisation(auth);
    let reason = refusal(gate.sign(&key, &second, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("other digests"), "{reason}");
}

#[test]
fn an_authorisation_signed_by_another_kak_is_refused() {
    let (gate, _) = gate();
    let alice = key(&gate, "alice2");
    let mallory = key(&gate, "mallory");
    let (mut act, inputs) = activation(&alice, "approved");
    // Mallory's KAK signs an authorisation naming Alice's key and digests.
    let mut forged = gate.authorise(&mallory, &act, 60).unwrap();
    forged.key_id = alice.key_id.clone();
    act.attach_kak_authorisation(forged);
    let reason = refusal(gate.sign(&alice, &act, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("not signed by this key's KAK"), "{reason}");
    // Nor can Mallory's KAK be put into Alice's stored record.
    let mut swapped = alice.clone();
    swapped.kak = mallory.kak.clone();
    let reason = refusal(gate.sign(&swapped, &act, RsaPadding::Pkcs1v15, &inputs));
    assert!(reason.contains("not the one bound"), "{reason}");
    assert!(gate.authorise(&swapped, &act, 60).is_err());
}

#[test]
fn the_gate_works_over_a_pkcs11_token_too() {
    let _hsm = crate::fixtures::hsm_lock();
    let hsm = sam_token::Pkcs11Token::open(sam_token::Pkcs11Config {
        name: "softhsm-kak".into(),
        module: std::env::var("SAM_TEST_SOFTHSM_MODULE")
            .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into())
            .into(),
        slot: sam_token::pkcs11::SlotSelector::Label("sam-main".into()),
        pin: sam_token::pkcs11::PinSource::Value(zeroize::Zeroizing::new("123456".into())),
        signature_slot: None,
        pin_policy: None,
        storage: sam_token::pkcs11::KeyStorage::Resident,
    })
    .unwrap();
    let gate = KakGate::new(
        hsm,
        MasterKey::generate().unwrap(),
        RsaKeySize::Bits3072,
        Box::new(sam_token::SystemClock),
    );
    let id = format!("kak-hsm-{}", std::process::id());
    let key = gate
        .generate(
            KeyId::new(id).unwrap(),
            KeySpec::Rsa(RsaKeySize::Bits2048),
            KeyLocation::Default,
        )
        .unwrap();
    let (mut act, inputs) = {
        let digest = HashAlgorithm::Sha384.digest(b"hsm document");
        (
            issuer().activate(key.key_id.clone(), vec![digest]),
            [ToBeSigned::Digest(digest)],
        )
    };
    assert!(matches!(
        gate.sign(&key, &act, RsaPadding::Pss, &inputs),
        Err(TokenError::KakRefused { .. })
    ));
    act.attach_kak_authorisation(gate.authorise(&key, &act, 30).unwrap());
    let sig = gate.sign(&key, &act, RsaPadding::Pss, &inputs).unwrap();
    assert!(crate::fixtures::openssl_verify(
        &key,
        RsaPadding::Pss,
        &inputs[0],
        &sig[0]
    ));
    gate.delete(&key).unwrap();
}
