//! Running the `steermd` binary from the CLI tests (tests/cli.rs,
//! tests/cli_md.rs). Kept apart from tests/common, which benches and
//! examples also include and where the binary's path is not defined.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run `steermd` with `args`.
pub fn steermd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steermd"))
        .args(args)
        .output()
        .expect("the steermd binary runs")
}

/// Run a command that must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = steermd(args);
    assert!(
        out.status.success(),
        "steermd {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a command that must fail: non-zero exit and exactly one line on
/// stderr, `steermd: error: ...`, containing `needle`.
pub fn fails_with_one_line(args: &[&str], needle: &str) {
    let o = steermd(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "steermd {args:?} should fail");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one error line expected:\n{stderr}"
    );
    assert!(stderr.starts_with("steermd: error: "), "{stderr}");
    assert!(
        stderr.contains(needle),
        "error should mention {needle:?}:\n{stderr}"
    );
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
