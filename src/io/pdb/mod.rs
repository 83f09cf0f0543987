//! PDB files: topology (atom names, residues, chains, elements) and
//! coordinates, model by model.
//!
//! Fixed columns as in the wwPDB format, read by the rules of OpenMM's
//! `PDBFile` (see `scan`): ATOM and HETATM records alike; alternate
//! locations keep the first location of each atom, with a warning;
//! insertion codes, four-character residue names (column 21) and `****`
//! residue numbers as VMD writes them; elements from columns 77-78 or
//! guessed from the atom name; atom serials (decimal, hybrid-36, hex) and
//! CONECT records not used. Coordinates in Å (converted to nm), CRYST1
//! edge lengths in Å (converted to nm; only orthorhombic cells for
//! [`read_pdb`], and the 1 Å placeholder cell means "no box").
//! [`read_pdb_positions`] reads the first model in double precision,
//! converted bit for bit as OpenMM does, with triclinic cells as reduced box
//! vectors (the input of force-field calculations); [`read_pdb_models`]
//! reads every MODEL as a frame, as MDAnalysis and MDTraj do.

mod cell;
mod scan;

use std::fmt::Write as _;
use std::path::Path;

pub(crate) use cell::compute_periodic_box_vectors;
use cell::{box_from_cell, orthorhombic_cell};
use scan::scan_pdb;

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
    /// Insertion code of the residue (column 27; `' '` when blank).
    pub insertion_code: char,
    /// Element symbol as OpenMM's element table spells it (`C`, `Fe`); from
    /// columns 77-78 in any case, or guessed from the atom name when those
    /// are blank or unknown; empty for extra particles (`EP`) and when no
    /// guess applies.
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
/// number or CRYST1 field, a triclinic cell, a later model whose atom count
/// differs from the first's, or no atoms ([`Error::Parse`] with the 1-based
/// line).
pub fn read_pdb(path: impl AsRef<Path>) -> Result<(Topology, Frames)> {
    let (topology, frames) = read_pdb_models(path)?;
    let first = frames.frame(0).to_vec();
    let boxes = frames.boxes.map(|b| vec![b[0]]);
    Ok((topology, Frames::new(frames.n_atoms, first, boxes)?))
}

/// Read a PDB file's topology and every model (MODEL ... ENDMDL, or the
/// whole file when it has no MODEL records) as a frame of positions (nm,
/// f32), as MDAnalysis and MDTraj read a multi-model PDB as a trajectory.
/// The CRYST1 box (nm) of the first model, when there is one, is every
/// frame's box.
///
/// Errors: as [`read_pdb`].
pub fn read_pdb_models(path: impl AsRef<Path>) -> Result<(Topology, Frames)> {
    let path = path.as_ref();
    let raw = scan_pdb(path)?;
    let cell = match raw.cryst1 {
        None => None,
        Some((lineno, v)) => orthorhombic_cell(v).map_err(|m| Error::parse(path, lineno, m))?,
    };
    let xyz = raw
        .models
        .iter()
        .flatten()
        .flatten()
        .map(|&a| (a / 10.0) as f32)
        .collect();
    let boxes = cell.map(|b| vec![b; raw.models.len()]);
    let frames = Frames::new(raw.atoms.len(), xyz, boxes)?;
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
    let positions = raw.models[0].iter().map(|p| p.map(|a| a * 0.1)).collect();
    let box_vectors = match raw.cryst1 {
        None => None,
        Some((lineno, v)) => box_from_cell(v).map_err(|m| Error::parse(path, lineno, m))?,
    };
    Ok((Topology { atoms: raw.atoms }, positions, box_vectors))
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
        // Residue names in columns 18-20, a fourth character in column 21.
        let res_name = format!("{:>3}", atom.res_name);
        let [x, y, z] = [p[0], p[1], p[2]].map(|v| f64::from(v) * 10.0);
        let _ = writeln!(
            s,
            "ATOM  {:>5} {:<4} {:<4}{}{:>4}{}   {x:8.3}{y:8.3}{z:8.3}{:6.2}{:6.2}          {:>2}",
            (i + 1) % 100_000,
            name,
            res_name,
            atom.chain,
            atom.res_seq % 10_000,
            atom.insertion_code,
            1.0,
            0.0,
            atom.element
        );
    }
    s.push_str("END\n");
    super::npy::write_atomically(path, |w| std::io::Write::write_all(w, s.as_bytes()))
}
