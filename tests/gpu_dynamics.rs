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
//! - Device and CPU trajectories agree: after 20 Langevin steps from the
//!   same state and seed, positions within 1e-8 nm (double) or 1e-4 nm
//!   (mixed) of the CPU backend's; the kinetic and potential energies
//!   within the parity bounds of forcefield_parity.

use std::path::PathBuf;

use steermd::forcefield::{xml::read_system_xml, System};
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
use steermd::Device;

#[path = "common/devices.rs"]
mod devices;
#[path = "drive_support/mod.rs"]
mod drive_support;
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
    let (system, x) = villin();
    let mut options = SimulationOptions::new(LANGEVIN);
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

#[test]
fn device_trajectory_follows_the_cpu() {
    for t in devices::gpu_targets("device_trajectory_follows_the_cpu") {
        let mut gpu = start(t.device, &t);
        let mut cpu = start(Device::Cpu, &t);
        gpu.step(20).unwrap();
        cpu.step(20).unwrap();
        let dx = max_abs_diff(gpu.positions(), cpu.positions());
        let bound = match t.precision {
            steermd::Precision::Double => 1e-8,
            steermd::Precision::Mixed => 1e-4,
        };
        let (g, c) = (gpu.state().unwrap(), cpu.state().unwrap());
        let de = ((g.potential_energy - c.potential_energy) / c.potential_energy).abs();
        let dk = ((g.kinetic_energy - c.kinetic_energy) / c.kinetic_energy).abs();
        eprintln!(
            "{}: after 20 steps max |dx| {dx:.2e} nm, potential rel {de:.2e}, kinetic rel {dk:.2e}",
            t.label()
        );
        assert!(dx <= bound, "{}: positions differ by {dx} nm", t.label());
        assert!(
            de <= t.energy_tol && dk <= t.energy_tol,
            "{}: {de} {dk}",
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
