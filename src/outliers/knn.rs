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
    let n = validate::points("knn", points, dim)?;
    if k == 0 || k >= n {
        return Err(Error::InvalidArgument(format!(
            "knn: k = {k} must be in 1..{n} (number of points minus one)"
        )));
    }
    device.backend()?.knn(points, dim, k)
}
