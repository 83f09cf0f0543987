//! Blocks of up to [`B`] nearby queries, transposed so that one SIMD lane
//! holds one query: a node's box is tested against the whole block in a few
//! vector operations per component, amortising the tree walk over the block.

use super::scalar::Scalar;
use super::tree::{KdTree, Node};

/// Queries per block.
pub(super) const B: usize = 32;
/// Lanes per vector chunk (8 f32 = one AVX2 register).
pub(super) const W: usize = 8;
/// Chunks per block.
pub(super) const C: usize = B / W;

/// A per-lane vector of values.
pub(super) type Lanes<T> = [T; B];

/// Bit mask over the lanes of a block.
pub(super) type Mask = u32;

/// Up to `B` queries, `q[d * B + lane]`; unused lanes hold NaN, so every
/// comparison on them is false.
pub(super) struct Block<T> {
    pub len: usize,
    pub dim: usize,
    pub q: Vec<T>,
    /// Original point index per lane.
    pub idx: [u32; B],
    /// Mean of the queries (orders the tree walk).
    pub center: Vec<T>,
}

impl<T: Scalar> Block<T> {
    pub fn new(dim: usize) -> Self {
        Block {
            len: 0,
            dim,
            q: vec![T::NAN; dim * B],
            idx: [0; B],
            center: vec![T::ZERO; dim],
        }
    }

    /// Load the points `idx` (at most `B`) of `points` (`[n][dim]`).
    pub fn load(&mut self, points: &[f32], idx: &[u32]) {
        debug_assert!(idx.len() <= B);
        let dim = self.dim;
        self.len = idx.len();
        self.q.fill(T::NAN);
        for (lane, &i) in idx.iter().enumerate() {
            self.idx[lane] = i;
            for (d, &x) in points[i as usize * dim..][..dim].iter().enumerate() {
                self.q[d * B + lane] = T::from_f32(x);
            }
        }
        for d in 0..dim {
            let sum: f64 = idx
                .iter()
                .map(|&i| f64::from(points[i as usize * dim + d]))
                .sum();
            self.center[d] = T::from_f64(sum / idx.len() as f64);
        }
    }

    /// Mask of the used lanes.
    #[inline(always)]
    pub fn used(&self) -> Mask {
        if self.len >= 32 {
            u32::MAX
        } else {
            (1u32 << self.len) - 1
        }
    }

    #[inline(always)]
    fn chunk(&self, d: usize, c: usize) -> &[T; W] {
        self.q[d * B + c * W..][..W].try_into().expect("W lanes")
    }

    /// Per-lane upper bound of the squared distance to the box `lo..hi`.
    #[inline(always)]
    pub fn box_upper<const FMA: bool>(&self, lo: &[T], hi: &[T], out: &mut Lanes<T>) {
        let mut acc = [[T::ZERO; W]; C];
        for d in 0..self.dim {
            let (l0, h0) = (lo[d], hi[d]);
            for (c, acc) in acc.iter_mut().enumerate() {
                let q = self.chunk(d, c);
                for l in 0..W {
                    let far = (q[l] - l0).max(h0 - q[l]);
                    acc[l] = far.mul_add::<FMA>(far, acc[l]);
                }
            }
        }
        for c in 0..C {
            out[c * W..][..W].copy_from_slice(&acc[c]);
        }
    }
}

/// Lanes where `v[lane] <= t[lane]` (`SIMD`: compiled with AVX2).
#[inline(always)]
pub(super) fn le<T: Scalar, const SIMD: bool>(v: &Lanes<T>, t: &Lanes<T>) -> Mask {
    let mut m = 0;
    for c in 0..C {
        let (a, b) = (&v[c * W..][..W], &t[c * W..][..W]);
        m |= T::le8::<SIMD>(a.try_into().expect("W"), b.try_into().expect("W")) << (c * W);
    }
    m
}

/// Lanes where `v[lane] <= t`.
#[inline(always)]
pub(super) fn le1<T: Scalar, const SIMD: bool>(v: &Lanes<T>, t: T) -> Mask {
    le::<T, SIMD>(v, &[t; B])
}

/// Iterate over the set lanes of `m`.
#[inline(always)]
pub(super) fn lanes(mut m: Mask) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (m != 0).then(|| {
            let l = m.trailing_zeros() as usize;
            m &= m - 1;
            l
        })
    })
}

/// Scalar lower bound of the squared distance from `q` to node `id`'s box
/// (orders the walk; not used for decisions).
#[inline(always)]
pub(super) fn center_lower<T: Scalar>(tree: &KdTree<T>, id: usize, q: &[T]) -> T {
    let (lo, hi) = (tree.lo(id), tree.hi(id));
    let mut s = T::ZERO;
    for d in 0..tree.dim {
        let gap = (lo[d] - q[d]).max(q[d] - hi[d]).max(T::ZERO);
        s = gap * gap + s;
    }
    s
}

/// Push the children of `node` so that the one nearer to `center` is
/// popped first.
#[inline(always)]
pub(super) fn push_children<T: Scalar, E>(
    tree: &KdTree<T>,
    node: &Node,
    center: &[T],
    stack: &mut Vec<E>,
    entry: impl Fn(u32) -> E,
) {
    let (l, r) = (node.left, node.right);
    if center_lower(tree, l as usize, center) <= center_lower(tree, r as usize, center) {
        stack.push(entry(r));
        stack.push(entry(l));
    } else {
        stack.push(entry(l));
        stack.push(entry(r));
    }
}

/// The query blocks of a tree: its leaves (split into pieces of at most
/// `B` points), as `(first position, length)` in tree order.
pub(super) fn leaf_blocks<T>(tree: &KdTree<T>) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    for node in tree.nodes.iter().filter(|n| n.is_leaf()) {
        let (mut start, end) = (node.start as usize, node.end as usize);
        while start < end {
            let len = (end - start).min(B);
            blocks.push((start, len));
            start += len;
        }
    }
    blocks
}
