//! Hash algorithms (FIPS 180-4 SHA-2, FIPS 202 SHA-3), their object identifiers
//! (NIST CSOR `hashAlgs`, RFC 5754 §2), and digest computation.
//!
//! [`Hasher`] is streaming: feed it any number of slices with [`Hasher::update`], or copy a
//! reader into it (it implements [`std::io::Write`]), so a large document is never held in
//! memory. A finished [`Digest`] knows its algorithm, can only have that algorithm's length,
//! and compares in constant time.

use core::fmt;
use core::str::FromStr;

use const_oid::ObjectIdentifier;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use crate::Error;

/// A hash algorithm of the SAM profile's *Hashing Algorithm* list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-224 (FIPS 180-4).
    #[serde(rename = "sha224")]
    Sha224,
    /// SHA-256 (FIPS 180-4); the seed's default.
    #[serde(rename = "sha256")]
    Sha256,
    /// SHA-384 (FIPS 180-4).
    #[serde(rename = "sha384")]
    Sha384,
    /// SHA-512 (FIPS 180-4).
    #[serde(rename = "sha512")]
    Sha512,
    /// SHA3-224 (FIPS 202).
    #[serde(rename = "sha3-224")]
    Sha3_224,
    /// SHA3-256 (FIPS 202).
    #[serde(rename = "sha3-256")]
    Sha3_256,
    /// SHA3-384 (FIPS 202).
    #[serde(rename = "sha3-384")]
    Sha3_384,
    /// SHA3-512 (FIPS 202).
    #[serde(rename = "sha3-512")]
    Sha3_512,
}

/// The longest digest any [`HashAlgorithm`] produces, in bytes.
pub const MAX_DIGEST_LEN: usize = 64;

impl HashAlgorithm {
    /// Every hash algorithm, SHA-2 first, each family ascending.
    pub const ALL: [Self; 8] = [
        Self::Sha224,
        Self::Sha256,
        Self::Sha384,
        Self::Sha512,
        Self::Sha3_224,
        Self::Sha3_256,
        Self::Sha3_384,
        Self::Sha3_512,
    ];

    /// The SHA-2 algorithms (those a device or a SAD may use).
    pub const SHA2: [Self; 4] = [Self::Sha224, Self::Sha256, Self::Sha384, Self::Sha512];

    /// The name used in configuration files and APIs: `sha256`, `sha3-256`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
            Self::Sha3_224 => "sha3-224",
            Self::Sha3_256 => "sha3-256",
            Self::Sha3_384 => "sha3-384",
            Self::Sha3_512 => "sha3-512",
        }
    }

    /// The digest length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha224 | Self::Sha3_224 => 28,
            Self::Sha256 | Self::Sha3_256 => 32,
            Self::Sha384 | Self::Sha3_384 => 48,
            Self::Sha512 | Self::Sha3_512 => 64,
        }
    }

    /// The digest length in bits.
    pub const fn output_bits(self) -> u32 {
        // At most 64 bytes: the product always fits.
        (self.output_len() as u32) * 8
    }

    /// Whether this is a SHA-3 algorithm (some HSMs and iOS devices lack them).
    pub const fn is_sha3(self) -> bool {
        matches!(
            self,
            Self::Sha3_224 | Self::Sha3_256 | Self::Sha3_384 | Self::Sha3_512
        )
    }

    /// The algorithm object identifier (NIST CSOR `2.16.840.1.101.3.4.2.*`).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            Self::Sha384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
            Self::Sha512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
            Self::Sha224 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4"),
            Self::Sha3_224 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.7"),
            Self::Sha3_256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.8"),
            Self::Sha3_384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.9"),
            Self::Sha3_512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.10"),
        }
    }

    /// The algorithm with this object identifier.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|h| h.oid() == *oid)
            .ok_or(Error::UnknownOid {
                kind: "hash algorithm",
                oid: *oid,
            })
    }

    /// A new streaming hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        let state = match self {
            Self::Sha224 => State::Sha224(sha2::Sha224::new()),
            Self::Sha256 => State::Sha256(sha2::Sha256::new()),
            Self::Sha384 => State::Sha384(sha2::Sha384::new()),
            Self::Sha512 => State::Sha512(sha2::Sha512::new()),
            Self::Sha3_224 => State::Sha3_224(sha3::Sha3_224::new()),
            Self::Sha3_256 => State::Sha3_256(sha3::Sha3_256::new()),
            Self::Sha3_384 => State::Sha3_384(sha3::Sha3_384::new()),
            Self::Sha3_512 => State::Sha3_512(sha3::Sha3_512::new()),
        };
        Hasher(state)
    }

    /// The digest of `data` in one call.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut hasher = self.hasher();
        hasher.update(data);
        hasher.finalize()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::Sha3_224 => "SHA3-224",
            Self::Sha3_256 => "SHA3-256",
            Self::Sha3_384 => "SHA3-384",
            Self::Sha3_512 => "SHA3-512",
        })
    }
}

impl FromStr for HashAlgorithm {
    type Err = Error;

    /// Accepts the configuration name (`sha256`), the display name (`SHA-256`) and the seed's
    /// spelling (`SHA256`, `SHA3-256`), ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|h| {
                h.name().eq_ignore_ascii_case(s)
                    || h.to_string().eq_ignore_ascii_case(s)
                    || h.to_string().replace("SHA-", "SHA").eq_ignore_ascii_case(s)
            })
            .ok_or_else(|| Error::UnknownName {
                kind: "hash algorithm",
                name: s.into(),
                expected: "sha224, sha256, sha384, sha512, sha3-224, sha3-256, sha3-384, sha3-512",
            })
    }
}

#[derive(Clone)]
enum State {
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_224(sha3::Sha3_224),
    Sha3_256(sha3::Sha3_256),
    Sha3_384(sha3::Sha3_384),
    Sha3_512(sha3::Sha3_512),
}

/// A streaming hash computation; create one with [`HashAlgorithm::hasher`].
///
/// ```
/// use std::io::Write;
/// use sam_algorithms::HashAlgorithm;
///
/// let mut hasher = HashAlgorithm::Sha3_256.hasher();
/// hasher.update(b"a");
/// std::io::copy(&mut &b"bc"[..], &mut hasher)?; // any reader, in chunks
/// assert_eq!(hasher.finalize(), HashAlgorithm::Sha3_256.digest(b"abc"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Hasher(State);

impl Hasher {
    /// The algorithm being computed.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.0 {
            State::Sha224(_) => HashAlgorithm::Sha224,
            State::Sha256(_) => HashAlgorithm::Sha256,
            State::Sha384(_) => HashAlgorithm::Sha384,
            State::Sha512(_) => HashAlgorithm::Sha512,
            State::Sha3_224(_) => HashAlgorithm::Sha3_224,
            State::Sha3_256(_) => HashAlgorithm::Sha3_256,
            State::Sha3_384(_) => HashAlgorithm::Sha3_384,
            State::Sha3_512(_) => HashAlgorithm::Sha3_512,
        }
    }

    /// Feeds `data` into the computation.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Sha3_224(h) => h.update(data),
            State::Sha3_256(h) => h.update(data),
            State::Sha3_384(h) => h.update(data),
            State::Sha3_512(h) => h.update(data),
        }
    }

    /// Finishes the computation.
    pub fn finalize(self) -> Digest {
        let algorithm = self.algorithm();
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        let len = algorithm.output_len();
        match self.0 {
            State::Sha224(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha256(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha384(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha512(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha3_224(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha3_256(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha3_384(h) => bytes[..len].copy_from_slice(&h.finalize()),
            State::Sha3_512(h) => bytes[..len].copy_from_slice(&h.finalize()),
        }
        Digest { algorithm, bytes }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Hasher").field(&self.algorithm()).finish()
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A hash value together with the algorithm that produced it.
///
/// It can only hold exactly [`HashAlgorithm::output_len`] bytes, so a hash of the wrong length
/// for its algorithm is refused where it enters ([`Digest::new`]). Equality is constant-time
/// in the digest bytes.
#[derive(Clone, Copy)]
pub struct Digest {
    algorithm: HashAlgorithm,
    bytes: [u8; MAX_DIGEST_LEN],
}

impl Digest {
    /// A digest received from elsewhere (e.g. a client's document hash), checked for length.
    pub fn new(algorithm: HashAlgorithm, value: &[u8]) -> Result<Self, Error> {
        let len = algorithm.output_len();
        if value.len() != len {
            return Err(Error::DigestLength {
                algorithm,
                expected: len,
                actual: value.len(),
            });
        }
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        bytes[..len].copy_from_slice(value);
        Ok(Self { algorithm, bytes })
    }

    /// The algorithm that produced this digest.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest value.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.output_len()]
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl ConstantTimeEq for Digest {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // The algorithm is public; only the value needs a constant-time comparison.
        subtle::Choice::from(u8::from(self.algorithm == other.algorithm))
            & self.bytes.ct_eq(&other.bytes)
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Digest {}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({}, ", self.algorithm)?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use std::io::Write;

    /// NIST CSRC example values ("abc", FIPS 180-4 / FIPS 202 examples).
    fn abc_vectors() -> [(HashAlgorithm, &'static [u8]); 8] {
        [
            (
                HashAlgorithm::Sha224,
                &hex!("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
            ),
            (
                HashAlgorithm::Sha256,
                &hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ),
            (
                HashAlgorithm::Sha384,
                &hex!(
                    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                    "8086072ba1e7cc2358baeca134c825a7"
                ),
            ),
            (
                HashAlgorithm::Sha512,
                &hex!(
                    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
                ),
            ),
            (
                HashAlgorithm::Sha3_224,
                &hex!("e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"),
            ),
            (
                HashAlgorithm::Sha3_256,
                &hex!("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
            ),
            (
                HashAlgorithm::Sha3_384,
                &hex!(
                    "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2"
                    "98d88cea927ac7f539f1edf228376d25"
                ),
            ),
            (
                HashAlgorithm::Sha3_512,
                &hex!(
                    "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
                    "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"
                ),
            ),
        ]
    }

    #[test]
    fn known_answers_for_all_eight_hashes() {
        for (alg, expected) in abc_vectors() {
            let d = alg.digest(b"abc");
            assert_eq!(d.as_bytes(), expected, "{alg}");
            assert_eq!(d.algorithm(), alg);
            assert_eq!(d.as_bytes().len(), alg.output_len());
        }
    }

    #[test]
    fn empty_input_known_answers() {
        assert_eq!(
            HashAlgorithm::Sha256.digest(b"").as_bytes(),
            hex!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            HashAlgorithm::Sha3_256.digest(b"").as_bytes(),
            hex!("a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
        );
    }

    #[test]
    fn streaming_equals_one_shot_across_block_boundaries() {
        // One million 'a' (FIPS 180-4 / FIPS 202 long-message examples), fed in odd chunks.
        let data = vec![b'a'; 1_000_000];
        for alg in HashAlgorithm::ALL {
            let mut hasher = alg.hasher();
            for chunk in data.chunks(997) {
                hasher.write_all(chunk).unwrap();
            }
            assert_eq!(hasher.finalize(), alg.digest(&data), "{alg}");
        }
        assert_eq!(
            HashAlgorithm::Sha256.digest(&data).as_bytes(),
            hex!("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        );
        assert_eq!(
            HashAlgorithm::Sha3_256.digest(&data).as_bytes(),
            hex!("5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1")
        );
    }

    #[test]
    fn oids_round_trip() {
        for alg in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_oid(&alg.oid()).unwrap(), alg);
        }
        assert_eq!(
            HashAlgorithm::Sha256.oid().to_string(),
            "2.16.840.1.101.3.4.2.1"
        );
        assert_eq!(
            HashAlgorithm::Sha3_512.oid().to_string(),
            "2.16.840.1.101.3.4.2.10"
        );
        let shake128 = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.11");
        assert!(HashAlgorithm::from_oid(&shake128).is_err());
    }

    #[test]
    fn names_parse_in_every_spelling() {
        for alg in HashAlgorithm::ALL {
            assert_eq!(alg.name().parse::<HashAlgorithm>().unwrap(), alg);
            assert_eq!(alg.to_string().parse::<HashAlgorithm>().unwrap(), alg);
            let json = serde_json::to_string(&alg).unwrap();
            assert_eq!(json, format!("\"{}\"", alg.name()));
            assert_eq!(serde_json::from_str::<HashAlgorithm>(&json).unwrap(), alg);
        }
        assert_eq!(
            "SHA256".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha256
        );
        assert_eq!(
            "SHA3-384".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Sha3_384
        );
        assert!("md5".parse::<HashAlgorithm>().is_err());
        assert!("sha-1".parse::<HashAlgorithm>().is_err());
    }

    #[test]
    fn digest_length_is_checked() {
        for alg in HashAlgorithm::ALL {
            let n = alg.output_len();
            assert!(Digest::new(alg, &vec![0; n]).is_ok());
            assert!(Digest::new(alg, &vec![0; n - 1]).is_err());
            assert!(Digest::new(alg, &vec![0; n + 1]).is_err());
        }
        let e = Digest::new(HashAlgorithm::Sha256, &[0; 31]).unwrap_err();
        assert_eq!(e.to_string(), "a SHA-256 digest has 32 bytes, not 31");
    }

    #[test]
    fn digest_equality_needs_same_algorithm_and_value() {
        let a = Digest::new(HashAlgorithm::Sha256, &[1; 32]).unwrap();
        let b = Digest::new(HashAlgorithm::Sha3_256, &[1; 32]).unwrap();
        let mut flipped = [1; 32];
        flipped[31] ^= 1;
        let c = Digest::new(HashAlgorithm::Sha256, &flipped).unwrap();
        assert_eq!(a, a);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
