//! Exact k-nearest-neighbour search: a pruned per-query tree walk in `T`
//! that keeps every candidate which could belong to the exact answer, then
//! an f64 re-ranking of those candidates.
//!
//! Why this is exact: every computed squared distance `s` satisfies
//! `|s − s_exact| <= γ s_exact + abs` (see [`Margin`]). Let `t` be the
//! (k+1)-th smallest computed value over all points (the query itself is
//! one of them, at 0). Every point of the exact (k+1)-nearest set then has
//! `s <= ρ t + abs'`, so keeping all points under `ρ² t_run + abs` — with
//! `t_run >= t` the running (k+1)-th smallest — and pruning boxes whose
//! computed lower bound exceeds `ρ²` times that loses none of them.

use super::dispatch::multiversion;
use super::scalar::{Margin, Scalar};
use super::tree::{KdTree, Node, LEAF_SIZE};
use crate::outliers::kernels::sq_dist_f64;

/// Per-thread state of the search.
pub(super) struct Scratch<T> {
    stack: Vec<(u32, T)>,
    /// Candidates `(squared distance in T, tree position)`, ascending.
    cands: Vec<(T, u32)>,
    exact: Vec<(f64, u32)>,
    /// The query, padded with zeros to the tree's padded dimension.
    q: Vec<T>,
}

impl<T: Scalar> Scratch<T> {
    pub fn new() -> Self {
        Scratch {
            stack: Vec::new(),
            cands: Vec::new(),
            exact: Vec::new(),
            q: Vec::new(),
        }
    }
}

/// Everything the search needs.
pub(super) struct Job<'a, T> {
    pub tree: &'a KdTree<T>,
    pub points: &'a [f32],
    pub k: usize,
    pub margin: Margin,
}

multiversion! {
    /// The k nearest neighbours (self excluded) of the points at tree
    /// positions `first..first + dist.len() / k`, rows in position order.
    pub(super) fn knn_rows<T>(
        job: &Job<'_, T>,
        first: usize,
        dist: &mut [f64],
        idx: &mut [u32],
        s: &mut Scratch<T>,
    ) => knn_rows_body
}

#[inline(always)]
fn knn_rows_body<T: Scalar, const FMA: bool>(
    job: &Job<'_, T>,
    first: usize,
    dist: &mut [f64],
    idx: &mut [u32],
    s: &mut Scratch<T>,
) {
    let (k, dim, tree) = (job.k, job.tree.dim, job.tree);
    for (r, (drow, irow)) in dist
        .chunks_exact_mut(k)
        .zip(idx.chunks_exact_mut(k))
        .enumerate()
    {
        let qi = tree.perm[first + r];
        let qrow = &job.points[qi as usize * dim..][..dim];
        s.q.clear();
        s.q.extend(qrow.iter().map(|&x| T::from_f32(x)));
        s.q.resize(tree.dim_padded, T::ZERO);
        search::<T, FMA>(job, s);
        // Exact re-ranking of the survivors, the query itself excluded.
        s.exact.clear();
        for &(_, pos) in &s.cands {
            let j = tree.perm[pos as usize];
            if j != qi {
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

/// Lower bound of the squared distance from `q` (padded) to node `id`'s box.
#[inline(always)]
fn box_lower<T: Scalar, const FMA: bool>(tree: &KdTree<T>, id: usize, q: &[T]) -> T {
    T::box_lower::<FMA>(tree.lo_padded(id), tree.hi_padded(id), q)
}

/// Collect into `s.cands` every point whose computed squared distance is
/// within the acceptance bound derived from the running (k+1)-th smallest.
#[inline(always)]
fn search<T: Scalar, const FMA: bool>(job: &Job<'_, T>, s: &mut Scratch<T>) {
    let tree = job.tree;
    let want = job.k + 1;
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
            if box_lower::<T, FMA>(tree, id as usize, &s.q) <= prune {
                scan_leaf::<T, FMA>(job, node, s, &mut accept, &mut prune, want);
            }
            continue;
        }
        // The child on the query's side inherits this node's bound; only
        // the other one needs its own.
        let below = s.q[node.split_dim as usize] <= T::from_f32(node.split);
        let (near, far) = if below {
            (node.left, node.right)
        } else {
            (node.right, node.left)
        };
        let bf = box_lower::<T, FMA>(tree, far as usize, &s.q);
        if bf <= prune {
            s.stack.push((far, bf));
        }
        s.stack.push((near, lower));
    }
}

#[inline(always)]
fn scan_leaf<T: Scalar, const FMA: bool>(
    job: &Job<'_, T>,
    node: &Node,
    s: &mut Scratch<T>,
    accept: &mut T,
    prune: &mut T,
    want: usize,
) {
    let tree = job.tree;
    let (start, end) = (node.start as usize, node.end as usize);
    let mut d2 = [T::ZERO; LEAF_SIZE];
    for (r, run_start) in (start..end).step_by(LEAF_SIZE).enumerate() {
        let q = &s.q[..tree.dim];
        let mut hits = T::run32::<FMA>(tree.leaf_run(node, r), q, *accept, &mut d2);
        while hits != 0 {
            let l = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            // Earlier offers in this run may have tightened `accept`.
            if d2[l] <= *accept {
                offer(job, &mut s.cands, accept, prune, d2[l], run_start + l, want);
            }
        }
    }
}

/// Add a candidate, keeping `cands` sorted, and tighten the thresholds.
#[inline(always)]
fn offer<T: Scalar>(
    job: &Job<'_, T>,
    cands: &mut Vec<(T, u32)>,
    accept: &mut T,
    prune: &mut T,
    v: T,
    pos: usize,
    want: usize,
) {
    let m = job.margin;
    let at = cands.partition_point(|x| x.0 <= v);
    cands.insert(at, (v, pos as u32));
    if cands.len() >= want {
        let t = cands[want - 1].0.to_f64();
        *accept = T::from_f64(t * m.rho * m.rho + m.abs);
        *prune = T::from_f64(accept.to_f64() * m.rho * m.rho);
        let keep = cands.partition_point(|c| c.0 <= *accept);
        cands.truncate(keep);
    }
}
