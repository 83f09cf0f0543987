//! Exact k-nearest-neighbour search: a pruned tree walk per query block in
//! `T` that keeps every candidate which could belong to the exact answer,
//! then an f64 re-ranking of those candidates.

use super::block::{le, lanes, push_children, scan_leaf, Block, Lanes, B, W};
use super::dispatch::multiversion;
use super::scalar::{Margin, Scalar};
use super::tree::KdTree;
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
    /// The k nearest neighbours (self excluded) of the `len` points at tree
    /// positions `first..`, rows of `dist` / `idx` in position order.
    pub(super) fn knn_block<T>(
        job: &Job<'_, T>,
        first: usize,
        len: usize,
        dist: &mut [f64],
        idx: &mut [u32],
        s: &mut Scratch<T>,
    ) => knn_block_body
}

#[inline(always)]
fn knn_block_body<T: Scalar, const FMA: bool>(
    job: &Job<'_, T>,
    first: usize,
    len: usize,
    dist: &mut [f64],
    idx: &mut [u32],
    s: &mut Scratch<T>,
) {
    let (k, dim, tree) = (job.k, job.tree.dim, job.tree);
    s.block.load(job.points, &tree.perm[first..first + len]);
    search::<T, FMA>(job, s);
    for lane in 0..len {
        // Exact re-ranking of the survivors (the query itself excluded).
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
        for ((d, i), &(d2, j)) in dist[out.clone()].iter_mut().zip(&mut idx[out]).zip(&s.exact) {
            *d = d2.sqrt();
            *i = j;
        }
    }
}

/// Collect, per lane, every point whose computed squared distance is within
/// the acceptance bound derived from the running (k+1)-th smallest (the
/// query itself counts, at distance 0): a superset of the exact answer.
#[inline(always)]
fn search<T: Scalar, const FMA: bool>(job: &Job<'_, T>, s: &mut Scratch<T>) {
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
    let mut lb = [T::ZERO; B];
    while let Some(id) = s.stack.pop() {
        let id = id as usize;
        s.block.box_lower::<FMA>(tree.lo(id), tree.hi(id), &mut lb);
        let active = le::<T, FMA>(&lb, &s.prune) & used;
        if active == 0 {
            continue;
        }
        let node = &tree.nodes[id];
        if !node.is_leaf() {
            push_children(tree, node, &s.block.center, &mut s.stack, |c| c);
            continue;
        }
        let block = &s.block;
        let (cands, accept, prune) = (&mut s.cands, &mut s.accept, &mut s.prune);
        scan_leaf::<T, FMA>(tree, block, node, active, |c, pos, d2| {
            let acc: [T; W] = accept[c * W..][..W].try_into().expect("W");
            let hits = T::le8::<FMA>(d2, &acc);
            for l in lanes(hits) {
                let lane = c * W + l;
                offer(job, &mut cands[lane], &mut accept[lane], &mut prune[lane], d2[l], pos, want);
            }
        });
    }
}

/// Offer the point at tree position `pos`, at computed squared distance
/// `v`, to one lane's candidates, tightening its thresholds.
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
