//! Launching MPI jobs from the tests: the one place that knows which
//! `mpirun` flags work as root, in containers and on small machines.

use std::io::{Read, Seek};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `mpirun -n <n>` ready for the program and its arguments, or `None` when
/// no `mpirun` is on PATH (the caller skips, saying so).
///
/// With Open MPI it adds `--allow-run-as-root` (CI containers run as root),
/// `--oversubscribe` (more ranks than cores), `--bind-to none` (ranks run
/// rayon threads; container cpusets may refuse binding) and disables the
/// shared-memory single-copy mechanism (CMA needs ptrace rights that
/// containers often lack). MPICH's launcher needs none of these.
pub fn mpirun_command(n: usize) -> Option<Command> {
    let version = Command::new("mpirun").arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&version.stdout).into_owned()
        + &String::from_utf8_lossy(&version.stderr);
    let mut cmd = Command::new("mpirun");
    if text.contains("Open MPI") || text.contains("OpenRTE") {
        cmd.args([
            "--allow-run-as-root",
            "--oversubscribe",
            "--bind-to",
            "none",
        ])
        // Open MPI 4 (vader) and 5 (sm) names; unknown ones are ignored.
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("OMPI_MCA_btl_sm_single_copy_mechanism", "none");
    }
    cmd.arg("-n").arg(n.to_string());
    Some(cmd)
}

/// The example binary `name` of the profile running this test
/// (`target/<profile>/examples/<name>`); panics, naming the command that
/// builds it, when it is missing.
pub fn example_binary(name: &str) -> PathBuf {
    // The test binary is target/<profile>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary under target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --examples --features mpi` first (same profile)",
        path.display()
    );
    path
}

/// Exit status, stdout and stderr of a finished command.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run `cmd` to completion; panics if it runs longer than `limit` (after
/// terminating it, so a hung MPI job does not outlive the test). Output goes
/// through temporary files, not pipes: ranks orphaned by a killed launcher
/// cannot block the reader.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> Finished {
    let mut out = tempfile::tempfile().expect("temporary file");
    let mut err = tempfile::tempfile().expect("temporary file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("file handle"))
        .stderr(err.try_clone().expect("file handle"))
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if start.elapsed() > limit {
            // SIGTERM first: mpirun then kills its ranks; SIGKILL if it must.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |f: &mut std::fs::File| {
        let mut s = String::new();
        f.rewind().expect("rewind");
        f.read_to_string(&mut s).expect("read output");
        s
    };
    Finished {
        status,
        stdout: read(&mut out),
        stderr: read(&mut err),
    }
}
