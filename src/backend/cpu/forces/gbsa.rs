//! OBC2 generalized Born on the CPU: three passes over the pair skeleton.
//!
//! 1. Born sums: per pair both HCT integrals (i descreened by j and j by
//!    i); their r-derivatives are stored per pair for pass 3.
//! 2. Per atom: Born radii. Then the pair energy over i < j with its force
//!    at fixed radii and dE/dB of both atoms. Per atom: ACE and self terms,
//!    `dE/dI = dE/dB · B² · chain`.
//! 3. The chain rule through the Born radii from the stored derivatives.

use super::lanes::{exp, ln, Lanes, W};
use super::pairs::{LaneGeom, LaneOut, PairKernel};
use crate::forcefield::terms::{ace_surface, gb_pair, hct_pair, obc_born_radius};
use crate::forcefield::{GbsaObcForce, ObcFlavor};

/// Per-force data prepared once, plus per-evaluation scratch.
pub(super) struct GbPrep {
    pub force: GbsaObcForce,
    /// Whether the Born sum has GBSAOBCForce's engulfed-atom correction.
    pub engulfed: bool,
    /// `−k (1/ε_solute − 1/ε_solvent)` (kJ·nm/mol/e²).
    pub pre: f64,
    /// Charges, offset radii `or`, `1/or`, scaled radii `sr = scale·or`
    /// (padded: q = 0, radii of a typical atom).
    pub q: Vec<f64>,
    pub or: Vec<f64>,
    pub inv_or: Vec<f64>,
    pub sr: Vec<f64>,
    /// Born radii, their reciprocals, chain factors and dE/dI (scratch).
    pub born: Vec<f64>,
    pub inv_born: Vec<f64>,
    pub chain: Vec<f64>,
    pub de_di: Vec<f64>,
    /// Per-atom reduced sums (scratch).
    pub sums: Vec<f64>,
    /// Per (i, cluster) entry: `½ dterm/dr / r` of I_i (lane j) and I_j.
    pub store: Vec<[Lanes; 2]>,
    /// Index of this force's neighbour list (cutoff methods).
    pub list: Option<usize>,
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
        let pre = if g.solute_dielectric != 0.0 && g.solvent_dielectric != 0.0 {
            -g.coulomb_constant * (1.0 / g.solute_dielectric - 1.0 / g.solvent_dielectric)
        } else {
            0.0
        };
        GbPrep {
            force: g.clone(),
            engulfed: g.flavor == ObcFlavor::GbsaObcForce,
            pre,
            inv_or: or.iter().map(|o| 1.0 / o).collect(),
            q,
            or,
            sr,
            born: vec![1.0; npad],
            inv_born: vec![1.0; npad],
            chain: vec![0.0; n],
            de_di: vec![0.0; npad],
            sums: vec![0.0; npad],
            store: Vec::new(),
            list,
        }
    }

    /// After pass 1 (`sums` = Σ_j term): Born radii and chain factors.
    pub fn born_radii(&mut self) {
        for (i, p) in self.force.particles.iter().enumerate() {
            let (b, c) = obc_born_radius(0.5 * self.sums[i], self.or[i], p.radius);
            self.born[i] = b;
            self.inv_born[i] = 1.0 / b;
            self.chain[i] = c;
        }
    }

    /// After pass 2 (`sums` = pair dE/dB): add the ACE and self terms, set
    /// dE/dI; returns their energy.
    pub fn finish_de_db(&mut self) -> f64 {
        let g = &self.force;
        let pi4_asolv = 4.0 * std::f64::consts::PI * g.surface_area_energy;
        let mut energy = 0.0;
        for (i, p) in g.particles.iter().enumerate() {
            let b = self.born[i];
            let (e_sa, de_sa) = ace_surface(p.radius, b, pi4_asolv, g.probe_radius);
            let qq = self.pre * p.charge * p.charge;
            let (e_self, _, da) = gb_pair(0.0, b * b, 0.25 / (b * b), qq, f64::exp);
            energy += e_sa + 0.5 * e_self;
            let de_db = de_sa + da * b + self.sums[i];
            self.de_di[i] = de_db * b * b * self.chain[i];
        }
        energy
    }
}

/// Pass 1: HCT integrals in both directions and their derivatives.
pub(super) struct BornSumKernel<'a> {
    pub p: &'a GbPrep,
}

impl PairKernel for BornSumKernel<'_> {
    const FORCE: bool = false;
    const ENERGY: bool = false;
    const SI: bool = true;
    const SJ: bool = true;
    type Store = [Lanes; 2];

    #[inline(always)]
    fn lanes(&self, i: usize, jb: usize, g: &LaneGeom, store: &mut [Lanes; 2], out: &mut LaneOut) {
        let p = self.p;
        let (or_i, inv_or_i, sr_i) = (p.or[i], p.inv_or[i], p.sr[i]);
        let or_j: &Lanes = p.or[jb..jb + W].try_into().expect("W lanes");
        let inv_or_j: &Lanes = p.inv_or[jb..jb + W].try_into().expect("W lanes");
        let sr_j: &Lanes = p.sr[jb..jb + W].try_into().expect("W lanes");
        for l in 0..W {
            let r = g.r2[l].sqrt();
            let inv_r = 1.0 / r;
            let (t_ij, d_ij) = hct_pair(r, inv_r, or_i, inv_or_i, sr_j[l], p.engulfed, ln);
            let (t_ji, d_ji) = hct_pair(r, inv_r, or_j[l], inv_or_j[l], sr_i, p.engulfed, ln);
            out.si[l] = t_ij;
            out.sj[l] = t_ji;
            store[0][l] = 0.5 * d_ij * inv_r;
            store[1][l] = 0.5 * d_ji * inv_r;
        }
    }
}

/// Pass 2: pair energy, its force at fixed radii, and dE/dB of both atoms.
pub(super) struct GbPairKernel<'a> {
    pub p: &'a GbPrep,
    /// `1/r_c` when a cutoff shifts the pair energy, else 0.
    pub inv_cutoff: f64,
}

impl PairKernel for GbPairKernel<'_> {
    const FORCE: bool = true;
    const ENERGY: bool = true;
    const SI: bool = true;
    const SJ: bool = true;
    type Store = ();

    #[inline(always)]
    fn lanes(&self, i: usize, jb: usize, g: &LaneGeom, _: &mut (), out: &mut LaneOut) {
        let p = self.p;
        let qi = p.pre * p.q[i];
        let (bi, inv_bi) = (p.born[i], p.inv_born[i]);
        let qj: &Lanes = p.q[jb..jb + W].try_into().expect("W lanes");
        let bj: &Lanes = p.born[jb..jb + W].try_into().expect("W lanes");
        let inv_bj: &Lanes = p.inv_born[jb..jb + W].try_into().expect("W lanes");
        for l in 0..W {
            let qq = qi * qj[l];
            let a = bi * bj[l];
            let (e, f, de_da) = gb_pair(g.r2[l], a, 0.25 * inv_bi * inv_bj[l], qq, exp);
            out.e[l] = e - qq * self.inv_cutoff;
            out.f[l] = f;
            out.si[l] = de_da * bj[l];
            out.sj[l] = de_da * bi;
        }
    }
}

/// Pass 3: forces through the Born radii.
pub(super) struct GbChainKernel<'a> {
    pub p: &'a GbPrep,
}

impl PairKernel for GbChainKernel<'_> {
    const FORCE: bool = true;
    const ENERGY: bool = false;
    const SI: bool = false;
    const SJ: bool = false;
    type Store = [Lanes; 2];

    #[inline(always)]
    fn lanes(&self, i: usize, jb: usize, _: &LaneGeom, store: &mut [Lanes; 2], out: &mut LaneOut) {
        let gi = self.p.de_di[i];
        let gj: &Lanes = self.p.de_di[jb..jb + W].try_into().expect("W lanes");
        for l in 0..W {
            out.f[l] = -(gi * store[0][l] + gj[l] * store[1][l]);
        }
    }
}
