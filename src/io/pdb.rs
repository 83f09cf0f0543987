//! PDB files: topology (atom names, residues, chains, elements) and the
//! coordinates of the first model.
//!
//! Fixed columns as in the wwPDB format: ATOM/HETATM records, coordinates in
//! Å (converted to nm), CRYST1 edge lengths in Å (converted to nm; only
//! orthorhombic cells, and the 1 Å placeholder cell means "no box").

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::frames::Frames;

/// One atom of a [`Topology`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atom {
    /// Atom name, trimmed (`CA`, `N`, `OXT`).
    pub name: String,
    /// Residue name, trimmed (`ALA`, `HOH`).
    pub res_name: String,
    /// Residue sequence number.
    pub res_seq: i32,
    /// Chain identifier (`' '` when blank).
    pub chain: char,
    /// Element symbol (`C`, `FE`); from columns 77-78, or guessed from the
    /// atom name when those are blank.
    pub element: String,
}

/// The atoms of a structure, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// Atoms in file order; index = atom index in [`Frames`].
    pub atoms: Vec<Atom>,
}

impl Topology {
    /// Number of atoms.
    pub fn n_atoms(&self) -> usize {
        self.atoms.len()
    }

    /// Indices of the atoms whose name is one of `names` (e.g. `["CA"]`), in
    /// file order. Errors if a name matches no atom.
    pub fn select_names(&self, names: &[&str]) -> Result<Vec<usize>> {
        if names.is_empty() {
            return Err(Error::InvalidArgument("no atom names to select".into()));
        }
        if let Some(missing) = names
            .iter()
            .find(|n| !self.atoms.iter().any(|a| a.name == **n))
        {
            return Err(Error::InvalidArgument(format!(
                "no atom named '{missing}' among the {} atoms of the topology",
                self.atoms.len()
            )));
        }
        Ok(self
            .atoms
            .iter()
            .enumerate()
            .filter(|(_, a)| names.contains(&a.name.as_str()))
            .map(|(i, _)| i)
            .collect())
    }

    /// Indices of all atoms whose element is not hydrogen.
    pub fn heavy_atoms(&self) -> Vec<usize> {
        (0..self.atoms.len())
            .filter(|&i| !self.atoms[i].element.eq_ignore_ascii_case("H"))
            .collect()
    }
}

/// Read a PDB file: its topology and the first model as one frame (nm).
///
/// Errors: unreadable file ([`Error::Io`]); a malformed coordinate, residue
/// number or CRYST1 field, a triclinic cell, or no atoms
/// ([`Error::Parse`] with the 1-based line).
pub fn read_pdb(path: impl AsRef<Path>) -> Result<(Topology, Frames)> {
    let path = path.as_ref();
    let text = fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&text);
    let mut atoms = Vec::new();
    let mut xyz = Vec::new();
    let mut cell = None;
    for (k, line) in text.lines().enumerate() {
        let lineno = k + 1;
        let err = |msg: String| Error::parse(path, lineno, msg);
        let record = field(line, 1, 6);
        match record.trim_end() {
            "ATOM" | "HETATM" => {
                for (c0, c1, axis) in [(31, 38, "x"), (39, 46, "y"), (47, 54, "z")] {
                    let a = parse_f64(line, c0, c1).map_err(|v| {
                        err(format!(
                            "{axis} coordinate '{v}' (columns {c0}-{c1}) is not a number"
                        ))
                    })?;
                    xyz.push((a / 10.0) as f32);
                }
                let res_seq = parse_res_seq(field(line, 23, 26)).ok_or_else(|| {
                    err(format!(
                        "residue number '{}' (columns 23-26) is not a number",
                        field(line, 23, 26)
                    ))
                })?;
                let name = field(line, 13, 16).trim().to_string();
                let element = match field(line, 77, 78).trim() {
                    "" => guess_element(&name),
                    e => e.to_string(),
                };
                atoms.push(Atom {
                    res_name: field(line, 18, 20).trim().to_string(),
                    res_seq,
                    chain: field(line, 22, 22).chars().next().unwrap_or(' '),
                    element,
                    name,
                });
            }
            "CRYST1" => cell = parse_cryst1(line).map_err(err)?,
            "ENDMDL" | "END" => break,
            _ => {}
        }
    }
    if atoms.is_empty() {
        return Err(Error::parse(path, 0, "no ATOM or HETATM records"));
    }
    let frames = Frames::new(atoms.len(), xyz, cell.map(|b| vec![b]))?;
    Ok((Topology { atoms }, frames))
}

/// Write frame `frame` of `frames` as a PDB with `topology` (coordinates in
/// Å, `%8.3f`, so about 1e-4 nm is lost). Writes CRYST1 when the frame has a box.
pub fn write_pdb(
    path: impl AsRef<Path>,
    topology: &Topology,
    frames: &Frames,
    frame: usize,
) -> Result<()> {
    let path = path.as_ref();
    if topology.n_atoms() != frames.n_atoms || frame >= frames.n_frames() {
        return Err(Error::Shape(format!(
            "writing {}: topology has {} atoms, frames have {} atoms x {} frames, frame {frame} requested",
            path.display(),
            topology.n_atoms(),
            frames.n_atoms,
            frames.n_frames()
        )));
    }
    let mut s = String::new();
    if let Some(b) = frames.boxes.as_ref().map(|b| b[frame]) {
        let [a, bb, c] = b.map(|l| f64::from(l) * 10.0);
        let _ = writeln!(
            s,
            "CRYST1{a:9.3}{bb:9.3}{c:9.3}{:7.2}{:7.2}{:7.2} P 1           1",
            90.0, 90.0, 90.0
        );
    }
    for (i, (atom, p)) in topology
        .atoms
        .iter()
        .zip(frames.frame(frame).chunks_exact(3))
        .enumerate()
    {
        // Four-character names start in column 13, shorter ones in column 14.
        let name = if atom.name.len() >= 4 {
            atom.name.clone()
        } else {
            format!(" {}", atom.name)
        };
        let [x, y, z] = [p[0], p[1], p[2]].map(|v| f64::from(v) * 10.0);
        let _ = writeln!(
            s,
            "ATOM  {:>5} {:<4} {:>3} {}{:>4}    {x:8.3}{y:8.3}{z:8.3}{:6.2}{:6.2}          {:>2}",
            (i + 1) % 100_000,
            name,
            atom.res_name,
            atom.chain,
            atom.res_seq % 10_000,
            1.0,
            0.0,
            atom.element
        );
    }
    s.push_str("END\n");
    super::npy::write_atomically(path, |w| std::io::Write::write_all(w, s.as_bytes()))
}

/// Columns `c0..=c1` (1-based, inclusive) of `line`, clipped to its length.
fn field(line: &str, c0: usize, c1: usize) -> &str {
    let b = line.as_bytes();
    let (s, e) = ((c0 - 1).min(b.len()), c1.min(b.len()));
    line.get(s..e).unwrap_or("")
}

fn parse_f64(line: &str, c0: usize, c1: usize) -> std::result::Result<f64, String> {
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

/// CRYST1 → orthorhombic box in nm; `None` for the 1 Å placeholder cell.
fn parse_cryst1(line: &str) -> std::result::Result<Option<[f32; 3]>, String> {
    let mut v = [0.0f64; 6];
    let cols = [(7, 15), (16, 24), (25, 33), (34, 40), (41, 47), (48, 54)];
    for (k, &(c0, c1)) in cols.iter().enumerate() {
        v[k] = parse_f64(line, c0, c1)
            .map_err(|f| format!("CRYST1 field '{f}' (columns {c0}-{c1}) is not a number"))?;
    }
    if v[3..].iter().any(|a| (a - 90.0).abs() > 1e-3) {
        return Err(format!(
            "triclinic unit cell (angles {}, {}, {}); only orthorhombic boxes are supported",
            v[3], v[4], v[5]
        ));
    }
    if v[..3].iter().all(|&l| (l - 1.0).abs() < 1e-6) {
        return Ok(None);
    }
    if v[..3].iter().any(|&l| l <= 0.0) {
        return Err(format!(
            "CRYST1 edge lengths {:?} Å must be positive",
            &v[..3]
        ));
    }
    Ok(Some([v[0], v[1], v[2]].map(|l| (l / 10.0) as f32)))
}

/// Element from an atom name: its first letter (`CA` → `C`, `1HB` → `H`).
fn guess_element(name: &str) -> String {
    name.chars()
        .find(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_uppercase().to_string())
        .unwrap_or_default()
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
