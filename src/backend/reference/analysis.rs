//! Analysis kernels (contact maps, RMSD) for the reference backend: plain
//! loops over every pair, and RMSD from the largest eigenvalue of Horn's
//! quaternion matrix from a full symmetric eigen-solve (no QCP, no shortcuts).

use nalgebra::Matrix4;

use super::ReferenceBackend;
use crate::analysis::kernels::{check_contact_shapes, check_rmsd_shapes, AnalysisKernels};
use crate::error::Result;

impl AnalysisKernels for ReferenceBackend {
    fn contact_maps(
        &self,
        coords: &[f32],
        n_frames: usize,
        n: usize,
        cutoff: f64,
        boxes: Option<&[[f32; 3]]>,
        out: &mut [u8],
    ) -> Result<()> {
        check_contact_shapes(coords, n_frames, n, boxes, out)?;
        // MDAnalysis' contact_matrix arithmetic on Å coordinates fl32(10·x).
        let cutoff_a = 10.0 * cutoff;
        for f in 0..n_frames {
            let x = &coords[f * n * 3..(f + 1) * n * 3];
            let map = &mut out[f * n * n..(f + 1) * n * n];
            for i in 0..n {
                for j in 0..n {
                    let mut d2 = 0.0f64;
                    for k in 0..3 {
                        let diff: f32 = x[3 * i + k] * 10.0 - x[3 * j + k] * 10.0;
                        let mut d = f64::from(diff);
                        if let Some(b) = boxes {
                            let len: f32 = b[f][k] * 10.0;
                            let inv = f64::from(1.0f32 / len);
                            let s = inv * d;
                            d = f64::from(len) * (s - s.round());
                        }
                        d2 += d * d;
                    }
                    map[i * n + j] = u8::from(i == j || d2 < cutoff_a * cutoff_a);
                }
            }
        }
        Ok(())
    }

    fn rmsd(
        &self,
        reference: &[f32],
        coords: &[f32],
        n_frames: usize,
        n: usize,
        out: &mut [f32],
    ) -> Result<()> {
        check_rmsd_shapes(reference, coords, n_frames, n, out)?;
        let a = centered(reference);
        for (f, r) in out.iter_mut().enumerate() {
            let b = centered(&coords[f * n * 3..(f + 1) * n * 3]);
            let mut m = [[0.0f64; 3]; 3];
            let mut g = 0.0;
            for (p, q) in a.iter().zip(&b) {
                for r in 0..3 {
                    g += p[r] * p[r] + q[r] * q[r];
                    for c in 0..3 {
                        m[r][c] += p[r] * q[c];
                    }
                }
            }
            let lambda = max_eigenvalue(horn_matrix(&m));
            *r = ((g - 2.0 * lambda) / n as f64).max(0.0).sqrt() as f32;
        }
        Ok(())
    }
}

/// Coordinates `[n][3]` in f64, minus their (unweighted) centroid.
fn centered(x: &[f32]) -> Vec<[f64; 3]> {
    let n = x.len() / 3;
    let mut c = [0.0f64; 3];
    for p in x.chunks_exact(3) {
        for k in 0..3 {
            c[k] += p[k] as f64;
        }
    }
    c.iter_mut().for_each(|v| *v /= n as f64);
    x.chunks_exact(3)
        .map(|p| [p[0] as f64 - c[0], p[1] as f64 - c[1], p[2] as f64 - c[2]])
        .collect()
}

/// Horn's symmetric 4×4 matrix whose largest eigenvalue is the maximal
/// `Σ aᵢ · R bᵢ` over rotations R; `m[r][c] = Σ aᵢ[r] bᵢ[c]`.
fn horn_matrix(m: &[[f64; 3]; 3]) -> [[f64; 4]; 4] {
    let [[xx, xy, xz], [yx, yy, yz], [zx, zy, zz]] = *m;
    [
        [xx + yy + zz, yz - zy, zx - xz, xy - yx],
        [yz - zy, xx - yy - zz, xy + yx, zx + xz],
        [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
        [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
    ]
}

/// Largest eigenvalue of a symmetric 4×4 matrix (nalgebra's symmetric
/// eigen-solve: Householder tridiagonalisation, implicit QR).
fn max_eigenvalue(a: [[f64; 4]; 4]) -> f64 {
    Matrix4::from_fn(|r, c| a[r][c])
        .symmetric_eigenvalues()
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_largest_eigenvalue() {
        // Eigenvalues 5, 3 (block [[4,1],[1,4]]), 2, -1.
        let a = [
            [4.0, 1.0, 0.0, 0.0],
            [1.0, 4.0, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, -1.0],
        ];
        assert!((max_eigenvalue(a) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn rotated_copy_has_zero_rmsd() {
        let a = [
            0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.5, 0.5, 1.5,
        ];
        // Rotate 90° about z and translate.
        let b: Vec<f32> = a
            .chunks(3)
            .flat_map(|p| [-p[1] + 3.0, p[0] - 1.0, p[2] + 0.25])
            .collect();
        let mut out = [1.0f32];
        ReferenceBackend.rmsd(&a, &b, 1, 4, &mut out).unwrap();
        assert!(out[0] < 1e-6, "{}", out[0]);
    }
}
