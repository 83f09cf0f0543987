//! Exact k-nearest-neighbour search: a pruned tree walk per query block in
//! `T` (each query with its own running bound) that keeps every candidate
//! which could belong to the exact answer, then an f64 re-ranking of those
//! candidates by (distance, index).
//!
//! Why this is exact: every computed squared distance `s` satisfies
//! `|s − s_exact| <= γ s_exact + abs` (see [`Margin`]). Let `t` be the
//! (k+1)-th smallest computed value over all points (the query itself is
//! one of them, at 0). Every point of the exact (k+1)-nearest set then has
//! `s <= ρ t + abs'`, so keeping all points under `ρ² t_run + abs` — with
//! `t_run >= t` the running (k+1)-th smallest — and pruning boxes whose
//! computed lower bound exceeds `ρ²` times that loses none of them.

use super::block::{lanes, push_children, Block, Lanes, B};
use super::scalar::{Margin, Scalar};
use super::tree::{KdTree, LEAF_SIZE};
use crate::backend::cpu::multiversion::multiversion;
use crate::outliers::kernels::sq_dist_f64;

/// Per-thread state of the search.
pub(super) struct Scratch<T> {
    block: Block<T>,
    stack: Vec<u32>,
    /// Per lane: candidates `(squared distance in T, tree position)`, ascending.
    cands: Vec<Vec<(T, u32)>>,
    /// Per lane: keep a candidate iff its distance is `<= accept`.
    accept: Lanes<T>,
    /// Per lane: a box whose lower bound exceeds `prune` holds no candidate.
    prune: Lanes<T>,
    exact: Vec<(f64, u32)>,
}

impl<T: Scalar> Scratch<T> {
    pub fn new(dim: usize) -> Self {
        Scratch {
            block: Block::new(dim),
            stack: Vec::new(),
            cands: vec![Vec::new(); B],
            accept: [T::INF; B],
            prune: [T::INF; B],
            exact: Vec::new(),
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
    /// The k nearest neighbours (self excluded) of the `len <= B` points at
    /// tree positions `first..`, rows of `dist` / `idx` in position order.
    pub(super) fn knn_block<T: Scalar>(
        job: &Job<'_, T>,
        first: usize,
        len: usize,
        dist: &mut [f64],
        idx: &mut [u32],
        s: &mut Scratch<T>,
    ) => knn_block_body::<T; FMA, WIDE>
}

#[inline(always)]
fn knn_block_body<T: Scalar, const FMA: bool, const WIDE: bool>(
    job: &Job<'_, T>,
    first: usize,
    len: usize,
    dist: &mut [f64],
    idx: &mut [u32],
    s: &mut Scratch<T>,
) {
    let (k, dim, tree) = (job.k, job.tree.dim, job.tree);
    s.block.load(job.points, &tree.perm[first..first + len]);
    search::<T, FMA, WIDE>(job, first, s);
    for lane in 0..len {
        // Exact re-ranking of the survivors, the query itself excluded.
        let qi = s.block.idx[lane];
        let qrow = &job.points[qi as usize * dim..][..dim];
        s.exact.clear();
        for &(_, pos) in &s.cands[lane] {
            let j = tree.perm[pos as usize];
            if j != qi {
                let row = &job.points[j as usize * dim..][..dim];
                s.exact.push((sq_dist_f64(qrow, row), j));
            }
        }
        s.exact
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let out = lane * k..(lane + 1) * k;
        for ((d, i), &(d2, j)) in dist[out.clone()]
            .iter_mut()
            .zip(&mut idx[out])
            .zip(&s.exact)
        {
            *d = d2.sqrt();
            *i = j;
        }
    }
}

/// Walk the tree once for the whole block: a node is entered if some lane's
/// lower bound to its box is within that lane's prune threshold, and a leaf
/// is scanned (one query at a time, points in SIMD lanes) for exactly those
/// lanes. Collects per lane every point whose computed squared distance is
/// within the acceptance bound derived from the running (k+1)-th smallest.
#[inline(always)]
fn search<T: Scalar, const FMA: bool, const WIDE: bool>(
    job: &Job<'_, T>,
    first: usize,
    s: &mut Scratch<T>,
) {
    let tree = job.tree;
    let want = job.k + 1;
    let used = s.block.used();
    for c in &mut s.cands {
        c.clear();
    }
    s.accept = [T::INF; B];
    s.prune = [T::INF; B];
    s.stack.clear();
    s.stack.push(0);
    let mut d2 = [T::ZERO; LEAF_SIZE];
    while let Some(id) = s.stack.pop() {
        let id = id as usize;
        let active =
            T::box_lower32::<FMA, WIDE>(&s.block.q, tree.lo(id), tree.hi(id), &s.prune) & used;
        if active == 0 {
            continue;
        }
        let node = &tree.nodes[id];
        if !node.is_leaf() {
            push_children(node, &s.block.center, &mut s.stack, |c| c);
            continue;
        }
        let start = node.start as usize;
        let data = tree.leaf_runs(node);
        for lane in lanes(active) {
            let q = tree.row(first + lane);
            let (cands, accept, prune) =
                (&mut s.cands[lane], &mut s.accept[lane], &mut s.prune[lane]);
            for (r, run) in data.chunks_exact(tree.dim * LEAF_SIZE).enumerate() {
                let run_start = start + r * LEAF_SIZE;
                let mut hits = T::run32::<FMA, WIDE>(run, q, *accept, &mut d2);
                while hits != 0 {
                    let l = hits.trailing_zeros() as usize;
                    hits &= hits - 1;
                    // Earlier offers in this run may have tightened `accept`.
                    if d2[l] <= *accept {
                        offer(job, cands, accept, prune, d2[l], run_start + l, want);
                    }
                }
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
