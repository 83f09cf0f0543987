//! Bonds, angles, torsions and nonbonded exceptions on the CPU: terms are
//! computed in parallel into per-term slots, then added to the forces in
//! term order on one thread, so the result is the same for any thread
//! count (and the same as a serial loop).

use crate::forcefield::terms::{
    delta, dot, exception_pair, harmonic_angle, harmonic_bond, periodic_torsion, Vec3,
};
use crate::forcefield::{
    BoxVectors, HarmonicAngleForce, HarmonicBondForce, NonbondedException, PeriodicTorsionForce,
};
use rayon::prelude::*;

/// Below this many terms one thread is faster than spawning tasks.
const PARALLEL_MIN: usize = 4096;

/// Compute `term(t)` for every item (in parallel for many), then add each
/// term's forces to its atoms in item order; returns the energy summed in
/// item order.
fn apply<T: Sync, const K: usize>(
    items: &[T],
    atoms: impl Fn(&T) -> [usize; K],
    term: impl Fn(&T) -> (f64, [Vec3; K]) + Sync,
    f: &mut [[f64; 3]],
) -> f64 {
    let mut slots: Vec<(f64, [Vec3; K])> = Vec::new();
    if items.len() >= PARALLEL_MIN {
        items.par_iter().map(&term).collect_into_vec(&mut slots);
    } else {
        slots.extend(items.iter().map(&term));
    }
    let mut energy = 0.0;
    for (item, (e, fs)) in items.iter().zip(&slots) {
        for (&a, v) in atoms(item).iter().zip(fs) {
            f[a][0] += v[0];
            f[a][1] += v[1];
            f[a][2] += v[2];
        }
        energy += e;
    }
    energy
}

fn neg(v: Vec3) -> Vec3 {
    [-v[0], -v[1], -v[2]]
}

/// Harmonic bonds: energy (kJ/mol), forces added to `f` (kJ/mol/nm).
pub(super) fn bonds(
    force: &HarmonicBondForce,
    x: &[Vec3],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    apply(
        &force.bonds,
        |b| [b.i, b.j],
        |b| {
            let (e, fi) = harmonic_bond(delta(x[b.i], x[b.j], pbox), b.length, b.k);
            (e, [fi, neg(fi)])
        },
        f,
    )
}

/// Harmonic angles: energy, forces added to `f`.
pub(super) fn angles(
    force: &HarmonicAngleForce,
    x: &[Vec3],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    apply(
        &force.angles,
        |a| a.ijk,
        |a| {
            let [i, j, k] = a.ijk;
            harmonic_angle(
                delta(x[i], x[j], pbox),
                delta(x[k], x[j], pbox),
                a.angle,
                a.k,
            )
        },
        f,
    )
}

/// Periodic torsions: energy, forces added to `f`.
pub(super) fn torsions(
    force: &PeriodicTorsionForce,
    x: &[Vec3],
    pbox: Option<&BoxVectors>,
    f: &mut [[f64; 3]],
) -> f64 {
    apply(
        &force.torsions,
        |t| t.ijkl,
        |t| {
            let [a, b, c, d] = t.ijkl;
            periodic_torsion(
                delta(x[b], x[a], pbox),
                delta(x[b], x[c], pbox),
                delta(x[d], x[c], pbox),
                f64::from(t.periodicity),
                t.phase,
                t.k,
            )
        },
        f,
    )
}

/// Nonbonded exceptions (the non-zero ones): plain LJ + Coulomb at any
/// distance, no minimum image (OpenMM's default). Energy, forces into `f`.
pub(super) fn exceptions(list: &[NonbondedException], x: &[Vec3], f: &mut [[f64; 3]]) -> f64 {
    apply(
        list,
        |p| [p.i, p.j],
        |p| {
            let d = delta(x[p.j], x[p.i], None);
            let (e, s) = exception_pair(dot(d, d), p.sigma, p.epsilon, p.charge_prod);
            let fi = [s * d[0], s * d[1], s * d[2]];
            (e, [fi, neg(fi)])
        },
        f,
    )
}
