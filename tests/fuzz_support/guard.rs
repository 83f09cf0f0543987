//! Memory and time guards of the fuzz harness.
//!
//! Memory: the fuzz test binary's global allocator refuses (prints and
//! aborts on) any single allocation above [`MAX_ALLOC`]. No seed file is
//! larger than 10 MB, so a request that large can only come from a size
//! read out of a header and not checked against the file. Aborting (rather
//! than panicking, which an allocator must not do) is deliberate: the
//! message names the target, the case and the saved input file, and the
//! test fails.
//!
//! Time: a watchdog thread aborts the process, naming the same, when one
//! case runs longer than [`MAX_CASE`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest single allocation a parser may make on a fuzzed input.
pub const MAX_ALLOC: usize = 256 << 20;
/// Longest one case may run.
pub const MAX_CASE: Duration = Duration::from_secs(20);

/// The allocator that enforces [`MAX_ALLOC`] while a case runs.
pub struct CappedAlloc;

static ARMED: AtomicBool = AtomicBool::new(false);
/// What is running now (target, case, input path), for the abort messages.
static CURRENT: Mutex<String> = Mutex::new(String::new());
/// Milliseconds since [`epoch`] at which the current case started (0: idle).
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static E: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn die(what: &str) -> ! {
    // Write without allocating: the message was formatted before the case.
    let cur = CURRENT.try_lock().map(|s| s.clone()).unwrap_or_default();
    eprintln!("\nFUZZ FAILURE: {what} while running {cur}");
    std::process::abort();
}

// SAFETY: forwards to the system allocator unchanged; only refuses sizes.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC && ARMED.load(Ordering::Relaxed) {
            ARMED.store(false, Ordering::Relaxed);
            die(&format!("an allocation of {} bytes", layout.size()));
        }
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC && ARMED.load(Ordering::Relaxed) {
            ARMED.store(false, Ordering::Relaxed);
            die(&format!("a zeroed allocation of {} bytes", layout.size()));
        }
        // SAFETY: as alloc.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC && ARMED.load(Ordering::Relaxed) {
            ARMED.store(false, Ordering::Relaxed);
            die(&format!("a reallocation to {new_size} bytes"));
        }
        // SAFETY: as alloc; ptr came from this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Start the watchdog thread (once).
pub fn start_watchdog() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        epoch();
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = STARTED_MS.load(Ordering::Relaxed);
            let now = epoch().elapsed().as_millis() as u64;
            if s != 0 && now.saturating_sub(s) > MAX_CASE.as_millis() as u64 {
                die(&format!(
                    "a case running over {} s (a hang)",
                    MAX_CASE.as_secs()
                ));
            }
        });
    });
}

/// Mark a case as running: arms the allocation cap and the watchdog.
pub fn begin(what: String) {
    *CURRENT.lock().unwrap() = what;
    STARTED_MS.store(
        epoch().elapsed().as_millis().max(1) as u64,
        Ordering::Relaxed,
    );
    ARMED.store(true, Ordering::Relaxed);
}

/// Mark the case as done.
pub fn end() {
    ARMED.store(false, Ordering::Relaxed);
    STARTED_MS.store(0, Ordering::Relaxed);
}
