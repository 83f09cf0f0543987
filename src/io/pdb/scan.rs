//! The ATOM/HETATM records of a PDB file, model by model, grouped into
//! residues and atoms by the rules of OpenMM's `PDBFile`, so that the atoms
//! steermd reads are the particles of a System OpenMM builds from the file:
//!
//! - a new residue starts when the chain, the residue number or the
//!   insertion code changes, when the residue name changes on a record
//!   without an alternate-location indicator, and after a TER record;
//! - an atom named again in the same residue under an alternate-location
//!   indicator it does not have yet is another location of that atom: the
//!   first location read is kept, the record dropped (counted for a warning);
//! - elements come from columns 77-78 (any case), `EP` marks an extra
//!   particle (no element), and a blank or unknown symbol is guessed from
//!   the atom name as OpenMM does;
//! - atom serials (decimal, hybrid-36 or hexadecimal) and CONECT records
//!   are not used.

use std::fs;
use std::path::Path;

use super::Atom;
use crate::elements::symbol_named;
use crate::error::{Error, Result};
use crate::warnings::warn;

/// The records of a PDB file: the first model's atoms, every model's
/// coordinates (Å, as written) and the last CRYST1 record before the end of
/// the first model.
pub(super) struct RawPdb {
    pub atoms: Vec<Atom>,
    pub models: Vec<Vec<[f64; 3]>>,
    /// (1-based line, [a, b, c (Å), α, β, γ (degrees)]).
    pub cryst1: Option<(usize, [f64; 6])>,
}

pub(super) fn scan_pdb(path: &Path) -> Result<RawPdb> {
    let text = fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&text);
    let mut first: Option<ModelScan> = None;
    let mut models = Vec::new();
    let mut current = ModelScan::starting_at(0);
    let mut cryst1 = None;
    let mut dropped = 0;
    let mut finish = |scan: ModelScan, first: &mut Option<ModelScan>| -> Result<()> {
        if scan.atoms.is_empty() {
            return Ok(());
        }
        dropped += scan.dropped_altlocs;
        match first {
            None => {
                models.push(scan.xyz.clone());
                *first = Some(scan);
            }
            Some(f) if f.atoms.len() != scan.atoms.len() => {
                return Err(Error::parse(
                    path,
                    scan.start_line,
                    format!(
                        "model {} has {} atoms, the first model has {}",
                        models.len() + 1,
                        scan.atoms.len(),
                        f.atoms.len()
                    ),
                ));
            }
            Some(_) => models.push(scan.xyz),
        }
        Ok(())
    };
    for (k, line) in text.lines().enumerate() {
        let lineno = k + 1;
        match field(line, 1, 6).trim_end() {
            "ATOM" | "HETATM" => current
                .add(line)
                .map_err(|m| Error::parse(path, lineno, m))?,
            "MODEL" => {
                let done = std::mem::replace(&mut current, ModelScan::starting_at(lineno));
                finish(done, &mut first)?;
            }
            "ENDMDL" => {
                let done = std::mem::replace(&mut current, ModelScan::starting_at(lineno + 1));
                finish(done, &mut first)?;
            }
            "END" => break,
            "TER" => current.ter(),
            "CRYST1" if first.is_none() => {
                let cell =
                    super::cell::cryst1_fields(line).map_err(|m| Error::parse(path, lineno, m))?;
                cryst1 = Some((lineno, cell));
            }
            _ => {}
        }
    }
    finish(current, &mut first)?;
    let Some(first) = first else {
        return Err(Error::parse(path, 0, "no ATOM or HETATM records"));
    };
    if dropped > 0 {
        warn(format!(
            "{}: {dropped} alternate-location record(s) dropped; the first location of each atom is kept, as OpenMM's PDBFile does",
            path.display(),
        ));
    }
    Ok(RawPdb {
        atoms: first.into_atoms(),
        models,
        cryst1,
    })
}

/// The atoms of one model as its records are read.
struct ModelScan {
    /// The line of the MODEL record (or after the ENDMDL) that opened it.
    start_line: usize,
    atoms: Vec<Atom>,
    xyz: Vec<[f64; 3]>,
    /// Whether an atom's element is still to be guessed from its name.
    unknown_element: Vec<bool>,
    /// Index into `residues` of each atom.
    residue_of: Vec<usize>,
    residues: Vec<Residue>,
    after_ter: bool,
    /// The number a `****` residue field takes when it starts a residue:
    /// one more than the last atom's, 1 at the start and after TER.
    next_res_seq: i32,
    dropped_altlocs: usize,
}

/// One residue: what identifies it and its atoms by their four-column name.
struct Residue {
    chain: char,
    res_seq: i32,
    insertion_code: char,
    name: String,
    /// (name as written in columns 13-16, alternate locations seen).
    atoms: Vec<(String, Vec<char>)>,
    /// Atom indices, in file order.
    members: Vec<usize>,
}

impl ModelScan {
    fn starting_at(start_line: usize) -> Self {
        ModelScan {
            start_line,
            atoms: Vec::new(),
            xyz: Vec::new(),
            unknown_element: Vec::new(),
            residue_of: Vec::new(),
            residues: Vec::new(),
            after_ter: false,
            next_res_seq: 1,
            dropped_altlocs: 0,
        }
    }

    fn ter(&mut self) {
        self.after_ter = true;
        self.next_res_seq = 1;
    }

    /// Add one ATOM/HETATM record; an error message names the field.
    fn add(&mut self, line: &str) -> std::result::Result<(), String> {
        let mut p = [0.0; 3];
        for (d, (c0, c1, axis)) in [(31, 38, "x"), (39, 46, "y"), (47, 54, "z")]
            .into_iter()
            .enumerate()
        {
            p[d] = parse_f64(line, c0, c1).map_err(|v| {
                format!("{axis} coordinate '{v}' (columns {c0}-{c1}) is not a number")
            })?;
        }
        let name_cols = field(line, 13, 16).to_string();
        let altloc = column(line, 17);
        let res_name = residue_name(line)?;
        let chain = column(line, 22);
        let insertion_code = column(line, 27);
        let res_seq = self.residue_number(line, &res_name, &name_cols)?;
        self.next_res_seq = res_seq.saturating_add(1);
        let same_residue = self.residues.last().is_some_and(|r| {
            !self.after_ter
                && r.chain == chain
                && r.res_seq == res_seq
                && r.insertion_code == insertion_code
                && (r.name == res_name || altloc != ' ')
        });
        if !same_residue {
            self.after_ter = false;
            self.residues.push(Residue {
                chain,
                res_seq,
                insertion_code,
                name: res_name.clone(),
                atoms: Vec::new(),
                members: Vec::new(),
            });
        }
        let r = self.residues.len() - 1;
        let residue = &mut self.residues[r];
        if let Some((_, locs)) = residue.atoms.iter_mut().find(|(n, _)| *n == name_cols) {
            if !locs.contains(&altloc) {
                locs.push(altloc);
                self.dropped_altlocs += 1;
                return Ok(());
            }
        }
        residue.atoms.push((name_cols.clone(), vec![altloc]));
        residue.members.push(self.atoms.len());
        let (element, unknown) = match field(line, 77, 78).trim() {
            "EP" => (String::new(), false),
            text => symbol_named(text).map_or((String::new(), true), |s| (s.to_string(), false)),
        };
        self.atoms.push(Atom {
            name: name_cols.trim().to_string(),
            res_name,
            res_seq,
            chain,
            insertion_code,
            element,
        });
        self.xyz.push(p);
        self.unknown_element.push(unknown);
        self.residue_of.push(r);
        Ok(())
    }

    /// Columns 23-26: decimal, hybrid-36, or all `*` (as VMD writes past
    /// its numbering), which OpenMM resolves from the atoms around it: the
    /// current residue's number while the residue name stays and the atom
    /// name is new in it, else the next number.
    fn residue_number(
        &self,
        line: &str,
        res_name: &str,
        name_cols: &str,
    ) -> std::result::Result<i32, String> {
        let text = field(line, 23, 26);
        if let Some(v) = parse_res_seq(text) {
            return Ok(v);
        }
        let stars = !text.trim().is_empty() && text.trim().chars().all(|c| c == '*');
        if !stars {
            return Err(format!(
                "residue number '{text}' (columns 23-26) is not a number"
            ));
        }
        Ok(match self.residues.last() {
            Some(r) if r.name == res_name && !r.atoms.iter().any(|(n, _)| n == name_cols) => {
                r.res_seq
            }
            _ => self.next_res_seq,
        })
    }

    /// The atoms, with the elements that columns 77-78 left open guessed.
    fn into_atoms(self) -> Vec<Atom> {
        let ModelScan {
            mut atoms,
            unknown_element,
            residue_of,
            residues,
            ..
        } = self;
        for i in (0..atoms.len()).filter(|&i| unknown_element[i]) {
            let residue = &residues[residue_of[i]];
            let names: Vec<&str> = residue
                .members
                .iter()
                .map(|&j| atoms[j].name.as_str())
                .collect();
            atoms[i].element = guess_element(&atoms[i].name, &names);
        }
        atoms
    }
}

/// Columns 18-20, with a fourth character from column 21 when the three
/// are full (as GROMACS' ffamber writes `NALA`); OpenMM refuses a name
/// in column 21 after a short one.
fn residue_name(line: &str) -> std::result::Result<String, String> {
    let three = field(line, 18, 20).trim();
    match column(line, 21) {
        ' ' => Ok(three.to_string()),
        fourth if three.len() == 3 => Ok(format!("{three}{fourth}")),
        _ => Err(format!(
            "misaligned residue name '{}' (columns 18-21)",
            field(line, 18, 21)
        )),
    }
}

/// The element OpenMM's `PDBFile` guesses for an atom named `name` in a
/// residue whose atoms are `residue` (names, itself included): leading
/// digits dropped; `CL`, `NA`, `MG`, `BE`, `LI`, `K`, `ZN` prefixes; `CA`
/// alone in its residue is calcium; `D` + the name of another atom of the
/// residue is a Drude particle (no element); else the first letter when it
/// is an element symbol. Empty when nothing matches.
fn guess_element(name: &str, residue: &[&str]) -> String {
    let upper = name.to_ascii_uppercase();
    let upper = match upper.find(|c: char| !c.is_ascii_digit()) {
        Some(k) => &upper[k..],
        None => &upper[upper.len().saturating_sub(1)..],
    };
    let prefixed = [
        ("CL", "Cl"),
        ("NA", "Na"),
        ("MG", "Mg"),
        ("BE", "Be"),
        ("LI", "Li"),
        ("K", "K"),
        ("ZN", "Zn"),
    ];
    if let Some((_, symbol)) = prefixed.iter().find(|(p, _)| upper.starts_with(p)) {
        return symbol.to_string();
    }
    if residue.len() == 1 && upper.starts_with("CA") {
        return "Ca".to_string();
    }
    let drude_of = name.get(1..).filter(|_| upper.starts_with('D'));
    if drude_of.is_some_and(|parent| residue.contains(&parent)) {
        return String::new();
    }
    upper
        .get(..1)
        .and_then(symbol_named)
        .map_or(String::new(), str::to_string)
}

/// Column `c` (1-based) of `line`, a space when the line is shorter.
fn column(line: &str, c: usize) -> char {
    field(line, c, c).chars().next().unwrap_or(' ')
}

/// Columns `c0..=c1` (1-based, inclusive) of `line`, clipped to its length.
pub(super) fn field(line: &str, c0: usize, c1: usize) -> &str {
    let b = line.as_bytes();
    let (s, e) = ((c0 - 1).min(b.len()), c1.min(b.len()));
    line.get(s..e).unwrap_or("")
}

/// A finite number in columns `c0..=c1`; the trimmed text when it is not.
pub(super) fn parse_f64(line: &str, c0: usize, c1: usize) -> std::result::Result<f64, String> {
    let f = field(line, c0, c1).trim();
    match f.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(f.to_string()),
    }
}

/// Decimal residue numbers, or hybrid-36 ones (`A000` = 10000) as written
/// for more than 9999 residues.
fn parse_res_seq(f: &str) -> Option<i32> {
    let t = f.trim();
    if let Ok(v) = t.parse::<i32>() {
        return Some(v);
    }
    if f.len() != 4 || !f.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // All upper-case (with digits) or all lower-case, led by a letter.
    let upper = f.starts_with(|c: char| c.is_ascii_uppercase());
    let same_case = |c: char| c.is_ascii_digit() || c.is_ascii_uppercase() == upper;
    if !f.starts_with(|c: char| c.is_ascii_alphabetic()) || !f.chars().all(same_case) {
        return None;
    }
    let v = i32::from_str_radix(f, 36).ok()?;
    // "A000" encodes 10000; lower-case blocks follow the 26·36³ upper-case ones.
    let a000 = 10 * 36i32.pow(3);
    Some(if upper {
        v - a000 + 10_000
    } else {
        v - a000 + 10_000 + 26 * 36i32.pow(3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid36_residue_numbers() {
        assert_eq!(parse_res_seq("   7"), Some(7));
        assert_eq!(parse_res_seq("-12 "), Some(-12));
        assert_eq!(parse_res_seq("A000"), Some(10_000));
        assert_eq!(parse_res_seq("A001"), Some(10_001));
        assert_eq!(parse_res_seq("ZZZZ"), Some(10_000 + 26 * 36i32.pow(3) - 1));
        assert_eq!(parse_res_seq("a000"), Some(10_000 + 26 * 36i32.pow(3)));
        assert_eq!(parse_res_seq("1.5"), None);
    }
}
