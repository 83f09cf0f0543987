//! Force-field input readers against the OpenMM reference data in
//! tests/data/ff (tools/make_ff_reference.py): System XML, PDB positions in
//! double precision, and malformed inputs.

use std::path::{Path, PathBuf};

use serde_json::Value;
use steermd::forcefield::{
    check_positions, read_system_xml, ForceKind, NonbondedMethod, ObcFlavor, System,
};
use steermd::io::{read_npy, read_pdb_positions};
use steermd::Error;

const CASES: [&str; 6] = [
    "ildn_obc_nocutoff",
    "ildn_obc_cutoff",
    "ff14sb_obc2_nocutoff",
    "ildn_obc_cutoff_switch_periodic",
    "prmtop_mbondi2",
    "prmtop_mbondi3_cutoff",
];

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ff")
        .join(rel)
}

fn reference(case: &str) -> Value {
    let text = std::fs::read_to_string(data(&format!("{case}/reference.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn positions_npy(case: &str) -> Vec<[f64; 3]> {
    let (shape, v) = read_npy::<f64>(data(&format!("{case}/positions.npy"))).unwrap();
    assert_eq!(shape[1], 3);
    v.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

fn method_name(m: NonbondedMethod) -> &'static str {
    match m {
        NonbondedMethod::NoCutoff => "NoCutoff",
        NonbondedMethod::CutoffNonPeriodic => "CutoffNonPeriodic",
        NonbondedMethod::CutoffPeriodic => "CutoffPeriodic",
        NonbondedMethod::Ewald => "Ewald",
        NonbondedMethod::Pme => "PME",
        NonbondedMethod::LjPme => "LJPME",
    }
}

/// Every force of the XML System agrees with reference.json: type, group,
/// name, periodicity, counts, methods, cutoffs, dielectrics.
fn check_against_reference(case: &str, sys: &System) {
    let r = reference(case);
    assert_eq!(
        sys.n_particles() as u64,
        r["n_atoms"].as_u64().unwrap(),
        "{case}"
    );
    assert_eq!(
        sys.constraints.len() as u64,
        r["constraints"].as_u64().unwrap(),
        "{case}"
    );
    assert_eq!(
        sys.degrees_of_freedom() as u64,
        r["dof"].as_u64().unwrap(),
        "{case}"
    );
    let mass: f64 = sys.masses.iter().sum();
    let want = r["mass_sum_dalton"].as_f64().unwrap();
    assert!(
        (mass - want).abs() < 1e-9 * want,
        "{case}: mass {mass} vs {want}"
    );
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(sys.forces.len(), groups.len(), "{case}");
    for (f, g) in sys.forces.iter().zip(groups) {
        let d = &g["details"];
        assert_eq!(u64::from(f.group), g["group"].as_u64().unwrap(), "{case}");
        assert_eq!(f.kind.type_name(), g["force"].as_str().unwrap(), "{case}");
        assert_eq!(f.name, d["name"].as_str().unwrap(), "{case}");
        let pbc = d["uses_pbc"].as_bool().unwrap();
        match &f.kind {
            ForceKind::HarmonicBond(b) => {
                assert_eq!(b.bonds.len() as u64, d["n_bonds"].as_u64().unwrap());
                assert_eq!(b.periodic, pbc);
            }
            ForceKind::HarmonicAngle(a) => {
                assert_eq!(a.angles.len() as u64, d["n_angles"].as_u64().unwrap());
                assert_eq!(a.periodic, pbc);
            }
            ForceKind::PeriodicTorsion(t) => {
                assert_eq!(t.torsions.len() as u64, d["n_torsions"].as_u64().unwrap());
                assert_eq!(t.periodic, pbc);
            }
            ForceKind::Nonbonded(nb) => {
                assert_eq!(
                    method_name(nb.method),
                    d["nonbonded_method"].as_str().unwrap()
                );
                assert_eq!(nb.method.is_periodic(), pbc);
                assert_eq!(nb.cutoff, d["cutoff_nm"].as_f64().unwrap());
                assert_eq!(
                    nb.reaction_field_dielectric,
                    d["reaction_field_dielectric"].as_f64().unwrap()
                );
                let sw = d["use_switching_function"]
                    .as_bool()
                    .unwrap()
                    .then(|| d["switching_distance_nm"].as_f64().unwrap());
                assert_eq!(nb.switch_distance, sw, "{case}");
                assert_eq!(
                    nb.use_dispersion_correction,
                    d["use_dispersion_correction"].as_bool().unwrap()
                );
                assert_eq!(
                    nb.particles.len() as u64,
                    d["n_particles"].as_u64().unwrap()
                );
                assert_eq!(
                    nb.exceptions.len() as u64,
                    d["n_exceptions"].as_u64().unwrap()
                );
            }
            ForceKind::GbsaObc(gb) => {
                assert_eq!(
                    method_name(gb.method),
                    d["nonbonded_method"].as_str().unwrap()
                );
                assert_eq!(gb.cutoff, d["cutoff_nm"].as_f64().unwrap());
                assert_eq!(
                    gb.particles.len() as u64,
                    d["n_particles"].as_u64().unwrap()
                );
                match gb.flavor {
                    ObcFlavor::GbsaObcForce => {
                        assert_eq!(
                            gb.solute_dielectric,
                            d["solute_dielectric"].as_f64().unwrap()
                        );
                        assert_eq!(
                            gb.solvent_dielectric,
                            d["solvent_dielectric"].as_f64().unwrap()
                        );
                        assert_eq!(
                            gb.surface_area_energy,
                            d["surface_area_energy_kj_mol_nm2"].as_f64().unwrap()
                        );
                        assert_eq!(gb.coulomb_constant, steermd::forcefield::ONE_4PI_EPS0);
                    }
                    ObcFlavor::CustomGbObc2 => {
                        assert_eq!(gb.coulomb_constant, 138.935485);
                        assert_eq!(gb.solvent_dielectric, 78.5);
                        assert_eq!(gb.solute_dielectric, 1.0);
                        assert_eq!(gb.kappa, 0.0);
                        assert_eq!(gb.offset, 0.009);
                        assert_eq!(gb.probe_radius, 0.14);
                        // 28.3919551 = 4π · 2.25936 to the 9 digits printed
                        assert!((gb.surface_area_energy - 2.25936).abs() < 1e-8);
                    }
                }
            }
            ForceKind::CmMotionRemover { frequency } => {
                assert_eq!(u64::from(*frequency), d["frequency"].as_u64().unwrap());
            }
        }
    }
    match r["box_nm"].as_array() {
        None => assert_eq!(sys.default_box, None, "{case}"),
        Some(rows) => {
            let b = sys.default_box.expect("periodic case has a box");
            for (k, row) in rows.iter().enumerate() {
                for (d, v) in row.as_array().unwrap().iter().enumerate() {
                    assert_eq!(b[k][d], v.as_f64().unwrap(), "{case} box[{k}][{d}]");
                }
            }
        }
    }
}

#[test]
fn system_xml_matches_reference_json() {
    for case in CASES {
        let sys = read_system_xml(data(&format!("{case}/system.xml")))
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        sys.validate().unwrap();
        check_against_reference(case, &sys);
    }
}

#[test]
fn system_xml_values_are_exact() {
    let sys = read_system_xml(data("ildn_obc_nocutoff/system.xml")).unwrap();
    assert_eq!(sys.masses[0], 14.00672);
    assert_eq!(sys.constraints[0].i, 4);
    assert_eq!(sys.constraints[0].j, 5);
    assert_eq!(sys.constraints[0].distance, 0.109);
    let ForceKind::HarmonicBond(b) = &sys.forces[0].kind else {
        panic!()
    };
    assert_eq!((b.bonds[0].i, b.bonds[0].j), (19, 4));
    assert_eq!((b.bonds[0].length, b.bonds[0].k), (0.1522, 265265.6));
    let ForceKind::Nonbonded(nb) = &sys.forces[2].kind else {
        panic!()
    };
    assert_eq!(nb.particles[0].sigma, 0.324999852378);
    assert_eq!(nb.ewald_error_tolerance, 0.0005);
    let ForceKind::GbsaObc(gb) = &sys.forces[3].kind else {
        panic!()
    };
    assert_eq!(gb.solvent_dielectric, 78.3);
    assert_eq!(
        (gb.particles[0].radius, gb.particles[0].scale),
        (0.1625, 0.79)
    );
}

/// The CustomGBForce's per-particle (charge, or, sr) become (charge,
/// or + offset, sr / or); reference.json's gb_cross_check says these equal
/// the prmtop's RADII/10 and SCREEN, which the prmtop case's GBSAOBCForce holds.
#[test]
fn custom_gb_particles_match_the_gbsaobc_parameters() {
    let custom = read_system_xml(data("ff14sb_obc2_nocutoff/system.xml")).unwrap();
    let native = read_system_xml(data("prmtop_mbondi2/system.xml")).unwrap();
    let gb = |s: &System| {
        s.forces
            .iter()
            .find_map(|f| match &f.kind {
                ForceKind::GbsaObc(g) => Some(g.clone()),
                _ => None,
            })
            .unwrap()
    };
    let (c, n) = (gb(&custom), gb(&native));
    assert_eq!(c.flavor, ObcFlavor::CustomGbObc2);
    assert_eq!(n.flavor, ObcFlavor::GbsaObcForce);
    for (i, (a, b)) in c.particles.iter().zip(&n.particles).enumerate() {
        assert!((a.radius - b.radius).abs() < 1e-15, "atom {i}: {a:?} {b:?}");
        assert!((a.scale - b.scale).abs() < 1e-14, "atom {i}: {a:?} {b:?}");
        assert!((a.charge - b.charge).abs() < 3e-9, "atom {i}: {a:?} {b:?}");
    }
}

#[test]
fn pdb_positions_are_openmm_bitwise() {
    for case in CASES {
        let (top, pos, bx) = read_pdb_positions(data(&format!("{case}/input.pdb"))).unwrap();
        let want = positions_npy(case);
        assert_eq!(top.n_atoms(), want.len(), "{case}");
        assert_eq!(pos.len(), want.len(), "{case}");
        for (i, (p, w)) in pos.iter().zip(&want).enumerate() {
            for d in 0..3 {
                assert_eq!(p[d].to_bits(), w[d].to_bits(), "{case} atom {i} axis {d}");
            }
        }
        let r = reference(case);
        match r["box_nm"].as_array() {
            None => assert_eq!(bx, None, "{case}"),
            Some(rows) => {
                let b = bx.expect("CRYST1 box");
                for (k, row) in rows.iter().enumerate() {
                    for (d, v) in row.as_array().unwrap().iter().enumerate() {
                        assert_eq!(b[k][d].to_bits(), v.as_f64().unwrap().to_bits(), "{case}");
                    }
                }
            }
        }
    }
}

#[test]
fn pdb_triclinic_cell_becomes_reduced_box_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tri.pdb");
    // Truncated octahedron as written by OpenMM/Amber tools (70.5288°, 109.4712°).
    std::fs::write(
        &p,
        "CRYST1   50.000   50.000   50.000 109.47 109.47 109.47 P 1           1\n\
         ATOM      1  CA  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\n\
         END\n",
    )
    .unwrap();
    let (_, pos, bx) = read_pdb_positions(&p).unwrap();
    assert_eq!(pos, vec![[1.0 * 0.1, 2.0 * 0.1, 3.0 * 0.1]]);
    let b = bx.unwrap();
    // reduced form: a along x, b in the xy plane, |b_x| <= a_x / 2, |c_x| <= a_x / 2, |c_y| <= b_y / 2
    assert_eq!((b[0][1], b[0][2], b[1][2]), (0.0, 0.0, 0.0));
    assert!(b[0][0] == 5.0 && b[1][1] > 0.0 && b[2][2] > 0.0);
    assert!(b[1][0].abs() <= 0.5 * b[0][0] + 1e-12);
    assert!(b[2][0].abs() <= 0.5 * b[0][0] + 1e-12);
    assert!(b[2][1].abs() <= 0.5 * b[1][1] + 1e-12);
    // volume of the truncated octahedron cell: a³ · 4/(3√3)
    let vol = b[0][0] * b[1][1] * b[2][2];
    assert!(
        (vol - 125.0 * 4.0 / (3.0 * 3f64.sqrt())).abs() < 1e-2,
        "{vol}"
    );
    // bit for bit what OpenMM 8.6.1's PDBFile gives (getPeriodicBoxVectors)
    let cases: [(&str, [[u64; 3]; 3]); 2] = [
        (
            "  50.000   50.000   50.000 109.47 109.47 109.47",
            [
                [0x4014000000000000, 0, 0],
                [0xbffaaa415c025498, 0x4012db37f97f78d0, 0],
                [0xbffaaa415c025498, 0xc002dac8482b7090, 0x4010549eb33cd74f],
            ],
        ),
        (
            "  31.234   42.100   55.555  80.00 101.30 117.70",
            [
                [0x4008fcb923a29c78, 0, 0],
                [0x3ff2a9a2c30dfbc0, 0x400dd1ef46b686aa, 0],
                [0xbff16ad19bbc18fb, 0x3fe093ee5ff82c01, 0x4015b145723c8c99],
            ],
        ),
    ];
    for (cell, want) in cases {
        std::fs::write(
            &p,
            format!(
                "CRYST1{cell} P 1           1\n\
                 ATOM      1  CA  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\n"
            ),
        )
        .unwrap();
        let (_, _, bx) = read_pdb_positions(&p).unwrap();
        assert_eq!(bx.unwrap().map(|r| r.map(f64::to_bits)), want, "{cell}");
    }
    // a degenerate cell is an error at the CRYST1 line
    std::fs::write(
        &p,
        "REMARK\nCRYST1   50.000   50.000   50.000  10.00  90.00 170.00 P 1           1\n\
         ATOM      1  CA  ALA A   1       1.000   2.000   3.000  1.00  0.00           C\n",
    )
    .unwrap();
    match read_pdb_positions(&p) {
        Err(Error::Parse {
            line: 2, message, ..
        }) => assert!(message.contains("CRYST1"), "{message}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn unknown_force_type_is_named() {
    let err = read_system_xml(data("bad/unknown_force.xml")).unwrap_err();
    let Error::Parse { line, message, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, 8381, "{err}");
    assert!(message.contains("AmoebaMultipoleForce"), "{err}");
    assert!(message.contains("force 6"), "{err}");
}

#[test]
fn truncated_xml_is_a_parse_error() {
    let text = std::fs::read_to_string(data("ildn_obc_nocutoff/system.xml")).unwrap();
    let cut = &text[..text.len() / 2];
    let err = steermd::forcefield::parse_system_xml(cut, Path::new("half.xml")).unwrap_err();
    let Error::Parse { line, path, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(*line > 1, "{err}");
    assert_eq!(path, Path::new("half.xml"));
}

#[test]
fn malformed_xml_values_name_the_line() {
    let text = std::fs::read_to_string(data("ildn_obc_nocutoff/system.xml")).unwrap();
    let p = Path::new("x.xml");
    let parse = |t: &str| {
        steermd::forcefield::parse_system_xml(t, p)
            .unwrap_err()
            .to_string()
    };
    // a corrupt number (line 890 holds the first <Bond>)
    let e = parse(&text.replacen("k=\"265265.6\"", "k=\"26x5265.6\"", 1));
    assert!(e.starts_with("x.xml:890:"), "{e}");
    assert!(
        e.contains("<Bond> 0") && e.contains("k=\"26x5265.6\""),
        "{e}"
    );
    // an index out of range
    let e = parse(&text.replacen("p1=\"19\" p2=\"4\"", "p1=\"19\" p2=\"582\"", 1));
    assert!(
        e.contains("p2=582 is out of range") && e.contains("HarmonicBondForce"),
        "{e}"
    );
    // a newer serialization version
    let e = parse(&text.replacen(
        "type=\"HarmonicBondForce\" usesPeriodic=\"0\" version=\"2\"",
        "type=\"HarmonicBondForce\" usesPeriodic=\"0\" version=\"9\"",
        1,
    ));
    assert!(e.contains("version 9"), "{e}");
    // parameter offsets
    let e = parse(&text.replacen(
        "<ParticleOffsets/>",
        "<ParticleOffsets><Offset eps=\"0\" parameter=\"lambda\" particle=\"3\" q=\"1\" sig=\"0\"/></ParticleOffsets>",
        1,
    ));
    assert!(
        e.contains("ParticleOffsets") && e.contains("not supported"),
        "{e}"
    );
    // a virtual site
    let e = parse(&text.replacen(
        "<Particle mass=\"14.00672\"/>",
        "<Particle mass=\"0\"><TwoParticleAverageSite p1=\"1\" p2=\"2\" w1=\".5\" w2=\".5\"/></Particle>",
        1,
    ));
    assert!(e.contains("virtual site"), "{e}");
    // a particle count that disagrees
    let e = parse(&text.replacen("<Particle q=\".101\" r=\".1625\" scale=\".79\"/>", "", 1));
    assert!(
        e.contains("581 <Particle> entries for a system of 582"),
        "{e}"
    );
}

#[test]
fn missing_file_is_an_io_error_with_path() {
    let err = read_system_xml(data("nope/system.xml")).unwrap_err();
    match &err {
        Error::Io { path, .. } => assert!(path.ends_with("nope/system.xml")),
        e => panic!("{e:?}"),
    }
    let err = read_pdb_positions(data("nope/input.pdb")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[test]
fn wrong_atom_count_pdb_is_a_shape_error() {
    let sys = read_system_xml(data("ildn_obc_nocutoff/system.xml")).unwrap();
    let (_, pos, _) = read_pdb_positions(data("bad/wrong_atom_count.pdb")).unwrap();
    assert_eq!(pos.len(), 561);
    let err = check_positions(&sys, &pos).unwrap_err();
    match &err {
        Error::Shape(m) => assert!(m.contains("561") && m.contains("582"), "{m}"),
        e => panic!("{e:?}"),
    }
}

// ---------------------------------------------------------------- prmtop

use steermd::forcefield::{read_inpcrd, read_prmtop, Constraints, ImplicitSolvent, PrmtopOptions};

/// Relative closeness (exact zeros compare equal only to zero).
fn close(a: f64, b: f64, rel: f64) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// Compare two lists as multisets: sort both by key and compare the value
/// vectors element by element; returns the number of bit-identical values.
fn same_multiset<K: Ord + std::fmt::Debug + Clone>(
    what: &str,
    mut a: Vec<(K, Vec<f64>)>,
    mut b: Vec<(K, Vec<f64>)>,
    rel: f64,
) -> (usize, usize) {
    assert_eq!(a.len(), b.len(), "{what}: counts differ");
    let ord = |x: &(K, Vec<f64>), y: &(K, Vec<f64>)| {
        x.0.cmp(&y.0).then_with(|| {
            x.1.iter()
                .zip(&y.1)
                .map(|(p, q)| p.total_cmp(q))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    };
    a.sort_by(ord);
    b.sort_by(ord);
    let (mut exact, mut total) = (0, 0);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0, "{what}: keys differ");
        for (p, q) in x.1.iter().zip(&y.1) {
            assert!(
                close(*p, *q, rel),
                "{what} {:?}: {:?} vs {:?}",
                x.0,
                x.1,
                y.1
            );
            exact += usize::from(p.to_bits() == q.to_bits());
            total += 1;
        }
    }
    (exact, total)
}

/// Parameter-by-parameter comparison of a prmtop-built System with the
/// System OpenMM serialised (`want`). Force order and types must agree;
/// groups are not compared (the reference script put force i in group i,
/// OpenMM's createSystem leaves every force in group 0, as steermd does).
fn compare_systems(case: &str, got: &System, want: &System) -> (usize, usize) {
    let rel = 1e-12;
    let mut tally = (0, 0);
    let mut add = |t: (usize, usize)| {
        tally.0 += t.0;
        tally.1 += t.1;
    };
    let idx = |v: &[f64]| {
        v.iter()
            .enumerate()
            .map(|(i, &m)| (i, vec![m]))
            .collect::<Vec<_>>()
    };
    add(same_multiset(
        &format!("{case} masses"),
        idx(&got.masses),
        idx(&want.masses),
        rel,
    ));
    let cons = |s: &System| {
        s.constraints
            .iter()
            .map(|c| ((c.i.min(c.j), c.i.max(c.j)), vec![c.distance]))
            .collect::<Vec<_>>()
    };
    add(same_multiset(
        &format!("{case} constraints"),
        cons(got),
        cons(want),
        rel,
    ));
    assert_eq!(got.default_box, want.default_box, "{case}");
    assert_eq!(got.forces.len(), want.forces.len(), "{case}: force count");
    for (k, (g, w)) in got.forces.iter().zip(&want.forces).enumerate() {
        let what = format!("{case} force {k} ({})", w.kind.type_name());
        assert_eq!(g.kind.type_name(), w.kind.type_name(), "{what}");
        assert_eq!(g.name, w.name, "{what}");
        match (&g.kind, &w.kind) {
            (ForceKind::HarmonicBond(a), ForceKind::HarmonicBond(b)) => {
                assert_eq!(a.periodic, b.periodic);
                let f = |x: &steermd::forcefield::HarmonicBondForce| {
                    x.bonds
                        .iter()
                        .map(|t| ((t.i.min(t.j), t.i.max(t.j)), vec![t.length, t.k]))
                        .collect::<Vec<_>>()
                };
                add(same_multiset(&what, f(a), f(b), rel));
            }
            (ForceKind::HarmonicAngle(a), ForceKind::HarmonicAngle(b)) => {
                assert_eq!(a.periodic, b.periodic);
                let f = |x: &steermd::forcefield::HarmonicAngleForce| {
                    x.angles
                        .iter()
                        .map(|t| {
                            let [i, j, k] = t.ijk;
                            ((i.min(k), j, i.max(k)), vec![t.angle, t.k])
                        })
                        .collect::<Vec<_>>()
                };
                add(same_multiset(&what, f(a), f(b), rel));
            }
            (ForceKind::PeriodicTorsion(a), ForceKind::PeriodicTorsion(b)) => {
                assert_eq!(a.periodic, b.periodic);
                let f = |x: &steermd::forcefield::PeriodicTorsionForce| {
                    x.torsions
                        .iter()
                        .map(|t| {
                            let [i, j, k, l] = t.ijkl;
                            let key = if (i, j) <= (l, k) {
                                [i, j, k, l]
                            } else {
                                [l, k, j, i]
                            };
                            ((key, t.periodicity), vec![t.phase, t.k])
                        })
                        .collect::<Vec<_>>()
                };
                add(same_multiset(&what, f(a), f(b), rel));
            }
            (ForceKind::Nonbonded(a), ForceKind::Nonbonded(b)) => {
                assert_eq!(a.method, b.method, "{what}");
                assert_eq!(a.cutoff, b.cutoff, "{what}");
                assert_eq!(a.switch_distance, b.switch_distance, "{what}");
                assert_eq!(
                    a.reaction_field_dielectric, b.reaction_field_dielectric,
                    "{what}"
                );
                assert_eq!(
                    a.use_dispersion_correction, b.use_dispersion_correction,
                    "{what}"
                );
                assert_eq!(a.ewald_error_tolerance, b.ewald_error_tolerance, "{what}");
                let p = |x: &steermd::forcefield::NonbondedForce| {
                    x.particles
                        .iter()
                        .enumerate()
                        .map(|(i, q)| (i, vec![q.charge, q.sigma, q.epsilon]))
                        .collect::<Vec<_>>()
                };
                add(same_multiset(&format!("{what} particles"), p(a), p(b), rel));
                let e = |x: &steermd::forcefield::NonbondedForce| {
                    x.exceptions
                        .iter()
                        .map(|t| {
                            (
                                (t.i.min(t.j), t.i.max(t.j)),
                                vec![t.charge_prod, t.sigma, t.epsilon],
                            )
                        })
                        .collect::<Vec<_>>()
                };
                let (ea, eb) = (e(a), e(b));
                let mut keys: Vec<_> = ea.iter().map(|x| x.0).collect();
                keys.sort();
                keys.dedup();
                assert_eq!(keys.len(), ea.len(), "{what}: duplicate exceptions");
                add(same_multiset(&format!("{what} exceptions"), ea, eb, rel));
            }
            (ForceKind::GbsaObc(a), ForceKind::GbsaObc(b)) => {
                let settings = |x: &steermd::forcefield::GbsaObcForce| {
                    (
                        x.flavor,
                        x.method,
                        [
                            x.cutoff,
                            x.solute_dielectric,
                            x.solvent_dielectric,
                            x.surface_area_energy,
                            x.kappa,
                            x.offset,
                            x.probe_radius,
                            x.coulomb_constant,
                        ],
                    )
                };
                assert_eq!(settings(a), settings(b), "{what}");
                let p = |x: &steermd::forcefield::GbsaObcForce| {
                    x.particles
                        .iter()
                        .enumerate()
                        .map(|(i, q)| (i, vec![q.charge, q.radius, q.scale]))
                        .collect::<Vec<_>>()
                };
                add(same_multiset(&format!("{what} particles"), p(a), p(b), rel));
            }
            (
                ForceKind::CmMotionRemover { frequency: a },
                ForceKind::CmMotionRemover { frequency: b },
            ) => {
                assert_eq!(a, b)
            }
            (a, b) => panic!("{what}: {a:?} vs {b:?}"),
        }
    }
    tally
}

/// PrmtopOptions from a case's reference.json "settings".
fn options_from_settings(case: &str) -> PrmtopOptions {
    let r = reference(case);
    let s = &r["settings"];
    let d = &s["defaults_in_effect"];
    let method = match s["nonbondedMethod"].as_str().unwrap() {
        "NoCutoff" => NonbondedMethod::NoCutoff,
        "CutoffNonPeriodic" => NonbondedMethod::CutoffNonPeriodic,
        "CutoffPeriodic" => NonbondedMethod::CutoffPeriodic,
        m => panic!("{m}"),
    };
    let cutoff = s["nonbondedCutoff"]
        .as_str()
        .map_or(1.0, |c| c.trim_end_matches(" nm").parse().unwrap());
    PrmtopOptions {
        nonbonded_method: method,
        nonbonded_cutoff: cutoff,
        constraints: match s["constraints"].as_str().unwrap() {
            "HBonds" => Constraints::HBonds,
            "AllBonds" => Constraints::AllBonds,
            "None" => Constraints::None,
            c => panic!("{c}"),
        },
        implicit_solvent: (s["implicitSolvent"].as_str() == Some("OBC2"))
            .then_some(ImplicitSolvent::Obc2),
        solute_dielectric: d["soluteDielectric"].as_f64().unwrap(),
        solvent_dielectric: d["solventDielectric"].as_f64().unwrap(),
        implicit_solvent_kappa: None,
        rigid_water: d["rigidWater"].as_bool().unwrap(),
        remove_cm_motion: d["removeCMMotion"].as_bool().unwrap(),
        ..PrmtopOptions::default()
    }
}

#[test]
fn prmtop_system_equals_openmm_system_xml() {
    for (case, file) in [
        ("prmtop_mbondi2", "villin.prmtop"),
        ("prmtop_mbondi3_cutoff", "villin_mbondi3.prmtop"),
    ] {
        let prm = read_prmtop(data(&format!("{case}/{file}"))).unwrap();
        let opts = options_from_settings(case);
        let got = prm.create_system(&opts).unwrap();
        got.validate().unwrap();
        let want = read_system_xml(data(&format!("{case}/system.xml"))).unwrap();
        let (exact, total) = compare_systems(case, &got, &want);
        // Same operations as OpenMM's Python: every parameter is bit-identical.
        assert_eq!(
            exact, total,
            "{case}: {exact} of {total} values bit-identical"
        );
        assert!(got.forces.iter().all(|f| f.group == 0));
        check_against_reference_types(case, &got);
    }
}

/// Force order, counts and settings as reference.json lists them.
fn check_against_reference_types(case: &str, sys: &System) {
    let mut s = sys.clone();
    for (k, f) in s.forces.iter_mut().enumerate() {
        f.group = k as u8;
    }
    check_against_reference(case, &s);
}

#[test]
fn prmtop_topology_and_inpcrd() {
    let prm = read_prmtop(data("prmtop_mbondi2/villin.prmtop")).unwrap();
    assert_eq!(prm.n_atoms(), 582);
    let top = prm.topology();
    let (pdb_top, _, _) = read_pdb_positions(data("prmtop_mbondi2/input.pdb")).unwrap();
    assert_eq!(top.n_atoms(), pdb_top.n_atoms());
    for (i, (a, b)) in top.atoms.iter().zip(&pdb_top.atoms).enumerate() {
        assert_eq!(
            (&a.name, &a.res_name, a.res_seq),
            (&b.name, &b.res_name, b.res_seq),
            "atom {i}"
        );
        assert!(
            a.element.eq_ignore_ascii_case(&b.element),
            "atom {i}: {a:?} {b:?}"
        );
    }
    assert_eq!(top.select_names(&["CA"]).unwrap().len(), 35);
    assert_eq!(prm.box_vectors(), None);

    let inp = read_inpcrd(data("prmtop_mbondi2/villin.inpcrd")).unwrap();
    let want = positions_npy("prmtop_mbondi2");
    assert_eq!(inp.positions.len(), want.len());
    for (i, (p, w)) in inp.positions.iter().zip(&want).enumerate() {
        assert_eq!(p.map(f64::to_bits), w.map(f64::to_bits), "atom {i}");
    }
    assert_eq!(inp.velocities, None);
    assert_eq!(inp.box_vectors, None);
    assert_eq!(inp.time, Some(0.0));
}

/// Velocities and a truncated-octahedron box, bit for bit as OpenMM 8.6.1's
/// AmberInpcrdFile (getPositions/getVelocities/getBoxVectors in nm, nm/ps).
#[test]
fn inpcrd_velocities_and_box_as_openmm() {
    let text = [
        "test",
        "    3  1.2500000e+01",
        "  25.1600000  14.1600000  19.4400000  24.3500000  13.7300000  19.8700000",
        "  18.6400000  15.5800000  27.0400000",
        "   0.1234567  -0.7654321   1.0000001  -0.3333333   0.4444444   0.5555555",
        "   0.0101010  -0.0202020   0.9999999",
        "  61.2340000  61.2340000  61.2340000 109.4712190 109.4712190 109.4712190",
    ]
    .join("\n");
    let text = text.as_str();
    let inp = steermd::forcefield::parse_inpcrd(text, Path::new("t.rst7")).unwrap();
    let bits = |v: &[[f64; 3]]| v.iter().map(|r| r.map(f64::to_bits)).collect::<Vec<_>>();
    assert_eq!(
        bits(&inp.positions),
        vec![
            [0x400420c49ba5e354, 0x3ff6a7ef9db22d0f, 0x3fff1a9fbe76c8b5],
            [0x40037ae147ae147c, 0x3ff5f7ced916872c, 0x3fffcac083126e98],
            [0x3ffdd2f1a9fbe76d, 0x3ff8ed916872b021, 0x4005a1cac083126f],
        ]
    );
    assert_eq!(
        bits(inp.velocities.as_ref().unwrap()),
        vec![
            [0x3fd0297670cc5038, 0xbff90d1262531268, 0x40005d2f3614074b],
            [0xbfe5d193fee49cd9, 0x3fed176ffe862677, 0x3ff22ea5ff13d80a],
            [0x3f95285033d29dfb, 0xbfa5285033d29dfb, 0x40005d2eff2b75a3],
        ]
    );
    assert_eq!(
        bits(&inp.box_vectors.unwrap()),
        vec![
            [0x40187e5c91d14e3c, 0, 0],
            [0xc000543da070b70c, 0x401717c0f085f734, 0],
            [0xc000543da070b70c, 0xc00717c0c1a1caad, 0x4013ffbaa40dd55d],
        ]
    );
    assert_eq!(inp.time, Some(12.5));
    // cut inside the coordinates: no layout fits
    let short: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let e = steermd::forcefield::parse_inpcrd(&short, Path::new("t.rst7")).unwrap_err();
    assert!(e.to_string().contains("do not fit 3 atoms"), "{e}");
    // a corrupt field
    let bad = text.replace("14.1600000", "14.16O0000");
    match steermd::forcefield::parse_inpcrd(&bad, Path::new("t.rst7")).unwrap_err() {
        Error::Parse {
            line: 3, message, ..
        } => assert!(message.contains("14.16O0000"), "{message}"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn prmtop_options_variants() {
    let prm = read_prmtop(data("prmtop_mbondi2/villin.prmtop")).unwrap();
    let base = PrmtopOptions::default();
    // no constraints, no GB: all bonds kept, rf dielectric stays 78.3
    let s = prm.create_system(&base).unwrap();
    assert!(s.constraints.is_empty());
    let kinds: Vec<_> = s.forces.iter().map(|f| f.kind.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "HarmonicBondForce",
            "HarmonicAngleForce",
            "PeriodicTorsionForce",
            "NonbondedForce",
            "CMMotionRemover"
        ]
    );
    let ForceKind::HarmonicBond(b) = &s.forces[0].kind else {
        panic!()
    };
    assert_eq!(b.bonds.len(), 293 + 296);
    let ForceKind::Nonbonded(nb) = &s.forces[3].kind else {
        panic!()
    };
    assert_eq!(nb.reaction_field_dielectric, 78.3);
    // all bonds constrained: no harmonic bonds left (unless flexible)
    let s = prm
        .create_system(&PrmtopOptions {
            constraints: Constraints::AllBonds,
            ..base.clone()
        })
        .unwrap();
    assert_eq!(s.constraints.len(), 293 + 296);
    let ForceKind::HarmonicBond(b) = &s.forces[0].kind else {
        panic!()
    };
    assert!(b.bonds.is_empty());
    let s = prm
        .create_system(&PrmtopOptions {
            constraints: Constraints::AllBonds,
            flexible_constraints: true,
            remove_cm_motion: false,
            ..base.clone()
        })
        .unwrap();
    let ForceKind::HarmonicBond(b) = &s.forces[0].kind else {
        panic!()
    };
    assert_eq!(b.bonds.len(), 293 + 296);
    assert_eq!(s.forces.len(), 4);
    // salt: OpenMM switches to the CustomGBForce OBC2
    let s = prm
        .create_system(&PrmtopOptions {
            implicit_solvent: Some(ImplicitSolvent::Obc2),
            implicit_solvent_salt_conc: 0.15,
            nonbonded_method: NonbondedMethod::CutoffNonPeriodic,
            switch_distance: Some(0.8),
            ..base.clone()
        })
        .unwrap();
    s.validate().unwrap();
    let ForceKind::GbsaObc(g) = &s.forces[4].kind else {
        panic!()
    };
    assert_eq!(g.flavor, steermd::forcefield::ObcFlavor::CustomGbObc2);
    let kappa = 50.33355 * (0.15f64 / 78.5 / 298.15).sqrt() * 7.3;
    assert_eq!(g.kappa, kappa);
    assert_eq!(g.coulomb_constant, 138.935485);
    let ForceKind::Nonbonded(nb) = &s.forces[3].kind else {
        panic!()
    };
    assert_eq!(
        (nb.reaction_field_dielectric, nb.switch_distance),
        (1.0, Some(0.8))
    );
    // options OpenMM rejects
    for (opts, needle) in [
        (
            PrmtopOptions {
                nonbonded_method: NonbondedMethod::CutoffPeriodic,
                ..base.clone()
            },
            "needs a periodic system",
        ),
        (
            PrmtopOptions {
                nonbonded_method: NonbondedMethod::CutoffNonPeriodic,
                switch_distance: Some(1.2),
                ..base.clone()
            },
            "too large",
        ),
        (
            PrmtopOptions {
                constraints: Constraints::HAngles,
                ..base.clone()
            },
            "HAngles",
        ),
    ] {
        let e = prm.create_system(&opts).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn bad_prmtops_name_section_and_line() {
    // truncated: the file ends inside SCNB_SCALE_FACTOR
    let err = read_prmtop(data("bad/truncated.prmtop")).unwrap_err();
    match &err {
        Error::Parse { line, message, .. } => {
            assert_eq!(*line, 1835, "{err}");
            assert!(
                message.contains("SCNB_SCALE_FACTOR") && message.contains("truncated"),
                "{err}"
            );
        }
        e => panic!("{e:?}"),
    }
    let text = std::fs::read_to_string(data("prmtop_mbondi2/villin.prmtop")).unwrap();
    let p = Path::new("v.prmtop");
    // a corrupt number in CHARGE (line 44 is its first data line)
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[42], "%FLAG CHARGE");
    let corrupt = text.replacen(&lines[44][..16], "  1.8404X694E+00", 1);
    match steermd::forcefield::parse_prmtop(&corrupt, p).unwrap_err() {
        Error::Parse {
            line: 45, message, ..
        } => {
            assert!(
                message.contains("CHARGE") && message.contains("1.8404X694E+00"),
                "{message}"
            )
        }
        e => panic!("{e:?}"),
    }
    // an atom pointer out of range in BONDS_INC_HYDROGEN
    let at = text.find("%FLAG BONDS_INC_HYDROGEN").unwrap();
    let data_start = at + text[at..].find("(10I8)\n").unwrap() + 7;
    let mut bad = text.clone();
    bad.replace_range(data_start..data_start + 8, "   99999");
    let e = steermd::forcefield::parse_prmtop(&bad, p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("BONDS_INC_HYDROGEN") && e.contains("99999"),
        "{e}"
    );
    // a missing section
    let cut = text.replacen("%FLAG MASS", "%FLAG MASS_GONE", 1);
    let e = steermd::forcefield::parse_prmtop(&cut, p).unwrap_err();
    assert!(
        matches!(&e, Error::Format { message, .. } if message.contains("MASS")),
        "{e:?}"
    );
    // not a prmtop at all
    let e = read_prmtop(data("ildn_obc_nocutoff/input.pdb")).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 1, .. }), "{e:?}");
    // missing file
    let e = read_prmtop(data("nope.prmtop")).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, .. } if path.ends_with("nope.prmtop")),
        "{e:?}"
    );
    let e = read_inpcrd(data("nope.inpcrd")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

// ---------------------------------------------------------------- loader

use steermd::forcefield::{load_system_input, SystemInput};

#[test]
fn load_system_input_xml_and_prmtop() {
    for case in CASES {
        let l = load_system_input(&SystemInput::Xml {
            xml: data(&format!("{case}/system.xml")),
            pdb: data(&format!("{case}/input.pdb")),
        })
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(l.positions, positions_npy(case), "{case}");
        assert_eq!(l.topology.n_atoms(), l.system.n_particles());
        assert_eq!(l.velocities, None);
        let want_box = reference(case)["box_nm"].as_array().is_some();
        assert_eq!(l.box_vectors.is_some(), want_box, "{case}");
    }
    for (case, file) in [
        ("prmtop_mbondi2", "villin.prmtop"),
        ("prmtop_mbondi3_cutoff", "villin_mbondi3.prmtop"),
    ] {
        let l = load_system_input(&SystemInput::Prmtop {
            prmtop: data(&format!("{case}/{file}")),
            inpcrd: data("prmtop_mbondi2/villin.inpcrd"),
            options: options_from_settings(case),
        })
        .unwrap();
        assert_eq!(l.positions, positions_npy(case));
        assert_eq!(l.box_vectors, None);
        let want = read_system_xml(data(&format!("{case}/system.xml"))).unwrap();
        compare_systems(case, &l.system, &want);
    }
}

#[test]
fn load_system_input_errors() {
    let e = load_system_input(&SystemInput::Xml {
        xml: data("ildn_obc_nocutoff/system.xml"),
        pdb: data("bad/wrong_atom_count.pdb"),
    })
    .unwrap_err();
    match &e {
        Error::Shape(m) => assert!(m.contains("PDB has 561 atoms, system has 582"), "{m}"),
        e => panic!("{e:?}"),
    }
    let e = load_system_input(&SystemInput::Xml {
        xml: data("bad/unknown_force.xml"),
        pdb: data("ildn_obc_nocutoff/input.pdb"),
    })
    .unwrap_err();
    assert!(e.to_string().contains("AmoebaMultipoleForce"), "{e}");
    let e = load_system_input(&SystemInput::Prmtop {
        prmtop: data("bad/truncated.prmtop"),
        inpcrd: data("prmtop_mbondi2/villin.inpcrd"),
        options: PrmtopOptions::default(),
    })
    .unwrap_err();
    assert!(matches!(e, Error::Parse { .. }), "{e:?}");
    // a periodic system whose PDB has no CRYST1 falls back to the XML box
    let dir = tempfile::tempdir().unwrap();
    let pdb = dir.path().join("nobox.pdb");
    let text = std::fs::read_to_string(data("ildn_obc_cutoff_switch_periodic/input.pdb")).unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("CRYST1"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&pdb, stripped).unwrap();
    let l = load_system_input(&SystemInput::Xml {
        xml: data("ildn_obc_cutoff_switch_periodic/system.xml"),
        pdb: pdb.clone(),
    })
    .unwrap();
    assert_eq!(l.box_vectors, l.system.default_box);
    // a non-finite coordinate
    let nan = std::fs::read_to_string(data("ildn_obc_nocutoff/input.pdb"))
        .unwrap()
        .replacen("  25.160", "     nan", 1);
    let p = dir.path().join("nan.pdb");
    std::fs::write(&p, nan).unwrap();
    let e = load_system_input(&SystemInput::Xml {
        xml: data("ildn_obc_nocutoff/system.xml"),
        pdb: p,
    })
    .unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e:?}");
}

/// GB variants beyond tests/data/ff (tools/make_ff_gb_variants.py): OpenMM's
/// System with only its GB force, against steermd's prmtop System reduced
/// the same way. Covers the salt (CustomGBForce OBC2 with κ, cutoff shift,
/// ACE) and no-surface-area paths of both the prmtop builder and the
/// CustomGBForce recogniser, bit for bit.
#[test]
fn prmtop_gb_variants_equal_openmm() {
    let prm = read_prmtop(data("prmtop_mbondi2/villin.prmtop")).unwrap();
    let base = PrmtopOptions::default();
    let cases = [
        (
            "salt_cutoff",
            PrmtopOptions {
                nonbonded_method: NonbondedMethod::CutoffNonPeriodic,
                nonbonded_cutoff: 1.2,
                constraints: Constraints::HBonds,
                implicit_solvent: Some(ImplicitSolvent::Obc2),
                implicit_solvent_salt_conc: 0.15,
                ..base.clone()
            },
        ),
        (
            "kappa_nosa",
            PrmtopOptions {
                implicit_solvent: Some(ImplicitSolvent::Obc2),
                implicit_solvent_kappa: Some(0.7),
                ace_surface_area: false,
                ..base.clone()
            },
        ),
        (
            "nosa_dielectrics",
            PrmtopOptions {
                implicit_solvent: Some(ImplicitSolvent::Obc2),
                ace_surface_area: false,
                solute_dielectric: 2.0,
                solvent_dielectric: 80.0,
                ..base.clone()
            },
        ),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ff_gb_variants");
    for (name, opts) in cases {
        let want = read_system_xml(dir.join(format!("{name}.xml"))).unwrap();
        let mut got = prm.create_system(&opts).unwrap();
        got.forces
            .retain(|f| matches!(f.kind, ForceKind::GbsaObc(_)));
        let (exact, total) = compare_systems(name, &got, &want);
        assert_eq!(exact, total, "{name}");
        let ForceKind::GbsaObc(g) = &got.forces[0].kind else {
            unreachable!()
        };
        let custom = name != "nosa_dielectrics";
        assert_eq!(g.flavor == ObcFlavor::CustomGbObc2, custom, "{name}");
        assert_eq!(g.kappa > 0.0, custom, "{name}");
        assert_eq!(g.surface_area_energy > 0.0, name == "salt_cutoff", "{name}");
    }
}
