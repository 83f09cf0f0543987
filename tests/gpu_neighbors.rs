#![cfg_attr(
    not(any(feature = "opencl", feature = "cuda", feature = "hip")),
    allow(dead_code, unused_imports)
)]
//! The device neighbour list (src/backend/gpu/neighbors.rs) on every GPU
//! runtime compiled in whose device this machine has (OpenCL on PoCL in CI;
//! the others print that they were skipped).
//!
//! The list keeps each atom's neighbours in index order, so the cutoff
//! row kernels sum the same pairs in the same order as without it: every
//! comparison here is bit for bit against the all-pairs walk (the list
//! disabled), at both precisions.
//!
//! - Forces and energies of every cutoff case of tests/data/ff
//!   (CutoffNonPeriodic with a hashed grid, CutoffPeriodic with a switch and
//!   the dispersion correction) and of the periodic case in a triclinic
//!   box, with the default list and with one that starts at a single
//!   neighbour per atom and has to grow (the overflow path).
//! - 100 Langevin steps of villin squeezed toward its centroid, with a list
//!   that starts at one neighbour, grows by no margin and has a 0.001 nm
//!   skin (rebuilt at nearly every step), so that it overflows again inside
//!   the device batches (stopping the batch, growing, resuming from the
//!   step before):
//!   the trajectory equals the all-pairs one, and the capacity grew during
//!   the dynamics.

use std::path::PathBuf;
use std::sync::Arc;

use steermd::backend::gpu::{GpuBackend, GpuContext, GpuForces, NeighborSettings, Runtime};
use steermd::forcefield::ALL_GROUPS;
use steermd::forcefield::{xml::read_system_xml, BoxVectors, ForceEvaluator, ForceOutput, System};
use steermd::integrate::{Integrator, MdContext, SimulationOptions, BOLTZ};
use steermd::Precision;

#[path = "common/devices.rs"]
mod devices;

type V3 = [f64; 3];

struct Case {
    name: &'static str,
    system: System,
    positions: Vec<V3>,
    box_vectors: Option<BoxVectors>,
}

fn load(name: &'static str, box_vectors: Option<BoxVectors>) -> Case {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ff")
        .join(name);
    let system = read_system_xml(dir.join("system.xml")).unwrap();
    let (_, x) = steermd::io::read_npy::<f64>(dir.join("positions.npy")).unwrap();
    let positions = x.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    Case {
        name,
        system,
        positions,
        box_vectors,
    }
}

/// The box of the periodic case (reference.json's box_nm), as given or
/// made triclinic in reduced form.
fn periodic_box(triclinic: bool) -> BoxVectors {
    let (b, c) = if triclinic {
        ([1.1, 4.5981, 0.0], [-0.7, 1.3, 3.8869])
    } else {
        ([0.0, 4.5981, 0.0], [0.0, 0.0, 3.8869])
    };
    [[4.9163, 0.0, 0.0], b, c]
}

fn cases() -> Vec<Case> {
    vec![
        load("ildn_obc_cutoff", None),
        load("prmtop_mbondi3_cutoff", None),
        load("ildn_obc_cutoff_switch_periodic", Some(periodic_box(false))),
        load("ildn_obc_cutoff_switch_periodic", Some(periodic_box(true))),
    ]
}

const ALL_PAIRS: NeighborSettings = NeighborSettings {
    enabled: false,
    skin: 0.1,
    initial_capacity: 1,
    margin: 0,
};

/// A list that starts at one neighbour per atom and grows by no margin,
/// with a skin of `skin` nm.
fn tight(skin: f64) -> NeighborSettings {
    NeighborSettings {
        enabled: true,
        skin,
        initial_capacity: 1,
        margin: 0,
    }
}

fn evaluate<R: Runtime>(
    backend: &Arc<GpuBackend<R>>,
    case: &Case,
    settings: &NeighborSettings,
) -> (ForceOutput, Option<usize>) {
    let mut forces = GpuForces::with_neighbors(backend.clone(), &case.system, settings).unwrap();
    let mut out = ForceOutput::new(case.system.n_particles());
    forces
        .compute(
            &case.positions,
            case.box_vectors.as_ref(),
            ALL_GROUPS,
            &mut out,
        )
        .unwrap();
    (out, forces.neighbor_capacity())
}

fn forces_equal_all_pairs<R: Runtime>(backend: Arc<GpuBackend<R>>, label: &str) {
    for case in cases() {
        let (reference, none) = evaluate(&backend, &case, &ALL_PAIRS);
        assert_eq!(none, None, "{label} {}: the list was disabled", case.name);
        for (what, settings) in [
            ("default", NeighborSettings::default()),
            ("tight", tight(0.1)),
        ] {
            let (out, cap) = evaluate(&backend, &case, &settings);
            let cap = cap.expect("a cutoff system has a neighbour list");
            assert!(cap > 1, "{label} {}: the {what} list never grew", case.name);
            assert_eq!(
                out.group_energies, reference.group_energies,
                "{label} {} ({what} list): energies differ from all pairs",
                case.name
            );
            assert_eq!(
                out.forces, reference.forces,
                "{label} {} ({what} list): forces differ from all pairs",
                case.name
            );
            eprintln!(
                "{label} {} ({what} list): bitwise equal, capacity {cap}",
                case.name
            );
        }
    }
}

/// Velocities (nm/ps) that squeeze the molecule toward its centroid at
/// 1/ps, plus a 300 K-scale spread from a fixed sequence: the neighbour
/// counts grow as it is compressed.
fn squeezing_velocities(system: &System, x: &[V3]) -> Vec<V3> {
    let n = x.len() as f64;
    let centroid = [0, 1, 2].map(|k| x.iter().map(|p| p[k]).sum::<f64>() / n);
    let mut u = 0.5f64;
    system
        .masses
        .iter()
        .zip(x)
        .map(|(&m, p)| {
            let scale = if m > 0.0 {
                (BOLTZ * 300.0 / m).sqrt()
            } else {
                0.0
            };
            [0, 1, 2].map(|k| {
                u = (u * 997.0 + 0.271).fract();
                scale * (2.0 * u - 1.0) - (p[k] - centroid[k])
            })
        })
        .collect()
}

fn trajectory<R: Runtime>(
    backend: &Arc<GpuBackend<R>>,
    case: &Case,
    settings: &NeighborSettings,
) -> (Vec<V3>, Vec<V3>, [Option<usize>; 2]) {
    let mut options = SimulationOptions::new(Integrator::LangevinMiddle {
        dt: 0.002,
        temperature: 300.0,
        friction: 1.0,
    });
    options.seed = 11;
    let start = (case.positions.clone(), case.box_vectors);
    let mut context =
        GpuContext::with_neighbors(backend.clone(), &case.system, start, &options, settings)
            .unwrap();
    context.apply_constraints().unwrap();
    let v = squeezing_velocities(&case.system, context.positions());
    context.set_constrained_velocities(v).unwrap();
    context.step(1).unwrap();
    let after_load = context.neighbor_capacity();
    context.step(99).unwrap();
    let x = context.positions().to_vec();
    let v = context.velocities().to_vec();
    (x, v, [after_load, context.neighbor_capacity()])
}

fn dynamics_equal_all_pairs<R: Runtime>(backend: Arc<GpuBackend<R>>, label: &str) {
    let case = load("ildn_obc_cutoff", None);
    let (x0, v0, _) = trajectory(&backend, &case, &ALL_PAIRS);
    // A skin of 0.001 nm rebuilds the list at nearly every step, so the
    // largest count moves above the one the list was sized for.
    let (x, v, [first, last]) = trajectory(&backend, &case, &tight(0.001));
    let (first, last) = (first.unwrap(), last.unwrap());
    assert!(
        last > first,
        "{label}: the list never overflowed during the dynamics (capacity {first} after the \
         first step, {last} after 100)"
    );
    assert_eq!(x, x0, "{label}: positions differ from the all-pairs run");
    assert_eq!(v, v0, "{label}: velocities differ from the all-pairs run");
    eprintln!("{label}: 100 steps bitwise equal; capacity {first} -> {last}");
}

/// Run `check` on every backend of one runtime kind, or print why not.
fn on_runtime<R: Runtime>(
    test: &str,
    kind: &str,
    label: &str,
    make: impl Fn(Precision) -> steermd::Result<Arc<GpuBackend<R>>>,
    check: impl Fn(Arc<GpuBackend<R>>, &str),
) {
    for precision in [Precision::Double, Precision::Mixed] {
        match make(precision) {
            Ok(backend) => check(backend, &format!("{label}/{}", precision.name())),
            Err(e) => {
                assert!(
                    !devices::required(kind),
                    "{test}: STEERMD_REQUIRE_DEVICES names {kind} but: {e}"
                );
                eprintln!("{test}: SKIPPED on {kind}: {e}");
                return;
            }
        }
    }
}

/// Run a generic check on every runtime compiled in.
macro_rules! everywhere {
    ($test:expr, $check:ident) => {{
        #[cfg(feature = "opencl")]
        on_runtime(
            $test,
            "opencl",
            "OpenCl",
            |p| steermd::backend::gpu::opencl_backend(0, p),
            $check,
        );
        #[cfg(feature = "cuda")]
        on_runtime(
            $test,
            "cuda",
            "Cuda",
            |p| steermd::backend::gpu::cuda_backend(0, p),
            $check,
        );
        #[cfg(feature = "hip")]
        on_runtime(
            $test,
            "hip",
            "Hip",
            |p| steermd::backend::gpu::hip_backend(0, p),
            $check,
        );
        #[cfg(not(any(feature = "opencl", feature = "cuda", feature = "hip")))]
        eprintln!("{}: SKIPPED: no GPU runtime compiled in", $test);
    }};
}

#[test]
fn list_forces_equal_all_pairs() {
    everywhere!("list_forces_equal_all_pairs", forces_equal_all_pairs);
}

#[test]
fn list_dynamics_equal_all_pairs() {
    everywhere!("list_dynamics_equal_all_pairs", dynamics_equal_all_pairs);
}
