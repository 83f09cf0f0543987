//! A bucket kd-tree. Splits fall on multiples of [`LEAF_SIZE`] positions, so
//! nearly every leaf holds exactly `LEAF_SIZE` points (only identical
//! points make larger leaves). Leaves keep their points transposed in
//! NaN-padded runs of `LEAF_SIZE` (one SIMD lane per point), and boxes are
//! padded to whole vectors, for SIMD-friendly scans.

use super::scalar::Scalar;

/// Points per leaf at most (a node this small is not split).
pub(super) const LEAF_SIZE: usize = super::block::B;
/// Vector width that padded box bounds are a multiple of.
const BOX_LANES: usize = 8;
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
    /// Internal nodes: left-child points have component `split_dim` at most
    /// `split`, right-child points at least `split`.
    pub split_dim: u32,
    pub split: f32,
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
    /// `dim` rounded up to a multiple of 8.
    pub dim_padded: usize,
    /// Bounding box per node: `dim_padded` lower then `dim_padded` upper
    /// bounds (padding 0).
    pub bounds: Vec<T>,
    /// Per leaf, `len.div_ceil(LEAF_SIZE)` runs of `[dim][LEAF_SIZE]`.
    pub leaf_data: Vec<T>,
    /// Tree position → original point index.
    pub perm: Vec<u32>,
    /// The points in tree order, row-major `[len][dim]`.
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
            dim_padded: dim.div_ceil(BOX_LANES) * BOX_LANES,
            perm: subset,
            rows: Vec::new(),
            leaf_data: Vec::new(),
        };
        if !tree.perm.is_empty() {
            let mut perm = std::mem::take(&mut tree.perm);
            tree.build_node(points, &mut perm, &mut Vec::new(), 0);
            tree.perm = perm;
            tree.rows = (tree.perm.iter())
                .flat_map(|&p| &points[p as usize * dim..][..dim])
                .map(|&x| T::from_f32(x))
                .collect();
            tree.fill_leaves();
        }
        tree
    }

    /// Number of points in the tree.
    pub fn len(&self) -> usize {
        self.perm.len()
    }

    fn build_node(
        &mut self,
        points: &[f32],
        perm: &mut [u32],
        keys: &mut Vec<u64>,
        start: usize,
    ) -> u32 {
        let dim = self.dim;
        let id = self.nodes.len() as u32;
        let (mut lo, mut hi) = (vec![f32::INFINITY; dim], vec![f32::NEG_INFINITY; dim]);
        for &p in perm.iter() {
            let row = &points[p as usize * dim..][..dim];
            for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                if x < *l {
                    *l = x;
                }
                if x > *h {
                    *h = x;
                }
            }
        }
        let pad = self.dim_padded - dim;
        for side in [&lo, &hi] {
            self.bounds.extend(side.iter().map(|&x| T::from_f32(x)));
            self.bounds.extend(std::iter::repeat_n(T::ZERO, pad));
        }
        self.nodes.push(Node {
            start: start as u32,
            end: (start + perm.len()) as u32,
            left: NO_CHILD,
            right: NO_CHILD,
            data: 0,
            split_dim: 0,
            split: 0.0,
        });
        let (split, extent) = (0..dim)
            .map(|d| (d, hi[d] - lo[d]))
            .fold((0, 0.0f32), |best, c| if c.1 > best.1 { c } else { best });
        if perm.len() <= LEAF_SIZE || extent <= 0.0 {
            return id; // small, or all points identical
        }
        // Split near the median, on a multiple of LEAF_SIZE; ties in the
        // coordinate are ordered by index (keys: coordinate's total-order
        // bits, then index).
        let mid = (perm.len() / 2).div_ceil(LEAF_SIZE) * LEAF_SIZE;
        keys.clear();
        keys.extend(perm.iter().map(|&p| {
            let bits = points[p as usize * dim + split].to_bits();
            let ordered = if bits >> 31 == 1 {
                !bits
            } else {
                bits | 1 << 31
            };
            u64::from(ordered) << 32 | u64::from(p)
        }));
        keys.select_nth_unstable(mid);
        for (p, &key) in perm.iter_mut().zip(keys.iter()) {
            *p = key as u32;
        }
        let split_value = points[perm[mid] as usize * dim + split];
        let (left, right) = perm.split_at_mut(mid);
        let l = self.build_node(points, left, keys, start);
        let r = self.build_node(points, right, keys, start + mid);
        let node = &mut self.nodes[id as usize];
        node.left = l;
        node.right = r;
        node.split_dim = split as u32;
        node.split = split_value;
        id
    }

    /// Point at tree position `pos`.
    #[inline(always)]
    pub fn row(&self, pos: usize) -> &[T] {
        &self.rows[pos * self.dim..][..self.dim]
    }

    /// Lower corner of node `node`'s box, padded to `dim_padded`.
    #[inline(always)]
    pub fn lo_padded(&self, node: usize) -> &[T] {
        &self.bounds[2 * node * self.dim_padded..][..self.dim_padded]
    }
    /// Upper corner of node `node`'s box, padded to `dim_padded`.
    #[inline(always)]
    pub fn hi_padded(&self, node: usize) -> &[T] {
        &self.bounds[(2 * node + 1) * self.dim_padded..][..self.dim_padded]
    }
    #[inline(always)]
    pub fn lo(&self, node: usize) -> &[T] {
        &self.lo_padded(node)[..self.dim]
    }
    #[inline(always)]
    pub fn hi(&self, node: usize) -> &[T] {
        &self.hi_padded(node)[..self.dim]
    }

    /// Transpose every leaf's points into NaN-padded runs.
    fn fill_leaves(&mut self) {
        let dim = self.dim;
        for node in self.nodes.iter_mut().filter(|n| n.is_leaf()) {
            node.data = self.leaf_data.len() as u32;
            let (start, end) = (node.start as usize, node.end as usize);
            for run in (start..end).step_by(LEAF_SIZE) {
                for d in 0..dim {
                    for p in run..run + LEAF_SIZE {
                        self.leaf_data.push(if p < end {
                            self.rows[p * dim + d]
                        } else {
                            T::NAN
                        });
                    }
                }
            }
        }
    }

    /// All runs of leaf `node`, each `[dim][LEAF_SIZE]`.
    #[inline(always)]
    pub fn leaf_runs(&self, node: &Node) -> &[T] {
        let size = self.dim * LEAF_SIZE * node.len().div_ceil(LEAF_SIZE);
        &self.leaf_data[node.data as usize..][..size]
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
