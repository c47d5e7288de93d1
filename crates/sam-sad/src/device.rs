//! The messages a device signs outside a SAD (PROTOCOL.md "Actors and trust anchors"), shared
//! by `sam` and every device implementation:
//!
//! - [`registration_message`]: proof of possession at Register Device —
//!   `"sam-device-registration-v1" 0x00 client 0x00 user 0x00 device 0x00
//!   SHA-256(SubjectPublicKeyInfo)`;
//! - [`session_message`]: the answer to a device-session challenge —
//!   `"sam-device-session-v1" 0x00 client 0x00 device 0x00 challenge-id 0x00 challenge`.
//!
//! The ids cannot contain 0x00 (their grammars exclude it), so each message has one reading.
//! RSA and ECDSA keys sign the message's hash under their JOSE algorithm's hash; ML-DSA keys
//! sign the message.

use sam_algorithms::HashAlgorithm;

/// The message a device signs to prove it holds the key it registers.
pub fn registration_message(
    client_id: &str,
    user_id: &str,
    device_id: &str,
    spki_der: &[u8],
) -> Vec<u8> {
    let mut message = b"sam-device-registration-v1\0".to_vec();
    for part in [client_id, user_id, device_id] {
        message.extend_from_slice(part.as_bytes());
        message.push(0);
    }
    message.extend_from_slice(HashAlgorithm::Sha256.digest(spki_der).as_bytes());
    message
}

/// The message a device signs to open a session.
pub fn session_message(
    client_id: &str,
    device_id: &str,
    challenge_id: &str,
    challenge: &str,
) -> Vec<u8> {
    let mut message = b"sam-device-session-v1\0".to_vec();
    for part in [client_id, device_id, challenge_id] {
        message.extend_from_slice(part.as_bytes());
        message.push(0);
    }
    message.extend_from_slice(challenge.as_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_is_bound_and_separated() {
        let base = registration_message("c", "u", "d", b"spki");
        assert!(base.starts_with(b"sam-device-registration-v1\0c\0u\0d\0"));
        assert_eq!(base.len(), 27 + 6 + 32);
        for other in [
            registration_message("cu", "", "d", b"spki"),
            registration_message("c", "u", "d", b"spkj"),
            registration_message("c", "ud", "", b"spki"),
        ] {
            assert_ne!(base, other);
        }
        let s = session_message("c", "d", "i", "x");
        assert_eq!(s, b"sam-device-session-v1\0c\0d\0i\0x");
        assert_ne!(s, session_message("c", "d", "ix", ""));
        assert_ne!(s, registration_message("c", "d", "i", b"x"));
    }
}
