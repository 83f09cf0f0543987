//! OBC2 generalized Born on the CPU: three passes over the pair skeleton.
//!
//! 1. Born sums: per pair both HCT integrals (i descreened by j and j by
//!    i); their r-derivatives are stored per pair for pass 3.
//! 2. Per atom: Born radii. Then the pair energy over i < j with its force
//!    at fixed radii and dE/dB of both atoms. Per atom: ACE and self terms,
//!    `dE/dI = dE/dB · B² · chain`.
//! 3. The chain rule through the Born radii from the stored derivatives.

// Stage loops index several parallel lane arrays at once; `for k in 0..len`
// is the form the compiler vectorises best and the clearest here.
#![allow(clippy::needless_range_loop)]

use super::lanes::{exp, ln2, rsqrt};
use super::pairs::{PairKernel, SegIn, SegOut, CAP, MAX_PARAMS};
use crate::forcefield::terms::{
    ace_surface, gb_energy, gb_f2, gb_pair, hct_bounds, hct_term, obc_born_radius, GbConstants,
};
use crate::forcefield::{GbsaObcForce, ObcFlavor};

/// Per-force parameters, prepared once.
pub(super) struct GbParams {
    pub force: GbsaObcForce,
    /// Whether the Born sum has GBSAOBCForce's engulfed-atom correction.
    pub engulfed: bool,
    /// Coulomb constant, dielectrics, κ and cutoff shift.
    pub consts: GbConstants,
    /// Charges, offset radii `or`, `1/or`, scaled radii `sr = scale·or`
    /// (padded: q = 0, radii of a typical atom).
    pub q: Vec<f64>,
    pub or: Vec<f64>,
    pub inv_or: Vec<f64>,
    pub sr: Vec<f64>,
    /// Index of this force's neighbour list (cutoff methods).
    pub list: Option<usize>,
}

/// What one evaluation computes between the passes.
pub(super) struct GbScratch {
    /// Born radii, their reciprocals, chain factors and dE/dI.
    pub born: Vec<f64>,
    pub inv_born: Vec<f64>,
    pub chain: Vec<f64>,
    pub de_di: Vec<f64>,
    /// Per-atom reduced sums.
    pub sums: Vec<f64>,
    /// Per (i, cluster) entry and lane: `½ dterm/dr / r` of I_i and of I_j.
    pub store: [Vec<f64>; 2],
}

/// A GB force ready to evaluate: its parameters and its scratch.
pub(super) struct GbPrep {
    pub params: GbParams,
    pub scratch: GbScratch,
}

impl GbPrep {
    pub fn new(g: &GbsaObcForce, npad: usize, list: Option<usize>) -> Self {
        let n = g.particles.len();
        let mut q = vec![0.0; npad];
        let mut or = vec![0.15; npad];
        let mut sr = vec![0.1; npad];
        for (i, p) in g.particles.iter().enumerate() {
            q[i] = p.charge;
            or[i] = p.radius - g.offset;
            sr[i] = or[i] * p.scale;
        }
        GbPrep {
            params: GbParams {
                force: g.clone(),
                engulfed: g.flavor == ObcFlavor::GbsaObcForce,
                consts: GbConstants::new(g),
                inv_or: or.iter().map(|o| 1.0 / o).collect(),
                q,
                or,
                sr,
                list,
            },
            scratch: GbScratch {
                born: vec![1.0; npad],
                inv_born: vec![1.0; npad],
                chain: vec![0.0; n],
                de_di: vec![0.0; npad],
                sums: vec![0.0; npad],
                store: [Vec::new(), Vec::new()],
            },
        }
    }
}

impl GbScratch {
    /// After pass 1 (`sums` = Σ_j term): Born radii and chain factors.
    pub fn born_radii(&mut self, p: &GbParams) {
        for (i, a) in p.force.particles.iter().enumerate() {
            let (b, c) = obc_born_radius(0.5 * self.sums[i], p.or[i], a.radius);
            self.born[i] = b;
            self.inv_born[i] = 1.0 / b;
            self.chain[i] = c;
        }
    }

    /// After pass 2 (`sums` = pair dE/dB): add the ACE and self terms, set
    /// dE/dI; returns their energy.
    pub fn finish_de_db(&mut self, params: &GbParams) -> f64 {
        let g = &params.force;
        let pi4_asolv = 4.0 * std::f64::consts::PI * g.surface_area_energy;
        let mut energy = 0.0;
        for (i, p) in g.particles.iter().enumerate() {
            let b = self.born[i];
            let (e_sa, de_sa) = ace_surface(p.radius, b, pi4_asolv, g.probe_radius);
            let qq = p.charge * p.charge;
            let bb = b * b;
            let rs = |x: f64| 1.0 / x.sqrt();
            let (e_self, _, da) = if params.consts.kappa != 0.0 {
                gb_pair::<true>(0.0, bb, 0.25 / bb, qq, &params.consts, 0.0, f64::exp, rs)
            } else {
                gb_pair::<false>(0.0, bb, 0.25 / bb, qq, &params.consts, 0.0, f64::exp, rs)
            };
            energy += e_sa + 0.5 * e_self;
            let de_db = de_sa + da * b + self.sums[i];
            self.de_di[i] = de_db * b * b * self.chain[i];
        }
        energy
    }
}

/// Pass 1: HCT integrals in both directions and their derivatives.
pub(super) struct BornSumKernel<'a> {
    pub p: &'a GbParams,
}

impl PairKernel for BornSumKernel<'_> {
    const FORCE: bool = false;
    const ENERGY: bool = false;
    const SI: bool = true;
    const SJ: bool = true;
    const STORE: bool = true;
    const NP: usize = 3;

    fn params(&self) -> [&[f64]; MAX_PARAMS] {
        [&self.p.or, &self.p.inv_or, &self.p.sr, &[]]
    }

    #[inline(always)]
    fn segment(
        &self,
        i: usize,
        len: usize,
        s: &SegIn,
        pj: [&[f64]; MAX_PARAMS],
        store: [&mut [f64]; 2],
        out: &mut SegOut,
    ) {
        let p = self.p;
        let (or_i, inv_or_i, sr_i) = (p.or[i], p.inv_or[i], p.sr[i]);
        let [or_j, inv_or_j, sr_j, _] = pj;
        let [st0, st1] = store;
        let len = len
            .min(CAP)
            .min(st0.len())
            .min(st1.len())
            .min(or_j.len())
            .min(inv_or_j.len())
            .min(sr_j.len());
        let SegOut { f, e, si, sj, t } = out;
        let [inv_r, inv_l1, inv_u1, inv_l2, inv_u2, _] = t;
        // Stage 1: 1/r. Stage 2: both directions' bounds, 1/L and 1/U from
        // one division, and the log arguments (in e, f: no forces here).
        // Stage 3: both logs with one division. Stage 4: the terms.
        for k in 0..len {
            inv_r[k] = rsqrt(s.r2[k]);
        }
        for k in 0..len {
            let r = s.r2[k] * inv_r[k];
            let (l1, u1) = hct_bounds(r, or_i, sr_j[k]);
            let (l2, u2) = hct_bounds(r, or_j[k], sr_i);
            let (a1, a2) = (l1 * u1, l2 * u2);
            let inv = 1.0 / (a1 * a2);
            let (inv_a1, inv_a2) = (a2 * inv, a1 * inv);
            (inv_l1[k], inv_u1[k]) = (u1 * inv_a1, l1 * inv_a1);
            (inv_l2[k], inv_u2[k]) = (u2 * inv_a2, l2 * inv_a2);
            e[k] = l1 * inv_u1[k];
            f[k] = l2 * inv_u2[k];
        }
        for k in 0..len {
            (e[k], f[k]) = ln2(e[k], f[k]);
        }
        for k in 0..len {
            let ir = inv_r[k];
            let r = s.r2[k] * ir;
            let (t_ij, d_ij) = hct_term(
                r, ir, or_i, inv_or_i, sr_j[k], inv_l1[k], inv_u1[k], e[k], p.engulfed,
            );
            let (t_ji, d_ji) = hct_term(
                r,
                ir,
                or_j[k],
                inv_or_j[k],
                sr_i,
                inv_l2[k],
                inv_u2[k],
                f[k],
                p.engulfed,
            );
            let ok = s.ok(k);
            si[k] = if ok { t_ij } else { 0.0 };
            sj[k] = if ok { t_ji } else { 0.0 };
            st0[k] = 0.5 * d_ij * ir;
            st1[k] = 0.5 * d_ji * ir;
        }
    }
}

/// Pass 2: pair energy, its force at fixed radii, and dE/dB of both atoms;
/// `SALT`: κ ≠ 0.
pub(super) struct GbPairKernel<'a, const SALT: bool> {
    pub p: &'a GbParams,
    /// The Born radii of pass 1.
    pub radii: &'a GbScratch,
}

impl<const SALT: bool> PairKernel for GbPairKernel<'_, SALT> {
    const FORCE: bool = true;
    const ENERGY: bool = true;
    const SI: bool = true;
    const SJ: bool = true;
    const STORE: bool = false;
    const NP: usize = 3;

    fn params(&self) -> [&[f64]; MAX_PARAMS] {
        [&self.p.q, &self.radii.born, &self.radii.inv_born, &[]]
    }

    #[inline(always)]
    fn segment(
        &self,
        i: usize,
        len: usize,
        s: &SegIn,
        pj: [&[f64]; MAX_PARAMS],
        _: [&mut [f64]; 2],
        out: &mut SegOut,
    ) {
        let p = self.p;
        let c = &p.consts;
        let qi = p.q[i];
        let (bi, inv_bi) = (self.radii.born[i], self.radii.inv_born[i]);
        let [qj, bj, inv_bj, _] = pj;
        let len = len.min(CAP).min(qj.len()).min(bj.len()).min(inv_bj.len());
        let SegOut { f, e, si, sj, t } = out;
        let [dd, ee, inv_f, ekf, _, _] = t;
        // Stage 1: D, e^{−D} and f² (f² kept in inv_f). Stage 2: 1/f.
        // Stage 3 (salt): e^{−κf}. Stage 4: energy and derivatives.
        for k in 0..len {
            let quarter_inv_a = 0.25 * inv_bi * inv_bj[k];
            (dd[k], ee[k], inv_f[k]) = gb_f2(s.r2[k], bi * bj[k], quarter_inv_a, exp);
        }
        for k in 0..len {
            let f2 = inv_f[k];
            inv_f[k] = rsqrt(f2);
            ekf[k] = f2 * inv_f[k];
        }
        if SALT {
            for k in 0..len {
                ekf[k] = exp(-c.kappa * ekf[k]);
            }
        }
        for k in 0..len {
            let qq = qi * qj[k];
            let (ek, fk, de_da) = gb_energy::<SALT>(dd[k], ee[k], inv_f[k], ekf[k], qq, c, c.shift);
            let ok = s.ok(k);
            e[k] = if ok { ek } else { 0.0 };
            f[k] = if ok { fk } else { 0.0 };
            si[k] = if ok { de_da * bj[k] } else { 0.0 };
            sj[k] = if ok { de_da * bi } else { 0.0 };
        }
    }
}

/// Pass 3: forces through the Born radii.
pub(super) struct GbChainKernel<'a> {
    /// dE/dI of pass 2.
    pub s: &'a GbScratch,
}

impl PairKernel for GbChainKernel<'_> {
    const FORCE: bool = true;
    const ENERGY: bool = false;
    const SI: bool = false;
    const SJ: bool = false;
    const STORE: bool = true;
    const NP: usize = 1;

    fn params(&self) -> [&[f64]; MAX_PARAMS] {
        [&self.s.de_di, &[], &[], &[]]
    }

    #[inline(always)]
    fn segment(
        &self,
        i: usize,
        len: usize,
        s: &SegIn,
        pj: [&[f64]; MAX_PARAMS],
        store: [&mut [f64]; 2],
        out: &mut SegOut,
    ) {
        let gi = self.s.de_di[i];
        let gj = pj[0];
        let [st0, st1] = store;
        let len = len.min(CAP).min(st0.len()).min(st1.len()).min(gj.len());
        for k in 0..len {
            let f = -(gi * st0[k] + gj[k] * st1[k]);
            out.f[k] = if s.ok(k) { f } else { 0.0 };
        }
    }
}
