//! RMSD to a reference structure after optimal superposition.

use super::{check_gathered_finite, check_selection};
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::frames::Frames;

/// RMSD (nm) of every frame to `reference` over the atoms in `selection`,
/// after removing translation and rotation by optimal (unweighted)
/// superposition of the selected atoms; equals MDTraj's
/// `md.rmsd(traj, ref, atom_indices=selection)`.
///
/// `reference`: the selected atoms of the reference structure, in selection
/// order, `[selection.len()][3]` nm (e.g. `ref_frames.gather(selection)`).
/// Errors: length mismatch, empty or out-of-range selection, non-finite
/// coordinates (names frame and atom).
pub fn rmsd(
    device: &Device,
    reference: &[f32],
    frames: &Frames,
    selection: &[usize],
) -> Result<Vec<f32>> {
    check_selection(selection, frames.n_atoms)?;
    if reference.len() != 3 * selection.len() {
        return Err(Error::Shape(format!(
            "reference has {} coordinates, expected {} (the {} selected atoms x 3)",
            reference.len(),
            3 * selection.len(),
            selection.len()
        )));
    }
    check_gathered_finite("reference", reference, selection)?;
    let coords = frames.gather(selection)?;
    check_gathered_finite("coordinates", &coords, selection)?;
    let mut out = vec![0.0f32; frames.n_frames()];
    device.backend()?.rmsd(
        reference,
        &coords,
        frames.n_frames(),
        selection.len(),
        &mut out,
    )?;
    Ok(out)
}
