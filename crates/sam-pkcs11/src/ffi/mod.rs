//! The C ABI (PKCS#11 v2.40 §5): `C_GetFunctionList` and the functions of its list, over
//! [`crate::session::Module`].
//!
//! This is the one module of sam that uses `unsafe`: a PKCS#11 consumer hands the module raw
//! pointers, and reading or writing through them cannot be checked by the compiler. Each
//! `unsafe` block says why it is sound; all of them go through the few helpers below
//! (`input`, `output`, `write_list`, `write_value`), which check for null and take
//! the lengths from the caller as PKCS#11 defines them. Everything else is safe Rust.
//!
//! Every function: catches a panic (`CKR_GENERAL_ERROR`, never an unwind into C), answers
//! `CKR_CRYPTOKI_NOT_INITIALIZED` before `C_Initialize`, and writes the reason of any
//! refusal to the operator's log when `SAM_PKCS11_LOG` names a file. The module's state is
//! behind one lock (`CKF_OS_LOCKING_OK`); a signature waiting for its user's approval waits
//! outside it.

#![allow(non_snake_case)] // The functions keep their PKCS#11 names.

mod unsupported;

use std::ffi::c_void;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Refusal;
use crate::ck::*;
use crate::config::Config;
use crate::mechanism::PssParams;
use crate::objects::Lookup;
use crate::session::{Module, SignOutcome, SignStep};

/// The environment variable naming the operator's log file.
pub const LOG_ENV: &str = "SAM_PKCS11_LOG";

/// At most this many attributes in a template.
const MAX_TEMPLATE: usize = 64;

/// At most this many bytes in one template value.
const MAX_TEMPLATE_VALUE: usize = 64 * 1024;

struct Loaded {
    // Dropped after the module: its keys' signers run on it.
    module: Module,
    _runtime: Arc<tokio::runtime::Runtime>,
}

static STATE: Mutex<Option<Loaded>> = Mutex::new(None);

fn state() -> MutexGuard<'static, Option<Loaded>> {
    // A panic while the lock was held was caught at the boundary; the state is still whole
    // (every change to it is one assignment).
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn log(function: &str, refusal: &Refusal) {
    let Some(path) = std::env::var_os(LOG_ENV) else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "sam-pkcs11 {function}: {refusal}");
    }
}

/// Runs `body` as PKCS#11 function `name`: its refusal as the return value, logged; a
/// panic as `CKR_GENERAL_ERROR`.
fn call(name: &str, body: impl FnOnce() -> Result<(), Refusal>) -> CK_RV {
    let rv = match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return CKR_OK,
        Ok(Err(refusal)) => refusal,
        Err(_) => Refusal::new(CKR_GENERAL_ERROR, "a panic in the module (a bug)"),
    };
    if rv.rv != CKR_BUFFER_TOO_SMALL {
        log(name, &rv);
    }
    rv.rv
}

/// `body` with the initialised module.
fn with_module<T>(body: impl FnOnce(&mut Module) -> Result<T, Refusal>) -> Result<T, Refusal> {
    let mut guard = state();
    let loaded = guard
        .as_mut()
        .ok_or_else(|| Refusal::new(CKR_CRYPTOKI_NOT_INITIALIZED, "C_Initialize first"))?;
    body(&mut loaded.module)
}

fn bad(what: &str) -> Refusal {
    Refusal::new(CKR_ARGUMENTS_BAD, what)
}

fn length(len: CK_ULONG) -> Result<usize, Refusal> {
    usize::try_from(len).map_err(|_| bad("a length beyond this machine's memory"))
}

/// The `len` bytes at `ptr` (null only with `len` 0).
///
/// # Safety
/// `ptr` must be null or valid for reads of `len` bytes for the call, as PKCS#11 requires
/// of the caller.
unsafe fn input<'a>(ptr: *const u8, len: CK_ULONG) -> Result<&'a [u8], Refusal> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(bad("a null pointer with a length"));
    }
    let len = length(len)?;
    // SAFETY: non-null, and the caller guarantees `len` readable bytes there.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The `T` `ptr` points to, for writing.
///
/// # Safety
/// `ptr` must be null or point to a writable `T`, as PKCS#11 requires of the caller.
unsafe fn output<'a, T>(ptr: *mut T) -> Result<&'a mut T, Refusal> {
    // SAFETY: `as_mut` checks for null; the caller guarantees a valid, writable `T`.
    unsafe { ptr.as_mut() }.ok_or_else(|| bad("a null pointer for the answer"))
}

/// PKCS#11's list convention (§5.2): `out` null → only the count; too small a count →
/// `CKR_BUFFER_TOO_SMALL` with the count; else the items and their count.
///
/// # Safety
/// `count` must be null or writable; `out`, when not null, writable for `*count` items.
unsafe fn write_list<T: Copy>(
    items: &[T],
    out: *mut T,
    count: *mut CK_ULONG,
) -> Result<(), Refusal> {
    // SAFETY: as the caller guarantees for `count`.
    let count = unsafe { output(count) }?;
    let n = CK_ULONG::try_from(items.len()).map_err(|_| bad("too many items"))?;
    if out.is_null() {
        *count = n;
        return Ok(());
    }
    if *count < n {
        *count = n;
        return Err(Refusal::new(CKR_BUFFER_TOO_SMALL, "the list is longer"));
    }
    // SAFETY: `out` is writable for `*count` >= `items.len()` items (the caller's promise),
    // and `items` is our own slice, so the two do not overlap.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    *count = n;
    Ok(())
}

/// PKCS#11's convention for one value into a caller's buffer (§5.2): `out` null → only the
/// length; too short → `CKR_BUFFER_TOO_SMALL` with the length; else the bytes.
///
/// # Safety
/// `len` must be null or writable; `out`, when not null, writable for `*len` bytes.
unsafe fn write_value(value: &[u8], out: *mut u8, len: *mut CK_ULONG) -> Result<(), Refusal> {
    // SAFETY: as the caller guarantees for `len`; `u8` lists are bytes.
    unsafe { write_list(value, out, len) }
}

fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = text.len().min(N);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&text.as_bytes()[..end]);
    out
}

const VERSION: CK_VERSION = CK_VERSION { major: 0, minor: 1 };

/// `C_Initialize`: reads the configuration and loads each user's token from samd.
///
/// # Safety
/// `args` must be null or point to a `CK_C_INITIALIZE_ARGS`.
unsafe extern "C" fn C_Initialize(args: *mut c_void) -> CK_RV {
    call("C_Initialize", || {
        // SAFETY: a null or valid CK_C_INITIALIZE_ARGS, as the caller guarantees.
        if let Some(args) = unsafe { args.cast::<CK_C_INITIALIZE_ARGS>().as_ref() } {
            if !args.pReserved.is_null() {
                return Err(bad("CK_C_INITIALIZE_ARGS.pReserved must be null"));
            }
            let callbacks = [
                args.CreateMutex.is_some(),
                args.DestroyMutex.is_some(),
                args.LockMutex.is_some(),
                args.UnlockMutex.is_some(),
            ];
            if callbacks.iter().any(|c| *c) && !callbacks.iter().all(|c| *c) {
                return Err(bad("give all four mutex functions or none"));
            }
            if callbacks[0] && args.flags & CKF_OS_LOCKING_OK == 0 {
                return Err(Refusal::new(
                    CKR_CANT_LOCK,
                    "the module locks with the operating system's primitives only \
                     (CKF_OS_LOCKING_OK)",
                ));
            }
        }
        let mut guard = state();
        if guard.is_some() {
            return Err(Refusal::new(
                CKR_CRYPTOKI_ALREADY_INITIALIZED,
                "C_Initialize was called already",
            ));
        }
        let path = Config::path_from_env();
        let config =
            Config::load(&path).map_err(|e| Refusal::new(CKR_GENERAL_ERROR, e.to_string()))?;
        let (runtime, module) = crate::remote::open(&config)?;
        *guard = Some(Loaded {
            module,
            _runtime: runtime,
        });
        Ok(())
    })
}

/// `C_Finalize`: every session closed, the runtime stopped.
///
/// # Safety
/// Reads nothing through `reserved`, which must be null.
unsafe extern "C" fn C_Finalize(reserved: *mut c_void) -> CK_RV {
    call("C_Finalize", || {
        if !reserved.is_null() {
            return Err(bad("pReserved must be null"));
        }
        let loaded = state()
            .take()
            .ok_or_else(|| Refusal::new(CKR_CRYPTOKI_NOT_INITIALIZED, "C_Initialize first"))?;
        drop(loaded);
        Ok(())
    })
}

/// `C_GetInfo`.
///
/// # Safety
/// `info` must be null or writable.
unsafe extern "C" fn C_GetInfo(info: *mut CK_INFO) -> CK_RV {
    call("C_GetInfo", || {
        with_module(|_| Ok(()))?;
        // SAFETY: null or writable, as the caller guarantees.
        let info = unsafe { output(info) }?;
        *info = CK_INFO {
            cryptokiVersion: CK_VERSION {
                major: 2,
                minor: 40,
            },
            manufacturerID: padded("sam"),
            flags: 0,
            libraryDescription: padded("sam remote signing (samd)"),
            libraryVersion: VERSION,
        };
        Ok(())
    })
}

/// `C_GetFunctionList`: the module's only exported symbol.
///
/// # Safety
/// `list` must be null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    call("C_GetFunctionList", || {
        // SAFETY: null or writable, as the caller guarantees.
        let list = unsafe { output(list) }?;
        // The list is never written through (PKCS#11 consumers only read it); the pointer
        // is `*mut` because the C declaration is.
        *list = (&raw const FUNCTION_LIST).cast_mut();
        Ok(())
    })
}

/// `C_GetSlotList`: one slot per configured user, each with its token.
///
/// # Safety
/// `count` writable; `slots` null or writable for `*count` slot ids.
unsafe extern "C" fn C_GetSlotList(
    _token_present: CK_BBOOL,
    slots: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    call("C_GetSlotList", || {
        let ids = with_module(|m| Ok(m.slots()))?;
        // SAFETY: as the caller guarantees.
        unsafe { write_list(&ids, slots, count) }
    })
}

/// `C_GetSlotInfo`.
///
/// # Safety
/// `info` null or writable.
unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    call("C_GetSlotInfo", || {
        let label = with_module(|m| Ok(m.token(slot)?.label.clone()))?;
        // SAFETY: null or writable, as the caller guarantees.
        let info = unsafe { output(info) }?;
        *info = CK_SLOT_INFO {
            slotDescription: padded(&format!("sam: {label}")),
            manufacturerID: padded("sam"),
            flags: CKF_TOKEN_PRESENT,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
        };
        Ok(())
    })
}

/// `C_GetTokenInfo`: a SCAL2 token has a protected authentication path (the device).
///
/// # Safety
/// `info` null or writable.
unsafe extern "C" fn C_GetTokenInfo(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    call("C_GetTokenInfo", || {
        let (label, pin_login, sessions) = with_module(|m| {
            let token = m.token(slot)?;
            Ok((token.label.clone(), token.pin_login, m.session_count(slot)))
        })?;
        let path = if pin_login {
            0
        } else {
            CKF_PROTECTED_AUTHENTICATION_PATH
        };
        // SAFETY: null or writable, as the caller guarantees.
        let info = unsafe { output(info) }?;
        *info = CK_TOKEN_INFO {
            label: padded(&label),
            manufacturerID: padded("sam"),
            model: padded("remote signer"),
            serialNumber: padded(&format!("{slot:016}")),
            flags: CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | path,
            ulMaxSessionCount: CK_ULONG::try_from(crate::session::MAX_SESSIONS).unwrap_or(0),
            ulSessionCount: CK_ULONG::try_from(sessions).unwrap_or(0),
            ulMaxRwSessionCount: CK_ULONG::try_from(crate::session::MAX_SESSIONS).unwrap_or(0),
            ulRwSessionCount: CK_UNAVAILABLE_INFORMATION,
            ulMaxPinLen: 256,
            ulMinPinLen: if pin_login { 1 } else { 0 },
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
            utcTime: [b' '; 16],
        };
        Ok(())
    })
}

fn token_mechanisms(module: &Module, slot: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>, Refusal> {
    let mut all = Vec::new();
    for key in &module.token(slot)?.keys {
        for m in key.profile.mechanisms() {
            if !all.contains(&m) {
                all.push(m);
            }
        }
    }
    Ok(all)
}

/// `C_GetMechanismList`: what the token's keys sign with, exactly.
///
/// # Safety
/// `count` writable; `list` null or writable for `*count` entries.
unsafe extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    call("C_GetMechanismList", || {
        let all = with_module(|m| token_mechanisms(m, slot))?;
        // SAFETY: as the caller guarantees.
        unsafe { write_list(&all, list, count) }
    })
}

/// `C_GetMechanismInfo`: the key sizes over the token's keys that sign with it.
///
/// # Safety
/// `info` null or writable.
unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    call("C_GetMechanismInfo", || {
        let found = with_module(|m| {
            let mut found: Option<CK_MECHANISM_INFO> = None;
            for key in &m.token(slot)?.keys {
                if let Some(i) = key.profile.mechanism_info(mechanism) {
                    found = Some(match found {
                        None => i,
                        Some(f) => CK_MECHANISM_INFO {
                            ulMinKeySize: f.ulMinKeySize.min(i.ulMinKeySize),
                            ulMaxKeySize: f.ulMaxKeySize.max(i.ulMaxKeySize),
                            flags: f.flags | i.flags,
                        },
                    });
                }
            }
            found.ok_or_else(|| {
                Refusal::new(
                    CKR_MECHANISM_INVALID,
                    format!("no key of this token signs with mechanism 0x{mechanism:x}"),
                )
            })
        })?;
        // SAFETY: null or writable, as the caller guarantees.
        *unsafe { output(info) }? = found;
        Ok(())
    })
}

/// `C_OpenSession` (no notification callbacks: the module makes none).
///
/// # Safety
/// `session` null or writable.
unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _application: *mut c_void,
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    call("C_OpenSession", || {
        // SAFETY: null or writable, as the caller guarantees.
        let out = unsafe { output(session) }?;
        *out = with_module(|m| m.open_session(slot, flags))?;
        Ok(())
    })
}

extern "C" fn C_CloseSession(session: CK_SESSION_HANDLE) -> CK_RV {
    call("C_CloseSession", || {
        with_module(|m| m.close_session(session))
    })
}

extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    call("C_CloseAllSessions", || {
        with_module(|m| m.close_all_sessions(slot))
    })
}

/// `C_GetSessionInfo`.
///
/// # Safety
/// `info` null or writable.
unsafe extern "C" fn C_GetSessionInfo(
    session: CK_SESSION_HANDLE,
    info: *mut CK_SESSION_INFO,
) -> CK_RV {
    call("C_GetSessionInfo", || {
        let found = with_module(|m| m.session_info(session))?;
        // SAFETY: null or writable, as the caller guarantees.
        *unsafe { output(info) }? = found;
        Ok(())
    })
}

/// `C_Login`: the PIN under SCAL1; none (the protected path) under SCAL2.
///
/// # Safety
/// `pin` null or readable for `len` bytes.
unsafe extern "C" fn C_Login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    len: CK_ULONG,
) -> CK_RV {
    call("C_Login", || {
        let pin = if pin.is_null() {
            None
        } else {
            // SAFETY: readable for `len` bytes, as the caller guarantees.
            Some(unsafe { input(pin, len) }?)
        };
        with_module(|m| m.login(session, user_type, pin))
    })
}

extern "C" fn C_Logout(session: CK_SESSION_HANDLE) -> CK_RV {
    call("C_Logout", || with_module(|m| m.logout(session)))
}

/// The `count` attributes at `template`.
///
/// # Safety
/// `template` null (with `count` 0) or valid for `count` attributes.
unsafe fn attributes<'a>(
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> Result<&'a mut [CK_ATTRIBUTE], Refusal> {
    let count = length(count)?;
    if count == 0 {
        return Ok(&mut []);
    }
    if template.is_null() {
        return Err(bad("a null template with a count"));
    }
    if count > MAX_TEMPLATE {
        return Err(Refusal::new(
            CKR_TEMPLATE_INCONSISTENT,
            format!("more than {MAX_TEMPLATE} attributes"),
        ));
    }
    // SAFETY: non-null, valid for `count` attributes, as the caller guarantees.
    Ok(unsafe { std::slice::from_raw_parts_mut(template, count) })
}

/// `C_GetAttributeValue`: each attribute's value, or its length, or
/// `CK_UNAVAILABLE_INFORMATION` with the reason as the return value (§5.7).
///
/// # Safety
/// `template` valid for `count` attributes, each `pValue` null or writable for its
/// `ulValueLen` bytes.
unsafe extern "C" fn C_GetAttributeValue(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    call("C_GetAttributeValue", || {
        // SAFETY: as the caller guarantees.
        let template = unsafe { attributes(template, count) }?;
        let lookups: Vec<Lookup> = with_module(|m| {
            let object = m.object(session, object)?;
            Ok(template.iter().map(|a| object.lookup(a.type_)).collect())
        })?;
        let mut rv = CKR_OK;
        for (attribute, lookup) in template.iter_mut().zip(lookups) {
            match lookup {
                Lookup::Value(value) => {
                    let len = CK_ULONG::try_from(value.len()).unwrap_or(CK_UNAVAILABLE_INFORMATION);
                    if attribute.pValue.is_null() {
                        attribute.ulValueLen = len;
                    } else if attribute.ulValueLen < len {
                        attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                        rv = CKR_BUFFER_TOO_SMALL;
                    } else {
                        // SAFETY: `pValue` is writable for `ulValueLen` >= `value.len()`
                        // bytes (the caller's promise) and is not our `value`.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                value.as_ptr(),
                                attribute.pValue.cast::<u8>(),
                                value.len(),
                            );
                        }
                        attribute.ulValueLen = len;
                    }
                }
                Lookup::Sensitive => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = CKR_ATTRIBUTE_SENSITIVE;
                }
                Lookup::Invalid => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = CKR_ATTRIBUTE_TYPE_INVALID;
                }
            }
        }
        if rv == CKR_OK {
            Ok(())
        } else {
            Err(Refusal::new(
                rv,
                "an attribute was not given (its length says which)",
            ))
        }
    })
}

/// `C_FindObjectsInit`.
///
/// # Safety
/// `template` null (with `count` 0) or valid for `count` attributes, each value readable
/// for its length.
unsafe extern "C" fn C_FindObjectsInit(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    call("C_FindObjectsInit", || {
        // SAFETY: as the caller guarantees.
        let template = unsafe { attributes(template, count) }?;
        let mut wanted = Vec::with_capacity(template.len());
        for attribute in template.iter() {
            if length(attribute.ulValueLen)? > MAX_TEMPLATE_VALUE {
                return Err(Refusal::new(
                    CKR_ATTRIBUTE_VALUE_INVALID,
                    "a value too long",
                ));
            }
            // SAFETY: each value readable for its length, as the caller guarantees.
            let value = unsafe { input(attribute.pValue.cast::<u8>(), attribute.ulValueLen) }?;
            wanted.push((attribute.type_, value.to_vec()));
        }
        with_module(|m| m.find_init(session, &wanted))
    })
}

/// `C_FindObjects`.
///
/// # Safety
/// `objects` writable for `max` handles; `count` writable.
unsafe extern "C" fn C_FindObjects(
    session: CK_SESSION_HANDLE,
    objects: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    call("C_FindObjects", || {
        if objects.is_null() && max > 0 {
            return Err(bad("a null handle array"));
        }
        // SAFETY: null or writable, as the caller guarantees.
        let count = unsafe { output(count) }?;
        let found = with_module(|m| m.find(session, length(max)?))?;
        if !found.is_empty() {
            // SAFETY: `objects` writable for `max` >= `found.len()` handles.
            unsafe { std::ptr::copy_nonoverlapping(found.as_ptr(), objects, found.len()) };
        }
        *count = CK_ULONG::try_from(found.len()).unwrap_or(0);
        Ok(())
    })
}

extern "C" fn C_FindObjectsFinal(session: CK_SESSION_HANDLE) -> CK_RV {
    call("C_FindObjectsFinal", || {
        with_module(|m| m.find_final(session))
    })
}

/// `C_SignInit`: the mechanism (with `CK_RSA_PKCS_PSS_PARAMS` for PSS) and the key.
///
/// # Safety
/// `mechanism` null or a valid `CK_MECHANISM` whose parameter is readable for its length.
unsafe extern "C" fn C_SignInit(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    call("C_SignInit", || {
        // SAFETY: null or valid, as the caller guarantees.
        let mechanism = unsafe { mechanism.as_ref() }.ok_or_else(|| bad("no mechanism"))?;
        let pss = if mechanism.pParameter.is_null() {
            if mechanism.ulParameterLen != 0 {
                return Err(Refusal::new(
                    CKR_MECHANISM_PARAM_INVALID,
                    "a length without parameters",
                ));
            }
            None
        } else {
            if length(mechanism.ulParameterLen)? != std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>() {
                return Err(Refusal::new(
                    CKR_MECHANISM_PARAM_INVALID,
                    "the only parameters taken are CK_RSA_PKCS_PSS_PARAMS",
                ));
            }
            // SAFETY: non-null and as long as CK_RSA_PKCS_PSS_PARAMS (checked); read
            // unaligned, since the caller's buffer need not be aligned.
            let params = unsafe {
                mechanism
                    .pParameter
                    .cast::<CK_RSA_PKCS_PSS_PARAMS>()
                    .read_unaligned()
            };
            Some(PssParams {
                hash: params.hashAlg,
                mgf: params.mgf,
                salt_len: params.sLen,
            })
        };
        with_module(|m| m.sign_init(session, mechanism.mechanism, pss, key))
    })
}

/// `C_Sign` / `C_SignFinal`: the length, or the signature once samd signed (the lock
/// released while the user approves).
///
/// # Safety
/// `len` writable; `signature` null or writable for `*len` bytes.
unsafe fn finish_signing(
    session: CK_SESSION_HANDLE,
    data: Option<&[u8]>,
    signature: *mut u8,
    len: *mut CK_ULONG,
) -> Result<(), Refusal> {
    // SAFETY: null or writable, as the caller guarantees.
    let len = unsafe { output(len) }?;
    let capacity = if signature.is_null() {
        None
    } else {
        Some(length(*len)?)
    };
    let step = with_module(|m| m.sign_step(session, data, capacity))?;
    let bytes = match step {
        SignStep::Done(SignOutcome::Length(n)) => {
            *len = CK_ULONG::try_from(n).unwrap_or(0);
            return Ok(());
        }
        SignStep::Done(SignOutcome::TooSmall(n)) => {
            *len = CK_ULONG::try_from(n).unwrap_or(0);
            return Err(Refusal::new(
                CKR_BUFFER_TOO_SMALL,
                "the signature is longer",
            ));
        }
        SignStep::Done(SignOutcome::Signature(bytes)) => bytes,
        SignStep::Ask(pending) => pending.sign()?,
    };
    // SAFETY: `signature` is writable for `*len` >= the signature's length (sign_step
    // checked the capacity against the key's signature length, which `bytes` has).
    unsafe { write_value(&bytes, signature, len) }
}

/// `C_Sign`.
///
/// # Safety
/// `data` readable for `data_len` bytes; `len` writable; `signature` null or writable for
/// `*len` bytes.
unsafe extern "C" fn C_Sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    len: *mut CK_ULONG,
) -> CK_RV {
    call("C_Sign", || {
        // SAFETY: as the caller guarantees.
        let data = unsafe { input(data, data_len) }?;
        // SAFETY: as the caller guarantees.
        unsafe { finish_signing(session, Some(data), signature, len) }
    })
}

/// `C_SignUpdate`.
///
/// # Safety
/// `part` readable for `part_len` bytes.
unsafe extern "C" fn C_SignUpdate(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
) -> CK_RV {
    call("C_SignUpdate", || {
        // SAFETY: as the caller guarantees.
        let part = unsafe { input(part, part_len) }?;
        with_module(|m| m.sign_update(session, part))
    })
}

/// `C_SignFinal`.
///
/// # Safety
/// `len` writable; `signature` null or writable for `*len` bytes.
unsafe extern "C" fn C_SignFinal(
    session: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    len: *mut CK_ULONG,
) -> CK_RV {
    call("C_SignFinal", || {
        // SAFETY: as the caller guarantees.
        unsafe { finish_signing(session, None, signature, len) }
    })
}

/// The function list `C_GetFunctionList` gives.
static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CK_VERSION {
        major: 2,
        minor: 40,
    },
    C_Initialize: Some(C_Initialize),
    C_Finalize: Some(C_Finalize),
    C_GetInfo: Some(C_GetInfo),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(C_GetSlotList),
    C_GetSlotInfo: Some(C_GetSlotInfo),
    C_GetTokenInfo: Some(C_GetTokenInfo),
    C_GetMechanismList: Some(C_GetMechanismList),
    C_GetMechanismInfo: Some(C_GetMechanismInfo),
    C_InitToken: Some(unsupported::C_InitToken),
    C_InitPIN: Some(unsupported::C_InitPIN),
    C_SetPIN: Some(unsupported::C_SetPIN),
    C_OpenSession: Some(C_OpenSession),
    C_CloseSession: Some(C_CloseSession),
    C_CloseAllSessions: Some(C_CloseAllSessions),
    C_GetSessionInfo: Some(C_GetSessionInfo),
    C_GetOperationState: Some(unsupported::C_GetOperationState),
    C_SetOperationState: Some(unsupported::C_SetOperationState),
    C_Login: Some(C_Login),
    C_Logout: Some(C_Logout),
    C_CreateObject: Some(unsupported::C_CreateObject),
    C_CopyObject: Some(unsupported::C_CopyObject),
    C_DestroyObject: Some(unsupported::C_DestroyObject),
    C_GetObjectSize: Some(unsupported::C_GetObjectSize),
    C_GetAttributeValue: Some(C_GetAttributeValue),
    C_SetAttributeValue: Some(unsupported::C_SetAttributeValue),
    C_FindObjectsInit: Some(C_FindObjectsInit),
    C_FindObjects: Some(C_FindObjects),
    C_FindObjectsFinal: Some(C_FindObjectsFinal),
    C_EncryptInit: Some(unsupported::C_EncryptInit),
    C_Encrypt: Some(unsupported::C_Encrypt),
    C_EncryptUpdate: Some(unsupported::C_EncryptUpdate),
    C_EncryptFinal: Some(unsupported::C_EncryptFinal),
    C_DecryptInit: Some(unsupported::C_DecryptInit),
    C_Decrypt: Some(unsupported::C_Decrypt),
    C_DecryptUpdate: Some(unsupported::C_DecryptUpdate),
    C_DecryptFinal: Some(unsupported::C_DecryptFinal),
    C_DigestInit: Some(unsupported::C_DigestInit),
    C_Digest: Some(unsupported::C_Digest),
    C_DigestUpdate: Some(unsupported::C_DigestUpdate),
    C_DigestKey: Some(unsupported::C_DigestKey),
    C_DigestFinal: Some(unsupported::C_DigestFinal),
    C_SignInit: Some(C_SignInit),
    C_Sign: Some(C_Sign),
    C_SignUpdate: Some(C_SignUpdate),
    C_SignFinal: Some(C_SignFinal),
    C_SignRecoverInit: Some(unsupported::C_SignRecoverInit),
    C_SignRecover: Some(unsupported::C_SignRecover),
    C_VerifyInit: Some(unsupported::C_VerifyInit),
    C_Verify: Some(unsupported::C_Verify),
    C_VerifyUpdate: Some(unsupported::C_VerifyUpdate),
    C_VerifyFinal: Some(unsupported::C_VerifyFinal),
    C_VerifyRecoverInit: Some(unsupported::C_VerifyRecoverInit),
    C_VerifyRecover: Some(unsupported::C_VerifyRecover),
    C_DigestEncryptUpdate: Some(unsupported::C_DigestEncryptUpdate),
    C_DecryptDigestUpdate: Some(unsupported::C_DecryptDigestUpdate),
    C_SignEncryptUpdate: Some(unsupported::C_SignEncryptUpdate),
    C_DecryptVerifyUpdate: Some(unsupported::C_DecryptVerifyUpdate),
    C_GenerateKey: Some(unsupported::C_GenerateKey),
    C_GenerateKeyPair: Some(unsupported::C_GenerateKeyPair),
    C_WrapKey: Some(unsupported::C_WrapKey),
    C_UnwrapKey: Some(unsupported::C_UnwrapKey),
    C_DeriveKey: Some(unsupported::C_DeriveKey),
    C_SeedRandom: Some(unsupported::C_SeedRandom),
    C_GenerateRandom: Some(unsupported::C_GenerateRandom),
    C_GetFunctionStatus: Some(unsupported::C_GetFunctionStatus),
    C_CancelFunction: Some(unsupported::C_CancelFunction),
    C_WaitForSlotEvent: Some(unsupported::C_WaitForSlotEvent),
};
