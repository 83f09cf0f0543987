//! The neighbour-search kernel contract every backend implements.
//!
//! Every kernel takes `points`, row-major `[n][dim]` f32, already validated by
//! the public API in [`crate::outliers`] (non-empty, finite, `n < u32::MAX`).
//!
//! **Distance semantics** (shared by all backends, fixed by [`sq_dist_f64`]):
//! Euclidean, evaluated in f64 from the f32 inputs as `Σ_j (a_j − b_j)²`
//! summed in component order — the same arithmetic as scikit-learn's KD-tree
//! on a float64 copy of the data. Reported distances are `sqrt` of that sum;
//! radius tests compare the sum with `eps * eps` (inclusive, `<=`).
//! Backends may search in lower precision but must return exactly what these
//! f64 formulas give.
//!
//! **Tie policy**: neighbours are ordered by (distance, index), so among
//! equidistant points (e.g. duplicates) the lower index comes first.

use crate::error::Result;
use crate::outliers::Knn;

/// Marks "no core point" / "not a core point" in [`NeighborKernels::core_components`]
/// and [`NeighborKernels::border_roots`].
pub const NO_ROOT: u32 = u32::MAX;

/// k-nearest-neighbour and radius-neighbour kernels.
pub trait NeighborKernels {
    /// Exact `k` nearest neighbours of every point among the other points
    /// (a point is never its own neighbour; its duplicates are), sorted by
    /// (distance, index). Requires `1 <= k < n`.
    fn knn(&self, points: &[f32], dim: usize, k: usize) -> Result<Knn>;

    /// Part `part` of `parts` of [`NeighborKernels::knn`]: the query points
    /// this part covers, ascending, and their neighbour rows (in that order),
    /// each row exactly as `knn` would return it (same distances, same tie
    /// policy; neighbours are searched among *all* points). Over
    /// `part = 0..parts` the covered sets partition `0..n`, so the parts
    /// together are exactly `knn`; a part may be empty (e.g. `parts > n`).
    /// Requires `1 <= k < n` and `part < parts`.
    ///
    /// The default computes the full `knn` and keeps the contiguous index
    /// range `n·part/parts .. n·(part+1)/parts` (correct, not faster); a
    /// backend should override it to search only its share.
    fn knn_part(
        &self,
        points: &[f32],
        dim: usize,
        k: usize,
        part: usize,
        parts: usize,
    ) -> Result<(Vec<u32>, Knn)> {
        let n = points.len() / dim;
        let full = self.knn(points, dim, k)?;
        let (lo, hi) = (split_point(n, part, parts), split_point(n, part + 1, parts));
        let rows = Knn {
            k,
            dist: full.dist[lo * k..hi * k].to_vec(),
            idx: full.idx[lo * k..hi * k].to_vec(),
        };
        Ok(((lo as u32..hi as u32).collect(), rows))
    }

    /// For every point, the number of points `j` (itself included) with
    /// `dist(i, j) <= eps`, saturated at `cap` (a backend may stop counting
    /// there). `eps` is positive and finite, `cap >= 1`.
    fn radius_counts(&self, points: &[f32], dim: usize, eps: f64, cap: usize) -> Result<Vec<u32>>;

    /// Connected components of the graph whose vertices are the points with
    /// `is_core[i]` and whose edges join core points within `eps`.
    ///
    /// Returns, for every core point, the smallest point index of its
    /// component (its *root*), and [`NO_ROOT`] for non-core points.
    fn core_components(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        is_core: &[bool],
    ) -> Result<Vec<u32>>;

    /// Part `part` of `parts` of [`NeighborKernels::core_components`],
    /// optionally seeded (see [`CoreQuery`]): a forest over the core points
    /// whose union over `part = 0..parts` (merged as "`i` and `roots[i]` are
    /// connected") gives exactly the components of `core_components`. Each
    /// returned root is the smallest index of the part's own set (core
    /// points), [`NO_ROOT`] for non-core points.
    ///
    /// The default returns `core_components` for part 0 and every core point
    /// as its own root for the others (correct, not faster); a backend should
    /// override it to search only its share of the core–core edges.
    fn core_components_part(
        &self,
        points: &[f32],
        dim: usize,
        q: &CoreQuery<'_>,
    ) -> Result<Vec<u32>> {
        if q.part == 0 {
            return self.core_components(points, dim, q.eps, q.is_core);
        }
        Ok((0..q.is_core.len() as u32)
            .map(|i| if q.is_core[i as usize] { i } else { NO_ROOT })
            .collect())
    }

    /// Given `core_root` from [`NeighborKernels::core_components`], returns
    /// for each (non-core) point `queries[q]` the smallest root among the
    /// core points within `eps` of it ([`NO_ROOT`] if there is none).
    fn border_roots(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        core_root: &[u32],
        queries: &[u32],
    ) -> Result<Vec<u32>>;
}

/// One share of a (seeded) core–core components search, see
/// [`NeighborKernels::core_components_part`].
#[derive(Clone, Copy, Debug)]
pub struct CoreQuery<'a> {
    /// Radius (positive, finite).
    pub eps: f64,
    /// Core flag per point.
    pub is_core: &'a [bool],
    /// Empty, or per point a seed set label ([`NO_ROOT`] for none): points
    /// with the same label must already be connected at `eps` (e.g. the
    /// components of a smaller radius), and only core points may have one.
    /// A backend may skip edges inside a seed set; the result does not
    /// depend on the seed.
    pub seed: &'a [u32],
    /// This share, in `0..parts`.
    pub part: usize,
    /// Number of shares (≥ 1).
    pub parts: usize,
}

/// `⌊n · part / parts⌋` without overflow: where part `part` of `n` items
/// split into `parts` near-equal contiguous ranges begins.
#[inline]
pub fn split_point(n: usize, part: usize, parts: usize) -> usize {
    (n as u128 * part as u128 / parts as u128) as usize
}

/// The squared distance every backend must reproduce: `Σ_j (a_j − b_j)²` in
/// f64, summed in component order.
#[inline]
pub fn sq_dist_f64(a: &[f32], b: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for (&x, &y) in a.iter().zip(b) {
        let t = f64::from(x) - f64::from(y);
        s += t * t;
    }
    s
}
