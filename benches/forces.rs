//! Force evaluation and Langevin steps on villin (582 atoms, ff99SB-ILDN +
//! OBC2, H-bond constraints) from `tests/data/ff`, CPU and reference
//! backends: no cutoff and a 1.0 nm CutoffNonPeriodic cutoff.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use steermd::forcefield::{xml::read_system_xml, ForceOutput, System, ALL_GROUPS};
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
use steermd::io::read_npy;
use steermd::Device;

const CASES: [&str; 2] = ["ildn_obc_nocutoff", "ildn_obc_cutoff"];

fn load(case: &str) -> (System, Vec<[f64; 3]>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ff")
        .join(case);
    let system = read_system_xml(dir.join("system.xml")).expect("shipped system");
    let (_, flat) = read_npy::<f64>(dir.join("positions.npy")).expect("shipped positions");
    (
        system,
        flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
    )
}

fn force_evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("forces");
    for case in CASES {
        let (system, positions) = load(case);
        for device in [Device::Cpu, Device::Reference] {
            let backend = device.backend().expect("built-in backend");
            let mut evaluator = backend.force_evaluator(&system).expect("supported system");
            let mut out = ForceOutput::new(positions.len());
            group.bench_function(format!("{case}/{}", backend.name()), |b| {
                b.iter(|| {
                    evaluator
                        .compute(black_box(&positions), None, ALL_GROUPS, &mut out)
                        .expect("finite forces");
                    out.potential_energy()
                })
            });
        }
    }
    group.finish();
}

fn langevin_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("langevin_2fs_x10");
    group.sample_size(20);
    for case in CASES {
        let (system, positions) = load(case);
        let mut opts = SimulationOptions::new(Integrator::LangevinMiddle {
            dt: 0.002,
            temperature: 300.0,
            friction: 1.0,
        });
        opts.seed = 1;
        let mut sim = Simulation::new(system, positions, None, opts).expect("simulation");
        sim.set_velocities_to_temperature(300.0, 1)
            .expect("velocities");
        group.bench_function(case, |b| b.iter(|| sim.step(10).expect("stable dynamics")));
    }
    group.finish();
}

criterion_group!(benches, force_evaluation, langevin_steps);
criterion_main!(benches);
