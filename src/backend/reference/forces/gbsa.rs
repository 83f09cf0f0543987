//! Reference OBC2 generalized Born with the ACE surface term (OpenMM's
//! `ReferenceObc`): Born radii over all ordered pairs, the ACE term, the
//! pair/self energy over i ≤ j, then the Born-radius chain rule over all
//! ordered pairs. Both [`ObcFlavor`]s share these loops; they differ in the
//! engulfed-atom term of the Born sum (see [`hct_pair`]), in the Coulomb
//! constant the [`GbsaObcForce`] carries and (CustomGB only) in salt
//! screening κ (see [`gb_pair`]).

use crate::error::Result;
use crate::forcefield::kernels::check_box_for_cutoff;
use crate::forcefield::terms::{
    ace_surface, delta, dot, gb_pair, hct_pair, obc_born_radius, scale, GbConstants, Vec3,
};
use crate::forcefield::{BoxVectors, GbsaObcForce, ObcFlavor};

fn add_scaled(f: &mut [[f64; 3]], i: usize, j: usize, d: Vec3, s: f64) {
    let v = scale(d, s);
    for k in 0..3 {
        f[i][k] += v[k];
        f[j][k] -= v[k];
    }
}

/// Energy (kJ/mol) of one OBC force; forces added to `f`.
pub(super) fn gbsa_obc(
    g: &GbsaObcForce,
    name: &str,
    x: &[[f64; 3]],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> Result<f64> {
    let n = g.particles.len();
    if let Some(b) = pbox {
        check_box_for_cutoff(name, b, g.cutoff)?;
    }
    let cutoff = g.method.has_cutoff();
    let rc2 = g.cutoff * g.cutoff;
    let within = |r2: f64| !cutoff || r2 <= rc2;
    let engulfed = g.flavor == ObcFlavor::GbsaObcForce;
    let consts = GbConstants::new(g);
    let salt = g.kappa != 0.0;
    let or: Vec<f64> = g.particles.iter().map(|p| p.radius - g.offset).collect();
    let sr: Vec<f64> = g
        .particles
        .iter()
        .zip(&or)
        .map(|(p, o)| o * p.scale)
        .collect();

    // Born radii.
    let mut born = vec![0.0; n];
    let mut chain = vec![0.0; n];
    for i in 0..n {
        let mut sum = 0.0;
        for j in 0..n {
            if j == i {
                continue;
            }
            let d = delta(x[i], x[j], pbox);
            let r2 = dot(d, d);
            if !within(r2) {
                continue;
            }
            let r = r2.sqrt();
            sum += hct_pair(r, or[i], sr[j], engulfed).0;
        }
        (born[i], chain[i]) = obc_born_radius(0.5 * sum, or[i], g.particles[i].radius);
    }

    // ACE surface term, then pair and self energies.
    let mut energy = 0.0;
    let mut de_db = vec![0.0; n];
    let pi4_asolv = 4.0 * std::f64::consts::PI * g.surface_area_energy;
    for i in 0..n {
        let (e, de) = ace_surface(g.particles[i].radius, born[i], pi4_asolv, g.probe_radius);
        energy += e;
        de_db[i] += de;
    }
    for i in 0..n {
        let qi = g.particles[i].charge;
        for j in i..n {
            let d = delta(x[i], x[j], pbox);
            let r2 = dot(d, d);
            if !within(r2) {
                continue;
            }
            let a = born[i] * born[j];
            let qq = qi * g.particles[j].charge;
            // The i = j self term: half the pair term at r = 0, unshifted.
            let shift = if j != i { consts.shift } else { 0.0 };
            let sqrt = |x: f64| 1.0 / x.sqrt();
            let (mut e, s, de_da) = if salt {
                gb_pair::<true>(r2, a, 0.25 / a, qq, &consts, shift, f64::exp, sqrt)
            } else {
                gb_pair::<false>(r2, a, 0.25 / a, qq, &consts, shift, f64::exp, sqrt)
            };
            if j != i {
                de_db[j] += de_da * born[i];
                // Force on i is s·(x_i − x_j) = −s·d.
                add_scaled(f, i, j, d, -s);
            } else {
                e *= 0.5;
            }
            energy += e;
            de_db[i] += de_da * born[j];
        }
    }

    // Chain rule through the Born radii: dE/dI_i = dE/dB_i · B_i² · chain_i.
    let de_di: Vec<f64> = (0..n)
        .map(|i| de_db[i] * born[i] * born[i] * chain[i])
        .collect();
    for i in 0..n {
        for j in 0..n {
            if j == i {
                continue;
            }
            let d = delta(x[i], x[j], pbox);
            let r2 = dot(d, d);
            if !within(r2) {
                continue;
            }
            let r = r2.sqrt();
            let inv_r = 1.0 / r;
            let dterm = hct_pair(r, or[i], sr[j], engulfed).1;
            // I_i = ½ Σ term; F_i = −dE/dI_i · dI/dr · (x_i − x_j)/r.
            add_scaled(f, i, j, d, de_di[i] * 0.5 * dterm * inv_r);
        }
    }
    Ok(energy)
}
