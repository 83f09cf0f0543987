//! Molecular dynamics on every GPU backend present (tests/common/devices.rs:
//! OpenCL on PoCL in CI; CUDA and HIP print that they were skipped), on
//! villin (582 atoms, amber99sb-ildn + OBC, CutoffNonPeriodic 1 nm, HBond
//! constraints, CM motion remover: tests/data/ff/ildn_obc_cutoff). The runs
//! are kept to tens of steps so that PoCL, which executes every kernel on
//! the CPU, finishes in seconds; the long physics runs (NVE drift, dt²
//! scaling, Langevin temperature distribution) are integrate_villin's, with
//! `STEERMD_TEST_DEVICE=opencl`.
//!
//! - The same seed gives the same trajectory twice, bit for bit.
//! - A checkpoint resumed on the device continues bit for bit.
//! - Constraints hold after every step.
//! - Device and CPU trajectories agree: after 20 Langevin or velocity
//!   Verlet steps from the same state and seed, positions within 1e-8 nm
//!   (double) or 1e-4 nm (mixed) of the CPU backend's; the kinetic and
//!   potential energies within the parity bounds of forcefield_parity. The
//!   device solves constraints by Gauss–Seidel SHAKE/RATTLE and the host by
//!   dense Newton, each to the relative tolerance, so these comparisons
//!   use a tolerance of 1e-10 on both sides.
//! - Toy rigid waters (SETTLE) and methanes (SHAKE clusters of four) with
//!   standard forces: constraints hold after every step at the default
//!   tolerance, Verlet keeps the momentum at zero, device and CPU agree as
//!   above (which checks the CM motion remover under Langevin noise), and
//!   the NVE energy error falls as dt² and stays within 3x of the CPU's
//!   (0.2 ps; the long NVE and temperature runs on villin are
//!   integrate_villin's with `STEERMD_TEST_DEVICE`).
//! - A step that fails a device check returns `Unstable` naming it, and the
//!   state before it is kept bit for bit.

use std::path::PathBuf;

use steermd::forcefield::{xml::read_system_xml, System};
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
use steermd::Device;
use steermd::Error;

#[path = "common/devices.rs"]
mod devices;
#[path = "drive_support/mod.rs"]
mod drive_support;
#[path = "integrate_toys/mod.rs"]
mod integrate_toys;
use devices::Target;

fn villin() -> (System, Vec<[f64; 3]>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ff/ildn_obc_cutoff");
    let system = read_system_xml(dir.join("system.xml")).unwrap();
    let (_, x) = steermd::io::read_npy::<f64>(dir.join("positions.npy")).unwrap();
    (system, x.chunks(3).map(|c| [c[0], c[1], c[2]]).collect())
}

const LANGEVIN: Integrator = Integrator::LangevinMiddle {
    dt: 0.002,
    temperature: 300.0,
    friction: 1.0,
};

/// Villin with 300 K velocities on `device` at `target`'s precision.
fn start(device: Device, target: &Target) -> Simulation {
    start_with(device, target, SimulationOptions::new(LANGEVIN))
}

/// Villin with 300 K velocities on `device` at `target`'s precision with
/// `options` (seed 5).
fn start_with(device: Device, target: &Target, mut options: SimulationOptions) -> Simulation {
    let (system, x) = villin();
    options.seed = 5;
    options.device = device;
    options.precision = target.precision;
    let mut sim = Simulation::new(system, x, None, options).unwrap();
    sim.apply_constraints().unwrap();
    sim.set_velocities_to_temperature(300.0, 9).unwrap();
    sim
}

fn max_abs_diff(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(p, q)| (0..3).map(move |k| (p[k] - q[k]).abs()))
        .fold(0.0, f64::max)
}

#[test]
fn same_seed_same_trajectory_and_constraints_hold() {
    for t in devices::gpu_targets("same_seed_same_trajectory_and_constraints_hold") {
        let mut a = start(t.device, &t);
        let mut b = start(t.device, &t);
        for _ in 0..10 {
            a.step(1).unwrap();
            let (err, _) = a.constraints().max_relative_error(a.positions());
            assert!(
                err <= 1e-5,
                "{}: constraint error {err} after step {}",
                t.label(),
                a.step_count()
            );
        }
        b.step(10).unwrap();
        assert_eq!(a.positions(), b.positions(), "{}", t.label());
        assert_eq!(a.velocities(), b.velocities(), "{}", t.label());
        eprintln!("{}: 10 steps twice, bitwise equal", t.label());
    }
}

#[test]
fn checkpoint_resumes_bitwise_on_the_device() {
    for t in devices::gpu_targets("checkpoint_resumes_bitwise_on_the_device") {
        let dir = tempfile::tempdir().unwrap();
        let chk = dir.path().join("s.chk");
        let mut full = start(t.device, &t);
        full.step(6).unwrap();
        full.save_checkpoint(&chk).unwrap();
        full.step(6).unwrap();
        let mut resumed = start(t.device, &t);
        resumed.load_checkpoint(&chk).unwrap();
        resumed.step(6).unwrap();
        assert_eq!(resumed.step_count(), 12);
        assert_eq!(full.positions(), resumed.positions(), "{}", t.label());
        assert_eq!(full.velocities(), resumed.velocities(), "{}", t.label());
    }
}

const VERLET: Integrator = Integrator::VelocityVerlet { dt: 0.001 };

/// Positions bound of a 20-step device vs CPU comparison.
fn trajectory_bound(t: &Target) -> f64 {
    match t.precision {
        steermd::Precision::Double => 1e-8,
        steermd::Precision::Mixed => 1e-4,
    }
}

/// Step `gpu` and `cpu` 20 steps and compare them (see the module notes).
fn compare_20_steps(what: &str, t: &Target, gpu: &mut Simulation, cpu: &mut Simulation) {
    gpu.step(20).unwrap();
    cpu.step(20).unwrap();
    let dx = max_abs_diff(gpu.positions(), cpu.positions());
    let (g, c) = (gpu.state().unwrap(), cpu.state().unwrap());
    let de = ((g.potential_energy - c.potential_energy) / c.potential_energy).abs();
    let dk = ((g.kinetic_energy - c.kinetic_energy) / c.kinetic_energy).abs();
    eprintln!(
        "{} {what}: after 20 steps max |dx| {dx:.2e} nm, potential rel {de:.2e}, kinetic rel {dk:.2e}",
        t.label()
    );
    assert!(
        dx <= trajectory_bound(t),
        "{} {what}: positions differ by {dx} nm",
        t.label()
    );
    assert!(
        de <= t.energy_tol && dk <= t.energy_tol,
        "{} {what}: {de} {dk}",
        t.label()
    );
}

#[test]
fn device_trajectory_follows_the_cpu() {
    for t in devices::gpu_targets("device_trajectory_follows_the_cpu") {
        for (what, integrator) in [("langevin", LANGEVIN), ("verlet", VERLET)] {
            let mut options = SimulationOptions::new(integrator);
            options.constraint_tolerance = 1e-10;
            let mut gpu = start_with(t.device, &t, options.clone());
            let mut cpu = start_with(Device::Cpu, &t, options);
            compare_20_steps(what, &t, &mut gpu, &mut cpu);
        }
    }
}

/// 8 toy rigid waters and 3 methanes (tests/integrate_toys) with standard
/// forces and a CM motion remover every step, minimized on the CPU (so
/// that device and CPU runs start from the same minimum), at 300 K.
fn toy_molecules(device: Device, t: &Target, integrator: Integrator, tol: f64) -> Simulation {
    let (system, toy, x) = integrate_toys::molecules(8, 3, Some(1));
    let system = integrate_toys::with_standard_forces(system, &toy);
    let mut options = SimulationOptions::new(integrator);
    options.seed = 3;
    options.constraint_tolerance = tol;
    let mut cpu = Simulation::new(system.clone(), x, None, options.clone()).unwrap();
    cpu.minimize(1.0, 0).unwrap();
    options.device = device;
    options.precision = t.precision;
    let mut sim = Simulation::new(system, cpu.positions().to_vec(), None, options).unwrap();
    sim.set_velocities_to_temperature(300.0, 5).unwrap();
    sim
}

fn momentum(sim: &Simulation) -> f64 {
    let m = &sim.system().masses;
    (0..3)
        .map(|k| {
            m.iter()
                .zip(sim.velocities())
                .map(|(m, v)| m * v[k])
                .sum::<f64>()
                .abs()
        })
        .fold(0.0, f64::max)
}

fn total_energy(sim: &mut Simulation) -> f64 {
    let s = sim.state().unwrap();
    s.potential_energy + s.kinetic_energy
}

#[test]
fn settle_and_shake_on_the_device() {
    for t in devices::gpu_targets("settle_and_shake_on_the_device") {
        for (what, integrator) in [("langevin", LANGEVIN), ("verlet", VERLET)] {
            let mut sim = toy_molecules(t.device, &t, integrator, 1e-5);
            assert_eq!(sim.constraints().n_settle(), 8);
            let mut worst: f64 = 0.0;
            for _ in 0..30 {
                sim.step(1).unwrap();
                let (e, k) = sim.constraints().max_relative_error(sim.positions());
                assert!(
                    e <= 1e-5,
                    "{} {what}: step {}: constraint {k:?} error {e}",
                    t.label(),
                    sim.step_count()
                );
                worst = worst.max(e);
                // Verlet conserves the (removed) momentum up to the
                // asymmetry of the pair forces (row kernels compute each
                // pair from both ends: exact opposites in double, f32
                // roundings in mixed); Langevin noise adds momentum every
                // step, which the CPU comparison below checks is removed
                // as on the host.
                let p = momentum(&sim);
                let p_bound = match t.precision {
                    steermd::Precision::Double => 1e-9,
                    steermd::Precision::Mixed => 1e-7,
                };
                if what == "verlet" {
                    assert!(p < p_bound, "{} {what}: momentum {p} amu nm/ps", t.label());
                }
            }
            eprintln!(
                "{} {what}: 30 steps, max relative constraint error {worst:.2e}",
                t.label()
            );
            let mut gpu = toy_molecules(t.device, &t, integrator, 1e-10);
            let mut cpu = toy_molecules(Device::Cpu, &t, integrator, 1e-10);
            compare_20_steps(&format!("toy {what}"), &t, &mut gpu, &mut cpu);
        }
    }
}

/// Largest |E − E0| (kJ/mol) of toy NVE dynamics over 0.2 ps at step `dt`.
fn nve_spread(device: Device, t: &Target, dt: f64) -> f64 {
    let mut sim = toy_molecules(device, t, Integrator::VelocityVerlet { dt }, 1e-10);
    let e0 = total_energy(&mut sim);
    let every = (0.01 / dt).round() as u64;
    let mut worst: f64 = 0.0;
    for _ in 0..20 {
        sim.step(every).unwrap();
        worst = worst.max((total_energy(&mut sim) - e0).abs());
    }
    worst
}

#[test]
fn nve_energy_error_scales_with_dt_squared_on_the_device() {
    for t in devices::gpu_targets("nve_energy_error_scales_with_dt_squared_on_the_device") {
        let coarse = nve_spread(t.device, &t, 0.001);
        let fine = nve_spread(t.device, &t, 0.0005);
        let cpu = nve_spread(Device::Cpu, &t, 0.001);
        eprintln!(
            "{}: NVE max |E - E0| over 0.2 ps: device {coarse:.3e} (1 fs), {fine:.3e} (0.5 fs), CPU {cpu:.3e} (1 fs) kJ/mol",
            t.label()
        );
        let ratio = coarse / fine;
        assert!(
            (2.5..6.0).contains(&ratio),
            "{}: halving dt shrank the energy error {ratio}x (dt² gives 4x)",
            t.label()
        );
        assert!(
            coarse <= 3.0 * cpu,
            "{}: device {coarse} vs CPU {cpu} kJ/mol",
            t.label()
        );
    }
}

#[test]
fn failing_step_keeps_the_state_before_it() {
    for t in devices::gpu_targets("failing_step_keeps_the_state_before_it") {
        // 5 fs velocity Verlet steps break villin's H-bond constraints
        // after ~200 steps: past the first status batches, so the state is
        // restored from whichever buffer held it.
        let blowup = Integrator::VelocityVerlet { dt: 0.005 };
        let mut sim = start(t.device, &t);
        sim.set_integrator(blowup).unwrap();
        let err = sim.step(500).unwrap_err();
        let Error::Unstable { step, message } = &err else {
            panic!("{}: expected Unstable, got {err}", t.label());
        };
        assert!(*step > 64, "{}: failed at step {step} already", t.label());
        assert_eq!(sim.step_count(), step - 1, "{}", t.label());
        let mut again = start(t.device, &t);
        again.set_integrator(blowup).unwrap();
        again.step(step - 1).unwrap();
        assert_eq!(sim.positions(), again.positions(), "{}", t.label());
        assert_eq!(sim.velocities(), again.velocities(), "{}", t.label());
        eprintln!(
            "{}: step {step} failed ({message}); state before it kept",
            t.label()
        );
    }
}

#[test]
fn simulate_command_runs_on_the_device() {
    for t in devices::gpu_targets("simulate_command_runs_on_the_device") {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ff/ildn_obc_cutoff");
        let out = tempfile::tempdir().unwrap();
        let traj = out.path().join("t.dcd");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_steermd"))
            .args([
                "--device",
                "opencl",
                "--precision",
                t.precision.name(),
                "simulate",
            ])
            .arg("--system")
            .arg(dir.join("system.xml"))
            .arg("--pdb")
            .arg(dir.join("input.pdb"))
            .args(["--steps", "10", "--report", "5", "--traj"])
            .arg(&traj)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let frames = steermd::io::dcd::read_dcd(&traj).unwrap().n_frames();
        assert_eq!(frames, 2, "{}", t.label());
    }
}

/// A one-iteration steered campaign whose MD runs on the device
/// (`[md] device`, `precision`): it completes and writes its outputs, with
/// as many frames and restarts as the same campaign on the CPU.
#[test]
fn campaign_md_runs_on_the_device() {
    use steermd::drive::{run_campaign, DriveConfig, Silent, SingleProcess};
    for t in devices::gpu_targets("campaign_md_runs_on_the_device") {
        let tmp = tempfile::tempdir().unwrap();
        let run = |name: &str, md_device: &str| {
            let out = tmp.path().join(name);
            let text = drive_support::small_config(&out, 1, "steered", "").replace(
                "seed = 11",
                &format!(
                    "seed = 11\ndevice = \"{md_device}\"\nprecision = \"{}\"",
                    t.precision.name()
                ),
            );
            let cfg = DriveConfig::from_file(&drive_support::write_config(&out, &text)).unwrap();
            run_campaign(&cfg, &SingleProcess, &Device::Cpu, false, &Silent).unwrap();
            drive_support::iteration(&out, 0)
        };
        let (gpu_ids, gpu_latents, _, gpu_restarts) = run("gpu", &devices::device_arg(t.device));
        let (cpu_ids, cpu_latents, _, cpu_restarts) = run("cpu", "cpu");
        assert_eq!(gpu_ids.len(), cpu_ids.len(), "{}", t.label());
        assert_eq!(gpu_latents.len(), cpu_latents.len(), "{}", t.label());
        let count = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
        assert_eq!(count(&gpu_restarts), count(&cpu_restarts), "{}", t.label());
        eprintln!(
            "{}: campaign iteration 0 done, {} frames",
            t.label(),
            gpu_ids.len()
        );
    }
}
