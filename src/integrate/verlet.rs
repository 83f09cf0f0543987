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

use super::constraints::{ConstraintFailure, Constraints};

type V3 = [f64; 3];

/// Steps 1–2: half kick with `forces` (kJ/mol/nm, at `x`), drift into
/// `x_new` (nm) and position constraints. `v` (nm/ps) is updated in place to
/// the constrained half-step velocity; `scratch` is a work buffer.
#[allow(clippy::too_many_arguments)]
pub fn kick_drift(
    dt: f64,
    inv_masses: &[f64],
    x: &[V3],
    forces: &[V3],
    constraints: &mut Constraints,
    tolerance: f64,
    x_new: &mut [V3],
    v: &mut [V3],
    scratch: &mut Vec<V3>,
) -> Result<(), ConstraintFailure> {
    let half = 0.5 * dt;
    for i in 0..x.len() {
        let w = inv_masses[i];
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += half * w * forces[i][k];
                x_new[i][k] = x[i][k] + v[i][k] * dt;
            }
        } else {
            x_new[i] = x[i];
        }
    }
    if constraints.is_empty() {
        return Ok(());
    }
    scratch.clear();
    scratch.extend_from_slice(x_new);
    constraints.apply_positions(x, x_new, tolerance)?;
    for i in 0..x.len() {
        if inv_masses[i] != 0.0 {
            for k in 0..3 {
                v[i][k] += (x_new[i][k] - scratch[i][k]) / dt;
            }
        }
    }
    Ok(())
}

/// Step 4: half kick with `forces_new` (kJ/mol/nm, at `x_new`) and velocity
/// constraints at `x_new` (nm).
pub fn kick(
    dt: f64,
    inv_masses: &[f64],
    x_new: &[V3],
    forces_new: &[V3],
    constraints: &mut Constraints,
    tolerance: f64,
    v: &mut [V3],
) -> Result<(), ConstraintFailure> {
    let half = 0.5 * dt;
    for i in 0..v.len() {
        let w = inv_masses[i];
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += half * w * forces_new[i][k];
            }
        }
    }
    if constraints.is_empty() {
        return Ok(());
    }
    constraints.apply_velocities(x_new, v, tolerance)
}
