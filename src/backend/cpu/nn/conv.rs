//! NHWC convolution as im2col + GEMM: for each block of output pixels (numbered
//! across the whole batch), gather the receptive fields into rows of
//! `k = kh × kw × in` values and multiply by the weights `[k, out]` straight
//! into the NHWC output.

use gemm::Parallelism;
use rayon::prelude::*;

use super::simd::bias_act_rows;
use super::{with_scratch, OutPtr};
use crate::nn::kernels::{Activation, Conv2dShape};

/// Target size of one im2col block, in f32 elements (512 KiB: fits in L2).
const COL_BLOCK_ELEMS: usize = 128 * 1024;
/// Most output pixels per work item.
const MAX_BLOCK_PIXELS: usize = 4096;

/// NHWC convolution of a validated, non-empty shape.
pub(super) fn conv2d(
    s: &Conv2dShape,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let (cin, cout) = (s.in_channels, s.out_channels);
    let pixels = s.out_h() * s.out_w();
    let total = s.batch * pixels;
    let k = cin * s.kernel_h * s.kernel_w;
    let pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride == 1;
    let pointwise = pointwise && s.pad_h == 0 && s.pad_w == 0;
    let block = (COL_BLOCK_ELEMS / k).clamp(16, MAX_BLOCK_PIXELS);
    let blocks = total.div_ceil(block);
    let wt = weights_k_major(s, w);
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|blk| {
        let g0 = blk * block;
        let np = block.min(total - g0);
        // SAFETY: item `blk` owns output pixels g0..g0+np (all channels), a
        // range inside `out` (length checked by `s.check`).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(g0 * cout), np * cout) };
        if pointwise {
            // The NHWC input of a 1×1 convolution already is the im2col matrix.
            gemm_rows(np, k, cout, &x[g0 * cin..(g0 + np) * cin], &wt, dst);
        } else {
            with_scratch(np * k, |col| {
                im2col(s, x, g0, np, col);
                gemm_rows(np, k, cout, col, &wt, dst);
            });
        }
        bias_act_rows(dst, b, act);
    });
}

/// `dst[i, j] = Σ_r lhs[i, r] · rhs[r, j]`, all row-major and contiguous.
fn gemm_rows(m: usize, k: usize, n: usize, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) {
    assert!(lhs.len() >= m * k && rhs.len() >= k * n && dst.len() >= m * n);
    // SAFETY: the three matrices lie inside their slices (asserted above) and
    // `dst` is exclusively borrowed.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// Weights `[out, in, kh, kw]` as `[(kh, kw, in), out]`, the im2col row order.
fn weights_k_major(s: &Conv2dShape, w: &[f32]) -> Vec<f32> {
    let (cin, cout, kh_n, kw_n) = (s.in_channels, s.out_channels, s.kernel_h, s.kernel_w);
    let mut wt = vec![0.0; w.len()];
    for co in 0..cout {
        for ci in 0..cin {
            for kh in 0..kh_n {
                for kw in 0..kw_n {
                    let r = (kh * kw_n + kw) * cin + ci;
                    wt[r * cout + co] = w[((co * cin + ci) * kh_n + kh) * kw_n + kw];
                }
            }
        }
    }
    wt
}

/// Gather output pixels `g0..g0+np` (numbered across the batch) into rows
/// `col[j, (kh, kw, ci)]` (zero where padded).
fn im2col(s: &Conv2dShape, x: &[f32], g0: usize, np: usize, col: &mut [f32]) {
    let (cin, ow_n, pixels) = (s.in_channels, s.out_w(), s.out_h() * s.out_w());
    let (kh_n, kw_n) = (s.kernel_h, s.kernel_w);
    let k = cin * kh_n * kw_n;
    let run = kw_n * cin; // one kernel row: contiguous in NHWC
    for (j, row) in col[..np * k].chunks_exact_mut(k).enumerate() {
        let g = g0 + j;
        let (n, p) = (g / pixels, g % pixels);
        let (oh, ow) = (p / ow_n, p % ow_n);
        let iw0 = (ow * s.stride) as isize - s.pad_w as isize;
        for (kh, dst) in row.chunks_exact_mut(run).enumerate() {
            let ih = (oh * s.stride + kh) as isize - s.pad_h as isize;
            if ih < 0 || ih >= s.in_h as isize {
                dst.fill(0.0);
                continue;
            }
            let base = (n * s.in_h + ih as usize) * s.in_w;
            if iw0 >= 0 && iw0 as usize + kw_n <= s.in_w {
                let o = (base + iw0 as usize) * cin;
                copy(dst, &x[o..o + run]);
                continue;
            }
            for (kw, d) in dst.chunks_exact_mut(cin).enumerate() {
                let iw = iw0 + kw as isize;
                if iw < 0 || iw >= s.in_w as isize {
                    d.fill(0.0);
                } else {
                    let o = (base + iw as usize) * cin;
                    copy(d, &x[o..o + cin]);
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)`, without a `memcpy` call for short runs.
#[inline(always)]
fn copy(dst: &mut [f32], src: &[f32]) {
    if dst.len() <= 16 {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = v;
        }
    } else {
        dst.copy_from_slice(src);
    }
}
