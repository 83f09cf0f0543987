//! One connected cluster of constraints: dense Newton (matrix SHAKE) or
//! Gauss–Seidel SHAKE for positions, exact or Gauss–Seidel RATTLE for
//! velocities, SETTLE for rigid waters.
//!
//! Notation: constraint `k` joins particles `aₖ`, `bₖ` at distance `dₖ`;
//! `rₖ = x_ref[aₖ] − x_ref[bₖ]` is its reference vector. A multiplier `λₗ`
//! moves `aₗ` by `+w(aₗ) λₗ rₗ` and `bₗ` by `−w(bₗ) λₗ rₗ` (`w` = inverse
//! mass), so the constraint vector `sₖ` changes by `Σₗ Cₖₗ λₗ rₗ` with
//! `Cₖₗ = w(aₖ)([aₖ=aₗ] − [aₖ=bₗ]) − w(bₖ)([bₖ=aₗ] − [bₖ=bₗ])`.

use nalgebra::{DMatrix, DVector};

use super::linalg::solve_in_place;
use super::settle::Water;
use super::ConstraintFailure;
use crate::forcefield::System;

type V3 = [f64; 3];

#[inline]
fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn axpy(y: &mut V3, s: f64, x: V3) {
    y[0] += s * x[0];
    y[1] += s * x[1];
    y[2] += s * x[2];
}

/// Reused buffers of the solvers.
#[derive(Clone, Debug, Default)]
pub(super) struct Scratch {
    r: Vec<V3>,
    mat: DMatrix<f64>,
    rhs: DVector<f64>,
}

/// A connected set of constraints.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Indices into `System::constraints`.
    ids: Vec<usize>,
    /// Particle pairs (a, b).
    pairs: Vec<(usize, usize)>,
    /// Target distances, nm.
    dist: Vec<f64>,
    /// Set when the cluster is a SETTLE water.
    water: Option<Water>,
}

impl Cluster {
    pub(super) fn new(system: &System, ids: Vec<usize>) -> Self {
        let pairs: Vec<(usize, usize)> = ids
            .iter()
            .map(|&k| (system.constraints[k].i, system.constraints[k].j))
            .collect();
        let dist: Vec<f64> = ids
            .iter()
            .map(|&k| system.constraints[k].distance)
            .collect();
        let water = Water::detect(&pairs, &dist, &system.masses);
        Cluster {
            ids,
            pairs,
            dist,
            water,
        }
    }

    /// Number of constraints.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the cluster has no constraints (never true for built clusters).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The same cluster solved iteratively even if it is a water.
    #[cfg(test)]
    pub(super) fn without_settle(mut self) -> Self {
        self.water = None;
        self
    }

    /// Whether SETTLE handles this cluster's positions.
    pub fn is_settle(&self) -> bool {
        self.water.is_some()
    }

    /// The water SETTLE solves, if this cluster is one.
    pub fn water(&self) -> Option<&Water> {
        self.water.as_ref()
    }

    /// The constrained particle pairs (a, b).
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// The target distances, nm, one per pair.
    pub fn distances(&self) -> &[f64] {
        &self.dist
    }

    /// The indices of the constraints in `System::constraints`.
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }

    #[inline]
    fn coupling(&self, w: &[f64], k: usize, l: usize) -> f64 {
        let (ak, bk) = self.pairs[k];
        let (al, bl) = self.pairs[l];
        let ind = |p: usize, q: usize| if p == q { 1.0 } else { 0.0 };
        w[ak] * (ind(ak, al) - ind(ak, bl)) - w[bk] * (ind(bk, al) - ind(bk, bl))
    }

    fn failure(
        &self,
        k: usize,
        error: f64,
        iterations: usize,
        velocities: bool,
        reason: &'static str,
    ) -> ConstraintFailure {
        let (i, j) = self.pairs[k];
        ConstraintFailure {
            constraint: self.ids[k],
            i,
            j,
            distance: self.dist[k],
            error,
            iterations,
            velocities,
            reason,
        }
    }

    /// Largest relative distance error and the local index of that constraint.
    fn worst_distance(&self, x: &[V3]) -> (f64, usize) {
        let mut worst = (0.0, 0);
        for (k, &(a, b)) in self.pairs.iter().enumerate() {
            let s = sub(x[a], x[b]);
            let e = (dot(s, s).sqrt() / self.dist[k] - 1.0).abs();
            if e.is_nan() || e > worst.0 {
                worst = (e, k);
                if e.is_nan() {
                    break;
                }
            }
        }
        worst
    }

    /// Largest relative distance error and its index in `System::constraints`.
    pub(super) fn max_relative_error(&self, x: &[V3]) -> (f64, usize) {
        let (e, k) = self.worst_distance(x);
        (e, self.ids[k])
    }

    /// Largest relative length rate |r·v|/r² (1/ps) and its constraint index.
    pub(super) fn max_velocity_error(&self, x: &[V3], v: &[V3]) -> (f64, usize) {
        let (e, k) = self.worst_rate(x, v);
        (e, self.ids[k])
    }

    fn worst_rate(&self, x: &[V3], v: &[V3]) -> (f64, usize) {
        let mut worst = (0.0, 0);
        for (k, &(a, b)) in self.pairs.iter().enumerate() {
            let r = sub(x[a], x[b]);
            let e = (dot(r, sub(v[a], v[b])) / dot(r, r)).abs();
            if e.is_nan() || e > worst.0 {
                worst = (e, k);
                if e.is_nan() {
                    break;
                }
            }
        }
        worst
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_positions(
        &self,
        reference: &[V3],
        x: &mut [V3],
        w: &[f64],
        tol: f64,
        dense_limit: usize,
        max_it: usize,
        sc: &mut Scratch,
    ) -> Result<(), ConstraintFailure> {
        if let Some(water) = &self.water {
            water.apply_positions(reference, x);
            let (e, k) = self.worst_distance(x);
            // SETTLE is exact up to rounding; allow for that below tolerances
            // that tight.
            if e.is_nan() || e > tol.max(1e-10) {
                return Err(self.failure(
                    k,
                    e,
                    1,
                    false,
                    "SETTLE found no rigid placement (displacement too large)",
                ));
            }
            return Ok(());
        }
        sc.r.clear();
        sc.r.extend(
            self.pairs
                .iter()
                .map(|&(a, b)| sub(reference[a], reference[b])),
        );
        if self.len() <= dense_limit {
            self.newton_positions(x, w, tol, max_it, sc)
        } else {
            self.shake_positions(x, w, tol, max_it, sc)
        }
    }

    fn newton_positions(
        &self,
        x: &mut [V3],
        w: &[f64],
        tol: f64,
        max_it: usize,
        sc: &mut Scratch,
    ) -> Result<(), ConstraintFailure> {
        let n = self.len();
        let (lower, upper) = ((1.0 - tol) * (1.0 - tol), (1.0 + tol) * (1.0 + tol));
        sc.mat.resize_mut(n, n, 0.0);
        sc.rhs.resize_vertically_mut(n, 0.0);
        let mut it = 0;
        loop {
            let mut converged = true;
            for (k, &(a, b)) in self.pairs.iter().enumerate() {
                let s = sub(x[a], x[b]);
                let s2 = dot(s, s);
                let d2 = self.dist[k] * self.dist[k];
                if !(s2 >= lower * d2 && s2 <= upper * d2) {
                    converged = false;
                }
                sc.rhs[k] = d2 - s2;
                for l in 0..n {
                    let c = self.coupling(w, k, l);
                    sc.mat[(k, l)] = if c == 0.0 {
                        0.0
                    } else {
                        2.0 * c * dot(s, sc.r[l])
                    };
                }
            }
            if converged {
                return Ok(());
            }
            if it == max_it {
                let (e, k) = self.worst_distance(x);
                return Err(self.failure(k, e, it, false, "did not converge"));
            }
            if !solve_in_place(&mut sc.mat, &mut sc.rhs) {
                let (e, k) = self.worst_distance(x);
                return Err(self.failure(k, e, it, false, "singular constraint matrix"));
            }
            for (l, &(a, b)) in self.pairs.iter().enumerate() {
                let lam = sc.rhs[l];
                axpy(&mut x[a], w[a] * lam, sc.r[l]);
                axpy(&mut x[b], -w[b] * lam, sc.r[l]);
            }
            it += 1;
        }
    }

    fn shake_positions(
        &self,
        x: &mut [V3],
        w: &[f64],
        tol: f64,
        max_it: usize,
        sc: &mut Scratch,
    ) -> Result<(), ConstraintFailure> {
        let (lower, upper) = ((1.0 - tol) * (1.0 - tol), (1.0 + tol) * (1.0 + tol));
        for it in 0..=max_it {
            let mut converged = true;
            for (k, &(a, b)) in self.pairs.iter().enumerate() {
                let s = sub(x[a], x[b]);
                let s2 = dot(s, s);
                let d2 = self.dist[k] * self.dist[k];
                if s2 >= lower * d2 && s2 <= upper * d2 {
                    continue;
                }
                converged = false;
                if it == max_it {
                    break;
                }
                let denom = 2.0 * (w[a] + w[b]) * dot(s, sc.r[k]);
                let lam = (d2 - s2) / denom;
                if !lam.is_finite() {
                    let e = (s2.sqrt() / self.dist[k] - 1.0).abs();
                    return Err(self.failure(k, e, it, false, "constraint rotated by 90 degrees"));
                }
                axpy(&mut x[a], w[a] * lam, sc.r[k]);
                axpy(&mut x[b], -w[b] * lam, sc.r[k]);
            }
            if converged {
                return Ok(());
            }
        }
        let (e, k) = self.worst_distance(x);
        Err(self.failure(k, e, max_it, false, "did not converge"))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_velocities(
        &self,
        x: &[V3],
        v: &mut [V3],
        w: &[f64],
        tol: f64,
        dense_limit: usize,
        max_it: usize,
        sc: &mut Scratch,
    ) -> Result<(), ConstraintFailure> {
        sc.r.clear();
        sc.r.extend(self.pairs.iter().map(|&(a, b)| sub(x[a], x[b])));
        let n = self.len();
        if n <= dense_limit || self.water.is_some() {
            sc.mat.resize_mut(n, n, 0.0);
            sc.rhs.resize_vertically_mut(n, 0.0);
            for it in 0..=max_it {
                let mut converged = true;
                for (k, &(a, b)) in self.pairs.iter().enumerate() {
                    let rk = sc.r[k];
                    let ru = dot(rk, sub(v[a], v[b]));
                    let rate = (ru / dot(rk, rk)).abs();
                    if rate.is_nan() || rate > tol {
                        converged = false;
                    }
                    sc.rhs[k] = -ru;
                    for l in 0..n {
                        let c = self.coupling(w, k, l);
                        sc.mat[(k, l)] = if c == 0.0 { 0.0 } else { c * dot(rk, sc.r[l]) };
                    }
                }
                if converged {
                    return Ok(());
                }
                if it == max_it {
                    break;
                }
                if !solve_in_place(&mut sc.mat, &mut sc.rhs) {
                    let (e, k) = self.worst_rate(x, v);
                    return Err(self.failure(k, e, it, true, "singular constraint matrix"));
                }
                for (l, &(a, b)) in self.pairs.iter().enumerate() {
                    let mu = sc.rhs[l];
                    axpy(&mut v[a], w[a] * mu, sc.r[l]);
                    axpy(&mut v[b], -w[b] * mu, sc.r[l]);
                }
            }
        } else {
            for it in 0..=max_it {
                let mut converged = true;
                for (k, &(a, b)) in self.pairs.iter().enumerate() {
                    let rk = sc.r[k];
                    let r2 = dot(rk, rk);
                    let ru = dot(rk, sub(v[a], v[b]));
                    if (ru / r2).abs() <= tol {
                        continue;
                    }
                    converged = false;
                    if it == max_it {
                        break;
                    }
                    let mu = -ru / ((w[a] + w[b]) * r2);
                    if !mu.is_finite() {
                        return Err(self.failure(k, f64::NAN, it, true, "non-finite velocity"));
                    }
                    axpy(&mut v[a], w[a] * mu, rk);
                    axpy(&mut v[b], -w[b] * mu, rk);
                }
                if converged {
                    return Ok(());
                }
            }
        }
        let (e, k) = self.worst_rate(x, v);
        Err(self.failure(k, e, max_it, true, "did not converge"))
    }
}
