//! The process-wide registry of live handles.
//!
//! Every handle given to a C caller is recorded here with its type when it is
//! created and removed when it is freed. A handle argument is looked up before
//! it is dereferenced, so a freed pointer, a pointer steermd never created, or
//! a handle of another type is refused with
//! [`steermd_status::STEERMD_ERR_INVALID_HANDLE`] instead of being read.
//!
//! Detection is best effort: once a handle is freed, a later handle of the
//! same type may be allocated at the same address, and the stale pointer then
//! names the new handle. Freeing a handle while another thread uses it stays
//! the caller's error.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::status::{null, steermd_status, CError};

/// A type handed to C callers as an opaque handle.
pub(crate) trait Handle {
    /// The C name of the handle type, e.g. `"steermd_topology"`.
    const NAME: &'static str;
}

/// Address of each live handle and the name of its type.
static LIVE: Mutex<BTreeMap<usize, &'static str>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<usize, &'static str>> {
    // The map is updated by single insert/remove calls, so it is consistent
    // even if a panic poisoned the lock.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(message: String) -> CError {
    CError(steermd_status::STEERMD_ERR_INVALID_HANDLE, message)
}

/// Is `addr` a live handle of type `T`? Never dereferences anything.
fn check<T: Handle>(
    live: &BTreeMap<usize, &'static str>,
    addr: usize,
    arg: &str,
) -> Result<(), CError> {
    match live.get(&addr) {
        Some(&name) if name == T::NAME => Ok(()),
        Some(&name) => Err(invalid(format!(
            "argument '{arg}' is a {name} handle, not a {}",
            T::NAME
        ))),
        None => Err(invalid(format!(
            "argument '{arg}' is not a live {} handle (already freed, or not created by steermd)",
            T::NAME
        ))),
    }
}

/// Move `value` to the heap, record it as a live handle and return the pointer
/// for the C caller.
pub(crate) fn register<T: Handle>(value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    live().insert(ptr as usize, T::NAME);
    ptr
}

/// Borrow a handle argument after checking it is a live handle of type `T`.
///
/// # Safety
/// No other thread may free or mutably borrow the handle during `'a`.
pub(crate) unsafe fn get<'a, T: Handle>(ptr: *const T, arg: &str) -> Result<&'a T, CError> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    check::<T>(&live(), ptr as usize, arg)?;
    // SAFETY: registered, so it came from `register` (a live Box of a `T`) and
    // has not been released; the caller contract excludes concurrent frees.
    Ok(unsafe { &*ptr })
}

/// Mutably borrow a handle argument after checking it is a live handle of type `T`.
///
/// # Safety
/// No other thread may use or free the handle during `'a`.
pub(crate) unsafe fn get_mut<'a, T: Handle>(ptr: *mut T, arg: &str) -> Result<&'a mut T, CError> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    check::<T>(&live(), ptr as usize, arg)?;
    // SAFETY: as in `get`; the caller contract excludes any concurrent use.
    Ok(unsafe { &mut *ptr })
}

/// Take back ownership of a handle to drop it: `Ok(None)` for NULL, an
/// `STEERMD_ERR_INVALID_HANDLE` error (and nothing freed) for a pointer that
/// is not a live handle of type `T`, e.g. on a double free.
///
/// # Safety
/// No other thread may be using the handle.
pub(crate) unsafe fn release<T: Handle>(ptr: *mut T, arg: &str) -> Result<Option<Box<T>>, CError> {
    if ptr.is_null() {
        return Ok(None);
    }
    {
        // Check and remove under one lock: of two racing frees, one wins.
        let mut live = live();
        check::<T>(&live, ptr as usize, arg)?;
        live.remove(&(ptr as usize));
    }
    // SAFETY: it was a live handle from `register` (Box::into_raw of a `T`)
    // and is now unregistered, so no later call can reach it again.
    Ok(Some(unsafe { Box::from_raw(ptr) }))
}
