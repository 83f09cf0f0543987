//! Convolution as im2col + GEMM: for each sample and block of output rows,
//! gather the receptive fields into a `[k, pixels]` matrix (k = in × kh × kw)
//! and multiply by the weights `[out, k]` straight into the NCHW output.

use gemm::Parallelism;
use rayon::prelude::*;

use super::{bias_act, with_scratch, OutPtr};
use crate::nn::kernels::{Activation, Conv2dShape};

/// Target size of one im2col block, in f32 elements (512 KiB: fits in L2).
const COL_BLOCK_ELEMS: usize = 128 * 1024;

/// Convolution of a validated, non-empty shape: one work item per
/// (sample, block of whole output rows).
pub(super) fn conv2d(
    s: &Conv2dShape,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let (oh_n, ow_n) = (s.out_h(), s.out_w());
    let pixels = oh_n * ow_n;
    let k = s.in_channels * s.kernel_h * s.kernel_w;
    let pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride == 1;
    let pointwise = pointwise && s.pad_h == 0 && s.pad_w == 0;
    let rows_per_block = (COL_BLOCK_ELEMS / (k * ow_n)).clamp(1, oh_n);
    let blocks = oh_n.div_ceil(rows_per_block);
    let out_ptr = OutPtr(out.as_mut_ptr());
    let (in_len, out_len) = (s.in_sample_len(), s.out_sample_len());
    (0..s.batch * blocks).into_par_iter().for_each(|item| {
        let (n, blk) = (item / blocks, item % blocks);
        let oh0 = blk * rows_per_block;
        let noh = rows_per_block.min(oh_n - oh0);
        let (p0, nc) = (oh0 * ow_n, noh * ow_n);
        let xn = &x[n * in_len..(n + 1) * in_len];
        // SAFETY: item (n, blk) owns output rows oh0..oh0+noh of every channel
        // of sample n; the offset stays inside `out` (checked by `s.check`).
        let dst = unsafe { out_ptr.get().add(n * out_len + p0) };
        if pointwise {
            // The input of a 1×1 convolution already is the im2col matrix.
            // SAFETY: k rows of `pixels` values start at xn[p0]; dst as above.
            unsafe { gemm_block(s, k, nc, pixels, xn[p0..].as_ptr(), pixels, w, dst) };
        } else {
            with_scratch(k * nc, |col| {
                im2col(s, xn, oh0, noh, col);
                // SAFETY: `col` holds k rows of nc values; dst as above.
                unsafe { gemm_block(s, k, nc, pixels, col.as_ptr(), nc, w, dst) };
            });
        }
        // SAFETY: as above, this item's rows of sample n.
        unsafe { bias_act(dst, s.out_channels, nc, pixels, b, act) };
    });
}

/// `dst[co, j] = Σ_r w[co, r] · rhs[r, j]` for `j < nc` (dst row stride `pixels`).
///
/// # Safety
/// `rhs` must address `k` rows of `nc` readable values with row stride
/// `rhs_rs`, and `dst` `out_channels` rows of `nc` writable values with row
/// stride `pixels`, not accessed by any other thread meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block(
    s: &Conv2dShape,
    k: usize,
    nc: usize,
    pixels: usize,
    rhs: *const f32,
    rhs_rs: usize,
    w: &[f32],
    dst: *mut f32,
) {
    gemm::gemm(
        s.out_channels,
        nc,
        k,
        dst,
        1,
        pixels as isize,
        false,
        w.as_ptr(),
        1,
        k as isize,
        rhs,
        1,
        rhs_rs as isize,
        0.0,
        1.0,
        false,
        false,
        false,
        Parallelism::None,
    );
}

/// Gather output rows `oh0..oh0+noh` of one sample into `col[r, j]`, where
/// `r = (ci, kh, kw)` runs over the receptive field (zero where padded).
fn im2col(s: &Conv2dShape, xn: &[f32], oh0: usize, noh: usize, col: &mut [f32]) {
    let ow_n = s.out_w();
    let st = s.stride;
    let nc = noh * ow_n;
    let mut rows = col.chunks_exact_mut(nc);
    for ci in 0..s.in_channels {
        let plane = &xn[ci * s.in_h * s.in_w..(ci + 1) * s.in_h * s.in_w];
        for kh in 0..s.kernel_h {
            for kw in 0..s.kernel_w {
                let dst = rows.next().expect("col holds k rows");
                // Output columns [lo, hi) read inside the row: iw = ow*st + kw - pad_w.
                let lo = s.pad_w.saturating_sub(kw).div_ceil(st).min(ow_n);
                let hi = (s.in_w + s.pad_w).saturating_sub(kw).div_ceil(st).clamp(lo, ow_n);
                for (seg, oh) in dst.chunks_exact_mut(ow_n).zip(oh0..) {
                    let ih = (oh * st + kh) as isize - s.pad_h as isize;
                    if ih < 0 || ih >= s.in_h as isize || lo == hi {
                        seg.fill(0.0);
                        continue;
                    }
                    let row = &plane[ih as usize * s.in_w..(ih as usize + 1) * s.in_w];
                    seg[..lo].fill(0.0);
                    seg[hi..].fill(0.0);
                    let start = lo * st + kw - s.pad_w;
                    let inner = &mut seg[lo..hi];
                    if st == 1 {
                        inner.copy_from_slice(&row[start..start + inner.len()]);
                    } else {
                        for (v, &r) in inner.iter_mut().zip(row[start..].iter().step_by(st)) {
                            *v = r;
                        }
                    }
                }
            }
        }
    }
}
