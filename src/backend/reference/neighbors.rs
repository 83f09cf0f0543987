//! Neighbour-search kernels (k-nearest neighbours, radius queries) for the
//! reference backend: O(n²) loops over f64 distances, single-threaded.

use super::ReferenceBackend;
use crate::error::Result;
use crate::outliers::kernels::{sq_dist_f64, NeighborKernels, NO_ROOT};
use crate::outliers::Knn;

fn row(points: &[f32], dim: usize, i: usize) -> &[f32] {
    &points[i * dim..(i + 1) * dim]
}

/// Indices `j` (including `i`) with `dist(i, j) <= eps`.
fn within(points: &[f32], dim: usize, i: usize, eps: f64) -> impl Iterator<Item = usize> + '_ {
    let n = points.len() / dim;
    let r2 = eps * eps;
    let p = row(points, dim, i);
    (0..n).filter(move |&j| sq_dist_f64(p, row(points, dim, j)) <= r2)
}

impl NeighborKernels for ReferenceBackend {
    fn knn(&self, points: &[f32], dim: usize, k: usize) -> Result<Knn> {
        let n = points.len() / dim;
        let mut dist = Vec::with_capacity(n * k);
        let mut idx = Vec::with_capacity(n * k);
        let mut all: Vec<(f64, usize)> = Vec::with_capacity(n);
        for i in 0..n {
            all.clear();
            let p = row(points, dim, i);
            all.extend(
                (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (sq_dist_f64(p, row(points, dim, j)), j)),
            );
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for &(d2, j) in &all[..k] {
                dist.push(d2.sqrt());
                idx.push(j as u32);
            }
        }
        Ok(Knn { k, dist, idx })
    }

    fn radius_counts(&self, points: &[f32], dim: usize, eps: f64, cap: usize) -> Result<Vec<u32>> {
        let n = points.len() / dim;
        Ok((0..n)
            .map(|i| within(points, dim, i, eps).count().min(cap) as u32)
            .collect())
    }

    fn core_components(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        is_core: &[bool],
    ) -> Result<Vec<u32>> {
        // Flood fill from each unvisited core point in index order: the seed
        // is the smallest index of its component.
        let n = points.len() / dim;
        let mut root = vec![NO_ROOT; n];
        let mut stack = Vec::new();
        for seed in 0..n {
            if !is_core[seed] || root[seed] != NO_ROOT {
                continue;
            }
            root[seed] = seed as u32;
            stack.push(seed);
            while let Some(i) = stack.pop() {
                for j in within(points, dim, i, eps) {
                    if is_core[j] && root[j] == NO_ROOT {
                        root[j] = seed as u32;
                        stack.push(j);
                    }
                }
            }
        }
        Ok(root)
    }

    fn border_roots(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        core_root: &[u32],
        queries: &[u32],
    ) -> Result<Vec<u32>> {
        Ok(queries
            .iter()
            .map(|&i| {
                within(points, dim, i as usize, eps)
                    .map(|j| core_root[j])
                    .min()
                    .unwrap_or(NO_ROOT)
            })
            .collect())
    }
}
