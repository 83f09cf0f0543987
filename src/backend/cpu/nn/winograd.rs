//! 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2×2 output tile comes from a 4×4 input tile: `Y = Aᵀ[(G g Gᵀ) ⊙
//! (Bᵀ d B)]A`. Summed over input channels, the 16 element-wise products become
//! 16 GEMMs `[out, in] × [in, tiles]`, 2.25× fewer multiplications than direct
//! convolution. The transforms only add, subtract and halve, so the error stays
//! within a few ulps of direct summation.

use gemm::Parallelism;
use rayon::prelude::*;

use super::{with_scratch, OutPtr};
use crate::nn::kernels::{Activation, Conv2dShape};

/// Scratch for one work item's transformed tiles (input and output), in bytes.
const BLOCK_BYTES: usize = 1 << 20;

/// Whether the Winograd path handles this convolution (and pays off).
pub(super) fn applies(s: &Conv2dShape) -> bool {
    s.kernel_h == 3 && s.kernel_w == 3 && s.stride == 1 && s.in_channels >= 8
}

/// Placement of one 2×2 output tile.
#[derive(Clone, Copy)]
struct Tile {
    /// Sample index.
    n: usize,
    /// Top-left output pixel.
    oy: usize,
    ox: usize,
}

/// Convolution of a validated, non-empty 3×3 stride-1 shape: one work item per
/// block of consecutive tiles (tiles numbered sample by sample, row by row).
pub(super) fn conv2d(
    s: &Conv2dShape,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    act: Activation,
    out: &mut [f32],
) {
    let (cin, cout) = (s.in_channels, s.out_channels);
    let (th, tw) = (s.out_h().div_ceil(2), s.out_w().div_ceil(2));
    let per_sample = th * tw;
    let total = s.batch * per_sample;
    let block = (BLOCK_BYTES / (4 * 16 * (cin + cout))).clamp(16, 512) / 8 * 8;
    let blocks = total.div_ceil(block);
    let u = transform_weights(w, cin, cout);
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|blk| {
        let t0 = blk * block;
        let nt = block.min(total - t0);
        let tiles: Vec<Tile> = (t0..t0 + nt)
            .map(|t| {
                let (n, r) = (t / per_sample, t % per_sample);
                Tile {
                    n,
                    oy: 2 * (r / tw),
                    ox: 2 * (r % tw),
                }
            })
            .collect();
        with_scratch(16 * (cin + cout) * nt, |buf| {
            let (v, m) = buf.split_at_mut(16 * cin * nt);
            transform_input(s, x, &tiles, v);
            for xi in 0..16 {
                // SAFETY: u[xi] is cout×cin, v[xi] cin×nt, m[xi] cout×nt, all
                // row-major inside their slices; m is this thread's scratch.
                unsafe {
                    gemm::gemm(
                        cout,
                        nt,
                        cin,
                        m[xi * cout * nt..].as_mut_ptr(),
                        1,
                        nt as isize,
                        false,
                        u[xi * cout * cin..].as_ptr(),
                        1,
                        cin as isize,
                        v[xi * cin * nt..].as_ptr(),
                        1,
                        nt as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            }
            // SAFETY: this item's tiles cover output pixels no other item writes.
            unsafe { transform_output(s, m, &tiles, b, act, out_ptr) };
        });
    });
}

/// `U = G g Gᵀ` for every (out, in) filter, stored `[16][out][in]`.
fn transform_weights(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut u = vec![0.0; 16 * cout * cin];
    for (f, g) in w.chunks_exact(9).enumerate() {
        let g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
        // Rows of G g (4 × 3), then (G g) Gᵀ row by row.
        let mut gg = [[0.0f64; 3]; 4];
        for c in 0..3 {
            let (g0, g1, g2) = (g[c], g[3 + c], g[6 + c]);
            gg[0][c] = g0;
            gg[1][c] = 0.5 * (g0 + g1 + g2);
            gg[2][c] = 0.5 * (g0 - g1 + g2);
            gg[3][c] = g2;
        }
        for (i, r) in gg.iter().enumerate() {
            let row = [r[0], 0.5 * (r[0] + r[1] + r[2]), 0.5 * (r[0] - r[1] + r[2]), r[2]];
            for (j, &val) in row.iter().enumerate() {
                u[(i * 4 + j) * cout * cin + f] = val as f32;
            }
        }
    }
    u
}

/// `V = Bᵀ d B` for every tile and input channel, stored `[16][in][tiles]`.
fn transform_input(s: &Conv2dShape, x: &[f32], tiles: &[Tile], v: &mut [f32]) {
    let (h, w, cin) = (s.in_h as isize, s.in_w as isize, s.in_channels);
    let nt = tiles.len();
    let plane = (h * w) as usize;
    for ci in 0..cin {
        for (t, tile) in tiles.iter().enumerate() {
            let base = (tile.n * cin + ci) * plane;
            let y0 = tile.oy as isize - s.pad_h as isize;
            let x0 = tile.ox as isize - s.pad_w as isize;
            let mut d = [[0.0f32; 4]; 4];
            if y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w {
                for (i, di) in d.iter_mut().enumerate() {
                    let o = base + ((y0 as usize + i) * w as usize) + x0 as usize;
                    di.copy_from_slice(&x[o..o + 4]);
                }
            } else {
                for (i, di) in d.iter_mut().enumerate() {
                    let yy = y0 + i as isize;
                    if yy < 0 || yy >= h {
                        continue;
                    }
                    for (j, dij) in di.iter_mut().enumerate() {
                        let xx = x0 + j as isize;
                        if xx >= 0 && xx < w {
                            *dij = x[base + (yy * w + xx) as usize];
                        }
                    }
                }
            }
            // Bᵀ d (rows), then (Bᵀ d) B (columns).
            let r = [
                sub4(d[0], d[2]),
                add4(d[1], d[2]),
                sub4(d[2], d[1]),
                sub4(d[1], d[3]),
            ];
            for (i, ri) in r.iter().enumerate() {
                let vals = [ri[0] - ri[2], ri[1] + ri[2], ri[2] - ri[1], ri[1] - ri[3]];
                for (j, &val) in vals.iter().enumerate() {
                    v[((i * 4 + j) * cin + ci) * nt + t] = val;
                }
            }
        }
    }
}

/// `Y = Aᵀ M A` for every tile and output channel, plus bias and activation,
/// written to the NCHW output (pixels past the edge dropped).
///
/// # Safety
/// `out` must point to the whole `[batch, out, oh, ow]` output, and the pixels
/// of `tiles` must not be accessed by any other thread meanwhile.
unsafe fn transform_output(
    s: &Conv2dShape,
    m: &[f32],
    tiles: &[Tile],
    b: &[f32],
    act: Activation,
    out: OutPtr,
) {
    let (oh, ow, cout) = (s.out_h(), s.out_w(), s.out_channels);
    let nt = tiles.len();
    for (co, &bias) in b.iter().enumerate().take(cout) {
        for (t, tile) in tiles.iter().enumerate() {
            let e = |xi: usize| m[(xi * cout + co) * nt + t];
            let mut mm = [[0.0f32; 4]; 4];
            for (i, row) in mm.iter_mut().enumerate() {
                for (j, val) in row.iter_mut().enumerate() {
                    *val = e(i * 4 + j);
                }
            }
            let s0 = add4(add4(mm[0], mm[1]), mm[2]);
            let s1 = sub4(sub4(mm[1], mm[2]), mm[3]);
            let y = [
                [s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3]],
                [s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3]],
            ];
            let base = out.get().add((tile.n * cout + co) * oh * ow);
            for (i, yi) in y.iter().enumerate() {
                let oy = tile.oy + i;
                if oy >= oh {
                    break;
                }
                for (j, &val) in yi.iter().enumerate() {
                    let ox = tile.ox + j;
                    if ox < ow {
                        *base.add(oy * ow + ox) = act.apply(val + bias);
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn add4(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

#[inline(always)]
fn sub4(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
}
