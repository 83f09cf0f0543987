//! Status codes, the thread-local last error, version queries and the guard
//! that turns Rust errors and panics into status codes.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

/// Result code of every fallible C ABI function: 0 on success, negative on failure.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_status {
    /// Success.
    STEERMD_OK = 0,
    /// A required pointer argument was NULL.
    STEERMD_ERR_NULL_POINTER = -1,
    /// An argument is out of range or unusable (also: a string that is not UTF-8).
    STEERMD_ERR_INVALID_ARGUMENT = -2,
    /// Array sizes disagree, or a caller's output buffer is too small.
    STEERMD_ERR_SHAPE = -3,
    /// NaN or infinite values where finite numbers are required.
    STEERMD_ERR_NON_FINITE = -4,
    /// A file could not be opened, read or written.
    STEERMD_ERR_IO = -5,
    /// A file is malformed, truncated or corrupt.
    STEERMD_ERR_FORMAT = -6,
    /// A model's weights and configuration do not agree.
    STEERMD_ERR_MODEL = -7,
    /// The requested backend is not available in this build.
    STEERMD_ERR_BACKEND = -8,
    /// A simulation became unstable (non-finite or absurd state, constraint failure).
    STEERMD_ERR_UNSTABLE = -9,
    /// A handle argument is not a live handle of the expected type: already
    /// freed, never created by steermd, or a handle of another type.
    STEERMD_ERR_INVALID_HANDLE = -10,
    /// An internal error (a caught panic); please report it.
    STEERMD_ERR_INTERNAL = -99,
}

impl steermd_status {
    /// Every status code, for looking a code up by value.
    pub const ALL: [steermd_status; 12] = {
        use steermd_status::*;
        [
            STEERMD_OK,
            STEERMD_ERR_NULL_POINTER,
            STEERMD_ERR_INVALID_ARGUMENT,
            STEERMD_ERR_SHAPE,
            STEERMD_ERR_NON_FINITE,
            STEERMD_ERR_IO,
            STEERMD_ERR_FORMAT,
            STEERMD_ERR_MODEL,
            STEERMD_ERR_BACKEND,
            STEERMD_ERR_UNSTABLE,
            STEERMD_ERR_INVALID_HANDLE,
            STEERMD_ERR_INTERNAL,
        ]
    };

    /// The status whose code is `code`, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// The variant's name, e.g. `"STEERMD_ERR_SHAPE"` (an exhaustive match, so
    /// a new status cannot lack one).
    pub fn name(self) -> &'static CStr {
        use steermd_status::*;
        match self {
            STEERMD_OK => c"STEERMD_OK",
            STEERMD_ERR_NULL_POINTER => c"STEERMD_ERR_NULL_POINTER",
            STEERMD_ERR_INVALID_ARGUMENT => c"STEERMD_ERR_INVALID_ARGUMENT",
            STEERMD_ERR_SHAPE => c"STEERMD_ERR_SHAPE",
            STEERMD_ERR_NON_FINITE => c"STEERMD_ERR_NON_FINITE",
            STEERMD_ERR_IO => c"STEERMD_ERR_IO",
            STEERMD_ERR_FORMAT => c"STEERMD_ERR_FORMAT",
            STEERMD_ERR_MODEL => c"STEERMD_ERR_MODEL",
            STEERMD_ERR_BACKEND => c"STEERMD_ERR_BACKEND",
            STEERMD_ERR_UNSTABLE => c"STEERMD_ERR_UNSTABLE",
            STEERMD_ERR_INVALID_HANDLE => c"STEERMD_ERR_INVALID_HANDLE",
            STEERMD_ERR_INTERNAL => c"STEERMD_ERR_INTERNAL",
        }
    }
}

impl From<&Error> for steermd_status {
    fn from(e: &Error) -> Self {
        use steermd_status::*;
        match e {
            Error::Io { .. } => STEERMD_ERR_IO,
            Error::Parse { .. } | Error::Format { .. } => STEERMD_ERR_FORMAT,
            Error::InvalidArgument(_) => STEERMD_ERR_INVALID_ARGUMENT,
            Error::Shape(_) => STEERMD_ERR_SHAPE,
            Error::NonFinite(_) => STEERMD_ERR_NON_FINITE,
            Error::Model(_) => STEERMD_ERR_MODEL,
            Error::BackendUnavailable { .. } | Error::Device { .. } => STEERMD_ERR_BACKEND,
            Error::Unstable { .. } => STEERMD_ERR_UNSTABLE,
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    // Interior NULs cannot be represented in a C string; replace them.
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// An error raised inside the C layer itself, before any Rust API is reached.
pub(crate) struct CError(pub steermd_status, pub String);

impl From<Error> for CError {
    fn from(e: Error) -> Self {
        CError((&e).into(), e.to_string())
    }
}

/// Run `body`, catching panics, recording any error as this thread's last
/// error and converting it to a status code.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), CError>) -> steermd_status {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => steermd_status::STEERMD_OK,
        Ok(Err(CError(status, message))) => {
            set_last_error(&message);
            status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (panic): {what}"));
            steermd_status::STEERMD_ERR_INTERNAL
        }
    }
}

/// A `STEERMD_ERR_NULL_POINTER` error naming the argument.
pub(crate) fn null(arg: &str) -> CError {
    CError(
        steermd_status::STEERMD_ERR_NULL_POINTER,
        format!("argument '{arg}' is NULL"),
    )
}

/// A `STEERMD_ERR_SHAPE` error for a caller buffer of the wrong length.
pub(crate) fn buffer_len(arg: &str, given: usize, needed: usize) -> CError {
    CError(
        steermd_status::STEERMD_ERR_SHAPE,
        format!("buffer '{arg}' holds {given} elements but {needed} are needed"),
    )
}

/// Borrow a C string argument as UTF-8.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string valid for the call.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, arg: &str) -> Result<&'a str, CError> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }.to_str().map_err(|_| {
        CError(
            steermd_status::STEERMD_ERR_INVALID_ARGUMENT,
            format!("argument '{arg}' is not valid UTF-8"),
        )
    })
}

/// Borrow a caller array of `len` elements.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` elements for the call.
pub(crate) unsafe fn in_slice<'a, T>(
    ptr: *const T,
    len: usize,
    arg: &str,
) -> Result<&'a [T], CError> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    // SAFETY: non-null, and valid for `len` reads per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrow a caller output buffer of `len` elements, checking it can hold `needed`.
///
/// # Safety
/// `ptr` must be NULL or valid for writes of `len` elements for the call.
pub(crate) unsafe fn out_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    needed: usize,
    arg: &str,
) -> Result<&'a mut [T], CError> {
    if ptr.is_null() {
        return Err(null(arg));
    }
    if len < needed {
        return Err(buffer_len(arg, len, needed));
    }
    // SAFETY: non-null, and valid for `len` >= `needed` writes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, needed) })
}

/// The message of the last error raised by a steermd call on this thread, or
/// an empty string after a successful call.
///
/// The returned string is owned by steermd and stays valid until the next
/// steermd call on the same thread; it is never NULL.
#[no_mangle]
pub extern "C" fn steermd_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A static, human-readable name for a status code (e.g. `"STEERMD_ERR_SHAPE"`).
/// Never NULL; unknown codes give `"STEERMD_UNKNOWN_STATUS"`.
#[no_mangle]
pub extern "C" fn steermd_status_string(status: i32) -> *const c_char {
    steermd_status::from_code(status)
        .map_or(c"STEERMD_UNKNOWN_STATUS", steermd_status::name)
        .as_ptr()
}

/// The version of the loaded library as a static string, e.g. `"0.1.0"`. Never NULL.
#[no_mangle]
pub extern "C" fn steermd_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Version of the C ABI the loaded library implements. A program compiled
/// against `steermd.h` should check that it equals the header's
/// `STEERMD_ABI_VERSION` before any other call.
#[no_mangle]
pub extern "C" fn steermd_abi_version() -> u32 {
    env!("STEERMD_ABI_VERSION")
        .parse::<u32>()
        .unwrap_or_default()
}

/// Major, minor and patch version numbers of the loaded library, written to
/// the non-NULL pointers among the three.
#[no_mangle]
pub extern "C" fn steermd_version_numbers(major: *mut u32, minor: *mut u32, patch: *mut u32) {
    let parse = |s: &str| s.parse::<u32>().unwrap_or(0);
    let values = [
        parse(env!("CARGO_PKG_VERSION_MAJOR")),
        parse(env!("CARGO_PKG_VERSION_MINOR")),
        parse(env!("CARGO_PKG_VERSION_PATCH")),
    ];
    for (ptr, v) in [major, minor, patch].into_iter().zip(values) {
        if !ptr.is_null() {
            // SAFETY: the caller passes NULL or a valid, writable u32.
            unsafe { *ptr = v };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::steermd_status;
    use std::collections::HashSet;

    /// `ALL` lists each status once, and every status names itself.
    #[test]
    fn every_status_has_a_distinct_name() {
        let codes: HashSet<i32> = steermd_status::ALL.iter().map(|s| *s as i32).collect();
        assert_eq!(codes.len(), steermd_status::ALL.len());
        let names: HashSet<_> = steermd_status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), steermd_status::ALL.len());
        for s in steermd_status::ALL {
            assert_eq!(steermd_status::from_code(s as i32), Some(s));
            assert_eq!(s.name().to_str().unwrap(), format!("{s:?}"));
        }
    }
}
