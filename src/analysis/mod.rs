//! Trajectory analysis: Cα contact maps and RMSD to a reference.
//!
//! The functions here validate their input once (selection, cutoff, finite
//! coordinates, boxes) and then run the kernels of the backend a
//! [`crate::Device`] names.

pub mod contacts;
pub mod kernels;
pub mod rmsd;

pub use contacts::{contact_maps, ContactMapOptions, ContactMaps};
pub use rmsd::rmsd;

use crate::error::{Error, Result};

/// Fail unless `selection` is non-empty and every index is `< n_atoms`.
fn check_selection(selection: &[usize], n_atoms: usize) -> Result<()> {
    if selection.is_empty() {
        return Err(Error::InvalidArgument("empty atom selection".into()));
    }
    if let Some((k, &a)) = selection.iter().enumerate().find(|(_, &a)| a >= n_atoms) {
        return Err(Error::InvalidArgument(format!(
            "selection entry {k} is atom index {a}, out of range for {n_atoms} atoms"
        )));
    }
    Ok(())
}

/// Fail with [`Error::NonFinite`] naming the frame and the original atom index
/// of the first non-finite coordinate in `gathered` (`[frame][sel][xyz]`).
fn check_gathered_finite(what: &str, gathered: &[f32], selection: &[usize]) -> Result<()> {
    match gathered.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let row = i / 3;
            let (frame, k) = (row / selection.len(), row % selection.len());
            Err(Error::NonFinite(format!(
                "{what}: frame {frame}, atom {} (selection entry {k}), component {} is {}",
                selection[k],
                ["x", "y", "z"][i % 3],
                gathered[i]
            )))
        }
    }
}
