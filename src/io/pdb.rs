//! PDB files: topology (atom names, residues, chains, elements) and the
//! coordinates of the first model.
//!
//! Fixed columns as in the wwPDB format: ATOM/HETATM records, coordinates in
//! Å (converted to nm), CRYST1 edge lengths in Å (converted to nm; only
//! orthorhombic cells, and the 1 Å placeholder cell means "no box").
//! [`read_pdb_positions`] reads the same records in double precision,
//! converted bit for bit as OpenMM does, with triclinic cells as reduced box
//! vectors (the input of force-field calculations).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::forcefield::BoxVectors;
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
    let raw = scan_pdb(path)?;
    let cell = match raw.cryst1 {
        None => None,
        Some((lineno, v)) => orthorhombic_cell(v).map_err(|m| Error::parse(path, lineno, m))?,
    };
    let xyz = raw
        .xyz
        .iter()
        .flatten()
        .map(|&a| (a / 10.0) as f32)
        .collect();
    let frames = Frames::new(raw.atoms.len(), xyz, cell.map(|b| vec![b]))?;
    Ok((Topology { atoms: raw.atoms }, frames))
}

/// Read a PDB file's topology, the positions of its first model in double
/// precision (nm) and its unit cell as box vectors (nm), converting exactly
/// as OpenMM's `PDBFile` does: every Å value is `float(text) * 0.1` (not
/// `/ 10`, which differs in the last bit for about a third of the values),
/// and the CRYST1 lengths and angles become OpenMM's reduced box vectors
/// (`computePeriodicBoxVectors`, triclinic cells included).
///
/// No box is returned when there is no CRYST1 record, when a CRYST1 length
/// is zero (as in OpenMM) or for the 1 Å × 1 Å × 1 Å placeholder cell that
/// some programs write for non-periodic structures.
///
/// Errors: as [`read_pdb`], except that triclinic cells are accepted; a cell
/// that does not describe a valid parallelepiped is an [`Error::Parse`] at
/// the CRYST1 line.
pub fn read_pdb_positions(
    path: impl AsRef<Path>,
) -> Result<(Topology, Vec<[f64; 3]>, Option<BoxVectors>)> {
    let path = path.as_ref();
    let raw = scan_pdb(path)?;
    let positions = raw.xyz.iter().map(|p| p.map(|a| a * 0.1)).collect();
    let box_vectors = match raw.cryst1 {
        None => None,
        Some((lineno, v)) => box_from_cell(v).map_err(|m| Error::parse(path, lineno, m))?,
    };
    Ok((Topology { atoms: raw.atoms }, positions, box_vectors))
}

/// ATOM/HETATM records of the first model (coordinates in Å, as written)
/// and the last CRYST1 record before the end of the first model.
struct RawPdb {
    atoms: Vec<Atom>,
    xyz: Vec<[f64; 3]>,
    /// (1-based line, [a, b, c (Å), α, β, γ (degrees)]).
    cryst1: Option<(usize, [f64; 6])>,
}

fn scan_pdb(path: &Path) -> Result<RawPdb> {
    let text = fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&text);
    let mut atoms = Vec::new();
    let mut xyz = Vec::new();
    let mut cryst1 = None;
    for (k, line) in text.lines().enumerate() {
        let lineno = k + 1;
        let err = |msg: String| Error::parse(path, lineno, msg);
        let record = field(line, 1, 6);
        match record.trim_end() {
            "ATOM" | "HETATM" => {
                let mut p = [0.0; 3];
                for (d, (c0, c1, axis)) in [(31, 38, "x"), (39, 46, "y"), (47, 54, "z")]
                    .into_iter()
                    .enumerate()
                {
                    p[d] = parse_f64(line, c0, c1).map_err(|v| {
                        err(format!(
                            "{axis} coordinate '{v}' (columns {c0}-{c1}) is not a number"
                        ))
                    })?;
                }
                xyz.push(p);
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
            "CRYST1" => cryst1 = Some((lineno, cryst1_fields(line).map_err(err)?)),
            "ENDMDL" | "END" => break,
            _ => {}
        }
    }
    if atoms.is_empty() {
        return Err(Error::parse(path, 0, "no ATOM or HETATM records"));
    }
    Ok(RawPdb { atoms, xyz, cryst1 })
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

/// The six CRYST1 numbers: a, b, c (Å) and α, β, γ (degrees).
fn cryst1_fields(line: &str) -> std::result::Result<[f64; 6], String> {
    let mut v = [0.0f64; 6];
    let cols = [(7, 15), (16, 24), (25, 33), (34, 40), (41, 47), (48, 54)];
    for (k, &(c0, c1)) in cols.iter().enumerate() {
        v[k] = parse_f64(line, c0, c1)
            .map_err(|f| format!("CRYST1 field '{f}' (columns {c0}-{c1}) is not a number"))?;
    }
    Ok(v)
}

/// Whether a cell is the 1 Å cube written for structures without a box.
fn is_placeholder_cell(v: &[f64; 6]) -> bool {
    v[..3].iter().all(|&l| (l - 1.0).abs() < 1e-6)
}

/// CRYST1 → orthorhombic box in nm; `None` for the 1 Å placeholder cell.
fn orthorhombic_cell(v: [f64; 6]) -> std::result::Result<Option<[f32; 3]>, String> {
    if v[3..].iter().any(|a| (a - 90.0).abs() > 1e-3) {
        return Err(format!(
            "triclinic unit cell (angles {}, {}, {}); only orthorhombic boxes are supported",
            v[3], v[4], v[5]
        ));
    }
    if is_placeholder_cell(&v) {
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

/// CRYST1 → reduced box vectors (nm) exactly as OpenMM's PDB reader
/// computes them (`openmm.app.internal.unitcell.computePeriodicBoxVectors`
/// on lengths `Å * 0.1` and angles `deg * π / 180`).
fn box_from_cell(v: [f64; 6]) -> std::result::Result<Option<BoxVectors>, String> {
    use std::f64::consts::PI;
    let (a_len, b_len, c_len) = (v[0] * 0.1, v[1] * 0.1, v[2] * 0.1);
    if a_len == 0.0 || b_len == 0.0 || c_len == 0.0 || is_placeholder_cell(&v) {
        return Ok(None);
    }
    let bad = || {
        format!(
            "CRYST1 cell (a, b, c = {}, {}, {} Å; α, β, γ = {}, {}, {}°) is not a valid periodic box",
            v[0], v[1], v[2], v[3], v[4], v[5]
        )
    };
    let (alpha, beta, gamma) = (v[3] * PI / 180.0, v[4] * PI / 180.0, v[5] * PI / 180.0);
    compute_periodic_box_vectors([a_len, b_len, c_len], [alpha, beta, gamma])
        .map(Some)
        .ok_or_else(bad)
}

/// OpenMM's `computePeriodicBoxVectors` (openmm.app.internal.unitcell):
/// edge lengths (nm) and angles α, β, γ (radians) → box vectors in reduced
/// form, operation by operation (entries below 1e-6 set to 0; Python's
/// `round`, which rounds half to even). `None` when the cell is degenerate.
pub(crate) fn compute_periodic_box_vectors(
    [a_len, b_len, c_len]: [f64; 3],
    [alpha, beta, gamma]: [f64; 3],
) -> Option<BoxVectors> {
    if !(a_len > 0.0 && b_len > 0.0 && c_len > 0.0) {
        return None;
    }
    let mut a = [a_len, 0.0, 0.0];
    let mut b = [b_len * gamma.cos(), b_len * gamma.sin(), 0.0];
    let cx = c_len * beta.cos();
    let cy = c_len * (alpha.cos() - beta.cos() * gamma.cos()) / gamma.sin();
    let cz = (c_len * c_len - cx * cx - cy * cy).sqrt();
    let mut c = [cx, cy, cz];
    for x in a.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
        if x.abs() < 1e-6 {
            *x = 0.0;
        }
    }
    if !(b[1] > 0.0 && c[2] > 0.0) {
        return None;
    }
    let sub =
        |u: [f64; 3], w: [f64; 3], k: f64| [u[0] - w[0] * k, u[1] - w[1] * k, u[2] - w[2] * k];
    c = sub(c, b, (c[1] / b[1]).round_ties_even());
    c = sub(c, a, (c[0] / a[0]).round_ties_even());
    b = sub(b, a, (b[0] / a[0]).round_ties_even());
    let out = [a, b, c];
    out.iter().flatten().all(|x| x.is_finite()).then_some(out)
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
