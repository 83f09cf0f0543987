//! The molecular-dynamics contract every backend implements.
//!
//! A backend turns a validated [`System`] and its initial state into an
//! [`MdContext`]: the object that owns the dynamic state of one simulation
//! (positions, velocities, forces, neighbour lists, constraint data,
//! integrator scratch) wherever the backend keeps it, and advances it with
//! [`MdContext::step`]. [`super::Simulation`] only talks to this trait, so
//! reporters, checkpoints and the campaign run unchanged on any backend
//! (OpenMM's Context/Platform split).
//!
//! Host views ([`MdContext::positions`], [`MdContext::velocities`]) are
//! current whenever a call returns. A context that keeps its state on a
//! device copies it back once per [`MdContext::step`] call, never per step;
//! callers batch steps up to their next report.

use super::constraints::Constraints;
use super::minimize::MinimizeReport;
use super::simulation::SimulationOptions;
use crate::error::Result;
use crate::forcefield::{BoxVectors, ForceOutput, System};

type V3 = [f64; 3];

/// The dynamic state of one simulation on a backend.
///
/// Inputs are validated by [`super::Simulation`] (lengths, finiteness,
/// resolved boxes); a context only checks what it alone can know.
pub trait MdContext: Send {
    /// Take `n` steps. The stability check runs inside every step: a step
    /// that produces non-finite or absurd positions, energies or forces, or
    /// whose constraints fail, returns [`crate::Error::Unstable`] with its
    /// 1-based step number, and the state before that step is kept.
    fn step(&mut self, n: u64) -> Result<()>;

    /// Steps taken.
    fn step_count(&self) -> u64;

    /// Simulated time, ps.
    fn time(&self) -> f64;

    /// Set the step counter and the simulated time (ps), e.g. from a
    /// checkpoint.
    fn set_clock(&mut self, step: u64, time: f64);

    /// Positions, nm.
    fn positions(&self) -> &[V3];

    /// Replace the positions (nm, already validated).
    fn set_positions(&mut self, positions: Vec<V3>) -> Result<()>;

    /// Velocities, nm/ps.
    fn velocities(&self) -> &[V3];

    /// Replace the velocities (nm/ps, already validated).
    fn set_velocities(&mut self, velocities: Vec<V3>) -> Result<()>;

    /// Periodic box vectors, nm, if any.
    fn box_vectors(&self) -> Option<&BoxVectors>;

    /// Replace the box (nm, already resolved against the system).
    fn set_box_vectors(&mut self, box_vectors: Option<BoxVectors>) -> Result<()>;

    /// Use `options` (integrator, seed, constraint tolerance, limits) from
    /// the next step on; the step count and time continue.
    fn set_options(&mut self, options: &SimulationOptions) -> Result<()>;

    /// Forces (kJ/mol/nm) and per-group energies (kJ/mol) at the current
    /// positions, computed if not current. A non-finite or absurd result is
    /// [`crate::Error::NonFinite`].
    fn forces(&mut self) -> Result<&ForceOutput>;

    /// The result of the last [`MdContext::forces`] call or successful
    /// step (kJ/mol/nm, kJ/mol), without evaluating anything.
    fn current_forces(&self) -> &ForceOutput;

    /// The constraint clusters.
    fn constraints(&self) -> &Constraints;

    /// Project the positions onto the constraints, then remove the velocity
    /// components along them.
    fn apply_constraints(&mut self) -> Result<()>;

    /// Replace the velocities (nm/ps) by `velocities` with their components
    /// along the constraints (at the current positions) removed.
    fn set_constrained_velocities(&mut self, velocities: Vec<V3>) -> Result<()>;

    /// L-BFGS minimisation to an RMS force below `tolerance` (kJ/mol/nm) or
    /// `max_iterations` iterations (0 = no limit); velocities are kept.
    fn minimize(&mut self, tolerance: f64, max_iterations: usize) -> Result<MinimizeReport>;
}

/// Molecular-dynamics kernels of a backend.
pub trait MdKernels {
    /// A context for `system` (validated) at `positions` (nm, validated)
    /// with zero velocities, `box_vectors` (nm, resolved) and `options`.
    fn md_context(
        &self,
        system: &System,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Box<dyn MdContext>>;
}
