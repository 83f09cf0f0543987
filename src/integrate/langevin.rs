//! OpenMM's `LangevinMiddleIntegrator` (the "middle" BAOAB-type scheme of
//! Zhang, Liu, Zhang & Zhang, J. Chem. Phys. 151, 114107 (2019)).
//!
//! One step of size `dt` (ps) at temperature `T` (K) with friction `γ`
//! (1/ps), `w = 1/m`, in the exact order of OpenMM's reference
//! implementation (`ReferenceLangevinMiddleDynamics::update`):
//!
//! 1. **B**: `v ← v + dt·w·F(x)` (full kick with the forces at the start
//!    of the step), then velocity constraints at `x`,
//! 2. **A**: `x' ← x + ½dt·v`,
//! 3. **O**: `v ← a·v + √(1 − a²)·√(kT·w)·ξ` with `a = exp(−γ dt)` and
//!    `ξ` standard normal (see [`super::rng`]: counter = step index),
//! 4. **A**: `x' ← x' + ½dt·v`,
//! 5. position constraints on `x'` with the bond directions of `x`, and the
//!    constraint displacement added to the velocities:
//!    `v ← v + (x'_constrained − x')/dt`; `x ← x'_constrained`.
//!
//! Massless particles are skipped. The velocities are "middle" (half-step)
//! velocities; as in OpenMM, the kinetic energy is computed from them
//! without a time shift.

use super::constraints::{ConstraintFailure, Constraints};
use super::rng::{NormalStream, Purpose};
use super::BOLTZ;

type V3 = [f64; 3];

/// Parameters of the Langevin middle integrator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LangevinMiddle {
    /// Step size, ps.
    pub dt: f64,
    /// Bath temperature, K.
    pub temperature: f64,
    /// Friction coefficient γ, 1/ps.
    pub friction: f64,
}

/// One step: from `x` (nm), `forces` (kJ/mol/nm, at `x`) and the velocities
/// in `v` (nm/ps, updated in place) to the new positions in `x_new`.
/// The noise is that of `(seed, step_index)`; `scratch` is a work buffer.
#[allow(clippy::too_many_arguments)]
pub fn step(
    params: &LangevinMiddle,
    seed: u64,
    step_index: u64,
    inv_masses: &[f64],
    x: &[V3],
    forces: &[V3],
    constraints: &mut Constraints,
    tolerance: f64,
    x_new: &mut [V3],
    v: &mut [V3],
    scratch: &mut Vec<V3>,
) -> Result<(), ConstraintFailure> {
    let dt = params.dt;
    let n = x.len();
    // B
    for i in 0..n {
        let w = inv_masses[i];
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += dt * w * forces[i][k];
            }
        }
    }
    if !constraints.is_empty() {
        constraints.apply_velocities(x, v, tolerance)?;
    }
    // A O A
    let half = 0.5 * dt;
    let kt = BOLTZ * params.temperature;
    let vscale = (-dt * params.friction).exp();
    let noise_scale = (1.0 - vscale * vscale).sqrt();
    let mut noise = NormalStream::new(seed, Purpose::Langevin, step_index);
    for i in 0..n {
        let w = inv_masses[i];
        if w == 0.0 {
            x_new[i] = x[i];
            continue;
        }
        let z = noise.atom(i);
        let s = noise_scale * (kt * w).sqrt();
        for k in 0..3 {
            let xp = x[i][k] + v[i][k] * half;
            v[i][k] = vscale * v[i][k] + s * z[k];
            x_new[i][k] = xp + v[i][k] * half;
        }
    }
    if constraints.is_empty() {
        return Ok(());
    }
    scratch.clear();
    scratch.extend_from_slice(x_new);
    constraints.apply_positions(x, x_new, tolerance)?;
    for i in 0..n {
        if inv_masses[i] != 0.0 {
            for k in 0..3 {
                v[i][k] += (x_new[i][k] - scratch[i][k]) / dt;
            }
        }
    }
    Ok(())
}
