//! The stored form of a [`KeyRecord`]: a versioned DER structure that a database keeps and
//! gives back, holding nothing that reveals the key (wrapped blobs and HSM references only).
//!
//! ```text
//! StoredKeyRecord ::= SEQUENCE {
//!     version    INTEGER (1),
//!     keyId      UTF8String,
//!     spec       UTF8String,               -- the KeySpec's name, e.g. "ECDSA P-256"
//!     publicKey  OCTET STRING,             -- DER SubjectPublicKeyInfo
//!     reference  StoredReference,
//!     kak        [0] EXPLICIT StoredKak OPTIONAL }
//! StoredReference ::= SEQUENCE {
//!     kind       ENUMERATED { softwareWrapped(0), pkcs11Resident(1), pkcs11Wrapped(2) },
//!     location   ENUMERATED { default(0), signature(1) },
//!     value      OCTET STRING }            -- the wrapped blob, or the CKA_ID
//! StoredKak ::= SEQUENCE {
//!     publicKey OCTET STRING, wrappedPrivateKey OCTET STRING, bindingTag OCTET STRING }
//! ```
//!
//! Reading is total and bounded ([`MAX_STORED_RECORD_LEN`]); every field is checked (key id
//! grammar, known spec, the public key's algorithm matching the spec).

use der::asn1::OctetString;
use der::{Decode, Encode, Enumerated, Sequence};
use sam_algorithms::KeySpec;

use crate::error::TokenError;
use crate::key::{KakBinding, KeyId, KeyLocation, KeyRecord, KeyReference};

/// The largest stored record read back (an RSA-8192 wrapped key with a KAK is ~11 KiB).
pub const MAX_STORED_RECORD_LEN: usize = 64 * 1024;

const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u32)]
enum Kind {
    SoftwareWrapped = 0,
    Pkcs11Resident = 1,
    Pkcs11Wrapped = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u32)]
enum Location {
    Default = 0,
    Signature = 1,
}

#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct StoredReference {
    kind: Kind,
    location: Location,
    value: OctetString,
}

#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct StoredKak {
    public_key: OctetString,
    wrapped_private_key: OctetString,
    binding_tag: OctetString,
}

#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct StoredKeyRecord {
    version: u8,
    key_id: String,
    spec: String,
    public_key: OctetString,
    reference: StoredReference,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    kak: Option<StoredKak>,
}

fn octets(bytes: &[u8]) -> Result<OctetString, TokenError> {
    OctetString::new(bytes).map_err(|e| TokenError::Input(format!("stored key record: {e}")))
}

fn corrupt(reason: impl core::fmt::Display) -> TokenError {
    TokenError::Input(format!("stored key record: {reason}"))
}

impl KeyRecord {
    /// The stored form (see the module documentation).
    pub fn to_der(&self) -> Result<Vec<u8>, TokenError> {
        let (kind, location, value) = match &self.reference {
            KeyReference::SoftwareWrapped(blob) => {
                (Kind::SoftwareWrapped, KeyLocation::Default, blob)
            }
            KeyReference::Pkcs11Resident {
                location,
                object_id,
            } => (Kind::Pkcs11Resident, *location, object_id),
            KeyReference::Pkcs11Wrapped { location, blob } => {
                (Kind::Pkcs11Wrapped, *location, blob)
            }
        };
        let stored = StoredKeyRecord {
            version: VERSION,
            key_id: self.key_id.as_str().to_owned(),
            spec: self.spec.to_string(),
            public_key: octets(&self.public_key_der)?,
            reference: StoredReference {
                kind,
                location: match location {
                    KeyLocation::Default => Location::Default,
                    KeyLocation::Signature => Location::Signature,
                },
                value: octets(value)?,
            },
            kak: self
                .kak
                .as_ref()
                .map(|k| {
                    Ok::<_, TokenError>(StoredKak {
                        public_key: octets(&k.public_key_der)?,
                        wrapped_private_key: octets(&k.wrapped_private_key)?,
                        binding_tag: octets(&k.binding_tag)?,
                    })
                })
                .transpose()?,
        };
        stored.to_der().map_err(corrupt)
    }

    /// Reads a record written by [`Self::to_der`].
    pub fn from_der(der: &[u8]) -> Result<Self, TokenError> {
        if der.len() > MAX_STORED_RECORD_LEN {
            return Err(corrupt(format!(
                "{} bytes is more than the {MAX_STORED_RECORD_LEN} allowed",
                der.len()
            )));
        }
        let stored = StoredKeyRecord::from_der(der).map_err(corrupt)?;
        if stored.version != VERSION {
            return Err(corrupt(format!(
                "version {} is not supported",
                stored.version
            )));
        }
        let key_id = KeyId::new(stored.key_id)?;
        let spec = KeySpec::all()
            .find(|s| s.to_string() == stored.spec)
            .ok_or_else(|| corrupt(format!("unknown key spec {:?}", stored.spec)))?;
        let public_key_der = stored.public_key.as_bytes().to_vec();
        let found = sam_keys::public_key_spec(&public_key_der).map_err(corrupt)?;
        if found.algorithm() != spec.algorithm() {
            return Err(corrupt(format!(
                "the public key is {found}, the record says {spec}"
            )));
        }
        let location = match stored.reference.location {
            Location::Default => KeyLocation::Default,
            Location::Signature => KeyLocation::Signature,
        };
        let value = stored.reference.value.as_bytes().to_vec();
        let reference = match stored.reference.kind {
            Kind::SoftwareWrapped if location == KeyLocation::Default => {
                KeyReference::SoftwareWrapped(value)
            }
            Kind::SoftwareWrapped => return Err(corrupt("a software key has no signature slot")),
            Kind::Pkcs11Resident => KeyReference::Pkcs11Resident {
                location,
                object_id: value,
            },
            Kind::Pkcs11Wrapped => KeyReference::Pkcs11Wrapped {
                location,
                blob: value,
            },
        };
        let kak = stored.kak.map(|k| KakBinding {
            public_key_der: k.public_key.as_bytes().to_vec(),
            wrapped_private_key: k.wrapped_private_key.as_bytes().to_vec(),
            binding_tag: k.binding_tag.as_bytes().to_vec(),
        });
        Ok(Self {
            key_id,
            spec,
            public_key_der,
            reference,
            kak,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sam_algorithms::EcCurve;

    use super::*;

    fn record(reference: KeyReference, kak: bool) -> KeyRecord {
        let key = sam_keys::SigningKey::generate(KeySpec::Ecdsa(EcCurve::P256)).unwrap();
        KeyRecord {
            key_id: KeyId::new("user-1:key-7").unwrap(),
            spec: KeySpec::Ecdsa(EcCurve::P256),
            public_key_der: key.public_key_der().unwrap(),
            reference,
            kak: kak.then(|| KakBinding {
                public_key_der: vec![0x30, 1, 2],
                wrapped_private_key: vec![9; 100],
                binding_tag: vec![7; 32],
            }),
        }
    }

    #[test]
    fn every_kind_of_reference_round_trips() {
        for (reference, kak) in [
            (KeyReference::SoftwareWrapped(vec![1; 120]), false),
            (KeyReference::SoftwareWrapped(vec![1; 120]), true),
            (
                KeyReference::Pkcs11Resident {
                    location: KeyLocation::Signature,
                    object_id: b"user-1:key-7".to_vec(),
                },
                false,
            ),
            (
                KeyReference::Pkcs11Wrapped {
                    location: KeyLocation::Default,
                    blob: vec![3; 200],
                },
                true,
            ),
        ] {
            let r = record(reference, kak);
            assert_eq!(KeyRecord::from_der(&r.to_der().unwrap()).unwrap(), r);
        }
    }

    #[test]
    fn inconsistent_records_are_refused() {
        let good = record(KeyReference::SoftwareWrapped(vec![1; 16]), false);
        // The spec says RSA but the public key is P-256.
        let mut wrong_spec = good.clone();
        wrong_spec.spec = KeySpec::Rsa(sam_algorithms::RsaKeySize::Bits2048);
        assert!(KeyRecord::from_der(&wrong_spec.to_der().unwrap()).is_err());
        // A bad key id.
        let der = good.to_der().unwrap();
        let at = der.windows(12).position(|w| w == b"user-1:key-7").unwrap();
        let mut bad_id = der.clone();
        bad_id[at] = b' ';
        assert!(KeyRecord::from_der(&bad_id).is_err());
        // Too long, truncated, empty.
        assert!(KeyRecord::from_der(&vec![0x30; MAX_STORED_RECORD_LEN + 1]).is_err());
        assert!(KeyRecord::from_der(&der[..der.len() - 1]).is_err());
        assert!(KeyRecord::from_der(&[]).is_err());
    }

    proptest! {
        #[test]
        fn from_der_is_total(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = KeyRecord::from_der(&data);
        }

        #[test]
        fn mutations_never_panic(at in 0usize..400, value in any::<u8>()) {
            let der = record(KeyReference::SoftwareWrapped(vec![5; 64]), true).to_der().unwrap();
            let mut changed = der.clone();
            let i = at % changed.len();
            changed[i] = value;
            let _ = KeyRecord::from_der(&changed);
        }
    }
}
