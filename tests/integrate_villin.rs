//! Dynamics of a real system with the real force kernels: villin headpiece
//! (582 atoms, amber99sb-ildn + OBC, no cutoff, HBond constraints, CM motion
//! remover) from tests/data/ff/ildn_obc_nocutoff.
//!
//! The short test runs in every build. The physics tests are long: they run
//! in release builds only —
//! `cargo test --release --test integrate_villin -- --nocapture` —
//! and are ignored in debug builds. `STEERMD_VILLIN_PS` scales their
//! simulated time (default 20: NVE 20 ps per step size, Langevin 20 ps
//! equilibration + 100 ps sampling); `STEERMD_TEST_DEVICE` picks the
//! backend (default `cpu`; `cuda`, `hip` or `opencl` run the whole MD step
//! on that device: tools/gpu_check.sh does so on CUDA, while on PoCL they
//! take hours, so CI runs them on the CPU only).

use std::path::PathBuf;

use steermd::forcefield::{xml::read_system_xml, System};
use steermd::integrate::{Integrator, Simulation, SimulationOptions, BOLTZ};
use steermd::Device;

fn case_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ff/ildn_obc_nocutoff")
}

fn villin() -> (System, Vec<[f64; 3]>) {
    let system = read_system_xml(case_dir().join("system.xml")).unwrap();
    let (shape, x) = steermd::io::read_npy::<f64>(case_dir().join("positions.npy")).unwrap();
    assert_eq!(shape, vec![582, 3]);
    (system, x.chunks(3).map(|c| [c[0], c[1], c[2]]).collect())
}

/// The backend: `STEERMD_TEST_DEVICE` (any `--device` value), default `cpu`.
fn device() -> Device {
    std::env::var("STEERMD_TEST_DEVICE")
        .map(|d| Device::parse(&d).unwrap())
        .unwrap_or(Device::Cpu)
}

/// Simulated-time scale factor from `STEERMD_VILLIN_PS` (ps of NVE per step size).
fn scale() -> f64 {
    std::env::var("STEERMD_VILLIN_PS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(1.0, |ps| ps / 20.0)
}

fn sim(integrator: Integrator, seed: u64) -> Simulation {
    let (system, x) = villin();
    let mut options = SimulationOptions::new(integrator);
    options.seed = seed;
    options.device = device();
    Simulation::new(system, x, None, options).unwrap()
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
}

/// Minimized, then 300 K Langevin for `ps`.
fn equilibrated(ps: f64, seed: u64) -> Simulation {
    let dt = 0.002;
    let mut s = sim(
        Integrator::LangevinMiddle {
            dt,
            temperature: 300.0,
            friction: 1.0,
        },
        seed,
    );
    let r = s.minimize(10.0, 0).unwrap();
    assert!(r.final_energy < r.initial_energy, "{r:?}");
    s.set_velocities_to_temperature(300.0, seed).unwrap();
    s.step((ps / dt).round() as u64).unwrap();
    s
}

#[test]
fn villin_langevin_short_run_constraints_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("villin.ckpt");
    let mut a = sim(
        Integrator::LangevinMiddle {
            dt: 0.002,
            temperature: 300.0,
            friction: 1.0,
        },
        7,
    );
    let e0 = a.state().unwrap().potential_energy;
    // OpenMM 8.6.1 Reference platform on these positions (reference.json).
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir().join("reference.json")).unwrap())
            .unwrap();
    let e_ref = reference["total_energy_kj_mol"].as_f64().unwrap();
    assert!(
        ((e0 - e_ref) / e_ref).abs() < 1e-6,
        "{e0} vs OpenMM {e_ref}"
    );
    let r = a.minimize(10.0, 50).unwrap();
    assert!(r.final_energy < r.initial_energy - 500.0, "{r:?}");
    a.set_velocities_to_temperature(300.0, 3).unwrap();
    for _ in 0..20 {
        a.step(1).unwrap();
        let (e, k) = a.constraints().max_relative_error(a.positions());
        assert!(e <= 1e-5, "constraint {k:?}: {e}");
    }
    let s = a.state().unwrap();
    assert!(s.temperature > 100.0 && s.temperature < 500.0, "{s:?}");
    a.save_checkpoint(&ckpt).unwrap();
    a.step(15).unwrap();

    let mut b = sim(Integrator::VelocityVerlet { dt: 0.001 }, 0);
    b.load_checkpoint(&ckpt).unwrap();
    b.step(15).unwrap();
    assert_eq!(a.positions(), b.positions());
    assert_eq!(a.velocities(), b.velocities());
    assert_eq!(a.state().unwrap(), b.state().unwrap());
}

/// Total-energy fluctuation (std), drift (kJ/mol/ns, linear fit) and mean
/// kinetic energy of NVE from `start` at step `dt` for `ps`.
fn nve(start: &(Vec<[f64; 3]>, Vec<[f64; 3]>), dt: f64, ps: f64, tol: f64) -> (f64, f64, f64) {
    let (system, _) = villin();
    let mut options = SimulationOptions::new(Integrator::VelocityVerlet { dt });
    options.constraint_tolerance = tol;
    options.device = device();
    let mut s = Simulation::new(system, start.0.clone(), None, options).unwrap();
    s.set_velocities(start.1.clone()).unwrap();
    s.apply_constraints().unwrap();
    let every = (0.02 / dt).round() as u64;
    let (mut e, mut t, mut ke) = (vec![], vec![], vec![]);
    for _ in 0..((ps / dt).round() as u64 / every) {
        s.step(every).unwrap();
        let st = s.state().unwrap();
        e.push(st.total_energy());
        t.push(st.time);
        ke.push(st.kinetic_energy);
    }
    let (me, ve) = mean_var(&e);
    let (mt, vt) = mean_var(&t);
    let cov = t
        .iter()
        .zip(&e)
        .map(|(t, e)| (t - mt) * (e - me))
        .sum::<f64>()
        / t.len() as f64;
    (ve.sqrt(), cov / vt * 1000.0, mean_var(&ke).0)
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "long: cargo test --release --test integrate_villin"
)]
fn villin_nve_energy_error_scales_with_dt_squared() {
    let eq = equilibrated(5.0 * scale(), 11);
    let start = (eq.positions().to_vec(), eq.velocities().to_vec());
    let ps = 20.0 * scale();
    let tol = 1e-8;
    let ((s2, d2, k2), (s1, d1, k1)) = std::thread::scope(|sc| {
        let a = sc.spawn(|| nve(&start, 0.002, ps, tol));
        let b = sc.spawn(|| nve(&start, 0.001, ps, tol));
        (a.join().unwrap(), b.join().unwrap())
    });
    let ratio = s2 / s1;
    println!(
        "villin NVE {ps} ps, HBonds (tol {tol:e}): std(E) {s2:.4} kJ/mol at 2 fs, {s1:.4} at 1 fs, ratio {ratio:.2}; \
         drift {d2:+.2} / {d1:+.2} kJ/mol/ns; mean KE {k2:.1} / {k1:.1} kJ/mol"
    );
    assert!((3.0..=5.0).contains(&ratio), "fluctuation ratio {ratio}");
    // No systematic heating or cooling: the fitted drift over the whole run
    // stays below twice the fluctuation at both step sizes.
    for (d, sd) in [(d2, s2), (d1, s1)] {
        assert!(
            d.abs() * ps / 1000.0 < 2.0 * sd,
            "drift {d} kJ/mol/ns over {ps} ps vs std {sd} kJ/mol"
        );
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "long: cargo test --release --test integrate_villin"
)]
fn villin_langevin_temperature_is_canonical() {
    let t = 300.0;
    let mut s = equilibrated(20.0 * scale(), 2024);
    let dof = s.system().degrees_of_freedom() as f64;
    let samples = (100.0 * scale() / 0.02).round() as usize;
    let (mut temps, mut kes) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        s.step(10).unwrap();
        let st = s.state().unwrap();
        temps.push(st.temperature);
        kes.push(st.kinetic_energy);
    }
    let (mt, _) = mean_var(&temps);
    let (mk, vk) = mean_var(&kes);
    let kt = BOLTZ * t;
    let var_ratio = vk / (0.5 * dof * kt * kt);
    println!(
        "villin Langevin 300 K, 1/ps, 2 fs, {} ps: mean T {mt:.2} K ({:+.2}%), mean KE {mk:.1} kJ/mol (canonical {:.1}), \
         Var(KE)/canonical {var_ratio:.3} ({dof} dof)",
        samples as f64 * 0.02,
        100.0 * (mt / t - 1.0),
        0.5 * dof * kt
    );
    assert!((mt / t - 1.0).abs() < 0.01, "mean T {mt}");
    assert!((var_ratio - 1.0).abs() < 0.2, "Var(KE) ratio {var_ratio}");
}
