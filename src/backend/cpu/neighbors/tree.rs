//! A bucket kd-tree; leaves hold at most [`LEAF_SIZE`] points, which makes a
//! leaf one query block of [`super::block`].

use super::scalar::Scalar;

/// Points per leaf at most (a node this small is not split).
pub(super) const LEAF_SIZE: usize = super::block::B;
/// NaN rows after the last point, so that distance tiles may overrun.
const TAIL: usize = super::block::P;
/// Marks a leaf in [`Node::left`].
const NO_CHILD: u32 = u32::MAX;

/// One tree node: the points at tree positions `start..end`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    pub start: u32,
    pub end: u32,
    /// Children (`NO_CHILD` for leaves).
    pub left: u32,
    pub right: u32,
}

impl Node {
    #[inline(always)]
    pub fn is_leaf(&self) -> bool {
        self.left == NO_CHILD
    }
    #[inline(always)]
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

/// A kd-tree over a subset of a row-major point set.
pub(super) struct KdTree<T> {
    pub dim: usize,
    pub nodes: Vec<Node>,
    /// Bounding box per node: `dim` lower then `dim` upper bounds.
    pub bounds: Vec<T>,
    /// Tree position → original point index.
    pub perm: Vec<u32>,
    /// The points in tree order, row-major `[len][dim]`, then NaN rows.
    pub rows: Vec<T>,
}

impl<T: Scalar> KdTree<T> {
    /// Build over the points `subset` of `points` (`[n][dim]`). Splits at the
    /// median of the widest box side; the shape depends only on the input.
    pub fn build(points: &[f32], dim: usize, subset: Vec<u32>) -> Self {
        let mut tree = KdTree {
            dim,
            nodes: Vec::new(),
            bounds: Vec::new(),
            perm: subset,
            rows: Vec::new(),
        };
        if !tree.perm.is_empty() {
            let mut perm = std::mem::take(&mut tree.perm);
            tree.build_node(points, &mut perm, 0);
            tree.perm = perm;
            tree.rows = (tree.perm.iter())
                .flat_map(|&p| &points[p as usize * dim..][..dim])
                .map(|&x| T::from_f32(x))
                .chain(std::iter::repeat_n(T::NAN, TAIL * dim))
                .collect();
        }
        tree
    }

    /// Number of points in the tree.
    pub fn len(&self) -> usize {
        self.perm.len()
    }

    fn build_node(&mut self, points: &[f32], perm: &mut [u32], start: usize) -> u32 {
        let dim = self.dim;
        let id = self.nodes.len() as u32;
        let (mut lo, mut hi) = (vec![f32::INFINITY; dim], vec![f32::NEG_INFINITY; dim]);
        for &p in perm.iter() {
            let row = &points[p as usize * dim..][..dim];
            for d in 0..dim {
                lo[d] = lo[d].min(row[d]);
                hi[d] = hi[d].max(row[d]);
            }
        }
        self.bounds
            .extend(lo.iter().chain(&hi).map(|&x| T::from_f32(x)));
        self.nodes.push(Node {
            start: start as u32,
            end: (start + perm.len()) as u32,
            left: NO_CHILD,
            right: NO_CHILD,
        });
        let (split, extent) = (0..dim)
            .map(|d| (d, hi[d] - lo[d]))
            .fold((0, 0.0f32), |best, c| if c.1 > best.1 { c } else { best });
        if perm.len() <= LEAF_SIZE || extent <= 0.0 {
            return id; // small, or all points identical
        }
        let mid = perm.len() / 2;
        perm.select_nth_unstable_by(mid, |&a, &b| {
            let (xa, xb) = (
                points[a as usize * dim + split],
                points[b as usize * dim + split],
            );
            xa.total_cmp(&xb).then(a.cmp(&b))
        });
        let (left, right) = perm.split_at_mut(mid);
        let l = self.build_node(points, left, start);
        let r = self.build_node(points, right, start + mid);
        self.nodes[id as usize].left = l;
        self.nodes[id as usize].right = r;
        id
    }

    /// Point at tree position `pos`.
    #[inline(always)]
    pub fn row(&self, pos: usize) -> &[T] {
        &self.rows[pos * self.dim..][..self.dim]
    }

    #[inline(always)]
    pub fn lo(&self, node: usize) -> &[T] {
        &self.bounds[2 * node * self.dim..][..self.dim]
    }
    #[inline(always)]
    pub fn hi(&self, node: usize) -> &[T] {
        &self.bounds[(2 * node + 1) * self.dim..][..self.dim]
    }

    /// Squared length of node `node`'s box diagonal (bounds every pairwise
    /// squared distance inside it).
    pub fn box_diameter(&self, node: usize) -> T {
        let (lo, hi) = (self.lo(node), self.hi(node));
        let mut s = T::ZERO;
        for d in 0..self.dim {
            let e = hi[d] - lo[d];
            s = e * e + s;
        }
        s
    }
}
