//! The PKCS#11 objects of one sam key (PKCS#11 v2.40 §4): a private key (its value never
//! there: `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`), its public key, and its certificate once
//! one was imported — linked by `CKA_ID` (the key id's bytes) and sharing the key's label.
//! Attribute values are as PKCS#11 encodes them: `CK_BBOOL` one byte, `CK_ULONG` native
//! endian, `CKA_EC_PARAMS` the DER curve OID, `CKA_EC_POINT` the DER OCTET STRING of the
//! uncompressed point, `CKA_MODULUS`/`CKA_PUBLIC_EXPONENT` big-endian without sign byte,
//! `CKA_SUBJECT`/`CKA_ISSUER` DER names, `CKA_SERIAL_NUMBER` the DER INTEGER.

use std::collections::BTreeMap;

use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode};
use sam_algorithms::KeySpec;

use crate::ck;
use crate::mechanism::KeyProfile;

/// Which of a key's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// `CKO_PRIVATE_KEY`: signs, through samd.
    PrivateKey,
    /// `CKO_PUBLIC_KEY`.
    PublicKey,
    /// `CKO_CERTIFICATE`, `CKC_X_509`.
    Certificate,
}

/// What `C_GetAttributeValue` finds for one attribute type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The value, encoded.
    Value(Vec<u8>),
    /// A secret of the object (`CKR_ATTRIBUTE_SENSITIVE`): a private key's value.
    Sensitive,
    /// Not an attribute of this object (`CKR_ATTRIBUTE_TYPE_INVALID`).
    Invalid,
}

/// One object: its kind and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    kind: ObjectKind,
    attributes: BTreeMap<ck::CK_ATTRIBUTE_TYPE, Vec<u8>>,
}

/// The attributes a private key has but never shows.
const SECRET: [ck::CK_ATTRIBUTE_TYPE; 7] = [
    ck::CKA_VALUE,
    ck::CKA_PRIVATE_EXPONENT,
    ck::CKA_PRIME_1,
    ck::CKA_PRIME_2,
    ck::CKA_EXPONENT_1,
    ck::CKA_EXPONENT_2,
    ck::CKA_COEFFICIENT,
];

fn flag(value: bool) -> Vec<u8> {
    vec![ck::CK_BBOOL::from(value)]
}

fn ulong(value: ck::CK_ULONG) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

impl Object {
    /// Its kind.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// `C_GetAttributeValue` for one attribute type.
    pub fn lookup(&self, attribute: ck::CK_ATTRIBUTE_TYPE) -> Lookup {
        match self.attributes.get(&attribute) {
            Some(value) => Lookup::Value(value.clone()),
            None if self.kind == ObjectKind::PrivateKey && SECRET.contains(&attribute) => {
                Lookup::Sensitive
            }
            None => Lookup::Invalid,
        }
    }

    /// Whether the object has every attribute of a `C_FindObjectsInit` template with exactly
    /// its value (an empty template matches every object).
    pub fn matches(&self, template: &[(ck::CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> bool {
        template
            .iter()
            .all(|(attribute, value)| self.attributes.get(attribute) == Some(value))
    }
}

/// A key as samd describes it: what its objects are made from.
#[derive(Clone, Debug)]
pub struct KeyDescription<'a> {
    /// Its id in samd (`CKA_ID` is its bytes).
    pub key_id: &'a str,
    /// The objects' `CKA_LABEL`.
    pub label: &'a str,
    /// Its profile's signing rules.
    pub profile: KeyProfile,
    /// Its DER SubjectPublicKeyInfo.
    pub public_key: &'a [u8],
    /// Its DER certificate, once imported.
    pub certificate: Option<&'a [u8]>,
}

/// `RSAPublicKey`, RFC 8017 §A.1.1.
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The objects of a key: the private key, the public key, and the certificate if it has
/// one. A public key or certificate that does not parse is refused with the reason.
pub fn key_objects(key: &KeyDescription<'_>) -> Result<Vec<(ObjectKind, Object)>, String> {
    let spki = spki::SubjectPublicKeyInfoRef::from_der(key.public_key)
        .map_err(|e| format!("key {}: its public key: {e}", key.key_id))?;
    let point = spki.subject_public_key.raw_bytes();
    let mut shared = BTreeMap::new();
    shared.insert(ck::CKA_ID, key.key_id.as_bytes().to_vec());
    shared.insert(ck::CKA_LABEL, key.label.as_bytes().to_vec());
    shared.insert(ck::CKA_TOKEN, flag(true));
    shared.insert(ck::CKA_MODIFIABLE, flag(false));
    let mut key_shared = shared.clone();
    key_shared.insert(ck::CKA_LOCAL, flag(true));
    key_shared.insert(ck::CKA_DERIVE, flag(false));
    key_shared.insert(
        ck::CKA_KEY_GEN_MECHANISM,
        ulong(ck::CK_UNAVAILABLE_INFORMATION),
    );
    match key.profile.spec {
        KeySpec::Ecdsa(_) => {
            key_shared.insert(ck::CKA_KEY_TYPE, ulong(ck::CKK_EC));
            let params = spki
                .algorithm
                .parameters
                .ok_or_else(|| format!("key {}: an EC key without its curve", key.key_id))?
                .to_der()
                .map_err(|e| e.to_string())?;
            key_shared.insert(ck::CKA_EC_PARAMS, params);
        }
        KeySpec::Rsa(size) => {
            key_shared.insert(ck::CKA_KEY_TYPE, ulong(ck::CKK_RSA));
            let rsa = RsaPublicKey::from_der(point)
                .map_err(|e| format!("key {}: its RSA public key: {e}", key.key_id))?;
            key_shared.insert(ck::CKA_MODULUS, rsa.modulus.as_bytes().to_vec());
            key_shared.insert(ck::CKA_MODULUS_BITS, ulong(ck::CK_ULONG::from(size.bits())));
            key_shared.insert(
                ck::CKA_PUBLIC_EXPONENT,
                rsa.public_exponent.as_bytes().to_vec(),
            );
        }
        _ => {
            return Err(format!(
                "key {}: {} has no PKCS#11 signing mechanism here",
                key.key_id, key.profile.spec
            ));
        }
    }
    let certificate = match key.certificate {
        Some(der) => Some(
            x509_cert::Certificate::from_der(der)
                .map_err(|e| format!("key {}: its certificate: {e}", key.key_id))?,
        ),
        None => None,
    };
    let subject = match &certificate {
        Some(c) => Some(
            c.tbs_certificate()
                .subject()
                .to_der()
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    if let Some(subject) = &subject {
        key_shared.insert(ck::CKA_SUBJECT, subject.clone());
    }

    let mut private = key_shared.clone();
    private.insert(ck::CKA_CLASS, ulong(ck::CKO_PRIVATE_KEY));
    private.insert(ck::CKA_PRIVATE, flag(true));
    private.insert(ck::CKA_SENSITIVE, flag(true));
    private.insert(ck::CKA_ALWAYS_SENSITIVE, flag(true));
    private.insert(ck::CKA_EXTRACTABLE, flag(false));
    private.insert(ck::CKA_NEVER_EXTRACTABLE, flag(true));
    private.insert(ck::CKA_SIGN, flag(true));
    private.insert(ck::CKA_SIGN_RECOVER, flag(false));
    private.insert(ck::CKA_DECRYPT, flag(false));
    private.insert(ck::CKA_UNWRAP, flag(false));
    private.insert(ck::CKA_WRAP_WITH_TRUSTED, flag(false));
    // Each signature is approved by its user through samd, not by a second C_Login.
    private.insert(ck::CKA_ALWAYS_AUTHENTICATE, flag(false));

    let mut public = key_shared;
    public.insert(ck::CKA_CLASS, ulong(ck::CKO_PUBLIC_KEY));
    public.insert(ck::CKA_PRIVATE, flag(false));
    public.insert(ck::CKA_VERIFY, flag(true));
    public.insert(ck::CKA_VERIFY_RECOVER, flag(false));
    public.insert(ck::CKA_ENCRYPT, flag(false));
    public.insert(ck::CKA_WRAP, flag(false));
    public.insert(ck::CKA_TRUSTED, flag(false));
    public.insert(ck::CKA_PUBLIC_KEY_INFO, key.public_key.to_vec());
    if matches!(key.profile.spec, KeySpec::Ecdsa(_)) {
        let wrapped = OctetStringRef::new(point)
            .and_then(|p| p.to_der())
            .map_err(|e| e.to_string())?;
        public.insert(ck::CKA_EC_POINT, wrapped);
    }

    let mut objects = vec![
        (
            ObjectKind::PrivateKey,
            Object {
                kind: ObjectKind::PrivateKey,
                attributes: private,
            },
        ),
        (
            ObjectKind::PublicKey,
            Object {
                kind: ObjectKind::PublicKey,
                attributes: public,
            },
        ),
    ];
    if let (Some(certificate), Some(der), Some(subject)) = (certificate, key.certificate, subject) {
        let tbs = certificate.tbs_certificate();
        let mut attributes = shared;
        attributes.insert(ck::CKA_CLASS, ulong(ck::CKO_CERTIFICATE));
        attributes.insert(ck::CKA_PRIVATE, flag(false));
        attributes.insert(ck::CKA_CERTIFICATE_TYPE, ulong(ck::CKC_X_509));
        attributes.insert(ck::CKA_TRUSTED, flag(false));
        attributes.insert(ck::CKA_CERTIFICATE_CATEGORY, ulong(1)); // token user
        attributes.insert(ck::CKA_SUBJECT, subject);
        attributes.insert(
            ck::CKA_ISSUER,
            tbs.issuer().to_der().map_err(|e| e.to_string())?,
        );
        attributes.insert(
            ck::CKA_SERIAL_NUMBER,
            tbs.serial_number().to_der().map_err(|e| e.to_string())?,
        );
        attributes.insert(ck::CKA_VALUE, der.to_vec());
        objects.push((
            ObjectKind::Certificate,
            Object {
                kind: ObjectKind::Certificate,
                attributes,
            },
        ));
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sam_algorithms::{EcCurve, HashAlgorithm, RsaKeySize, RsaPadding};

    fn profile(spec: KeySpec) -> KeyProfile {
        KeyProfile {
            spec,
            hash: HashAlgorithm::Sha256,
            padding: RsaPadding::Pkcs1v15,
        }
    }

    fn value(object: &Object, attribute: ck::CK_ATTRIBUTE_TYPE) -> Vec<u8> {
        match object.lookup(attribute) {
            Lookup::Value(v) => v,
            other => panic!("attribute 0x{attribute:x}: {other:?}"),
        }
    }

    #[test]
    fn an_ec_key_has_its_curve_and_point_and_no_private_value() {
        let spec = KeySpec::Ecdsa(EcCurve::P256);
        let key = sam_keys::SigningKey::generate(spec).unwrap();
        let spki = key.public_key_der().unwrap();
        let objects = key_objects(&KeyDescription {
            key_id: "k1",
            label: "alice's key",
            profile: profile(spec),
            public_key: &spki,
            certificate: None,
        })
        .unwrap();
        assert_eq!(objects.len(), 2, "no certificate yet");
        let (_, private) = &objects[0];
        let (_, public) = &objects[1];
        assert_eq!(value(private, ck::CKA_CLASS), ulong(ck::CKO_PRIVATE_KEY));
        assert_eq!(value(private, ck::CKA_KEY_TYPE), ulong(ck::CKK_EC));
        assert_eq!(value(private, ck::CKA_ID), b"k1");
        assert_eq!(value(public, ck::CKA_ID), b"k1");
        assert_eq!(value(private, ck::CKA_LABEL), b"alice's key");
        assert_eq!(value(private, ck::CKA_SENSITIVE), [1]);
        assert_eq!(value(private, ck::CKA_EXTRACTABLE), [0]);
        assert_eq!(value(private, ck::CKA_SIGN), [1]);
        assert_eq!(private.lookup(ck::CKA_VALUE), Lookup::Sensitive);
        assert_eq!(public.lookup(ck::CKA_VALUE), Lookup::Invalid);
        assert_eq!(private.lookup(ck::CKA_MODULUS), Lookup::Invalid);
        // P-256's OID, DER; the point as a DER OCTET STRING of the SPKI's bit string.
        let p256_oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert_eq!(value(public, ck::CKA_EC_PARAMS), p256_oid);
        let point = value(public, ck::CKA_EC_POINT);
        assert_eq!(point[..3], [0x04, 65, 0x04]);
        assert_eq!(point[2..], spki[spki.len() - 65..]);
        assert_eq!(value(public, ck::CKA_PUBLIC_KEY_INFO), spki);

        // A search by class and id finds the private key only.
        let template = [
            (ck::CKA_CLASS, ulong(ck::CKO_PRIVATE_KEY)),
            (ck::CKA_ID, b"k1".to_vec()),
        ];
        assert!(private.matches(&template));
        assert!(!public.matches(&template));
        assert!(public.matches(&[]));
    }

    #[test]
    fn an_rsa_key_has_its_modulus_and_exponent() {
        let spec = KeySpec::Rsa(RsaKeySize::from_bits(2048).unwrap());
        let key = sam_keys::SigningKey::generate(spec).unwrap();
        let spki = key.public_key_der().unwrap();
        let objects = key_objects(&KeyDescription {
            key_id: "k2",
            label: "k2",
            profile: profile(spec),
            public_key: &spki,
            certificate: None,
        })
        .unwrap();
        let (_, public) = &objects[1];
        let modulus = value(public, ck::CKA_MODULUS);
        assert_eq!(modulus.len(), 256);
        assert_ne!(modulus[0], 0, "no sign byte");
        assert_eq!(value(public, ck::CKA_PUBLIC_EXPONENT), [1, 0, 1]);
        assert_eq!(value(public, ck::CKA_MODULUS_BITS), ulong(2048));
        assert_eq!(
            objects[0].1.lookup(ck::CKA_PRIVATE_EXPONENT),
            Lookup::Sensitive
        );
    }

    #[test]
    fn a_key_that_does_not_parse_is_refused_with_its_id() {
        let refused = key_objects(&KeyDescription {
            key_id: "k3",
            label: "k3",
            profile: profile(KeySpec::Ecdsa(EcCurve::P256)),
            public_key: &[0x30, 0x00],
            certificate: None,
        })
        .unwrap_err();
        assert!(refused.contains("k3"), "{refused}");
        let spec = KeySpec::Ecdsa(EcCurve::P256);
        let spki = sam_keys::SigningKey::generate(spec)
            .unwrap()
            .public_key_der()
            .unwrap();
        let refused = key_objects(&KeyDescription {
            key_id: "k4",
            label: "k4",
            profile: profile(spec),
            public_key: &spki,
            certificate: Some(b"not a certificate"),
        })
        .unwrap_err();
        assert!(refused.contains("certificate"), "{refused}");
    }
}

#[cfg(test)]
mod certificate_tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sam_algorithms::{EcCurve, HashAlgorithm, RsaPadding};

    #[test]
    fn a_certified_key_has_a_certificate_object_with_its_names_and_serial() {
        let dir = sam_testkit::scratch("pkcs11-objects");
        let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        sam_testkit::run_ok(
            "openssl",
            &[
                "req",
                "-x509",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=Alice Example/O=Example",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-set_serial",
                "4711",
                "-keyout",
                &path("key.pem"),
                "-outform",
                "DER",
                "-out",
                &path("cert.der"),
            ],
        );
        sam_testkit::run_ok(
            "openssl",
            &[
                "pkey",
                "-in",
                &path("key.pem"),
                "-pubout",
                "-outform",
                "DER",
                "-out",
                &path("spki.der"),
            ],
        );
        let certificate = std::fs::read(dir.join("cert.der")).unwrap();
        let spki = std::fs::read(dir.join("spki.der")).unwrap();
        let objects = key_objects(&KeyDescription {
            key_id: "k5",
            label: "Alice",
            profile: KeyProfile {
                spec: KeySpec::Ecdsa(EcCurve::P256),
                hash: HashAlgorithm::Sha256,
                padding: RsaPadding::Pkcs1v15,
            },
            public_key: &spki,
            certificate: Some(&certificate),
        })
        .unwrap();
        assert_eq!(objects.len(), 3);
        let (kind, cert) = &objects[2];
        assert_eq!(*kind, ObjectKind::Certificate);
        let parsed = x509_cert::Certificate::from_der(&certificate).unwrap();
        let subject = parsed.tbs_certificate().subject().to_der().unwrap();
        let get = |object: &Object, attribute| match object.lookup(attribute) {
            Lookup::Value(v) => v,
            other => panic!("0x{attribute:x}: {other:?}"),
        };
        assert_eq!(get(cert, ck::CKA_VALUE), certificate);
        assert_eq!(get(cert, ck::CKA_SUBJECT), subject);
        assert_eq!(get(cert, ck::CKA_ISSUER), subject, "self-signed");
        assert_eq!(get(cert, ck::CKA_SERIAL_NUMBER), [0x02, 0x02, 0x12, 0x67]);
        assert_eq!(get(cert, ck::CKA_ID), b"k5");
        assert_eq!(get(cert, ck::CKA_CERTIFICATE_TYPE), ulong(ck::CKC_X_509));
        // The key objects carry the certificate's subject too (libp11 reads it there).
        assert_eq!(get(&objects[0].1, ck::CKA_SUBJECT), subject);
    }
}
