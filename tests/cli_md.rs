//! `steermd energy` and `steermd simulate`: energies and forces against
//! OpenMM's reference values, checkpoint/resume, and bad input -> one error
//! line and a non-zero exit.

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::{fails_with_one_line, ok, s, steermd};

use serde_json::Value;
use steermd::io::{dcd, npy::read_npy};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ff")
        .join(name)
}

/// The command fails with one error line on stderr that contains `needle`.
fn fails(args: &[&str], needle: &str) {
    fails_with_one_line(args, needle);
}

/// Compare `steermd energy` output with a case's reference.json (total and
/// per group, relative 1e-6) and its forces with forces_total.npy (relative
/// RMS 1e-5).
fn check_energy_against_reference(case_dir: &Path, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let forces = dir.path().join("forces.npy");
    let mut full: Vec<&str> = vec!["energy"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--forces", s(&forces)]);
    let stdout = ok(&full);
    let got: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("reference.json")).unwrap())
            .unwrap();
    let total = reference["total_energy_kj_mol"].as_f64().unwrap();
    let ours = got["potential_energy_kj_mol"].as_f64().unwrap();
    assert!(
        ((ours - total) / total).abs() <= 1e-6,
        "total {ours} vs OpenMM {total}"
    );
    // A prmtop-built system keeps every force in group 0, as OpenMM's
    // AmberPrmtopFile does; per-force energies are then checked through the
    // System XML route (tests/forcefield_parity.rs) and only the total here.
    let per_group = got["groups"].as_object().unwrap().len() > 1;
    for g in reference["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|_| per_group)
    {
        let e_ref = g["energy_kj_mol"].as_f64().unwrap();
        let key = g["group"].as_u64().unwrap().to_string();
        let e = got["groups"][&key]["energy_kj_mol"].as_f64().unwrap_or(0.0);
        if e_ref != 0.0 {
            assert!(
                ((e - e_ref) / e_ref).abs() <= 1e-6,
                "group {key}: {e} vs OpenMM {e_ref}"
            );
        }
    }
    let (shape, f) = read_npy::<f64>(&forces).unwrap();
    let (rshape, fr) = read_npy::<f64>(&case_dir.join("forces_total.npy")).unwrap();
    assert_eq!(shape, rshape);
    let num: f64 = f.iter().zip(&fr).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = fr.iter().map(|b| b * b).sum();
    assert!(
        (num / den).sqrt() <= 1e-5,
        "force relative RMS {}",
        (num / den).sqrt()
    );
}

#[test]
fn energy_from_system_xml_matches_openmm() {
    for name in ["ildn_obc_nocutoff", "ildn_obc_cutoff"] {
        let c = case(name);
        let (xml, pdb) = (c.join("system.xml"), c.join("input.pdb"));
        check_energy_against_reference(&c, &["--system", s(&xml), "--pdb", s(&pdb)]);
    }
}

#[test]
fn energy_from_prmtop_matches_openmm() {
    let c = case("prmtop_mbondi2");
    let (top, crd) = (c.join("villin.prmtop"), c.join("villin.inpcrd"));
    check_energy_against_reference(&c, &["--prmtop", s(&top), "--inpcrd", s(&crd)]);
    let c3 = case("prmtop_mbondi3_cutoff");
    let top3 = c3.join("villin_mbondi3.prmtop");
    check_energy_against_reference(
        &c3,
        &[
            "--prmtop",
            s(&top3),
            "--inpcrd",
            s(&crd),
            "--nonbonded",
            "cutoff-non-periodic",
            "--cutoff",
            "1.0",
        ],
    );
}

#[test]
fn energy_bad_inputs_are_clear_errors() {
    let c = case("ildn_obc_nocutoff");
    let bad = case("bad");
    let (xml, pdb) = (c.join("system.xml"), c.join("input.pdb"));
    fails(
        &[
            "energy",
            "--system",
            s(&xml),
            "--pdb",
            s(&bad.join("wrong_atom_count.pdb")),
        ],
        "561",
    );
    fails(
        &[
            "energy",
            "--system",
            s(&bad.join("unknown_force.xml")),
            "--pdb",
            s(&pdb),
        ],
        "AmoebaMultipoleForce",
    );
    let crd = case("prmtop_mbondi2").join("villin.inpcrd");
    fails(
        &[
            "energy",
            "--prmtop",
            s(&bad.join("truncated.prmtop")),
            "--inpcrd",
            s(&crd),
        ],
        "truncated.prmtop",
    );
    fails(
        &[
            "energy",
            "--system",
            s(&xml),
            "--pdb",
            s(&pdb),
            "--forces",
            "f.txt",
        ],
        ".npy",
    );
    fails(
        &[
            "energy",
            "--system",
            "/nonexistent/system.xml",
            "--pdb",
            s(&pdb),
        ],
        "/nonexistent/system.xml",
    );
    // NaN coordinates: the error names the atom.
    let dir = tempfile::tempdir().unwrap();
    let nan_pdb = dir.path().join("nan.pdb");
    let text = std::fs::read_to_string(&pdb).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let first_atom = lines.iter().position(|l| l.starts_with("ATOM")).unwrap();
    lines[first_atom].replace_range(30..38, "     nan");
    std::fs::write(&nan_pdb, lines.join("\n") + "\n").unwrap();
    let o = steermd(&["energy", "--system", s(&xml), "--pdb", s(&nan_pdb)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nan.pdb") || err.contains("atom 0"), "{err}");
}

/// The prmtop-only builder flags are usage errors with `--system` (whose XML
/// already fixes the nonbonded method, cutoff, constraints and solvent), not
/// silently ignored.
#[test]
fn prmtop_only_flags_are_refused_with_a_system_xml() {
    let c = case("ildn_obc_nocutoff");
    let (xml, pdb) = (c.join("system.xml"), c.join("input.pdb"));
    for flag in [
        ["--cutoff", "0.9"],
        ["--nonbonded", "cutoff-non-periodic"],
        ["--constraints", "none"],
        ["--implicit-solvent", "none"],
    ] {
        let mut args = vec!["energy", "--system", s(&xml), "--pdb", s(&pdb)];
        args.extend(flag);
        let o = steermd(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag:?}: {err}");
        assert!(
            err.contains(flag[0]) && err.contains("--system"),
            "{flag:?}: {err}"
        );
    }
}

#[test]
fn simulate_writes_trajectory_and_resumes_bitwise() {
    let c = case("ildn_obc_cutoff");
    let (xml, pdb) = (c.join("system.xml"), c.join("input.pdb"));
    let dir = tempfile::tempdir().unwrap();
    let run = |steps: &str, chk: &Path, traj: &Path, resume: bool| {
        let mut args = vec![
            "simulate",
            "--system",
            s(&xml),
            "--pdb",
            s(&pdb),
            "--steps",
            steps,
            "--report",
            "10",
            "--seed",
            "11",
            "--checkpoint",
            s(chk),
            "--traj",
            s(traj),
        ];
        if resume {
            args.push("--resume");
        }
        ok(&args)
    };
    let (full_chk, full_dcd) = (dir.path().join("full.chk"), dir.path().join("full.dcd"));
    let csv = run("40", &full_chk, &full_dcd, false);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("step,time_ps,potential_kj_mol"),
        "{csv}"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert_eq!(dcd::read_dcd(&full_dcd).unwrap().n_frames(), 4);

    let (part_chk, part_dcd) = (dir.path().join("part.chk"), dir.path().join("part.dcd"));
    run("20", &part_chk, &part_dcd, false);
    let resumed = run("40", &part_chk, &part_dcd, true);
    // The resumed run's last state line and final checkpoint equal the
    // uninterrupted run's, bit for bit.
    let last = |t: &str| {
        t.lines()
            .last()
            .unwrap()
            .rsplit_once(',')
            .unwrap()
            .0
            .to_string()
    };
    assert_eq!(
        last(&resumed),
        last(&csv),
        "state line without the speed column"
    );
    assert_eq!(
        std::fs::read(&part_chk).unwrap(),
        std::fs::read(&full_chk).unwrap()
    );
}

#[test]
fn simulate_reports_a_blow_up_with_its_step() {
    let c = case("ildn_obc_nocutoff");
    let xml = c.join("system.xml");
    let dir = tempfile::tempdir().unwrap();
    // Put atom 1 almost on top of atom 20: the LJ repulsion explodes.
    let text = std::fs::read_to_string(c.join("input.pdb")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let atoms: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("ATOM"))
        .collect();
    let target = lines[atoms[20]][30..54].to_string();
    let x: f64 = target[0..8].trim().parse().unwrap();
    let moved = format!("{:8.3}{}", x + 0.05, &target[8..]);
    lines[atoms[1]].replace_range(30..54, &moved);
    let pdb = dir.path().join("overlap.pdb");
    std::fs::write(&pdb, lines.join("\n") + "\n").unwrap();
    let traj = dir.path().join("t.dcd");
    let o = steermd(&[
        "simulate",
        "--system",
        s(&xml),
        "--pdb",
        s(&pdb),
        "--steps",
        "100",
        "--report",
        "50",
        "--traj",
        s(&traj),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "an overlapping start must not run:\n{err}"
    );
    assert!(err.contains("unstable") && err.contains("step"), "{err}");
}

/// `--traj run.nc` writes an Amber NetCDF trajectory of the frames the same
/// run writes as DCD: the same frame count, coordinates within single
/// precision of each other, and the state lines' times; `.xtc` is refused.
#[test]
fn simulate_writes_amber_netcdf_by_extension() {
    let c = case("ildn_obc_cutoff");
    let (xml, pdb) = (c.join("system.xml"), c.join("input.pdb"));
    let dir = tempfile::tempdir().unwrap();
    let run = |traj: &Path| {
        ok(&[
            "simulate",
            "--system",
            s(&xml),
            "--pdb",
            s(&pdb),
            "--steps",
            "40",
            "--report",
            "10",
            "--seed",
            "11",
            "--traj",
            s(traj),
        ])
    };
    let (nc, dcd_path) = (dir.path().join("run.nc"), dir.path().join("run.dcd"));
    let csv = run(&nc);
    // The same states (the last column, the speed, varies).
    let states = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(states(&run(&dcd_path)), states(&csv));
    let t = steermd::io::read_netcdf_with_velocities(&nc).unwrap();
    let d = dcd::read_dcd(&dcd_path).unwrap();
    assert_eq!(t.frames.n_frames(), d.n_frames());
    assert_eq!(t.frames.n_atoms, d.n_atoms);
    assert_eq!(t.frames.boxes.is_some(), d.boxes.is_some());
    // Each file holds the f64 positions rounded to single precision (in Å):
    // they differ by at most a couple of float spacings.
    for (a, b) in t.frames.xyz.iter().zip(&d.xyz) {
        assert!(
            (a - b).abs() <= 2.0 * f32::EPSILON * a.abs().max(b.abs()).max(1.0),
            "{a} vs {b} nm"
        );
    }
    let times: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap())
        .collect();
    let stored: Vec<f64> = times.iter().map(|&t| f64::from(t as f32)).collect();
    assert_eq!(t.times_ps.unwrap(), stored);
    assert!(t.velocities.is_none());
    fails(
        &[
            "simulate",
            "--system",
            s(&xml),
            "--pdb",
            s(&pdb),
            "--steps",
            "10",
            "--traj",
            s(&dir.path().join("run.xtc")),
        ],
        "not supported",
    );
}
