//! One entry point for the inputs a simulation starts from: an OpenMM
//! System XML with a PDB, or an Amber prmtop with an inpcrd/rst7. Used by
//! the CLI and the C ABI.

use std::path::PathBuf;

use super::prmtop::{read_inpcrd, read_prmtop, PrmtopOptions};
use super::system::{BoxVectors, System};
use super::xml::read_system_xml;
use crate::error::{Error, Result};
use crate::io::pdb::read_pdb_positions;
use crate::io::Topology;

/// Where a system and its starting coordinates come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SystemInput {
    /// `XmlSerializer.serialize(system)` output plus a PDB with the
    /// positions (and the box, from CRYST1) in the System's atom order.
    Xml {
        /// The System XML file.
        xml: PathBuf,
        /// The PDB file.
        pdb: PathBuf,
    },
    /// An Amber topology and coordinates, converted as OpenMM's
    /// `AmberPrmtopFile.createSystem(**options)`.
    Prmtop {
        /// The prmtop file.
        prmtop: PathBuf,
        /// The inpcrd/rst7 file (ASCII).
        inpcrd: PathBuf,
        /// How to build the System.
        options: PrmtopOptions,
    },
}

/// A validated system with its topology and starting state.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSystem {
    /// The system (validated).
    pub system: System,
    /// Atom names, residues and elements, in the system's particle order.
    pub topology: Topology,
    /// Positions, nm, one per particle, finite.
    pub positions: Vec<[f64; 3]>,
    /// Velocities, nm/ps, when the coordinate file has them (rst7).
    pub velocities: Option<Vec<[f64; 3]>>,
    /// The box, nm: from the coordinate file (PDB CRYST1, inpcrd box line),
    /// else the system's default box (XML) or the prmtop's box; `None` for
    /// a non-periodic system without one.
    pub box_vectors: Option<BoxVectors>,
}

/// Load a [`SystemInput`]: read the files, check that the coordinate file
/// has one atom per particle (an [`Error::Shape`] naming both files and
/// counts otherwise), that positions and velocities are finite, that a
/// periodic system has a box, and validate the system.
///
/// Errors: those of the readers ([`Error::Io`], [`Error::Parse`],
/// [`Error::Format`]), [`Error::Shape`], [`Error::NonFinite`] and
/// [`Error::InvalidArgument`] (from [`System::validate`] and option checks).
pub fn load_system_input(input: &SystemInput) -> Result<LoadedSystem> {
    let (system, topology, positions, velocities, file_box) = match input {
        SystemInput::Xml { xml, pdb } => {
            let system = read_system_xml(xml)?;
            let (topology, positions, bx) = read_pdb_positions(pdb)?;
            check_count(
                "PDB",
                pdb,
                positions.len(),
                "system",
                xml,
                system.n_particles(),
            )?;
            (system, topology, positions, None, bx)
        }
        SystemInput::Prmtop {
            prmtop,
            inpcrd,
            options,
        } => {
            let prm = read_prmtop(prmtop)?;
            let crd = read_inpcrd(inpcrd)?;
            check_count(
                "inpcrd",
                inpcrd,
                crd.positions.len(),
                "prmtop",
                prmtop,
                prm.n_atoms(),
            )?;
            let system = prm.create_system(options)?;
            let bx = crd.box_vectors.or_else(|| prm.box_vectors());
            (system, prm.topology(), crd.positions, crd.velocities, bx)
        }
    };
    system.validate()?;
    super::check_positions(&system, &positions)?;
    if let Some(v) = &velocities {
        if let Some(i) = v.iter().position(|p| p.iter().any(|x| !x.is_finite())) {
            return Err(Error::NonFinite(format!(
                "velocity of atom {i} is {:?}",
                v[i]
            )));
        }
    }
    let box_vectors = super::resolve_box(&system, file_box)?;
    Ok(LoadedSystem {
        system,
        topology,
        positions,
        velocities,
        box_vectors,
    })
}

fn check_count(
    what: &str,
    path: &std::path::Path,
    n: usize,
    sys_what: &str,
    sys_path: &std::path::Path,
    n_sys: usize,
) -> Result<()> {
    if n == n_sys {
        return Ok(());
    }
    Err(Error::Shape(format!(
        "{what} has {n} atoms, {sys_what} has {n_sys} ({} vs {})",
        path.display(),
        sys_path.display()
    )))
}
