//! The deterministic pair-loop skeleton shared by the nonbonded and GB
//! kernels.
//!
//! Atoms j are grouped in *clusters* of [`W`] consecutive indices, one lane
//! each (lane = j mod W). Atom i visits clusters c (all of them from its own
//! on without a cutoff, its neighbour-list entries with one) and a kernel
//! computes W pair terms at once; lanes with j ≤ i, j ≥ n, an excluded j or
//! r > r_c are *masked*: their contributions are selected to exactly zero.
//! Adding ±0 to an accumulator that starts at +0 never changes it, so the
//! result does not depend on which masked lanes or clusters were visited —
//! a neighbour list with more (skin) entries gives bitwise the same sums.
//!
//! Parallelism: the i range is cut into a fixed number of blocks that
//! depends only on n (never on the thread count); block b accumulates the
//! reaction on j (Newton's third law) into its own buffers, and buffers are
//! summed per atom in block order. Within a block, i runs in order, its
//! clusters in increasing c, and i's own lane accumulators (lane = j mod W)
//! are summed in a fixed pattern. Every addition thus happens in an order
//! fixed by (n, positions), whatever the thread count or list history.

use super::lanes::{sum, Lanes, W};
use super::nlist::ClusterList;
use crate::forcefield::BoxVectors;
use rayon::prelude::*;
use std::ops::Range;

/// Padded SoA positions (nm); padding lanes sit far away and are masked.
#[derive(Default)]
pub(super) struct Soa {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
}

impl Soa {
    pub fn fill(&mut self, positions: &[[f64; 3]], npad: usize) {
        for v in [&mut self.x, &mut self.y, &mut self.z] {
            v.clear();
            v.resize(npad, 1.0e3);
        }
        for (i, p) in positions.iter().enumerate() {
            self.x[i] = p[0];
            self.y[i] = p[1];
            self.z[i] = p[2];
        }
    }
}

/// For each atom i, the clusters holding excluded partners j > i and the
/// lane bits of those partners (CSR, clusters increasing).
#[derive(Default)]
pub(super) struct Exclusions {
    start: Vec<u32>,
    entries: Vec<(u32, u8)>,
}

impl Exclusions {
    /// Build from unordered pairs (i, j), i ≠ j, duplicates allowed.
    pub fn new(n: usize, pairs: impl Iterator<Item = (usize, usize)>) -> Self {
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (a, b) in pairs {
            let (i, j) = (a.min(b), a.max(b));
            if i != j {
                rows[i].push(j);
            }
        }
        let mut start = Vec::with_capacity(n + 1);
        let mut entries = Vec::new();
        start.push(0);
        for row in &mut rows {
            row.sort_unstable();
            row.dedup();
            let row_start = entries.len();
            for &j in row.iter() {
                let (c, bit) = ((j / W) as u32, 1u8 << (j % W));
                let in_row = entries.len() > row_start;
                match entries.last_mut() {
                    Some((lc, m)) if in_row && *lc == c => *m |= bit,
                    _ => entries.push((c, bit)),
                }
            }
            start.push(entries.len() as u32);
        }
        Exclusions { start, entries }
    }

    fn row(&self, i: usize) -> &[(u32, u8)] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.entries[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Which clusters each atom visits.
#[derive(Clone, Copy)]
pub(super) enum PairSet<'a> {
    /// Every cluster from i's own on (no cutoff).
    All,
    /// The clusters of a neighbour list.
    List(&'a ClusterList),
}

/// Everything a pass needs about the geometry.
pub(super) struct Geometry<'a> {
    pub n: usize,
    pub soa: &'a Soa,
    pub pairs: PairSet<'a>,
    /// Squared cutoff (nm²): lanes with r² > it are masked.
    pub cutoff2: Option<f64>,
    /// Minimum image in this (reduced) box.
    pub periodic: Option<BoxVectors>,
    pub exclusions: Option<&'a Exclusions>,
}

/// What a kernel returns for the W lanes of one cluster. `f`: force factor,
/// the force on i is `f·(x_i − x_j)` (minimum image) and on j its negative;
/// `e`: energy; `si`, `sj`: scalars accumulated on i and on j.
#[derive(Default)]
pub(super) struct LaneOut {
    pub f: Lanes,
    pub e: Lanes,
    pub si: Lanes,
    pub sj: Lanes,
}

/// Per-lane arguments of a kernel call: squared distance and displacement
/// `x_i − x_j` (minimum image) of each lane.
pub(super) struct LaneGeom {
    pub r2: Lanes,
    pub dx: Lanes,
    pub dy: Lanes,
    pub dz: Lanes,
}

/// A pair kernel: which outputs it produces (unused ones are compiled
/// out) and the per-cluster computation. Implementations must be
/// `#[inline(always)]` and straight-line so they vectorise.
pub(super) trait PairKernel: Sync {
    const FORCE: bool;
    const ENERGY: bool;
    const SI: bool;
    const SJ: bool;
    /// Per-entry storage (written by one pass and read by a later one).
    type Store: Copy + Default + Send + Sync;
    /// Compute lanes `j = jbase + l` for atom i. Masked lanes may produce
    /// anything (even NaN): the skeleton discards them.
    fn lanes(
        &self,
        i: usize,
        jbase: usize,
        g: &LaneGeom,
        store: &mut Self::Store,
        out: &mut LaneOut,
    );
}

/// A block's accumulation buffers (all of length npad).
#[derive(Default)]
pub(super) struct BlockBuf {
    pub fx: Vec<f64>,
    pub fy: Vec<f64>,
    pub fz: Vec<f64>,
    pub s: Vec<f64>,
}

/// Fixed decomposition of the i range into blocks (a function of n and the
/// pair-set kind only).
pub(super) struct Blocks {
    pub ranges: Vec<Range<usize>>,
}

/// Number of blocks for n atoms: enough for load balance on many threads,
/// few enough that the per-atom reductions stay cheap.
fn n_blocks(n: usize) -> usize {
    (n / 16).clamp(1, 32)
}

impl Blocks {
    /// Blocks of equal work for the all-pairs set (atom i visits
    /// `nc − i/W` clusters).
    pub fn all_pairs(n: usize) -> Self {
        let nc = n.div_ceil(W);
        let work = |i: usize| (nc - i / W) as f64;
        let total: f64 = (0..n).map(work).sum();
        let nb = n_blocks(n);
        let mut ranges = Vec::with_capacity(nb);
        let (mut start, mut acc) = (0, 0.0);
        for i in 0..n {
            acc += work(i);
            let b = ranges.len() + 1;
            if acc >= total * b as f64 / nb as f64 && ranges.len() + 1 < nb {
                ranges.push(start..i + 1);
                start = i + 1;
            }
        }
        ranges.push(start..n);
        Blocks { ranges }
    }

    /// Blocks of equal atom counts (neighbour lists: about equal work).
    pub fn equal(n: usize) -> Self {
        let nb = n_blocks(n);
        let ranges = (0..nb).map(|b| b * n / nb..(b + 1) * n / nb).collect();
        Blocks { ranges }
    }
}

/// Per-entry storage offsets of each block (entries are (i, cluster) visits
/// in block order).
pub(super) fn entry_offsets(geo: &Geometry, blocks: &Blocks) -> Vec<usize> {
    let nc = geo.n.div_ceil(W);
    let mut offsets = Vec::with_capacity(blocks.ranges.len() + 1);
    let mut total = 0;
    offsets.push(0);
    for r in &blocks.ranges {
        for i in r.clone() {
            total += match geo.pairs {
                PairSet::All => nc - i / W,
                PairSet::List(list) => list.row(i).len(),
            };
        }
        offsets.push(total);
    }
    offsets
}

/// Displacements `x_i − x_j` (minimum image in a reduced box, with the box
/// lengths' reciprocals precomputed) and squared distances of W lanes.
#[inline(always)]
fn lane_geom(
    xi: f64,
    yi: f64,
    zi: f64,
    xj: &Lanes,
    yj: &Lanes,
    zj: &Lanes,
    periodic: Option<(&BoxVectors, [f64; 3])>,
) -> LaneGeom {
    let mut g = LaneGeom {
        r2: [0.0; W],
        dx: [0.0; W],
        dy: [0.0; W],
        dz: [0.0; W],
    };
    for l in 0..W {
        g.dx[l] = xi - xj[l];
        g.dy[l] = yi - yj[l];
        g.dz[l] = zi - zj[l];
    }
    if let Some((b, inv)) = periodic {
        for l in 0..W {
            let s = (g.dz[l] * inv[2] + 0.5).floor();
            g.dx[l] -= s * b[2][0];
            g.dy[l] -= s * b[2][1];
            g.dz[l] -= s * b[2][2];
            let s = (g.dy[l] * inv[1] + 0.5).floor();
            g.dx[l] -= s * b[1][0];
            g.dy[l] -= s * b[1][1];
            let s = (g.dx[l] * inv[0] + 0.5).floor();
            g.dx[l] -= s * b[0][0];
        }
    }
    for l in 0..W {
        g.r2[l] = g.dx[l] * g.dx[l] + g.dy[l] * g.dy[l] + g.dz[l] * g.dz[l];
    }
    g
}

/// Run kernel `k` over block `range`: forces and `s` accumulate into `buf`,
/// per-entry storage in `store` (this block's entries); returns the block's
/// energy lanes.
#[inline(always)]
fn block_body<K: PairKernel>(
    geo: &Geometry,
    k: &K,
    range: Range<usize>,
    buf: &mut BlockBuf,
    store: &mut [K::Store],
) -> Lanes {
    let n = geo.n;
    let nc = n.div_ceil(W);
    let soa = geo.soa;
    let rc2 = geo.cutoff2.unwrap_or(f64::INFINITY);
    let periodic = geo
        .periodic
        .as_ref()
        .map(|b| (b, [1.0 / b[0][0], 1.0 / b[1][1], 1.0 / b[2][2]]));
    let mut e_acc = [0.0; W];
    let mut entry = 0;
    for i in range {
        let (xi, yi, zi) = (soa.x[i], soa.y[i], soa.z[i]);
        let mut fx = [0.0; W];
        let mut fy = [0.0; W];
        let mut fz = [0.0; W];
        let mut si = [0.0; W];
        let excl = geo.exclusions.map_or(&[][..], |e| e.row(i));
        let mut ex = 0;
        let list_row: &[u32] = match geo.pairs {
            PairSet::All => &[],
            PairSet::List(list) => list.row(i),
        };
        let count = match geo.pairs {
            PairSet::All => nc - i / W,
            PairSet::List(_) => list_row.len(),
        };
        for t in 0..count {
            // All pairs: clusters from i's own on; a list: its row.
            let c = list_row.get(t).map_or(i / W + t, |&c| c as usize);
            let jb = c * W;
            while ex < excl.len() && (excl[ex].0 as usize) < c {
                ex += 1;
            }
            let emask = if ex < excl.len() && excl[ex].0 as usize == c {
                excl[ex].1
            } else {
                0
            };
            let xj: &Lanes = soa.x[jb..jb + W].try_into().expect("W lanes");
            let yj: &Lanes = soa.y[jb..jb + W].try_into().expect("W lanes");
            let zj: &Lanes = soa.z[jb..jb + W].try_into().expect("W lanes");
            let g = lane_geom(xi, yi, zi, xj, yj, zj, periodic);
            let mut valid = [false; W];
            for (l, v) in valid.iter_mut().enumerate() {
                let j = jb + l;
                *v = j > i && j < n && (emask >> l) & 1 == 0 && g.r2[l] <= rc2;
            }
            let mut out = LaneOut::default();
            k.lanes(i, jb, &g, &mut store[entry], &mut out);
            for l in 0..W {
                let v = valid[l];
                if K::FORCE {
                    let f = if v { out.f[l] } else { 0.0 };
                    let (gx, gy, gz) = (f * g.dx[l], f * g.dy[l], f * g.dz[l]);
                    fx[l] += gx;
                    fy[l] += gy;
                    fz[l] += gz;
                    buf.fx[jb + l] -= gx;
                    buf.fy[jb + l] -= gy;
                    buf.fz[jb + l] -= gz;
                }
                if K::ENERGY {
                    e_acc[l] += if v { out.e[l] } else { 0.0 };
                }
                if K::SI {
                    si[l] += if v { out.si[l] } else { 0.0 };
                }
                if K::SJ {
                    buf.s[jb + l] += if v { out.sj[l] } else { 0.0 };
                }
            }
            entry += 1;
        }
        if K::FORCE {
            buf.fx[i] += sum(&fx);
            buf.fy[i] += sum(&fy);
            buf.fz[i] += sum(&fz);
        }
        if K::SI {
            buf.s[i] += sum(&si);
        }
    }
    e_acc
}

super::lanes::multiversion! {
    fn block_dispatch<K: PairKernel>(
        geo: &Geometry,
        k: &K,
        range: Range<usize>,
        buf: &mut BlockBuf,
        store: &mut [K::Store],
    ) -> Lanes => block_body
}

/// Run one pass of kernel `k` over all blocks in parallel. `s` buffers are
/// zeroed first when the kernel produces scalars; force buffers accumulate
/// across passes (zero them with [`zero_forces`]). `store` holds one entry
/// per (i, cluster) visit ([`entry_offsets`]; a `Vec<()>` costs nothing
/// for kernels without storage). Returns the energy, summed
/// in block order.
pub(super) fn run_pass<K: PairKernel>(
    geo: &Geometry,
    blocks: &Blocks,
    bufs: &mut [BlockBuf],
    k: &K,
    store: &mut [K::Store],
    offsets: &[usize],
) -> f64 {
    let mut store_parts: Vec<&mut [K::Store]> = Vec::with_capacity(blocks.ranges.len());
    let mut rest = store;
    for b in 0..blocks.ranges.len() {
        let (head, tail) = rest.split_at_mut(offsets[b + 1] - offsets[b]);
        store_parts.push(head);
        rest = tail;
    }
    let energies: Vec<Lanes> = bufs
        .par_iter_mut()
        .zip(store_parts)
        .zip(&blocks.ranges)
        .map(|((buf, store), range)| {
            if K::SI || K::SJ {
                buf.s[range.start..].iter_mut().for_each(|v| *v = 0.0);
            }
            block_dispatch::<K>(geo, k, range.clone(), buf, store)
        })
        .collect();
    energies.iter().map(sum).fold(0.0, |a, e| a + e)
}

/// Zero the force buffers of every block from its first atom on.
pub(super) fn zero_forces(blocks: &Blocks, bufs: &mut [BlockBuf]) {
    bufs.par_iter_mut()
        .zip(&blocks.ranges)
        .for_each(|(buf, r)| {
            for v in [&mut buf.fx, &mut buf.fy, &mut buf.fz] {
                v[r.start..].iter_mut().for_each(|x| *x = 0.0);
            }
        });
}

/// Atoms per chunk of the parallel per-atom reductions.
const CHUNK: usize = 256;

/// `out[j] = Σ_b buf_b.s[j]` over the blocks that can touch j (first atom
/// ≤ j), in block order.
pub(super) fn reduce_scalar(blocks: &Blocks, bufs: &[BlockBuf], out: &mut [f64]) {
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            for (o, v) in chunk.iter_mut().enumerate() {
                let j = ci * CHUNK + o;
                let mut acc = 0.0;
                for (buf, r) in bufs.iter().zip(&blocks.ranges) {
                    if r.start <= j {
                        acc += buf.s[j];
                    }
                }
                *v = acc;
            }
        });
}

/// `out[j] += Σ_b buf_b.f[j]` (summed in block order first).
pub(super) fn reduce_forces(blocks: &Blocks, bufs: &[BlockBuf], out: &mut [[f64; 3]]) {
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(ci, chunk)| {
            for (o, v) in chunk.iter_mut().enumerate() {
                let j = ci * CHUNK + o;
                let mut acc = [0.0; 3];
                for (buf, r) in bufs.iter().zip(&blocks.ranges) {
                    if r.start <= j {
                        acc[0] += buf.fx[j];
                        acc[1] += buf.fy[j];
                        acc[2] += buf.fz[j];
                    }
                }
                v[0] += acc[0];
                v[1] += acc[1];
                v[2] += acc[2];
            }
        });
}
