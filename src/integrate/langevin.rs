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

use super::constraints::ConstraintFailure;
use super::dynamics::{Dynamics, StepArrays};
use super::rng::NormalStream;
use super::BOLTZ;

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

/// One step from `arrays.x` (nm) and `arrays.forces` (kJ/mol/nm, at `x`):
/// the velocities (nm/ps) are updated in place and the new positions
/// written to `arrays.x_new`. `noise` is the step's stream (see
/// [`super::rng`]: `Purpose::Langevin`, counter = step index).
pub fn step(
    params: &LangevinMiddle,
    mut noise: NormalStream,
    dynamics: &mut Dynamics,
    arrays: StepArrays<'_>,
) -> Result<(), ConstraintFailure> {
    let StepArrays {
        x,
        forces,
        x_new,
        v,
    } = arrays;
    let dt = params.dt;
    // B
    for (i, &w) in dynamics.inv_masses.iter().enumerate() {
        if w != 0.0 {
            for k in 0..3 {
                v[i][k] += dt * w * forces[i][k];
            }
        }
    }
    dynamics.constrain_velocities(x, v)?;
    // A O A
    let half = 0.5 * dt;
    let kt = BOLTZ * params.temperature;
    let vscale = (-dt * params.friction).exp();
    let noise_scale = (1.0 - vscale * vscale).sqrt();
    for (i, &w) in dynamics.inv_masses.iter().enumerate() {
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
    dynamics.constrain_drift(x, x_new, v, dt)
}
