//! Force kernels on synthetic systems: forces are −∇E (central differences)
//! for every force type and method on both backends, the CPU backend agrees
//! with the reference, is bitwise independent of the thread count and of
//! its neighbour-list history, and unsupported inputs are clear errors.

mod common;

use common::ff::{fd_forces, random_positions, random_system, rel_rms, Spec};
use common::Rng;
use steermd::forcefield::*;
use steermd::Device;

const DEVICES: [Device; 2] = [Device::Reference, Device::Cpu];

fn evaluator(device: Device, system: &System) -> Box<dyn ForceEvaluator> {
    device.backend().unwrap().force_evaluator(system).unwrap()
}

fn eval(
    ev: &mut dyn ForceEvaluator,
    x: &[[f64; 3]],
    b: Option<&BoxVectors>,
    groups: u32,
) -> ForceOutput {
    let mut out = ForceOutput::new(x.len());
    ev.compute(x, b, groups, &mut out).unwrap();
    out
}

/// Check analytic forces against central differences on a sample of atoms
/// for each used group separately and all together.
fn check_fd(
    device: Device,
    system: &System,
    x: &[[f64; 3]],
    b: Option<&BoxVectors>,
    tol: f64,
    what: &str,
) {
    let mut ev = evaluator(device, system);
    let atoms: Vec<usize> = (0..x.len()).step_by((x.len() / 12).max(1)).collect();
    let used = system.used_groups();
    let mut masks: Vec<u32> = (0..32)
        .map(|g| 1u32 << g)
        .filter(|m| used & m != 0)
        .collect();
    masks.push(ALL_GROUPS);
    for mask in masks {
        let out = eval(ev.as_mut(), x, b, mask);
        let analytic: Vec<[f64; 3]> = atoms.iter().map(|&i| out.forces[i]).collect();
        let fd = fd_forces(ev.as_mut(), x, b, mask, &atoms, 1e-5);
        let err = rel_rms(&analytic, &fd);
        let scale: f64 = fd.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
        eprintln!("{what} {device:?} groups {mask:#x}: E = {:.6} kJ/mol, |F_fd| = {scale:.3e}, rel rms(F − F_fd) = {err:.2e}", out.potential_energy());
        if scale == 0.0 {
            assert!(
                err < 1e-9,
                "{what} {device:?} groups {mask:#x}: nonzero forces {err:e}"
            );
        } else {
            assert!(
                err < tol,
                "{what} {device:?} groups {mask:#x}: rel rms {err:e} > {tol:e}"
            );
        }
    }
}

fn cube(edge: f64) -> BoxVectors {
    [[edge, 0.0, 0.0], [0.0, edge, 0.0], [0.0, 0.0, edge]]
}

#[test]
fn bonded_forces_are_minus_gradient() {
    let mut rng = Rng::new(11);
    for periodic in [false, true] {
        let mut spec = Spec::new(24, 1.2);
        spec.bonded = true;
        spec.periodic_bonded = periodic;
        let system = random_system(&mut rng, &spec);
        // Positions spill out of the box so periodic terms wrap.
        let x: Vec<[f64; 3]> = random_positions(&mut rng, 24, 1.2, 0.12)
            .into_iter()
            .map(|p| [p[0] * 1.5 - 0.3, p[1], p[2] + 0.4])
            .collect();
        let b = cube(2.5);
        for device in DEVICES {
            check_fd(
                device,
                &system,
                &x,
                Some(&b),
                2e-6,
                &format!("bonded periodic={periodic}"),
            );
        }
    }
}

#[test]
fn torsion_near_zero_and_pi_uses_the_robust_branch() {
    // Dihedrals within 0.1 rad of 0 and π go through OpenMM's asin branch.
    for phi0 in [0.02f64, -0.05, 3.1, -3.12, 1.0] {
        let x = vec![
            [0.1 * phi0.cos(), 0.1 * phi0.sin(), 0.0],
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 0.15],
            [0.12, 0.0, 0.15],
        ];
        let system = System {
            masses: vec![12.0; 4],
            forces: vec![Force {
                group: 0,
                name: "t".into(),
                kind: ForceKind::PeriodicTorsion(PeriodicTorsionForce {
                    torsions: vec![
                        PeriodicTorsion {
                            ijkl: [0, 1, 2, 3],
                            periodicity: 1,
                            phase: 0.3,
                            k: 10.0,
                        },
                        PeriodicTorsion {
                            ijkl: [0, 1, 2, 3],
                            periodicity: 3,
                            phase: 0.0,
                            k: 5.0,
                        },
                    ],
                    periodic: false,
                }),
            }],
            ..System::default()
        };
        for device in DEVICES {
            check_fd(
                device,
                &system,
                &x,
                None,
                1e-6,
                &format!("torsion phi0={phi0}"),
            );
        }
        // The OpenMM sign convention: a–b–c–d with d on the +x side and a
        // rotated by +phi0 about the b→c axis gives φ = −phi0.
        let mut ev = evaluator(Device::Reference, &system);
        let e = eval(ev.as_mut(), &x, None, ALL_GROUPS).potential_energy();
        let phi = -phi0;
        let expected = 10.0 * (1.0 + (phi - 0.3).cos()) + 5.0 * (1.0 + (3.0 * phi).cos());
        assert!(
            (e - expected).abs() < 1e-9 * expected.abs().max(1.0),
            "phi0={phi0}: {e} vs {expected}"
        );
    }
}

fn nonbonded_spec(method: NonbondedMethod, switch: Option<f64>) -> Spec {
    let mut spec = Spec::new(40, 2.4);
    spec.nonbonded = Some((method, switch));
    spec.cutoff = 0.9;
    spec
}

#[test]
fn nonbonded_forces_are_minus_gradient_for_every_method() {
    let mut rng = Rng::new(12);
    let cases = [
        (NonbondedMethod::NoCutoff, None),
        (NonbondedMethod::CutoffNonPeriodic, None),
        (NonbondedMethod::CutoffNonPeriodic, Some(0.7)),
        (NonbondedMethod::CutoffPeriodic, None),
        (NonbondedMethod::CutoffPeriodic, Some(0.75)),
    ];
    for (method, switch) in cases {
        let system = random_system(&mut rng, &nonbonded_spec(method, switch));
        let x: Vec<[f64; 3]> = random_positions(&mut rng, 40, 2.4, 0.2)
            .into_iter()
            .map(|p| [p[0] - 0.5, p[1] + 0.3, p[2]])
            .collect();
        let b = cube(2.4);
        for device in DEVICES {
            check_fd(
                device,
                &system,
                &x,
                Some(&b),
                1e-6,
                &format!("nonbonded {method:?} switch={switch:?}"),
            );
        }
    }
}

#[test]
fn dispersion_correction_is_c_over_v_and_only_for_periodic_cutoffs() {
    let mut rng = Rng::new(13);
    for switch in [None, Some(0.7)] {
        let mut system = random_system(
            &mut rng,
            &nonbonded_spec(NonbondedMethod::CutoffPeriodic, switch),
        );
        let x = random_positions(&mut rng, 40, 2.4, 0.2);
        for device in DEVICES {
            let b1 = cube(2.4);
            let b2 = cube(3.0);
            let with = |system: &System, b: &BoxVectors| {
                eval(evaluator(device, system).as_mut(), &x, Some(b), ALL_GROUPS).potential_energy()
            };
            let mut off = system.clone();
            if let ForceKind::Nonbonded(nb) =
                &mut off.forces.iter_mut().find(|f| f.group == 3).unwrap().kind
            {
                nb.use_dispersion_correction = false;
            }
            let (on1, off1) = (with(&system, &b1), with(&off, &b1));
            let (on2, off2) = (with(&system, &b2), with(&off, &b2));
            let c1 = (on1 - off1) * 2.4f64.powi(3);
            let c2 = (on2 - off2) * 3.0f64.powi(3);
            assert!(c1 < 0.0, "attractive tail");
            assert!((c1 - c2).abs() < 1e-9 * c1.abs(), "{c1} vs {c2}");
            let nb = match &system.forces.iter().find(|f| f.group == 3).unwrap().kind {
                ForceKind::Nonbonded(nb) => nb.clone(),
                _ => unreachable!(),
            };
            let c = terms::dispersion_coefficient(&nb);
            assert!((c - c1).abs() < 1e-9 * c.abs(), "{c} vs {c1}");
        }
        // Non-periodic cutoffs get no correction.
        if let ForceKind::Nonbonded(nb) = &mut system
            .forces
            .iter_mut()
            .find(|f| f.group == 3)
            .unwrap()
            .kind
        {
            nb.method = NonbondedMethod::CutoffNonPeriodic;
            assert_eq!(terms::dispersion_coefficient(nb), 0.0);
        }
    }
}

fn gb_spec(flavor: ObcFlavor, method: NonbondedMethod, n: usize, edge: f64) -> Spec {
    let mut spec = Spec::new(n, edge);
    spec.gb = Some((flavor, method));
    spec.cutoff = 0.9;
    spec
}

#[test]
fn gb_forces_are_minus_gradient_for_both_flavors_and_every_method() {
    let mut rng = Rng::new(14);
    for flavor in [ObcFlavor::GbsaObcForce, ObcFlavor::CustomGbObc2] {
        for method in [
            NonbondedMethod::NoCutoff,
            NonbondedMethod::CutoffNonPeriodic,
            NonbondedMethod::CutoffPeriodic,
        ] {
            let system = random_system(&mut rng, &gb_spec(flavor, method, 40, 2.2));
            let x = random_positions(&mut rng, 40, 2.2, 0.13);
            let b = cube(2.2);
            for device in DEVICES {
                check_fd(
                    device,
                    &system,
                    &x,
                    Some(&b),
                    1e-6,
                    &format!("gb {flavor:?} {method:?}"),
                );
            }
        }
    }
}

/// Salt screening (κ > 0, the CustomGB OBC2 of OpenMM's app layer with
/// `implicitSolventSaltConc`), with and without a cutoff, and without ACE.
#[test]
fn gb_with_salt_forces_are_minus_gradient() {
    let mut rng = Rng::new(18);
    for method in [
        NonbondedMethod::NoCutoff,
        NonbondedMethod::CutoffNonPeriodic,
        NonbondedMethod::CutoffPeriodic,
    ] {
        let mut system =
            random_system(&mut rng, &gb_spec(ObcFlavor::CustomGbObc2, method, 40, 2.2));
        if let ForceKind::GbsaObc(g) = &mut system.forces.last_mut().unwrap().kind {
            g.kappa = 1.27;
            g.solute_dielectric = 2.0;
            g.surface_area_energy = 0.0;
        }
        let x = random_positions(&mut rng, 40, 2.2, 0.13);
        let b = cube(2.2);
        for device in DEVICES {
            check_fd(
                device,
                &system,
                &x,
                Some(&b),
                1e-6,
                &format!("gb salt {method:?}"),
            );
        }
    }
}

/// Atoms deep inside each other's descreening spheres: the engulfed-atom
/// case `or_i < sr_j − r` that GBSAOBCForce corrects and the CustomGB
/// expressions do not; both must still be conservative.
#[test]
fn gb_engulfed_atoms_forces_are_minus_gradient() {
    let x = vec![
        [0.0, 0.0, 0.0],
        [0.03, 0.01, 0.0],
        [0.05, -0.02, 0.03],
        [0.3, 0.1, -0.1],
        [0.02, 0.2, 0.05],
    ];
    let particles = vec![
        ObcParticle {
            charge: 0.5,
            radius: 0.2,
            scale: 1.2,
        },
        ObcParticle {
            charge: -0.3,
            radius: 0.1,
            scale: 0.8,
        },
        ObcParticle {
            charge: 0.2,
            radius: 0.12,
            scale: 0.85,
        },
        ObcParticle {
            charge: -0.6,
            radius: 0.17,
            scale: 0.72,
        },
        ObcParticle {
            charge: 0.1,
            radius: 0.15,
            scale: 0.9,
        },
    ];
    for flavor in [ObcFlavor::GbsaObcForce, ObcFlavor::CustomGbObc2] {
        let system = System {
            masses: vec![10.0; 5],
            forces: vec![Force {
                group: 0,
                name: "gb".into(),
                kind: ForceKind::GbsaObc(GbsaObcForce {
                    flavor,
                    particles: particles.clone(),
                    ..GbsaObcForce::default()
                }),
            }],
            ..System::default()
        };
        for device in DEVICES {
            check_fd(
                device,
                &system,
                &x,
                None,
                1e-6,
                &format!("gb engulfed {flavor:?}"),
            );
        }
    }
}

#[test]
fn unsupported_methods_are_clear_errors_naming_the_force() {
    let mut rng = Rng::new(15);
    for method in [
        NonbondedMethod::Ewald,
        NonbondedMethod::Pme,
        NonbondedMethod::LjPme,
    ] {
        let system = random_system(&mut rng, &nonbonded_spec(method, None));
        for device in DEVICES {
            let err = device
                .backend()
                .unwrap()
                .force_evaluator(&system)
                .err()
                .expect("unsupported");
            let msg = err.to_string();
            assert!(
                msg.contains("NonbondedForce") && msg.contains("not supported yet"),
                "{msg}"
            );
        }
    }
    let mut system = random_system(
        &mut rng,
        &gb_spec(ObcFlavor::GbsaObcForce, NonbondedMethod::NoCutoff, 10, 2.0),
    );
    if let ForceKind::GbsaObc(g) = &mut system.forces.last_mut().unwrap().kind {
        g.kappa = -0.7;
    }
    for device in DEVICES {
        let err = device
            .backend()
            .unwrap()
            .force_evaluator(&system)
            .err()
            .expect("negative kappa");
        assert!(err.to_string().contains("kappa"), "{err}");
    }
}

#[test]
fn periodic_box_smaller_than_twice_the_cutoff_is_an_error() {
    let mut rng = Rng::new(16);
    let system = random_system(
        &mut rng,
        &nonbonded_spec(NonbondedMethod::CutoffPeriodic, None),
    );
    let x = random_positions(&mut rng, 40, 1.5, 0.1);
    for device in DEVICES {
        let mut ev = evaluator(device, &system);
        let mut out = ForceOutput::new(40);
        let err = ev
            .compute(&x, Some(&cube(1.7)), ALL_GROUPS, &mut out)
            .expect_err("small box");
        assert!(err.to_string().contains("twice the cutoff"), "{err}");
        let err = ev
            .compute(&x, None, ALL_GROUPS, &mut out)
            .expect_err("no box");
        assert!(err.to_string().contains("box"), "{err}");
        let err = ev
            .compute(&x[..39], Some(&cube(2.4)), ALL_GROUPS, &mut out)
            .expect_err("short");
        assert!(err.to_string().contains("40"), "{err}");
    }
}

#[test]
fn only_requested_groups_are_computed() {
    let mut rng = Rng::new(17);
    let mut spec = gb_spec(
        ObcFlavor::GbsaObcForce,
        NonbondedMethod::CutoffNonPeriodic,
        30,
        2.0,
    );
    spec.bonded = true;
    spec.nonbonded = Some((NonbondedMethod::CutoffNonPeriodic, None));
    let system = random_system(&mut rng, &spec);
    let x = random_positions(&mut rng, 30, 2.0, 0.15);
    for device in DEVICES {
        let mut ev = evaluator(device, &system);
        let all = eval(ev.as_mut(), &x, None, ALL_GROUPS);
        let mut sum = vec![[0.0; 3]; 30];
        for g in 0..6 {
            let one = eval(ev.as_mut(), &x, None, 1 << g);
            for (h, e) in one.group_energies.iter().enumerate() {
                if h != g {
                    assert_eq!(*e, 0.0);
                }
            }
            assert!(
                (one.group_energies[g] - all.group_energies[g]).abs()
                    <= 1e-12 * all.group_energies[g].abs()
            );
            for (s, f) in sum.iter_mut().zip(&one.forces) {
                for k in 0..3 {
                    s[k] += f[k];
                }
            }
        }
        assert!(rel_rms(&sum, &all.forces) < 1e-12);
        assert_eq!(all.group_energies[4], 0.0, "CMMotionRemover has no energy");
        let none = eval(ev.as_mut(), &x, None, 1 << 4);
        assert!(none.forces.iter().flatten().all(|&v| v == 0.0));
    }
}

/// Every configuration the CPU backend distinguishes, on one system each.
fn configurations() -> Vec<(String, Spec)> {
    let mut out = Vec::new();
    let methods = [
        (NonbondedMethod::NoCutoff, None),
        (NonbondedMethod::CutoffNonPeriodic, None),
        (NonbondedMethod::CutoffNonPeriodic, Some(0.8)),
        (NonbondedMethod::CutoffPeriodic, None),
        (NonbondedMethod::CutoffPeriodic, Some(0.8)),
    ];
    for (k, (method, switch)) in methods.into_iter().enumerate() {
        let flavor = if k % 2 == 0 {
            ObcFlavor::GbsaObcForce
        } else {
            ObcFlavor::CustomGbObc2
        };
        let mut spec = Spec::new(300, 3.2);
        spec.bonded = true;
        spec.periodic_bonded = method.is_periodic();
        spec.nonbonded = Some((method, switch));
        spec.gb = Some((flavor, method));
        spec.cutoff = 1.0;
        spec.kappa = if k == 3 { 0.9 } else { 0.0 };
        out.push((
            format!(
                "{method:?} switch={switch:?} {flavor:?} kappa={}",
                spec.kappa
            ),
            spec,
        ));
    }
    out
}

/// A 300-atom cluster (denser in the middle), partly outside the box.
fn cluster(rng: &mut Rng, n: usize, edge: f64) -> Vec<[f64; 3]> {
    random_positions(rng, n, edge, 0.14)
        .into_iter()
        .map(|p| [p[0] - 0.3, p[1] + 0.2, p[2]])
        .collect()
}

#[test]
fn cpu_agrees_with_reference_on_random_clusters() {
    let mut rng = Rng::new(21);
    for (name, spec) in configurations() {
        let system = random_system(&mut rng, &spec);
        let x = cluster(&mut rng, spec.n, spec.edge);
        let b = cube(spec.edge);
        let r = eval(
            evaluator(Device::Reference, &system).as_mut(),
            &x,
            Some(&b),
            ALL_GROUPS,
        );
        let c = eval(
            evaluator(Device::Cpu, &system).as_mut(),
            &x,
            Some(&b),
            ALL_GROUPS,
        );
        for g in 0..6 {
            let (er, ec) = (r.group_energies[g], c.group_energies[g]);
            let rel = if er == 0.0 {
                ec.abs()
            } else {
                ((ec - er) / er).abs()
            };
            eprintln!("{name}: group {g}: reference {er:.9} cpu {ec:.9} rel {rel:.1e}");
            assert!(rel < 1e-12, "{name} group {g}: {ec} vs {er}");
        }
        let err = rel_rms(&c.forces, &r.forces);
        eprintln!("{name}: forces rel rms {err:.1e}");
        assert!(err < 1e-12, "{name}: forces {err:e}");
    }
}

fn bits(out: &ForceOutput) -> (Vec<u64>, Vec<u64>) {
    (
        out.forces.iter().flatten().map(|v| v.to_bits()).collect(),
        out.group_energies.iter().map(|v| v.to_bits()).collect(),
    )
}

#[test]
fn cpu_results_are_bitwise_independent_of_the_thread_count() {
    let mut rng = Rng::new(22);
    for (name, spec) in configurations() {
        let system = random_system(&mut rng, &spec);
        let x = cluster(&mut rng, spec.n, spec.edge);
        let b = cube(spec.edge);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                bits(&eval(
                    evaluator(Device::Cpu, &system).as_mut(),
                    &x,
                    Some(&b),
                    ALL_GROUPS,
                ))
            })
        };
        let one = run(1);
        for threads in [2, 3, 5] {
            assert!(
                run(threads) == one,
                "{name}: {threads} threads differ from 1"
            );
        }
    }
}

/// The neighbour list built at other positions (moved by less than half
/// the skin, so not rebuilt) or rebuilt at different times gives bitwise
/// the same result as a fresh list: a checkpointed-and-resumed run equals
/// an uninterrupted one.
#[test]
fn cpu_results_do_not_depend_on_the_neighbour_list_history() {
    let mut rng = Rng::new(23);
    for (name, spec) in configurations() {
        let system = random_system(&mut rng, &spec);
        let x0 = cluster(&mut rng, spec.n, spec.edge);
        let b = cube(spec.edge);
        // A short trajectory of small random moves (0.02 nm per step per axis at most).
        let mut traj = vec![x0.clone()];
        for _ in 0..6 {
            let last = traj.last().unwrap();
            traj.push(
                last.iter()
                    .map(|p| {
                        [
                            p[0] + 0.04 * (rng.uniform() - 0.5),
                            p[1] + 0.04 * (rng.uniform() - 0.5),
                            p[2] + 0.04 * (rng.uniform() - 0.5),
                        ]
                    })
                    .collect(),
            );
        }
        let mut long = evaluator(Device::Cpu, &system);
        for (step, x) in traj.iter().enumerate() {
            let continued = bits(&eval(long.as_mut(), x, Some(&b), ALL_GROUPS));
            let fresh = bits(&eval(
                evaluator(Device::Cpu, &system).as_mut(),
                x,
                Some(&b),
                ALL_GROUPS,
            ));
            assert!(
                continued == fresh,
                "{name}: step {step} differs from a fresh evaluator"
            );
        }
    }
}
