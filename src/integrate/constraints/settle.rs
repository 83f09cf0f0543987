//! SETTLE: the analytic solution of the SHAKE equations for a rigid
//! three-site molecule (Miyamoto & Kollman, J. Comput. Chem. 13, 952 (1992)).
//!
//! The constraint displacements lie in the plane of the reference triangle,
//! so in a frame whose z axis is that plane's normal every atom keeps the z
//! coordinate of its unconstrained position; the centre of mass keeps its
//! unconstrained position too. What remains is the in-plane orientation of
//! the rigid triangle: two tilt angles (φ about x, ψ about y) fixed by the z
//! coordinates, and a rotation θ about z fixed by the condition that the
//! constraint forces exert no torque along z. The formulation assumes the two
//! outer atoms have equal masses, which [`Water::detect`] requires.

type V3 = [f64; 3];

#[inline]
fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[inline]
fn unit(a: V3) -> V3 {
    let n = dot(a, a).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

/// A rigid 3-site molecule: apex `o` at distance `d_apex` from the two outer
/// atoms `h1`, `h2` (equal masses), which are `d_outer` apart.
#[derive(Clone, Debug, PartialEq)]
pub struct Water {
    /// Apex particle (oxygen).
    pub o: usize,
    /// First outer particle (hydrogen).
    pub h1: usize,
    /// Second outer particle (hydrogen).
    pub h2: usize,
    /// Apex–outer distance, nm.
    pub d_apex: f64,
    /// Outer–outer distance, nm.
    pub d_outer: f64,
    /// Apex mass, amu.
    pub m_o: f64,
    /// Mass of each outer particle, amu.
    pub m_h: f64,
}

impl Water {
    /// Recognise a cluster of three constraints joining three particles
    /// pairwise, two of them of equal length (their shared particle is the
    /// apex), with equal, non-zero outer masses and a non-degenerate
    /// triangle. `None` for anything else (solved iteratively instead).
    pub fn detect(pairs: &[(usize, usize)], dist: &[f64], masses: &[f64]) -> Option<Water> {
        if pairs.len() != 3 {
            return None;
        }
        let mut atoms: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        atoms.sort_unstable();
        atoms.dedup();
        if atoms.len() != 3 {
            return None;
        }
        let shared = |k: usize, l: usize| {
            let (a, b) = pairs[k];
            let (c, d) = pairs[l];
            if a == c || a == d {
                Some(a)
            } else if b == c || b == d {
                Some(b)
            } else {
                None
            }
        };
        for (k, l, m) in [(0, 1, 2), (0, 2, 1), (1, 2, 0)] {
            if dist[k] != dist[l] {
                continue;
            }
            let o = shared(k, l)?;
            let (h1, h2) = pairs[m];
            if o == h1 || o == h2 {
                return None;
            }
            let (m_o, m_h) = (masses[o], masses[h1]);
            let (d_apex, d_outer) = (dist[k], dist[m]);
            if m_h != masses[h2] || m_o <= 0.0 || m_h <= 0.0 || d_outer >= 2.0 * d_apex {
                return None;
            }
            return Some(Water {
                o,
                h1,
                h2,
                d_apex,
                d_outer,
                m_o,
                m_h,
            });
        }
        None
    }

    /// Move `x[o]`, `x[h1]`, `x[h2]` (unconstrained, nm) onto the rigid
    /// geometry, with constraint displacements along the bonds of
    /// `reference` (nm). Produces non-finite positions when no solution
    /// exists (displacements comparable to the bond lengths).
    pub fn apply_positions(&self, reference: &[V3], x: &mut [V3]) {
        let (o, h1, h2) = (self.o, self.h1, self.h2);
        let (mo, mh) = (self.m_o, self.m_h);
        let origin = reference[o];
        // Reference bond vectors from the apex; unconstrained positions
        // relative to the reference apex.
        let b0 = sub(reference[h1], origin);
        let c0 = sub(reference[h2], origin);
        let a_new = sub(x[o], origin);
        let b_new = sub(x[h1], origin);
        let c_new = sub(x[h2], origin);
        let total = mo + 2.0 * mh;
        let com: V3 = std::array::from_fn(|k| (mo * a_new[k] + mh * (b_new[k] + c_new[k])) / total);
        let a1 = sub(a_new, com);
        let b1 = sub(b_new, com);
        let c1 = sub(c_new, com);

        // Frame: z normal to the reference plane, x perpendicular to the
        // unconstrained apex (so a1 lies in the y–z plane), y = z × x.
        let ez = unit(cross(b0, c0));
        let ex = unit(cross(a1, ez));
        let ey = unit(cross(ez, ex));
        let to_frame = |v: V3| [dot(ex, v), dot(ey, v), dot(ez, v)];
        let b0f = to_frame(b0);
        let c0f = to_frame(c0);
        let a1z = dot(ez, a1);
        let b1f = to_frame(b1);
        let c1f = to_frame(c1);

        // The rigid triangle around its centre of mass: apex at (0, ra),
        // outer atoms at (∓rc, −rb).
        let rc = 0.5 * self.d_outer;
        let height = (self.d_apex * self.d_apex - rc * rc).sqrt();
        let ra = height * 2.0 * mh / total;
        let rb = height - ra;

        // Tilts that reproduce the unconstrained z coordinates.
        let sin_phi = a1z / ra;
        let cos_phi = (1.0 - sin_phi * sin_phi).sqrt();
        let sin_psi = (b1f[2] - c1f[2]) / (2.0 * rc * cos_phi);
        let a2y = ra * cos_phi;
        let b2y = -rb * cos_phi - rc * sin_psi * sin_phi;
        let c2y = -rb * cos_phi + rc * sin_psi * sin_phi;
        // x of the outer atoms, −rc·cos ψ, computed from the exact outer
        // distance so that |h1 − h2| comes out exact.
        let dy = b2y - c2y;
        let dz = b1f[2] - c1f[2];
        let b2x = -0.5 * (self.d_outer * self.d_outer - dy * dy - dz * dz).sqrt();

        // Rotation about z: no torque from the in-plane constraint forces.
        let alpha = b2x * (b0f[0] - c0f[0]) + b0f[1] * b2y + c0f[1] * c2y;
        let beta = b2x * (c0f[1] - b0f[1]) + b0f[0] * b2y + c0f[0] * c2y;
        let gamma = b0f[0] * b1f[1] - b1f[0] * b0f[1] + c0f[0] * c1f[1] - c1f[0] * c0f[1];
        let ab2 = alpha * alpha + beta * beta;
        let sin_t = (alpha * gamma - beta * (ab2 - gamma * gamma).sqrt()) / ab2;
        let cos_t = (1.0 - sin_t * sin_t).sqrt();

        let a3 = [-a2y * sin_t, a2y * cos_t, a1z];
        let b3 = [b2x * cos_t - b2y * sin_t, b2x * sin_t + b2y * cos_t, b1f[2]];
        let c3 = [
            -b2x * cos_t - c2y * sin_t,
            -b2x * sin_t + c2y * cos_t,
            c1f[2],
        ];
        let to_lab = |v: V3| -> V3 {
            std::array::from_fn(|k| origin[k] + com[k] + ex[k] * v[0] + ey[k] * v[1] + ez[k] * v[2])
        };
        x[o] = to_lab(a3);
        x[h1] = to_lab(b3);
        x[h2] = to_lab(c3);
    }
}
