//! Pools: configuration checks, balancing, and failover with real SoftHSM2 tokens.

use std::sync::Arc;

use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};
use sam_token::pkcs11::{KeyStorage, PinSource, SlotSelector};
use sam_token::{
    CryptoToken, KeyId, KeyLocation, KeyRecord, MasterKey, Pkcs11Config, Pkcs11Token,
    SoftwareToken, ToBeSigned, TokenError, TokenPool,
};
use zeroize::Zeroizing;

use crate::fixtures::{issuer, openssl_verify};

fn software(name: &str, key: [u8; 32]) -> Arc<dyn CryptoToken> {
    Arc::new(SoftwareToken::new(name, MasterKey::from_bytes(key)))
}

fn sign_once(pool: &TokenPool, key: &KeyRecord, n: u8) -> Vec<u8> {
    let input = ToBeSigned::Digest(HashAlgorithm::Sha256.digest(&[n]));
    let activation = issuer().activate(key.key_id.clone(), vec![input.digest()]);
    let sig = pool
        .sign(
            key,
            &activation,
            RsaPadding::Pkcs1v15,
            std::slice::from_ref(&input),
        )
        .unwrap()
        .remove(0);
    assert!(openssl_verify(key, RsaPadding::Pkcs1v15, &input, &sig));
    sig
}

fn served(pool: &TokenPool) -> Vec<u64> {
    pool.status().iter().map(|m| m.served).collect()
}

#[test]
fn software_tokens_sharing_a_master_key_pool_and_balance() {
    let pool =
        TokenPool::new("pool", vec![software("a", [3; 32]), software("b", [3; 32])]).unwrap();
    let key = pool
        .generate(
            KeyId::new("pooled").unwrap(),
            KeySpec::Ecdsa(EcCurve::P256),
            KeyLocation::Default,
        )
        .unwrap();
    for n in 0..10 {
        sign_once(&pool, &key, n);
    }
    let served = served(&pool);
    assert_eq!(
        served.iter().sum::<u64>(),
        11,
        "10 signatures and one generation"
    );
    assert!(
        served.iter().all(|&s| s >= 4),
        "both members serve: {served:?}"
    );
}

#[test]
fn pools_refuse_mixed_key_domains_kinds_and_resident_keys() {
    let _hsm = crate::fixtures::hsm_lock();
    let err =
        TokenPool::new("p", vec![software("a", [3; 32]), software("b", [4; 32])]).unwrap_err();
    assert!(err.to_string().contains("share one master key"), "{err}");
    let err = TokenPool::new("p", vec![software("a", [3; 32])]).unwrap_err();
    assert!(err.to_string().contains("at least two"), "{err}");

    let hsm: Arc<dyn CryptoToken> = Arc::new(pool_member("sam-pool-a", "555555", None));
    let err = TokenPool::new("p", vec![Arc::clone(&hsm), software("b", [3; 32])]).unwrap_err();
    assert!(err.to_string().contains("resident keys"), "{err}");
    let wrapped: Arc<dyn CryptoToken> =
        Arc::new(pool_member("sam-pool-a", "555555", Some("mixed-wrap")));
    let err = TokenPool::new("p", vec![software("b", [3; 32]), wrapped]).unwrap_err();
    assert!(err.to_string().contains("of one type"), "{err}");
}

fn pool_member(label: &str, pin: &str, wrapping_key: Option<&str>) -> Pkcs11Token {
    Pkcs11Token::open(Pkcs11Config {
        name: label.into(),
        module: std::env::var("SAM_TEST_SOFTHSM_MODULE")
            .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into())
            .into(),
        slot: SlotSelector::Label(label.into()),
        pin: PinSource::Value(Zeroizing::new(pin.into())),
        signature_slot: None,
        pin_policy: None,
        storage: wrapping_key.map_or(KeyStorage::Resident, |w| KeyStorage::Wrapped {
            wrapping_key: w.into(),
        }),
    })
    .unwrap()
}

#[test]
fn a_pool_of_two_hsms_keeps_signing_when_one_loses_its_key_and_takes_it_back() {
    let _hsm = crate::fixtures::hsm_lock();
    let a = Arc::new(pool_member("sam-pool-a", "555555", Some("pool-wrap")));
    let b = Arc::new(pool_member("sam-pool-b", "777777", Some("pool-wrap")));
    let mut value = Zeroizing::new([0u8; 32]);
    getrandom::fill(value.as_mut_slice()).unwrap();
    a.import_wrapping_key(KeyLocation::Default, "pool-wrap", &value)
        .unwrap();
    b.import_wrapping_key(KeyLocation::Default, "pool-wrap", &value)
        .unwrap();
    let pool = TokenPool::new(
        "hsm-pool",
        vec![
            Arc::clone(&a) as Arc<dyn CryptoToken>,
            Arc::clone(&b) as Arc<dyn CryptoToken>,
        ],
    )
    .unwrap();
    assert!(
        pool.capabilities()
            .supports(KeySpec::Ecdsa(EcCurve::BrainpoolP256r1))
    );
    let key = pool
        .generate(
            KeyId::new("pool-key").unwrap(),
            KeySpec::Ecdsa(EcCurve::P384),
            KeyLocation::Default,
        )
        .unwrap();

    // Both up: both serve.
    for n in 0..8 {
        sign_once(&pool, &key, n);
    }
    let both = served(&pool);
    assert!(both.iter().all(|&s| s >= 3), "{both:?}");

    // B loses its wrapping key (an HSM wiped or decommissioned): every signature still comes,
    // from A, and B is marked unhealthy.
    b.delete_wrapping_key(KeyLocation::Default, "pool-wrap")
        .unwrap();
    for n in 8..16 {
        sign_once(&pool, &key, n);
    }
    let status = pool.status();
    assert!(!status[1].healthy, "{status:?}");
    assert_eq!(
        status[1].served, both[1],
        "B served nothing while down: {status:?}"
    );
    let health = pool.check_health();
    assert!(
        matches!(health[1].1, sam_token::Health::Unavailable(_)),
        "{health:?}"
    );
    assert_eq!(pool.health(), sam_token::Health::Healthy, "A still serves");

    // B gets the key back (restored from backup): a health check brings it back into use.
    b.import_wrapping_key(KeyLocation::Default, "pool-wrap", &value)
        .unwrap();
    assert_eq!(pool.check_health()[1].1, sam_token::Health::Healthy);
    let before = pool.status()[1].served;
    for n in 16..24 {
        sign_once(&pool, &key, n);
    }
    assert!(pool.status()[1].served >= before + 3, "{:?}", pool.status());

    // Refusals every member would repeat are not retried.
    let input = ToBeSigned::Digest(HashAlgorithm::Sha256.digest(b"not activated"));
    let activation = issuer().activate(
        key.key_id.clone(),
        vec![HashAlgorithm::Sha256.digest(b"other")],
    );
    let err = pool
        .sign(
            &key,
            &activation,
            RsaPadding::Pkcs1v15,
            std::slice::from_ref(&input),
        )
        .unwrap_err();
    assert!(matches!(err, TokenError::NotActivated(_)), "{err}");
    assert!(pool.status().iter().all(|m| m.healthy));
}
