//! DBSCAN with scikit-learn's labels.

use crate::backend::Device;
use crate::error::Result;
use crate::outliers::kernels::NO_ROOT;
use crate::outliers::validate;

/// A DBSCAN clustering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dbscan {
    /// Cluster id per point (`0..n_clusters`), −1 for noise.
    pub labels: Vec<i64>,
    /// Number of clusters.
    pub n_clusters: usize,
}

impl Dbscan {
    /// Indices of the noise points (label −1), ascending.
    pub fn noise(&self) -> Vec<usize> {
        (0..self.labels.len())
            .filter(|&i| self.labels[i] < 0)
            .collect()
    }
}

/// DBSCAN of `points` (row-major `[n][dim]`), with labels identical to
/// `sklearn.cluster.DBSCAN(eps, min_samples).fit(X).labels_`.
///
/// The neighbourhood of a point holds every point within `eps` (inclusive,
/// the point itself included); a point is *core* when its neighbourhood has at
/// least `min_samples` points. Clusters are the connected components of core
/// points (joined when within `eps`), numbered in sklearn's discovery order:
/// by their lowest-index core point. A non-core point within `eps` of core
/// points joins the first-discovered (lowest-numbered) of their clusters;
/// otherwise it is noise (−1).
///
/// No neighbourhood is materialised: core flags come from capped counts,
/// clusters from a union-find over core–core edges, then border points are
/// assigned. Requires `eps > 0` finite and `min_samples >= 1`.
pub fn dbscan(
    device: &Device,
    points: &[f32],
    dim: usize,
    eps: f64,
    min_samples: usize,
) -> Result<Dbscan> {
    let n = validate::points("dbscan", points, dim)?;
    validate::dbscan_params("dbscan", eps, min_samples)?;
    run(device, points, dim, n, eps, min_samples)
}

/// DBSCAN on already-validated input.
pub(crate) fn run(
    device: &Device,
    points: &[f32],
    dim: usize,
    n: usize,
    eps: f64,
    min_samples: usize,
) -> Result<Dbscan> {
    let backend = device.backend()?;
    let cap = min_samples.min(n);
    let counts = backend.radius_counts(points, dim, eps, cap)?;
    let is_core: Vec<bool> = counts.iter().map(|&c| c as usize >= min_samples).collect();
    let core_root = backend.core_components(points, dim, eps, &is_core)?;
    // Border candidates: non-core points with another point within eps.
    let queries: Vec<u32> = (0..n as u32)
        .filter(|&i| !is_core[i as usize] && counts[i as usize] >= 2)
        .collect();
    let mut roots = core_root.clone();
    if n > 0 && core_root.iter().any(|&r| r != NO_ROOT) {
        let found = backend.border_roots(points, dim, eps, &core_root, &queries)?;
        for (&i, r) in queries.iter().zip(found) {
            roots[i as usize] = r;
        }
    }
    Ok(labels_from_roots(&core_root, &roots))
}

/// Labels from the core components (`core_root`, [`NO_ROOT`] for non-core
/// points) and every point's root (core points: theirs; border points: the
/// smallest root among core points within eps; noise: [`NO_ROOT`]).
pub(crate) fn labels_from_roots(core_root: &[u32], roots: &[u32]) -> Dbscan {
    // A root is the smallest index of its component, so scanning indices in
    // order meets the components in sklearn's discovery order.
    let n = core_root.len();
    let mut cluster_of = vec![-1i64; n];
    let mut n_clusters = 0usize;
    for i in 0..n {
        if core_root[i] == i as u32 {
            cluster_of[i] = n_clusters as i64;
            n_clusters += 1;
        }
    }
    let labels = roots
        .iter()
        .map(|&r| {
            if r == NO_ROOT {
                -1
            } else {
                cluster_of[r as usize]
            }
        })
        .collect();
    Dbscan { labels, n_clusters }
}
