//! `NonbondedForce` on the CPU: the LJ + Coulomb pair kernel (no cutoff, or
//! cutoff with reaction field and optional LJ switch) over the pair
//! skeleton, exceptions as bonded terms, and the dispersion correction.

// Stage loops index several parallel lane arrays at once; `for k in 0..len`
// is the form the compiler vectorises best and the clearest here.
#![allow(clippy::needless_range_loop)]

use super::lanes::rsqrt;
use super::pairs::{Exclusions, PairKernel, SegIn, SegOut, CAP, MAX_PARAMS};
use crate::forcefield::terms::{
    dispersion_coefficient, lj_coulomb, lj_half_params, reaction_field,
};
use crate::forcefield::{NonbondedException, NonbondedForce, ONE_4PI_EPS0};

/// Per-force data prepared once.
pub(super) struct NbPrep {
    pub force: NonbondedForce,
    /// Charges (e), padded with zeros.
    pub q: Vec<f64>,
    /// σ/2 (nm), padded.
    pub half_sigma: Vec<f64>,
    /// 2√ε, padded with zeros.
    pub two_sqrt_eps: Vec<f64>,
    pub exclusions: Exclusions,
    /// Exceptions that interact (not pure exclusions).
    pub exceptions: Vec<NonbondedException>,
    /// Dispersion-correction coefficient (kJ·nm³/mol), 0 if none.
    pub dispersion: f64,
    /// `(k_rf, c_rf)` for cutoff methods.
    pub rf: (f64, f64),
    /// `(r_s, 1/(r_c − r_s))` when switching.
    pub switch: Option<(f64, f64)>,
    /// Index of this force's neighbour list (cutoff methods).
    pub list: Option<usize>,
}

impl NbPrep {
    pub fn new(nb: &NonbondedForce, npad: usize, list: Option<usize>) -> Self {
        let n = nb.particles.len();
        let mut q = vec![0.0; npad];
        let mut half_sigma = vec![0.1; npad];
        let mut two_sqrt_eps = vec![0.0; npad];
        for (i, p) in nb.particles.iter().enumerate() {
            q[i] = p.charge;
            (half_sigma[i], two_sqrt_eps[i]) = lj_half_params(p.sigma, p.epsilon);
        }
        let cutoff = nb.method.has_cutoff();
        NbPrep {
            force: nb.clone(),
            q,
            half_sigma,
            two_sqrt_eps,
            exclusions: Exclusions::new(n, nb.exceptions.iter().map(|x| (x.i, x.j))),
            exceptions: nb
                .exceptions
                .iter()
                .filter(|x| x.charge_prod != 0.0 || x.epsilon != 0.0)
                .copied()
                .collect(),
            dispersion: dispersion_coefficient(nb),
            rf: if cutoff {
                reaction_field(nb.cutoff, nb.reaction_field_dielectric)
            } else {
                (0.0, 0.0)
            },
            switch: match (cutoff, nb.switch_distance) {
                (true, Some(rs)) => Some((rs, 1.0 / (nb.cutoff - rs))),
                _ => None,
            },
            list,
        }
    }
}

/// What to do with a force's [`NbKernel`] once its flags are constants
/// (see [`NbPrep::with_kernel`]).
pub(super) trait WithNbKernel {
    /// What the work returns.
    type Output;
    /// Do it with `kernel`.
    fn run<const RF: bool, const SW: bool>(self, kernel: NbKernel<'_, RF, SW>) -> Self::Output;
}

impl NbPrep {
    /// Hand `then` this force's pair kernel with its reaction-field
    /// (cutoff) and switching flags resolved to constants: the one place
    /// where the runtime flags become the kernel's type.
    pub(super) fn with_kernel<W: WithNbKernel>(&self, then: W) -> W::Output {
        match (self.force.method.has_cutoff(), self.switch.is_some()) {
            (false, _) => then.run(NbKernel::<false, false> { p: self }),
            (true, false) => then.run(NbKernel::<true, false> { p: self }),
            (true, true) => then.run(NbKernel::<true, true> { p: self }),
        }
    }
}

/// The LJ + Coulomb pair kernel; `RF`: reaction field (cutoff methods),
/// `SW`: LJ switching.
pub(super) struct NbKernel<'a, const RF: bool, const SW: bool> {
    pub p: &'a NbPrep,
}

impl<const RF: bool, const SW: bool> PairKernel for NbKernel<'_, RF, SW> {
    const FORCE: bool = true;
    const ENERGY: bool = true;
    const SI: bool = false;
    const SJ: bool = false;
    const STORE: bool = false;
    const NP: usize = 3;

    fn params(&self) -> [&[f64]; MAX_PARAMS] {
        [&self.p.q, &self.p.half_sigma, &self.p.two_sqrt_eps, &[]]
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
        let qi = ONE_4PI_EPS0 * p.q[i];
        let (hsi, sei) = (p.half_sigma[i], p.two_sqrt_eps[i]);
        let sw = p.switch.unwrap_or((0.0, 0.0));
        let rf = p.rf;
        let [qj, hsj, sej, _] = pj;
        let len = len.min(CAP).min(qj.len()).min(hsj.len()).min(sej.len());
        let SegOut { f, e, t, .. } = out;
        let inv_r = &mut t[0];
        for k in 0..len {
            inv_r[k] = rsqrt(s.r2[k]);
        }
        for k in 0..len {
            let (ek, fk) = lj_coulomb::<RF, SW>(
                s.r2[k],
                inv_r[k],
                hsi + hsj[k],
                sei * sej[k],
                qi * qj[k],
                rf,
                sw,
            );
            let ok = s.ok_unexcluded(k);
            e[k] = if ok { ek } else { 0.0 };
            f[k] = if ok { fk } else { 0.0 };
        }
    }
}
