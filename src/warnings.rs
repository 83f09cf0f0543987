//! Warnings about input that was accepted but is not what it claims to be
//! (a DCD header whose frame count disagrees with the file, a partial last
//! frame dropped on request).
//!
//! Each warning is printed once to stderr (`steermd: warning: ...`) and kept
//! in a per-thread list, so that callers that do not see stderr, such as C
//! and Fortran codes through `steermd_warning_count` and
//! `steermd_warning_message`, can query it after the call that raised it.

use std::cell::RefCell;

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Print `message` to stderr and append it to this thread's warning list.
pub fn warn(message: impl Into<String>) {
    let message = message.into();
    eprintln!("steermd: warning: {message}");
    WARNINGS.with(|w| w.borrow_mut().push(message));
}

/// The warnings raised on this thread since the last [`take_warnings`] or
/// [`clear_warnings`], oldest first (the list is left as it is).
pub fn warnings() -> Vec<String> {
    WARNINGS.with(|w| w.borrow().clone())
}

/// Remove and return this thread's warnings, oldest first.
pub fn take_warnings() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Forget this thread's warnings.
pub fn clear_warnings() {
    WARNINGS.with(|w| w.borrow_mut().clear());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_kept_per_thread_until_taken() {
        clear_warnings();
        warn("first");
        warn(String::from("second"));
        std::thread::spawn(|| assert!(warnings().is_empty()))
            .join()
            .unwrap();
        assert_eq!(warnings(), ["first", "second"]);
        assert_eq!(take_warnings(), ["first", "second"]);
        assert!(warnings().is_empty());
    }
}
