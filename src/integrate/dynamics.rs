//! What every integrator step works on, bundled: the per-simulation
//! [`Dynamics`] (inverse masses, constraints, tolerance, scratch) and the
//! [`StepArrays`] of one step (positions in, forces, positions out,
//! velocities updated in place).

use super::constraints::{ConstraintFailure, Constraints};

type V3 = [f64; 3];

/// Per-simulation integration data, built once.
#[derive(Clone, Debug)]
pub struct Dynamics {
    /// 1/mass of each particle, 1/amu (0 for massless particles).
    pub inv_masses: Vec<f64>,
    /// The constraint clusters of the system.
    pub constraints: Constraints,
    /// Relative constraint tolerance.
    pub tolerance: f64,
    /// Work buffer of the position-constraint step.
    scratch: Vec<V3>,
}

/// The arrays one step reads and writes.
#[derive(Debug)]
pub struct StepArrays<'a> {
    /// Positions at the start of the step, nm.
    pub x: &'a [V3],
    /// Forces at `x`, kJ/mol/nm.
    pub forces: &'a [V3],
    /// Positions at the end of the step, nm (written).
    pub x_new: &'a mut [V3],
    /// Velocities, nm/ps (updated in place).
    pub v: &'a mut [V3],
}

impl Dynamics {
    /// The dynamics data of `constraints` at relative `tolerance`.
    pub fn new(constraints: Constraints, tolerance: f64) -> Self {
        Dynamics {
            inv_masses: constraints.inverse_masses().to_vec(),
            scratch: Vec::with_capacity(constraints.inverse_masses().len()),
            constraints,
            tolerance,
        }
    }

    /// Constrain the drifted positions `x_new` (nm) with the bond directions
    /// of `x`, and add the constraint displacement over `dt` (ps) to the
    /// velocities `v` (nm/ps) of particles with mass: the position half of
    /// RATTLE, shared by every integrator here.
    pub fn constrain_drift(
        &mut self,
        x: &[V3],
        x_new: &mut [V3],
        v: &mut [V3],
        dt: f64,
    ) -> Result<(), ConstraintFailure> {
        if self.constraints.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(x_new);
        self.constraints.apply_positions(x, x_new, self.tolerance)?;
        for (i, w) in self.inv_masses.iter().enumerate() {
            if *w != 0.0 {
                for k in 0..3 {
                    v[i][k] += (x_new[i][k] - self.scratch[i][k]) / dt;
                }
            }
        }
        Ok(())
    }

    /// Remove the velocity components along the constraints at `x` (nm).
    pub fn constrain_velocities(
        &mut self,
        x: &[V3],
        v: &mut [V3],
    ) -> Result<(), ConstraintFailure> {
        if self.constraints.is_empty() {
            return Ok(());
        }
        self.constraints.apply_velocities(x, v, self.tolerance)
    }
}
