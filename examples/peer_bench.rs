//! Times one steermd kernel on data from `.npy` files and prints one JSON line
//! of timings (best of REPS, seconds, excluding file I/O). Driven by
//! `tools/bench_peers.py`, which times the peer tools on the same files.
//!
//! ```text
//! peer_bench contacts COORDS.npy CUTOFF_NM REPS     # coords f32 [frames, n, 3] nm
//! peer_bench encoder MODEL_DIR INPUT.npy REPS       # input f32 [batch, ...input shape]
//! peer_bench lof POINTS.npy K REPS                  # points f32 [n, dim]
//! peer_bench dbscan POINTS.npy EPS MIN_SAMPLES REPS
//! peer_bench md SYSTEM.xml POSITIONS.npy STEPS REPS   # Langevin 300 K, 1/ps, 2 fs
//! ```

use std::path::Path;
use std::time::Instant;

use steermd::analysis::contacts::{contact_maps, ContactMapOptions};
use steermd::forcefield::xml::read_system_xml;
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
use steermd::io::npy::read_npy;
use steermd::nn::Encoder;
use steermd::{outliers, Device, Frames, Result};

fn best_of<T>(reps: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let v = f()?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(v);
    }
    Ok((best, last.expect("at least one repetition")))
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} ({what}) missing or invalid"))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dev = Device::Cpu;
    match args.first().map(String::as_str) {
        Some("contacts") => {
            let (shape, xyz) = read_npy::<f32>(Path::new(&args[1]))?;
            let cutoff: f32 = arg(&args, 2, "cutoff");
            let reps = arg(&args, 3, "reps");
            let frames = Frames::new(shape[1], xyz, None)?;
            let sel: Vec<usize> = (0..shape[1]).collect();
            let opts = ContactMapOptions {
                cutoff,
                periodic: false,
            };
            let (dense_s, _) = best_of(reps, || {
                contact_maps(&dev, &frames, &sel, &opts).map(|m| m.dense_u8().len())
            })?;
            let (coo_s, nnz) = best_of(reps, || {
                contact_maps(&dev, &frames, &sel, &opts)?
                    .coo_all()
                    .map(|(d, _)| d.len() / 2)
            })?;
            println!(
                r#"{{"dense_s": {dense_s}, "coo_s": {coo_s}, "frames": {}, "nnz": {nnz}}}"#,
                shape[0]
            );
        }
        Some("encoder") => {
            let enc = Encoder::load(Path::new(&args[1]))?;
            let (shape, x) = read_npy::<f32>(Path::new(&args[2]))?;
            let reps = arg(&args, 3, "reps");
            let (s, z) = best_of(reps, || enc.embed(&dev, &x, shape[0]))?;
            println!(
                r#"{{"seconds": {s}, "batch": {}, "z0": {}}}"#,
                shape[0], z[0]
            );
        }
        Some("lof") => {
            let (shape, p) = read_npy::<f32>(Path::new(&args[1]))?;
            let k = arg(&args, 2, "k");
            let reps = arg(&args, 3, "reps");
            let (s, scores) = best_of(reps, || outliers::lof(&dev, &p, shape[1], k))?;
            let min = scores.iter().cloned().fold(f64::INFINITY, f64::min);
            println!(
                r#"{{"seconds": {s}, "n": {}, "min_score": {min}}}"#,
                shape[0]
            );
        }
        Some("dbscan") => {
            let (shape, p) = read_npy::<f32>(Path::new(&args[1]))?;
            let eps = arg(&args, 2, "eps");
            let min_samples = arg(&args, 3, "min_samples");
            let reps = arg(&args, 4, "reps");
            let (s, r) = best_of(reps, || {
                outliers::dbscan(&dev, &p, shape[1], eps, min_samples)
            })?;
            let noise = r.labels.iter().filter(|&&l| l < 0).count();
            println!(
                r#"{{"seconds": {s}, "n": {}, "clusters": {}, "noise": {noise}}}"#,
                shape[0], r.n_clusters
            );
        }
        Some("md") => {
            let system = read_system_xml(Path::new(&args[1]))?;
            let (_, flat) = read_npy::<f64>(Path::new(&args[2]))?;
            let positions: Vec<[f64; 3]> =
                flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
            let steps: u64 = arg(&args, 3, "steps");
            let reps = arg(&args, 4, "reps");
            let mut opts = SimulationOptions::new(Integrator::LangevinMiddle {
                dt: 0.002,
                temperature: 300.0,
                friction: 1.0,
            });
            opts.seed = 1;
            let mut sim = Simulation::new(system, positions, None, opts)?;
            sim.set_velocities_to_temperature(300.0, 1)?;
            sim.step(200)?; // warm-up, as the peer
            let (s, pot) = best_of(reps, || {
                sim.step(steps)?;
                sim.state().map(|st| st.potential_energy)
            })?;
            println!(r#"{{"seconds": {s}, "steps": {steps}, "potential_kj_mol": {pot}}}"#);
        }
        _ => {
            eprintln!(
                "usage: peer_bench contacts|encoder|lof|dbscan|md ... (see the source header)"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
