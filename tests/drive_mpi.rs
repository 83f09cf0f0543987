//! The MPI communicator under a real `mpirun` (feature `mpi`).
//!
//! Runs the example `mpi_comm_check`, which these tests do not build: run
//! `cargo build --examples --features mpi` first (tools/test.sh does), then
//! `cargo test --features mpi --test drive_mpi`. Each test is skipped, with
//! a note on stderr, when no `mpirun` is on PATH.
#![cfg(feature = "mpi")]

mod common;

use std::time::Duration;

use common::mpirun::{example_binary, mpirun_command, run_with_timeout, Finished};

/// Longest a job may take before it counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

/// `mpi_comm_check ARGS` on `n` ranks, or `None` without `mpirun`.
fn check_job(n: usize, args: &[&str]) -> Option<Finished> {
    let Some(mut cmd) = mpirun_command(n) else {
        eprintln!("skipped: no mpirun on PATH");
        return None;
    };
    cmd.arg(example_binary("mpi_comm_check")).args(args);
    Some(run_with_timeout(cmd, LIMIT))
}

fn collectives_on(n: usize) {
    let Some(job) = check_job(n, &[]) else { return };
    assert!(
        job.status.success(),
        "{n} ranks: {}\n{}\n{}",
        job.status,
        job.stdout,
        job.stderr
    );
    for r in 0..n {
        let line = format!("ok rank {r} of {n}");
        assert!(
            job.stdout.lines().any(|l| l == line),
            "no '{line}' in:\n{}",
            job.stdout
        );
    }
}

#[test]
fn collectives_on_two_ranks() {
    collectives_on(2);
}

#[test]
fn collectives_on_three_ranks() {
    collectives_on(3);
}

/// A failing rank ends the whole job, non-zero, with its message, while
/// the other ranks wait in a barrier.
fn ends_the_job(mode: &str, needles: &[&str]) {
    let Some(job) = check_job(3, &[mode]) else {
        return;
    };
    assert!(!job.status.success(), "{mode}: the job succeeded");
    for needle in needles {
        assert!(
            job.stderr.contains(needle),
            "{mode}: no '{needle}' in stderr:\n{}",
            job.stderr
        );
    }
}

#[test]
fn abort_ends_every_rank() {
    ends_the_job("abort", &["rank 1: deliberate failure"]);
}

#[test]
fn panic_ends_every_rank() {
    ends_the_job("panic", &["rank 1 of 3 panicked", "deliberate panic"]);
}
