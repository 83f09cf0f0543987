//! Local energy minimization, as OpenMM 8's `LocalEnergyMinimizer::minimize`
//! (reference platform, `ReferenceMinimize`):
//!
//! - L-BFGS (see the private `lbfgs` module: liblbfgs' algorithm and defaults, backtracking
//!   strong-Wolfe line search) on the potential energy of all force groups;
//!   massless particles do not move.
//! - Convergence: the RMS force `√(Σᵢ |Fᵢ|² / N)` (kJ/mol/nm, over the `N`
//!   particles, i.e. the per-particle force magnitude) below `tolerance`.
//!   This is the criterion OpenMM's liblbfgs setting amounts to
//!   (`‖g‖/max(1, ‖x‖) < tolerance / max(1, rms |xᵢ|)`, i.e.
//!   `‖g‖ < tolerance·√N` for coordinates beyond 1 nm).
//! - Constraints: first projected at the working tolerance
//!   `max(1e-4, constraint_tolerance)`, then replaced by harmonic restraints
//!   `½k(r − d)²` with `k = 100 / working tolerance` (kJ/mol/nm²); while the
//!   largest relative constraint error after a minimization exceeds the
//!   working tolerance, `k` grows tenfold and L-BFGS runs again (from the
//!   starting positions when the error exceeded 100× the tolerance), until
//!   the error stops decreasing. Finally the positions are projected onto
//!   the constraints at `constraint_tolerance`. One difference: where OpenMM
//!   gives up on tightening the restraints it returns the starting
//!   positions; here the minimized positions are kept and projected.
//! - `max_iterations` limits each L-BFGS run (0 = no limit), as in OpenMM.

use super::constraints::{ConstraintFailure, Constraints};
use super::lbfgs::{self, Stop};
use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, ForceEvaluator, ForceOutput, System, ALL_GROUPS};

/// What [`minimize`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct MinimizeReport {
    /// Potential energy at the start (after the initial constraint
    /// projection), kJ/mol.
    pub initial_energy: f64,
    /// Potential energy at the returned positions, kJ/mol.
    pub final_energy: f64,
    /// RMS force at the start, kJ/mol/nm (see the module documentation).
    pub initial_rms_force: f64,
    /// RMS of the minimized objective's gradient (forces plus constraint
    /// restraint forces) where L-BFGS stopped, kJ/mol/nm; without
    /// constraints, the RMS force at the returned positions.
    pub final_rms_force: f64,
    /// L-BFGS iterations, over all restraint rounds.
    pub iterations: usize,
    /// Energy (and gradient) evaluations.
    pub evaluations: usize,
    /// Whether the RMS force fell below the tolerance.
    pub converged: bool,
    /// Largest relative constraint error `|r − d|/d` at the returned positions.
    pub max_constraint_error: f64,
}

/// Minimization settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinimizeSettings {
    /// RMS force tolerance, kJ/mol/nm (OpenMM's default: 10).
    pub tolerance: f64,
    /// Iteration limit of each L-BFGS run; 0 = none.
    pub max_iterations: usize,
    /// Relative constraint tolerance (OpenMM's integrator default: 1e-5).
    pub constraint_tolerance: f64,
}

impl Default for MinimizeSettings {
    fn default() -> Self {
        MinimizeSettings {
            tolerance: super::DEFAULT_MINIMIZE_TOLERANCE,
            max_iterations: 0,
            constraint_tolerance: super::DEFAULT_CONSTRAINT_TOLERANCE,
        }
    }
}

fn rms(g: &[f64], n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (g.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt()
    }
}

fn constraint_error(e: ConstraintFailure) -> Error {
    Error::InvalidArgument(format!("minimization: {e}"))
}

/// Minimize the potential energy of `system` from `positions` (nm, updated
/// in place) with `evaluator`; `constraints` must be built from `system`.
pub fn minimize(
    system: &System,
    evaluator: &mut dyn ForceEvaluator,
    constraints: &mut Constraints,
    positions: &mut [[f64; 3]],
    box_vectors: Option<&BoxVectors>,
    settings: &MinimizeSettings,
) -> Result<MinimizeReport> {
    let n = system.n_particles();
    if positions.len() != n {
        return Err(Error::Shape(format!(
            "{} positions for a system of {n} particles",
            positions.len()
        )));
    }
    if !(settings.tolerance.is_finite() && settings.tolerance >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "minimization tolerance {} kJ/mol/nm must be finite and >= 0",
            settings.tolerance
        )));
    }
    super::constraints::check_tolerance(settings.constraint_tolerance)?;
    let ctol = settings.constraint_tolerance;
    let working_tol = ctol.max(1e-4);
    let has_constraints = !constraints.is_empty();
    if has_constraints {
        let reference = positions.to_vec();
        constraints
            .apply_positions(&reference, positions, working_tol)
            .map_err(constraint_error)?;
    }

    let mut out = ForceOutput::new(n);
    let mut evaluations = 0usize;
    let mut x: Vec<f64> = positions.as_flattened().to_vec();
    let mut g = vec![0.0; 3 * n];
    let mut k = 100.0 / working_tol;

    // Objective: potential energy plus constraint restraints at strength k.
    let mut objective = |x: &[f64], g: &mut [f64], k: f64| -> Result<f64> {
        let p: &[[f64; 3]] = bytemuck::cast_slice(x);
        if p.iter().flatten().any(|v| !v.is_finite()) {
            return Ok(f64::NAN);
        }
        evaluator.compute(p, box_vectors, ALL_GROUPS, &mut out)?;
        evaluations += 1;
        let mut e = out.potential_energy();
        for i in 0..n {
            let fixed = system.masses[i] == 0.0;
            for c in 0..3 {
                g[3 * i + c] = if fixed { 0.0 } else { -out.forces[i][c] };
            }
        }
        for con in &system.constraints {
            let (a, b) = (con.i, con.j);
            let d: [f64; 3] = std::array::from_fn(|c| p[b][c] - p[a][c]);
            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let dr = r - con.distance;
            e += 0.5 * k * dr * dr;
            for c in 0..3 {
                let gc = k * dr * d[c] / r;
                if system.masses[a] != 0.0 {
                    g[3 * a + c] -= gc;
                }
                if system.masses[b] != 0.0 {
                    g[3 * b + c] += gc;
                }
            }
        }
        if !e.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return Ok(f64::NAN);
        }
        Ok(e)
    };

    // Starting point.
    let e0 = objective(&x, &mut g, k)?;
    if !e0.is_finite() {
        return Err(Error::NonFinite(
            "minimization: the energy or forces at the starting positions are not finite".into(),
        ));
    }
    let initial_rms = rms(&g, n);
    // The restraint energy is ~0 after the projection; report the potential.
    let initial_energy = e0 - restraint_energy(system, &x, k);

    let params = lbfgs::Params {
        max_iterations: settings.max_iterations,
        ..Default::default()
    };
    let tolerance = settings.tolerance;
    let initial_x = x.clone();
    let mut iterations = 0;
    let mut prev_max_error = f64::INFINITY;
    let mut final_rms;
    let mut converged;
    loop {
        let outcome = lbfgs::minimize(
            &mut x,
            &mut g,
            |x, g| objective(x, g, k),
            |g| rms(g, n) < tolerance,
            &params,
        )?;
        iterations += outcome.iterations;
        final_rms = rms(&g, n);
        converged = outcome.stop == Stop::Converged;
        if !has_constraints {
            break;
        }
        let max_error = constraints.max_relative_error(bytemuck::cast_slice(&x)).0;
        if max_error <= working_tol || max_error.is_nan() || max_error >= prev_max_error {
            break;
        }
        prev_max_error = max_error;
        k *= 10.0;
        if max_error > 100.0 * working_tol {
            x.copy_from_slice(&initial_x);
        }
    }

    positions.as_flattened_mut().copy_from_slice(&x[..3 * n]);
    if has_constraints {
        let reference = positions.to_vec();
        constraints
            .apply_positions(&reference, positions, ctol)
            .map_err(constraint_error)?;
    }
    evaluator.compute(positions, box_vectors, ALL_GROUPS, &mut out)?;
    evaluations += 1;
    let final_energy = out.potential_energy();
    if !has_constraints {
        let moving = out
            .forces
            .iter()
            .zip(&system.masses)
            .filter(|(_, &m)| m != 0.0)
            .map(|(f, _)| f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
        final_rms = (moving.sum::<f64>() / n.max(1) as f64).sqrt();
    }
    Ok(MinimizeReport {
        initial_energy,
        final_energy,
        initial_rms_force: initial_rms,
        final_rms_force: final_rms,
        iterations,
        evaluations,
        converged,
        max_constraint_error: constraints.max_relative_error(positions).0,
    })
}

fn restraint_energy(system: &System, x: &[f64], k: f64) -> f64 {
    system
        .constraints
        .iter()
        .map(|c| {
            let d: [f64; 3] = std::array::from_fn(|q| x[3 * c.j + q] - x[3 * c.i + q]);
            let dr = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt() - c.distance;
            0.5 * k * dr * dr
        })
        .sum()
}
