//! Holonomic distance constraints on positions and velocities.
//!
//! [`Constraints::new`] splits `System::constraints` once into independent
//! clusters (connected components of the constraint graph), exactly as
//! OpenMM's reference platform does:
//!
//! - **SETTLE** ([`settle`]) for rigid 3-site waters: three atoms that are
//!   constrained to each other and to nothing else, two of the three
//!   distances equal (the apex is the atom they share) and the two outer
//!   atoms of equal mass. Positions are solved analytically (Miyamoto &
//!   Kollman, J. Comput. Chem. 13, 952 (1992)); velocities with the exact
//!   3×3 solve below.
//! - **Everything else** ([`cluster`]), e.g. X–H bond clusters: the SHAKE
//!   equations (constraint displacements along the reference bond vectors,
//!   weighted by inverse masses) solved by Newton's method with the exact
//!   dense Jacobian of the cluster (matrix SHAKE; quadratic convergence,
//!   typically 2–4 iterations for X–Hₙ clusters), or by Gauss–Seidel SHAKE
//!   iteration for clusters larger than [`Constraints::dense_limit`]
//!   constraints. Velocities (RATTLE) solve the linear system of the
//!   cluster exactly (dense) or iterate Gauss–Seidel (large clusters).
//!
//! Tolerances (relative, OpenMM's meaning): positions are converged when
//! every `|rᵢⱼ|/dᵢⱼ` is within `[1 − tol, 1 + tol]`; velocities when every
//! relative rate of change of a constraint length, `|rᵢⱼ·vᵢⱼ| / |rᵢⱼ|²`,
//! is at most `tol` per ps. A cluster that does not converge within
//! [`Constraints::max_iterations`] iterations (or meets a singular
//! Jacobian, or SETTLE meets an impossible geometry) is a
//! [`ConstraintFailure`] naming the worst constraint by its index in
//! `System::constraints`.
//!
//! As in OpenMM, constraints between two massless particles are ignored, and
//! a massless particle in a constraint does not move.

pub mod cluster;
mod linalg;
pub mod settle;

use std::fmt;

use crate::error::{Error, Result};
use crate::forcefield::System;

use cluster::Cluster;

/// Default largest cluster (in constraints) solved with the dense Newton
/// method; larger clusters use Gauss–Seidel SHAKE.
pub const DEFAULT_DENSE_LIMIT: usize = 64;

/// Default iteration limit per cluster and call.
pub const DEFAULT_MAX_ITERATIONS: usize = 1000;

/// A constraint cluster that could not be satisfied.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstraintFailure {
    /// Index of the worst constraint in `System::constraints`.
    pub constraint: usize,
    /// Its first particle.
    pub i: usize,
    /// Its second particle.
    pub j: usize,
    /// Its target distance, nm.
    pub distance: f64,
    /// Its remaining error: relative distance error `|r − d|/d` (positions)
    /// or relative length rate `|r·v|/r²` in 1/ps (velocities); NaN when the
    /// geometry was impossible.
    pub error: f64,
    /// Iterations spent.
    pub iterations: usize,
    /// Whether velocities (RATTLE) rather than positions failed.
    pub velocities: bool,
    /// Why it failed.
    pub reason: &'static str,
}

impl fmt::Display for ConstraintFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} constraint {} (particles {}-{}, {} nm) failed: {} (error {:e} after {} iterations)",
            if self.velocities {
                "velocity"
            } else {
                "position"
            },
            self.constraint,
            self.i,
            self.j,
            self.distance,
            self.reason,
            self.error,
            self.iterations
        )
    }
}

impl ConstraintFailure {
    /// The failure as [`Error::Unstable`] at MD step `step`.
    pub fn at_step(&self, step: u64) -> Error {
        Error::Unstable {
            step,
            message: self.to_string(),
        }
    }
}

/// The constraints of a system, split into clusters, with the inverse masses
/// (1/amu; 0 for massless particles) they are solved with.
#[derive(Clone, Debug)]
pub struct Constraints {
    clusters: Vec<Cluster>,
    inv_masses: Vec<f64>,
    n_settle: usize,
    /// Clusters with more constraints than this use Gauss–Seidel SHAKE
    /// instead of dense Newton (default [`DEFAULT_DENSE_LIMIT`]).
    pub dense_limit: usize,
    /// Iteration limit per cluster and call (default [`DEFAULT_MAX_ITERATIONS`]).
    pub max_iterations: usize,
    scratch: cluster::Scratch,
}

impl Constraints {
    /// Build the clusters of `system` (validated: indices in range, positive
    /// distances, masses finite and ≥ 0).
    pub fn new(system: &System) -> Result<Self> {
        system.validate()?;
        let masses = &system.masses;
        let n = masses.len();
        let inv_masses: Vec<f64> = masses
            .iter()
            .map(|&m| if m == 0.0 { 0.0 } else { 1.0 / m })
            .collect();
        // Active constraints: at least one massive particle (as OpenMM).
        let active: Vec<usize> = (0..system.constraints.len())
            .filter(|&k| {
                let c = &system.constraints[k];
                masses[c.i] != 0.0 || masses[c.j] != 0.0
            })
            .collect();

        // Connected components over particles (union–find).
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], mut a: usize) -> usize {
            while p[a] != a {
                p[a] = p[p[a]];
                a = p[a];
            }
            a
        }
        for &k in &active {
            let c = &system.constraints[k];
            let (a, b) = (find(&mut parent, c.i), find(&mut parent, c.j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        // Group constraints by component, components ordered by their first
        // constraint: deterministic.
        let mut slot: std::collections::HashMap<usize, usize> = Default::default();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for &k in &active {
            let root = find(&mut parent, system.constraints[k].i);
            let g = *slot.entry(root).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(k);
        }
        let clusters: Vec<Cluster> = groups
            .into_iter()
            .map(|ids| Cluster::new(system, ids))
            .collect();
        let n_settle = clusters.iter().filter(|c| c.is_settle()).count();
        Ok(Constraints {
            clusters,
            inv_masses,
            n_settle,
            dense_limit: DEFAULT_DENSE_LIMIT,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            scratch: Default::default(),
        })
    }

    /// Whether there is nothing to constrain.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Number of independent clusters (SETTLE waters included).
    pub fn n_clusters(&self) -> usize {
        self.clusters.len()
    }

    /// Number of clusters solved with SETTLE.
    pub fn n_settle(&self) -> usize {
        self.n_settle
    }

    /// The same constraints with SETTLE disabled (every cluster iterative).
    #[cfg(test)]
    pub(crate) fn without_settle(mut self) -> Self {
        self.clusters = self
            .clusters
            .into_iter()
            .map(|c| c.without_settle())
            .collect();
        self.n_settle = 0;
        self
    }

    /// The clusters, in a fixed order; no particle is in two of them.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// Number of constraints in the largest cluster.
    pub fn largest_cluster(&self) -> usize {
        self.clusters.iter().map(|c| c.len()).max().unwrap_or(0)
    }

    /// Inverse masses (1/amu, 0 for massless particles) used by the solvers.
    pub fn inverse_masses(&self) -> &[f64] {
        &self.inv_masses
    }

    /// Constrain `positions` (nm, e.g. after an unconstrained drift) with the
    /// bond directions of `reference` (nm, e.g. the positions at the start of
    /// the step, which should satisfy the constraints); to project a single
    /// configuration pass a copy of it as `reference`. Relative tolerance
    /// `tolerance` (see the module documentation).
    pub fn apply_positions(
        &mut self,
        reference: &[[f64; 3]],
        positions: &mut [[f64; 3]],
        tolerance: f64,
    ) -> Result<(), ConstraintFailure> {
        for c in &self.clusters {
            c.apply_positions(
                reference,
                positions,
                &self.inv_masses,
                tolerance,
                self.dense_limit,
                self.max_iterations,
                &mut self.scratch,
            )?;
        }
        Ok(())
    }

    /// Remove the velocity components (nm/ps) along the constraints at
    /// `positions` (nm) (RATTLE's second half), relative tolerance
    /// `tolerance` per ps.
    pub fn apply_velocities(
        &mut self,
        positions: &[[f64; 3]],
        velocities: &mut [[f64; 3]],
        tolerance: f64,
    ) -> Result<(), ConstraintFailure> {
        for c in &self.clusters {
            c.apply_velocities(
                positions,
                velocities,
                &self.inv_masses,
                tolerance,
                self.dense_limit,
                self.max_iterations,
                &mut self.scratch,
            )?;
        }
        Ok(())
    }

    /// The largest relative distance error `|r − d|/d` over all active
    /// constraints at `positions` (nm), with the index of that constraint in
    /// `System::constraints`; `(0.0, None)` without constraints.
    pub fn max_relative_error(&self, positions: &[[f64; 3]]) -> (f64, Option<usize>) {
        let mut worst = (0.0, None);
        for c in &self.clusters {
            let (e, k) = c.max_relative_error(positions);
            if e > worst.0 || (e.is_nan() && !worst.0.is_nan()) {
                worst = (e, Some(k));
            }
        }
        worst
    }

    /// The largest relative rate `|r·v|/r²` (1/ps) over all active constraints.
    pub fn max_velocity_error(&self, positions: &[[f64; 3]], velocities: &[[f64; 3]]) -> f64 {
        self.clusters
            .iter()
            .map(|c| c.max_velocity_error(positions, velocities).0)
            .fold(0.0, f64::max)
    }
}

pub(crate) fn check_tolerance(tolerance: f64) -> Result<()> {
    if !(tolerance.is_finite() && tolerance > 0.0 && tolerance < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "constraint tolerance {tolerance} must be in (0, 1)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
