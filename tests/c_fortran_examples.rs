//! Compiles the C and Fortran examples against the built library, runs them on
//! the shipped sample and checks they pick the same outliers as the Rust API.

use std::path::{Path, PathBuf};
use std::process::Command;

use steermd::analysis::contacts::{contact_maps, ContactMapOptions};
use steermd::io::{dcd, pdb};
use steermd::nn::Encoder;
use steermd::{outliers, Device};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The static library built beside this test's binary (`target/<profile>/libsteermd.a`).
fn static_lib() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_steermd"));
    let lib = exe.parent().unwrap().join("libsteermd.a");
    assert!(
        lib.exists(),
        "{} was not built: run `cargo build --lib` first (tools/test.sh does)",
        lib.display()
    );
    lib
}

fn sample_args() -> [PathBuf; 3] {
    let d = root().join("tests/data");
    [
        d.join("villin.pdb"),
        d.join("villin.dcd"),
        d.join("cvae_trained"),
    ]
}

/// The five most outlying frames as the Rust API computes them.
fn rust_top5() -> Vec<usize> {
    let [pdb_path, dcd_path, model] = sample_args();
    let (top, _) = pdb::read_pdb(&pdb_path).unwrap();
    let ca = top.select_names(&["CA"]).unwrap();
    let frames = dcd::read_dcd(&dcd_path).unwrap();
    let opts = ContactMapOptions {
        cutoff: 0.8,
        periodic: false,
    };
    let maps = contact_maps(&Device::Cpu, &frames, &ca, &opts).unwrap();
    let input: Vec<f32> = maps.dense_u8().iter().map(|&v| v as f32).collect();
    let enc = Encoder::load(&model).unwrap();
    let z = enc.embed(&Device::Cpu, &input, frames.n_frames()).unwrap();
    let scores = outliers::lof(&Device::Cpu, &z, enc.latent_dim(), 20).unwrap();
    outliers::top_outliers(&scores, 5)
}

fn picked_frames(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("outlier "))
        .map(|l| {
            let after = l.split("frame").nth(1).expect("line names a frame");
            after.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect()
}

/// Linker flags for libhdf5 when the library was built with the `hdf5` feature.
fn hdf5_link_flags() -> Vec<String> {
    if !cfg!(feature = "hdf5") {
        return Vec::new();
    }
    let out = Command::new("pkg-config")
        .args(["--libs", "hdf5"])
        .output()
        .expect("pkg-config runs (tools/test.sh installs it)");
    assert!(out.status.success(), "pkg-config finds no hdf5");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Compile `sources` with `compiler` (plus `flags`) against the static library,
/// run the program on the shipped sample and return its standard output.
fn run_example(compiler: &str, sources: &[PathBuf], flags: &[&str]) -> String {
    if Command::new(compiler).arg("--version").output().is_err() {
        panic!("{compiler} is not installed: run tools/test.sh, which installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("agent_step");
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .args(sources)
        .arg("-I")
        .arg(root().join("include"));
    if compiler == "gfortran" {
        cmd.arg("-J").arg(dir.path()); // where the .mod file goes
    }
    let out = cmd
        .arg("-o")
        .arg(&exe)
        .arg(static_lib())
        .args(["-lpthread", "-ldl", "-lm"])
        .args(hdf5_link_flags())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{compiler} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).args(sample_args()).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "example failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn c_example_matches_rust_api() {
    let src = [root().join("examples/c/agent_step.c")];
    let stdout = run_example("gcc", &src, &["-std=c11", "-Wall", "-Werror"]);
    assert_eq!(
        picked_frames(&stdout),
        rust_top5(),
        "C example output:\n{stdout}"
    );
    assert!(
        stdout.contains("NULL coordinates -> STEERMD_ERR_NULL_POINTER: argument 'xyz' is NULL"),
        "{stdout}"
    );
}

#[test]
fn fortran_example_matches_rust_api() {
    let sources = [
        root().join("include/steermd.f90"),
        root().join("examples/fortran/agent_step.f90"),
    ];
    let stdout = run_example("gfortran", &sources, &["-Wall"]);
    assert_eq!(
        picked_frames(&stdout),
        rust_top5(),
        "Fortran example output:\n{stdout}"
    );
    assert!(stdout.contains("wrong batch size -> status -3"), "{stdout}");
}
