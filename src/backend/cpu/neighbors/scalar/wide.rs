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

#[cfg(test)]
mod tests {
    use super::super::Scalar;

    #[target_feature(enable = "avx512f,avx2,fma")]
    fn run32_wide(run: &[f32], q: &[f32], accept: f32, out: &mut [f32; 32]) -> u32 {
        <f32 as Scalar>::run32::<true, true>(run, q, accept, out)
    }

    #[target_feature(enable = "avx2,fma")]
    fn run32_avx2(run: &[f32], q: &[f32], accept: f32, out: &mut [f32; 32]) -> u32 {
        <f32 as Scalar>::run32::<true, false>(run, q, accept, out)
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    fn box_wide(q: &[f32], lo: &[f32], hi: &[f32], limit: &[f32; 32]) -> u32 {
        <f32 as Scalar>::box_lower32::<true, true>(q, lo, hi, limit)
    }

    #[target_feature(enable = "avx2,fma")]
    fn box_avx2(q: &[f32], lo: &[f32], hi: &[f32], limit: &[f32; 32]) -> u32 {
        <f32 as Scalar>::box_lower32::<true, false>(q, lo, hi, limit)
    }

    /// Deterministic values in [-2, 2), with NaN padding lanes as leaf runs
    /// have them.
    fn values(n: usize, seed: u64, nan_every: usize) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if nan_every > 0 && i % nan_every == nan_every - 1 {
                    f32::NAN
                } else {
                    ((s >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
                }
            })
            .collect()
    }

    fn bits(v: &[f32; 32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn wide_tier_equals_avx2_tier_bit_for_bit() {
        if !(is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma"))
        {
            eprintln!("skipped: this CPU has no avx512f");
            return;
        }
        let mut hits = 0;
        for (case, dim) in [1usize, 3, 6, 7, 10, 16, 33].into_iter().enumerate() {
            let seed = case as u64 + 1;
            let run = values(dim * 32, seed, 13);
            let q = values(dim, seed + 100, 0);
            for accept in [0.5f32, 2.0, dim as f32, 100.0] {
                let (mut wide, mut avx2) = ([-1.0f32; 32], [-1.0f32; 32]);
                // SAFETY: the features were detected above.
                let (mw, ma) = unsafe {
                    (
                        run32_wide(&run, &q, accept, &mut wide),
                        run32_avx2(&run, &q, accept, &mut avx2),
                    )
                };
                assert_eq!(mw, ma, "run32 mask, dim {dim}, accept {accept}");
                assert_eq!(bits(&wide), bits(&avx2), "run32 values, dim {dim}");
                hits += mw.count_ones();
            }
            let qt = values(dim * 32, seed + 200, 11);
            let lo = values(dim, seed + 300, 0);
            let hi: Vec<f32> = lo.iter().map(|l| l + 0.5).collect();
            let limit: [f32; 32] = values(32, seed + 400, 0)
                .iter()
                .map(|x| x.abs() * dim as f32)
                .collect::<Vec<_>>()
                .try_into()
                .unwrap();
            // SAFETY: the features were detected above.
            let (bw, ba) = unsafe {
                (
                    box_wide(&qt, &lo, &hi, &limit),
                    box_avx2(&qt, &lo, &hi, &limit),
                )
            };
            assert_eq!(bw, ba, "box_lower32 mask, dim {dim}");
        }
        assert!(
            hits > 0,
            "no case accepted any lane: the test checks nothing"
        );
    }
}
