//! Neural-network kernels for the cpu backend: 3×3 stride-1 convolutions by
//! Winograd F(2×2, 3×3), other convolutions by im2col + GEMM (faer's `gemm`),
//! dense layers as blocked GEMM; rayon over fixed work items. Convolutions run
//! in NHWC; NCHW (and NCL) data is transposed in and out.
//!
//! Determinism: work is split into items whose boundaries depend only on the
//! problem shape (never on the thread count), each item is computed by
//! single-threaded code (`Parallelism::None` GEMMs), and items write disjoint
//! outputs. Results are therefore bitwise identical for any number of threads.

mod conv;
mod simd;
mod winograd;

use std::cell::RefCell;

use gemm::Parallelism;
use rayon::prelude::*;

use super::CpuBackend;
use crate::error::Result;
use crate::nn::kernels::{
    check_max_args, Activation, Conv1dShape, Conv2dShape, Layout, LinearShape, NnKernels,
};

/// Rows (samples) per dense-layer work item.
const LINEAR_ROWS: usize = 256;
/// Output features per dense-layer work item.
const LINEAR_COLS: usize = 32;

thread_local! {
    /// Per-thread scratch (im2col blocks, Winograd tiles), reused across calls.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's scratch buffer grown to at least `len` values.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0.0);
        }
        f(&mut s[..len])
    })
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

/// Convolution of a validated shape, by the fastest applicable method.
fn conv2d(s: &Conv2dShape, x: &[f32], w: &[f32], b: &[f32], act: Activation, out: &mut [f32]) {
    if s.batch == 0 || s.out_h() * s.out_w() == 0 {
        return;
    }
    let nhwc = Conv2dShape {
        layout: Layout::Nhwc,
        ..*s
    };
    let run = |x: &[f32], out: &mut [f32]| {
        if winograd::applies(&nhwc) {
            winograd::conv2d(&nhwc, x, w, b, act, out);
        } else {
            conv::conv2d(&nhwc, x, w, b, act, out);
        }
    };
    match s.layout {
        Layout::Nhwc => run(x, out),
        Layout::Nchw => {
            let (pin, pout) = (s.in_h * s.in_w, s.out_h() * s.out_w());
            let xt = transpose_batch(x, s.in_channels, pin);
            let mut ot = vec![0.0; out.len()];
            run(&xt, &mut ot);
            let back = transpose_batch(&ot, pout, s.out_channels);
            out.copy_from_slice(&back);
        }
    }
}

/// Transpose each of the row-major `rows × cols` matrices stored back to back in `x`.
fn transpose_batch(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; x.len()];
    if rows == 1 || cols == 1 {
        t.copy_from_slice(x);
        return t;
    }
    t.par_chunks_mut(rows * cols)
        .zip(x.par_chunks(rows * cols))
        .for_each(|(t, x)| {
            for (r, row) in x.chunks_exact(cols).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    t[c * rows + r] = v;
                }
            }
        });
    t
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
