//! Activations: the only way to make a token sign (SECURITY.md invariant 1, "no activation
//! without a verified SAD"; CEN EN 419 241-2 SAM: the signing key is activated by the SAD).
//!
//! An [`Activation`] names one key and exactly the digests that key may sign. A token checks
//! every input of a signing request against it, in constant time, before it touches the key.
//!
//! # Who can make one
//!
//! `Activation` has no public constructor. It is minted by an [`ActivationIssuer`], and a
//! process has at most one: [`ActivationIssuer::take`] returns it the first time and `None`
//! ever after. The server takes it once at start-up and hands it to the SAD verifier, which
//! issues activations only for SADs that passed every check; no other part of the process can
//! obtain an issuer, so no other path can produce an activation. Tests take the issuer the
//! same way (once per test binary).

use core::sync::atomic::{AtomicBool, Ordering};

use sam_algorithms::Digest;
use subtle::ConstantTimeEq;

use crate::error::ActivationRefusal;
use crate::kak::KeyUseAuthorisation;
use crate::key::KeyId;

static ISSUER_TAKEN: AtomicBool = AtomicBool::new(false);

/// The one capability in a process that can mint [`Activation`]s.
#[derive(Debug)]
pub struct ActivationIssuer {
    _private: (),
}

impl ActivationIssuer {
    /// The process's issuer, the first time this is called; `None` every time after.
    pub fn take() -> Option<Self> {
        (!ISSUER_TAKEN.swap(true, Ordering::SeqCst)).then_some(Self { _private: () })
    }

    /// An activation of `key_id` for exactly `digests`. Call this only after the SAD that
    /// authorises them has been verified.
    pub fn activate(&self, key_id: KeyId, digests: Vec<Digest>) -> Activation {
        Activation {
            key_id,
            digests,
            kak_authorisation: None,
        }
    }
}

/// Permission to sign exactly these digests with exactly this key; see the module docs.
#[derive(Debug)]
pub struct Activation {
    key_id: KeyId,
    digests: Vec<Digest>,
    kak_authorisation: Option<KeyUseAuthorisation>,
}

impl Activation {
    /// The key this activation is for.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The digests it allows.
    pub fn digests(&self) -> &[Digest] {
        &self.digests
    }

    /// Attaches the KAK-signed authorisation a [`KakGate`](crate::KakGate) requires. It can
    /// only narrow what the activation allows: the gate checks it against the activation.
    pub fn attach_kak_authorisation(&mut self, authorisation: KeyUseAuthorisation) {
        self.kak_authorisation = Some(authorisation);
    }

    /// The attached KAK authorisation.
    pub fn kak_authorisation(&self) -> Option<&KeyUseAuthorisation> {
        self.kak_authorisation.as_ref()
    }

    /// Whether `digest` is among the allowed digests. Every allowed digest is compared, in
    /// constant time, whatever matches.
    pub fn allows(&self, digest: &Digest) -> bool {
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| found | d.ct_eq(digest))
            .into()
    }

    /// Checks a request of `digests` for `key_id`: the key matches, there are no more inputs
    /// than allowed digests, and every input is allowed.
    pub fn check<'a>(
        &self,
        key_id: &KeyId,
        digests: impl ExactSizeIterator<Item = &'a Digest>,
    ) -> Result<(), ActivationRefusal> {
        if *key_id != self.key_id {
            return Err(ActivationRefusal::OtherKey {
                activated: self.key_id.to_string(),
                requested: key_id.to_string(),
            });
        }
        if digests.len() > self.digests.len() {
            return Err(ActivationRefusal::TooMany {
                requested: digests.len(),
                allowed: self.digests.len(),
            });
        }
        for (index, digest) in digests.enumerate() {
            if !self.allows(digest) {
                return Err(ActivationRefusal::DigestNotAllowed { index });
            }
        }
        Ok(())
    }
}
