//! Neighbour-search kernels (k-nearest neighbours, radius queries) for the
//! cpu backend.
//!
//! All kernels search a bucket kd-tree ([`tree`], leaves of 32 points stored
//! transposed). Queries go in blocks of 32 consecutive tree positions (one
//! leaf): the block walks the tree once, testing each node's box against all
//! 32 queries at once (one SIMD lane per query, [`block`]); a leaf is then
//! scanned only for the queries whose own bound admits it, 32 points per
//! SIMD pass (AVX-512 or AVX2+FMA when the CPU has them, [`multiversion!`](crate::backend::cpu::multiversion::multiversion)). Arithmetic is f32
//! (f64 when squared distances could overflow f32) with rounding margins
//! ([`scalar::Margin`]) that make every decision exact with respect to the
//! f64 distances of the kernel contract; near-ties are settled in f64.
//! Blocks run in parallel; each query's result depends only on the input,
//! so results are identical for any thread count.

mod block;
mod knn;
mod radius;
mod scalar;
mod tree;
mod union_find;

use rayon::prelude::*;

use super::CpuBackend;
use crate::error::Result;
use crate::outliers::kernels::{split_point, CoreQuery, NeighborKernels, NO_ROOT};
use crate::outliers::Knn;
use radius::{CoreTree, Radius};
use scalar::{Margin, Scalar};
use tree::KdTree;
use union_find::UnionFind;

/// Whether f32 squared distances between these points stay finite with
/// room to spare (`dim · (2·max|x|)² <= 2^120`).
fn fits_f32(points: &[f32], dim: usize) -> bool {
    let max = points.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    let bound = 4.0 * f64::from(max) * f64::from(max) * dim as f64;
    bound <= 2f64.powi(120)
}

/// Run `$body` with `T` = f32 when the data allow it, f64 otherwise.
macro_rules! with_scalar {
    ($points:expr, $dim:expr, |$t:ident| $body:expr) => {
        if fits_f32($points, $dim) {
            type $t = f32;
            $body
        } else {
            type $t = f64;
            $body
        }
    };
}

/// Part `part` of `parts` of the exact kNN (see
/// [`NeighborKernels::knn_part`]): the query blocks (tree leaves, in tree
/// order) are split into `parts` contiguous groups of near-equal point
/// counts — a block goes to the part its first tree position falls in when
/// positions `0..n` are cut into equal ranges, so counts differ from
/// `n / parts` by less than one block — and only this part's blocks are
/// searched. Every part builds the same tree (it depends only on the
/// input). Returns the covered point indices ascending, rows in that order.
fn knn_part_in<T: Scalar>(
    points: &[f32],
    dim: usize,
    k: usize,
    part: usize,
    parts: usize,
) -> (Vec<u32>, Knn) {
    let n = points.len() / dim;
    let tree = KdTree::<T>::build(points, dim, (0..n as u32).collect());
    let job = knn::Job {
        tree: &tree,
        points,
        k,
        margin: Margin::new::<T>(dim),
    };
    let (lo, hi) = (split_point(n, part, parts), split_point(n, part + 1, parts));
    let blocks: Vec<(usize, usize)> = block::leaf_blocks(&tree)
        .into_iter()
        .filter(|&(first, _)| (lo..hi).contains(&first))
        .collect();
    let rows: Vec<(usize, Vec<f64>, Vec<u32>)> = blocks
        .par_iter()
        .map_init(
            || knn::Scratch::<T>::new(dim),
            |s, &(first, len)| {
                let (mut d, mut i) = (vec![0.0; len * k], vec![0; len * k]);
                knn::knn_block(&job, first, len, &mut d, &mut i, s);
                (first, d, i)
            },
        )
        .collect();
    // Tree order → ascending point index: output row of each covered point.
    let mut out_row = vec![u32::MAX; n];
    for &(first, len) in &blocks {
        for &p in &tree.perm[first..first + len] {
            out_row[p as usize] = 0;
        }
    }
    let mut covered = Vec::new();
    for (p, r) in out_row.iter_mut().enumerate() {
        if *r == 0 {
            *r = covered.len() as u32;
            covered.push(p as u32);
        }
    }
    let m = covered.len();
    let (mut dist, mut idx) = (vec![0.0f64; m * k], vec![0u32; m * k]);
    for (first, d, i) in rows {
        for r in 0..d.len() / k {
            let o = out_row[tree.perm[first + r] as usize] as usize * k;
            dist[o..o + k].copy_from_slice(&d[r * k..(r + 1) * k]);
            idx[o..o + k].copy_from_slice(&i[r * k..(r + 1) * k]);
        }
    }
    (covered, Knn { k, dist, idx })
}

fn counts_in<T: Scalar>(points: &[f32], dim: usize, eps: f64, cap: u32) -> Vec<u32> {
    let n = points.len() / dim;
    let tree = KdTree::<T>::build(points, dim, (0..n as u32).collect());
    let rq = Radius::new(&tree, points, eps);
    let found: Vec<(usize, Vec<u32>)> = block::leaf_blocks(&tree)
        .par_iter()
        .map_init(
            || radius::Scratch::<T>::new(dim),
            |s, &(first, len)| {
                let mut out = vec![0; len];
                radius::count_block(&rq, cap, first, len, &mut out, s);
                (first, out)
            },
        )
        .collect();
    let mut counts = vec![0u32; n];
    for (first, out) in found {
        for (r, c) in out.into_iter().enumerate() {
            counts[tree.perm[first + r] as usize] = c;
        }
    }
    counts
}

/// Indices where `flags` is true.
fn indices_where(flags: impl Iterator<Item = bool>) -> Vec<u32> {
    flags
        .enumerate()
        .filter(|&(_, c)| c)
        .map(|(i, _)| i as u32)
        .collect()
}

/// Part `q.part` of `q.parts` of the core–core components (see
/// [`NeighborKernels::core_components_part`]): the query blocks (leaves of
/// the tree over the core points) are split into contiguous groups as in
/// [`knn_part_in`], and each block's lane unions with the later core points
/// within eps. Unions of seed sets come first; a lane then skips every node
/// whose core points all lie in its own seed set (those unions are already
/// made). The partition a part returns is fixed by the edges it covers —
/// union order and thread timing only change which unions were redundant —
/// and the union-find makes each root its set's smallest index.
fn components_in<T: Scalar>(points: &[f32], dim: usize, q: &CoreQuery<'_>) -> Vec<u32> {
    let n = points.len() / dim;
    let is_core = q.is_core;
    let tree = KdTree::<T>::build(points, dim, indices_where(is_core.iter().copied()));
    let ct = CoreTree::new(Radius::new(&tree, points, q.eps), q.seed);
    let uf = UnionFind::new(n);
    for (i, &r) in q.seed.iter().enumerate() {
        if r != NO_ROOT {
            uf.union(i as u32, r);
        }
    }
    if tree.len() > 0 && q.part == 0 {
        ct.union_tight(&uf);
    }
    let (lo, hi) = (
        split_point(tree.len(), q.part, q.parts),
        split_point(tree.len(), q.part + 1, q.parts),
    );
    let blocks: Vec<(usize, usize)> = block::leaf_blocks(&tree)
        .into_iter()
        .filter(|&(first, _)| (lo..hi).contains(&first))
        .collect();
    blocks.par_iter().for_each_init(
        || radius::Scratch::<T>::new(dim),
        |s, &(first, len)| radius::components_block(&ct, &uf, first, len, s),
    );
    (0..n)
        .map(|i| {
            if is_core[i] {
                uf.find(i as u32)
            } else {
                NO_ROOT
            }
        })
        .collect()
}

fn border_in<T: Scalar>(
    points: &[f32],
    dim: usize,
    eps: f64,
    core_root: &[u32],
    queries: &[u32],
) -> Vec<u32> {
    let mut roots = vec![NO_ROOT; queries.len()];
    let tree = KdTree::<T>::build(
        points,
        dim,
        indices_where(core_root.iter().map(|&r| r != NO_ROOT)),
    );
    if tree.len() == 0 || queries.is_empty() {
        return roots;
    }
    let rq = Radius::new(&tree, points, eps);
    let node_min = radius::node_minima(&tree, core_root);
    // Query blocks in the spatial order of a tree over the query points.
    let qtree = KdTree::<T>::build(points, dim, queries.to_vec());
    let found: Vec<(usize, Vec<u32>)> = block::leaf_blocks(&qtree)
        .par_iter()
        .map_init(
            || radius::Scratch::<T>::new(dim),
            |s, &(first, len)| {
                let mut out = vec![NO_ROOT; len];
                let block = &qtree.perm[first..first + len];
                radius::border_block(&rq, core_root, &node_min, block, &mut out, s);
                (first, out)
            },
        )
        .collect();
    let mut by_point = vec![NO_ROOT; points.len() / dim];
    for (first, out) in found {
        for (r, root) in out.into_iter().enumerate() {
            by_point[qtree.perm[first + r] as usize] = root;
        }
    }
    for (root, &i) in roots.iter_mut().zip(queries) {
        *root = by_point[i as usize];
    }
    roots
}

impl NeighborKernels for CpuBackend {
    fn knn(&self, points: &[f32], dim: usize, k: usize) -> Result<Knn> {
        // The whole set is part 0 of 1 (covering 0..n in order).
        self.knn_part(points, dim, k, 0, 1).map(|(_, nn)| nn)
    }

    fn knn_part(
        &self,
        points: &[f32],
        dim: usize,
        k: usize,
        part: usize,
        parts: usize,
    ) -> Result<(Vec<u32>, Knn)> {
        Ok(with_scalar!(points, dim, |T| knn_part_in::<T>(
            points, dim, k, part, parts
        )))
    }

    fn radius_counts(&self, points: &[f32], dim: usize, eps: f64, cap: usize) -> Result<Vec<u32>> {
        let cap = cap.min(u32::MAX as usize) as u32;
        Ok(with_scalar!(points, dim, |T| counts_in::<T>(
            points, dim, eps, cap
        )))
    }

    fn core_components(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        is_core: &[bool],
    ) -> Result<Vec<u32>> {
        let q = CoreQuery {
            eps,
            is_core,
            seed: &[],
            part: 0,
            parts: 1,
        };
        self.core_components_part(points, dim, &q)
    }

    fn core_components_part(
        &self,
        points: &[f32],
        dim: usize,
        q: &CoreQuery<'_>,
    ) -> Result<Vec<u32>> {
        Ok(with_scalar!(points, dim, |T| components_in::<T>(
            points, dim, q
        )))
    }

    fn border_roots(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        core_root: &[u32],
        queries: &[u32],
    ) -> Result<Vec<u32>> {
        Ok(with_scalar!(points, dim, |T| border_in::<T>(
            points, dim, eps, core_root, queries
        )))
    }
}
