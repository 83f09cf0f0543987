//! The host implementation of [`MdContext`]: state in host memory, the
//! integrator loop on the CPU, forces from any [`ForceEvaluator`]. The CPU
//! and reference backends use it with their own evaluators, and
//! [`super::Simulation::with_evaluator`] with a caller's.

use super::constraints::{check_tolerance, Constraints};
use super::dynamics::{Dynamics, StepArrays};
use super::integrator::Integrator;
use super::kernels::MdContext;
use super::langevin::{self, LangevinMiddle};
use super::minimize::{self, MinimizeReport, MinimizeSettings};
use super::rng::{NormalStream, Purpose};
use super::simulation::{SimulationOptions, StabilityLimits};
use super::velocities::remove_com_velocity;
use super::verlet;
use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, ForceEvaluator, ForceKind, ForceOutput, System, ALL_GROUPS};

type V3 = [f64; 3];

/// Host-memory simulation state driven by a force evaluator.
pub struct HostContext {
    system: System,
    evaluator: Box<dyn ForceEvaluator>,
    options: SimulationOptions,
    dynamics: Dynamics,
    cm_frequency: Option<u64>,
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
}

/// The first entry with a NaN or a component beyond `limit`.
pub(crate) fn first_bad(values: &[V3], limit: f64) -> Option<usize> {
    values
        .iter()
        .position(|p| p.iter().any(|v| v.is_nan() || v.abs() > limit))
}

/// Why the state at `positions` (nm) with forces and energies `out` is
/// unusable under `lim`, if it is.
pub(crate) fn stability_problem(
    lim: &StabilityLimits,
    positions: &[V3],
    out: &ForceOutput,
) -> Option<String> {
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

/// The CMMotionRemover frequency of `system` (steps), if it has one.
pub(crate) fn cm_frequency(system: &System) -> Result<Option<u64>> {
    let mut frequency = None;
    for f in &system.forces {
        if let ForceKind::CmMotionRemover { frequency: every } = f.kind {
            if every == 0 {
                return Err(Error::InvalidArgument(format!(
                    "force '{}': CMMotionRemover frequency must be >= 1 step",
                    f.name
                )));
            }
            frequency = Some(u64::from(every));
        }
    }
    Ok(frequency)
}

impl HostContext {
    /// A context for `system` (validated) at `positions` (nm, validated),
    /// zero velocities, `box_vectors` (nm, resolved) and `options`.
    pub fn new(
        system: &System,
        evaluator: Box<dyn ForceEvaluator>,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Self> {
        let n = system.n_particles();
        check_tolerance(options.constraint_tolerance)?;
        let constraints = Constraints::new(system)?;
        Ok(HostContext {
            cm_frequency: cm_frequency(system)?,
            dynamics: Dynamics::new(constraints, options.constraint_tolerance),
            system: system.clone(),
            evaluator,
            options: options.clone(),
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
        })
    }

    /// Replace positions (nm), velocities (nm/ps) and the forces and
    /// energies at those positions (kJ/mol/nm, kJ/mol) in place with what
    /// `fill` writes, e.g. a device's copy of the state; on error the
    /// forces are marked stale. Positions and velocities keep their
    /// lengths; the caller vouches that `fill` writes a consistent state.
    pub(crate) fn load_state(
        &mut self,
        fill: impl FnOnce(&mut [V3], &mut [V3], &mut ForceOutput) -> Result<()>,
    ) -> Result<()> {
        self.forces_valid = false;
        fill(&mut self.positions, &mut self.velocities, &mut self.forces)?;
        self.forces_valid = true;
        Ok(())
    }

    /// The options in use.
    pub(crate) fn options(&self) -> &SimulationOptions {
        &self.options
    }

    /// Why the state at `positions` with `out` is unusable, if it is.
    fn stability_problem(&self, positions: &[V3], out: &ForceOutput) -> Option<String> {
        stability_problem(&self.options.limits, positions, out)
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

    /// The first half of a step: everything before the new forces.
    fn advance(&mut self, index: u64, number: u64) -> Result<()> {
        self.next_velocities.copy_from_slice(&self.velocities);
        if let Some(freq) = self.cm_frequency {
            if index.is_multiple_of(freq) {
                remove_com_velocity(&self.system.masses, &mut self.next_velocities);
            }
        }
        let arrays = StepArrays {
            x: &self.positions,
            forces: &self.forces.forces,
            x_new: &mut self.next_positions,
            v: &mut self.next_velocities,
        };
        match self.options.integrator {
            Integrator::VelocityVerlet { dt } => verlet::kick_drift(dt, &mut self.dynamics, arrays),
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
                let noise = NormalStream::new(self.options.seed, Purpose::Langevin, index);
                langevin::step(&params, noise, &mut self.dynamics, arrays)
            }
        }
        .map_err(|e| e.at_step(number))
    }

    fn step_once(&mut self) -> Result<()> {
        let index = self.step;
        let number = index + 1;
        let unstable = |message: String| Error::Unstable {
            step: number,
            message,
        };
        self.ensure_forces(unstable)?;
        self.advance(index, number)?;
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
        let integrator = self.options.integrator;
        if let Integrator::VelocityVerlet { dt } = integrator {
            verlet::kick(
                dt,
                &mut self.dynamics,
                &self.next_positions,
                &self.next_forces.forces,
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
}

impl MdContext for HostContext {
    fn step(&mut self, n: u64) -> Result<()> {
        for _ in 0..n {
            self.step_once()?;
        }
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.step
    }

    fn time(&self) -> f64 {
        self.time
    }

    fn set_clock(&mut self, step: u64, time: f64) {
        self.step = step;
        self.time = time;
    }

    fn positions(&self) -> &[V3] {
        &self.positions
    }

    fn set_positions(&mut self, positions: Vec<V3>) -> Result<()> {
        self.positions = positions;
        self.forces_valid = false;
        Ok(())
    }

    fn velocities(&self) -> &[V3] {
        &self.velocities
    }

    fn set_velocities(&mut self, velocities: Vec<V3>) -> Result<()> {
        self.velocities = velocities;
        Ok(())
    }

    fn box_vectors(&self) -> Option<&BoxVectors> {
        self.box_vectors.as_ref()
    }

    fn set_box_vectors(&mut self, box_vectors: Option<BoxVectors>) -> Result<()> {
        self.box_vectors = box_vectors;
        self.forces_valid = false;
        Ok(())
    }

    fn set_options(&mut self, options: &SimulationOptions) -> Result<()> {
        self.dynamics.tolerance = options.constraint_tolerance;
        self.options = options.clone();
        Ok(())
    }

    fn forces(&mut self) -> Result<&ForceOutput> {
        self.ensure_forces(Error::NonFinite)?;
        Ok(&self.forces)
    }

    fn current_forces(&self) -> &ForceOutput {
        &self.forces
    }

    fn constraints(&self) -> &Constraints {
        &self.dynamics.constraints
    }

    fn apply_constraints(&mut self) -> Result<()> {
        let tol = self.options.constraint_tolerance;
        let constraints = &mut self.dynamics.constraints;
        let reference = self.positions.clone();
        let mut x = self.positions.clone();
        constraints
            .apply_positions(&reference, &mut x, tol)
            .map_err(|e| Error::InvalidArgument(format!("cannot apply constraints: {e}")))?;
        let mut v = self.velocities.clone();
        constraints
            .apply_velocities(&x, &mut v, tol)
            .map_err(|e| Error::InvalidArgument(format!("cannot apply constraints: {e}")))?;
        self.positions = x;
        self.velocities = v;
        self.forces_valid = false;
        Ok(())
    }

    fn set_constrained_velocities(&mut self, mut velocities: Vec<V3>) -> Result<()> {
        self.dynamics
            .constraints
            .apply_velocities(
                &self.positions,
                &mut velocities,
                self.options.constraint_tolerance,
            )
            .map_err(|e| Error::InvalidArgument(format!("cannot constrain velocities: {e}")))?;
        self.velocities = velocities;
        Ok(())
    }

    fn minimize(&mut self, tolerance: f64, max_iterations: usize) -> Result<MinimizeReport> {
        let settings = MinimizeSettings {
            tolerance,
            max_iterations,
            constraint_tolerance: self.options.constraint_tolerance,
        };
        let mut x = self.positions.clone();
        let report = minimize::minimize(
            &self.system,
            self.evaluator.as_mut(),
            &mut self.dynamics.constraints,
            &mut x,
            self.box_vectors.as_ref(),
            &settings,
        )?;
        self.positions = x;
        self.forces_valid = false;
        Ok(report)
    }
}
