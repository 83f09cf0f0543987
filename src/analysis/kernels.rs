//! The analysis kernel contract every backend implements.
//!
//! Kernels receive compact, already-gathered selections: `[frame][atom][xyz]`
//! `f32` slices in **nm**. The public functions in [`crate::analysis`]
//! validate everything (finite input, ranges, boxes) once; kernels only check
//! slice lengths against the shape they are given (returning
//! [`Error::Shape`]).

use crate::error::{Error, Result};

/// Contact-map and RMSD kernels.
pub trait AnalysisKernels {
    /// Dense 0/1 contact maps of `n_frames` frames of `n` atoms each.
    ///
    /// `coords`: `[n_frames][n][3]` nm. `cutoff`: nm. `boxes`: one
    /// orthorhombic box (edge lengths, nm) per frame for the minimum-image
    /// convention, or `None`. `out`: `[n_frames][n][n]`, overwritten.
    ///
    /// Pair `(i, j)` is a contact iff its distance is `< cutoff` (strict);
    /// the diagonal is always 1. The arithmetic is MDAnalysis'
    /// `contact_matrix` on the Å values it holds for nm input: coordinates
    /// `a = fl32(10·x)`, differences in f32 widened to f64, `d² < (10·cutoff)²`
    /// in f64; periodic: `L = fl32(10·b)`, `s = d·fl32(1/L)`,
    /// `d = L·(s − round(s))` in f64. Maps are then bit-identical to
    /// MDAnalysis' for coordinates that MDAnalysis got as `fl32(10·x)`.
    fn contact_maps(
        &self,
        coords: &[f32],
        n_frames: usize,
        n: usize,
        cutoff: f64,
        boxes: Option<&[[f32; 3]]>,
        out: &mut [u8],
    ) -> Result<()>;

    /// RMSD (nm) of each frame to `reference` after optimal superposition
    /// (translation and rotation, unweighted).
    ///
    /// `reference`: `[n][3]` nm; `coords`: `[n_frames][n][3]` nm;
    /// `out`: `[n_frames]`, overwritten.
    fn rmsd(
        &self,
        reference: &[f32],
        coords: &[f32],
        n_frames: usize,
        n: usize,
        out: &mut [f32],
    ) -> Result<()>;
}

/// Check the slice lengths shared by the contact-map kernels.
pub fn check_contact_shapes(
    coords: &[f32],
    n_frames: usize,
    n: usize,
    boxes: Option<&[[f32; 3]]>,
    out: &[u8],
) -> Result<()> {
    expect_len("contact_maps coords", coords.len(), n_frames * n * 3)?;
    expect_len("contact_maps out", out.len(), n_frames * n * n)?;
    if let Some(b) = boxes {
        expect_len("contact_maps boxes", b.len(), n_frames)?;
    }
    Ok(())
}

/// Check the slice lengths shared by the RMSD kernels.
pub fn check_rmsd_shapes(
    reference: &[f32],
    coords: &[f32],
    n_frames: usize,
    n: usize,
    out: &[f32],
) -> Result<()> {
    expect_len("rmsd reference", reference.len(), n * 3)?;
    expect_len("rmsd coords", coords.len(), n_frames * n * 3)?;
    expect_len("rmsd out", out.len(), n_frames)?;
    if n == 0 {
        return Err(Error::Shape("rmsd needs at least one atom".into()));
    }
    Ok(())
}

fn expect_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "{what}: length {got}, expected {want}"
        )))
    }
}
