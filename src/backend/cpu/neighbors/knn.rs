//! Exact k-nearest-neighbour search: a pruned tree search in `T` that keeps
//! every candidate which could belong to the exact answer, then an f64
//! re-ranking of those candidates.

use super::dispatch::multiversion;
use super::scalar::{Margin, Scalar};
use super::tree::{KdTree, LANES};
use crate::outliers::kernels::sq_dist_f64;

/// Per-thread buffers of the search.
pub(super) struct Scratch<T> {
    stack: Vec<(u32, T)>,
    /// Candidates `(squared distance in T, tree position)`, ascending.
    cands: Vec<(T, u32)>,
    exact: Vec<(f64, u32)>,
    d2: Vec<T>,
    q: Vec<T>,
}

impl<T: Scalar> Scratch<T> {
    pub fn new() -> Self {
        Scratch {
            stack: Vec::new(),
            cands: Vec::new(),
            exact: Vec::new(),
            d2: Vec::new(),
            q: Vec::new(),
        }
    }
}

/// Everything a chunk of queries needs.
pub(super) struct Job<'a, T> {
    pub tree: &'a KdTree<T>,
    pub points: &'a [f32],
    pub k: usize,
    pub margin: Margin,
}

multiversion! {
    /// The k nearest neighbours (self excluded) of the points at tree
    /// positions `first..first + dist.len() / k`, written in position order.
    pub(super) fn knn_chunk<T>(
        job: &Job<'_, T>,
        first: usize,
        dist: &mut [f64],
        idx: &mut [u32],
        scratch: &mut Scratch<T>,
    ) => knn_chunk_body
}

#[inline(always)]
fn knn_chunk_body<T: Scalar, const FMA: bool>(
    job: &Job<'_, T>,
    first: usize,
    dist: &mut [f64],
    idx: &mut [u32],
    s: &mut Scratch<T>,
) {
    let (k, dim) = (job.k, job.tree.dim);
    for (r, (drow, irow)) in dist
        .chunks_exact_mut(k)
        .zip(idx.chunks_exact_mut(k))
        .enumerate()
    {
        let qi = job.tree.perm[first + r] as usize;
        let qrow = &job.points[qi * dim..][..dim];
        s.q.clear();
        s.q.extend(qrow.iter().map(|&x| T::from_f32(x)));
        search::<T, FMA>(job, s);
        // Exact re-ranking of the survivors.
        s.exact.clear();
        for &(_, pos) in &s.cands {
            let j = job.tree.perm[pos as usize];
            if j as usize != qi {
                let row = &job.points[j as usize * dim..][..dim];
                s.exact.push((sq_dist_f64(qrow, row), j));
            }
        }
        s.exact
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for ((d, i), &(d2, j)) in drow.iter_mut().zip(irow.iter_mut()).zip(&s.exact) {
            *d = d2.sqrt();
            *i = j;
        }
    }
}

/// Collect into `s.cands` every point whose computed squared distance to
/// `s.q` is within the acceptance bound derived from the (k+1)-th smallest
/// (the query itself counts, at distance 0): a superset of the exact k
/// nearest other points.
#[inline(always)]
fn search<T: Scalar, const FMA: bool>(job: &Job<'_, T>, s: &mut Scratch<T>) {
    let tree = job.tree;
    let want = job.k + 1;
    let m = job.margin;
    s.cands.clear();
    s.stack.clear();
    s.stack.push((0, T::ZERO));
    let mut accept = T::INF; // keep a candidate iff its distance <= accept
    let mut prune = T::INF; // skip a box iff its lower bound > prune
    while let Some((id, lower)) = s.stack.pop() {
        if lower > prune {
            continue;
        }
        let node = &tree.nodes[id as usize];
        if node.is_leaf() {
            s.d2.resize(node.width(), T::ZERO);
            tree.leaf_distances::<FMA>(node, &s.q, &mut s.d2);
            for (c, chunk) in s.d2.chunks_exact(LANES).enumerate() {
                if !chunk.iter().fold(false, |any, &v| any | (v <= accept)) {
                    continue;
                }
                for (l, &v) in chunk.iter().enumerate() {
                    if v <= accept {
                        let pos = node.start + (c * LANES + l) as u32;
                        insert(&mut s.cands, (v, pos));
                        if s.cands.len() >= want {
                            let t = s.cands[want - 1].0.to_f64();
                            accept = T::from_f64(t * m.rho * m.rho + m.abs);
                            prune = T::from_f64(accept.to_f64() * m.rho * m.rho);
                            let keep = s.cands.partition_point(|c| c.0 <= accept);
                            s.cands.truncate(keep);
                        }
                    }
                }
            }
        } else {
            let (l, r) = (node.left as usize, node.right as usize);
            let (bl, br) = (
                tree.box_lower::<FMA>(l, &s.q),
                tree.box_lower::<FMA>(r, &s.q),
            );
            // Nearer child on top of the stack.
            let (near, bn, far, bf) = if bl <= br {
                (l, bl, r, br)
            } else {
                (r, br, l, bl)
            };
            if bf <= prune {
                s.stack.push((far as u32, bf));
            }
            if bn <= prune {
                s.stack.push((near as u32, bn));
            }
        }
    }
}

/// Insert keeping `cands` sorted by distance.
#[inline(always)]
fn insert<T: Scalar>(cands: &mut Vec<(T, u32)>, c: (T, u32)) {
    let at = cands.partition_point(|x| x.0 <= c.0);
    cands.insert(at, c);
}
