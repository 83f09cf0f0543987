//! Exact k-nearest neighbours of every point within a set.

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::outliers::validate;

/// The `k` nearest neighbours of each of `n` points, row-major `[n][k]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knn {
    /// Neighbours per point.
    pub k: usize,
    /// Euclidean distances, ascending per row (f64, see [`super::kernels`]).
    pub dist: Vec<f64>,
    /// Neighbour indices; ties in distance are ordered by index.
    pub idx: Vec<u32>,
}

impl Knn {
    /// Number of query points.
    pub fn n(&self) -> usize {
        self.idx.len().checked_div(self.k).unwrap_or(0)
    }

    /// Distances of point `i`'s neighbours.
    pub fn dist_row(&self, i: usize) -> &[f64] {
        &self.dist[i * self.k..(i + 1) * self.k]
    }

    /// Indices of point `i`'s neighbours.
    pub fn idx_row(&self, i: usize) -> &[u32] {
        &self.idx[i * self.k..(i + 1) * self.k]
    }
}

/// Exact `k` nearest neighbours of every point of `points` (row-major
/// `[n][dim]`) among the others, as scikit-learn's
/// `NearestNeighbors().fit(X).kneighbors(n_neighbors=k)` (query = training
/// set, self excluded). Requires `1 <= k < n`.
pub fn knn(device: &Device, points: &[f32], dim: usize, k: usize) -> Result<Knn> {
    validate_knn("knn", points, dim, k)?;
    device.backend()?.knn(points, dim, k)
}

/// One share of [`knn`], for splitting the queries between `parts`
/// processes (e.g. MPI ranks, `part` = rank): returns the query point
/// indices this part covers, ascending, and their neighbour rows in that
/// order. Neighbours are searched among all `n` points and every row equals
/// the corresponding row of [`knn`] exactly, so the parts over
/// `part = 0..parts` partition `0..n` and together give [`knn`]. Which
/// points a part covers is backend-defined (the cpu backend splits its
/// kd-tree's leaves into near-equal groups, so a part's queries are
/// spatially close); a part may be empty when `parts` is large.
///
/// Requires `1 <= k < n` and `part < parts`.
pub fn knn_part(
    device: &Device,
    points: &[f32],
    dim: usize,
    k: usize,
    part: usize,
    parts: usize,
) -> Result<(Vec<u32>, Knn)> {
    validate_knn("knn_part", points, dim, k)?;
    if part >= parts {
        return Err(Error::InvalidArgument(format!(
            "knn_part: part = {part} must be in 0..{parts} (parts)"
        )));
    }
    device.backend()?.knn_part(points, dim, k, part, parts)
}

fn validate_knn(what: &str, points: &[f32], dim: usize, k: usize) -> Result<()> {
    let n = validate::points(what, points, dim)?;
    if k == 0 || k >= n {
        return Err(Error::InvalidArgument(format!(
            "{what}: k = {k} must be in 1..{n} (number of points minus one)"
        )));
    }
    Ok(())
}
