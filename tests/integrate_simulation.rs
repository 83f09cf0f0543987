//! The Simulation driver on toy force fields: minimization, Maxwell–Boltzmann
//! velocities, instability detection, input validation, reporters and
//! checkpoints.

mod integrate_toys;

use std::io::Write;
use std::sync::{Arc, Mutex};

use integrate_toys::*;
use steermd::forcefield::{BoxVectors, ForceEvaluator, ForceOutput};
use steermd::integrate::{DcdReporter, Integrator, Simulation, SimulationOptions, StateReporter};
use steermd::{Error, Result};

fn rms_force(f: &ForceOutput) -> f64 {
    (f.forces
        .iter()
        .map(|f| f[0] * f[0] + f[1] * f[1] + f[2] * f[2])
        .sum::<f64>()
        / f.forces.len() as f64)
        .sqrt()
}

#[test]
fn minimizer_reaches_the_rms_force_tolerance() {
    // Unconstrained: compressed diatomics (bonds stretched, LJ overlaps).
    let (system, toy, mut x) = diatomics(8);
    for (i, p) in x.iter_mut().enumerate() {
        p[0] *= 0.8;
        p[1] += 0.01 * (i % 3) as f64;
    }
    let mut sim = simulation((system, toy, x), verlet(0.001));
    let before = sim.forces().unwrap();
    let report = sim.minimize(0.5, 0).unwrap();
    let after = sim.forces().unwrap();
    println!("unconstrained: {report:?}");
    assert!(report.converged);
    assert!(report.final_energy < report.initial_energy);
    assert!((report.initial_energy - before.potential_energy()).abs() < 1e-9);
    assert!((report.final_energy - after.potential_energy()).abs() < 1e-9);
    assert!(rms_force(&after) < 0.5, "{}", rms_force(&after));
    assert!((report.final_rms_force - rms_force(&after)).abs() < 1e-9);
    assert!(report.initial_rms_force > 100.0);

    // Constrained: waters (SETTLE) and CH4 clusters; constraints satisfied
    // at the tolerance afterwards.
    let mut sim = simulation(molecules(8, 3, None), verlet(0.001));
    let report = sim.minimize(1.0, 0).unwrap();
    println!("constrained: {report:?}");
    assert!(report.converged);
    assert!(report.final_energy < report.initial_energy);
    assert!(report.final_rms_force < 1.0);
    let (err, _) = sim.constraints().max_relative_error(sim.positions());
    assert!(err <= 1e-5, "constraint error {err}");
    assert_eq!(err, report.max_constraint_error);

    // The iteration limit stops early without error.
    let mut sim = simulation(diatomics(8), verlet(0.001));
    let r = sim.minimize(1e-6, 3).unwrap();
    assert!(!r.converged && r.iterations == 3, "{r:?}");
}

#[test]
fn maxwell_boltzmann_velocities() {
    // 3000 rigid waters (no forces needed), with a CM motion remover so the
    // degrees of freedom are 9N − 3N − 3.
    let (system, _, x) = molecules(3000, 0, Some(100));
    let mut sim = Simulation::with_evaluator(
        system,
        Box::new(Toy {
            molecule: vec![0; x.len()],
            ..Default::default()
        }),
        x,
        None,
        verlet(0.001),
    )
    .unwrap();
    sim.set_velocities_to_temperature(300.0, 123).unwrap();
    let s = sim.state().unwrap();
    let dof = sim.system().degrees_of_freedom();
    assert_eq!(dof, 6 * 3000 - 3);
    println!("MB: T = {:.2} K for {dof} dof", s.temperature);
    // Relative standard error sqrt(2/dof) ≈ 1.1%.
    assert!(
        (s.temperature / 300.0 - 1.0).abs() < 0.035,
        "{}",
        s.temperature
    );
    let ev = sim
        .constraints()
        .max_velocity_error(sim.positions(), sim.velocities());
    assert!(ev <= 1e-5, "velocity constraint error {ev}");
    let m = &sim.system().masses;
    for k in 0..3 {
        let p: f64 = m.iter().zip(sim.velocities()).map(|(m, v)| m * v[k]).sum();
        assert!(p.abs() < 1e-9, "momentum {p}");
    }
    // Reproducible, seed-dependent.
    let v1 = sim.velocities().to_vec();
    sim.set_velocities_to_temperature(300.0, 123).unwrap();
    assert_eq!(v1, sim.velocities());
    sim.set_velocities_to_temperature(300.0, 124).unwrap();
    assert_ne!(v1, sim.velocities());
    assert!(sim.set_velocities_to_temperature(-5.0, 1).is_err());
}

#[test]
fn exploding_system_is_unstable_with_the_step() {
    // Diatomics with ω·dt ≈ 2.2 > 2: velocity Verlet diverges.
    let mut sim = simulation(diatomics(2), verlet(0.01));
    sim.set_velocities_to_temperature(300.0, 1).unwrap();
    let err = sim.step(10_000).unwrap_err();
    let Error::Unstable { step, message } = &err else {
        panic!("expected Unstable, got {err}");
    };
    println!("{err}");
    assert_eq!(*step, sim.step_count() + 1);
    assert!(*step > 1 && *step < 10_000);
    assert!(
        message.contains("atom") || message.contains("energy"),
        "{message}"
    );
    // The state before the failing step is kept and is finite.
    assert!(sim.positions().iter().flatten().all(|v| v.is_finite()));
    let s = sim.state().unwrap();
    assert_eq!(s.step, step - 1);
    assert!(s.potential_energy.is_finite());
}

/// Returns NaN forces on one atom from the `bad_call`-th evaluation on.
struct Poisoned {
    inner: Toy,
    calls: usize,
    bad_call: usize,
    atom: usize,
    value: f64,
}

impl ForceEvaluator for Poisoned {
    fn compute(
        &mut self,
        x: &[[f64; 3]],
        b: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()> {
        self.inner.compute(x, b, groups, out)?;
        self.calls += 1;
        if self.calls >= self.bad_call {
            out.forces[self.atom][1] = self.value;
        }
        Ok(())
    }
}

#[test]
fn non_finite_forces_and_constraint_failures_are_unstable() {
    let (system, toy, x) = diatomics(3);
    let poisoned = Poisoned {
        inner: toy,
        calls: 0,
        bad_call: 6,
        atom: 4,
        value: f64::NAN,
    };
    let mut sim =
        Simulation::with_evaluator(system, Box::new(poisoned), x, None, verlet(0.001)).unwrap();
    let err = sim.step(100).unwrap_err();
    // Call 1: initial forces; call k + 1: after step k. Call 6 ends step 5.
    match &err {
        Error::Unstable { step, message } => {
            assert_eq!(*step, 5);
            assert!(message.contains("atom 4"), "{message}");
        }
        e => panic!("{e}"),
    }
    assert_eq!(sim.step_count(), 4);

    // A huge (finite, below the force limit) kick on a constrained hydrogen:
    // the constraints cannot follow.
    let (system, toy, x) = molecules(2, 1, None);
    let poisoned = Poisoned {
        inner: toy,
        calls: 0,
        bad_call: 3,
        atom: 7,
        value: 5e7,
    };
    let mut sim = Simulation::with_evaluator(
        system,
        Box::new(poisoned),
        x,
        None,
        langevin(0.002, 300.0, 1.0, 1),
    )
    .unwrap();
    let err = sim.step(10).unwrap_err();
    println!("{err}");
    match &err {
        Error::Unstable { step, message } => {
            assert_eq!(*step, 3);
            assert!(message.contains("constraint"), "{message}");
        }
        e => panic!("{e}"),
    }
    assert_eq!(sim.step_count(), 2);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let (system, toy, mut x) = diatomics(2);
    x[3][1] = f64::NAN;
    let err = Simulation::with_evaluator(
        system.clone(),
        Box::new(toy.clone()),
        x.clone(),
        None,
        verlet(0.001),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NonFinite(_)), "{err}");
    assert!(err.to_string().contains("atom 3"), "{err}");

    x[3][1] = 0.0;
    let mut sim = Simulation::with_evaluator(
        system.clone(),
        Box::new(toy.clone()),
        x.clone(),
        None,
        verlet(0.001),
    )
    .unwrap();
    let mut bad = x.clone();
    bad[2][0] = f64::INFINITY;
    let err = sim.set_positions(bad).unwrap_err();
    assert!(err.to_string().contains("atom 2"), "{err}");
    assert!(sim.set_positions(x[..3].to_vec()).is_err());
    let mut v = vec![[0.0; 3]; 4];
    v[1][2] = f64::NAN;
    assert!(sim
        .set_velocities(v)
        .unwrap_err()
        .to_string()
        .contains("atom 1"));
    assert_eq!(sim.positions(), &x[..]);

    for integrator in [
        Integrator::VelocityVerlet { dt: 0.0 },
        Integrator::VelocityVerlet { dt: f64::NAN },
        Integrator::LangevinMiddle {
            dt: 0.002,
            temperature: -1.0,
            friction: 1.0,
        },
        Integrator::LangevinMiddle {
            dt: 0.002,
            temperature: 300.0,
            friction: -1.0,
        },
    ] {
        let r = Simulation::with_evaluator(
            system.clone(),
            Box::new(toy.clone()),
            x.clone(),
            None,
            SimulationOptions::new(integrator),
        );
        assert!(
            matches!(r, Err(Error::InvalidArgument(_))),
            "{integrator:?}"
        );
    }
    let mut o = verlet(0.001);
    o.constraint_tolerance = 0.0;
    assert!(
        Simulation::with_evaluator(system.clone(), Box::new(toy.clone()), x.clone(), None, o)
            .is_err()
    );
    // A reporter interval of 0 is refused.
    assert!(DcdReporter::new("x.dcd", 0).is_err());
    assert!(StateReporter::new(Vec::new(), 0).is_err());
    // Without real kernels for the device, `new` reports the backend's error
    // rather than panicking (or succeeds once they exist).
    let _ = Simulation::new(system, x, None, verlet(0.001));
}

/// A `Write` shared with the test.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn reporters_write_state_lines_and_dcd_frames() {
    let dir = tempfile::tempdir().unwrap();
    let dcd = dir.path().join("traj.dcd");
    let (mut system, toy, x) = molecules(4, 1, None);
    let box_nm: BoxVectors = [[3.0, 0.0, 0.0], [0.0, 3.5, 0.0], [0.0, 0.0, 4.0]];
    system.default_box = Some(box_nm);
    let mut sim = Simulation::with_evaluator(
        system,
        Box::new(toy),
        x,
        None,
        langevin(0.002, 300.0, 1.0, 8),
    )
    .unwrap();
    let buf = Shared::default();
    sim.add_reporter(Box::new(StateReporter::new(buf.clone(), 10).unwrap()));
    sim.add_reporter(Box::new(DcdReporter::new(&dcd, 25).unwrap()));
    sim.set_velocities_to_temperature(300.0, 3).unwrap();
    let mut saved = Vec::new();
    for _ in 0..4 {
        sim.step(25).unwrap();
        saved.push(sim.positions().to_vec());
    }
    sim.finish_reporters().unwrap();

    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "step,time_ps,potential_kj_mol,kinetic_kj_mol,total_kj_mol,temperature_k,speed_ns_day"
    );
    assert_eq!(lines.len(), 1 + 10);
    for (k, line) in lines[1..].iter().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 7, "{line}");
        assert_eq!(f[0].parse::<u64>().unwrap(), 10 * (k as u64 + 1));
        let t: f64 = f[1].parse().unwrap();
        assert!((t - 0.02 * (k + 1) as f64).abs() < 1e-9);
        let v: Vec<f64> = f[2..6].iter().map(|s| s.parse().unwrap()).collect();
        assert!((v[0] + v[1] - v[2]).abs() < 1e-5);
        assert!(v[3] > 0.0);
        assert_eq!(f[6].is_empty(), k == 0, "{line}");
    }

    let frames = steermd::io::read_dcd(&dcd).unwrap();
    assert_eq!(frames.n_frames(), 4);
    let boxes = frames.boxes.as_ref().unwrap();
    for (f, x) in saved.iter().enumerate() {
        assert_eq!(boxes[f], [3.0, 3.5, 4.0]);
        for (a, b) in frames.frame(f).iter().zip(x.iter().flatten()) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
    let h = steermd::io::read_dcd_header(&dcd).unwrap();
    assert_eq!((h.first_step, h.interval), (25, 25));
    assert!((h.timestep_ps - 0.002).abs() < 1e-6);
}

fn checkpoint_round_trip(options: SimulationOptions) {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let make = || simulation(molecules(6, 2, Some(7)), options.clone());
    let mut a = make();
    a.set_velocities_to_temperature(300.0, 11).unwrap();
    a.step(53).unwrap();
    a.save_checkpoint(&ckpt).unwrap();
    a.step(101).unwrap();

    let mut b = make();
    b.load_checkpoint(&ckpt).unwrap();
    assert_eq!(b.step_count(), 53);
    b.step(101).unwrap();
    assert_eq!(a.step_count(), b.step_count());
    assert_eq!(a.time().to_bits(), b.time().to_bits());
    assert_eq!(
        a.positions(),
        b.positions(),
        "positions differ after resume"
    );
    assert_eq!(
        a.velocities(),
        b.velocities(),
        "velocities differ after resume"
    );
    let (sa, sb) = (a.state().unwrap(), b.state().unwrap());
    assert_eq!(sa, sb);
}

#[test]
fn resuming_from_a_checkpoint_is_bitwise_identical() {
    checkpoint_round_trip(langevin(0.002, 300.0, 1.0, 1234));
    checkpoint_round_trip(verlet(0.001));
}

#[test]
fn checkpoint_adopts_its_integrator_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut a = simulation(molecules(2, 0, None), langevin(0.002, 310.0, 2.0, 99));
    a.step(3).unwrap();
    a.save_checkpoint(&ckpt).unwrap();
    let mut b = simulation(molecules(2, 0, None), verlet(0.001));
    b.load_checkpoint(&ckpt).unwrap();
    assert_eq!(b.options().integrator, a.options().integrator);
    assert_eq!(b.options().seed, 99);
}

#[test]
fn wrong_or_damaged_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut a = simulation(molecules(3, 1, None), verlet(0.001));
    a.step(2).unwrap();
    a.save_checkpoint(&ckpt).unwrap();
    let good = std::fs::read(&ckpt).unwrap();

    // Same particle count, another system (different masses).
    let (mut system, toy, x) = molecules(3, 1, None);
    system.masses[0] += 1.0;
    let mut other = simulation((system, toy, x), verlet(0.001));
    let err = other.load_checkpoint(&ckpt).unwrap_err();
    assert!(err.to_string().contains("another system"), "{err}");
    assert_eq!(other.step_count(), 0);
    // Another particle count.
    let mut other = simulation(molecules(4, 1, None), verlet(0.001));
    let err = other.load_checkpoint(&ckpt).unwrap_err();
    assert!(err.to_string().contains("particles"), "{err}");

    let mut b = simulation(molecules(3, 1, None), verlet(0.001));
    std::fs::write(&ckpt, &good[..good.len() / 2]).unwrap();
    let err = b.load_checkpoint(&ckpt).unwrap_err();
    assert!(
        matches!(err, Error::Format { .. }) && err.to_string().contains("truncated"),
        "{err}"
    );
    let mut corrupt = good.clone();
    corrupt[300] ^= 0x40;
    std::fs::write(&ckpt, &corrupt).unwrap();
    let err = b.load_checkpoint(&ckpt).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = b
        .load_checkpoint(dir.path().join("missing.ckpt"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_eq!(b.step_count(), 0);
    // The intact file still loads.
    std::fs::write(&ckpt, &good).unwrap();
    b.load_checkpoint(&ckpt).unwrap();
    assert_eq!(b.step_count(), 2);
}
