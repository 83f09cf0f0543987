//! Synthetic force-field systems for the kernel tests: random clusters with
//! bonds, angles, torsions, nonbonded exceptions and OBC parameters.
#![allow(dead_code)]

use super::Rng;
use steermd::forcefield::*;

/// `n` random positions (nm) in a cube of edge `edge` with every pair at
/// least `min_dist` apart, also between periodic images (rejection sampling).
pub fn random_positions(rng: &mut Rng, n: usize, edge: f64, min_dist: f64) -> Vec<[f64; 3]> {
    let mut out: Vec<[f64; 3]> = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n {
        tries += 1;
        assert!(
            tries < 1_000_000,
            "cannot place {n} atoms in a {edge} nm cube"
        );
        let p = [
            rng.uniform() * edge,
            rng.uniform() * edge,
            rng.uniform() * edge,
        ];
        let ok = out.iter().all(|q| {
            let d2: f64 = (0..3)
                .map(|k| {
                    let d = (p[k] - q[k]).abs();
                    d.min(edge - d).powi(2)
                })
                .sum();
            d2 >= min_dist * min_dist
        });
        if ok {
            out.push(p);
        }
    }
    out
}

/// What a synthetic system contains.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub n: usize,
    pub bonded: bool,
    pub nonbonded: Option<(NonbondedMethod, Option<f64>)>,
    pub gb: Option<(ObcFlavor, NonbondedMethod)>,
    pub cutoff: f64,
    pub edge: f64,
    pub periodic_bonded: bool,
    /// GB salt screening κ (nm⁻¹).
    pub kappa: f64,
}

impl Spec {
    pub fn new(n: usize, edge: f64) -> Self {
        Spec {
            n,
            bonded: false,
            nonbonded: None,
            gb: None,
            cutoff: 1.0,
            edge,
            periodic_bonded: false,
            kappa: 0.0,
        }
    }
}

/// A random system of `spec.n` atoms: bonds between nearby atoms, angles and
/// torsions along random chains, LJ/Coulomb particles with a third of them
/// in exceptions (half pure exclusions), OBC radii and scales. Forces are
/// in groups 0 (bonds), 1 (angles), 2 (torsions), 3 (nonbonded), 5 (GB),
/// 4 (CMMotionRemover). The default box is a cube of edge `spec.edge`.
pub fn random_system(rng: &mut Rng, spec: &Spec) -> System {
    let n = spec.n;
    let mut system = System {
        masses: (0..n).map(|_| 1.0 + 15.0 * rng.uniform()).collect(),
        default_box: Some([
            [spec.edge, 0.0, 0.0],
            [0.0, spec.edge, 0.0],
            [0.0, 0.0, spec.edge],
        ]),
        ..System::default()
    };
    let pick = |rng: &mut Rng, k: usize| -> Vec<usize> {
        let mut v: Vec<usize> = Vec::new();
        while v.len() < k {
            let a = rng.below(n);
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v
    };
    if spec.bonded && n >= 4 {
        let bonds = (0..n)
            .map(|_| {
                let v = pick(rng, 2);
                HarmonicBond {
                    i: v[0],
                    j: v[1],
                    length: 0.1 + 0.3 * rng.uniform(),
                    k: 1000.0 + 3e5 * rng.uniform(),
                }
            })
            .collect();
        system.forces.push(Force {
            group: 0,
            name: "HarmonicBondForce".into(),
            kind: ForceKind::HarmonicBond(HarmonicBondForce {
                bonds,
                periodic: spec.periodic_bonded,
            }),
        });
        let angles = (0..n)
            .map(|_| {
                let v = pick(rng, 3);
                HarmonicAngle {
                    ijk: [v[0], v[1], v[2]],
                    angle: 1.5 + 1.5 * rng.uniform(),
                    k: 100.0 + 500.0 * rng.uniform(),
                }
            })
            .collect();
        system.forces.push(Force {
            group: 1,
            name: "HarmonicAngleForce".into(),
            kind: ForceKind::HarmonicAngle(HarmonicAngleForce {
                angles,
                periodic: spec.periodic_bonded,
            }),
        });
        let torsions = (0..2 * n)
            .map(|_| {
                let v = pick(rng, 4);
                PeriodicTorsion {
                    ijkl: [v[0], v[1], v[2], v[3]],
                    periodicity: 1 + rng.below(4) as u32,
                    phase: 6.0 * rng.uniform() - 3.0,
                    k: 30.0 * rng.uniform(),
                }
            })
            .collect();
        system.forces.push(Force {
            group: 2,
            name: "PeriodicTorsionForce".into(),
            kind: ForceKind::PeriodicTorsion(PeriodicTorsionForce {
                torsions,
                periodic: spec.periodic_bonded,
            }),
        });
    }
    let charges: Vec<f64> = (0..n).map(|_| rng.uniform() - 0.5).collect();
    if let Some((method, switch)) = spec.nonbonded {
        let particles = charges
            .iter()
            .map(|&q| NonbondedParticle {
                charge: q,
                sigma: 0.1 + 0.25 * rng.uniform(),
                epsilon: if rng.below(5) == 0 {
                    0.0
                } else {
                    rng.uniform()
                },
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut exceptions = Vec::new();
        while exceptions.len() < n / 3 {
            let v = pick(rng, 2);
            let key = (v[0].min(v[1]), v[0].max(v[1]));
            if !seen.insert(key) {
                continue;
            }
            let zero = rng.below(2) == 0;
            exceptions.push(NonbondedException {
                i: v[0],
                j: v[1],
                charge_prod: if zero {
                    0.0
                } else {
                    0.3 * (rng.uniform() - 0.5)
                },
                sigma: 0.1 + 0.2 * rng.uniform(),
                epsilon: if zero { 0.0 } else { 0.5 * rng.uniform() },
            });
        }
        system.forces.push(Force {
            group: 3,
            name: "NonbondedForce".into(),
            kind: ForceKind::Nonbonded(NonbondedForce {
                method,
                cutoff: spec.cutoff,
                switch_distance: switch,
                reaction_field_dielectric: 78.3,
                use_dispersion_correction: true,
                particles,
                exceptions,
                ..NonbondedForce::default()
            }),
        });
    }
    system.forces.push(Force {
        group: 4,
        name: "CMMotionRemover".into(),
        kind: ForceKind::CmMotionRemover { frequency: 1 },
    });
    if let Some((flavor, method)) = spec.gb {
        let particles = charges
            .iter()
            .map(|&q| ObcParticle {
                charge: q,
                radius: 0.11 + 0.1 * rng.uniform(),
                scale: 0.7 + 0.25 * rng.uniform(),
            })
            .collect();
        let coulomb_constant = match flavor {
            ObcFlavor::GbsaObcForce => ONE_4PI_EPS0,
            ObcFlavor::CustomGbObc2 => 138.935485,
        };
        system.forces.push(Force {
            group: 5,
            name: "GB".into(),
            kind: ForceKind::GbsaObc(GbsaObcForce {
                flavor,
                method,
                cutoff: spec.cutoff,
                solvent_dielectric: 78.5,
                coulomb_constant,
                kappa: spec.kappa,
                particles,
                ..GbsaObcForce::default()
            }),
        });
    }
    system
}

/// Total potential energy of `groups` at `x`.
pub fn energy(
    ev: &mut dyn ForceEvaluator,
    x: &[[f64; 3]],
    b: Option<&BoxVectors>,
    groups: u32,
) -> f64 {
    let mut out = ForceOutput::new(x.len());
    ev.compute(x, b, groups, &mut out).unwrap();
    out.potential_energy()
}

/// Central-difference forces −∂E/∂x (step `h` nm) of atoms `atoms`.
pub fn fd_forces(
    ev: &mut dyn ForceEvaluator,
    x: &[[f64; 3]],
    b: Option<&BoxVectors>,
    groups: u32,
    atoms: &[usize],
    h: f64,
) -> Vec<[f64; 3]> {
    let mut y = x.to_vec();
    atoms
        .iter()
        .map(|&i| {
            let mut f = [0.0; 3];
            for k in 0..3 {
                let orig = y[i][k];
                y[i][k] = orig + h;
                let ep = energy(ev, &y, b, groups);
                y[i][k] = orig - h;
                let em = energy(ev, &y, b, groups);
                y[i][k] = orig;
                f[k] = -(ep - em) / (2.0 * h);
            }
            f
        })
        .collect()
}

/// sqrt(Σ|a − b|² / Σ|b|²), or the absolute RMS difference when b is all zero.
pub fn rel_rms(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for (p, q) in a.iter().zip(b) {
        for k in 0..3 {
            num += (p[k] - q[k]).powi(2);
            den += q[k] * q[k];
        }
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}
