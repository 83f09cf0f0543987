//! Radius kernels on a [`KdTree`]: capped neighbour counts, core–core
//! components and border assignment for DBSCAN.
//!
//! Distances are computed in `T`; a value at or below `inside` is certainly
//! within `eps` in exact f64 arithmetic, one above `outside` certainly not,
//! and the rare values in between are decided with [`sq_dist_f64`].

use std::cell::Cell;

use super::dispatch::multiversion;
use super::scalar::{Margin, Scalar};
use super::tree::{KdTree, Node};
use super::union_find::UnionFind;
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

    /// Whether the computed squared distance `v` from query row `q` to the
    /// point at tree position `pos` means "within eps".
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

/// Per-thread buffers.
pub(super) struct Scratch<T> {
    stack: Vec<u32>,
    d2: Vec<T>,
    q: Vec<T>,
}

impl<T: Scalar> Scratch<T> {
    pub fn new() -> Self {
        Scratch {
            stack: Vec::new(),
            d2: Vec::new(),
            q: Vec::new(),
        }
    }
}

/// What a visit found in a node.
enum Visit<'n> {
    /// Every point of the node is within eps.
    All,
    /// Leaf whose computed distances are in the scratch `d2`.
    Leaf(&'n Node),
}

/// Depth-first walk over the nodes that may hold points within eps of
/// `s.q`, nearer child first, calling `f` on fully-inside nodes and leaves.
/// `f` returns false to stop. `skip(node)` prunes nodes by other criteria.
#[inline(always)]
fn walk<T: Scalar, const FMA: bool>(
    rq: &Radius<'_, T>,
    s: &mut Scratch<T>,
    mut skip: impl FnMut(usize, &Node) -> bool,
    mut f: impl FnMut(usize, Visit<'_>, &[T]) -> bool,
) {
    let tree = rq.tree;
    if tree.nodes.is_empty() {
        return;
    }
    s.stack.clear();
    s.stack.push(0);
    while let Some(id) = s.stack.pop() {
        let id = id as usize;
        let node = &tree.nodes[id];
        if skip(id, node) {
            continue;
        }
        let lower = tree.box_lower::<FMA>(id, &s.q);
        if lower > rq.outside {
            continue;
        }
        if lower <= rq.inside && tree.box_upper::<FMA>(id, &s.q) <= rq.inside {
            if !f(id, Visit::All, &s.d2) {
                return;
            }
        } else if node.is_leaf() {
            s.d2.resize(node.width(), T::ZERO);
            tree.leaf_distances::<FMA>(node, &s.q, &mut s.d2);
            if !f(id, Visit::Leaf(node), &s.d2) {
                return;
            }
        } else {
            let (l, r) = (node.left, node.right);
            // Visit the child on the query's side of the split first.
            let (near, far) = if tree.box_lower::<FMA>(l as usize, &s.q)
                <= tree.box_lower::<FMA>(r as usize, &s.q)
            {
                (l, r)
            } else {
                (r, l)
            };
            s.stack.push(far);
            s.stack.push(near);
        }
    }
}

#[inline(always)]
fn load_query<T: Scalar>(s: &mut Scratch<T>, q: &[f32]) {
    s.q.clear();
    s.q.extend(q.iter().map(|&x| T::from_f32(x)));
}

multiversion! {
    /// Neighbour counts (self included, capped at `cap`) of the points at
    /// tree positions `first..first + out.len()`.
    pub(super) fn count_chunk<T>(
        rq: &Radius<'_, T>,
        cap: u32,
        first: usize,
        out: &mut [u32],
        s: &mut Scratch<T>,
    ) => count_chunk_body
}

#[inline(always)]
fn count_chunk_body<T: Scalar, const FMA: bool>(
    rq: &Radius<'_, T>,
    cap: u32,
    first: usize,
    out: &mut [u32],
    s: &mut Scratch<T>,
) {
    for (r, out) in out.iter_mut().enumerate() {
        let q = rq.row(rq.tree.perm[first + r] as usize);
        load_query(s, q);
        let mut count = 0u32;
        walk::<T, FMA>(
            rq,
            s,
            |_, _| false,
            |id, visit, d2| {
                match visit {
                    Visit::All => count += rq.tree.nodes[id].len() as u32,
                    Visit::Leaf(node) => {
                        for (p, &v) in d2[..node.len()].iter().enumerate() {
                            count += rq.within(v, q, node.start as usize + p) as u32;
                        }
                    }
                }
                count < cap
            },
        );
        *out = count.min(cap);
    }
}

/// Per-node facts for the core–core pass.
pub(super) struct CoreTree<'a, T> {
    pub rq: Radius<'a, T>,
    /// Whether all points of the node are pairwise within eps (and hence,
    /// all being core points, already in one component).
    pub tight: Vec<bool>,
}

impl<'a, T: Scalar> CoreTree<'a, T> {
    pub fn new(rq: Radius<'a, T>) -> Self {
        let tight = (0..rq.tree.nodes.len())
            .map(|id| rq.tree.box_diameter(id) <= rq.inside)
            .collect();
        CoreTree { rq, tight }
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
    /// Union every core point at tree positions `range` with the core
    /// points at later positions within eps.
    pub(super) fn components_chunk<T>(
        ct: &CoreTree<'_, T>,
        uf: &UnionFind,
        range: std::ops::Range<usize>,
        s: &mut Scratch<T>,
    ) => components_chunk_body
}

#[inline(always)]
fn components_chunk_body<T: Scalar, const FMA: bool>(
    ct: &CoreTree<'_, T>,
    uf: &UnionFind,
    range: std::ops::Range<usize>,
    s: &mut Scratch<T>,
) {
    let rq = &ct.rq;
    for qpos in range {
        let i = rq.tree.perm[qpos];
        let q = rq.row(i as usize);
        load_query(s, q);
        let later = |_: usize, node: &Node| node.end as usize <= qpos + 1;
        walk::<T, FMA>(rq, s, later, |id, visit, d2| {
            match visit {
                Visit::All => ct.union_all(i, id, uf),
                Visit::Leaf(node) => {
                    let start = node.start as usize;
                    let from = (qpos + 1).max(start) - start;
                    for (p, &v) in d2[..node.len()].iter().enumerate().skip(from) {
                        if rq.within(v, q, start + p) {
                            uf.union(i, rq.tree.perm[start + p]);
                        }
                    }
                }
            }
            true
        });
    }
}

multiversion! {
    /// For each point index in `queries`, the smallest `root` of the tree's
    /// points within eps (or [`NO_ROOT`]), into `out`. `node_min[id]` is the
    /// smallest root in node `id`.
    pub(super) fn border_chunk<T>(
        rq: &Radius<'_, T>,
        root: &[u32],
        node_min: &[u32],
        queries: &[u32],
        out: &mut [u32],
        s: &mut Scratch<T>,
    ) => border_chunk_body
}

#[inline(always)]
fn border_chunk_body<T: Scalar, const FMA: bool>(
    rq: &Radius<'_, T>,
    root: &[u32],
    node_min: &[u32],
    queries: &[u32],
    out: &mut [u32],
    s: &mut Scratch<T>,
) {
    for (&i, out) in queries.iter().zip(out.iter_mut()) {
        let q = rq.row(i as usize);
        load_query(s, q);
        let best = Cell::new(NO_ROOT);
        // Nodes that cannot improve on `best` are skipped.
        walk::<T, FMA>(
            rq,
            s,
            |id, _| node_min[id] >= best.get(),
            |id, visit, d2| {
                match visit {
                    Visit::All => best.set(best.get().min(node_min[id])),
                    Visit::Leaf(node) => {
                        let start = node.start as usize;
                        for (p, &v) in d2[..node.len()].iter().enumerate() {
                            let j = rq.tree.perm[start + p] as usize;
                            if root[j] < best.get() && rq.within(v, q, start + p) {
                                best.set(root[j]);
                            }
                        }
                    }
                }
                true
            },
        );
        *out = best.get();
    }
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
