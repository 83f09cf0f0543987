//! Neural-network kernels for the cpu backend: convolutions as im2col + GEMM
//! (faer's `gemm`), dense layers as blocked GEMM, rayon over fixed work items.
//!
//! Determinism: work is split into items whose boundaries depend only on the
//! problem shape (never on the thread count), each item is computed by one
//! single-threaded GEMM call, and items write disjoint outputs. Results are
//! therefore bitwise identical for any number of threads.

use std::cell::RefCell;

use gemm::Parallelism;
use rayon::prelude::*;

use super::CpuBackend;
use crate::error::Result;
use crate::nn::kernels::{
    check_max_args, Activation, Conv1dShape, Conv2dShape, LinearShape, NnKernels,
};

/// Target size of one im2col block, in f32 elements (512 KiB: fits in L2).
const COL_BLOCK_ELEMS: usize = 128 * 1024;
/// Rows (samples) per dense-layer work item.
const LINEAR_ROWS: usize = 64;
/// Output features per dense-layer work item.
const LINEAR_COLS: usize = 64;

thread_local! {
    /// Per-thread im2col buffer, grown on demand and reused across calls.
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A raw output pointer shared by work items that write disjoint regions.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: every work item writes a region of the output no other item touches,
// and the owning `&mut [f32]` outlives the parallel loop.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut f32 {
        self.0
    }
}

impl NnKernels for CpuBackend {
    fn conv2d(
        &self,
        s: &Conv2dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        conv2d(s, x, w, b, act, out);
        Ok(())
    }

    fn conv1d(
        &self,
        s: &Conv1dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        conv2d(&s.as_conv2d(), x, w, b, act, out);
        Ok(())
    }

    fn linear(
        &self,
        s: &LinearShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        linear(s, x, w, b, act, out);
        Ok(())
    }

    fn max_over_last_axis(
        &self,
        rows: usize,
        len: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<()> {
        check_max_args(rows, len, x, out)?;
        out.par_iter_mut()
            .zip(x.par_chunks_exact(len))
            .with_min_len(64)
            .for_each(|(o, xr)| *o = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        Ok(())
    }
}

/// Columns (output pixels) per im2col block for a reduction length `k`.
fn block_cols(k: usize, pixels: usize) -> usize {
    let cols = (COL_BLOCK_ELEMS / k.max(1)).max(64) / 16 * 16;
    cols.min(pixels)
}

/// Convolution of a validated shape: one work item per (sample, pixel block).
fn conv2d(s: &Conv2dShape, x: &[f32], w: &[f32], b: &[f32], act: Activation, out: &mut [f32]) {
    let pixels = s.out_h() * s.out_w();
    let k = s.in_channels * s.kernel_h * s.kernel_w;
    if s.batch == 0 || pixels == 0 {
        return;
    }
    let pointwise = s.kernel_h == 1 && s.kernel_w == 1 && s.stride == 1;
    let pointwise = pointwise && s.pad_h == 0 && s.pad_w == 0;
    let cols = block_cols(k, pixels);
    let blocks = pixels.div_ceil(cols);
    let out_ptr = OutPtr(out.as_mut_ptr());
    let out_sample = s.out_sample_len();
    (0..s.batch * blocks).into_par_iter().for_each(|item| {
        let (n, blk) = (item / blocks, item % blocks);
        let p0 = blk * cols;
        let nc = cols.min(pixels - p0);
        let xn = &x[n * s.in_sample_len()..(n + 1) * s.in_sample_len()];
        // SAFETY: item (n, blk) owns columns p0..p0+nc of every channel row of
        // sample n; the offset stays inside `out` (checked by `s.check`).
        let dst = unsafe { out_ptr.get().add(n * out_sample + p0) };
        if pointwise {
            // The input of a 1×1 convolution already is the im2col matrix.
            // SAFETY: see `gemm_block`; rows of length `pixels` start at p0.
            unsafe { gemm_block(s, k, nc, pixels, xn[p0..].as_ptr(), pixels, w, dst) };
        } else {
            COL.with(|col| {
                let mut col = col.borrow_mut();
                if col.len() < k * nc {
                    col.resize(k * nc, 0.0);
                }
                im2col(s, xn, p0, nc, &mut col[..k * nc]);
                // SAFETY: `col` holds k rows of nc values.
                unsafe { gemm_block(s, k, nc, pixels, col.as_ptr(), nc, w, dst) };
            });
        }
        // SAFETY: as above, this item's columns of sample n.
        unsafe { bias_act(dst, s.out_channels, nc, pixels, b, act) };
    });
}

/// `dst[co, j] = Σ_r w[co, r] · rhs[r, j]` for `j < nc` (dst row stride `pixels`).
///
/// # Safety
/// `rhs` must address `k` rows of `nc` readable values with row stride
/// `rhs_rs`, and `dst` `out_channels` rows of `nc` writable values with row
/// stride `pixels`, not aliased by any other thread.
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

/// Add the bias and apply the activation to `rows` rows of `nc` values.
///
/// # Safety
/// `dst` must address `rows` rows of `nc` writable values with stride `rs`.
unsafe fn bias_act(dst: *mut f32, rows: usize, nc: usize, rs: usize, b: &[f32], act: Activation) {
    for (r, &bias) in b.iter().enumerate().take(rows) {
        let row = std::slice::from_raw_parts_mut(dst.add(r * rs), nc);
        match act {
            Activation::Identity => row.iter_mut().for_each(|v| *v += bias),
            Activation::Relu => row.iter_mut().for_each(|v| *v = (*v + bias).max(0.0)),
            a => row.iter_mut().for_each(|v| *v = a.apply(*v + bias)),
        }
    }
}

/// Gather output pixels `p0..p0+nc` of one sample into `col[r, j]`, where
/// `r = (ci, kh, kw)` runs over the receptive field (zero where padded).
fn im2col(s: &Conv2dShape, xn: &[f32], p0: usize, nc: usize, col: &mut [f32]) {
    let ow_n = s.out_w();
    let st = s.stride;
    let mut rows = col.chunks_exact_mut(nc);
    for ci in 0..s.in_channels {
        let plane = &xn[ci * s.in_h * s.in_w..(ci + 1) * s.in_h * s.in_w];
        for kh in 0..s.kernel_h {
            for kw in 0..s.kernel_w {
                let dst = rows.next().expect("col holds k rows");
                // Output columns whose input column iw = ow*st + kw - pad_w is inside.
                let lo = (s.pad_w.saturating_sub(kw)).div_ceil(st);
                let hi = (s.in_w + s.pad_w).saturating_sub(kw).div_ceil(st).min(ow_n);
                let mut p = p0;
                while p < p0 + nc {
                    let (oh, ow0) = (p / ow_n, p % ow_n);
                    let ow1 = ow_n.min(ow0 + p0 + nc - p);
                    let seg = &mut dst[p - p0..p - p0 + (ow1 - ow0)];
                    let ih = (oh * st + kh) as isize - s.pad_h as isize;
                    if ih < 0 || ih >= s.in_h as isize {
                        seg.fill(0.0);
                    } else {
                        let row = &plane[ih as usize * s.in_w..(ih as usize + 1) * s.in_w];
                        let a = lo.clamp(ow0, ow1);
                        let z = hi.clamp(a, ow1);
                        seg[..a - ow0].fill(0.0);
                        seg[z - ow0..].fill(0.0);
                        let inner = &mut seg[a - ow0..z - ow0];
                        if inner.is_empty() {
                            p += ow1 - ow0;
                            continue;
                        }
                        let start = a * st + kw - s.pad_w;
                        if st == 1 {
                            inner.copy_from_slice(&row[start..start + inner.len()]);
                        } else {
                            for (j, v) in inner.iter_mut().enumerate() {
                                *v = row[start + j * st];
                            }
                        }
                    }
                    p += ow1 - ow0;
                }
            }
        }
    }
}

/// Dense layer of a validated shape: one work item per (row block, column block).
fn linear(s: &LinearShape, x: &[f32], w: &[f32], b: &[f32], act: Activation, out: &mut [f32]) {
    let (fi, fo) = (s.in_features, s.out_features);
    let row_blocks = s.batch.div_ceil(LINEAR_ROWS);
    let col_blocks = fo.div_ceil(LINEAR_COLS);
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..row_blocks * col_blocks)
        .into_par_iter()
        .for_each(|item| {
            let (rb, cb) = (item / col_blocks, item % col_blocks);
            let (r0, c0) = (rb * LINEAR_ROWS, cb * LINEAR_COLS);
            let nr = LINEAR_ROWS.min(s.batch - r0);
            let nc = LINEAR_COLS.min(fo - c0);
            // SAFETY: item (rb, cb) owns rows r0..r0+nr × columns c0..c0+nc of
            // `out` ([batch, fo], checked); x rows and w rows are in bounds.
            unsafe {
                let dst = out_ptr.get().add(r0 * fo + c0);
                gemm::gemm(
                    nr,
                    nc,
                    fi,
                    dst,
                    1,
                    fo as isize,
                    false,
                    x.as_ptr().add(r0 * fi),
                    1,
                    fi as isize,
                    // rhs[k, j] = w[c0 + j, k]
                    w.as_ptr().add(c0 * fi),
                    fi as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::None,
                );
                for r in 0..nr {
                    let row = std::slice::from_raw_parts_mut(dst.add(r * fo), nc);
                    for (v, &bias) in row.iter_mut().zip(&b[c0..c0 + nc]) {
                        *v = act.apply(*v + bias);
                    }
                }
            }
        });
}
