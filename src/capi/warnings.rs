//! Warnings raised on this thread by accepted-but-suspect input (see
//! [`crate::warnings`]), queryable by callers that do not read stderr.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static MESSAGE: RefCell<CString> = RefCell::new(CString::default());
}

/// Number of warnings raised by steermd calls on this thread since the last
/// `steermd_clear_warnings` (e.g. a DCD header whose frame count disagrees
/// with the file, or a partial last frame dropped on request).
#[no_mangle]
pub extern "C" fn steermd_warning_count() -> i32 {
    i32::try_from(crate::warnings::warnings().len()).unwrap_or(i32::MAX)
}

/// Warning `index` (0-based, oldest first) raised on this thread, or an empty
/// string when `index` is out of range.
///
/// The returned string is owned by steermd and stays valid until the next
/// `steermd_warning_message` call on the same thread; it is never NULL.
#[no_mangle]
pub extern "C" fn steermd_warning_message(index: i32) -> *const c_char {
    let text = usize::try_from(index)
        .ok()
        .and_then(|i| crate::warnings::warnings().into_iter().nth(i))
        .unwrap_or_default();
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    MESSAGE.with(|m| {
        *m.borrow_mut() = c;
        m.borrow().as_ptr()
    })
}

/// Forget the warnings raised on this thread.
#[no_mangle]
pub extern "C" fn steermd_clear_warnings() {
    crate::warnings::clear_warnings();
}
