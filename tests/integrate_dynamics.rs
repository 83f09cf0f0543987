//! Integrator physics on toy force fields: constraints after every step,
//! velocity-Verlet energy conservation (error ∝ dt²), Langevin temperature
//! and kinetic-energy distribution, determinism, centre-of-mass removal.

mod integrate_toys;

use integrate_toys::*;
use steermd::integrate::{Simulation, BOLTZ};

fn com_velocity(sim: &Simulation) -> [f64; 3] {
    let m = &sim.system().masses;
    let total: f64 = m.iter().sum();
    std::array::from_fn(|k| {
        m.iter()
            .zip(sim.velocities())
            .map(|(m, v)| m * v[k])
            .sum::<f64>()
            / total
    })
}

/// Minimized toy molecules with velocities at `t` K.
fn prepared(
    n_water: usize,
    n_methane: usize,
    options: steermd::integrate::SimulationOptions,
    t: f64,
) -> Simulation {
    let mut sim = simulation(molecules(n_water, n_methane, None), options);
    let report = sim.minimize(1.0, 0).unwrap();
    assert!(report.final_energy < report.initial_energy);
    sim.set_velocities_to_temperature(t, 5).unwrap();
    sim
}

#[test]
fn constraints_hold_after_every_step() {
    let tol = 1e-5;
    for (name, options) in [
        ("verlet", verlet(0.001)),
        ("langevin", langevin(0.002, 300.0, 1.0, 3)),
    ] {
        let mut sim = prepared(8, 3, options, 300.0);
        assert_eq!(sim.constraints().n_settle(), 8);
        assert_eq!(sim.constraints().n_clusters(), 11);
        let mut worst: f64 = 0.0;
        let mut worst_v: f64 = 0.0;
        for _ in 0..400 {
            sim.step(1).unwrap();
            let (e, k) = sim.constraints().max_relative_error(sim.positions());
            assert!(
                e <= tol,
                "{name}: step {}: constraint {k:?} error {e}",
                sim.step_count()
            );
            worst = worst.max(e);
            if name == "verlet" {
                let ev = sim
                    .constraints()
                    .max_velocity_error(sim.positions(), sim.velocities());
                assert!(ev <= tol, "{name}: velocity error {ev}");
                worst_v = worst_v.max(ev);
            }
        }
        println!("{name}: max relative constraint error {worst:e}, velocity {worst_v:e} /ps");
    }
}

/// Standard deviation and linear drift (per ps) of the total energy over
/// `t_ps` of NVE dynamics at step `dt`.
fn nve_energy(dt: f64, t_ps: f64) -> (f64, f64, f64) {
    let mut options = verlet(dt);
    options.constraint_tolerance = 1e-10;
    let mut sim = prepared(6, 2, options, 150.0);
    let steps = (t_ps / dt).round() as u64;
    let every = (0.01 / dt).round() as u64;
    let mut e = Vec::new();
    let mut t = Vec::new();
    let mut ke = Vec::new();
    for _ in 0..steps / every {
        sim.step(every).unwrap();
        let s = sim.state().unwrap();
        e.push(s.total_energy());
        ke.push(s.kinetic_energy);
        t.push(s.time);
    }
    let (me, ve) = mean_var(&e);
    let (mt, vt) = mean_var(&t);
    let cov: f64 = t
        .iter()
        .zip(&e)
        .map(|(t, e)| (t - mt) * (e - me))
        .sum::<f64>()
        / t.len() as f64;
    let slope = cov / vt;
    (ve.sqrt(), slope, mean_var(&ke).0)
}

#[test]
fn velocity_verlet_energy_error_scales_with_dt_squared() {
    let (s1, d1, ke1) = nve_energy(0.001, 4.0);
    let (s2, d2, ke2) = nve_energy(0.0005, 4.0);
    let ratio = s1 / s2;
    println!(
        "NVE: std(E) {s1:.3e} kJ/mol at 1 fs, {s2:.3e} at 0.5 fs, ratio {ratio:.2}; drift {d1:.2e}, {d2:.2e} kJ/mol/ps; mean KE {ke1:.2}, {ke2:.2} kJ/mol"
    );
    assert!((3.2..=4.8).contains(&ratio), "ratio {ratio}");
    // Fluctuations are a tiny fraction of the kinetic energy, drift smaller still.
    assert!(s1 < 1e-2 * ke1, "std {s1} vs KE {ke1}");
    assert!(d1.abs() < 0.2 * s1, "drift {d1} kJ/mol/ps vs std {s1}");
}

#[test]
fn langevin_samples_the_canonical_kinetic_energy() {
    // 100 independent particles in harmonic wells, 3N = 300 degrees of freedom.
    let n = 100;
    let t = 300.0;
    let mut sim = simulation(tethered(n), langevin(0.005, t, 5.0, 2024));
    sim.set_velocities_to_temperature(t, 1).unwrap();
    sim.step(1000).unwrap();
    let mut ke = Vec::new();
    let mut temps = Vec::new();
    for _ in 0..8000 {
        sim.step(5).unwrap();
        let s = sim.state().unwrap();
        ke.push(s.kinetic_energy);
        temps.push(s.temperature);
    }
    let (mt, _) = mean_var(&temps);
    let (mk, vk) = mean_var(&ke);
    let kt = BOLTZ * t;
    let dof = 3.0 * n as f64;
    // Canonical: KE ~ Gamma(dof/2, kT): mean dof kT/2, variance dof (kT)²/2.
    let var_ratio = vk / (0.5 * dof * kt * kt);
    println!(
        "Langevin harmonic: mean T {mt:.2} K ({:+.3}%), mean KE {mk:.3} vs {:.3} kJ/mol, Var(KE) / canonical {var_ratio:.3}",
        100.0 * (mt / t - 1.0),
        0.5 * dof * kt
    );
    assert!((mt / t - 1.0).abs() < 0.01, "mean T {mt}");
    assert!((var_ratio - 1.0).abs() < 0.1, "variance ratio {var_ratio}");
    // Tethers: mean potential energy is dof·kT/2 too (equipartition).
    let pe = sim.state().unwrap().potential_energy;
    assert!(pe > 0.0);
}

#[test]
fn langevin_temperature_with_constraints() {
    let t = 300.0;
    let (system, mut toy, x) = molecules(8, 3, None);
    // Keep the cluster together: tether the heavy atoms.
    for (i, &m) in system.masses.iter().enumerate() {
        if m > 2.0 {
            toy.tethers.push((i, x[i], 200.0));
        }
    }
    let mut sim = simulation((system, toy, x), langevin(0.002, t, 5.0, 77));
    sim.minimize(1.0, 0).unwrap();
    sim.set_velocities_to_temperature(t, 2).unwrap();
    sim.step(2000).unwrap();
    let mut temps = Vec::new();
    for _ in 0..6000 {
        sim.step(5).unwrap();
        temps.push(sim.state().unwrap().temperature);
    }
    let (mt, _) = mean_var(&temps);
    let dof = sim.system().degrees_of_freedom();
    println!(
        "Langevin with SETTLE + SHAKE clusters: {dof} dof, mean T {mt:.2} K ({:+.3}%)",
        100.0 * (mt / t - 1.0)
    );
    assert!((mt / t - 1.0).abs() < 0.02, "mean T {mt}");
}

fn run_langevin(seed: u64, steps: u64) -> (Vec<[f64; 3]>, Vec<[f64; 3]>) {
    let mut sim = simulation(molecules(8, 3, Some(10)), langevin(0.002, 300.0, 1.0, seed));
    sim.set_velocities_to_temperature(300.0, 9).unwrap();
    sim.step(steps).unwrap();
    (sim.positions().to_vec(), sim.velocities().to_vec())
}

#[test]
fn same_seed_same_trajectory_for_any_thread_count() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| run_langevin(42, 150));
    let b = two.install(|| run_langevin(42, 150));
    let c = run_langevin(42, 150);
    assert_eq!(a, b, "1 vs 2 threads");
    assert_eq!(a, c, "global pool");
    let d = run_langevin(43, 150);
    assert_ne!(a.0, d.0, "another seed gives another trajectory");
}

#[test]
fn cm_motion_removed_at_the_start_of_every_nth_step() {
    let (mut system, toy, x) = diatomics(4);
    system.forces.push(steermd::forcefield::Force {
        group: 0,
        name: "CMMotionRemover".into(),
        kind: steermd::forcefield::ForceKind::CmMotionRemover { frequency: 10 },
    });
    let mut sim = simulation((system, toy, x), verlet(0.001));
    sim.set_velocities_to_temperature(100.0, 4).unwrap();
    let drift = |sim: &mut Simulation| {
        let v: Vec<[f64; 3]> = sim
            .velocities()
            .iter()
            .map(|v| [v[0] + 0.5, v[1] - 0.25, v[2]])
            .collect();
        sim.set_velocities(v).unwrap();
    };
    drift(&mut sim);
    sim.step(1).unwrap(); // step index 0: removed before the step
    assert!(
        com_velocity(&sim)[0].abs() < 1e-12,
        "{:?}",
        com_velocity(&sim)
    );
    sim.step(4).unwrap();
    drift(&mut sim);
    sim.step(5).unwrap(); // indices 5..9: not removed
    let v = com_velocity(&sim);
    assert!(
        (v[0] - 0.5).abs() < 1e-9 && (v[1] + 0.25).abs() < 1e-9,
        "{v:?}"
    );
    sim.step(1).unwrap(); // index 10: removed
    let v = com_velocity(&sim);
    assert!(v[0].abs() < 1e-12 && v[1].abs() < 1e-12, "{v:?}");

    // Without a remover the drift stays.
    let mut sim = simulation(diatomics(4), verlet(0.001));
    drift(&mut sim);
    sim.step(20).unwrap();
    assert!((com_velocity(&sim)[0] - 0.5).abs() < 1e-9);
}
