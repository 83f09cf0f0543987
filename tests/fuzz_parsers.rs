//! Fuzz harness of every file parser (stable toolchain, no nightly).
//!
//! Each target starts from real files in `tests/data` (a checkpoint is
//! written first through the Rust API) and runs mutated copies through the
//! public reader: truncation at every record boundary (line ends, XML tag
//! ends, DCD Fortran record markers, NPY/safetensors header ends, checkpoint
//! fields), random truncation, bit flips, absurd integers (0, -1,
//! 0x7fffffff, 2^40, ...) over header fields, NaN/Inf/huge text in numeric
//! fields, line duplication/deletion/swaps, random byte windows and
//! insertions. The outcome of every case must be a value or an error:
//!
//! - a panic fails the test (caught with `catch_unwind`; the input is saved
//!   under `target/tmp/fuzz-failures/` and the path printed);
//! - a single allocation above 256 MiB or a case running over 20 s aborts
//!   the binary with a message naming the target, case and input file (see
//!   `fuzz_support/guard.rs`).
//!
//! The run is deterministic for a given seed and time budget per target:
//!
//! - `STEERMD_FUZZ_SECONDS` (default 12): seconds per target;
//! - `STEERMD_FUZZ_SEED` (default 2026): PRNG seed;
//! - `STEERMD_FUZZ_TARGETS` (default all): comma-separated target names.
//!
//! CI (`tools/test.sh`) runs the defaults. A longer run by hand, e.g. an
//! hour per target with a fresh seed, optimised:
//!
//! ```sh
//! STEERMD_FUZZ_SECONDS=3600 STEERMD_FUZZ_SEED=$RANDOM \
//!   cargo test --release --test fuzz_parsers -- --nocapture
//! ```
//!
//! The summary table `target cases errors values` is printed at the end.

mod fuzz_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fuzz_support::guard;
use fuzz_support::mutate::{fortran_records, line_ends, mutate, spread, tag_ends, Rng};
use steermd::forcefield::{read_inpcrd, read_prmtop, read_system_xml, PrmtopOptions};
use steermd::integrate::checkpoint::{read_checkpoint, write_checkpoint, CheckpointData};
use steermd::integrate::Integrator;

#[global_allocator]
static ALLOC: guard::CappedAlloc = guard::CappedAlloc;

/// A parse: `Ok(())` when the input gave a value, `Err(message)` for a clean
/// error.
type Parse = fn(&Path) -> Result<(), String>;

/// One seed input of a target: the file the parser reads (by name inside the
/// case directory), its bytes, its record boundaries, and how far its binary
/// header goes (where absurd integers are written).
struct Seed {
    file_name: String,
    bytes: Vec<u8>,
    boundaries: Vec<usize>,
    header: usize,
    /// Other files the parser needs beside the mutated one (name, bytes).
    companions: Vec<(String, Vec<u8>)>,
}

struct Target {
    name: &'static str,
    seeds: Vec<Seed>,
    parse: Parse,
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn text_seed(rel: &str, file_name: &str) -> Seed {
    let bytes = read(rel);
    Seed {
        file_name: file_name.into(),
        boundaries: line_ends(&bytes),
        header: 0,
        bytes,
        companions: vec![],
    }
}

fn xml_seed(rel: &str) -> Seed {
    let bytes = read(rel);
    Seed {
        file_name: "system.xml".into(),
        boundaries: tag_ends(&bytes),
        header: 0,
        bytes,
        companions: vec![],
    }
}

fn dcd_seed(rel: &str) -> Seed {
    let bytes = read(rel);
    Seed {
        file_name: "input.dcd".into(),
        boundaries: fortran_records(&bytes),
        header: 276,
        bytes,
        companions: vec![],
    }
}

/// A binary trajectory (NetCDF-3, XTC) named `file_name`: every byte of the
/// first `header` bytes (NetCDF's header; XTC's first frame header and
/// compressed-size field) is a boundary and takes absurd integers, then a
/// spread over the data.
fn binary_seed(rel: &str, file_name: &str, header: usize) -> Seed {
    let bytes = read(rel);
    Seed {
        file_name: file_name.into(),
        boundaries: spread(bytes.len(), header, 64),
        header,
        bytes,
        companions: vec![],
    }
}

/// NPY: every byte of the magic/version/header-length prefix and header,
/// then a spread over the data.
fn npy_seed(rel: &str) -> Seed {
    let bytes = read(rel);
    let header_end = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    Seed {
        file_name: "input.npy".into(),
        boundaries: spread(bytes.len(), header_end + 1, 64),
        header: header_end,
        bytes,
        companions: vec![],
    }
}

/// A model directory: one seed mutates `config.json`, one the safetensors
/// file (every byte of its 8-byte length and JSON header, then a spread).
fn model_seeds(dir: &str) -> Vec<Seed> {
    let config = read(&format!("{dir}/config.json"));
    let weights = read(&format!("{dir}/model.safetensors"));
    let header_end = 8 + u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
    vec![
        Seed {
            file_name: "config.json".into(),
            boundaries: line_ends(&config),
            header: 0,
            bytes: config.clone(),
            companions: vec![("model.safetensors".into(), weights.clone())],
        },
        Seed {
            file_name: "model.safetensors".into(),
            boundaries: spread(weights.len(), header_end.min(4096), 64),
            header: header_end,
            bytes: weights,
            companions: vec![("config.json".into(), config)],
        },
    ]
}

/// A checkpoint of a toy 7-particle periodic Langevin system, written with
/// the Rust API; boundaries at every field of the layout.
fn checkpoint_seed() -> Seed {
    let n = 7;
    let ck = CheckpointData {
        fingerprint: 0x0123_4567_89ab_cdef,
        step: 1234,
        time: 2.468,
        integrator: Integrator::LangevinMiddle {
            dt: 0.002,
            temperature: 300.0,
            friction: 1.0,
        },
        constraint_tolerance: 1e-6,
        seed: 2026,
        box_vectors: Some([[2.0, 0.0, 0.0], [0.0, 2.5, 0.0], [0.1, 0.2, 3.0]]),
        positions: (0..n).map(|i| [i as f64 * 0.1, 0.2, 0.3]).collect(),
        velocities: (0..n).map(|i| [0.0, i as f64 * -0.5, 1.0]).collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.chk");
    write_checkpoint(&path, &ck).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut boundaries = vec![0, 8, 12, 20, 28, 36, 44, 45, 53, 61, 69, 77, 85, 86];
    boundaries.extend((0..=9).map(|k| 86 + 8 * k));
    boundaries.extend((0..=2 * 3 * n).map(|k| 158 + 8 * k));
    boundaries.push(bytes.len());
    Seed {
        file_name: "state.chk".into(),
        bytes,
        boundaries,
        header: 158,
        companions: vec![],
    }
}

fn err(e: steermd::Error) -> Result<(), String> {
    let msg = e.to_string();
    assert!(!msg.is_empty(), "an error with an empty message");
    Err(msg)
}

fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "pdb",
            seeds: vec![
                text_seed("villin.pdb", "input.pdb"),
                text_seed("pdb_variants/variants.pdb", "input.pdb"),
            ],
            parse: |p| {
                steermd::io::read_pdb_models(p)
                    .and_then(|_| steermd::io::read_pdb_positions(p))
                    .map(|_| ())
                    .or_else(err)
            },
        },
        Target {
            name: "dcd",
            seeds: vec![
                dcd_seed("dcd_interop/mdanalysis.dcd"),
                dcd_seed("dcd_interop/openmm.dcd"),
            ],
            parse: |p| steermd::io::read_dcd(p).map(|_| ()).or_else(err),
        },
        Target {
            name: "xtc",
            seeds: vec![
                binary_seed("traj_formats/villin5.xtc", "input.xtc", 96),
                binary_seed("traj_formats/villin5_nobox.xtc", "input.xtc", 96),
            ],
            parse: |p| steermd::io::read_xtc(p).map(|_| ()).or_else(err),
        },
        Target {
            name: "amber_netcdf",
            seeds: vec![
                binary_seed("traj_formats/villin5.nc", "input.nc", 1024),
                binary_seed("traj_formats/villin.ncrst", "input.ncrst", 1024),
            ],
            parse: |p| steermd::io::read_netcdf(p).map(|_| ()).or_else(err),
        },
        Target {
            name: "npy",
            seeds: vec![
                npy_seed("pbc_boxes.npy"),
                npy_seed("villin_ca_indices.npy"),
                npy_seed("dcd_interop/x_nm.npy"),
            ],
            parse: |p| {
                let a = steermd::io::read_npy::<f32>(p).map(|_| ());
                let b = steermd::io::read_npy::<i64>(p).map(|_| ());
                let c = steermd::io::read_npy::<f64>(p).map(|_| ());
                let d = steermd::io::read_npy_f32_lossless(p).map(|_| ());
                a.or(b).or(c).or(d).or_else(err)
            },
        },
        Target {
            name: "system_xml",
            seeds: vec![xml_seed("ff_gb_variants/kappa_nosa.xml")],
            parse: |p| read_system_xml(p).map(|_| ()).or_else(err),
        },
        Target {
            name: "prmtop",
            seeds: vec![text_seed("ff/prmtop_mbondi2/villin.prmtop", "input.prmtop")],
            parse: |p| {
                let top = read_prmtop(p).or_else(|e| err(e).map(|_| unreachable!()))?;
                let _ = top.topology();
                let _ = top.box_vectors();
                top.create_system(&PrmtopOptions::default())
                    .map(|_| ())
                    .or_else(err)
            },
        },
        Target {
            name: "inpcrd",
            seeds: vec![text_seed("ff/prmtop_mbondi2/villin.inpcrd", "input.rst7")],
            parse: |p| read_inpcrd(p).map(|_| ()).or_else(err),
        },
        Target {
            name: "model_dir",
            seeds: model_seeds("aae_a")
                .into_iter()
                .chain(model_seeds("cvae_b"))
                .collect(),
            parse: |p| {
                steermd::nn::Encoder::load(p.parent().unwrap())
                    .map(|_| ())
                    .or_else(err)
            },
        },
        Target {
            name: "campaign_toml",
            seeds: vec![Seed {
                file_name: "run.toml".into(),
                ..text_seed_abs(
                    &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drive/villin.toml"),
                )
            }],
            parse: |p| {
                let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
                let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drive");
                steermd::drive::DriveConfig::from_toml(&text, p, &base)
                    .map(|_| ())
                    .or_else(err)
            },
        },
        Target {
            name: "checkpoint",
            seeds: vec![checkpoint_seed()],
            parse: |p| read_checkpoint(p).map(|_| ()).or_else(err),
        },
    ]
}

fn text_seed_abs(path: &Path) -> Seed {
    let bytes = std::fs::read(path).unwrap();
    Seed {
        file_name: String::new(),
        boundaries: line_ends(&bytes),
        header: 0,
        bytes,
        companions: vec![],
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Tally {
    cases: u64,
    errors: u64,
    values: u64,
    panics: Vec<String>,
}

/// Run one target for `budget`, splitting it evenly over its seeds.
fn run_target(t: &Target, budget: Duration, seed: u64) -> Tally {
    let mut tally = Tally::default();
    let dir = tempfile::tempdir().unwrap();
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let per_seed = budget / t.seeds.len() as u32;
    for (si, s) in t.seeds.iter().enumerate() {
        for (name, bytes) in &s.companions {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let path = dir.path().join(&s.file_name);
        let start = Instant::now();
        let mut case = 0u64;
        while start.elapsed() < per_seed {
            let case_seed = seed ^ (si as u64) << 48 ^ case.wrapping_mul(0x2545_f491_4f6c_dd1d);
            let mut rng = Rng::new(case_seed);
            let input = mutate(&s.bytes, &s.boundaries, s.header, case, &mut rng);
            std::fs::write(&path, &input).unwrap();
            let what = format!(
                "target {} seed file {} case {case} (STEERMD_FUZZ_SEED={seed}); input at {}",
                t.name,
                si,
                path.display()
            );
            guard::begin(what.clone());
            let outcome = std::panic::catch_unwind(|| (t.parse)(&path));
            guard::end();
            tally.cases += 1;
            match outcome {
                Ok(Ok(())) => tally.values += 1,
                Ok(Err(_)) => tally.errors += 1,
                Err(_) => {
                    std::fs::create_dir_all(&failures).unwrap();
                    let saved = failures.join(format!("{}-{si}-{case}-{}", t.name, s.file_name));
                    std::fs::write(&saved, &input).unwrap();
                    tally
                        .panics
                        .push(format!("{what}: PANIC, input saved to {}", saved.display()));
                }
            }
            case += 1;
        }
        // Restore the seed so the next seed's companions are intact.
        std::fs::write(&path, &s.bytes).unwrap();
    }
    tally
}

#[test]
fn every_parser_survives_hostile_input() {
    guard::start_watchdog();
    let seconds: f64 = env_or("STEERMD_FUZZ_SECONDS", 12.0);
    let seed: u64 = env_or("STEERMD_FUZZ_SEED", 2026);
    let only: Option<Vec<String>> = std::env::var("STEERMD_FUZZ_TARGETS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut rows = Vec::new();
    let mut panics = Vec::new();
    for t in targets() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == t.name))
        {
            continue;
        }
        let tally = run_target(&t, Duration::from_secs_f64(seconds), seed);
        println!(
            "fuzz {:<14} {:>8} cases {:>8} errors {:>8} values {:>3} panics",
            t.name,
            tally.cases,
            tally.errors,
            tally.values,
            tally.panics.len()
        );
        panics.extend(tally.panics.iter().take(20).cloned());
        rows.push((t.name, tally));
    }
    println!("\nfuzz summary (seed {seed}, {seconds} s per target)");
    println!(
        "{:<14} {:>8} {:>8} {:>8}",
        "target", "cases", "errors", "values"
    );
    for (name, t) in &rows {
        println!(
            "{:<14} {:>8} {:>8} {:>8}",
            name, t.cases, t.errors, t.values
        );
    }
    assert!(
        panics.is_empty(),
        "parsers panicked:\n{}",
        panics.join("\n")
    );
}
