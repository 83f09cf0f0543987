//! Toy force providers and small systems for the integrator tests (until the
//! real kernels are used): harmonic tethers, bonds and angles, and
//! intermolecular Lennard-Jones + Coulomb, computed in a fixed order (so the
//! result is a pure function of the positions for any thread count).
#![allow(dead_code, clippy::needless_range_loop)]

use rayon::prelude::*;
use steermd::forcefield::BoxVectors;
use steermd::forcefield::{
    Constraint, Force, ForceEvaluator, ForceKind, ForceOutput, System, ONE_4PI_EPS0,
};
use steermd::integrate::{Integrator, Simulation, SimulationOptions};
use steermd::Result;

/// Energy groups of the toy terms.
pub const GROUP_BONDED: usize = 0;
pub const GROUP_PAIR: usize = 1;
pub const GROUP_TETHER: usize = 2;

#[derive(Clone, Debug, Default)]
pub struct Toy {
    /// (particle, anchor nm, k kJ/mol/nm²): ½k|x − anchor|².
    pub tethers: Vec<(usize, [f64; 3], f64)>,
    /// (i, j, r0 nm, k kJ/mol/nm²).
    pub bonds: Vec<(usize, usize, f64, f64)>,
    /// (i, vertex, k, θ0 rad, k kJ/mol/rad²).
    pub angles: Vec<(usize, usize, usize, f64, f64)>,
    /// Molecule of each particle: pair terms act between molecules only.
    pub molecule: Vec<usize>,
    /// Per particle (σ nm, ε kJ/mol, q e); empty: no pair terms.
    pub pair_params: Vec<(f64, f64, f64)>,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

impl Toy {
    /// Pair energy and force on i from all j of other molecules, in j order.
    fn pair_on(&self, x: &[[f64; 3]], i: usize) -> (f64, [f64; 3]) {
        let (si, ei, qi) = self.pair_params[i];
        let mut e = 0.0;
        let mut f = [0.0; 3];
        for j in 0..x.len() {
            if self.molecule[j] == self.molecule[i] {
                continue;
            }
            let (sj, ej, qj) = self.pair_params[j];
            let d = sub(x[i], x[j]);
            let r2 = dot(d, d);
            let r = r2.sqrt();
            let s = 0.5 * (si + sj);
            let eps = (ei * ej).sqrt();
            let sr6 = (s * s / r2).powi(3);
            let coul = ONE_4PI_EPS0 * qi * qj / r;
            e += 4.0 * eps * (sr6 * sr6 - sr6) + coul;
            // −dE/dr / r
            let fr = (24.0 * eps * (2.0 * sr6 * sr6 - sr6) + coul) / r2;
            for k in 0..3 {
                f[k] += fr * d[k];
            }
        }
        (0.5 * e, f)
    }
}

impl ForceEvaluator for Toy {
    fn compute(
        &mut self,
        x: &[[f64; 3]],
        _box: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()> {
        out.clear(x.len());
        if groups & (1 << GROUP_TETHER) != 0 {
            for &(i, a, k) in &self.tethers {
                let d = sub(x[i], a);
                out.group_energies[GROUP_TETHER] += 0.5 * k * dot(d, d);
                for c in 0..3 {
                    out.forces[i][c] -= k * d[c];
                }
            }
        }
        if groups & (1 << GROUP_BONDED) != 0 {
            for &(i, j, r0, k) in &self.bonds {
                let d = sub(x[i], x[j]);
                let r = dot(d, d).sqrt();
                out.group_energies[GROUP_BONDED] += 0.5 * k * (r - r0) * (r - r0);
                let s = -k * (r - r0) / r;
                for c in 0..3 {
                    out.forces[i][c] += s * d[c];
                    out.forces[j][c] -= s * d[c];
                }
            }
            for &(a, v, b, t0, k) in &self.angles {
                let u = sub(x[a], x[v]);
                let w = sub(x[b], x[v]);
                let (lu, lw) = (dot(u, u).sqrt(), dot(w, w).sqrt());
                let c = (dot(u, w) / (lu * lw)).clamp(-1.0, 1.0);
                let t = c.acos();
                out.group_energies[GROUP_BONDED] += 0.5 * k * (t - t0) * (t - t0);
                // dE/dθ · dθ/dx; dθ/dc = −1/sin θ.
                let de = k * (t - t0) * (-1.0 / t.sin().max(1e-12));
                for q in 0..3 {
                    let dcu = (w[q] / (lu * lw)) - c * u[q] / (lu * lu);
                    let dcw = (u[q] / (lu * lw)) - c * w[q] / (lw * lw);
                    out.forces[a][q] -= de * dcu;
                    out.forces[b][q] -= de * dcw;
                    out.forces[v][q] += de * (dcu + dcw);
                }
            }
        }
        if groups & (1 << GROUP_PAIR) != 0 && !self.pair_params.is_empty() {
            // Parallel over particles, each a fixed-order sum: the same bits
            // for any thread count.
            let per: Vec<(f64, [f64; 3])> = (0..x.len())
                .into_par_iter()
                .map(|i| self.pair_on(x, i))
                .collect();
            for (i, (e, f)) in per.into_iter().enumerate() {
                out.group_energies[GROUP_PAIR] += e;
                for c in 0..3 {
                    out.forces[i][c] += f[c];
                }
            }
        }
        Ok(())
    }
}

/// A System with the masses and constraints of a toy (forces only declare
/// the groups and the CM remover).
pub fn system(masses: Vec<f64>, constraints: Vec<Constraint>, cm_frequency: Option<u32>) -> System {
    let mut forces = Vec::new();
    if let Some(frequency) = cm_frequency {
        forces.push(Force {
            group: 0,
            name: "CMMotionRemover".into(),
            kind: ForceKind::CmMotionRemover { frequency },
        });
    }
    System {
        masses,
        constraints,
        forces,
        default_box: None,
    }
}

/// Independent particles in harmonic wells (no constraints): masses
/// alternate 4 and 12 amu, k = 500 kJ/mol/nm² (ω ≈ 6–11 /ps).
pub fn tethered(n: usize) -> (System, Toy, Vec<[f64; 3]>) {
    let masses: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 4.0 } else { 12.0 })
        .collect();
    let x: Vec<[f64; 3]> = (0..n).map(|i| [i as f64 * 0.5, 0.0, 0.0]).collect();
    let toy = Toy {
        tethers: x.iter().enumerate().map(|(i, &a)| (i, a, 500.0)).collect(),
        molecule: (0..n).collect(),
        ..Default::default()
    };
    (system(masses, vec![], None), toy, x)
}

pub const D_OH: f64 = 0.09572;
pub const D_HH: f64 = 0.15139;
pub const D_CH: f64 = 0.109;

/// `n_water` rigid TIP3P-like waters (SETTLE) and `n_methane` CH₄-like
/// molecules with constrained C–H bonds (one 4-constraint cluster each,
/// harmonic H–C–H angles), on a cubic grid of spacing 0.32 nm, with
/// intermolecular LJ + Coulomb. Optionally every particle is tethered.
pub fn molecules(
    n_water: usize,
    n_methane: usize,
    cm_frequency: Option<u32>,
) -> (System, Toy, Vec<[f64; 3]>) {
    let mut masses = Vec::new();
    let mut constraints = Vec::new();
    let mut x = Vec::new();
    let mut toy = Toy::default();
    let n_mol = n_water + n_methane;
    let side = (n_mol as f64).cbrt().ceil() as usize;
    let half = 0.5 * D_HH;
    let h = (D_OH * D_OH - half * half).sqrt();
    let tet = 109.4712f64.to_radians();
    for m in 0..n_mol {
        let g = [
            (m % side) as f64,
            ((m / side) % side) as f64,
            (m / (side * side)) as f64,
        ];
        let c = [0.32 * g[0], 0.32 * g[1], 0.32 * g[2]];
        // Alternate orientations a little so the start is not symmetric.
        let tw = 0.3 * m as f64;
        let (st, ct) = tw.sin_cos();
        let rot = |p: [f64; 3]| {
            [
                c[0] + ct * p[0] - st * p[1],
                c[1] + st * p[0] + ct * p[1],
                c[2] + p[2],
            ]
        };
        let base = masses.len();
        if m < n_water {
            x.push(rot([0.0, 0.0, 0.0]));
            x.push(rot([half, -h, 0.0]));
            x.push(rot([-half, -h, 0.0]));
            masses.extend([15.9994, 1.008, 1.008]);
            constraints.push(Constraint {
                i: base,
                j: base + 1,
                distance: D_OH,
            });
            constraints.push(Constraint {
                i: base,
                j: base + 2,
                distance: D_OH,
            });
            constraints.push(Constraint {
                i: base + 1,
                j: base + 2,
                distance: D_HH,
            });
            toy.pair_params
                .extend([(0.315, 0.636, -0.834), (0.1, 0.1, 0.417), (0.1, 0.1, 0.417)]);
            toy.molecule.extend([m; 3]);
        } else {
            x.push(rot([0.0, 0.0, 0.0]));
            let dirs = [
                [1.0, 1.0, 1.0],
                [1.0, -1.0, -1.0],
                [-1.0, 1.0, -1.0],
                [-1.0, -1.0, 1.0],
            ];
            for d in dirs {
                let s = D_CH / 3f64.sqrt();
                x.push(rot([s * d[0], s * d[1], s * d[2]]));
            }
            masses.extend([12.011, 1.008, 1.008, 1.008, 1.008]);
            for k in 1..=4 {
                constraints.push(Constraint {
                    i: base,
                    j: base + k,
                    distance: D_CH,
                });
            }
            for a in 1..=4 {
                for b in a + 1..=4 {
                    toy.angles.push((base + a, base, base + b, tet, 300.0));
                }
            }
            toy.pair_params.extend([
                (0.34, 0.45, -0.24),
                (0.25, 0.1, 0.06),
                (0.25, 0.1, 0.06),
                (0.25, 0.1, 0.06),
                (0.25, 0.1, 0.06),
            ]);
            toy.molecule.extend([m; 5]);
        }
    }
    (system(masses, constraints, cm_frequency), toy, x)
}

/// Harmonic diatomics (k = 3e5 kJ/mol/nm², r0 0.15 nm, masses 12) with
/// intermolecular LJ: a flexible system for NVE tests.
pub fn diatomics(n_mol: usize) -> (System, Toy, Vec<[f64; 3]>) {
    let mut x = Vec::new();
    let mut toy = Toy::default();
    let side = (n_mol as f64).cbrt().ceil() as usize;
    for m in 0..n_mol {
        let c = [
            0.45 * (m % side) as f64,
            0.45 * ((m / side) % side) as f64,
            0.45 * (m / (side * side)) as f64,
        ];
        x.push(c);
        x.push([c[0] + 0.15, c[1], c[2]]);
        toy.bonds.push((2 * m, 2 * m + 1, 0.15, 3e5));
        toy.pair_params.extend([(0.3, 1.0, 0.0), (0.3, 1.0, 0.0)]);
        toy.molecule.extend([m, m]);
    }
    (system(vec![12.0; 2 * n_mol], vec![], None), toy, x)
}

pub fn verlet(dt: f64) -> SimulationOptions {
    SimulationOptions::new(Integrator::VelocityVerlet { dt })
}

pub fn langevin(dt: f64, temperature: f64, friction: f64, seed: u64) -> SimulationOptions {
    let mut o = SimulationOptions::new(Integrator::LangevinMiddle {
        dt,
        temperature,
        friction,
    });
    o.seed = seed;
    o
}

pub fn simulation(
    (system, toy, x): (System, Toy, Vec<[f64; 3]>),
    options: SimulationOptions,
) -> Simulation {
    Simulation::with_evaluator(system, Box::new(toy), x, None, options).unwrap()
}

/// Mean and (population) variance.
pub fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
}

/// `system` with the toy's bonds, angles and pair terms as the standard
/// forces a backend computes itself (harmonic bonds ½k(r − r0)², angles
/// ½k(θ − θ0)², NoCutoff LJ + Coulomb with every intramolecular pair
/// excluded), for running the toy molecules on a device.
pub fn with_standard_forces(mut system: System, toy: &Toy) -> System {
    use steermd::forcefield::{
        HarmonicAngle, HarmonicAngleForce, HarmonicBond, HarmonicBondForce, NonbondedException,
        NonbondedForce, NonbondedParticle,
    };
    assert!(toy.tethers.is_empty(), "tethers have no standard force");
    let bonds = toy
        .bonds
        .iter()
        .map(|&(i, j, length, k)| HarmonicBond { i, j, length, k })
        .collect();
    let angles = toy
        .angles
        .iter()
        .map(|&(i, j, k, angle, kf)| HarmonicAngle {
            ijk: [i, j, k],
            angle,
            k: kf,
        })
        .collect();
    let n = toy.molecule.len();
    let exceptions = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .filter(|&(i, j)| toy.molecule[i] == toy.molecule[j])
        .map(|(i, j)| NonbondedException {
            i,
            j,
            charge_prod: 0.0,
            sigma: 1.0,
            epsilon: 0.0,
        })
        .collect();
    let nonbonded = NonbondedForce {
        particles: toy
            .pair_params
            .iter()
            .map(|&(sigma, epsilon, charge)| NonbondedParticle {
                charge,
                sigma,
                epsilon,
            })
            .collect(),
        exceptions,
        ..Default::default()
    };
    for (name, kind) in [
        (
            "HarmonicBondForce",
            ForceKind::HarmonicBond(HarmonicBondForce {
                bonds,
                periodic: false,
            }),
        ),
        (
            "HarmonicAngleForce",
            ForceKind::HarmonicAngle(HarmonicAngleForce {
                angles,
                periodic: false,
            }),
        ),
        ("NonbondedForce", ForceKind::Nonbonded(nonbonded)),
    ] {
        system.forces.push(Force {
            group: 0,
            name: name.into(),
            kind,
        });
    }
    system
}
