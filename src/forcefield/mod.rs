//! Force field: system description, input readers and the energy/force API.
//!
//! - [`system`]: [`System`] and its force types (OpenMM semantics and units:
//!   nm, kJ/mol, e, amu).
//! - [`xml`]: OpenMM serialized `System` XML reader.
//! - [`prmtop`]: Amber prmtop/inpcrd reader and conversion to a [`System`].
//! - [`input`]: [`load_system_input`], the one loader for XML+PDB or prmtop+inpcrd.
//! - [`kernels`]: the [`ForceKernels`] contract the backends implement.
//!
//! [`compute`] evaluates energies and forces once; long runs keep a
//! [`ForceEvaluator`] (see [`crate::integrate`]).

pub mod input;
pub mod kernels;
pub mod prmtop;
pub mod system;
pub mod terms;
mod validate;
pub mod xml;

pub use input::{load_system_input, LoadedSystem, SystemInput};
pub use kernels::{ForceEvaluator, ForceKernels, ForceOutput, ALL_GROUPS};
pub use prmtop::{
    parse_inpcrd, parse_prmtop, read_inpcrd, read_prmtop, Constraints, ImplicitSolvent, Inpcrd,
    Prmtop, PrmtopOptions,
};
pub use system::*;
pub use xml::{parse_system_xml, read_system_xml};

use crate::backend::{Device, Precision};
use crate::error::{Error, Result};

/// Check positions (nm) against a system: one per particle, all finite.
/// Errors name the first bad atom index.
pub fn check_positions(system: &System, positions: &[[f64; 3]]) -> Result<()> {
    if positions.len() != system.n_particles() {
        return Err(Error::Shape(format!(
            "{} positions for a system of {} particles",
            positions.len(),
            system.n_particles()
        )));
    }
    if let Some(i) = positions
        .iter()
        .position(|p| p.iter().any(|v| !v.is_finite()))
    {
        return Err(Error::NonFinite(format!(
            "position of atom {i} is {:?}",
            positions[i]
        )));
    }
    Ok(())
}

/// Resolve the box to use: the given one, else the system's default; an
/// error if the system is periodic and neither exists.
pub fn resolve_box(system: &System, box_vectors: Option<BoxVectors>) -> Result<Option<BoxVectors>> {
    let b = box_vectors.or(system.default_box);
    if system.uses_periodic_boundaries() && b.is_none() {
        return Err(Error::InvalidArgument(
            "the system is periodic but no box vectors were given".into(),
        ));
    }
    if let Some(b) = &b {
        validate::check_box(b)?;
    }
    Ok(b)
}

/// Energies (kJ/mol, per group) and forces (kJ/mol/nm) of `system` at
/// `positions` (nm) for the groups in the bit mask `groups`, on `device`
/// (a GPU at its default precision).
pub fn compute(
    device: &Device,
    system: &System,
    positions: &[[f64; 3]],
    box_vectors: Option<BoxVectors>,
    groups: u32,
) -> Result<ForceOutput> {
    compute_at(
        device,
        Precision::default(),
        system,
        positions,
        box_vectors,
        groups,
    )
}

/// [`compute`] with a GPU backend at `precision`.
pub fn compute_at(
    device: &Device,
    precision: Precision,
    system: &System,
    positions: &[[f64; 3]],
    box_vectors: Option<BoxVectors>,
    groups: u32,
) -> Result<ForceOutput> {
    system.validate()?;
    check_positions(system, positions)?;
    let b = resolve_box(system, box_vectors)?;
    let mut evaluator = device.backend_at(precision)?.force_evaluator(system)?;
    let mut out = ForceOutput::new(system.n_particles());
    evaluator.compute(positions, b.as_ref(), groups, &mut out)?;
    Ok(out)
}
