//! Both backends against OpenMM 8.6.1 (Reference platform, double
//! precision) on the six systems of tests/data/ff, per force group:
//! energy relative error ≤ 1e-6 (groups with nonzero energy) and force
//! relative RMS error sqrt(Σ|ΔF|²/Σ|F|²) ≤ 1e-5 (groups with nonzero
//! forces; the others must give exactly zero). Positions are exactly the
//! ones OpenMM used (positions.npy). Achieved errors are printed
//! (`cargo test --test forcefield_parity -- --nocapture`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use steermd::forcefield::*;
use steermd::io::npy::read_npy;
use steermd::{Device, Precision};

#[path = "common/devices.rs"]
mod devices;
use devices::Target;

const ENERGY_TOL: f64 = 1e-6;
const FORCE_TOL: f64 = 1e-5;

/// The CPU and reference backends at this file's tolerances, then every
/// GPU backend present at its precision's (tests/common/devices.rs).
fn targets(case: &str) -> Vec<Target> {
    let host = |device| Target {
        device,
        precision: Precision::Double,
        energy_tol: ENERGY_TOL,
        force_tol: FORCE_TOL,
    };
    let mut t = vec![host(Device::Reference), host(Device::Cpu)];
    t.extend(devices::gpu_targets(case));
    t
}

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ff")
        .join(case)
}

struct Case {
    system: System,
    positions: Vec<[f64; 3]>,
    box_vectors: Option<BoxVectors>,
    /// (group, OpenMM force name, energy kJ/mol, forces kJ/mol/nm).
    groups: Vec<(u8, String, f64, Vec<[f64; 3]>)>,
    total_energy: f64,
    total_forces: Vec<[f64; 3]>,
}

fn triples(flat: &[f64]) -> Vec<[f64; 3]> {
    flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

fn load(case: &str) -> Case {
    let dir = case_dir(case);
    let system = read_system_xml(dir.join("system.xml")).unwrap();
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let (shape, pos) = read_npy::<f64>(dir.join("positions.npy")).unwrap();
    let n = shape[0];
    assert_eq!(n, system.n_particles());
    let (fshape, forces) = read_npy::<f64>(dir.join("forces.npy")).unwrap();
    let (_, total) = read_npy::<f64>(dir.join("forces_total.npy")).unwrap();
    let groups: Vec<(u8, String, f64, Vec<[f64; 3]>)> = reference["groups"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(k, g)| {
            (
                g["group"].as_u64().unwrap() as u8,
                g["force"].as_str().unwrap().to_string(),
                g["energy_kj_mol"].as_f64().unwrap(),
                triples(&forces[k * n * 3..(k + 1) * n * 3]),
            )
        })
        .collect();
    assert_eq!(fshape, vec![groups.len(), n, 3]);
    let box_vectors = reference["box_nm"].as_array().map(|rows| {
        let mut b = [[0.0; 3]; 3];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.as_array().unwrap().iter().enumerate() {
                b[r][c] = v.as_f64().unwrap();
            }
        }
        b
    });
    Case {
        system,
        positions: triples(&pos),
        box_vectors,
        groups,
        total_energy: reference["total_energy_kj_mol"].as_f64().unwrap(),
        total_forces: triples(&total),
    }
}

/// sqrt(Σ|a − b|²/Σ|b|²) and Σ|b|².
fn rel_rms(a: &[[f64; 3]], b: &[[f64; 3]]) -> (f64, f64) {
    let (mut num, mut den) = (0.0, 0.0);
    for (p, q) in a.iter().zip(b) {
        for k in 0..3 {
            num += (p[k] - q[k]).powi(2);
            den += q[k] * q[k];
        }
    }
    ((num / den.max(f64::MIN_POSITIVE)).sqrt(), den)
}

fn check_case(case: &str) {
    let c = load(case);
    let mut failures = Vec::new();
    for target in targets(case) {
        let device = target.label();
        let mut ev = target
            .device
            .backend_at(target.precision)
            .unwrap()
            .force_evaluator(&c.system)
            .unwrap();
        let mut out = ForceOutput::new(c.positions.len());
        for (group, name, e_ref, f_ref) in &c.groups {
            ev.compute(
                &c.positions,
                c.box_vectors.as_ref(),
                1u32 << group,
                &mut out,
            )
            .unwrap();
            let e = out.group_energies[usize::from(*group)];
            let (f_err, f_norm) = rel_rms(&out.forces, f_ref);
            let e_err = if *e_ref != 0.0 {
                ((e - e_ref) / e_ref).abs()
            } else {
                e.abs()
            };
            eprintln!(
                "{case:<32} {:<9} group {group} {name:<21} E = {e:>18.9} (OpenMM {e_ref:>18.9}) rel err {e_err:.2e}   forces rel RMS err {}",
                device,
                if f_norm > 0.0 { format!("{f_err:.2e}") } else { "(all zero)".into() }
            );
            let e_ok = if *e_ref != 0.0 {
                e_err <= target.energy_tol
            } else {
                e == 0.0
            };
            let f_ok = if f_norm > 0.0 {
                f_err <= target.force_tol
            } else {
                out.forces.iter().flatten().all(|&v| v == 0.0)
            };
            if !e_ok || !f_ok {
                failures.push(format!(
                    "{case} {device} group {group} ({name}): energy err {e_err:e}, force err {f_err:e}"
                ));
            }
        }
        ev.compute(&c.positions, c.box_vectors.as_ref(), ALL_GROUPS, &mut out)
            .unwrap();
        let e = out.potential_energy();
        let e_err = ((e - c.total_energy) / c.total_energy).abs();
        let (f_err, _) = rel_rms(&out.forces, &c.total_forces);
        eprintln!(
            "{case:<32} {:<9} all groups                      E = {e:>18.9} (OpenMM {:>18.9}) rel err {e_err:.2e}   forces rel RMS err {f_err:.2e}",
            device,
            c.total_energy
        );
        if e_err > target.energy_tol || f_err > target.force_tol {
            failures.push(format!(
                "{case} {device} total: energy err {e_err:e}, force err {f_err:e}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ildn_obc_nocutoff() {
    check_case("ildn_obc_nocutoff");
}

#[test]
fn ildn_obc_cutoff() {
    check_case("ildn_obc_cutoff");
}

#[test]
fn ff14sb_obc2_nocutoff() {
    check_case("ff14sb_obc2_nocutoff");
}

#[test]
fn ildn_obc_cutoff_switch_periodic() {
    check_case("ildn_obc_cutoff_switch_periodic");
}

#[test]
fn prmtop_mbondi2() {
    check_case("prmtop_mbondi2");
}

#[test]
fn prmtop_mbondi3_cutoff() {
    check_case("prmtop_mbondi3_cutoff");
}

/// The long-range dispersion correction alone: OpenMM's value for the
/// solvated periodic case (reference.json), from the coefficient and the
/// box volume.
#[test]
fn dispersion_correction_of_the_periodic_case() {
    let dir = case_dir("ildn_obc_cutoff_switch_periodic");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let expected = reference["nonbonded_dispersion_correction_energy_kj_mol"]
        .as_f64()
        .unwrap();
    let c = load("ildn_obc_cutoff_switch_periodic");
    let nb = c
        .system
        .forces
        .iter()
        .find_map(|f| match &f.kind {
            ForceKind::Nonbonded(nb) => Some(nb),
            _ => None,
        })
        .unwrap();
    let b = c.box_vectors.unwrap();
    let e = terms::dispersion_coefficient(nb) / terms::box_volume(&b);
    let err = ((e - expected) / expected).abs();
    eprintln!("dispersion correction {e:.9} kJ/mol (OpenMM {expected:.9}), rel err {err:.2e}");
    assert!(err < 1e-12, "{e} vs {expected}");
}
