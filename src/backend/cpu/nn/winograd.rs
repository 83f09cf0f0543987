//! NHWC 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2×2 output tile comes from a 4×4 input tile: `Y = Aᵀ[(G g Gᵀ) ⊙
//! (Bᵀ d B)]A`. Summed over input channels, the 16 element-wise products become
//! 16 GEMMs `[tiles, in] × [in, out]`: 2.25× fewer multiplications than direct
//! convolution. The transforms only add, subtract and halve, so the error stays
//! within a few ulps of direct summation. Channels are innermost (NHWC), so
//! the transforms vectorise over channels.

use gemm::Parallelism;
use rayon::prelude::*;

use super::{with_scratch, OutPtr};
use crate::backend::cpu::multiversion::multiversion;
use crate::nn::kernels::{Activation, Conv2dShape};

/// Scratch for one work item's transformed tiles (input and output), in bytes.
const BLOCK_BYTES: usize = 1 << 19;

/// Whether the Winograd path handles this convolution (and pays off).
pub(super) fn applies(s: &Conv2dShape) -> bool {
    s.kernel_h == 3 && s.kernel_w == 3 && s.stride == 1 && s.in_channels >= 8
}

/// NHWC convolution of a validated, non-empty 3×3 stride-1 shape: one work
/// item per block of consecutive tiles (numbered sample by sample, row by row).
pub(super) fn conv2d(
    s: &Conv2dShape,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let (cin, cout) = (s.in_channels, s.out_channels);
    let total = s.batch * s.out_h().div_ceil(2) * s.out_w().div_ceil(2);
    let block = (BLOCK_BYTES / (4 * 16 * (cin + cout))).clamp(16, 512) / 8 * 8;
    let blocks = total.div_ceil(block);
    let u = transform_weights(w, cin, cout);
    let zeros = vec![0.0; cin];
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|blk| {
        let t0 = blk * block;
        let nt = block.min(total - t0);
        with_scratch(16 * (cin + cout) * nt, |buf| {
            let (v, m) = buf.split_at_mut(16 * cin * nt);
            transform_input(s, x, &zeros, t0, nt, v);
            for xi in 0..16 {
                // SAFETY: v holds [nt][16][cin] and m [nt][16][cout] (so entry
                // xi is a matrix with row stride 16·cin / 16·cout), u [16][cin][cout];
                // all inside their slices; m is this thread's scratch.
                unsafe {
                    gemm::gemm(
                        nt,
                        cout,
                        cin,
                        m[xi * cout..].as_mut_ptr(),
                        1,
                        (16 * cout) as isize,
                        false,
                        v[xi * cin..].as_ptr(),
                        1,
                        (16 * cin) as isize,
                        u[xi * cin * cout..].as_ptr(),
                        1,
                        cout as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
            transform_output(s, m, t0, nt, b, act, out_ptr);
        });
    });
}

/// Sample and top-left output pixel of tile `t`.
#[inline(always)]
fn tile(s: &Conv2dShape, t: usize) -> (usize, usize, usize) {
    let tw = s.out_w().div_ceil(2);
    let per_sample = s.out_h().div_ceil(2) * tw;
    let (n, r) = (t / per_sample, t % per_sample);
    (n, 2 * (r / tw), 2 * (r % tw))
}

/// `U = G g Gᵀ` for every (out, in) filter, stored `[16][in][out]`.
fn transform_weights(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut u = vec![0.0; 16 * cout * cin];
    for (f, g) in w.chunks_exact(9).enumerate() {
        let (co, ci) = (f / cin, f % cin);
        let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        // G g (4 × 3), then (G g) Gᵀ row by row.
        let mut gg = [[0.0f64; 3]; 4];
        for c in 0..3 {
            let (g0, g1, g2) = (g[c], g[3 + c], g[6 + c]);
            gg[0][c] = g0;
            gg[1][c] = 0.5 * (g0 + g1 + g2);
            gg[2][c] = 0.5 * (g0 - g1 + g2);
            gg[3][c] = g2;
        }
        for (i, r) in gg.iter().enumerate() {
            let row = [
                r[0],
                0.5 * (r[0] + r[1] + r[2]),
                0.5 * (r[0] - r[1] + r[2]),
                r[2],
            ];
            for (j, &val) in row.iter().enumerate() {
                u[((i * 4 + j) * cin + ci) * cout + co] = val as f32;
            }
        }
    }
    u
}

multiversion! {
    /// `V = Bᵀ d B` for tiles `t0..t0+nt` and every input channel, stored
    /// `[tile][16][in]` in `v`; `zeros` (≥ `in` zeros) stands for padding.
    fn transform_input(s: &Conv2dShape, x: &[f32], zeros: &[f32], t0: usize, nt: usize, v: &mut [f32]) {
        let cin = s.in_channels;
        let (h, w) = (s.in_h as isize, s.in_w as isize);
        for (t, vt) in v[..nt * 16 * cin].chunks_exact_mut(16 * cin).enumerate() {
            let (n, oy, ox) = tile(s, t0 + t);
            let (y0, x0) = (oy as isize - s.pad_h as isize, ox as isize - s.pad_w as isize);
            // Input pixel (i, j) of the tile, or zeros outside the image.
            let d: [&[f32]; 16] = std::array::from_fn(|ij| {
                let (yy, xx) = (y0 + (ij / 4) as isize, x0 + (ij % 4) as isize);
                if yy < 0 || yy >= h || xx < 0 || xx >= w {
                    &zeros[..cin]
                } else {
                    let o = ((n * s.in_h + yy as usize) * s.in_w + xx as usize) * cin;
                    &x[o..o + cin]
                }
            });
            input_tile(&d, vt, cin);
        }
    }
}

/// `Bᵀ d B` of one tile for every channel: `d[4i + j]` is input pixel (i, j),
/// `v[(4i + j)·cin + c]` receives entry (i, j) for channel c.
#[inline(always)]
fn input_tile(d: &[&[f32]; 16], v: &mut [f32], cin: usize) {
    assert!(v.len() == 16 * cin && d.iter().all(|s| s.len() == cin));
    for c in 0..cin {
        let e = |ij: usize| d[ij][c];
        // Bᵀ d: rows 0..3 from input rows (0 - 2, 1 + 2, 2 - 1, 1 - 3).
        let r: [[f32; 4]; 4] = [
            [e(0) - e(8), e(1) - e(9), e(2) - e(10), e(3) - e(11)],
            [e(4) + e(8), e(5) + e(9), e(6) + e(10), e(7) + e(11)],
            [e(8) - e(4), e(9) - e(5), e(10) - e(6), e(11) - e(7)],
            [e(4) - e(12), e(5) - e(13), e(6) - e(14), e(7) - e(15)],
        ];
        // (Bᵀ d) B: the same combination of columns.
        for (i, q) in r.iter().enumerate() {
            v[(4 * i) * cin + c] = q[0] - q[2];
            v[(4 * i + 1) * cin + c] = q[1] + q[2];
            v[(4 * i + 2) * cin + c] = q[2] - q[1];
            v[(4 * i + 3) * cin + c] = q[1] - q[3];
        }
    }
}

multiversion! {
    /// `Y = Aᵀ M A` for tiles `t0..t0+nt` and every output channel (`m` is
    /// `[tile][16][out]`), plus bias and activation, written to the NHWC output
    /// at `out` (pixels past the edge go to scratch and are dropped).
    fn transform_output(
        s: &Conv2dShape,
        m: &[f32],
        t0: usize,
        nt: usize,
        b: &[f32],
        act: Activation,
        out: OutPtr,
    ) {
        let (oh, ow, cout) = (s.out_h(), s.out_w(), s.out_channels);
        let mut junk = vec![0.0; 4 * cout];
        for (t, mt) in m[..nt * 16 * cout].chunks_exact(16 * cout).enumerate() {
            let (n, oy, ox) = tile(s, t0 + t);
            let mut spare = junk.chunks_exact_mut(cout);
            let y = [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(i, j)| {
                let sp = spare.next().expect("one spare per pixel");
                let (py, px) = (oy + i, ox + j);
                if py >= oh || px >= ow {
                    return sp;
                }
                let o = ((n * oh + py) * ow + px) * cout;
                // SAFETY: pixel (n, py, px) is inside the output (checked
                // shape) and belongs to a tile of this work item only; the
                // four pixels of a tile are distinct.
                unsafe { std::slice::from_raw_parts_mut(out.get().add(o), cout) }
            });
            match act {
                Activation::Identity => output_tile(mt, b, y, |v| v),
                Activation::Relu => output_tile(mt, b, y, |v| v.max(0.0)),
                a => output_tile(mt, b, y, |v| a.apply(v)),
            }
        }
    }
}

/// `f(Aᵀ M A + b)` of one tile for every channel: `m[xi·cout + c]` is entry
/// `xi` for channel c; `y` receives output pixels (0,0), (0,1), (1,0), (1,1).
#[inline(always)]
fn output_tile(m: &[f32], b: &[f32], y: [&mut [f32]; 4], f: impl Fn(f32) -> f32) {
    let cout = b.len();
    let [y00, y01, y10, y11] = y;
    assert!(m.len() == 16 * cout && [&y00, &y01, &y10, &y11].iter().all(|s| s.len() == cout));
    for c in 0..cout {
        let e = |xi: usize| m[xi * cout + c];
        // Aᵀ M: rows (0 + 1 + 2) and (1 - 2 - 3), then the same on columns.
        let s0: [f32; 4] = std::array::from_fn(|j| e(j) + e(4 + j) + e(8 + j));
        let s1: [f32; 4] = std::array::from_fn(|j| e(4 + j) - e(8 + j) - e(12 + j));
        y00[c] = f(s0[0] + s0[1] + s0[2] + b[c]);
        y01[c] = f(s0[1] - s0[2] - s0[3] + b[c]);
        y10[c] = f(s1[0] + s1[1] + s1[2] + b[c]);
        y11[c] = f(s1[1] - s1[2] - s1[3] + b[c]);
    }
}
