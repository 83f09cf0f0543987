//! The simulation driver: state, integrator loop, stability checks,
//! reporters, minimization and checkpoints.

use std::path::Path;

use super::checkpoint::{self, CheckpointData};
use super::constraints::{check_tolerance, Constraints};
use super::host::{first_bad, HostContext};
pub use super::integrator::Integrator;
use super::kernels::MdContext;
use super::minimize::MinimizeReport;
use super::reporters::{Reporter, StateView};
use super::velocities::{kinetic_energy, maxwell_boltzmann, remove_com_velocity, temperature};
use crate::backend::{Device, Precision};
use crate::error::{Error, Result};
use crate::forcefield::{
    check_positions, resolve_box, BoxVectors, ForceEvaluator, ForceOutput, System, MAX_FORCE_GROUPS,
};

type V3 = [f64; 3];

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
    /// Backend whose kernels [`Simulation::new`] uses.
    pub device: Device,
    /// Precision of a GPU backend's force kernels (the CPU and reference
    /// backends are always double precision).
    pub precision: Precision,
    /// When to declare the simulation unstable.
    pub limits: StabilityLimits,
}

impl SimulationOptions {
    /// Options with `integrator`, seed 0, constraint tolerance 1e-5, the CPU
    /// backend (mixed precision should a GPU device be chosen) and default
    /// stability limits.
    pub fn new(integrator: Integrator) -> Self {
        SimulationOptions {
            integrator,
            seed: 0,
            constraint_tolerance: super::DEFAULT_CONSTRAINT_TOLERANCE,
            device: Device::Cpu,
            precision: Precision::default(),
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

/// A molecular dynamics simulation of one [`System`]: the backend's
/// [`MdContext`] holding the dynamic state, plus reporters and checkpoints.
pub struct Simulation {
    system: System,
    context: Box<dyn MdContext>,
    options: SimulationOptions,
    dof: usize,
    fingerprint: u64,
    reporters: Vec<Box<dyn Reporter>>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("n_particles", &self.system.n_particles())
            .field("options", &self.options)
            .field("step", &self.context.step_count())
            .field("time", &self.context.time())
            .field("reporters", &self.reporters.len())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// A simulation of `system` from `positions` (nm) with zero velocities,
    /// on the backend of `options.device` (its [`crate::backend::MdKernels`]).
    /// `box_vectors` (nm) defaults to the system's default box (required
    /// when periodic).
    pub fn new(
        system: System,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: SimulationOptions,
    ) -> Result<Simulation> {
        let box_vectors = Self::check_start(&system, &positions, box_vectors, &options)?;
        let backend = options.device.backend_at(options.precision)?;
        let context = backend.md_context(&system, positions, box_vectors, &options)?;
        Ok(Self::with_context(system, context, options))
    }

    /// Like [`Simulation::new`] with a given force provider (custom or test
    /// forces) on the host integrator; `options.device` is then unused.
    pub fn with_evaluator(
        system: System,
        evaluator: Box<dyn ForceEvaluator>,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: SimulationOptions,
    ) -> Result<Simulation> {
        let box_vectors = Self::check_start(&system, &positions, box_vectors, &options)?;
        let context = HostContext::new(&system, evaluator, positions, box_vectors, &options)?;
        Ok(Self::with_context(system, Box::new(context), options))
    }

    /// Validate the inputs of a new simulation; returns the resolved box.
    fn check_start(
        system: &System,
        positions: &[V3],
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Option<BoxVectors>> {
        system.validate()?;
        if system.n_particles() == 0 {
            return Err(Error::InvalidArgument("the system has no particles".into()));
        }
        check_positions(system, positions)?;
        let box_vectors = resolve_box(system, box_vectors)?;
        options.integrator.validate()?;
        check_tolerance(options.constraint_tolerance)?;
        Ok(box_vectors)
    }

    fn with_context(
        system: System,
        context: Box<dyn MdContext>,
        options: SimulationOptions,
    ) -> Simulation {
        Simulation {
            dof: system.degrees_of_freedom(),
            fingerprint: checkpoint::system_fingerprint(&system),
            context,
            options,
            reporters: Vec::new(),
            system,
        }
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
        let mut options = self.options.clone();
        options.integrator = integrator;
        self.context.set_options(&options)?;
        self.options = options;
        Ok(())
    }

    /// The constraint clusters (SETTLE waters, iterative clusters).
    pub fn constraints(&self) -> &Constraints {
        self.context.constraints()
    }

    /// Positions, nm.
    pub fn positions(&self) -> &[V3] {
        self.context.positions()
    }

    /// Replace the positions (nm): one per particle, all finite (errors name
    /// the first bad atom). They are used as given; see
    /// [`Simulation::apply_constraints`].
    pub fn set_positions(&mut self, positions: Vec<V3>) -> Result<()> {
        check_positions(&self.system, &positions)?;
        self.context.set_positions(positions)
    }

    /// Velocities, nm/ps.
    pub fn velocities(&self) -> &[V3] {
        self.context.velocities()
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
        self.context.set_velocities(velocities)
    }

    /// Periodic box vectors, nm, if any.
    pub fn box_vectors(&self) -> Option<&BoxVectors> {
        self.context.box_vectors()
    }

    /// Replace the box (nm; `None` falls back to the system's default box,
    /// required when the system is periodic).
    pub fn set_box_vectors(&mut self, box_vectors: Option<BoxVectors>) -> Result<()> {
        let box_vectors = resolve_box(&self.system, box_vectors)?;
        self.context.set_box_vectors(box_vectors)
    }

    /// Steps taken.
    pub fn step_count(&self) -> u64 {
        self.context.step_count()
    }

    /// Simulated time, ps (the sum of the step sizes taken).
    pub fn time(&self) -> f64 {
        self.context.time()
    }

    /// Project the positions onto the constraints, then remove the velocity
    /// components along them (OpenMM's `applyConstraints` followed by
    /// `applyVelocityConstraints`), at the constraint tolerance.
    pub fn apply_constraints(&mut self) -> Result<()> {
        self.context.apply_constraints()
    }

    /// Draw Maxwell–Boltzmann velocities at `temperature` (K) from `seed`
    /// (massless particles get 0), remove their components along the
    /// constraints and remove the centre-of-mass velocity (OpenMM's
    /// `setVelocitiesToTemperature` applies the velocity constraints; the
    /// centre-of-mass removal is added here).
    pub fn set_velocities_to_temperature(&mut self, temperature: f64, seed: u64) -> Result<()> {
        let v = maxwell_boltzmann(&self.system.masses, temperature, seed)?;
        self.context.set_constrained_velocities(v)?;
        let mut v = self.context.velocities().to_vec();
        remove_com_velocity(&self.system.masses, &mut v);
        self.context.set_velocities(v)
    }

    /// Energies and forces at the current positions.
    pub fn forces(&mut self) -> Result<ForceOutput> {
        Ok(self.context.forces()?.clone())
    }

    /// Energies and temperature of the current state.
    pub fn state(&mut self) -> Result<StateSummary> {
        let forces = self.context.forces()?;
        let (potential_energy, group_energies) = (forces.potential_energy(), forces.group_energies);
        let kinetic = kinetic_energy(&self.system.masses, self.context.velocities());
        Ok(StateSummary {
            step: self.context.step_count(),
            time: self.context.time(),
            potential_energy,
            kinetic_energy: kinetic,
            temperature: temperature(kinetic, self.dof),
            group_energies,
        })
    }

    /// Minimize the potential energy until the RMS force is below
    /// `tolerance` (kJ/mol/nm; OpenMM's default is 10) or after
    /// `max_iterations` L-BFGS iterations (0 = no limit); see
    /// [`super::minimize`]. Velocities are kept.
    pub fn minimize(&mut self, tolerance: f64, max_iterations: usize) -> Result<MinimizeReport> {
        self.context.minimize(tolerance, max_iterations)
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

    /// Steps from step count `from` to the next step some reporter wants,
    /// at most `left`.
    fn steps_to_next_report(&self, from: u64, left: u64) -> u64 {
        self.reporters
            .iter()
            .filter(|r| r.interval() != 0)
            .map(|r| r.interval() - from % r.interval())
            .fold(left, u64::min)
    }

    /// Take `n` steps, calling the reporters at their intervals.
    ///
    /// A step that produces non-finite or absurd positions, energies or
    /// forces (see [`StabilityLimits`]) or whose constraints cannot be
    /// satisfied fails with [`Error::Unstable`] carrying its step number
    /// (the step count it would have reached); the state before that step is
    /// kept, so [`Simulation::step_count`] is the last good step. Steps
    /// between reports run in one [`MdContext::step`] call.
    pub fn step(&mut self, n: u64) -> Result<()> {
        let mut left = n;
        while left > 0 {
            let batch = self.steps_to_next_report(self.context.step_count(), left);
            self.context.step(batch)?;
            left -= batch;
            let step = self.context.step_count();
            if self
                .reporters
                .iter()
                .any(|r| r.interval() != 0 && step.is_multiple_of(r.interval()))
            {
                self.report()?;
            }
        }
        Ok(())
    }

    fn report(&mut self) -> Result<()> {
        let mut reporters = std::mem::take(&mut self.reporters);
        let result = self.report_to(&mut reporters);
        self.reporters = reporters;
        result
    }

    fn report_to(&mut self, reporters: &mut [Box<dyn Reporter>]) -> Result<()> {
        let step = self.context.step_count();
        let time = self.context.time();
        let dt = self.options.integrator.dt();
        let kinetic = kinetic_energy(&self.system.masses, self.context.velocities());
        let temperature = temperature(kinetic, self.dof);
        // Current after a successful step: no evaluation happens here.
        self.context.forces()?;
        let context = &*self.context;
        let forces = context.current_forces();
        let view = StateView {
            step,
            time,
            dt,
            positions: context.positions(),
            velocities: context.velocities(),
            forces: &forces.forces,
            box_vectors: context.box_vectors(),
            potential_energy: forces.potential_energy(),
            group_energies: &forces.group_energies,
            kinetic_energy: kinetic,
            temperature,
        };
        for r in reporters.iter_mut() {
            if r.interval() != 0 && step.is_multiple_of(r.interval()) {
                r.report(&view)?;
            }
        }
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
                step: self.context.step_count(),
                time: self.context.time(),
                integrator: self.options.integrator,
                constraint_tolerance: self.options.constraint_tolerance,
                seed: self.options.seed,
                box_vectors: self.context.box_vectors().copied(),
                positions: self.context.positions().to_vec(),
                velocities: self.context.velocities().to_vec(),
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
        let mut options = self.options.clone();
        options.integrator = data.integrator;
        options.seed = data.seed;
        options.constraint_tolerance = data.constraint_tolerance;
        self.context.set_options(&options)?;
        self.options = options;
        self.context.set_positions(data.positions)?;
        self.context.set_velocities(data.velocities)?;
        self.context.set_box_vectors(box_vectors)?;
        self.context.set_clock(data.step, data.time);
        Ok(())
    }
}
