//! Dynamics: integrators, constraints, minimization, reporters, checkpoints.
//!
//! The user-facing driver is [`Simulation`]: it owns a [`System`], the
//! reporters and checkpoints, and the [`MdContext`] of a backend (see
//! [`kernels`]), which holds positions (nm), velocities (nm/ps), forces and
//! the step counter wherever the backend keeps them and advances them with
//! one of the [`Integrator`]s. [`HostContext`] is the host implementation
//! (the CPU and reference backends, and any caller's [`ForceEvaluator`]):
//!
//! - [`Integrator::VelocityVerlet`]: NVE velocity Verlet with RATTLE
//!   ([`verlet`]),
//! - [`Integrator::LangevinMiddle`]: OpenMM's `LangevinMiddleIntegrator`
//!   (BAOAB-like, same step order and constraint handling) ([`langevin`]).
//!
//! Building blocks, usable on their own:
//! - [`dynamics`]: the per-simulation data and per-step arrays every
//!   integrator step works on,
//! - [`rng`]: counter-based normal deviates — the noise of (seed, step, atom)
//!   is a pure function of those, so runs are reproducible for any thread
//!   count and a checkpoint needs only the seed and the step,
//! - [`velocities`]: Maxwell–Boltzmann velocities, kinetic energy,
//!   temperature, centre-of-mass motion removal,
//! - [`constraints`]: SETTLE for rigid 3-site waters, Newton/SHAKE iteration
//!   (RATTLE for velocities) for every other cluster of constraints,
//! - [`minimize`]: L-BFGS energy minimization as OpenMM's `LocalEnergyMinimizer`,
//! - [`reporters`]: DCD trajectories and CSV state lines at step intervals,
//! - [`checkpoint`]: binary checkpoints; resuming is bitwise identical to an
//!   uninterrupted run.
//!
//! Units are OpenMM's: nm, ps, kJ/mol, amu, K.
//!
//! [`System`]: crate::forcefield::System
//! [`ForceEvaluator`]: crate::forcefield::ForceEvaluator

pub mod checkpoint;
pub mod constraints;
pub mod dynamics;
pub(crate) mod host;
pub mod integrator;
pub mod kernels;
pub mod langevin;
mod lbfgs;
pub mod minimize;
pub mod reporters;
pub mod rng;
pub mod simulation;
pub mod velocities;
pub mod verlet;

pub use constraints::{ConstraintFailure, Constraints};
pub use host::HostContext;
pub use integrator::Integrator;
pub use kernels::{MdContext, MdKernels};
pub use minimize::MinimizeReport;
pub use reporters::{DcdReporter, NetcdfReporter, Reporter, StateReporter, StateView};
pub use simulation::{Simulation, SimulationOptions, StabilityLimits, StateSummary};

/// Boltzmann constant in kJ/(mol·K), bit for bit OpenMM's `BOLTZ`
/// (`BOLTZMANN * AVOGADRO / KILO` with the exact SI 2019 values
/// 1.380649e-23 J/K and 6.02214076e23 /mol): 0.00831446261815324.
pub const BOLTZ: f64 = 1.380649e-23 * 6.02214076e23 / 1e3;

/// Default relative constraint tolerance (OpenMM's `Integrator` default).
pub const DEFAULT_CONSTRAINT_TOLERANCE: f64 = 1e-5;

/// Default minimizer tolerance: RMS force in kJ/mol/nm (OpenMM's default).
pub const DEFAULT_MINIMIZE_TOLERANCE: f64 = 10.0;

#[cfg(test)]
mod tests {
    #[test]
    fn boltz_is_openmms_value() {
        assert_eq!(super::BOLTZ, 0.00831446261815324);
    }
}
