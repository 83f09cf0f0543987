//! Reference bonds, angles and torsions: one loop over the terms each,
//! forces added in term order (OpenMM's `ReferenceBondForce`).

use crate::forcefield::terms::{delta, harmonic_angle, harmonic_bond, periodic_torsion};
use crate::forcefield::{BoxVectors, HarmonicAngleForce, HarmonicBondForce, PeriodicTorsionForce};

fn add(f: &mut [f64; 3], v: [f64; 3]) {
    f[0] += v[0];
    f[1] += v[1];
    f[2] += v[2];
}

/// Harmonic bonds: energy (kJ/mol), forces added to `f` (kJ/mol/nm).
pub(super) fn bonds(
    force: &HarmonicBondForce,
    x: &[[f64; 3]],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    let mut energy = 0.0;
    for b in &force.bonds {
        let d = delta(x[b.i], x[b.j], pbox);
        let (e, fi) = harmonic_bond(d, b.length, b.k);
        add(&mut f[b.i], fi);
        add(&mut f[b.j], [-fi[0], -fi[1], -fi[2]]);
        energy += e;
    }
    energy
}

/// Harmonic angles: energy (kJ/mol), forces added to `f`.
pub(super) fn angles(
    force: &HarmonicAngleForce,
    x: &[[f64; 3]],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    let mut energy = 0.0;
    for a in &force.angles {
        let [i, j, k] = a.ijk;
        let d0 = delta(x[i], x[j], pbox);
        let d1 = delta(x[k], x[j], pbox);
        let (e, fs) = harmonic_angle(d0, d1, a.angle, a.k);
        for (&atom, v) in a.ijk.iter().zip(fs) {
            add(&mut f[atom], v);
        }
        energy += e;
    }
    energy
}

/// Periodic torsions: energy (kJ/mol), forces added to `f`.
pub(super) fn torsions(
    force: &PeriodicTorsionForce,
    x: &[[f64; 3]],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    let mut energy = 0.0;
    for t in &force.torsions {
        let [a, b, c, d] = t.ijkl;
        let d0 = delta(x[b], x[a], pbox);
        let d1 = delta(x[b], x[c], pbox);
        let d2 = delta(x[d], x[c], pbox);
        let (e, fs) = periodic_torsion(d0, d1, d2, f64::from(t.periodicity), t.phase, t.k);
        for (&atom, v) in t.ijkl.iter().zip(fs) {
            add(&mut f[atom], v);
        }
        energy += e;
    }
    energy
}
