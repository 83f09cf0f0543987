//! A lock-free union-find whose roots are the smallest member index.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// Disjoint sets over `0..n`, safe to union from many threads. Linking
/// always points the larger root at the smaller, so every set's root is its
/// smallest element and the final partition does not depend on the order of
/// the unions.
pub(super) struct UnionFind {
    parent: Vec<AtomicU32>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).map(AtomicU32::new).collect(),
        }
    }

    /// The root of `x`'s set (halving the path on the way).
    #[inline]
    pub fn find(&self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize].load(Relaxed);
            if p == x {
                return x;
            }
            let g = self.parent[p as usize].load(Relaxed);
            if g != p {
                // Skip a level; losing this race only costs a later retry.
                let _ = self.parent[x as usize].compare_exchange_weak(p, g, Relaxed, Relaxed);
            }
            x = p;
        }
    }

    /// Merge the sets of `a` and `b`.
    #[inline]
    pub fn union(&self, a: u32, b: u32) {
        let (mut a, mut b) = (a, b);
        loop {
            a = self.find(a);
            b = self.find(b);
            if a == b {
                return;
            }
            let (small, large) = if a < b { (a, b) } else { (b, a) };
            // Only a root may be linked; if `large` stopped being one, retry.
            if self.parent[large as usize]
                .compare_exchange(large, small, Relaxed, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}
