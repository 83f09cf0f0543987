//! Velocity Verlet (NVE) with RATTLE constraints.
//!
//! One step of size `dt` (ps) from positions `x` (nm), velocities `v`
//! (nm/ps) and forces `F(x)` (kJ/mol/nm), with `w = 1/m` (1/amu):
//!
//! 1. `v ← v + ½dt·w·F(x)`
//! 2. `x' ← x + dt·v`, then positions constrained with the bond directions of
//!    `x` (SHAKE/SETTLE), and `v ← v + (x'_constrained − x')/dt` (RATTLE,
//!    first half),
//! 3. `F(x')` is evaluated by the caller,
//! 4. `v ← v + ½dt·w·F(x')`, then velocities constrained at `x'` (RATTLE,
//!    second half).
//!
//! Massless particles (w = 0) neither move nor change velocity. The
//! velocities are full-step velocities, so the kinetic energy is that of the
//! same instant as the potential energy.

use super::constraints::ConstraintFailure;
use super::dynamics::{Dynamics, StepArrays};

type V3 = [f64; 3];

/// Steps 1–2: half kick with `arrays.forces` (kJ/mol/nm, at `x`), drift
/// into `arrays.x_new` (nm) and position constraints; the velocities
/// (nm/ps) become the constrained half-step velocities.
pub fn kick_drift(
    dt: f64,
    dynamics: &mut Dynamics,
    arrays: StepArrays<'_>,
) -> Result<(), ConstraintFailure> {
    let StepArrays {
        x,
        forces,
        x_new,
        v,
    } = arrays;
    let half = 0.5 * dt;
    for (i, &w) in dynamics.inv_masses.iter().enumerate() {
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += half * w * forces[i][k];
                x_new[i][k] = x[i][k] + v[i][k] * dt;
            }
        } else {
            x_new[i] = x[i];
        }
    }
    dynamics.constrain_drift(x, x_new, v, dt)
}

/// Step 4: half kick with `forces_new` (kJ/mol/nm, at `x_new`) and velocity
/// constraints at `x_new` (nm); `v` in nm/ps.
pub fn kick(
    dt: f64,
    dynamics: &mut Dynamics,
    x_new: &[V3],
    forces_new: &[V3],
    v: &mut [V3],
) -> Result<(), ConstraintFailure> {
    let half = 0.5 * dt;
    for (i, &w) in dynamics.inv_masses.iter().enumerate() {
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += half * w * forces_new[i][k];
            }
        }
    }
    dynamics.constrain_velocities(x_new, v)
}
