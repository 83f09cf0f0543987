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

// Stage loops index several parallel lane arrays at once; `for k in 0..len`
// is the form the compiler vectorises best and the clearest here.
#![allow(clippy::needless_range_loop)]

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

/// Clusters per segment: a kernel runs as one flat loop over the
/// `SEG_CLUSTERS·W` lanes of a segment (which the compiler vectorises).
const SEG_CLUSTERS: usize = 32;

/// Lanes per segment.
pub(super) const CAP: usize = SEG_CLUSTERS * W;

/// Most per-atom j parameters a kernel can have gathered.
pub(super) const MAX_PARAMS: usize = 4;

/// One segment of atom i's pairs, lane k = t·W + l for the t-th cluster of
/// the segment and lane l: displacements `x_i − x_j` (minimum image),
/// squared distances, and which lanes are real pairs.
pub(super) struct SegIn {
    pub dx: [f64; CAP],
    pub dy: [f64; CAP],
    pub dz: [f64; CAP],
    pub r2: [f64; CAP],
    /// Squared cutoff (∞ without one).
    pub rc2: f64,
    /// 1 where the pair exists (j > i, j < n), else 0.
    valid: [u64; CAP],
    /// 1 where the pair is one of the geometry's exclusions, else 0.
    excl: [u64; CAP],
    /// Gathered j positions and parameters (neighbour lists only).
    xg: [[f64; CAP]; 3],
    pg: [[f64; CAP]; MAX_PARAMS],
    cluster: [u32; SEG_CLUSTERS],
}

impl SegIn {
    /// Whether lane k is a pair to compute (exists and within the cutoff),
    /// ignoring exclusions. Kernels must output exactly zero for the other
    /// lanes.
    #[inline(always)]
    pub fn ok(&self, k: usize) -> bool {
        (self.valid[k] != 0) & (self.r2[k] <= self.rc2)
    }

    /// [`SegIn::ok`] and not excluded.
    #[inline(always)]
    pub fn ok_unexcluded(&self, k: usize) -> bool {
        (self.valid[k] != 0) & (self.excl[k] == 0) & (self.r2[k] <= self.rc2)
    }
}

/// What a kernel returns per lane (exactly zero for lanes that are not
/// [`SegIn::ok`]). `f`: force factor, the force on i is `f·(x_i − x_j)`
/// and on j its negative; `e`: energy; `si`, `sj`: scalars accumulated on
/// i and on j.
pub(super) struct SegOut {
    pub f: [f64; CAP],
    pub e: [f64; CAP],
    pub si: [f64; CAP],
    pub sj: [f64; CAP],
    /// Scratch for kernels that run in stages (short loops keep many
    /// independent iterations in flight; one long chain per lane would be
    /// latency-bound).
    pub t: [[f64; CAP]; TMP],
}

/// Scratch arrays per kernel.
pub(super) const TMP: usize = 6;

/// Per-block scratch.
pub(super) struct Scratch {
    seg: SegIn,
    out: SegOut,
}

impl Scratch {
    fn new() -> Box<Self> {
        Box::new(Scratch {
            seg: SegIn {
                dx: [0.0; CAP],
                dy: [0.0; CAP],
                dz: [0.0; CAP],
                r2: [0.0; CAP],
                rc2: f64::INFINITY,
                valid: [0; CAP],
                excl: [0; CAP],
                xg: [[0.0; CAP]; 3],
                pg: [[0.0; CAP]; MAX_PARAMS],
                cluster: [0; SEG_CLUSTERS],
            },
            out: SegOut {
                f: [0.0; CAP],
                e: [0.0; CAP],
                si: [0.0; CAP],
                sj: [0.0; CAP],
                t: [[0.0; CAP]; TMP],
            },
        })
    }
}

/// A pair kernel: which outputs it produces (unused ones are compiled
/// out), the per-atom arrays whose j values it reads, and the per-segment
/// computation — a flat loop over lanes `0..len` that must be
/// `#[inline(always)]` and branch-free so it vectorises.
pub(super) trait PairKernel: Sync {
    const FORCE: bool;
    const ENERGY: bool;
    const SI: bool;
    const SJ: bool;
    /// Whether the kernel uses the two per-lane storage streams (written
    /// by one pass, read by a later one over the same pairs).
    const STORE: bool;
    /// Number of j parameter arrays ([`PairKernel::params`]) used.
    const NP: usize;
    /// Padded per-atom arrays, gathered into `SegIn::p[0..NP]`.
    fn params(&self) -> [&[f64]; MAX_PARAMS];
    /// Lanes `0..len` for atom i; `pj[p][k]` is parameter p of lane k's
    /// atom j. Lanes that are not [`SegIn::ok`] must output exactly zero
    /// (select, never multiply: they may hold r = 0).
    fn segment(
        &self,
        i: usize,
        len: usize,
        s: &SegIn,
        pj: [&[f64]; MAX_PARAMS],
        store: [&mut [f64]; 2],
        out: &mut SegOut,
    );
}

/// A block's accumulation buffers (all of length npad) and scratch.
pub(super) struct BlockBuf {
    pub fx: Vec<f64>,
    pub fy: Vec<f64>,
    pub fz: Vec<f64>,
    pub s: Vec<f64>,
    scratch: Box<Scratch>,
}

impl BlockBuf {
    pub fn new(npad: usize) -> Self {
        BlockBuf {
            fx: vec![0.0; npad],
            fy: vec![0.0; npad],
            fz: vec![0.0; npad],
            s: vec![0.0; npad],
            scratch: Scratch::new(),
        }
    }
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

/// Lane bits of cluster `jb..jb+W` with `i < j < n`.
#[inline(always)]
fn lane_mask(i: usize, jb: usize, n: usize) -> u8 {
    let lo = if i >= jb { (i - jb + 1).min(W) } else { 0 };
    let hi = n.saturating_sub(jb).min(W);
    let above = (0xffu16 << lo) as u8;
    let below = (0xffu16 >> (W - hi)) as u8;
    above & below
}

/// Displacements `x_i − x_j` of lanes `0..len` from the j positions
/// `xj` (minimum image in a reduced box, box reciprocals precomputed) and
/// squared distances, into `s`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lane_geom(
    xi: f64,
    yi: f64,
    zi: f64,
    xj: [&[f64]; 3],
    dx: &mut [f64; CAP],
    dy: &mut [f64; CAP],
    dz: &mut [f64; CAP],
    r2: &mut [f64; CAP],
    len: usize,
    periodic: Option<&(BoxVectors, [f64; 3])>,
) {
    let len = len
        .min(CAP)
        .min(xj[0].len())
        .min(xj[1].len())
        .min(xj[2].len());
    match periodic {
        None => {
            for k in 0..len {
                let (x, y, z) = (xi - xj[0][k], yi - xj[1][k], zi - xj[2][k]);
                dx[k] = x;
                dy[k] = y;
                dz[k] = z;
                r2[k] = x * x + y * y + z * z;
            }
        }
        Some((b, inv)) => {
            for k in 0..len {
                let (mut x, mut y, mut z) = (xi - xj[0][k], yi - xj[1][k], zi - xj[2][k]);
                let t = (z * inv[2] + 0.5).floor();
                x -= t * b[2][0];
                y -= t * b[2][1];
                z -= t * b[2][2];
                let t = (y * inv[1] + 0.5).floor();
                x -= t * b[1][0];
                y -= t * b[1][1];
                let t = (x * inv[0] + 0.5).floor();
                x -= t * b[0][0];
                dx[k] = x;
                dy[k] = y;
                dz[k] = z;
                r2[k] = x * x + y * y + z * z;
            }
        }
    }
}

/// `acc[l] += Σ_t v[t·W + l]` over the first `nt` clusters, in order.
#[inline(always)]
fn accumulate(acc: &mut Lanes, v: &[f64; CAP], nt: usize) {
    for t in 0..nt.min(SEG_CLUSTERS) {
        let c: &Lanes = v[t * W..t * W + W].try_into().expect("W lanes");
        for l in 0..W {
            acc[l] += c[l];
        }
    }
}

/// The force components `f·d` of the first `nt` clusters: added to i's
/// lane accumulators (in cluster order) and subtracted from j's buffer
/// entries (j of lane t·W + l is `cluster[t]·W + l`).
#[inline(always)]
fn force_scatter(
    acc: &mut Lanes,
    b: &mut [f64],
    f: &[f64; CAP],
    d: &[f64; CAP],
    cluster: &[u32; SEG_CLUSTERS],
    nt: usize,
) {
    for t in 0..nt.min(SEG_CLUSTERS) {
        let k0 = t * W;
        let jb = cluster[t] as usize * W;
        let fl: Lanes = f[k0..k0 + W].try_into().expect("W lanes");
        let dl: Lanes = d[k0..k0 + W].try_into().expect("W lanes");
        let bl: &mut Lanes = (&mut b[jb..jb + W]).try_into().expect("W lanes");
        for l in 0..W {
            let g = fl[l] * dl[l];
            acc[l] += g;
            bl[l] -= g;
        }
    }
}

/// `b[j] += sign·v[k]` for the lanes of the first `nt` clusters (j of lane
/// k = t·W + l is `cluster[t]·W + l`). `sign` is ±1 (exact).
#[inline(always)]
fn scatter(
    b: &mut [f64],
    v: &[f64; CAP],
    cluster: &[u32; SEG_CLUSTERS],
    nt: usize,
    contiguous: bool,
    sign: f64,
) {
    let nt = nt.min(SEG_CLUSTERS);
    if contiguous {
        let jb0 = cluster[0] as usize * W;
        let len = nt * W;
        for (d, x) in b[jb0..jb0 + len].iter_mut().zip(&v[..len]) {
            *d += sign * x;
        }
    } else {
        for t in 0..nt {
            let jb = cluster[t] as usize * W;
            let c: Lanes = v[t * W..t * W + W].try_into().expect("W lanes");
            let d: &mut Lanes = (&mut b[jb..jb + W]).try_into().expect("W lanes");
            for l in 0..W {
                d[l] += sign * c[l];
            }
        }
    }
}

/// Run kernel `k` over block `range`: forces and `s` accumulate into `buf`,
/// per-lane storage in `store` (this block's entries, W lanes each);
/// returns the block's energy lanes.
#[inline(always)]
fn block_body<K: PairKernel>(
    geo: &Geometry,
    k: &K,
    range: Range<usize>,
    buf: &mut BlockBuf,
    store: [&mut [f64]; 2],
) -> Lanes {
    let n = geo.n;
    let nc = n.div_ceil(W);
    let soa = geo.soa;
    let rc2 = geo.cutoff2.unwrap_or(f64::INFINITY);
    let periodic = geo
        .periodic
        .as_ref()
        .map(|b| (*b, [1.0 / b[0][0], 1.0 / b[1][1], 1.0 / b[2][2]]));
    let params = k.params();
    let np = K::NP.min(MAX_PARAMS);
    let [store0, store1] = store;
    let BlockBuf {
        fx: bfx,
        fy: bfy,
        fz: bfz,
        s: bs,
        scratch,
    } = buf;
    let Scratch { seg, out } = &mut **scratch;
    seg.rc2 = rc2;
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
        let contiguous = matches!(geo.pairs, PairSet::All);
        let (ci, last) = (i / W, nc - 1);
        let mut t0 = 0;
        while t0 < count {
            let nt = SEG_CLUSTERS.min(count - t0);
            let len = nt * W;
            // Which lanes are pairs: all, except in i's own cluster (j ≤ i),
            // the last cluster (j ≥ n) and clusters with exclusions.
            seg.valid[..len].iter_mut().for_each(|v| *v = 1);
            seg.excl[..len].iter_mut().for_each(|v| *v = 0);
            let fix = |seg: &mut SegIn, t: usize, c: usize, emask: u8| {
                let m = lane_mask(i, c * W, n);
                for l in 0..W {
                    seg.valid[t * W + l] = u64::from((m >> l) & 1);
                    seg.excl[t * W + l] = u64::from((emask >> l) & 1);
                }
            };
            if contiguous {
                // Clusters ci + t0 .. ci + t0 + nt, in memory order.
                let c0 = ci + t0;
                for t in 0..nt {
                    seg.cluster[t] = (c0 + t) as u32;
                }
                if c0 == ci {
                    fix(seg, 0, ci, 0);
                }
                if c0 + nt - 1 == last {
                    fix(seg, nt - 1, last, 0);
                }
                while ex < excl.len() && (excl[ex].0 as usize) < c0 + nt {
                    let (c, emask) = (excl[ex].0 as usize, excl[ex].1);
                    if c >= c0 {
                        fix(seg, c - c0, c, emask);
                    }
                    ex += 1;
                }
            } else {
                for t in 0..nt {
                    let c = list_row[t0 + t] as usize;
                    seg.cluster[t] = c as u32;
                    let jb = c * W;
                    while ex < excl.len() && (excl[ex].0 as usize) < c {
                        ex += 1;
                    }
                    let emask = if ex < excl.len() && excl[ex].0 as usize == c {
                        excl[ex].1
                    } else {
                        0
                    };
                    if c == ci || c == last || emask != 0 {
                        fix(seg, t, c, emask);
                    }
                    let k0 = t * W;
                    seg.xg[0][k0..k0 + W].copy_from_slice(&soa.x[jb..jb + W]);
                    seg.xg[1][k0..k0 + W].copy_from_slice(&soa.y[jb..jb + W]);
                    seg.xg[2][k0..k0 + W].copy_from_slice(&soa.z[jb..jb + W]);
                    for (dst, src) in seg.pg.iter_mut().zip(&params).take(np) {
                        dst[k0..k0 + W].copy_from_slice(&src[jb..jb + W]);
                    }
                }
            }
            let jb0 = seg.cluster[0] as usize * W;
            let SegIn {
                dx, dy, dz, r2, xg, ..
            } = &mut *seg;
            let xj: [&[f64]; 3] = if contiguous {
                [
                    &soa.x[jb0..jb0 + len],
                    &soa.y[jb0..jb0 + len],
                    &soa.z[jb0..jb0 + len],
                ]
            } else {
                [&xg[0][..len], &xg[1][..len], &xg[2][..len]]
            };
            lane_geom(xi, yi, zi, xj, dx, dy, dz, r2, len, periodic.as_ref());
            {
                let seg: &SegIn = seg;
                let mut pj: [&[f64]; MAX_PARAMS] = [&[]; MAX_PARAMS];
                for (p, slot) in pj.iter_mut().enumerate().take(np) {
                    *slot = if contiguous {
                        &params[p][jb0..jb0 + len]
                    } else {
                        &seg.pg[p][..len]
                    };
                }
                let (s0, s1) = if K::STORE {
                    let a = (entry + t0) * W;
                    (&mut store0[a..a + len], &mut store1[a..a + len])
                } else {
                    (&mut [][..], &mut [][..])
                };
                k.segment(i, len, seg, pj, [s0, s1], out);
            }
            // Accumulate: i's lanes (lane = j mod W, clusters in order) and
            // the reactions on j.
            if K::FORCE {
                force_scatter(&mut fx, bfx, &out.f, &seg.dx, &seg.cluster, nt);
                force_scatter(&mut fy, bfy, &out.f, &seg.dy, &seg.cluster, nt);
                force_scatter(&mut fz, bfz, &out.f, &seg.dz, &seg.cluster, nt);
            }
            if K::ENERGY {
                accumulate(&mut e_acc, &out.e, nt);
            }
            if K::SI {
                accumulate(&mut si, &out.si, nt);
            }
            if K::SJ {
                scatter(bs, &out.sj, &seg.cluster, nt, contiguous, 1.0);
            }
            t0 += nt;
        }
        entry += count;
        if K::FORCE {
            bfx[i] += sum(&fx);
            bfy[i] += sum(&fy);
            bfz[i] += sum(&fz);
        }
        if K::SI {
            bs[i] += sum(&si);
        }
    }
    e_acc
}

crate::backend::cpu::multiversion::multiversion! {
    fn block_dispatch<K: PairKernel>(
        geo: &Geometry,
        k: &K,
        range: Range<usize>,
        buf: &mut BlockBuf,
        store: [&mut [f64]; 2],
    ) -> Lanes => block_body::<K>
}

/// Run one pass of kernel `k` over all blocks in parallel. `s` buffers are
/// zeroed first when the kernel produces scalars; force buffers accumulate
/// across passes (zero them with [`zero_forces`]). With
/// [`PairKernel::STORE`], `store` holds two streams of W lanes per
/// (i, cluster) visit ([`entry_offsets`]). Returns the energy, summed in
/// block order.
pub(super) fn run_pass<K: PairKernel>(
    geo: &Geometry,
    blocks: &Blocks,
    bufs: &mut [BlockBuf],
    k: &K,
    store: &mut [Vec<f64>; 2],
    offsets: &[usize],
) -> f64 {
    let nb = blocks.ranges.len();
    let mut parts: Vec<[&mut [f64]; 2]> = Vec::with_capacity(nb);
    let [st0, st1] = store;
    if K::STORE {
        let total = offsets[nb] * W;
        st0.resize(total, 0.0);
        st1.resize(total, 0.0);
    }
    let (mut rest0, mut rest1) = (&mut st0[..], &mut st1[..]);
    for b in 0..nb {
        let len = if K::STORE {
            (offsets[b + 1] - offsets[b]) * W
        } else {
            0
        };
        let (h0, t0) = rest0.split_at_mut(len);
        let (h1, t1) = rest1.split_at_mut(len);
        parts.push([h0, h1]);
        rest0 = t0;
        rest1 = t1;
    }
    let energies: Vec<Lanes> = bufs
        .par_iter_mut()
        .zip(parts)
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
