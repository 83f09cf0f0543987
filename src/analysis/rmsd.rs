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
/// `reference`: one full structure, `[frames.n_atoms][3]` nm; `selection`
/// indexes atoms of both. Errors: length mismatch, empty or out-of-range
/// selection, non-finite selected coordinates (names frame and atom).
pub fn rmsd(
    device: &Device,
    reference: &[f32],
    frames: &Frames,
    selection: &[usize],
) -> Result<Vec<f32>> {
    if reference.len() != 3 * frames.n_atoms {
        return Err(Error::Shape(format!(
            "reference has {} coordinates, expected {} ({} atoms x 3)",
            reference.len(),
            3 * frames.n_atoms,
            frames.n_atoms
        )));
    }
    check_selection(selection, frames.n_atoms)?;
    let ref_frame = Frames::new(frames.n_atoms, reference.to_vec(), None)?;
    let ref_sel = ref_frame.gather(selection)?;
    check_gathered_finite("reference", &ref_sel, selection)?;
    let coords = frames.gather(selection)?;
    check_gathered_finite("coordinates", &coords, selection)?;
    let mut out = vec![0.0f32; frames.n_frames()];
    device.backend()?.rmsd(
        &ref_sel,
        &coords,
        frames.n_frames(),
        selection.len(),
        &mut out,
    )?;
    Ok(out)
}
