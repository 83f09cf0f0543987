//! PDB files as the field writes them (several MODELs, alternate locations,
//! insertion codes, HETATM, TER, CONECT, blank and lower-case element
//! columns, four-character atom names, hybrid-36 serials, `****` residue
//! numbers) read as OpenMM's `PDBFile` reads them. The file and OpenMM's
//! reading of it come from `tools/make_pdb_variants.py`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use steermd::io::{read_pdb, read_pdb_models, read_pdb_positions, Atom};
use steermd::warnings::{clear_warnings, take_warnings};

#[derive(Deserialize)]
struct Reference {
    atoms: Vec<RefAtom>,
    models: Vec<Vec<[f64; 3]>>,
    box_vectors_nm: Option<[[f64; 3]; 3]>,
}

#[derive(Deserialize)]
struct RefAtom {
    name: String,
    res_name: String,
    res_id: String,
    insertion_code: String,
    residue_index: usize,
    chain: String,
    element: Option<String>,
}

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pdb_variants")
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(case_dir().join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Residue index of each atom: a new residue wherever chain, number,
/// insertion code or name changes from the atom before.
fn residue_indices(atoms: &[Atom]) -> Vec<usize> {
    let key = |a: &Atom| (a.chain, a.res_seq, a.insertion_code, a.res_name.clone());
    let mut out = Vec::with_capacity(atoms.len());
    for (i, a) in atoms.iter().enumerate() {
        let r = match i {
            0 => 0,
            _ if key(&atoms[i - 1]) == key(a) => out[i - 1],
            _ => out[i - 1] + 1,
        };
        out.push(r);
    }
    out
}

#[test]
fn topology_matches_openmm() {
    let reference = reference();
    let (top, _, _) = read_pdb_positions(case_dir().join("variants.pdb")).unwrap();
    assert_eq!(top.n_atoms(), reference.atoms.len());
    let residues = residue_indices(&top.atoms);
    for (i, (a, r)) in top.atoms.iter().zip(&reference.atoms).enumerate() {
        let what = format!("atom {i} ({} {} {})", a.name, a.res_name, a.res_seq);
        assert_eq!(a.name, r.name, "{what}: name");
        assert_eq!(a.res_name, r.res_name, "{what}: residue name");
        assert_eq!(a.res_seq.to_string(), r.res_id, "{what}: residue id");
        assert_eq!(
            a.insertion_code.to_string(),
            r.insertion_code,
            "{what}: insertion code"
        );
        assert_eq!(a.chain.to_string(), r.chain, "{what}: chain");
        assert_eq!(residues[i], r.residue_index, "{what}: residue index");
        assert_eq!(
            a.element,
            r.element.clone().unwrap_or_default(),
            "{what}: element"
        );
    }
}

#[test]
fn first_model_positions_and_box_match_openmm_bit_for_bit() {
    let reference = reference();
    let (_, positions, box_vectors) = read_pdb_positions(case_dir().join("variants.pdb")).unwrap();
    assert_eq!(positions, reference.models[0]);
    assert_eq!(box_vectors, reference.box_vectors_nm);
}

#[test]
fn every_model_is_a_frame() {
    let reference = reference();
    let (top, frames) = read_pdb_models(case_dir().join("variants.pdb")).unwrap();
    assert_eq!(frames.n_atoms, top.n_atoms());
    assert_eq!(frames.n_frames(), reference.models.len());
    for (f, model) in reference.models.iter().enumerate() {
        let expected: Vec<f32> = model.iter().flatten().map(|&v| v as f32).collect();
        assert_eq!(frames.frame(f), &expected[..], "model {}", f + 1);
    }
    let (_, first) = read_pdb(case_dir().join("variants.pdb")).unwrap();
    assert_eq!(first.n_frames(), 1);
    assert_eq!(first.frame(0), frames.frame(0));
    assert_eq!(first.boxes, Some(vec![[5.0, 5.2, 5.4]]));
}

#[test]
fn dropped_alternate_locations_are_reported_once() {
    clear_warnings();
    read_pdb(case_dir().join("variants.pdb")).unwrap();
    let warnings = take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    // Residue 3's side chain (Asp: CB, HB3, HB2, CG, OD1, OD2) has a second
    // location for each of its 6 atoms, in each of the two models.
    assert!(
        warnings[0].contains("12 alternate-location record(s) dropped"),
        "{}",
        warnings[0]
    );
}

#[test]
fn models_of_different_sizes_are_refused_at_the_model_line() {
    let text = std::fs::read_to_string(case_dir().join("variants.pdb")).unwrap();
    let second_model = text.find("MODEL        2").unwrap();
    let line_of_model = text[..second_model].lines().count() + 1;
    // Drop the first atom record of the second model.
    let after = second_model + text[second_model..].find('\n').unwrap() + 1;
    let end_of_atom = after + text[after..].find('\n').unwrap() + 1;
    let broken = format!("{}{}", &text[..after], &text[end_of_atom..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pdb");
    std::fs::write(&path, broken).unwrap();
    let err = read_pdb_models(&path).unwrap_err().to_string();
    assert!(
        err.contains(&format!(":{line_of_model}")) && err.contains("model 2 has 93 atoms"),
        "{err}"
    );
}

#[test]
fn malformed_records_are_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "ATOM      1  CA  ALA A 1.5      1.000   2.000   3.000  1.00  0.00           C\n",
            "residue number ' 1.5'",
        ),
        (
            "ATOM      1  CA   ALAA   1      1.000   2.000   3.000  1.00  0.00           C\n",
            "misaligned residue name",
        ),
        (
            "ATOM      1  CA  ALA A   1      1.000     nan   3.000  1.00  0.00           C\n",
            "y coordinate 'nan'",
        ),
    ];
    for (k, (line, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{k}.pdb"));
        std::fs::write(&path, format!("REMARK   1\n{line}END\n")).unwrap();
        let err = read_pdb(&path).unwrap_err().to_string();
        assert!(err.contains(":2") && err.contains(expected), "{err}");
    }
}
