//! The f32 leaf-run and box kernels in 512-bit registers (two per 32
//! lanes instead of four): the same operations per lane, in the same order,
//! as the AVX2 path in the parent module, so every tier returns the same
//! values and masks.
//!
//! Only called where `WIDE` is true, i.e. from code compiled with the
//! `avx512f` target feature (see `multiversion!`).

use std::arch::x86_64::*;

/// [`super::Scalar::run32`] for f32 with AVX-512F.
#[inline(always)]
pub(super) fn run32(run: &[f32], q: &[f32], accept: f32, out: &mut [f32; 32]) -> u32 {
    let run = &run[..q.len() * 32];
    // SAFETY: only reached from code compiled with avx512f (module doc);
    // every load reads 16 floats inside `run` (length checked above) and
    // the stores write inside `out`.
    unsafe {
        let (mut a0, mut a1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let a = _mm512_set1_ps(accept);
        let mut x = run.as_ptr();
        // Partial sums only grow: once every lane exceeds `accept` (checked
        // after `EARLY` components, as the AVX2 path does), no lane hits.
        const EARLY: usize = 6;
        for (d, &qd) in q.iter().enumerate() {
            let qv = _mm512_set1_ps(qd);
            let t0 = _mm512_sub_ps(_mm512_loadu_ps(x), qv);
            let t1 = _mm512_sub_ps(_mm512_loadu_ps(x.add(16)), qv);
            a0 = _mm512_fmadd_ps(t0, t0, a0);
            a1 = _mm512_fmadd_ps(t1, t1, a1);
            x = x.add(32);
            if d + 1 == EARLY && q.len() > EARLY {
                let hit = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a0, a)
                    | _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a1, a);
                if hit == 0 {
                    return 0;
                }
            }
        }
        let o = out.as_mut_ptr();
        _mm512_storeu_ps(o, a0);
        _mm512_storeu_ps(o.add(16), a1);
        let m0 = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a0, a) as u32;
        let m1 = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a1, a) as u32;
        m0 | m1 << 16
    }
}

/// [`super::Scalar::box_lower32`] for f32 with AVX-512F.
#[inline(always)]
pub(super) fn box_lower32(q: &[f32], lo: &[f32], hi: &[f32], limit: &[f32; 32]) -> u32 {
    let dim = lo.len().min(hi.len());
    let q = &q[..dim * 32];
    // SAFETY: only reached from code compiled with avx512f (module doc);
    // loads read 16 floats inside `q` (length checked above) and `limit`.
    unsafe {
        let zero = _mm512_setzero_ps();
        let (mut a0, mut a1) = (zero, zero);
        let mut x = q.as_ptr();
        for (&l, &h) in lo.iter().zip(hi) {
            let (lv, hv) = (_mm512_set1_ps(l), _mm512_set1_ps(h));
            // max(max(l − q, q − h), 0) with the AVX2 path's operand order
            // (maxps returns its second operand when either is NaN).
            let gap = |qv| {
                let g = _mm512_max_ps(_mm512_sub_ps(lv, qv), _mm512_sub_ps(qv, hv));
                _mm512_max_ps(g, zero)
            };
            let (g0, g1) = (gap(_mm512_loadu_ps(x)), gap(_mm512_loadu_ps(x.add(16))));
            a0 = _mm512_fmadd_ps(g0, g0, a0);
            a1 = _mm512_fmadd_ps(g1, g1, a1);
            x = x.add(32);
        }
        let t = limit.as_ptr();
        let m0 = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a0, _mm512_loadu_ps(t)) as u32;
        let m1 = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a1, _mm512_loadu_ps(t.add(16))) as u32;
        m0 | m1 << 16
    }
}
