//! Energy terms shared by every backend's force kernels.
//!
//! Each function computes one interaction (a bond, an angle, a torsion, a
//! nonbonded pair, one piece of the OBC generalized-Born model) exactly as
//! OpenMM's Reference platform does, in f64: the same formulas, the same
//! intermediate quantities and the same conventions for degenerate
//! geometries. Backends differ only in how they loop over interactions and
//! accumulate results.
//!
//! Units: nm, kJ/mol, e, radians. Displacements follow OpenMM's
//! `getDeltaR(a, b) = b − a` convention where noted.

use super::system::{BoxVectors, GbsaObcForce, NonbondedForce, ONE_4PI_EPS0};

/// A 3-vector (nm, or kJ/mol/nm for forces).
pub type Vec3 = [f64; 3];

/// `a − b`.
#[inline(always)]
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a · b`.
#[inline(always)]
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a × b`.
#[inline(always)]
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `s · a`.
#[inline(always)]
pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// Minimum-image reduction of a displacement `d` (nm) in a reduced periodic
/// box, OpenMM's `ReferenceForce::getDeltaRPeriodic`: subtract the c, b and a
/// vectors (in that order) rounded with `floor(x/L + 0.5)`.
#[inline(always)]
pub fn min_image(d: Vec3, b: &BoxVectors) -> Vec3 {
    let mut d = d;
    let s = (d[2] / b[2][2] + 0.5).floor();
    d[0] -= s * b[2][0];
    d[1] -= s * b[2][1];
    d[2] -= s * b[2][2];
    let s = (d[1] / b[1][1] + 0.5).floor();
    d[0] -= s * b[1][0];
    d[1] -= s * b[1][1];
    let s = (d[0] / b[0][0] + 0.5).floor();
    d[0] -= s * b[0][0];
    d
}

/// `to − from` (nm), minimum image when a box is given (OpenMM's
/// `getDeltaR(from, to)` / `getDeltaRPeriodic(from, to, box)`).
#[inline(always)]
pub fn delta(from: Vec3, to: Vec3, periodic: Option<&BoxVectors>) -> Vec3 {
    let d = sub(to, from);
    match periodic {
        Some(b) => min_image(d, b),
        None => d,
    }
}

/// Harmonic bond `E = ½ k (r − r₀)²` between atoms a and b.
///
/// `d = x_b − x_a` (nm), `length` r₀ (nm), `k` (kJ/mol/nm²). Returns the
/// energy (kJ/mol) and the force on a (kJ/mol/nm); the force on b is its
/// negative. A zero-length bond gets no force (as in OpenMM).
#[inline(always)]
pub fn harmonic_bond(d: Vec3, length: f64, k: f64) -> (f64, Vec3) {
    let r = dot(d, d).sqrt();
    let dr = r - length;
    let de_dr = k * dr;
    let s = if r > 0.0 { de_dr / r } else { 0.0 };
    (0.5 * k * dr * dr, scale(d, s))
}

/// Harmonic angle `E = ½ k (θ − θ₀)²` for atoms a–b–c (b the vertex),
/// OpenMM's `ReferenceAngleBondIxn`.
///
/// `d0 = x_b − x_a`, `d1 = x_b − x_c` (nm); `angle` θ₀ (rad); `k`
/// (kJ/mol/rad²). Returns the energy and the forces on a, b, c.
#[inline(always)]
pub fn harmonic_angle(d0: Vec3, d1: Vec3, angle: f64, k: f64) -> (f64, [Vec3; 3]) {
    let p = cross(d0, d1);
    let rp = dot(p, p).sqrt().max(1.0e-6);
    let r0sq = dot(d0, d0);
    let r1sq = dot(d1, d1);
    let cosine = dot(d0, d1) / (r0sq * r1sq).sqrt();
    let theta = if cosine >= 1.0 {
        0.0
    } else if cosine <= -1.0 {
        std::f64::consts::PI
    } else {
        cosine.acos()
    };
    let dtheta = theta - angle;
    let de = k * dtheta;
    let energy = 0.5 * k * dtheta * dtheta;
    let fa = scale(cross(d0, p), de / (r0sq * rp));
    let fc = scale(cross(d1, p), -de / (r1sq * rp));
    let fb = [-(fa[0] + fc[0]), -(fa[1] + fc[1]), -(fa[2] + fc[2])];
    (energy, [fa, fb, fc])
}

/// Angle (rad, in [0, π]) between two vectors, OpenMM's
/// `getAngleBetweenTwoVectors`: `acos` of the clamped normalised dot
/// product, or `asin` of the cross product's norm when |cos| > 0.99 (where
/// `acos` loses accuracy).
#[inline(always)]
pub fn angle_between(v1: Vec3, v2: Vec3) -> f64 {
    let n1 = dot(v1, v1);
    let n2 = dot(v2, v2);
    let mut c = dot(v1, v2);
    if c != 0.0 {
        c /= (n1 * n2).sqrt();
    }
    c = c.clamp(-1.0, 1.0);
    if !(-0.99..=0.99).contains(&c) {
        let x = cross(v1, v2);
        let a = (dot(x, x) / (n1 * n2)).sqrt().asin();
        if c < 0.0 {
            std::f64::consts::PI - a
        } else {
            a
        }
    } else {
        c.acos()
    }
}

/// Periodic torsion `E = k (1 + cos(n φ − φ₀))` for atoms a–b–c–d (proper or
/// improper), OpenMM's `ReferenceProperDihedralBond`.
///
/// `d0 = x_a − x_b`, `d1 = x_c − x_b`, `d2 = x_c − x_d` (nm). The dihedral φ
/// is the angle between `d0 × d1` and `d1 × d2`, negative when
/// `d0 · (d1 × d2) < 0` (OpenMM's sign convention; IUPAC for a–b–c–d).
/// Returns the energy and the forces on a, b, c, d.
#[inline(always)]
pub fn periodic_torsion(
    d0: Vec3,
    d1: Vec3,
    d2: Vec3,
    periodicity: f64,
    phase: f64,
    k: f64,
) -> (f64, [Vec3; 4]) {
    let c0 = cross(d0, d1);
    let c1 = cross(d1, d2);
    let mut phi = angle_between(c0, c1);
    if dot(d0, c1) < 0.0 {
        phi = -phi;
    }
    let delta = periodicity * phi - phase;
    let de_dphi = -k * periodicity * delta.sin();
    let energy = k * (1.0 + delta.cos());
    let r1sq = dot(d1, d1);
    let r1 = r1sq.sqrt();
    let ff0 = (-de_dphi * r1) / dot(c0, c0);
    let ff3 = (de_dphi * r1) / dot(c1, c1);
    let ff1 = dot(d0, d1) / r1sq;
    let ff2 = dot(d2, d1) / r1sq;
    let f0 = scale(c0, ff0);
    let f3 = scale(c1, ff3);
    let mut f1 = [0.0; 3];
    let mut f2 = [0.0; 3];
    for k in 0..3 {
        let s = ff1 * f0[k] - ff2 * f3[k];
        f1[k] = f0[k] - s;
        f2[k] = f3[k] + s;
    }
    // OpenMM adds f0 to a and f3 to d, subtracts f1 from b and f2 from c.
    (
        energy,
        [f0, [-f1[0], -f1[1], -f1[2]], [-f2[0], -f2[1], -f2[2]], f3],
    )
}

/// Per-particle Lennard-Jones parameters in the form OpenMM's kernels use:
/// `σ/2` (nm) and `2√ε` ((kJ/mol)^½), so a pair's `σ = a.0 + b.0` and
/// `4ε = a.1 · b.1` (Lorentz–Berthelot).
#[inline(always)]
pub fn lj_half_params(sigma: f64, epsilon: f64) -> (f64, f64) {
    (0.5 * sigma, 2.0 * epsilon.sqrt())
}

/// Reaction-field constants `(k_rf, c_rf)` (nm⁻³, nm⁻¹) of a cutoff `rc`
/// (nm) and dielectric `eps_rf`: `k_rf = rc⁻³ (ε−1)/(2ε+1)`,
/// `c_rf = rc⁻¹ 3ε/(2ε+1)`.
pub fn reaction_field(rc: f64, eps_rf: f64) -> (f64, f64) {
    let krf = rc.powi(-3) * (eps_rf - 1.0) / (2.0 * eps_rf + 1.0);
    let crf = (1.0 / rc) * (3.0 * eps_rf) / (2.0 * eps_rf + 1.0);
    (krf, crf)
}

/// The LJ switching function `S = 1 − 10x³ + 15x⁴ − 6x⁵`,
/// `x = (r − r_s)/(r_c − r_s)`, and `dS/dr`, for `r > r_s`; `(1, 0)` for
/// `r ≤ r_s` (the clamp makes it branch-free: x = 0 gives exactly 1 and 0).
/// `inv_width` is `1/(r_c − r_s)`.
#[inline(always)]
pub fn switch(r: f64, start: f64, inv_width: f64) -> (f64, f64) {
    let t = ((r - start) * inv_width).max(0.0);
    let s = 1.0 + t * t * t * (-10.0 + t * (15.0 - t * 6.0));
    let ds = t * t * (-30.0 + t * (60.0 - t * 30.0)) * inv_width;
    (s, ds)
}

/// One nonbonded pair (LJ + Coulomb), OpenMM's
/// `ReferenceLJCoulombIxn::calculateOneIxn`.
///
/// Inputs: `r2` = r² (nm²), `inv_r` = 1/r, `sig` = σ (nm), `eps4` = 4ε,
/// `qq` = `ONE_4PI_EPS0·q₁q₂` (kJ·nm/mol). With `RF`, Coulomb is the
/// reaction-field form `qq (1/r + k_rf r² − c_rf)`; with `SW`, LJ is
/// multiplied by [`switch`] (`sw = (r_s, 1/(r_c − r_s))`). The cutoff
/// itself is the caller's business. Returns the energy (kJ/mol) and
/// `f = −(dE/dr)/r`, so the force on i is `f · (x_i − x_j)`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn lj_coulomb<const RF: bool, const SW: bool>(
    r2: f64,
    inv_r: f64,
    sig: f64,
    eps4: f64,
    qq: f64,
    rf: (f64, f64),
    sw: (f64, f64),
) -> (f64, f64) {
    let sig2 = inv_r * sig;
    let sig2 = sig2 * sig2;
    let sig6 = sig2 * sig2 * sig2;
    let (s, ds) = if SW {
        switch(r2 * inv_r, sw.0, sw.1)
    } else {
        (1.0, 0.0)
    };
    let mut de = s * eps4 * (12.0 * sig6 - 6.0) * sig6;
    if RF {
        de += qq * (inv_r - 2.0 * rf.0 * r2);
    } else {
        de += qq * inv_r;
    }
    de *= inv_r * inv_r;
    let mut e_lj = eps4 * (sig6 - 1.0) * sig6;
    if SW {
        de -= e_lj * ds * inv_r;
        e_lj *= s;
    }
    let e_c = if RF {
        qq * (inv_r + rf.0 * r2 - rf.1)
    } else {
        qq * inv_r
    };
    (e_lj + e_c, de)
}

/// A nonbonded exception (scaled 1-4 pair), OpenMM's `ReferenceLJCoulomb14`:
/// plain LJ with the pair's own `σ`, `ε` and plain Coulomb `ONE_4PI_EPS0·q₁q₂/r`,
/// no cutoff. Returns `(energy, f)` with the force on i `f · (x_i − x_j)`
/// as in [`lj_coulomb`].
#[inline(always)]
pub fn exception_pair(r2: f64, sigma: f64, epsilon: f64, charge_prod: f64) -> (f64, f64) {
    let inv_r = 1.0 / r2.sqrt();
    lj_coulomb::<false, false>(
        r2,
        inv_r,
        sigma,
        4.0 * epsilon,
        ONE_4PI_EPS0 * charge_prod,
        (0.0, 0.0),
        (0.0, 0.0),
    )
}

/// OBC2 constants α, β, γ.
pub const OBC_ALPHA: f64 = 1.0;
/// OBC2 β.
pub const OBC_BETA: f64 = 0.8;
/// OBC2 γ.
pub const OBC_GAMMA: f64 = 4.85;

/// Integration bounds `(L, U)` (nm) of the HCT descreening integral of a
/// sphere of (scaled) radius `sr_j` at distance `r` from an atom of offset
/// radius `or_i`: `U = r + sr_j`, `L = max(or_i, |r − sr_j|)`.
#[inline(always)]
pub fn hct_bounds(r: f64, or_i: f64, sr_j: f64) -> (f64, f64) {
    let d = (r - sr_j).abs();
    (if or_i > d { or_i } else { d }, r + sr_j)
}

/// The HCT descreening integral — one term of the Born sum
/// `I_i = ½ Σ_j term` (nm⁻¹) — and `d(term)/dr`, from the bounds of
/// [`hct_bounds`] and the precomputed `1/r`, `1/or_i`, `1/L`, `1/U` and
/// `ln(L/U)` (backends compute those as fast as they can).
///
/// Zero unless `or_i < r + sr_j`. With `engulfed_correction` (OpenMM's
/// `GBSAOBCForce`), an atom i completely inside sphere j
/// (`or_i < sr_j − r`) gets `2 (1/or_i − 1/L)` added (Tinker's correction),
/// which makes the derivative the same formula in every case; without it
/// (the `CustomGBForce` OBC2 expressions) the derivative of `L = |r − sr_j|`
/// adds `2/L²` there.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn hct_term(
    r: f64,
    inv_r: f64,
    or_i: f64,
    inv_or_i: f64,
    sr_j: f64,
    inv_l: f64,
    inv_u: f64,
    log_lu: f64,
    engulfed_correction: bool,
) -> (f64, f64) {
    let u = r + sr_j;
    // With A = 1/L − 1/U, B = 1/L + 1/U (so 1/L² − 1/U² = A·B), OpenMM's
    // 1/L − 1/U + r/4 (1/U² − 1/L²) + ln(L/U)/(2r) + sr²/(4r) (1/L² − 1/U²)
    // is A (1 − B (r² − sr²)/(4r)) + ln(L/U)/(2r).
    let sr2 = sr_j * sr_j;
    let a = inv_l - inv_u;
    let ab = a * (inv_l + inv_u);
    let mut term = a - 0.25 * ab * (r * r - sr2) * inv_r + 0.5 * log_lu * inv_r;
    let inv_r2 = inv_r * inv_r;
    let mut dterm = -0.25 * (1.0 + sr2 * inv_r2) * ab - 0.5 * log_lu * inv_r2;
    let l2 = inv_l * inv_l;
    let engulfed = or_i < sr_j - r;
    if engulfed {
        if engulfed_correction {
            term += 2.0 * (inv_or_i - inv_l);
        } else {
            dterm += 2.0 * l2;
        }
    }
    if or_i < u {
        (term, dterm)
    } else {
        (0.0, 0.0)
    }
}

/// [`hct_bounds`] and [`hct_term`] with plain divisions and `f64::ln`.
#[inline(always)]
pub fn hct_pair(r: f64, or_i: f64, sr_j: f64, engulfed_correction: bool) -> (f64, f64) {
    let (l, u) = hct_bounds(r, or_i, sr_j);
    let (inv_l, inv_u) = (1.0 / l, 1.0 / u);
    let log_lu = (l * inv_u).ln();
    hct_term(
        r,
        1.0 / r,
        or_i,
        1.0 / or_i,
        sr_j,
        inv_l,
        inv_u,
        log_lu,
        engulfed_correction,
    )
}

/// OBC2 Born radius from the Born sum `I` (nm⁻¹, `½ Σ term`), the offset
/// radius `or` and the atomic radius (nm): `ψ = I·or`,
/// `B = 1/(1/or − tanh(αψ − βψ² + γψ³)/radius)`. Returns `B` (nm) and the
/// chain factor `c = (dB/dI)/B²` (OpenMM's `obcChain`).
#[inline(always)]
pub fn obc_born_radius(sum_i: f64, offset_radius: f64, radius: f64) -> (f64, f64) {
    let psi = sum_i * offset_radius;
    let psi2 = psi * psi;
    let psi3 = psi * psi2;
    let t = (OBC_ALPHA * psi - OBC_BETA * psi2 + OBC_GAMMA * psi3).tanh();
    let b = 1.0 / (1.0 / offset_radius - t / radius);
    let chain = offset_radius * (OBC_ALPHA - 2.0 * OBC_BETA * psi + 3.0 * OBC_GAMMA * psi2);
    let chain = (1.0 - t * t) * chain / radius;
    (b, chain)
}

/// Constants of the generalized-Born pair and self energies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GbConstants {
    /// Coulomb constant k (kJ·nm/mol/e²).
    pub k: f64,
    /// 1/ε_solute (0 with 1/ε_solvent when OpenMM's GBSAOBCForce zeroes
    /// the prefactor for a zero dielectric).
    pub inv_solute: f64,
    /// 1/ε_solvent.
    pub inv_solvent: f64,
    /// Debye–Hückel screening κ (nm⁻¹).
    pub kappa: f64,
    /// Energy shift `1/r_c` (nm⁻¹) of the pair term with a cutoff, else 0.
    pub shift: f64,
}

impl GbConstants {
    /// The constants of a GB force. A zero dielectric zeroes the prefactor
    /// (OpenMM's `ReferenceObc`).
    pub fn new(g: &GbsaObcForce) -> Self {
        let (inv_solute, inv_solvent) = if g.solute_dielectric != 0.0 && g.solvent_dielectric != 0.0
        {
            (1.0 / g.solute_dielectric, 1.0 / g.solvent_dielectric)
        } else {
            (0.0, 0.0)
        };
        GbConstants {
            k: g.coulomb_constant,
            inv_solute,
            inv_solvent,
            kappa: g.kappa,
            shift: if g.method.has_cutoff() {
                1.0 / g.cutoff
            } else {
                0.0
            },
        }
    }
}

/// The generalized-Born pair energy
/// `E = −k q₁q₂ (1/ε_solute − e^{−κf}/ε_solvent) (1/f − shift)`,
/// `f = √(r² + B₁B₂ exp(−r²/(4B₁B₂)))` (OpenMM's `GBSAOBCForce` for κ = 0,
/// the `CustomGBForce` OBC2 expressions in general), and its derivatives.
///
/// `qq = q₁q₂`; `a = B₁B₂` (nm²); `quarter_inv_a = 1/(4a)`. Returns
/// `(E, −(dE/dr)/r, dE/da)`; the force on atom 1 is `−(dE/dr)/r·(x₁ − x₂)`.
/// The self term of atom i is `½ E` at `r = 0`, `a = B_i²`, `shift = 0`,
/// and its dE/dB_i is `dE/da · B_i`. With `SALT` false, κ is taken as 0.
/// `exp` and `rsqrt` (`1/√x`) are the functions to use. The pieces
/// ([`gb_f2`], [`gb_energy`]) let a backend compute the transcendental
/// functions in separate passes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn gb_pair<const SALT: bool>(
    r2: f64,
    a: f64,
    quarter_inv_a: f64,
    qq: f64,
    c: &GbConstants,
    shift: f64,
    exp: impl Fn(f64) -> f64,
    rsqrt: impl Fn(f64) -> f64,
) -> (f64, f64, f64) {
    let (d, e, f2) = gb_f2(r2, a, quarter_inv_a, &exp);
    let inv_f = rsqrt(f2);
    let exp_kf = if SALT {
        exp(-c.kappa * f2 * inv_f)
    } else {
        0.0
    };
    gb_energy::<SALT>(d, e, inv_f, exp_kf, qq, c, shift)
}

/// `(D, e^{−D}, f²)` of the GB pair term: `D = r²/(4a)`, `f² = r² + a e^{−D}`.
#[inline(always)]
pub fn gb_f2(r2: f64, a: f64, quarter_inv_a: f64, exp: impl Fn(f64) -> f64) -> (f64, f64, f64) {
    let d = r2 * quarter_inv_a;
    let e = exp(-d);
    (d, e, r2 + a * e)
}

/// [`gb_pair`] from `D`, `e^{−D}` ([`gb_f2`]), `1/f` and (with `SALT`)
/// `e^{−κf}`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn gb_energy<const SALT: bool>(
    d: f64,
    e: f64,
    inv_f: f64,
    exp_kf: f64,
    qq: f64,
    c: &GbConstants,
    shift: f64,
) -> (f64, f64, f64) {
    let inv_f2 = inv_f * inv_f;
    let (p, dp) = if SALT {
        let ek = exp_kf * c.inv_solvent;
        (c.inv_solute - ek, c.kappa * ek)
    } else {
        (c.inv_solute - c.inv_solvent, 0.0)
    };
    let kqq = -c.k * qq;
    let u = inv_f - shift;
    let energy = kqq * p * u;
    let de_df = kqq * (dp * u - p * inv_f2);
    let force = -de_df * (1.0 - 0.25 * e) * inv_f;
    let de_da = 0.5 * de_df * e * (1.0 + d) * inv_f;
    (energy, force, de_da)
}

/// ACE non-polar term of one atom, `4π·γ_sa·(R + r_probe)²·(R/B)⁶`, and its
/// derivative with respect to B; zero when B ≤ 0.
#[inline(always)]
pub fn ace_surface(radius: f64, born: f64, pi4_asolv: f64, probe_radius: f64) -> (f64, f64) {
    if born > 0.0 {
        let r = radius + probe_radius;
        let ratio = radius / born;
        let ratio2 = ratio * ratio;
        let ratio6 = ratio2 * ratio2 * ratio2;
        let e = pi4_asolv * r * r * ratio6;
        (e, -6.0 * e / born)
    } else {
        (0.0, 0.0)
    }
}

/// Indefinite integral of the LJ interaction times the switching function,
/// OpenMM's `NonbondedForceImpl::evalIntegral`.
fn switch_integral(r: f64, rs: f64, rc: f64, sigma: f64) -> f64 {
    let a = 1.0 / (rc - rs);
    let a2 = a * a;
    let a3 = a2 * a;
    let sig2 = sigma * sigma;
    let sig6 = sig2 * sig2 * sig2;
    let rs2 = rs * rs;
    let rs3 = rs * rs2;
    let r2 = r * r;
    let r3 = r * r2;
    let r4 = r * r3;
    let r5 = r * r4;
    let r6 = r * r5;
    let r9 = r3 * r6;
    sig6 * a3
        * ((sig6
            * (rs3 * 28.0 * (6.0 * rs2 * a2 + 15.0 * rs * a + 10.0)
                - r * rs2 * 945.0 * (rs2 * a2 + 2.0 * rs * a + 1.0)
                + r2 * rs * 1080.0 * (2.0 * rs2 * a2 + 3.0 * rs * a + 1.0)
                - r3 * 420.0 * (6.0 * rs2 * a2 + 6.0 * rs * a + 1.0)
                + r4 * 756.0 * (2.0 * rs * a2 + a)
                - r5 * 378.0 * a2)
            - r6 * (rs3 * 84.0 * (6.0 * rs2 * a2 + 15.0 * rs * a + 10.0)
                - r * rs2 * 3780.0 * (rs2 * a2 + 2.0 * rs * a + 1.0)
                + r2 * rs * 7560.0 * (2.0 * rs2 * a2 + 3.0 * rs * a + 1.0)))
            / (252.0 * r9)
            - r.ln() * 10.0 * (6.0 * rs2 * a2 + 6.0 * rs * a + 1.0)
            + r * 15.0 * (2.0 * rs * a2 + a)
            - r2 * 3.0 * a2)
}

/// The long-range dispersion correction coefficient `C` (kJ·nm³/mol) of a
/// periodic [`NonbondedForce`], OpenMM's
/// `NonbondedForceImpl::calcDispersionCorrection`: the energy is `C/V` for a
/// box of volume V (nm³). Particles are grouped into classes of equal
/// (σ, ε); the average LJ tail beyond the cutoff (and, with switching, the
/// part removed by the switch) is `8πN² (⟨εσ¹²⟩/(9r_c⁹) − ⟨εσ⁶⟩/(3r_c³) + ⟨switch⟩)`.
/// Zero for non-periodic methods or when the correction is off.
pub fn dispersion_coefficient(nb: &NonbondedForce) -> f64 {
    if !nb.use_dispersion_correction || !nb.method.is_periodic() {
        return 0.0;
    }
    // Classes in (σ, ε) order, as OpenMM's std::map iterates them.
    let mut params: Vec<(f64, f64)> = nb.particles.iter().map(|p| (p.sigma, p.epsilon)).collect();
    params.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut classes: Vec<(f64, f64, f64)> = Vec::new();
    for (s, e) in params {
        match classes.last_mut() {
            Some(c) if c.0 == s && c.1 == e => c.2 += 1.0,
            _ => classes.push((s, e, 1.0)),
        }
    }
    let rc = nb.cutoff;
    let switch_term = |sigma: f64| match nb.switch_distance {
        Some(rs) => switch_integral(rc, rs, rc, sigma) - switch_integral(rs, rs, rc, sigma),
        None => 0.0,
    };
    let (mut sum1, mut sum2, mut sum3) = (0.0, 0.0, 0.0);
    for &(sigma, epsilon, n) in &classes {
        let count = n * (n + 1.0) / 2.0;
        let sigma2 = sigma * sigma;
        let sigma6 = sigma2 * sigma2 * sigma2;
        sum1 += count * epsilon * sigma6 * sigma6;
        sum2 += count * epsilon * sigma6;
        if nb.switch_distance.is_some() {
            sum3 += count * epsilon * switch_term(sigma);
        }
    }
    for (c1, &(s1, e1, n1)) in classes.iter().enumerate() {
        for &(s2, e2, n2) in &classes[..c1] {
            let sigma = 0.5 * (s1 + s2);
            let epsilon = (e1 * e2).sqrt();
            let count = n1 * n2;
            let sigma2 = sigma * sigma;
            let sigma6 = sigma2 * sigma2 * sigma2;
            sum1 += count * epsilon * sigma6 * sigma6;
            sum2 += count * epsilon * sigma6;
            if nb.switch_distance.is_some() {
                sum3 += count * epsilon * switch_term(sigma);
            }
        }
    }
    let n = nb.particles.len() as f64;
    let n_interactions = (n * (n + 1.0)) / 2.0;
    sum1 /= n_interactions;
    sum2 /= n_interactions;
    sum3 /= n_interactions;
    8.0 * n
        * n
        * std::f64::consts::PI
        * (sum1 / (9.0 * rc.powi(9)) - sum2 / (3.0 * rc.powi(3)) + sum3)
}

/// Volume (nm³) of a reduced box: `a_x · b_y · c_z`.
#[inline]
pub fn box_volume(b: &BoxVectors) -> f64 {
    b[0][0] * b[1][1] * b[2][2]
}
