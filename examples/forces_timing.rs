//! Quick release-mode timings of the CPU force kernels on villin (582 atoms,
//! the positions of tests/data/ff/ildn_obc_nocutoff) with synthetic
//! Amber-like parameters: per force group and all together, for NoCutoff
//! and CutoffNonPeriodic 1.0 nm (best of 10 batches).
//!
//! `cargo run --release --example forces_timing -- [evaluations [part]]`
//! (part: bonded, nonbonded, gb or all; default every part).

#[path = "../tests/common/mod.rs"]
mod data;

use data::ff::{random_system, Spec};
use std::time::Instant;
use steermd::forcefield::*;
use steermd::io::npy::read_npy;
use steermd::Device;

/// On-CPU time (ns) of every thread of this process so far (Linux
/// schedstat; 0 elsewhere): excludes time spent waiting for a busy core.
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("an integer"))
        .unwrap_or(2000);
    let only = std::env::args().nth(2);
    let (shape, flat) =
        read_npy::<f64>("tests/data/ff/ildn_obc_nocutoff/positions.npy").expect("villin positions");
    let x: Vec<[f64; 3]> = flat.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    let n = shape[0];
    println!(
        "villin {n} atoms, {} rayon threads, {reps} evaluations each",
        rayon::current_num_threads()
    );
    for method in [
        NonbondedMethod::NoCutoff,
        NonbondedMethod::CutoffNonPeriodic,
    ] {
        let mut rng = data::Rng::new(5);
        let mut spec = Spec::new(n, 5.0);
        spec.bonded = true;
        spec.nonbonded = Some((method, None));
        spec.gb = Some((ObcFlavor::GbsaObcForce, method));
        spec.cutoff = 1.0;
        let system = random_system(&mut rng, &spec);
        let mut ev = Device::Cpu
            .backend()
            .unwrap()
            .force_evaluator(&system)
            .unwrap();
        let mut out = ForceOutput::new(n);
        for (name, groups) in [
            ("bonded", 0b111),
            ("nonbonded", 1 << 3),
            ("gb", 1 << 5),
            ("all", ALL_GROUPS),
        ] {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            // The best of 10 batches: robust against other load on the machine.
            let batch = (reps / 10).max(1);
            let mut ms = f64::INFINITY;
            let mut cpu_ms = f64::INFINITY;
            for _ in 0..11 {
                let (t, c) = (Instant::now(), cpu_ns());
                for _ in 0..batch {
                    ev.compute(&x, None, groups, &mut out).unwrap();
                }
                ms = ms.min(t.elapsed().as_secs_f64() * 1e3 / batch as f64);
                cpu_ms = cpu_ms.min((cpu_ns() - c) as f64 * 1e-6 / batch as f64);
            }
            println!("{method:?} {name:<10} {ms:8.4} ms/evaluation wall, {cpu_ms:8.4} ms CPU (all threads)");
        }
    }
}
