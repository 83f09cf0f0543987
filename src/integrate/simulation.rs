//! The simulation driver: state, integrator loop, stability checks,
//! reporters, minimization and checkpoints.

use std::path::Path;

use super::checkpoint::{self, CheckpointData};
use super::constraints::{check_tolerance, Constraints};
use super::langevin::{self, LangevinMiddle};
use super::minimize::{self, MinimizeReport, MinimizeSettings};
use super::reporters::{Reporter, StateView};
use super::velocities::{kinetic_energy, maxwell_boltzmann, remove_com_velocity, temperature};
use super::verlet;
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::forcefield::{
    check_positions, resolve_box, BoxVectors, ForceEvaluator, ForceKind, ForceOutput, System,
    ALL_GROUPS, MAX_FORCE_GROUPS,
};

type V3 = [f64; 3];

/// The integration scheme and its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Integrator {
    /// Velocity Verlet (NVE) with RATTLE; `dt` in ps.
    VelocityVerlet {
        /// Step size, ps.
        dt: f64,
    },
    /// OpenMM's `LangevinMiddleIntegrator`.
    LangevinMiddle {
        /// Step size, ps.
        dt: f64,
        /// Bath temperature, K.
        temperature: f64,
        /// Friction coefficient, 1/ps.
        friction: f64,
    },
}

impl Integrator {
    /// Step size, ps.
    pub fn dt(&self) -> f64 {
        match *self {
            Integrator::VelocityVerlet { dt } | Integrator::LangevinMiddle { dt, .. } => dt,
        }
    }

    fn validate(&self) -> Result<()> {
        let dt = self.dt();
        if !(dt.is_finite() && dt > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "step size {dt} ps must be finite and > 0"
            )));
        }
        if let Integrator::LangevinMiddle {
            temperature,
            friction,
            ..
        } = *self
        {
            if !(temperature.is_finite() && temperature >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "temperature {temperature} K must be finite and >= 0"
                )));
            }
            if !(friction.is_finite() && friction >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "friction {friction} 1/ps must be finite and >= 0"
                )));
            }
        }
        Ok(())
    }
}

/// Thresholds beyond which a step is declared unstable ([`Error::Unstable`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StabilityLimits {
    /// Largest accepted |potential energy|, kJ/mol (default 1e10).
    pub max_energy: f64,
    /// Largest accepted force component magnitude, kJ/mol/nm (default 1e8;
    /// a raw, unminimized structure rarely exceeds 1e6).
    pub max_force: f64,
    /// Largest accepted coordinate magnitude, nm (default 1e6).
    pub max_coordinate: f64,
}

impl Default for StabilityLimits {
    fn default() -> Self {
        StabilityLimits {
            max_energy: 1e10,
            max_force: 1e8,
            max_coordinate: 1e6,
        }
    }
}

/// How a [`Simulation`] runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationOptions {
    /// Integration scheme.
    pub integrator: Integrator,
    /// Seed of the thermostat noise (any value, 0 included; the noise of a
    /// step is a pure function of the seed and the step count).
    pub seed: u64,
    /// Relative constraint tolerance (OpenMM's default 1e-5).
    pub constraint_tolerance: f64,
    /// Backend whose force kernels [`Simulation::new`] uses.
    pub device: Device,
    /// When to declare the simulation unstable.
    pub limits: StabilityLimits,
}

impl SimulationOptions {
    /// Options with `integrator`, seed 0, constraint tolerance 1e-5, the CPU
    /// backend and default stability limits.
    pub fn new(integrator: Integrator) -> Self {
        SimulationOptions {
            integrator,
            seed: 0,
            constraint_tolerance: super::DEFAULT_CONSTRAINT_TOLERANCE,
            device: Device::Cpu,
            limits: StabilityLimits::default(),
        }
    }
}

/// A snapshot of the observables of a simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSummary {
    /// Steps taken.
    pub step: u64,
    /// Simulated time, ps.
    pub time: f64,
    /// Potential energy, kJ/mol.
    pub potential_energy: f64,
    /// Kinetic energy, kJ/mol.
    pub kinetic_energy: f64,
    /// Instantaneous temperature, K, from [`System::degrees_of_freedom`].
    pub temperature: f64,
    /// Potential energy per force group, kJ/mol.
    pub group_energies: [f64; MAX_FORCE_GROUPS],
}

impl StateSummary {
    /// Potential plus kinetic energy, kJ/mol.
    pub fn total_energy(&self) -> f64 {
        self.potential_energy + self.kinetic_energy
    }
}

/// A molecular dynamics simulation of one [`System`].
pub struct Simulation {
    system: System,
    evaluator: Box<dyn ForceEvaluator>,
    options: SimulationOptions,
    constraints: Constraints,
    inv_masses: Vec<f64>,
    dof: usize,
    cm_frequency: Option<u64>,
    fingerprint: u64,
    positions: Vec<V3>,
    velocities: Vec<V3>,
    box_vectors: Option<BoxVectors>,
    step: u64,
    time: f64,
    /// Forces and energies at `positions`, valid when `forces_valid`.
    forces: ForceOutput,
    forces_valid: bool,
    // Work buffers of a step (the state is only replaced once a step succeeded).
    next_forces: ForceOutput,
    next_positions: Vec<V3>,
    next_velocities: Vec<V3>,
    scratch: Vec<V3>,
    reporters: Vec<Box<dyn Reporter>>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("n_particles", &self.positions.len())
            .field("options", &self.options)
            .field("step", &self.step)
            .field("time", &self.time)
            .field("reporters", &self.reporters.len())
            .finish_non_exhaustive()
    }
}

fn first_bad(values: &[V3], limit: f64) -> Option<usize> {
    values
        .iter()
        .position(|p| p.iter().any(|v| v.is_nan() || v.abs() > limit))
}

impl Simulation {
    /// A simulation of `system` from `positions` (nm) with zero velocities,
    /// using the force kernels of `options.device`. `box_vectors` (nm)
    /// defaults to the system's default box (required when periodic).
    pub fn new(
        system: System,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: SimulationOptions,
    ) -> Result<Simulation> {
        system.validate()?;
        let evaluator = options.device.backend()?.force_evaluator(&system)?;
        Self::with_evaluator(system, evaluator, positions, box_vectors, options)
    }

    /// Like [`Simulation::new`] with a given force provider (custom or test
    /// forces); `options.device` is then unused.
    pub fn with_evaluator(
        system: System,
        evaluator: Box<dyn ForceEvaluator>,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: SimulationOptions,
    ) -> Result<Simulation> {
        system.validate()?;
        let n = system.n_particles();
        if n == 0 {
            return Err(Error::InvalidArgument("the system has no particles".into()));
        }
        check_positions(&system, &positions)?;
        let box_vectors = resolve_box(&system, box_vectors)?;
        options.integrator.validate()?;
        check_tolerance(options.constraint_tolerance)?;
        let mut cm_frequency = None;
        for f in &system.forces {
            if let ForceKind::CmMotionRemover { frequency } = f.kind {
                if frequency == 0 {
                    return Err(Error::InvalidArgument(format!(
                        "force '{}': CMMotionRemover frequency must be >= 1 step",
                        f.name
                    )));
                }
                cm_frequency = Some(u64::from(frequency));
            }
        }
        let constraints = Constraints::new(&system)?;
        Ok(Simulation {
            inv_masses: constraints.inverse_masses().to_vec(),
            dof: system.degrees_of_freedom(),
            fingerprint: checkpoint::system_fingerprint(&system),
            cm_frequency,
            constraints,
            evaluator,
            options,
            velocities: vec![[0.0; 3]; n],
            next_positions: positions.clone(),
            next_velocities: vec![[0.0; 3]; n],
            positions,
            box_vectors,
            step: 0,
            time: 0.0,
            forces: ForceOutput::new(n),
            forces_valid: false,
            next_forces: ForceOutput::new(n),
            scratch: Vec::with_capacity(n),
            reporters: Vec::new(),
            system,
        })
    }

    /// The system.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// The options in force (integrator, seed, tolerance, ...).
    pub fn options(&self) -> &SimulationOptions {
        &self.options
    }

    /// Replace the integrator (e.g. another temperature after an
    /// equilibration); the step count and time continue.
    pub fn set_integrator(&mut self, integrator: Integrator) -> Result<()> {
        integrator.validate()?;
        self.options.integrator = integrator;
        Ok(())
    }

    /// The constraint clusters (SETTLE waters, iterative clusters).
    pub fn constraints(&self) -> &Constraints {
        &self.constraints
    }

    /// Positions, nm.
    pub fn positions(&self) -> &[V3] {
        &self.positions
    }

    /// Replace the positions (nm): one per particle, all finite (errors name
    /// the first bad atom). They are used as given; see
    /// [`Simulation::apply_constraints`].
    pub fn set_positions(&mut self, positions: Vec<V3>) -> Result<()> {
        check_positions(&self.system, &positions)?;
        self.positions = positions;
        self.forces_valid = false;
        Ok(())
    }

    /// Velocities, nm/ps.
    pub fn velocities(&self) -> &[V3] {
        &self.velocities
    }

    /// Replace the velocities (nm/ps): one per particle, all finite.
    pub fn set_velocities(&mut self, velocities: Vec<V3>) -> Result<()> {
        let n = self.system.n_particles();
        if velocities.len() != n {
            return Err(Error::Shape(format!(
                "{} velocities for a system of {n} particles",
                velocities.len()
            )));
        }
        if let Some(i) = first_bad(&velocities, f64::MAX) {
            return Err(Error::NonFinite(format!(
                "velocity of atom {i} is {:?}",
                velocities[i]
            )));
        }
        self.velocities = velocities;
        Ok(())
    }

    /// Periodic box vectors, nm, if any.
    pub fn box_vectors(&self) -> Option<&BoxVectors> {
        self.box_vectors.as_ref()
    }

    /// Replace the box (nm; `None` falls back to the system's default box,
    /// required when the system is periodic).
    pub fn set_box_vectors(&mut self, box_vectors: Option<BoxVectors>) -> Result<()> {
        self.box_vectors = resolve_box(&self.system, box_vectors)?;
        self.forces_valid = false;
        Ok(())
    }

    /// Steps taken.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Simulated time, ps (the sum of the step sizes taken).
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Project the positions onto the constraints, then remove the velocity
    /// components along them (OpenMM's `applyConstraints` followed by
    /// `applyVelocityConstraints`), at the constraint tolerance.
    pub fn apply_constraints(&mut self) -> Result<()> {
        let tol = self.options.constraint_tolerance;
        let reference = self.positions.clone();
        let mut x = self.positions.clone();
        self.constraints
            .apply_positions(&reference, &mut x, tol)
            .map_err(|e| Error::InvalidArgument(format!("cannot apply constraints: {e}")))?;
        let mut v = self.velocities.clone();
        self.constraints
            .apply_velocities(&x, &mut v, tol)
            .map_err(|e| Error::InvalidArgument(format!("cannot apply constraints: {e}")))?;
        self.positions = x;
        self.velocities = v;
        self.forces_valid = false;
        Ok(())
    }

    /// Draw Maxwell–Boltzmann velocities at `temperature` (K) from `seed`
    /// (massless particles get 0), remove their components along the
    /// constraints and remove the centre-of-mass velocity (OpenMM's
    /// `setVelocitiesToTemperature` applies the velocity constraints; the
    /// centre-of-mass removal is added here).
    pub fn set_velocities_to_temperature(&mut self, temperature: f64, seed: u64) -> Result<()> {
        let mut v = maxwell_boltzmann(&self.system.masses, temperature, seed)?;
        self.constraints
            .apply_velocities(&self.positions, &mut v, self.options.constraint_tolerance)
            .map_err(|e| Error::InvalidArgument(format!("cannot constrain velocities: {e}")))?;
        remove_com_velocity(&self.system.masses, &mut v);
        self.velocities = v;
        Ok(())
    }

    /// Why the state at `positions` with `out` is unusable, if it is.
    fn stability_problem(&self, positions: &[V3], out: &ForceOutput) -> Option<String> {
        let lim = &self.options.limits;
        if let Some(i) = first_bad(positions, lim.max_coordinate) {
            return Some(format!(
                "position of atom {i} is {:?} nm (limit {} nm)",
                positions[i], lim.max_coordinate
            ));
        }
        let e = out.potential_energy();
        if e.is_nan() || e.abs() > lim.max_energy {
            return Some(format!(
                "potential energy {e} kJ/mol (limit {} kJ/mol)",
                lim.max_energy
            ));
        }
        if let Some(i) = first_bad(&out.forces, lim.max_force) {
            return Some(format!(
                "force on atom {i} is {:?} kJ/mol/nm (limit {} kJ/mol/nm)",
                out.forces[i], lim.max_force
            ));
        }
        None
    }

    /// Make `self.forces` current. Errors: the evaluator's, or `unusable`
    /// applied to a description of a non-finite or absurd result.
    fn ensure_forces(&mut self, unusable: impl FnOnce(String) -> Error) -> Result<()> {
        if self.forces_valid {
            return Ok(());
        }
        self.evaluator.compute(
            &self.positions,
            self.box_vectors.as_ref(),
            ALL_GROUPS,
            &mut self.forces,
        )?;
        if let Some(msg) = self.stability_problem(&self.positions, &self.forces) {
            return Err(unusable(msg));
        }
        self.forces_valid = true;
        Ok(())
    }

    /// Energies and forces at the current positions.
    pub fn forces(&mut self) -> Result<ForceOutput> {
        self.ensure_forces(Error::NonFinite)?;
        Ok(self.forces.clone())
    }

    /// Energies and temperature of the current state.
    pub fn state(&mut self) -> Result<StateSummary> {
        self.ensure_forces(Error::NonFinite)?;
        let kinetic = kinetic_energy(&self.system.masses, &self.velocities);
        Ok(StateSummary {
            step: self.step,
            time: self.time,
            potential_energy: self.forces.potential_energy(),
            kinetic_energy: kinetic,
            temperature: temperature(kinetic, self.dof),
            group_energies: self.forces.group_energies,
        })
    }

    /// Minimize the potential energy until the RMS force is below
    /// `tolerance` (kJ/mol/nm; OpenMM's default is 10) or after
    /// `max_iterations` L-BFGS iterations (0 = no limit); see
    /// [`super::minimize`]. Velocities are kept.
    pub fn minimize(&mut self, tolerance: f64, max_iterations: usize) -> Result<MinimizeReport> {
        let settings = MinimizeSettings {
            tolerance,
            max_iterations,
            constraint_tolerance: self.options.constraint_tolerance,
        };
        let mut x = self.positions.clone();
        let report = minimize::minimize(
            &self.system,
            self.evaluator.as_mut(),
            &mut self.constraints,
            &mut x,
            self.box_vectors.as_ref(),
            &settings,
        )?;
        self.positions = x;
        self.forces_valid = false;
        Ok(report)
    }

    /// Add a reporter; it is called after every step whose count is a
    /// multiple of its interval.
    pub fn add_reporter(&mut self, reporter: Box<dyn Reporter>) {
        self.reporters.push(reporter);
    }

    /// Call [`Reporter::finish`] on every reporter (flush and close files).
    pub fn finish_reporters(&mut self) -> Result<()> {
        for r in &mut self.reporters {
            r.finish()?;
        }
        Ok(())
    }

    /// Take `n` steps, calling the reporters at their intervals.
    ///
    /// A step that produces non-finite or absurd positions, energies or
    /// forces (see [`StabilityLimits`]) or whose constraints cannot be
    /// satisfied fails with [`Error::Unstable`] carrying its step number
    /// (the step count it would have reached); the state before that step is
    /// kept, so [`Simulation::step_count`] is the last good step.
    pub fn step(&mut self, n: u64) -> Result<()> {
        for _ in 0..n {
            self.step_once()?;
            if self
                .reporters
                .iter()
                .any(|r| r.interval() != 0 && self.step.is_multiple_of(r.interval()))
            {
                self.report()?;
            }
        }
        Ok(())
    }

    fn report(&mut self) -> Result<()> {
        let mut reporters = std::mem::take(&mut self.reporters);
        let kinetic = kinetic_energy(&self.system.masses, &self.velocities);
        let view = StateView {
            step: self.step,
            time: self.time,
            dt: self.options.integrator.dt(),
            positions: &self.positions,
            velocities: &self.velocities,
            forces: &self.forces.forces,
            box_vectors: self.box_vectors.as_ref(),
            potential_energy: self.forces.potential_energy(),
            group_energies: &self.forces.group_energies,
            kinetic_energy: kinetic,
            temperature: temperature(kinetic, self.dof),
        };
        let mut result = Ok(());
        for r in &mut reporters {
            if r.interval() != 0 && self.step.is_multiple_of(r.interval()) {
                result = r.report(&view);
                if result.is_err() {
                    break;
                }
            }
        }
        self.reporters = reporters;
        result
    }

    fn step_once(&mut self) -> Result<()> {
        let index = self.step;
        let number = index + 1;
        let unstable = |message: String| Error::Unstable {
            step: number,
            message,
        };
        self.ensure_forces(unstable)?;
        let tol = self.options.constraint_tolerance;
        self.next_velocities.copy_from_slice(&self.velocities);
        if let Some(freq) = self.cm_frequency {
            if index.is_multiple_of(freq) {
                remove_com_velocity(&self.system.masses, &mut self.next_velocities);
            }
        }
        let integrator = self.options.integrator;
        match integrator {
            Integrator::VelocityVerlet { dt } => {
                verlet::kick_drift(
                    dt,
                    &self.inv_masses,
                    &self.positions,
                    &self.forces.forces,
                    &mut self.constraints,
                    tol,
                    &mut self.next_positions,
                    &mut self.next_velocities,
                    &mut self.scratch,
                )
                .map_err(|e| e.at_step(number))?;
            }
            Integrator::LangevinMiddle {
                dt,
                temperature,
                friction,
            } => {
                let params = LangevinMiddle {
                    dt,
                    temperature,
                    friction,
                };
                langevin::step(
                    &params,
                    self.options.seed,
                    index,
                    &self.inv_masses,
                    &self.positions,
                    &self.forces.forces,
                    &mut self.constraints,
                    tol,
                    &mut self.next_positions,
                    &mut self.next_velocities,
                    &mut self.scratch,
                )
                .map_err(|e| e.at_step(number))?;
            }
        }
        if let Some(i) = first_bad(&self.next_positions, self.options.limits.max_coordinate) {
            return Err(unstable(format!(
                "position of atom {i} became {:?} nm",
                self.next_positions[i]
            )));
        }
        self.evaluator.compute(
            &self.next_positions,
            self.box_vectors.as_ref(),
            ALL_GROUPS,
            &mut self.next_forces,
        )?;
        if let Some(msg) = self.stability_problem(&self.next_positions, &self.next_forces) {
            return Err(unstable(msg));
        }
        if let Integrator::VelocityVerlet { dt } = integrator {
            verlet::kick(
                dt,
                &self.inv_masses,
                &self.next_positions,
                &self.next_forces.forces,
                &mut self.constraints,
                tol,
                &mut self.next_velocities,
            )
            .map_err(|e| e.at_step(number))?;
        }
        if let Some(i) = first_bad(&self.next_velocities, f64::MAX) {
            return Err(unstable(format!(
                "velocity of atom {i} became {:?} nm/ps",
                self.next_velocities[i]
            )));
        }
        std::mem::swap(&mut self.positions, &mut self.next_positions);
        std::mem::swap(&mut self.velocities, &mut self.next_velocities);
        std::mem::swap(&mut self.forces, &mut self.next_forces);
        self.forces_valid = true;
        self.step = number;
        self.time += integrator.dt();
        Ok(())
    }

    /// Write a checkpoint of the dynamic state (positions, velocities, box,
    /// step, time, integrator, seed, constraint tolerance) to `path`,
    /// atomically.
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::write_checkpoint(
            path,
            &CheckpointData {
                fingerprint: self.fingerprint,
                step: self.step,
                time: self.time,
                integrator: self.options.integrator,
                constraint_tolerance: self.options.constraint_tolerance,
                seed: self.options.seed,
                box_vectors: self.box_vectors,
                positions: self.positions.clone(),
                velocities: self.velocities.clone(),
            },
        )
    }

    /// Restore the state saved by [`Simulation::save_checkpoint`],
    /// including the integrator, seed and constraint tolerance it was
    /// written with, so that the run continues bit for bit as if it had not
    /// stopped. A checkpoint of another system (different fingerprint or
    /// particle count) is refused; on any error the simulation is unchanged.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let data = checkpoint::read_checkpoint(path)?;
        let n = self.system.n_particles();
        if data.positions.len() != n {
            return Err(Error::InvalidArgument(format!(
                "{}: checkpoint of {} particles, this system has {n}",
                path.display(),
                data.positions.len()
            )));
        }
        if data.fingerprint != self.fingerprint {
            return Err(Error::InvalidArgument(format!(
                "{}: checkpoint written for another system (fingerprint {:016x}, this system {:016x})",
                path.display(),
                data.fingerprint,
                self.fingerprint
            )));
        }
        data.integrator.validate()?;
        check_tolerance(data.constraint_tolerance)?;
        let box_vectors = resolve_box(&self.system, data.box_vectors)?;
        self.positions = data.positions;
        self.velocities = data.velocities;
        self.box_vectors = box_vectors;
        self.step = data.step;
        self.time = data.time;
        self.options.integrator = data.integrator;
        self.options.seed = data.seed;
        self.options.constraint_tolerance = data.constraint_tolerance;
        self.forces_valid = false;
        Ok(())
    }
}
