//! Reference `NonbondedForce`: every pair i < j that is not an exception,
//! then the exceptions, then the dispersion correction (OpenMM's
//! `ReferenceCalcNonbondedForceKernel` with `ReferenceLJCoulombIxn` and
//! `ReferenceLJCoulomb14`).

use crate::error::Result;
use crate::forcefield::kernels::check_box_for_cutoff;
use crate::forcefield::terms::{
    box_volume, delta, dispersion_coefficient, dot, exception_pair, lj_coulomb, lj_half_params,
    reaction_field, Vec3,
};
use crate::forcefield::{BoxVectors, NonbondedForce, NonbondedMethod, ONE_4PI_EPS0};

/// Per-force data computed once: sorted exception partners of each atom and
/// the dispersion coefficient.
pub(super) struct Prepared {
    excluded: Vec<Vec<usize>>,
    dispersion: f64,
}

impl Prepared {
    pub(super) fn new(nb: &NonbondedForce) -> Self {
        let mut excluded = vec![Vec::new(); nb.particles.len()];
        for x in &nb.exceptions {
            excluded[x.i].push(x.j);
            excluded[x.j].push(x.i);
        }
        for e in &mut excluded {
            e.sort_unstable();
            e.dedup();
        }
        Prepared {
            excluded,
            dispersion: dispersion_coefficient(nb),
        }
    }
}

fn add_pair(f: &mut [[f64; 3]], i: usize, j: usize, d: Vec3, s: f64) {
    for k in 0..3 {
        f[i][k] += s * d[k];
        f[j][k] -= s * d[k];
    }
}

/// Energy (kJ/mol) of one `NonbondedForce`; forces added to `f`.
pub(super) fn nonbonded(
    nb: &NonbondedForce,
    prepared: &Prepared,
    name: &str,
    x: &[[f64; 3]],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> Result<f64> {
    let n = nb.particles.len();
    if let Some(b) = pbox {
        check_box_for_cutoff(name, b, nb.cutoff)?;
    }
    let cutoff = nb.method.has_cutoff();
    let rc2 = nb.cutoff * nb.cutoff;
    let rf = if cutoff {
        reaction_field(nb.cutoff, nb.reaction_field_dielectric)
    } else {
        (0.0, 0.0)
    };
    let sw = match (cutoff, nb.switch_distance) {
        (true, Some(rs)) => Some((rs, 1.0 / (nb.cutoff - rs))),
        _ => None,
    };
    let params: Vec<(f64, f64)> = nb
        .particles
        .iter()
        .map(|p| lj_half_params(p.sigma, p.epsilon))
        .collect();
    let mut energy = 0.0;
    for i in 0..n {
        let excluded = &prepared.excluded[i];
        for j in i + 1..n {
            if excluded.binary_search(&j).is_ok() {
                continue;
            }
            let d = delta(x[j], x[i], pbox);
            let r2 = dot(d, d);
            if cutoff && r2 > rc2 {
                continue;
            }
            let inv_r = 1.0 / r2.sqrt();
            let sig = params[i].0 + params[j].0;
            let eps4 = params[i].1 * params[j].1;
            let qq = ONE_4PI_EPS0 * nb.particles[i].charge * nb.particles[j].charge;
            let (e, s) = match (cutoff, sw) {
                (false, _) => lj_coulomb::<false, false>(r2, inv_r, sig, eps4, qq, rf, (0.0, 0.0)),
                (true, None) => lj_coulomb::<true, false>(r2, inv_r, sig, eps4, qq, rf, (0.0, 0.0)),
                (true, Some(sw)) => lj_coulomb::<true, true>(r2, inv_r, sig, eps4, qq, rf, sw),
            };
            add_pair(f, i, j, d, s);
            energy += e;
        }
    }
    // Exceptions: full strength at any distance, no reaction field, and (as
    // OpenMM's default `exceptionsUsePeriodicBoundaryConditions = false`)
    // no minimum image.
    for x_ij in &nb.exceptions {
        if x_ij.charge_prod == 0.0 && x_ij.epsilon == 0.0 {
            continue;
        }
        let d = delta(x[x_ij.j], x[x_ij.i], None);
        let r2 = dot(d, d);
        let (e, s) = exception_pair(r2, x_ij.sigma, x_ij.epsilon, x_ij.charge_prod);
        add_pair(f, x_ij.i, x_ij.j, d, s);
        energy += e;
    }
    if nb.method == NonbondedMethod::CutoffPeriodic {
        if let Some(b) = pbox {
            energy += prepared.dispersion / box_volume(b);
        }
    }
    Ok(energy)
}
