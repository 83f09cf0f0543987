//! A bucket kd-tree whose leaves store their points transposed (one
//! contiguous, NaN-padded run per component) for SIMD-friendly scans.

use super::scalar::Scalar;

/// Points per leaf at most (a node this small is not split).
const LEAF_SIZE: usize = 32;
/// Leaf runs are padded to a multiple of this many values.
pub(super) const LANES: usize = 8;
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
    /// Leaves: offset of the transposed points in [`KdTree::leaf_data`].
    pub data: u32,
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
    /// Padded length of the leaf's per-component runs.
    #[inline(always)]
    pub fn width(&self) -> usize {
        self.len().div_ceil(LANES) * LANES
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
    /// Leaves' points, per leaf `[dim][width]`, padded with NaN.
    pub leaf_data: Vec<T>,
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
            leaf_data: Vec::new(),
        };
        if !tree.perm.is_empty() {
            let mut perm = std::mem::take(&mut tree.perm);
            tree.build_node(points, &mut perm, 0);
            tree.perm = perm;
            tree.fill_leaves(points);
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
            data: 0,
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

    fn fill_leaves(&mut self, points: &[f32]) {
        let dim = self.dim;
        for node in self.nodes.iter_mut().filter(|n| n.is_leaf()) {
            node.data = self.leaf_data.len() as u32;
            let (start, len, width) = (node.start as usize, node.len(), node.width());
            for d in 0..dim {
                for p in 0..width {
                    self.leaf_data.push(if p < len {
                        T::from_f32(points[self.perm[start + p] as usize * dim + d])
                    } else {
                        T::NAN
                    });
                }
            }
        }
    }

    #[inline(always)]
    pub fn lo(&self, node: usize) -> &[T] {
        &self.bounds[2 * node * self.dim..][..self.dim]
    }
    #[inline(always)]
    pub fn hi(&self, node: usize) -> &[T] {
        &self.bounds[(2 * node + 1) * self.dim..][..self.dim]
    }

    /// Lower bound of the squared distance from `q` to node `node`'s box.
    #[inline(always)]
    pub fn box_lower<const FMA: bool>(&self, node: usize, q: &[T]) -> T {
        let (lo, hi) = (self.lo(node), self.hi(node));
        let mut s = T::ZERO;
        for d in 0..self.dim {
            let gap = (lo[d] - q[d]).max(q[d] - hi[d]).max(T::ZERO);
            s = gap.mul_add::<FMA>(gap, s);
        }
        s
    }

    /// Upper bound of the squared distance from `q` to node `node`'s box.
    #[inline(always)]
    pub fn box_upper<const FMA: bool>(&self, node: usize, q: &[T]) -> T {
        let (lo, hi) = (self.lo(node), self.hi(node));
        let mut s = T::ZERO;
        for d in 0..self.dim {
            let far = (q[d] - lo[d]).max(hi[d] - q[d]);
            s = far.mul_add::<FMA>(far, s);
        }
        s
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

    /// Squared distances from `q` to the points of leaf `node` into
    /// `out[..width]` (NaN for padding).
    #[inline(always)]
    pub fn leaf_distances<const FMA: bool>(&self, node: &Node, q: &[T], out: &mut [T]) {
        let width = node.width();
        let data = &self.leaf_data[node.data as usize..][..self.dim * width];
        let out = &mut out[..width];
        for (c, acc_out) in out.chunks_exact_mut(LANES).enumerate() {
            let mut acc = [T::ZERO; LANES];
            for (d, &qd) in q.iter().enumerate() {
                let run: &[T; LANES] = data[d * width + c * LANES..][..LANES]
                    .try_into()
                    .expect("LANES values");
                for l in 0..LANES {
                    let t = run[l] - qd;
                    acc[l] = t.mul_add::<FMA>(t, acc[l]);
                }
            }
            acc_out.copy_from_slice(&acc);
        }
    }
}
