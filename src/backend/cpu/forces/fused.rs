//! The nonbonded LJ + Coulomb kernel fused into GB's last pass (the chain
//! rule through the Born radii): when both forces use the same pairs, one
//! traversal and one force scatter serve both.

// Stage loops index several parallel lane arrays at once; `for k in 0..len`
// is the form the compiler vectorises best and the clearest here.
#![allow(clippy::needless_range_loop)]

use super::gbsa::GbChainKernel;
use super::nonbonded::NbKernel;
use super::pairs::{PairKernel, SegIn, SegOut, CAP, MAX_PARAMS, TMP};

/// [`NbKernel`] + [`GbChainKernel`]: forces add per lane, the energy is
/// the nonbonded one (the chain rule has none).
pub(super) struct NbChainKernel<'a, const RF: bool, const SW: bool> {
    pub nb: NbKernel<'a, RF, SW>,
    pub gb: GbChainKernel<'a>,
}

impl<const RF: bool, const SW: bool> PairKernel for NbChainKernel<'_, RF, SW> {
    const FORCE: bool = true;
    const ENERGY: bool = true;
    const SI: bool = false;
    const SJ: bool = false;
    const STORE: bool = true;
    const NP: usize = 4;

    fn params(&self) -> [&[f64]; MAX_PARAMS] {
        let [q, hs, se, _] = self.nb.params();
        [q, hs, se, self.gb.params()[0]]
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
        // The chain-rule forces first, set aside in the last scratch array
        // (the nonbonded kernel uses only the first).
        self.gb
            .segment(i, len, s, [pj[3], &[], &[], &[]], store, out);
        let len = len.min(CAP);
        let (f, t) = (&out.f, &mut out.t[TMP - 1]);
        t[..len].copy_from_slice(&f[..len]);
        self.nb.segment(
            i,
            len,
            s,
            [pj[0], pj[1], pj[2], &[]],
            [&mut [], &mut []],
            out,
        );
        let SegOut { f, t, .. } = out;
        for (a, b) in f[..len].iter_mut().zip(&t[TMP - 1][..len]) {
            *a += b;
        }
    }
}
