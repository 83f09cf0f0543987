//! Analysis kernels (contact maps, RMSD) for the cpu backend.
//!
//! Both kernels are parallel over frames (rayon) and independent of the
//! thread count: every frame is computed by one thread with a fixed order of
//! operations.

use rayon::prelude::*;

use super::CpuBackend;
use crate::analysis::kernels::{check_contact_shapes, check_rmsd_shapes, AnalysisKernels};
use crate::error::Result;

impl AnalysisKernels for CpuBackend {
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
        if n == 0 {
            return Ok(());
        }
        // MDAnalysis' arithmetic on Å coordinates (see AnalysisKernels).
        let cutoff_a = 10.0 * cutoff;
        let cutoff2 = cutoff_a * cutoff_a;
        out.par_chunks_mut(n * n)
            .zip(coords.par_chunks(n * 3))
            .enumerate()
            .for_each_init(
                || Angstrom::with_capacity(n),
                |a, (f, (map, x))| {
                    a.load(x);
                    let pbc = boxes.map(|b| Pbc::new(b[f]));
                    contact_frame(a, cutoff2, pbc.as_ref(), map);
                },
            );
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
        let a = Soa::centered(reference);
        let ga = a.sum_sq();
        out.par_iter_mut()
            .zip(coords.par_chunks(n * 3))
            .for_each(|(r, x)| *r = super::qcp::rmsd_to(&a, ga, x) as f32);
        Ok(())
    }
}

/// Coordinates as structure-of-arrays in f64 (exact copies of the f32
/// input), for RMSD.
pub(super) struct Soa {
    pub(super) x: Vec<f64>,
    pub(super) y: Vec<f64>,
    pub(super) z: Vec<f64>,
}

impl Soa {
    fn with_capacity(n: usize) -> Self {
        Soa {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
        }
    }

    /// Replace the contents with `xyz` (`[n][3]`).
    pub(super) fn load(&mut self, xyz: &[f32]) {
        self.x.clear();
        self.y.clear();
        self.z.clear();
        for p in xyz.chunks_exact(3) {
            self.x.push(p[0] as f64);
            self.y.push(p[1] as f64);
            self.z.push(p[2] as f64);
        }
    }

    /// `xyz` (`[n][3]`) minus its unweighted centroid.
    pub(super) fn centered(xyz: &[f32]) -> Self {
        let mut s = Soa::with_capacity(xyz.len() / 3);
        s.load(xyz);
        for v in [&mut s.x, &mut s.y, &mut s.z] {
            let c = v.iter().sum::<f64>() / v.len() as f64;
            v.iter_mut().for_each(|e| *e -= c);
        }
        s
    }

    /// `Σ |pᵢ|²`.
    pub(super) fn sum_sq(&self) -> f64 {
        let mut g = 0.0;
        for i in 0..self.x.len() {
            g += self.x[i] * self.x[i] + self.y[i] * self.y[i] + self.z[i] * self.z[i];
        }
        g
    }
}

/// One frame's coordinates in Å as f32 structure-of-arrays: `fl32(10·x)`,
/// the values MDAnalysis holds for nm input (its readers scale by 10 in f32).
struct Angstrom {
    x: Vec<f32>,
    y: Vec<f32>,
    z: Vec<f32>,
}

impl Angstrom {
    fn with_capacity(n: usize) -> Self {
        Angstrom {
            x: Vec::with_capacity(n),
            y: Vec::with_capacity(n),
            z: Vec::with_capacity(n),
        }
    }

    fn load(&mut self, xyz_nm: &[f32]) {
        self.x.clear();
        self.y.clear();
        self.z.clear();
        for p in xyz_nm.chunks_exact(3) {
            self.x.push(p[0] * 10.0);
            self.y.push(p[1] * 10.0);
            self.z.push(p[2] * 10.0);
        }
    }
}

/// Orthorhombic minimum image with MDAnalysis' arithmetic on the Å box
/// `L = fl32(10·b)`: `s = d·fl32(1/L)`, then `L·(s − round(s))`.
struct Pbc {
    len: [f64; 3],
    inv: [f64; 3],
}

impl Pbc {
    fn new(b_nm: [f32; 3]) -> Self {
        let l = b_nm.map(|v| v * 10.0);
        Pbc {
            len: l.map(f64::from),
            inv: l.map(|v| f64::from(1.0f32 / v)),
        }
    }
}

/// `d` reduced to its minimum image along one axis. Ties (`s` exactly half
/// an integer) round to even instead of away from zero; that flips only the
/// sign of the result, never its square.
#[inline(always)]
fn min_image(d: f64, len: f64, inv: f64) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let s = inv * d;
    let a = s.abs();
    // (|s| + 2⁵²) − 2⁵² rounds |s| to an integer; |s| ≥ 2⁵² already is one.
    let r = if a < TWO52 { (a + TWO52) - TWO52 } else { a };
    len * (s - r.copysign(s))
}

/// Fill one `[n][n]` map: upper triangle row by row (contiguous, vectorisable
/// inner loop over `j`; f32 differences widened to f64 as in MDAnalysis),
/// then the diagonal and the mirrored lower triangle. `cutoff2` is in Å².
fn contact_frame(p: &Angstrom, cutoff2: f64, pbc: Option<&Pbc>, map: &mut [u8]) {
    let n = p.x.len();
    for i in 0..n {
        let (xi, yi, zi) = (p.x[i], p.y[i], p.z[i]);
        let row = &mut map[i * n + i + 1..(i + 1) * n];
        let (xs, ys, zs) = (&p.x[i + 1..], &p.y[i + 1..], &p.z[i + 1..]);
        let others = xs.iter().zip(ys).zip(zs);
        match pbc {
            None => {
                for (c, ((&xj, &yj), &zj)) in row.iter_mut().zip(others) {
                    let dx = f64::from(xi - xj);
                    let dy = f64::from(yi - yj);
                    let dz = f64::from(zi - zj);
                    *c = u8::from(dx * dx + dy * dy + dz * dz < cutoff2);
                }
            }
            Some(b) => {
                for (c, ((&xj, &yj), &zj)) in row.iter_mut().zip(others) {
                    let dx = min_image(f64::from(xi - xj), b.len[0], b.inv[0]);
                    let dy = min_image(f64::from(yi - yj), b.len[1], b.inv[1]);
                    let dz = min_image(f64::from(zi - zj), b.len[2], b.inv[2]);
                    *c = u8::from(dx * dx + dy * dy + dz * dz < cutoff2);
                }
            }
        }
    }
    for i in 0..n {
        map[i * n + i] = 1;
        for j in 0..i {
            map[i * n + j] = map[j * n + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_image_matches_c_round_up_to_sign() {
        for &(d, l) in &[
            (0.3f64, 1.0f32),
            (0.5, 1.0),
            (-0.5, 1.0),
            (1.5, 1.0),
            (2.5, 1.0),
            (-7.25, 2.0),
            (1e20, 3.0),
            (0.0, 3.0),
        ] {
            let inv = f64::from(1.0f32 / l);
            let s = inv * d;
            let want = f64::from(l) * (s - s.round());
            let got = min_image(d, f64::from(l), inv);
            assert_eq!(got.abs(), want.abs(), "d={d} L={l}");
        }
    }
}
