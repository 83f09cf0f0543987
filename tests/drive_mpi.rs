//! The MPI communicator under a real `mpirun` (feature `mpi`).
//!
//! Runs the example `mpi_comm_check`, which these tests do not build: run
//! `cargo build --examples --features mpi` first (tools/test.sh does), then
//! `cargo test --features mpi --test drive_mpi`. Each test is skipped, with
//! a note on stderr, when no `mpirun` is on PATH.
//!
//! The campaign tests run `steermd drive` (built with `mpi` by this test
//! run) on 2 and 3 ranks (4 simulations: even and uneven shares) and check
//! that every iteration's frames, latents, RMSDs and restart decisions are
//! bitwise those of the one-process run; and that a failing rank ends the
//! whole job with a message instead of a hang.
#![cfg(feature = "mpi")]

mod common;
mod drive_support;

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

/// A campaign job: `steermd drive --quiet --config CONFIG` on `n` ranks.
fn drive_job(n: usize, config: &std::path::Path, limit: Duration) -> Option<Finished> {
    let Some(mut cmd) = mpirun_command(n) else {
        eprintln!("skipped: no mpirun on PATH");
        return None;
    };
    cmd.arg(env!("CARGO_BIN_EXE_steermd"))
        .args(["drive", "--quiet", "--config"])
        .arg(config);
    Some(run_with_timeout(cmd, limit))
}

/// The bundled small campaign, its `[agent]` section rewritten by `agent`,
/// on 2 and 3 ranks against one process.
fn campaign_matches_one_process(agent: fn(String) -> String) {
    use drive_support::{assert_same_campaign, small_config, write_config};
    use steermd::drive::{run_campaign, DriveConfig, Silent, SingleProcess};
    if mpirun_command(1).is_none() {
        eprintln!("skipped: no mpirun on PATH");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let cfg = DriveConfig::from_file(&write_config(
        &one,
        &agent(small_config(&one.join("out"), 2, "steered", "")),
    ))
    .unwrap();
    run_campaign(&cfg, &SingleProcess, &steermd::Device::Cpu, false, &Silent).unwrap();
    for n in [2, 3] {
        let dir = tmp.path().join(format!("n{n}"));
        let config = write_config(
            &dir,
            &agent(small_config(&dir.join("out"), 2, "steered", "")),
        );
        let job = drive_job(n, &config, Duration::from_secs(900)).unwrap();
        assert!(
            job.status.success(),
            "{n} ranks: {}\n{}",
            job.stdout,
            job.stderr
        );
        assert!(
            job.stdout.contains(&format!("on {n} rank(s)")),
            "{}",
            job.stdout
        );
        assert_same_campaign(&one.join("out"), &dir.join("out"), 2);
    }
}

#[test]
fn campaign_on_two_and_three_ranks_matches_one_process() {
    campaign_matches_one_process(|c| c);
}

#[test]
fn adaptive_dbscan_campaign_on_two_and_three_ranks_matches_one_process() {
    campaign_matches_one_process(|c| {
        let lof = "method = \"lof\"\nlast_n = 16\nn_neighbors = 5\nn_outliers = 4\n";
        assert!(c.contains(lof), "the small config's agent section changed");
        c.replace(
            lof,
            "method = \"dbscan\"\nlast_n = 16\neps = 0.5\nmin_samples = 3\n\
             min_outliers = 2\nmax_outliers = 6\n",
        )
    });
}

#[test]
fn a_failing_rank_ends_the_campaign_with_a_message() {
    use drive_support::{small_config, write_config};
    let tmp = tempfile::tempdir().unwrap();
    let text = small_config(
        &tmp.path().join("out"),
        3,
        "steered",
        "[fault_injection]\nfail_rank = [1, 1]\n",
    );
    let config = write_config(tmp.path(), &text);
    let Some(job) = drive_job(3, &config, Duration::from_secs(600)) else {
        return;
    };
    assert!(!job.status.success());
    assert!(
        job.stderr.contains("error on rank 1 of 3")
            && job
                .stderr
                .contains("fault injection: rank 1 fails at iteration 1"),
        "{}",
        job.stderr
    );
    // Iteration 0 finished and was checkpointed before the failure.
    assert!(tmp
        .path()
        .join("out/checkpoint/iter_0001/campaign.json")
        .exists());
}

#[test]
fn a_configuration_error_stops_every_rank_before_work() {
    use drive_support::{small_config, write_config};
    let tmp = tempfile::tempdir().unwrap();
    let text = small_config(&tmp.path().join("out"), 1, "steered", "")
        .replace("[ensemble]", "[ensemble]\nreplicas = 2");
    let config = write_config(tmp.path(), &text);
    let Some(job) = drive_job(2, &config, LIMIT) else {
        return;
    };
    assert!(!job.status.success());
    assert!(
        job.stderr.contains("unknown field `replicas`"),
        "{}",
        job.stderr
    );
    assert!(!tmp.path().join("out").exists());
}

/// `steer_mpi_capi`'s restart lines, sorted: serial, or on `n` ranks.
fn steering_lines(n: Option<usize>) -> Option<Vec<String>> {
    let mut cmd = match n {
        None => {
            let mut c = std::process::Command::new(example_binary("steer_mpi_capi"));
            c.arg("--serial");
            c
        }
        Some(n) => {
            let Some(mut c) = mpirun_command(n) else {
                eprintln!("skipped: no mpirun on PATH");
                return None;
            };
            c.arg(example_binary("steer_mpi_capi"));
            c
        }
    };
    cmd.env("RAYON_NUM_THREADS", "1");
    let job = run_with_timeout(cmd, LIMIT);
    assert!(
        job.status.success(),
        "{n:?} ranks: {}\n{}\n{}",
        job.status,
        job.stdout,
        job.stderr
    );
    let mut lines: Vec<String> = job
        .stdout
        .lines()
        .filter(|l| l.starts_with("restart "))
        .map(str::to_string)
        .collect();
    lines.sort();
    Some(lines)
}

/// The C ABI's MPI steering (the caller's communicator, by Fortran handle)
/// chooses on 2 and 3 ranks exactly what one process chooses.
#[test]
fn c_abi_steering_on_mpi_ranks_equals_one_process() {
    if mpirun_command(1).is_none() {
        eprintln!("skipped: no mpirun on PATH");
        return;
    }
    let serial = steering_lines(None).unwrap();
    assert_eq!(serial.len(), 15, "{serial:?}");
    assert!(serial.iter().any(|l| l.split(' ').nth(3) == Some("1")));
    for n in [2, 3] {
        let Some(lines) = steering_lines(Some(n)) else {
            return;
        };
        assert_eq!(lines, serial, "{n} ranks");
    }
}
