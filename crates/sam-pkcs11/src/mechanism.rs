//! The signing mechanisms of a sam key, as PKCS#11 v2.40 names them (§2.1.6 `CKM_ECDSA`,
//! §2.1.7 `CKM_ECDSA_SHA*`; §2.1.6 of the RSA chapter, `CKM_RSA_PKCS`, `CKM_SHA*_RSA_PKCS`;
//! `CKM_RSA_PKCS_PSS`, `CKM_SHA*_RSA_PKCS_PSS` with `CK_RSA_PKCS_PSS_PARAMS`).
//!
//! `samd` signs one digest under the hash and padding of the key's SAM profile, so a key
//! offers exactly the mechanisms that end in that digest: the raw ones (the consumer
//! hashed), and the hashing ones of the profile's hash (the module hashes, so the data never
//! leaves the consumer's machine — only its digest does). A PSS mechanism's parameters must
//! be the profile's (hash, MGF1 with the same hash, salt as long as the hash: RFC 8017
//! §9.1 as `sam-keys` signs). ML-DSA keys offer none: an ML-DSA signature covers the
//! message, not a digest.
//!
//! Everything here is pure and total: each input is bounded, each refusal a [`Refusal`]
//! with its `CKR_*`.

use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Tagged};
use sam_algorithms::{Digest, HashAlgorithm, Hasher, KeySpec, RsaPadding};

use crate::Refusal;
use crate::ck;

/// What a key signs, from its SAM profile (Get SAM Profile's `signing_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProfile {
    /// The key.
    pub spec: KeySpec,
    /// The profile's hash algorithm: every digest `samd` signs with the key is of it.
    pub hash: HashAlgorithm,
    /// For RSA, the profile's padding.
    pub padding: RsaPadding,
}

/// The parameters of a PSS mechanism (`CK_RSA_PKCS_PSS_PARAMS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PssParams {
    /// `hashAlg`: a `CKM_SHA*` digest mechanism.
    pub hash: ck::CK_MECHANISM_TYPE,
    /// `mgf`: a `CKG_MGF1_*`.
    pub mgf: ck::CK_RSA_PKCS_MGF_TYPE,
    /// `sLen`, in bytes.
    pub salt_len: ck::CK_ULONG,
}

/// How a mechanism's input becomes the digest `samd` signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignMechanism {
    /// `CKM_ECDSA`: the input is the digest.
    Ecdsa,
    /// `CKM_ECDSA_SHA*`: the module hashes the input.
    EcdsaHashing(HashAlgorithm),
    /// `CKM_RSA_PKCS`: the input is a DER DigestInfo (RFC 8017 §9.2).
    RsaPkcs,
    /// `CKM_SHA*_RSA_PKCS`: the module hashes the input.
    RsaPkcsHashing(HashAlgorithm),
    /// `CKM_RSA_PKCS_PSS`: the input is the digest.
    RsaPss,
    /// `CKM_SHA*_RSA_PKCS_PSS`: the module hashes the input.
    RsaPssHashing(HashAlgorithm),
}

/// The longest input of a mechanism that does not hash: a DigestInfo of the longest digest
/// is 83 bytes; anything longer is not a digest.
pub const MAX_UNHASHED_INPUT: usize = 128;

/// The SHA-2 hashes with PKCS#11 v2.40 mechanisms, with `CKM_SHA*`, `CKG_MGF1_SHA*`,
/// `CKM_ECDSA_SHA*`, `CKM_SHA*_RSA_PKCS` and `CKM_SHA*_RSA_PKCS_PSS`.
const SHA2: [(
    HashAlgorithm,
    ck::CK_MECHANISM_TYPE,
    ck::CK_RSA_PKCS_MGF_TYPE,
    ck::CK_MECHANISM_TYPE,
    ck::CK_MECHANISM_TYPE,
    ck::CK_MECHANISM_TYPE,
); 4] = [
    (
        HashAlgorithm::Sha224,
        ck::CKM_SHA224,
        ck::CKG_MGF1_SHA224,
        ck::CKM_ECDSA_SHA224,
        ck::CKM_SHA224_RSA_PKCS,
        ck::CKM_SHA224_RSA_PKCS_PSS,
    ),
    (
        HashAlgorithm::Sha256,
        ck::CKM_SHA256,
        ck::CKG_MGF1_SHA256,
        ck::CKM_ECDSA_SHA256,
        ck::CKM_SHA256_RSA_PKCS,
        ck::CKM_SHA256_RSA_PKCS_PSS,
    ),
    (
        HashAlgorithm::Sha384,
        ck::CKM_SHA384,
        ck::CKG_MGF1_SHA384,
        ck::CKM_ECDSA_SHA384,
        ck::CKM_SHA384_RSA_PKCS,
        ck::CKM_SHA384_RSA_PKCS_PSS,
    ),
    (
        HashAlgorithm::Sha512,
        ck::CKM_SHA512,
        ck::CKG_MGF1_SHA512,
        ck::CKM_ECDSA_SHA512,
        ck::CKM_SHA512_RSA_PKCS,
        ck::CKM_SHA512_RSA_PKCS_PSS,
    ),
];

impl KeyProfile {
    /// The mechanisms the key signs with (`C_GetMechanismList`), raw first.
    pub fn mechanisms(&self) -> Vec<ck::CK_MECHANISM_TYPE> {
        let hashing = SHA2.iter().find(|row| row.0 == self.hash);
        match (self.spec, self.padding) {
            (KeySpec::Ecdsa(_), _) => {
                let mut out = vec![ck::CKM_ECDSA];
                out.extend(hashing.map(|row| row.3));
                out
            }
            (KeySpec::Rsa(_), RsaPadding::Pkcs1v15) => {
                let mut out = vec![ck::CKM_RSA_PKCS];
                out.extend(hashing.map(|row| row.4));
                out
            }
            (KeySpec::Rsa(_), RsaPadding::Pss) => match hashing {
                // The raw PSS mechanism names its hash in its parameters: only a SHA-2 one.
                Some(row) => vec![ck::CKM_RSA_PKCS_PSS, row.5],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// `C_GetMechanismInfo`: the key sizes (bits) and flags of `mechanism`, if the key signs
    /// with it.
    pub fn mechanism_info(
        &self,
        mechanism: ck::CK_MECHANISM_TYPE,
    ) -> Option<ck::CK_MECHANISM_INFO> {
        if !self.mechanisms().contains(&mechanism) {
            return None;
        }
        let (bits, flags) = match self.spec {
            KeySpec::Ecdsa(curve) => (
                curve.bits(),
                ck::CKF_SIGN | ck::CKF_EC_F_P | ck::CKF_EC_NAMEDCURVE | ck::CKF_EC_UNCOMPRESS,
            ),
            KeySpec::Rsa(size) => (size.bits(), ck::CKF_SIGN),
            _ => return None,
        };
        Some(ck::CK_MECHANISM_INFO {
            ulMinKeySize: ck::CK_ULONG::from(bits),
            ulMaxKeySize: ck::CK_ULONG::from(bits),
            flags,
        })
    }

    /// `C_SignInit`: `mechanism` with its PSS parameters, if it has them, checked against
    /// the key's profile.
    pub fn sign_mechanism(
        &self,
        mechanism: ck::CK_MECHANISM_TYPE,
        pss: Option<PssParams>,
    ) -> Result<SignMechanism, Refusal> {
        if !self.mechanisms().contains(&mechanism) {
            return Err(Refusal::new(
                ck::CKR_MECHANISM_INVALID,
                format!(
                    "the key ({}, profile hash {}) does not sign with mechanism 0x{mechanism:x}",
                    self.spec,
                    self.hash.name()
                ),
            ));
        }
        let hashing = SHA2.iter().find(|row| row.0 == self.hash);
        let selected = match mechanism {
            ck::CKM_ECDSA => SignMechanism::Ecdsa,
            ck::CKM_RSA_PKCS => SignMechanism::RsaPkcs,
            ck::CKM_RSA_PKCS_PSS => SignMechanism::RsaPss,
            m if hashing.is_some_and(|row| row.3 == m) => SignMechanism::EcdsaHashing(self.hash),
            m if hashing.is_some_and(|row| row.4 == m) => SignMechanism::RsaPkcsHashing(self.hash),
            _ => SignMechanism::RsaPssHashing(self.hash),
        };
        let is_pss = matches!(
            selected,
            SignMechanism::RsaPss | SignMechanism::RsaPssHashing(_)
        );
        match (is_pss, pss, hashing) {
            (false, None, _) => Ok(selected),
            (false, Some(_), _) => Err(Refusal::new(
                ck::CKR_MECHANISM_PARAM_INVALID,
                "this mechanism takes no parameters",
            )),
            (true, None, _) => Err(Refusal::new(
                ck::CKR_MECHANISM_PARAM_INVALID,
                "a PSS mechanism needs its CK_RSA_PKCS_PSS_PARAMS",
            )),
            (true, Some(params), Some(row)) => {
                let salt_len = ck::CK_ULONG::try_from(self.hash.output_len()).unwrap_or(0);
                if params.hash == row.1 && params.mgf == row.2 && params.salt_len == salt_len {
                    Ok(selected)
                } else {
                    Err(Refusal::new(
                        ck::CKR_MECHANISM_PARAM_INVALID,
                        format!(
                            "the key's profile signs PSS with {hash}, MGF1-{hash} and a \
                             {salt_len}-byte salt (hashAlg 0x{:x}, mgf 0x{:x}, sLen \
                             {salt_len}), not hashAlg 0x{:x}, mgf 0x{:x}, sLen {}",
                            row.1,
                            row.2,
                            params.hash,
                            params.mgf,
                            params.salt_len,
                            hash = self.hash.name(),
                        ),
                    ))
                }
            }
            (true, Some(_), None) => Err(Refusal::new(
                ck::CKR_MECHANISM_INVALID,
                "the key's profile hash has no PSS mechanism",
            )),
        }
    }

    /// How long the key's signatures are in PKCS#11's encoding (a `C_Sign` length query):
    /// the modulus for RSA, r‖s for ECDSA.
    pub fn signature_len(&self) -> usize {
        match self.spec {
            KeySpec::Rsa(size) => usize::try_from(size.bits()).unwrap_or(0).div_ceil(8),
            KeySpec::Ecdsa(curve) => 2 * usize::try_from(curve.bits()).unwrap_or(0).div_ceil(8),
            _ => 0,
        }
    }

    /// `samd`'s signature (ECDSA as DER `Ecdsa-Sig-Value`, RFC 3279 §2.2.3; RSA as the
    /// modulus-long octets) in PKCS#11's encoding: ECDSA as r‖s, each as long as the
    /// curve's order (PKCS#11 v2.40 §2.3.1).
    pub fn encode_signature(&self, signature: &[u8]) -> Result<Vec<u8>, Refusal> {
        let len = self.signature_len();
        let bad = |why: &str| {
            Refusal::new(
                ck::CKR_DEVICE_ERROR,
                format!("samd's signature is not one of the key's: {why}"),
            )
        };
        match self.spec {
            KeySpec::Ecdsa(_) => {
                let value = EcdsaSigValue::from_der(signature).map_err(|e| bad(&e.to_string()))?;
                let half = len / 2;
                let mut out = vec![0u8; len];
                for (int, at) in [(value.r, 0), (value.s, half)] {
                    let bytes = int.as_bytes();
                    if bytes.len() > half {
                        return Err(bad("an integer longer than the curve's order"));
                    }
                    let start = at + half - bytes.len();
                    out[start..at + half].copy_from_slice(bytes);
                }
                Ok(out)
            }
            KeySpec::Rsa(_) if signature.len() == len => Ok(signature.to_vec()),
            KeySpec::Rsa(_) => Err(bad("not as long as the modulus")),
            _ => Err(bad("no PKCS#11 mechanism for this key")),
        }
    }
}

/// RFC 3279 §2.2.3 `Ecdsa-Sig-Value`.
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// RFC 8017 §9.2 `DigestInfo`.
#[derive(der::Sequence)]
struct DigestInfo<'a> {
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    digest: &'a OctetStringRef,
}

/// One signing operation (`C_SignInit` … `C_Sign` or `C_SignUpdate`* `C_SignFinal`): the
/// input gathered, or hashed as it comes.
#[derive(Clone, Debug)]
pub struct SignOperation {
    profile: KeyProfile,
    mechanism: SignMechanism,
    input: Input,
}

#[derive(Clone, Debug)]
enum Input {
    Hashing(Box<Hasher>),
    Unhashed(Vec<u8>),
}

impl SignOperation {
    /// An operation of `mechanism` (from [`KeyProfile::sign_mechanism`]) with the key of
    /// `profile`.
    pub fn new(profile: KeyProfile, mechanism: SignMechanism) -> Self {
        let input = match mechanism {
            SignMechanism::EcdsaHashing(hash)
            | SignMechanism::RsaPkcsHashing(hash)
            | SignMechanism::RsaPssHashing(hash) => Input::Hashing(Box::new(hash.hasher())),
            SignMechanism::Ecdsa | SignMechanism::RsaPkcs | SignMechanism::RsaPss => {
                Input::Unhashed(Vec::new())
            }
        };
        Self {
            profile,
            mechanism,
            input,
        }
    }

    /// The mechanism.
    pub fn mechanism(&self) -> SignMechanism {
        self.mechanism
    }

    /// More input (`C_SignUpdate`, or all of it for `C_Sign`). A mechanism that does not
    /// hash takes at most [`MAX_UNHASHED_INPUT`] bytes.
    pub fn update(&mut self, data: &[u8]) -> Result<(), Refusal> {
        match &mut self.input {
            Input::Hashing(hasher) => hasher.update(data),
            Input::Unhashed(buffer) => {
                if buffer.len() + data.len() > MAX_UNHASHED_INPUT {
                    return Err(Refusal::new(
                        ck::CKR_DATA_LEN_RANGE,
                        format!(
                            "this mechanism signs a digest ({} bytes under the key's profile), \
                             not {} bytes",
                            self.profile.hash.output_len(),
                            buffer.len() + data.len()
                        ),
                    ));
                }
                buffer.extend_from_slice(data);
            }
        }
        Ok(())
    }

    /// The digest `samd` is to sign: the hash of the input, the input itself, or the
    /// digest of its DigestInfo — always of the key's profile's hash.
    pub fn digest(&self) -> Result<Digest, Refusal> {
        let hash = self.profile.hash;
        match &self.input {
            Input::Hashing(hasher) => Ok((**hasher).clone().finalize()),
            Input::Unhashed(input) if self.mechanism == SignMechanism::RsaPkcs => {
                let info = DigestInfo::from_der(input).map_err(|e| {
                    Refusal::new(
                        ck::CKR_DATA_INVALID,
                        format!("CKM_RSA_PKCS signs a DER DigestInfo here: {e}"),
                    )
                })?;
                let named = HashAlgorithm::from_oid(&info.algorithm.oid).map_err(|_| {
                    Refusal::new(
                        ck::CKR_DATA_INVALID,
                        format!("DigestInfo of an unknown hash {}", info.algorithm.oid),
                    )
                })?;
                if named != hash {
                    return Err(Refusal::new(
                        ck::CKR_DATA_INVALID,
                        format!(
                            "the key's profile signs {} digests, not {}",
                            hash.name(),
                            named.name()
                        ),
                    ));
                }
                if info
                    .algorithm
                    .parameters
                    .is_some_and(|p| p.tag() != der::Tag::Null || !p.value().is_empty())
                {
                    return Err(Refusal::new(
                        ck::CKR_DATA_INVALID,
                        "DigestInfo's hash parameters are other than NULL",
                    ));
                }
                digest_of(hash, info.digest.as_bytes())
            }
            Input::Unhashed(input) => digest_of(hash, input),
        }
    }
}

fn digest_of(hash: HashAlgorithm, value: &[u8]) -> Result<Digest, Refusal> {
    Digest::new(hash, value).map_err(|_| {
        Refusal::new(
            ck::CKR_DATA_LEN_RANGE,
            format!(
                "the key's profile signs {} digests ({} bytes), not {} bytes",
                hash.name(),
                hash.output_len(),
                value.len()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sam_algorithms::{EcCurve, RsaKeySize};

    fn p256() -> KeyProfile {
        KeyProfile {
            spec: KeySpec::Ecdsa(EcCurve::P256),
            hash: HashAlgorithm::Sha256,
            padding: RsaPadding::Pkcs1v15,
        }
    }

    fn rsa(padding: RsaPadding, hash: HashAlgorithm) -> KeyProfile {
        KeyProfile {
            spec: KeySpec::Rsa(RsaKeySize::from_bits(3072).unwrap()),
            hash,
            padding,
        }
    }

    fn sha256_pss() -> PssParams {
        PssParams {
            hash: ck::CKM_SHA256,
            mgf: ck::CKG_MGF1_SHA256,
            salt_len: 32,
        }
    }

    #[test]
    fn a_key_offers_the_mechanisms_that_end_in_its_profiles_digest() {
        assert_eq!(p256().mechanisms(), [ck::CKM_ECDSA, ck::CKM_ECDSA_SHA256]);
        assert_eq!(
            rsa(RsaPadding::Pkcs1v15, HashAlgorithm::Sha384).mechanisms(),
            [ck::CKM_RSA_PKCS, ck::CKM_SHA384_RSA_PKCS]
        );
        assert_eq!(
            rsa(RsaPadding::Pss, HashAlgorithm::Sha512).mechanisms(),
            [ck::CKM_RSA_PKCS_PSS, ck::CKM_SHA512_RSA_PKCS_PSS]
        );
        // A SHA-3 profile: only the raw mechanisms (PKCS#11 v2.40 has no SHA-3 ones).
        let sha3 = KeyProfile {
            hash: HashAlgorithm::Sha3_256,
            ..p256()
        };
        assert_eq!(sha3.mechanisms(), [ck::CKM_ECDSA]);
        assert!(
            rsa(RsaPadding::Pss, HashAlgorithm::Sha3_256)
                .mechanisms()
                .is_empty()
        );
        let ml_dsa = KeyProfile {
            spec: KeySpec::MlDsa(sam_algorithms::MlDsaLevel::from_level(3).unwrap()),
            ..p256()
        };
        assert!(ml_dsa.mechanisms().is_empty());
        assert!(ml_dsa.mechanism_info(ck::CKM_ECDSA).is_none());
    }

    #[test]
    fn mechanism_info_gives_the_keys_size_and_sign_only() {
        let info = p256().mechanism_info(ck::CKM_ECDSA_SHA256).unwrap();
        assert_eq!((info.ulMinKeySize, info.ulMaxKeySize), (256, 256));
        assert_ne!(info.flags & ck::CKF_SIGN, 0);
        assert_eq!(info.flags & (ck::CKF_VERIFY | ck::CKF_DECRYPT), 0);
        assert!(p256().mechanism_info(ck::CKM_ECDSA_SHA384).is_none());
        let info = rsa(RsaPadding::Pkcs1v15, HashAlgorithm::Sha256)
            .mechanism_info(ck::CKM_RSA_PKCS)
            .unwrap();
        assert_eq!((info.ulMinKeySize, info.flags), (3072, ck::CKF_SIGN));
    }

    #[test]
    fn sign_init_refuses_other_mechanisms_and_parameters_than_the_profiles() {
        let refused = p256().sign_mechanism(ck::CKM_RSA_PKCS, None).unwrap_err();
        assert_eq!(refused.rv, ck::CKR_MECHANISM_INVALID);
        let refused = p256()
            .sign_mechanism(ck::CKM_ECDSA_SHA512, None)
            .unwrap_err();
        assert_eq!(refused.rv, ck::CKR_MECHANISM_INVALID);
        let refused = p256()
            .sign_mechanism(ck::CKM_ECDSA, Some(sha256_pss()))
            .unwrap_err();
        assert_eq!(refused.rv, ck::CKR_MECHANISM_PARAM_INVALID);

        let pss = rsa(RsaPadding::Pss, HashAlgorithm::Sha256);
        assert_eq!(
            pss.sign_mechanism(ck::CKM_RSA_PKCS_PSS, Some(sha256_pss())),
            Ok(SignMechanism::RsaPss)
        );
        assert_eq!(
            pss.sign_mechanism(ck::CKM_SHA256_RSA_PKCS_PSS, Some(sha256_pss())),
            Ok(SignMechanism::RsaPssHashing(HashAlgorithm::Sha256))
        );
        for params in [
            None,
            Some(PssParams {
                salt_len: 20,
                ..sha256_pss()
            }),
            Some(PssParams {
                mgf: ck::CKG_MGF1_SHA1,
                ..sha256_pss()
            }),
            Some(PssParams {
                hash: ck::CKM_SHA384,
                ..sha256_pss()
            }),
        ] {
            let refused = pss
                .sign_mechanism(ck::CKM_RSA_PKCS_PSS, params)
                .unwrap_err();
            assert_eq!(refused.rv, ck::CKR_MECHANISM_PARAM_INVALID, "{params:?}");
        }
        assert_eq!(
            pss.sign_mechanism(ck::CKM_SHA256_RSA_PKCS, None)
                .unwrap_err()
                .rv,
            ck::CKR_MECHANISM_INVALID
        );
    }

    #[test]
    fn hashing_mechanisms_hash_in_the_module_in_any_number_of_parts() {
        let profile = p256();
        let mut op = SignOperation::new(
            profile,
            profile.sign_mechanism(ck::CKM_ECDSA_SHA256, None).unwrap(),
        );
        op.update(b"a contract, ").unwrap();
        op.update(b"in two parts").unwrap();
        assert_eq!(
            op.digest().unwrap(),
            HashAlgorithm::Sha256.digest(b"a contract, in two parts")
        );
        // Far more than a digest is fine when the module hashes.
        let mut op = SignOperation::new(
            profile,
            profile.sign_mechanism(ck::CKM_ECDSA_SHA256, None).unwrap(),
        );
        op.update(&vec![7u8; 1 << 20]).unwrap();
        assert_eq!(
            op.digest().unwrap(),
            HashAlgorithm::Sha256.digest(&vec![7u8; 1 << 20])
        );
    }

    #[test]
    fn raw_mechanisms_take_exactly_a_digest_of_the_profiles_hash() {
        let profile = p256();
        let digest = HashAlgorithm::Sha256.digest(b"x");
        let mut op = SignOperation::new(profile, SignMechanism::Ecdsa);
        op.update(digest.as_bytes()).unwrap();
        assert_eq!(op.digest().unwrap(), digest);

        let mut op = SignOperation::new(profile, SignMechanism::Ecdsa);
        op.update(&[1; 48]).unwrap();
        assert_eq!(op.digest().unwrap_err().rv, ck::CKR_DATA_LEN_RANGE);

        let mut op = SignOperation::new(profile, SignMechanism::Ecdsa);
        assert_eq!(
            op.update(&[1; MAX_UNHASHED_INPUT + 1]).unwrap_err().rv,
            ck::CKR_DATA_LEN_RANGE
        );
        let mut op = SignOperation::new(profile, SignMechanism::Ecdsa);
        op.update(&[1; MAX_UNHASHED_INPUT]).unwrap();
        assert_eq!(op.update(&[1]).unwrap_err().rv, ck::CKR_DATA_LEN_RANGE);
    }

    /// RFC 8017 §9.2 note 1: the DER DigestInfo prefix of SHA-256 and of SHA-384.
    const SHA256_PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA384_PREFIX: [u8; 19] = [
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30,
    ];

    #[test]
    fn rsa_pkcs_reads_the_digestinfo_and_refuses_another_hash_or_no_digestinfo() {
        let profile = rsa(RsaPadding::Pkcs1v15, HashAlgorithm::Sha256);
        let digest = HashAlgorithm::Sha256.digest(b"signed attributes");
        let info = [&SHA256_PREFIX[..], digest.as_bytes()].concat();
        let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
        op.update(&info).unwrap();
        assert_eq!(op.digest().unwrap(), digest);

        // Without the NULL parameters (RFC 8017 allows both): the same digest.
        let mut absent = vec![0x30, 0x2f, 0x30, 0x0b];
        absent.extend_from_slice(&SHA256_PREFIX[4..15]);
        absent.extend_from_slice(&[0x04, 0x20]);
        absent.extend_from_slice(digest.as_bytes());
        let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
        op.update(&absent).unwrap();
        assert_eq!(op.digest().unwrap(), digest);

        let other = [&SHA384_PREFIX[..], &[0u8; 48]].concat();
        let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
        op.update(&other).unwrap();
        let refused = op.digest().unwrap_err();
        assert_eq!(refused.rv, ck::CKR_DATA_INVALID);
        assert!(refused.reason.contains("sha384"), "{refused}");

        // A bare digest (TLS 1.2's MD5+SHA-1 is 36 bytes) is no DigestInfo.
        let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
        op.update(&[0xab; 36]).unwrap();
        assert_eq!(op.digest().unwrap_err().rv, ck::CKR_DATA_INVALID);

        // A DigestInfo whose digest is short for its hash.
        let mut short = SHA256_PREFIX.to_vec();
        short[1] = 0x30;
        short[18] = 0x1f;
        short.extend_from_slice(&[0; 31]);
        let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
        op.update(&short).unwrap();
        assert_eq!(op.digest().unwrap_err().rv, ck::CKR_DATA_LEN_RANGE);
    }

    #[test]
    fn ecdsa_signatures_become_fixed_length_r_and_s() {
        let profile = p256();
        assert_eq!(profile.signature_len(), 64);
        // r = 1, s = 0x80 followed by 31 bytes (a leading zero in DER).
        let mut der = vec![0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80];
        der.extend_from_slice(&[0x11; 31]);
        let raw = profile.encode_signature(&der).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(raw[..31], [0; 31]);
        assert_eq!(raw[31], 1);
        assert_eq!(raw[32], 0x80);
        assert_eq!(raw[33..], [0x11; 31]);

        // P-521: each half 66 bytes.
        let p521 = KeyProfile {
            spec: KeySpec::Ecdsa(EcCurve::P521),
            ..profile
        };
        assert_eq!(p521.signature_len(), 132);
        assert_eq!(p521.encode_signature(&der).unwrap().len(), 132);

        // Too long an integer, and no DER at all, are samd's fault: a device error.
        let mut long = vec![0x30, 0x25, 0x02, 0x21, 0x01];
        long.extend_from_slice(&[0x11; 32]);
        long.extend_from_slice(&[0x02, 0x01, 0x01]);
        assert_eq!(
            profile.encode_signature(&long).unwrap_err().rv,
            ck::CKR_DEVICE_ERROR
        );
        assert_eq!(
            profile.encode_signature(&[0; 64]).unwrap_err().rv,
            ck::CKR_DEVICE_ERROR
        );
    }

    #[test]
    fn rsa_signatures_are_the_modulus_long_octets() {
        let profile = rsa(RsaPadding::Pkcs1v15, HashAlgorithm::Sha256);
        assert_eq!(profile.signature_len(), 384);
        assert_eq!(profile.encode_signature(&[5; 384]).unwrap(), vec![5; 384]);
        assert_eq!(
            profile.encode_signature(&[5; 383]).unwrap_err().rv,
            ck::CKR_DEVICE_ERROR
        );
    }

    proptest::proptest! {
        /// Any bytes as a raw mechanism's input or as samd's signature: a digest of the
        /// profile's hash, an r‖s of the curve's length, or a refusal — never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let profile = rsa(RsaPadding::Pkcs1v15, HashAlgorithm::Sha256);
            let mut op = SignOperation::new(profile, SignMechanism::RsaPkcs);
            if op.update(&data).is_ok()
                && let Ok(digest) = op.digest()
            {
                proptest::prop_assert_eq!(digest.algorithm(), HashAlgorithm::Sha256);
            }
            if let Ok(raw) = p256().encode_signature(&data) {
                proptest::prop_assert_eq!(raw.len(), 64);
            }
        }
    }
}
