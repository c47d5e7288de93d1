//! Slots, sessions, logins, object searches and signing operations (PKCS#11 v2.40 §5.6–5.12),
//! as safe state behind the C ABI: every handle checked, every operation's life as the
//! specification says — a length query (`pSignature` null) or a short buffer
//! (`CKR_BUFFER_TOO_SMALL`) keeps the operation, any other end finishes it.
//!
//! A token is one configured user; its keys sign through a [`KeySigner`] (samd's remote
//! signer in the module). The login state is per token and shared by its sessions, as
//! PKCS#11 has it. Under SCAL2 the token has a protected authentication path (the user's
//! device approves each signature) and `C_Login` takes no PIN; under SCAL1 the PIN given to
//! `C_Login` is kept (zeroized on logout) and given to samd with each signature, so a wrong
//! PIN is `CKR_PIN_INCORRECT` at `C_Sign`: samd checks a PIN only against a pending request.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use sam_algorithms::Digest;
use zeroize::Zeroizing;

use crate::Refusal;
use crate::ck;
use crate::mechanism::{KeyProfile, PssParams, SignOperation};
use crate::objects::{Lookup, Object, ObjectKind};

/// Signs a digest with one key: samd's remote signer in the module.
pub trait KeySigner: Send + Sync {
    /// The signature of `digest` as samd gives it (ECDSA DER, RSA octets), with the
    /// token's PIN under SCAL1. Declined → `CKR_FUNCTION_REJECTED`; a wrong PIN →
    /// `CKR_PIN_INCORRECT`; samd unreachable or the wait over → `CKR_DEVICE_ERROR`.
    fn sign(&self, digest: &Digest, pin: Option<&str>) -> Result<Vec<u8>, Refusal>;
}

/// One key of a token.
pub struct TokenKey {
    /// Its signing rules.
    pub profile: KeyProfile,
    /// Its objects (private key first).
    pub objects: Vec<(ObjectKind, Object)>,
    /// How it signs.
    pub signer: Arc<dyn KeySigner>,
}

/// One token (a configured user), in its slot.
pub struct Token {
    /// `CK_TOKEN_INFO.label`.
    pub label: String,
    /// Whether `C_Login` takes the user's PIN (SCAL1) rather than announcing a protected
    /// authentication path (SCAL2: the device).
    pub pin_login: bool,
    /// Its keys.
    pub keys: Vec<TokenKey>,
}

/// At most this many keys per token (object handles are numbered within it).
pub const MAX_KEYS: usize = 1 << 20;

/// How many sessions may be open at once, over all tokens.
pub const MAX_SESSIONS: usize = 4096;

/// An object handle: the slot (plus one), the key and the kind, never 0.
fn object_handle(slot: usize, key: usize, kind: ObjectKind) -> ck::CK_OBJECT_HANDLE {
    let kind = match kind {
        ObjectKind::PrivateKey => 0,
        ObjectKind::PublicKey => 1,
        ObjectKind::Certificate => 2,
    };
    // slot < 64 (config::MAX_TOKENS), key < MAX_KEYS: fits in 32 bits.
    (((slot as ck::CK_ULONG) + 1) << 24) | ((key as ck::CK_ULONG) << 2) | kind
}

/// What a signing call gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    /// A length query (`pSignature` null): this long; the operation goes on.
    Length(usize),
    /// The buffer is shorter than this (`CKR_BUFFER_TOO_SMALL`); the operation goes on.
    TooSmall(usize),
    /// The signature; the operation is over.
    Signature(Vec<u8>),
}

/// Where [`Module::sign_step`] left a signing call.
pub enum SignStep {
    /// Answered without samd.
    Done(SignOutcome),
    /// samd is to sign this; the operation is over either way.
    Ask(PendingSignature),
}

/// A digest for samd to sign, out of the module's state.
pub struct PendingSignature {
    digest: Digest,
    signer: Arc<dyn KeySigner>,
    profile: KeyProfile,
    pin: Option<Zeroizing<String>>,
}

impl PendingSignature {
    /// Asks samd (the user approves), and gives the signature in PKCS#11's encoding.
    pub fn sign(self) -> Result<Vec<u8>, Refusal> {
        let signature = self
            .signer
            .sign(&self.digest, self.pin.as_deref().map(String::as_str))?;
        self.profile.encode_signature(&signature)
    }
}

struct Session {
    slot: usize,
    read_write: bool,
    search: Option<VecDeque<ck::CK_OBJECT_HANDLE>>,
    signing: Option<(usize, SignOperation)>,
}

/// The module's tokens and sessions.
pub struct Module {
    tokens: Vec<Token>,
    logins: Vec<Option<Login>>,
    sessions: HashMap<ck::CK_SESSION_HANDLE, Session>,
    next_session: ck::CK_SESSION_HANDLE,
}

/// A token's login: its PIN under SCAL1.
struct Login {
    pin: Option<Zeroizing<String>>,
}

impl Module {
    /// The module over `tokens`, slot `n` holding `tokens[n]`. More than
    /// [`crate::config::MAX_TOKENS`] tokens, or more than [`MAX_KEYS`] keys in one, is
    /// refused.
    pub fn new(tokens: Vec<Token>) -> Result<Self, Refusal> {
        if tokens.len() > crate::config::MAX_TOKENS
            || tokens.iter().any(|t| t.keys.len() > MAX_KEYS)
        {
            return Err(Refusal::new(
                ck::CKR_GENERAL_ERROR,
                "too many tokens or keys for the module's handles",
            ));
        }
        Ok(Self {
            logins: tokens.iter().map(|_| None).collect(),
            tokens,
            sessions: HashMap::new(),
            next_session: 1,
        })
    }

    /// The slots (`C_GetSlotList`): every slot has its token.
    pub fn slots(&self) -> Vec<ck::CK_SLOT_ID> {
        (0..self.tokens.len() as ck::CK_SLOT_ID).collect()
    }

    /// The token in `slot`.
    pub fn token(&self, slot: ck::CK_SLOT_ID) -> Result<&Token, Refusal> {
        usize::try_from(slot)
            .ok()
            .and_then(|n| self.tokens.get(n))
            .ok_or_else(|| Refusal::new(ck::CKR_SLOT_ID_INVALID, format!("no slot {slot}")))
    }

    /// How many sessions are open with the token in `slot`.
    pub fn session_count(&self, slot: ck::CK_SLOT_ID) -> usize {
        self.sessions
            .values()
            .filter(|s| s.slot as ck::CK_SLOT_ID == slot)
            .count()
    }

    /// Whether the token in `slot` is logged in.
    pub fn logged_in(&self, slot: ck::CK_SLOT_ID) -> bool {
        usize::try_from(slot)
            .ok()
            .and_then(|n| self.logins.get(n))
            .is_some_and(Option::is_some)
    }

    /// `C_OpenSession`: a serial session (read-only or read/write: the token has nothing
    /// to write, so both only read).
    pub fn open_session(
        &mut self,
        slot: ck::CK_SLOT_ID,
        flags: ck::CK_FLAGS,
    ) -> Result<ck::CK_SESSION_HANDLE, Refusal> {
        self.token(slot)?;
        if flags & ck::CKF_SERIAL_SESSION == 0 {
            return Err(Refusal::new(
                ck::CKR_SESSION_PARALLEL_NOT_SUPPORTED,
                "CKF_SERIAL_SESSION must be set (PKCS#11 v2.40 §5.6)",
            ));
        }
        if self.sessions.len() >= MAX_SESSIONS {
            return Err(Refusal::new(
                ck::CKR_SESSION_COUNT,
                format!("{MAX_SESSIONS} sessions are open"),
            ));
        }
        let handle = self.next_session;
        self.next_session = self.next_session.wrapping_add(1).max(1);
        self.sessions.insert(
            handle,
            Session {
                slot: usize::try_from(slot).unwrap_or(usize::MAX),
                read_write: flags & ck::CKF_RW_SESSION != 0,
                search: None,
                signing: None,
            },
        );
        Ok(handle)
    }

    /// `C_CloseSession`; the token's login ends with its last session.
    pub fn close_session(&mut self, session: ck::CK_SESSION_HANDLE) -> Result<(), Refusal> {
        let closed = self
            .sessions
            .remove(&session)
            .ok_or_else(|| invalid(session))?;
        if !self.sessions.values().any(|s| s.slot == closed.slot) {
            self.logins[closed.slot] = None;
        }
        Ok(())
    }

    /// `C_CloseAllSessions`.
    pub fn close_all_sessions(&mut self, slot: ck::CK_SLOT_ID) -> Result<(), Refusal> {
        self.token(slot)?;
        let slot = usize::try_from(slot).unwrap_or(usize::MAX);
        self.sessions.retain(|_, s| s.slot != slot);
        self.logins[slot] = None;
        Ok(())
    }

    /// `C_GetSessionInfo`: its slot, state and flags.
    pub fn session_info(
        &self,
        session: ck::CK_SESSION_HANDLE,
    ) -> Result<ck::CK_SESSION_INFO, Refusal> {
        let s = self.session(session)?;
        let user = self.logins[s.slot].is_some();
        let state = match (s.read_write, user) {
            (false, false) => ck::CKS_RO_PUBLIC_SESSION,
            (false, true) => ck::CKS_RO_USER_FUNCTIONS,
            (true, false) => ck::CKS_RW_PUBLIC_SESSION,
            (true, true) => ck::CKS_RW_USER_FUNCTIONS,
        };
        Ok(ck::CK_SESSION_INFO {
            slotID: s.slot as ck::CK_SLOT_ID,
            state,
            flags: ck::CKF_SERIAL_SESSION | if s.read_write { ck::CKF_RW_SESSION } else { 0 },
            ulDeviceError: 0,
        })
    }

    /// `C_Login` as the normal user: with the PIN under SCAL1, without one (the protected
    /// authentication path) under SCAL2.
    pub fn login(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        user_type: ck::CK_USER_TYPE,
        pin: Option<&[u8]>,
    ) -> Result<(), Refusal> {
        let slot = self.session(session)?.slot;
        if user_type != ck::CKU_USER {
            return Err(Refusal::new(
                ck::CKR_USER_TYPE_INVALID,
                "only the normal user logs in: sam has no security officer on its tokens",
            ));
        }
        if self.logins[slot].is_some() {
            return Err(Refusal::new(
                ck::CKR_USER_ALREADY_LOGGED_IN,
                "the token is logged in",
            ));
        }
        let pin = match (self.tokens[slot].pin_login, pin) {
            (true, Some(pin)) => {
                let text = std::str::from_utf8(pin).map_err(|_| {
                    Refusal::new(ck::CKR_ARGUMENTS_BAD, "the PIN is not UTF-8 text")
                })?;
                if text.is_empty() {
                    return Err(Refusal::new(ck::CKR_PIN_INCORRECT, "an empty PIN"));
                }
                Some(Zeroizing::new(text.to_owned()))
            }
            (true, None) => {
                return Err(Refusal::new(
                    ck::CKR_ARGUMENTS_BAD,
                    "this token's keys are approved with the user's PIN: give it to C_Login",
                ));
            }
            // The device is the protected authentication path; a PIN given is not used.
            (false, _) => None,
        };
        self.logins[slot] = Some(Login { pin });
        Ok(())
    }

    /// `C_Logout`: the PIN forgotten.
    pub fn logout(&mut self, session: ck::CK_SESSION_HANDLE) -> Result<(), Refusal> {
        let slot = self.session(session)?.slot;
        if self.logins[slot].take().is_none() {
            return Err(Refusal::new(ck::CKR_USER_NOT_LOGGED_IN, "not logged in"));
        }
        Ok(())
    }

    /// `C_FindObjectsInit`: the objects matching `template` that the session may see
    /// (private objects once logged in).
    pub fn find_init(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        template: &[(ck::CK_ATTRIBUTE_TYPE, Vec<u8>)],
    ) -> Result<(), Refusal> {
        let slot = self.session(session)?.slot;
        if self.session(session)?.search.is_some() {
            return Err(Refusal::new(
                ck::CKR_OPERATION_ACTIVE,
                "a search is active: C_FindObjectsFinal first",
            ));
        }
        let user = self.logins[slot].is_some();
        let mut found = VecDeque::new();
        for (n, key) in self.tokens[slot].keys.iter().enumerate() {
            for (kind, object) in &key.objects {
                let private = object.lookup(ck::CKA_PRIVATE) == Lookup::Value(vec![1]);
                if (user || !private) && object.matches(template) {
                    found.push_back(object_handle(slot, n, *kind));
                }
            }
        }
        self.session_mut(session)?.search = Some(found);
        Ok(())
    }

    /// `C_FindObjects`: up to `max` more handles.
    pub fn find(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        max: usize,
    ) -> Result<Vec<ck::CK_OBJECT_HANDLE>, Refusal> {
        let search = self
            .session_mut(session)?
            .search
            .as_mut()
            .ok_or_else(|| Refusal::new(ck::CKR_OPERATION_NOT_INITIALIZED, "no search"))?;
        let n = max.min(search.len());
        Ok(search.drain(..n).collect())
    }

    /// `C_FindObjectsFinal`.
    pub fn find_final(&mut self, session: ck::CK_SESSION_HANDLE) -> Result<(), Refusal> {
        self.session_mut(session)?
            .search
            .take()
            .map(|_| ())
            .ok_or_else(|| Refusal::new(ck::CKR_OPERATION_NOT_INITIALIZED, "no search"))
    }

    /// The object `handle` as `session` may see it.
    pub fn object(
        &self,
        session: ck::CK_SESSION_HANDLE,
        handle: ck::CK_OBJECT_HANDLE,
    ) -> Result<&Object, Refusal> {
        let slot = self.session(session)?.slot;
        let (key, kind) = self.locate(slot, handle)?;
        let object = self.tokens[slot].keys[key]
            .objects
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, o)| o)
            .ok_or_else(|| no_object(handle))?;
        let private = object.lookup(ck::CKA_PRIVATE) == Lookup::Value(vec![1]);
        if private && self.logins[slot].is_none() {
            return Err(no_object(handle));
        }
        Ok(object)
    }

    fn locate(
        &self,
        slot: usize,
        handle: ck::CK_OBJECT_HANDLE,
    ) -> Result<(usize, ObjectKind), Refusal> {
        let in_slot = (handle >> 24).checked_sub(1);
        if in_slot != Some(slot as ck::CK_ULONG) {
            return Err(no_object(handle));
        }
        let key = usize::try_from((handle >> 2) & ((1 << 22) - 1)).unwrap_or(usize::MAX);
        let kind = match handle & 3 {
            0 => ObjectKind::PrivateKey,
            1 => ObjectKind::PublicKey,
            2 => ObjectKind::Certificate,
            _ => return Err(no_object(handle)),
        };
        if key >= self.tokens[slot].keys.len() {
            return Err(no_object(handle));
        }
        Ok((key, kind))
    }

    /// `C_SignInit` with the private key `key`.
    pub fn sign_init(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        mechanism: ck::CK_MECHANISM_TYPE,
        pss: Option<PssParams>,
        key: ck::CK_OBJECT_HANDLE,
    ) -> Result<(), Refusal> {
        let slot = self.session(session)?.slot;
        if self.session(session)?.signing.is_some() {
            return Err(Refusal::new(
                ck::CKR_OPERATION_ACTIVE,
                "a signing operation is active",
            ));
        }
        if self.logins[slot].is_none() {
            return Err(Refusal::new(
                ck::CKR_USER_NOT_LOGGED_IN,
                "log in first (C_Login): the key is private",
            ));
        }
        let (index, kind) = self
            .locate(slot, key)
            .map_err(|e| Refusal::new(ck::CKR_KEY_HANDLE_INVALID, e.reason))?;
        if kind != ObjectKind::PrivateKey {
            return Err(Refusal::new(
                ck::CKR_KEY_FUNCTION_NOT_PERMITTED,
                "only a private key signs",
            ));
        }
        let profile = self.tokens[slot].keys[index].profile;
        let operation = SignOperation::new(profile, profile.sign_mechanism(mechanism, pss)?);
        self.session_mut(session)?.signing = Some((index, operation));
        Ok(())
    }

    /// `C_SignUpdate`; an error ends the operation.
    pub fn sign_update(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        data: &[u8],
    ) -> Result<(), Refusal> {
        let s = self.session_mut(session)?;
        let (_, operation) = s
            .signing
            .as_mut()
            .ok_or_else(|| Refusal::new(ck::CKR_OPERATION_NOT_INITIALIZED, "no C_SignInit"))?;
        let done = operation.update(data);
        if done.is_err() {
            s.signing = None;
        }
        done
    }

    /// `C_Sign` (`data` given) or `C_SignFinal` (`data` none) into a buffer of `capacity`
    /// bytes (`None`: a length query), to the end: [`Self::sign_step`] then
    /// [`PendingSignature::sign`].
    pub fn sign(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        capacity: Option<usize>,
    ) -> Result<SignOutcome, Refusal> {
        match self.sign_step(session, data, capacity)? {
            SignStep::Done(outcome) => Ok(outcome),
            SignStep::Ask(pending) => pending.sign().map(SignOutcome::Signature),
        }
    }

    /// The part of `C_Sign` / `C_SignFinal` that needs the module's state: a length
    /// answer, or the digest to ask samd for — asked with [`PendingSignature::sign`] once
    /// the module's lock is released, so that one user's approval does not hold up the
    /// other sessions.
    pub fn sign_step(
        &mut self,
        session: ck::CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        capacity: Option<usize>,
    ) -> Result<SignStep, Refusal> {
        let slot = self.session(session)?.slot;
        let (index, _) = self
            .session(session)?
            .signing
            .as_ref()
            .ok_or_else(|| Refusal::new(ck::CKR_OPERATION_NOT_INITIALIZED, "no C_SignInit"))?;
        let key = &self.tokens[slot].keys[*index];
        let len = key.profile.signature_len();
        match capacity {
            None => return Ok(SignStep::Done(SignOutcome::Length(len))),
            Some(c) if c < len => return Ok(SignStep::Done(SignOutcome::TooSmall(len))),
            Some(_) => {}
        }
        let signer = key.signer.clone();
        let profile = key.profile;
        let pin = self.logins[slot].as_ref().and_then(|l| {
            l.pin
                .as_ref()
                .map(|p| Zeroizing::new(p.as_str().to_owned()))
        });
        let Some((_, mut operation)) = self.session_mut(session)?.signing.take() else {
            return Err(Refusal::new(
                ck::CKR_OPERATION_NOT_INITIALIZED,
                "no C_SignInit",
            ));
        };
        if let Some(data) = data {
            operation.update(data)?;
        }
        Ok(SignStep::Ask(PendingSignature {
            digest: operation.digest()?,
            signer,
            profile,
            pin,
        }))
    }

    fn session(&self, session: ck::CK_SESSION_HANDLE) -> Result<&Session, Refusal> {
        self.sessions.get(&session).ok_or_else(|| invalid(session))
    }

    fn session_mut(&mut self, session: ck::CK_SESSION_HANDLE) -> Result<&mut Session, Refusal> {
        self.sessions
            .get_mut(&session)
            .ok_or_else(|| invalid(session))
    }
}

fn invalid(session: ck::CK_SESSION_HANDLE) -> Refusal {
    Refusal::new(
        ck::CKR_SESSION_HANDLE_INVALID,
        format!("no session {session}"),
    )
}

fn no_object(handle: ck::CK_OBJECT_HANDLE) -> Refusal {
    Refusal::new(ck::CKR_OBJECT_HANDLE_INVALID, format!("no object {handle}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::*;
    use crate::objects::{KeyDescription, key_objects};
    use sam_algorithms::{EcCurve, HashAlgorithm, KeySpec, RsaPadding};

    /// A key signing in process with sam-keys (real ECDSA), remembering what it was asked,
    /// or refusing as samd does when the user declines.
    struct InProcess {
        key: sam_keys::SigningKey,
        refuse: Option<ck::CK_RV>,
        asked: Mutex<Vec<Asked>>,
    }

    /// One signature the key made: over what, with which PIN, and the DER it gave.
    #[derive(Clone)]
    struct Asked {
        digest: Digest,
        pin: Option<String>,
        signature: Vec<u8>,
    }

    impl KeySigner for InProcess {
        fn sign(&self, digest: &Digest, pin: Option<&str>) -> Result<Vec<u8>, Refusal> {
            if let Some(rv) = self.refuse {
                return Err(Refusal::new(rv, "declined on the device"));
            }
            let der = self
                .key
                .sign(RsaPadding::Pkcs1v15, &sam_keys::Input::Digest(*digest))
                .unwrap();
            self.asked.lock().unwrap().push(Asked {
                digest: *digest,
                pin: pin.map(str::to_owned),
                signature: der.clone(),
            });
            Ok(der)
        }
    }

    const P256: KeyProfile = KeyProfile {
        spec: KeySpec::Ecdsa(EcCurve::P256),
        hash: HashAlgorithm::Sha256,
        padding: RsaPadding::Pkcs1v15,
    };

    fn token(pin_login: bool, refuse: Option<ck::CK_RV>) -> (Token, Arc<InProcess>, Vec<u8>) {
        let key = sam_keys::SigningKey::generate(P256.spec).unwrap();
        let spki = key.public_key_der().unwrap();
        let signer = Arc::new(InProcess {
            key,
            refuse,
            asked: Mutex::new(Vec::new()),
        });
        let objects = key_objects(&KeyDescription {
            key_id: "k1",
            label: "k1",
            profile: P256,
            public_key: &spki,
            certificate: None,
        })
        .unwrap();
        let token = Token {
            label: "alice".into(),
            pin_login,
            keys: vec![TokenKey {
                profile: P256,
                objects,
                signer: signer.clone(),
            }],
        };
        (token, signer, spki)
    }

    fn class(class: ck::CK_OBJECT_CLASS) -> (ck::CK_ATTRIBUTE_TYPE, Vec<u8>) {
        (ck::CKA_CLASS, class.to_ne_bytes().to_vec())
    }

    fn private_key(module: &mut Module, session: ck::CK_SESSION_HANDLE) -> ck::CK_OBJECT_HANDLE {
        module
            .find_init(session, &[class(ck::CKO_PRIVATE_KEY)])
            .unwrap();
        let found = module.find(session, 10).unwrap();
        module.find_final(session).unwrap();
        assert_eq!(found.len(), 1);
        found[0]
    }

    #[test]
    fn sessions_need_a_slot_and_the_serial_flag_and_end_the_login_with_the_last() {
        let (token, _, _) = token(false, None);
        let mut module = Module::new(vec![token]).unwrap();
        assert_eq!(module.slots(), [0]);
        assert_eq!(
            module
                .open_session(1, ck::CKF_SERIAL_SESSION)
                .unwrap_err()
                .rv,
            ck::CKR_SLOT_ID_INVALID
        );
        assert_eq!(
            module.open_session(0, 0).unwrap_err().rv,
            ck::CKR_SESSION_PARALLEL_NOT_SUPPORTED
        );
        let a = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        let b = module
            .open_session(0, ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION)
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(module.session_count(0), 2);
        assert_eq!(
            module.session_info(a).unwrap().state,
            ck::CKS_RO_PUBLIC_SESSION
        );
        module.login(a, ck::CKU_USER, None).unwrap();
        // The login is the token's: both sessions see it.
        assert_eq!(
            module.session_info(a).unwrap().state,
            ck::CKS_RO_USER_FUNCTIONS
        );
        assert_eq!(
            module.session_info(b).unwrap().state,
            ck::CKS_RW_USER_FUNCTIONS
        );
        module.close_session(a).unwrap();
        assert!(module.logged_in(0));
        assert_eq!(
            module.close_session(a).unwrap_err().rv,
            ck::CKR_SESSION_HANDLE_INVALID
        );
        module.close_session(b).unwrap();
        assert!(!module.logged_in(0), "the last session ends the login");
        let c = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        module.login(c, ck::CKU_USER, None).unwrap();
        module.close_all_sessions(0).unwrap();
        assert!(!module.logged_in(0));
        assert_eq!(module.session_count(0), 0);
        assert_eq!(
            module.session_info(c).unwrap_err().rv,
            ck::CKR_SESSION_HANDLE_INVALID
        );
    }

    #[test]
    fn login_is_the_users_with_a_pin_only_under_scal1() {
        let (device, _, _) = token(false, None);
        let (pin, _, _) = token(true, None);
        let mut module = Module::new(vec![device, pin]).unwrap();
        let s = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        assert_eq!(
            module.login(s, ck::CKU_SO, Some(b"1234")).unwrap_err().rv,
            ck::CKR_USER_TYPE_INVALID
        );
        module.login(s, ck::CKU_USER, None).unwrap();
        assert_eq!(
            module.login(s, ck::CKU_USER, None).unwrap_err().rv,
            ck::CKR_USER_ALREADY_LOGGED_IN
        );
        module.logout(s).unwrap();
        assert_eq!(module.logout(s).unwrap_err().rv, ck::CKR_USER_NOT_LOGGED_IN);

        let t = module.open_session(1, ck::CKF_SERIAL_SESSION).unwrap();
        assert_eq!(
            module.login(t, ck::CKU_USER, None).unwrap_err().rv,
            ck::CKR_ARGUMENTS_BAD
        );
        assert_eq!(
            module.login(t, ck::CKU_USER, Some(b"")).unwrap_err().rv,
            ck::CKR_PIN_INCORRECT
        );
        assert_eq!(
            module.login(t, ck::CKU_USER, Some(&[0xff])).unwrap_err().rv,
            ck::CKR_ARGUMENTS_BAD
        );
        module.login(t, ck::CKU_USER, Some(b"4711")).unwrap();
        assert!(module.logged_in(1) && !module.logged_in(0));
    }

    #[test]
    fn private_objects_are_found_only_once_logged_in_and_searches_come_in_pages() {
        let (token, _, _) = token(false, None);
        let mut module = Module::new(vec![token]).unwrap();
        let s = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        module.find_init(s, &[]).unwrap();
        let public = module.find(s, 10).unwrap();
        assert_eq!(public.len(), 1, "the public key only");
        assert_eq!(
            module.find_init(s, &[]).unwrap_err().rv,
            ck::CKR_OPERATION_ACTIVE
        );
        module.find_final(s).unwrap();
        assert_eq!(
            module.find(s, 1).unwrap_err().rv,
            ck::CKR_OPERATION_NOT_INITIALIZED
        );
        let hidden = public[0] & !3; // the private key's handle, guessed
        assert_eq!(
            module.object(s, hidden).unwrap_err().rv,
            ck::CKR_OBJECT_HANDLE_INVALID
        );

        module.login(s, ck::CKU_USER, None).unwrap();
        module.find_init(s, &[]).unwrap();
        assert_eq!(module.find(s, 1).unwrap().len(), 1);
        assert_eq!(module.find(s, 1).unwrap().len(), 1);
        assert!(module.find(s, 1).unwrap().is_empty());
        module.find_final(s).unwrap();
        let key = private_key(&mut module, s);
        let object = module.object(s, key).unwrap();
        assert_eq!(object.kind(), ObjectKind::PrivateKey);
        for bad in [0, 1, key + 4, key | 3, key + (1 << 24), ck::CK_ULONG::MAX] {
            assert_eq!(
                module.object(s, bad).unwrap_err().rv,
                ck::CKR_OBJECT_HANDLE_INVALID,
                "{bad:x}"
            );
        }
    }

    #[test]
    fn a_signature_is_the_keys_over_the_digest_with_length_queries_keeping_the_operation() {
        let (token, signer, spki) = token(false, None);
        let mut module = Module::new(vec![token]).unwrap();
        let s = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        assert_eq!(
            module
                .sign_init(s, ck::CKM_ECDSA_SHA256, None, 1)
                .unwrap_err()
                .rv,
            ck::CKR_USER_NOT_LOGGED_IN
        );
        module.login(s, ck::CKU_USER, None).unwrap();
        let key = private_key(&mut module, s);
        assert_eq!(
            module
                .sign_init(s, ck::CKM_ECDSA_SHA256, None, key | 1)
                .unwrap_err()
                .rv,
            ck::CKR_KEY_FUNCTION_NOT_PERMITTED
        );
        assert_eq!(
            module
                .sign_init(s, ck::CKM_ECDSA_SHA256, None, key + 4)
                .unwrap_err()
                .rv,
            ck::CKR_KEY_HANDLE_INVALID
        );
        assert_eq!(
            module.sign(s, Some(b"x"), Some(64)).unwrap_err().rv,
            ck::CKR_OPERATION_NOT_INITIALIZED
        );
        module
            .sign_init(s, ck::CKM_ECDSA_SHA256, None, key)
            .unwrap();
        assert_eq!(
            module
                .sign_init(s, ck::CKM_ECDSA_SHA256, None, key)
                .unwrap_err()
                .rv,
            ck::CKR_OPERATION_ACTIVE
        );
        let data = b"a contract";
        assert_eq!(
            module.sign(s, Some(data), None).unwrap(),
            SignOutcome::Length(64)
        );
        assert_eq!(
            module.sign(s, Some(data), Some(10)).unwrap(),
            SignOutcome::TooSmall(64)
        );
        let SignOutcome::Signature(raw) = module.sign(s, Some(data), Some(64)).unwrap() else {
            panic!("no signature")
        };
        assert_eq!(raw.len(), 64);
        let asked = signer.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "samd asked once, after the length queries");
        let Asked {
            digest,
            pin,
            signature: der,
        } = &asked[0];
        assert_eq!(*digest, HashAlgorithm::Sha256.digest(data));
        assert_eq!(*pin, None);
        assert_eq!(P256.encode_signature(der).unwrap(), raw);
        sam_keys::verify(
            &spki,
            P256.spec,
            RsaPadding::Pkcs1v15,
            &sam_keys::Input::Digest(*digest),
            der,
        )
        .unwrap();
        // The operation is over.
        assert_eq!(
            module.sign(s, Some(data), Some(64)).unwrap_err().rv,
            ck::CKR_OPERATION_NOT_INITIALIZED
        );

        // In parts: the same digest.
        module
            .sign_init(s, ck::CKM_ECDSA_SHA256, None, key)
            .unwrap();
        module.sign_update(s, b"a con").unwrap();
        module.sign_update(s, b"tract").unwrap();
        assert!(matches!(
            module.sign(s, None, Some(64)).unwrap(),
            SignOutcome::Signature(_)
        ));
        let asked = signer.asked.lock().unwrap().clone();
        assert_eq!(asked[1].digest, HashAlgorithm::Sha256.digest(data));

        // CKM_ECDSA: too long an input ends the operation at C_SignUpdate.
        module.sign_init(s, ck::CKM_ECDSA, None, key).unwrap();
        assert_eq!(
            module.sign_update(s, &[0; 200]).unwrap_err().rv,
            ck::CKR_DATA_LEN_RANGE
        );
        assert_eq!(
            module.sign_update(s, &[0; 32]).unwrap_err().rv,
            ck::CKR_OPERATION_NOT_INITIALIZED
        );
    }

    #[test]
    fn the_pin_goes_with_each_signature_and_a_refusal_ends_the_operation() {
        let (pin_token, signer, _) = token(true, None);
        let (declining, _, _) = token(false, Some(ck::CKR_FUNCTION_REJECTED));
        let mut module = Module::new(vec![pin_token, declining]).unwrap();
        let s = module.open_session(0, ck::CKF_SERIAL_SESSION).unwrap();
        module.login(s, ck::CKU_USER, Some(b"4711")).unwrap();
        let key = private_key(&mut module, s);
        module
            .sign_init(s, ck::CKM_ECDSA_SHA256, None, key)
            .unwrap();
        module.sign(s, Some(b"x"), Some(64)).unwrap();
        assert_eq!(signer.asked.lock().unwrap()[0].pin.as_deref(), Some("4711"));
        // A key handle of another slot's token is not this session's.
        let t = module.open_session(1, ck::CKF_SERIAL_SESSION).unwrap();
        module.login(t, ck::CKU_USER, None).unwrap();
        assert_eq!(
            module
                .sign_init(t, ck::CKM_ECDSA_SHA256, None, key)
                .unwrap_err()
                .rv,
            ck::CKR_KEY_HANDLE_INVALID
        );
        let declined_key = private_key(&mut module, t);
        module
            .sign_init(t, ck::CKM_ECDSA_SHA256, None, declined_key)
            .unwrap();
        assert_eq!(
            module.sign(t, Some(b"x"), Some(64)).unwrap_err().rv,
            ck::CKR_FUNCTION_REJECTED
        );
        assert_eq!(
            module.sign(t, Some(b"x"), Some(64)).unwrap_err().rv,
            ck::CKR_OPERATION_NOT_INITIALIZED
        );
    }
}
