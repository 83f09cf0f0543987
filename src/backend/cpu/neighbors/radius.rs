//! Radius kernels on a [`KdTree`], one query block at a time: capped
//! neighbour counts, core–core components and border assignment for DBSCAN.
//!
//! Distances are computed in `T`; a value at or below `inside` is certainly
//! within `eps` in exact f64 arithmetic, one above `outside` certainly not,
//! and the rare values in between are decided with [`sq_dist_f64`].

use super::block::{lanes, le1, push_children, Block, Mask, B};
use super::scalar::{Margin, Scalar};
use super::tree::{KdTree, Node, LEAF_SIZE};
use super::union_find::UnionFind;
use crate::backend::cpu::multiversion::multiversion;
use crate::outliers::kernels::{sq_dist_f64, NO_ROOT};

/// A radius query against one tree.
pub(super) struct Radius<'a, T> {
    pub tree: &'a KdTree<T>,
    pub points: &'a [f32],
    /// `eps * eps` in f64.
    pub r2: f64,
    pub inside: T,
    pub outside: T,
}

impl<'a, T: Scalar> Radius<'a, T> {
    pub fn new(tree: &'a KdTree<T>, points: &'a [f32], eps: f64) -> Self {
        let r2 = eps * eps;
        let margin = Margin::new::<T>(tree.dim);
        Radius {
            tree,
            points,
            r2,
            inside: margin.below(r2),
            outside: margin.above(r2),
        }
    }

    fn row(&self, i: usize) -> &'a [f32] {
        &self.points[i * self.tree.dim..][..self.tree.dim]
    }

    /// Whether the point at tree position `pos`, at computed squared
    /// distance `v` from the query row `q`, is within eps (exactly).
    #[inline(always)]
    fn within(&self, v: T, q: &[f32], pos: usize) -> bool {
        if v <= self.inside {
            true
        } else if v <= self.outside {
            let j = self.tree.perm[pos] as usize;
            sq_dist_f64(q, self.row(j)) <= self.r2
        } else {
            false
        }
    }
}

/// Per-thread state.
pub(super) struct Scratch<T> {
    block: Block<T>,
    stack: Vec<(u32, Mask)>,
    /// One lane's query, row-major.
    qrow: Vec<T>,
    d2: [T; LEAF_SIZE],
    /// The radius thresholds, per lane.
    inside: [T; B],
    outside: [T; B],
}

impl<T: Scalar> Scratch<T> {
    pub fn new(dim: usize) -> Self {
        Scratch {
            block: Block::new(dim),
            stack: Vec::new(),
            qrow: Vec::new(),
            d2: [T::ZERO; LEAF_SIZE],
            inside: [T::ZERO; B],
            outside: [T::ZERO; B],
        }
    }
}

/// What a walk found for some lanes of a block.
enum Visit {
    /// Every point of the node is within eps of these lanes.
    All(usize, Mask),
    /// The point at tree position `pos` is within eps of this lane.
    Point { lane: usize, pos: usize },
}

/// Walk the tree for the lanes `start` of `s.block`, nearer child first.
/// `lanes_for(id, node)` restricts the lanes that need node `id`; `f`
/// receives fully-inside nodes and per-point hits.
#[inline(always)]
fn walk<T: Scalar, const FMA: bool, const WIDE: bool>(
    rq: &Radius<'_, T>,
    s: &mut Scratch<T>,
    start: Mask,
    mut lanes_for: impl FnMut(usize, &Node) -> Mask,
    mut f: impl FnMut(Visit),
) {
    let tree = rq.tree;
    if tree.nodes.is_empty() {
        return;
    }
    s.stack.clear();
    s.stack.push((0, start));
    let mut ub = [T::ZERO; B];
    s.inside = [rq.inside; B];
    s.outside = [rq.outside; B];
    while let Some((id, m)) = s.stack.pop() {
        let id = id as usize;
        let node = &tree.nodes[id];
        let mut m = m & lanes_for(id, node);
        if m == 0 {
            continue;
        }
        m &= T::box_lower32::<FMA, WIDE>(&s.block.q, tree.lo(id), tree.hi(id), &s.outside);
        if m == 0 {
            continue;
        }
        if T::box_lower32::<FMA, WIDE>(&s.block.q, tree.lo(id), tree.hi(id), &s.inside) & m != 0 {
            s.block.box_upper::<FMA>(tree.lo(id), tree.hi(id), &mut ub);
            let all = le1::<T, FMA>(&ub, rq.inside) & m;
            if all != 0 {
                f(Visit::All(id, all));
                m &= !all;
                if m == 0 {
                    continue;
                }
            }
        }
        if !node.is_leaf() {
            push_children(node, &s.block.center, &mut s.stack, |c| (c, m));
            continue;
        }
        // Scan the leaf once per lane that needs it (points in SIMD lanes).
        let start = node.start as usize;
        let data = tree.leaf_runs(node);
        for lane in lanes(m) {
            s.qrow.clear();
            s.qrow
                .extend((0..tree.dim).map(|d| s.block.q[d * B + lane]));
            let q = rq.row(s.block.idx[lane] as usize);
            for (r, run) in data.chunks_exact(tree.dim * LEAF_SIZE).enumerate() {
                let run_start = start + r * LEAF_SIZE;
                let mut hits = T::run32::<FMA, WIDE>(run, &s.qrow, rq.outside, &mut s.d2);
                while hits != 0 {
                    let l = hits.trailing_zeros() as usize;
                    hits &= hits - 1;
                    let pos = run_start + l;
                    if rq.within(s.d2[l], q, pos) {
                        f(Visit::Point { lane, pos });
                    }
                }
            }
        }
    }
}

multiversion! {
    /// Neighbour counts (self included, capped at `cap`) of the `len`
    /// points at tree positions `first..`, into `out` in position order.
    pub(super) fn count_block<T: Scalar>(
        rq: &Radius<'_, T>,
        cap: u32,
        first: usize,
        len: usize,
        out: &mut [u32],
        s: &mut Scratch<T>,
    ) => count_block_body::<T; FMA, WIDE>
}

#[inline(always)]
fn count_block_body<T: Scalar, const FMA: bool, const WIDE: bool>(
    rq: &Radius<'_, T>,
    cap: u32,
    first: usize,
    len: usize,
    out: &mut [u32],
    s: &mut Scratch<T>,
) {
    s.block.load(rq.points, &rq.tree.perm[first..first + len]);
    let mut count = [0u32; B];
    let done = std::cell::Cell::new(0 as Mask);
    let nodes = &rq.tree.nodes;
    let start = s.block.used();
    walk::<T, FMA, WIDE>(
        rq,
        s,
        start,
        |_, _| !done.get(),
        |visit| {
            let touched = match visit {
                Visit::All(id, m) => {
                    for lane in lanes(m) {
                        count[lane] += nodes[id].len() as u32;
                    }
                    m
                }
                Visit::Point { lane, .. } => {
                    count[lane] += 1;
                    1 << lane
                }
            };
            for lane in lanes(touched) {
                if count[lane] >= cap {
                    done.set(done.get() | 1 << lane);
                }
            }
        },
    );
    for (o, &c) in out.iter_mut().zip(&count) {
        *o = c.min(cap);
    }
}

/// Per-node facts for the core–core pass.
pub(super) struct CoreTree<'a, T> {
    pub rq: Radius<'a, T>,
    /// Whether all points of the node are pairwise within eps (and hence,
    /// all being core points, already in one component).
    pub tight: Vec<bool>,
    /// Seed set label per point (empty: no seed).
    pub seed: &'a [u32],
    /// Per node: the seed label shared by all its points, or [`NO_ROOT`]
    /// (mixed or unseeded points; empty without a seed).
    pub uniform: Vec<u32>,
}

impl<'a, T: Scalar> CoreTree<'a, T> {
    pub fn new(rq: Radius<'a, T>, seed: &'a [u32]) -> Self {
        let tight = (0..rq.tree.nodes.len())
            .map(|id| rq.tree.box_diameter(id) <= rq.inside)
            .collect();
        let uniform = if seed.is_empty() {
            Vec::new()
        } else {
            node_uniform(rq.tree, seed)
        };
        CoreTree {
            rq,
            tight,
            seed,
            uniform,
        }
    }

    /// Union the points of every maximal tight node (they are all mutually
    /// within eps).
    pub fn union_tight(&self, uf: &UnionFind) {
        let tree = self.rq.tree;
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let node = &tree.nodes[id];
            if self.tight[id] {
                let first = tree.perm[node.start as usize];
                for &j in &tree.perm[node.start as usize + 1..node.end as usize] {
                    uf.union(first, j);
                }
            } else if !node.is_leaf() {
                stack.push(node.left as usize);
                stack.push(node.right as usize);
            }
        }
    }

    /// Union `i` with every point of node `id` (all within eps of it).
    fn union_all(&self, i: u32, id: usize, uf: &UnionFind) {
        let tree = self.rq.tree;
        let node = &tree.nodes[id];
        if self.tight[id] {
            uf.union(i, tree.perm[node.start as usize]);
        } else if node.is_leaf() {
            for &j in &tree.perm[node.start as usize..node.end as usize] {
                uf.union(i, j);
            }
        } else {
            self.union_all(i, node.left as usize, uf);
            self.union_all(i, node.right as usize, uf);
        }
    }
}

multiversion! {
    /// Union each of the `len` core points at tree positions `first..` with
    /// the core points at later positions within eps.
    pub(super) fn components_block<T: Scalar>(
        ct: &CoreTree<'_, T>,
        uf: &UnionFind,
        first: usize,
        len: usize,
        s: &mut Scratch<T>,
    ) => components_block_body::<T; FMA, WIDE>
}

#[inline(always)]
fn components_block_body<T: Scalar, const FMA: bool, const WIDE: bool>(
    ct: &CoreTree<'_, T>,
    uf: &UnionFind,
    first: usize,
    len: usize,
    s: &mut Scratch<T>,
) {
    let rq = &ct.rq;
    let perm = &rq.tree.perm;
    s.block.load(rq.points, &perm[first..first + len]);
    let idx = s.block.idx;
    // Lane l (position first + l) needs node only if it holds a later position.
    let later = |_: usize, node: &Node| -> Mask {
        let n = (node.end as usize).saturating_sub(first + 1).min(B);
        if n >= 32 {
            u32::MAX
        } else {
            (1u32 << n) - 1
        }
    };
    // Lanes whose seed set holds every point of the node need nothing there.
    let lane_seed: [u32; B] = std::array::from_fn(|l| {
        if ct.seed.is_empty() || l >= len {
            NO_ROOT
        } else {
            ct.seed[idx[l] as usize]
        }
    });
    let needs = |id: usize, node: &Node| -> Mask {
        let mut m = later(id, node);
        if let Some(&u) = ct.uniform.get(id) {
            if u != NO_ROOT {
                for (l, &r) in lane_seed.iter().enumerate() {
                    m &= !(((r == u) as u32) << l);
                }
            }
        }
        m
    };
    let start = s.block.used();
    walk::<T, FMA, WIDE>(rq, s, start, needs, |visit| match visit {
        Visit::All(id, m) => {
            for lane in lanes(m) {
                ct.union_all(idx[lane], id, uf);
            }
        }
        Visit::Point { lane, pos } => {
            if first + lane < pos {
                uf.union(idx[lane], perm[pos]);
            }
        }
    });
}

multiversion! {
    /// For each query point `queries[l]`, the smallest `root` of the tree's
    /// points within eps (or [`NO_ROOT`]), into `out[l]`. `node_min[id]` is
    /// the smallest root in node `id`.
    pub(super) fn border_block<T: Scalar>(
        rq: &Radius<'_, T>,
        root: &[u32],
        node_min: &[u32],
        queries: &[u32],
        out: &mut [u32],
        s: &mut Scratch<T>,
    ) => border_block_body::<T; FMA, WIDE>
}

#[inline(always)]
fn border_block_body<T: Scalar, const FMA: bool, const WIDE: bool>(
    rq: &Radius<'_, T>,
    root: &[u32],
    node_min: &[u32],
    queries: &[u32],
    out: &mut [u32],
    s: &mut Scratch<T>,
) {
    s.block.load(rq.points, queries);
    let best = std::cell::Cell::new([NO_ROOT; B]);
    let perm = &rq.tree.perm;
    // Lanes that node `id` could still improve.
    let improves = |id: usize, _: &Node| -> Mask {
        let b = best.get();
        let mut m = 0;
        for (l, &r) in b.iter().enumerate() {
            m |= ((node_min[id] < r) as u32) << l;
        }
        m
    };
    let start = s.block.used();
    walk::<T, FMA, WIDE>(rq, s, start, improves, |visit| {
        let mut b = best.get();
        match visit {
            Visit::All(id, m) => {
                for lane in lanes(m) {
                    b[lane] = b[lane].min(node_min[id]);
                }
            }
            Visit::Point { lane, pos } => {
                b[lane] = b[lane].min(root[perm[pos] as usize]);
            }
        }
        best.set(b);
    });
    let b = best.get();
    out.copy_from_slice(&b[..out.len()]);
}

/// Smallest `root[perm[pos]]` per node (bottom-up over the pre-order array).
pub(super) fn node_minima<T>(tree: &KdTree<T>, root: &[u32]) -> Vec<u32> {
    let mut min = vec![NO_ROOT; tree.nodes.len()];
    for id in (0..tree.nodes.len()).rev() {
        let node = &tree.nodes[id];
        min[id] = if node.is_leaf() {
            tree.perm[node.start as usize..node.end as usize]
                .iter()
                .map(|&j| root[j as usize])
                .min()
                .unwrap_or(NO_ROOT)
        } else {
            min[node.left as usize].min(min[node.right as usize])
        };
    }
    min
}

/// Per node, the seed label shared by all its points, or [`NO_ROOT`]
/// (bottom-up over the pre-order array, as [`node_minima`]).
fn node_uniform<T>(tree: &KdTree<T>, seed: &[u32]) -> Vec<u32> {
    let mut same = vec![NO_ROOT; tree.nodes.len()];
    for id in (0..tree.nodes.len()).rev() {
        let node = &tree.nodes[id];
        same[id] = if node.is_leaf() {
            let mut pts = tree.perm[node.start as usize..node.end as usize].iter();
            let first = pts.next().map_or(NO_ROOT, |&j| seed[j as usize]);
            if pts.all(|&j| seed[j as usize] == first) {
                first
            } else {
                NO_ROOT
            }
        } else if same[node.left as usize] == same[node.right as usize] {
            same[node.left as usize]
        } else {
            NO_ROOT
        };
    }
    same
}
