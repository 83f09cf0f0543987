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
