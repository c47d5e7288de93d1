//! One loaded and initialised PKCS#11 module per path, and one logged-in slot per process:
//! a long-lived primary session that holds the login, and a pool of further sessions for
//! concurrent signing.
//!
//! PKCS #11 keeps the login state per application and token: once any session of the
//! process is logged in to a slot, `C_Login` on another session answers
//! `CKR_USER_ALREADY_LOGGED_IN` without looking at the PIN. So every token opened on a slot
//! shares that slot's one session, and a later open must present the PIN the slot was logged
//! in with (compared as salted SHA-256, in constant time); otherwise a wrong PIN would appear
//! to work.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use sha2::Digest as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Pkcs11>>>> = OnceLock::new();
/// The logged-in slots, by module path and slot id.
type SlotRegistry = Mutex<HashMap<(PathBuf, u64), Arc<SharedSlot>>>;

static SLOTS: OnceLock<SlotRegistry> = OnceLock::new();

/// The module at `path`, loaded and initialised on first use.
pub(crate) fn load(path: &Path) -> Result<Arc<Pkcs11>, String> {
    let modules = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut modules = modules
        .lock()
        .map_err(|_| "the PKCS#11 module registry is poisoned".to_owned())?;
    if let Some(module) = modules.get(path) {
        return Ok(Arc::clone(module));
    }
    let pkcs11 = Pkcs11::new(path)
        .map_err(|e| format!("cannot load PKCS#11 module {}: {e}", path.display()))?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(format!("C_Initialize of {}: {e}", path.display())),
    }
    let pkcs11 = Arc::new(pkcs11);
    modules.insert(path.to_owned(), Arc::clone(&pkcs11));
    Ok(pkcs11)
}

/// The most sessions a slot opens for concurrent requests, besides the primary one.
pub const MAX_POOLED_SESSIONS: usize = 8;

/// A logged-in slot: the primary session, which holds the login for the process and serves
/// administration, and a pool of read/write sessions for signing (opened on demand, logged in
/// by the primary's login, kept open).
pub(crate) struct SharedSlot {
    pub(crate) slot: Slot,
    pub(crate) session: Mutex<Session>,
    pkcs11: Arc<Pkcs11>,
    idle: Mutex<Vec<Session>>,
    pooled: AtomicUsize,
    /// The PIN the slot is logged in with: kept (zeroized on drop) to log in again after an
    /// SO operation or a lost session.
    pin: Mutex<Zeroizing<String>>,
}

fn pin_hash(slot: Slot, pin: &str) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"sam pkcs11 login pin v1\0");
    h.update(slot.id().to_be_bytes());
    h.update(pin.as_bytes());
    h.finalize().into()
}

/// Why a slot could not be opened.
pub(crate) enum LoginError {
    /// The token refused the PIN, or it differs from the one the slot is logged in with.
    Pin(Error),
    /// The PIN differs from the one this process logged the slot in with.
    PinMismatch,
    /// Anything else.
    Other(&'static str, Error),
    /// The registry lock is poisoned.
    Poisoned,
}

/// The logged-in session of `slot`, logging in with `pin` the first time.
pub(crate) fn login(
    pkcs11: &Arc<Pkcs11>,
    module: &Path,
    slot: Slot,
    pin: &str,
) -> Result<Arc<SharedSlot>, LoginError> {
    let slots = SLOTS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut slots = slots.lock().map_err(|_| LoginError::Poisoned)?;
    let key = (module.to_owned(), slot.id());
    if let Some(shared) = slots.get(&key) {
        let known = pin_hash(slot, &shared.pin.lock().map_err(|_| LoginError::Poisoned)?);
        return if bool::from(known.ct_eq(&pin_hash(slot, pin))) {
            Ok(Arc::clone(shared))
        } else {
            Err(LoginError::PinMismatch)
        };
    }
    let session = pkcs11
        .open_rw_session(slot)
        .map_err(|e| LoginError::Other("C_OpenSession", e))?;
    match session.login(UserType::User, Some(&pin.into())) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => return Err(LoginError::Pin(e)),
    }
    let shared = Arc::new(SharedSlot {
        slot,
        session: Mutex::new(session),
        pkcs11: Arc::clone(pkcs11),
        idle: Mutex::new(Vec::new()),
        pooled: AtomicUsize::new(0),
        pin: Mutex::new(Zeroizing::new(pin.to_owned())),
    });
    slots.insert(key, Arc::clone(&shared));
    Ok(shared)
}

/// A session lent for one request: a pooled one, given back when dropped, or the primary
/// one under its lock when the pool is exhausted.
pub(crate) enum Lease<'a> {
    Pooled {
        slot: &'a SharedSlot,
        session: Option<Session>,
    },
    Primary(MutexGuard<'a, Session>),
}

impl std::ops::Deref for Lease<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        match self {
            // `session` is `Some` until `drop` takes it.
            Self::Pooled {
                session: Some(session),
                ..
            } => session,
            Self::Pooled { slot, .. } => unreachable_session(slot),
            Self::Primary(guard) => guard,
        }
    }
}

#[allow(clippy::panic)] // Invariant: a pooled lease holds its session until it is dropped.
fn unreachable_session(_slot: &SharedSlot) -> &Session {
    panic!("a pooled lease lost its session before being dropped")
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Self::Pooled { slot, session } = self
            && let Some(session) = session.take()
        {
            match slot.idle.lock() {
                Ok(mut idle) => idle.push(session),
                // A poisoned pool: close the session instead of keeping it.
                Err(_) => {
                    slot.pooled.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

impl SharedSlot {
    /// A session for one request: an idle pooled one, a newly opened one while fewer than
    /// [`MAX_POOLED_SESSIONS`] are open, or else the primary one (waiting for its lock).
    pub(crate) fn lease(&self) -> Result<Lease<'_>, &'static str> {
        if let Some(session) = self.idle.lock().map_err(|_| "session pool poisoned")?.pop() {
            return Ok(Lease::Pooled {
                slot: self,
                session: Some(session),
            });
        }
        if self.pooled.fetch_add(1, Ordering::SeqCst) < MAX_POOLED_SESSIONS
            && let Ok(session) = self.pkcs11.open_rw_session(self.slot)
        {
            return Ok(Lease::Pooled {
                slot: self,
                session: Some(session),
            });
        }
        self.pooled.fetch_sub(1, Ordering::SeqCst);
        self.session
            .lock()
            .map(Lease::Primary)
            .map_err(|_| "primary session poisoned")
    }

    /// Sessions open on the slot: the primary one and the pooled ones.
    pub(crate) fn open_sessions(&self) -> usize {
        1 + self.pooled.load(Ordering::SeqCst)
    }

    /// Records that the slot's PIN is now `pin` (after a change or an unblock).
    pub(crate) fn set_pin(&self, pin: &str) {
        if let Ok(mut current) = self.pin.lock() {
            *current = Zeroizing::new(pin.to_owned());
        }
    }

    /// The PIN the slot is logged in with.
    pub(crate) fn pin(&self) -> Option<Zeroizing<String>> {
        self.pin.lock().ok().map(|p| p.clone())
    }
}
