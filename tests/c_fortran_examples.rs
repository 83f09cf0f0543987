//! Compiles the C, C++ and Fortran examples against the built library, runs
//! them on the shipped samples and checks they agree with the Rust API: the
//! agent-step examples pick the same outliers, the MD examples print bitwise the same
//! energies for the same seeds.

use std::path::{Path, PathBuf};
use std::process::Command;

use steermd::analysis::contacts::{contact_maps, ContactMapOptions};
use steermd::forcefield::input::{load_system_input, SystemInput};
use steermd::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
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
    run_example_with(compiler, sources, flags, &sample_args())
}

/// The command that runs a compiled example: the program itself, or, with
/// `STEERMD_VALGRIND=1` (as tools/test.sh runs these tests), the program
/// under valgrind memcheck, failing on any invalid read or write, use of
/// uninitialised memory, or definite or indirect leak.
fn example_command(exe: &Path) -> Command {
    if std::env::var_os("STEERMD_VALGRIND").is_none_or(|v| v != "1") {
        return Command::new(exe);
    }
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--tool=memcheck",
        "--error-exitcode=97",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect",
        "--track-origins=yes",
        "--quiet",
    ])
    .arg(exe);
    cmd
}

/// [`run_example`] with the program's arguments given.
fn run_example_with(
    compiler: &str,
    sources: &[PathBuf],
    flags: &[&str],
    args: &[PathBuf],
) -> String {
    if Command::new(compiler).arg("--version").output().is_err() {
        panic!("{compiler} is not installed: run tools/test.sh, which installs it");
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("example");
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
    let run = example_command(&exe).args(args).output().unwrap();
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
fn cpp_example_matches_rust_api() {
    let src = [root().join("examples/cpp/agent_step.cpp")];
    let flags = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];
    let stdout = run_example("g++", &src, &flags);
    assert_eq!(
        picked_frames(&stdout),
        rust_top5(),
        "C++ example output:\n{stdout}"
    );
    // The wrapper's exception carries the C status and message.
    let status = steermd::capi::steermd_status::STEERMD_ERR_SHAPE;
    assert!(
        stdout.contains(&format!(
            "wrong batch size -> status {} {status:?}: ",
            status as i32
        )),
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
    assert!(
        stdout.contains("wrong batch size -> status -3 STEERMD_ERR_SHAPE"),
        "{stdout}"
    );
    let (top, frames) = pdb::read_pdb(&sample_args()[0]).unwrap();
    let first = frames.frame(0);
    let expected = format!(
        "topology: {} atoms, first at{:9.4}{:9.4}{:9.4}",
        top.n_atoms(),
        first[0],
        first[1],
        first[2]
    );
    assert!(stdout.contains(&expected), "{expected}\n{stdout}");
    let (major, minor, patch) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    assert!(
        stdout.contains(&format!(" = {major}.{minor}.{patch}")),
        "{stdout}"
    );
}

/// `include/steermd.h` with its comments stripped.
fn c_header_code() -> String {
    let header = std::fs::read_to_string(root().join("include/steermd.h")).unwrap();
    let mut code = String::new();
    let mut rest = header.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    code.push_str(rest);
    code
}

/// The `steermd_*` functions `include/steermd.h` declares, in file order.
fn c_header_functions() -> Vec<String> {
    let code = c_header_code();
    let mut names = Vec::new();
    for (k, _) in code.match_indices("steermd_") {
        let name: String = code[k..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = code[k + name.len()..].trim_start();
        let at_word_start =
            k == 0 || !code[..k].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if at_word_start && after.starts_with('(') && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[test]
fn fortran_abi_version_is_the_headers() {
    let define = |text: &str, prefix: &str| -> Option<u32> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.trim().parse().ok())
    };
    let header = std::fs::read_to_string(root().join("include/steermd.h")).unwrap();
    let fortran = std::fs::read_to_string(root().join("include/steermd.f90")).unwrap();
    let c = define(&header, "#define STEERMD_ABI_VERSION");
    let f = define(
        &fortran,
        "integer(c_int32_t), parameter :: STEERMD_ABI_VERSION =",
    );
    assert!(c.is_some(), "no STEERMD_ABI_VERSION in steermd.h");
    assert_eq!(
        f, c,
        "steermd.f90's STEERMD_ABI_VERSION differs from steermd.h's"
    );
    assert_eq!(c, Some(steermd::capi::steermd_abi_version()));
}

#[test]
fn every_c_function_has_a_fortran_binding() {
    let functions = c_header_functions();
    assert!(functions.len() > 40, "parsed only {functions:?}");
    let fortran = std::fs::read_to_string(root().join("include/steermd.f90")).unwrap();
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| !fortran.contains(&format!("bind(C, name=\"{f}\")")))
        .collect();
    assert!(
        missing.is_empty(),
        "include/steermd.f90 has no binding for {missing:?}"
    );
}

/// `NAME = value` pairs of `text`'s lines that start with a `STEERMD_` name
/// (after `prefix`, when given), e.g. the enumerators of steermd.h.
fn named_values(text: &str, prefix: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(prefix))
        .filter_map(|l| {
            let (name, value) = l.split_once('=')?;
            let name = name.trim();
            let value = value.trim().trim_end_matches(',').parse().ok()?;
            name.starts_with("STEERMD_")
                .then(|| (name.to_string(), value))
        })
        .collect()
}

#[test]
fn every_c_enum_constant_has_a_fortran_parameter() {
    let enumerators = named_values(&c_header_code(), "");
    let names: Vec<_> = enumerators.iter().map(|(n, _)| n.as_str()).collect();
    // The status codes and at least one selector enum were parsed.
    assert!(
        names.contains(&"STEERMD_ERR_SHAPE") && names.contains(&"STEERMD_LANGEVIN_MIDDLE"),
        "parsed only {names:?}"
    );
    let fortran = std::fs::read_to_string(root().join("include/steermd.f90")).unwrap();
    let parameters = named_values(&fortran, "integer(c_int), parameter ::");
    let missing: Vec<_> = enumerators
        .iter()
        .filter(|e| !parameters.contains(e))
        .collect();
    assert!(
        missing.is_empty(),
        "include/steermd.f90 has no integer(c_int) parameter with the value of {missing:?}"
    );
}

/// The settings both MD examples use: Langevin 300 K, 1/ps, 2 fs, noise seed
/// 2024, minimize to 10 kJ/mol/nm, velocities at 300 K with seed 7, then 10
/// blocks of 100 steps. Returns the potential energy after each block (kJ/mol).
fn rust_md_energies(input: SystemInput) -> Vec<f64> {
    let loaded = load_system_input(&input).unwrap();
    let mut opts = SimulationOptions::new(Integrator::LangevinMiddle {
        dt: 0.002,
        temperature: 300.0,
        friction: 1.0,
    });
    opts.seed = 2024;
    let mut sim =
        Simulation::new(loaded.system, loaded.positions, loaded.box_vectors, opts).unwrap();
    sim.minimize(10.0, 0).unwrap();
    sim.set_velocities_to_temperature(300.0, 7).unwrap();
    (0..10)
        .map(|_| {
            sim.step(100).unwrap();
            sim.state().unwrap().potential_energy
        })
        .collect()
}

/// Potential energies printed on the example's `step N ... potential E` lines.
fn printed_energies(stdout: &str) -> Vec<f64> {
    stdout
        .lines()
        .filter(|l| l.starts_with("step "))
        .map(|l| {
            let after = l.split("potential").nth(1).expect("line has a potential");
            after.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn c_md_example_matches_rust_api() {
    let case = root().join("tests/data/ff/ildn_obc_nocutoff");
    let dir = tempfile::tempdir().unwrap();
    let dcd_path = dir.path().join("out.dcd");
    let args = [
        case.join("system.xml"),
        case.join("input.pdb"),
        dcd_path.clone(),
    ];
    let src = [root().join("examples/c/simulate.c")];
    let stdout = run_example_with("gcc", &src, &["-std=c11", "-Wall", "-Werror"], &args);
    let expected = rust_md_energies(SystemInput::Xml {
        xml: args[0].clone(),
        pdb: args[1].clone(),
    });
    // Same seed, same inputs: the C run is bitwise the Rust run.
    assert_eq!(
        printed_energies(&stdout),
        expected,
        "C example output:\n{stdout}"
    );
    assert!(stdout.contains("refused: shape mismatch"), "{stdout}");
    let frames = dcd::read_dcd(&dcd_path).unwrap();
    assert_eq!((frames.n_frames(), frames.n_atoms), (10, 582));
}

#[test]
fn fortran_md_example_matches_rust_api() {
    let case = root().join("tests/data/ff/prmtop_mbondi2");
    let args = [case.join("villin.prmtop"), case.join("villin.inpcrd")];
    let sources = [
        root().join("include/steermd.f90"),
        root().join("examples/fortran/simulate.f90"),
    ];
    let stdout = run_example_with("gfortran", &sources, &["-Wall"], &args);
    let expected = rust_md_energies(SystemInput::Prmtop {
        prmtop: args[0].clone(),
        inpcrd: args[1].clone(),
        options: PrmtopOptions {
            constraints: Constraints::HBonds,
            implicit_solvent: Some(ImplicitSolvent::Obc2),
            ..PrmtopOptions::default()
        },
    });
    let printed = printed_energies(&stdout);
    assert_eq!(printed.len(), 10, "Fortran example output:\n{stdout}");
    // es25.17 prints 18 significant digits: enough to round-trip an f64.
    assert_eq!(printed, expected, "Fortran example output:\n{stdout}");
}
