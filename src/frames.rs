//! A batch of coordinate frames, the common currency between readers and kernels.

use crate::error::{Error, Result};

/// Coordinates of `n_frames()` frames of `n_atoms` atoms each.
///
/// `xyz` is laid out `[frame][atom][xyz]`, in **nm**. `boxes`, when present,
/// holds one orthorhombic periodic box per frame as edge lengths in **nm**.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frames {
    /// Atoms per frame.
    pub n_atoms: usize,
    /// Coordinates, nm, `[frame][atom][xyz]`.
    pub xyz: Vec<f32>,
    /// Orthorhombic box edge lengths per frame, nm.
    pub boxes: Option<Vec<[f32; 3]>>,
}

impl Frames {
    /// Build frames from a flat coordinate vector (nm), checking its length.
    pub fn new(n_atoms: usize, xyz: Vec<f32>, boxes: Option<Vec<[f32; 3]>>) -> Result<Self> {
        if n_atoms == 0 {
            return Err(Error::Shape("frames must have at least one atom".into()));
        }
        if !xyz.len().is_multiple_of(3 * n_atoms) {
            return Err(Error::Shape(format!(
                "coordinate array of length {} is not a whole number of frames of {n_atoms} atoms x 3",
                xyz.len()
            )));
        }
        let frames = Frames {
            n_atoms,
            xyz,
            boxes,
        };
        if let Some(b) = &frames.boxes {
            if b.len() != frames.n_frames() {
                return Err(Error::Shape(format!(
                    "{} boxes given for {} frames",
                    b.len(),
                    frames.n_frames()
                )));
            }
        }
        Ok(frames)
    }

    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        if self.n_atoms == 0 {
            0
        } else {
            self.xyz.len() / (3 * self.n_atoms)
        }
    }

    /// Coordinates of frame `i` (nm), `[atom][xyz]`.
    pub fn frame(&self, i: usize) -> &[f32] {
        let len = 3 * self.n_atoms;
        &self.xyz[i * len..(i + 1) * len]
    }

    /// Gather the selected atoms of every frame into a new, compact `[frame][sel][xyz]` array.
    pub fn gather(&self, selection: &[usize]) -> Result<Vec<f32>> {
        if let Some(&bad) = selection.iter().find(|&&a| a >= self.n_atoms) {
            return Err(Error::InvalidArgument(format!(
                "atom index {bad} out of range for frames of {} atoms",
                self.n_atoms
            )));
        }
        let mut out = Vec::with_capacity(self.n_frames() * selection.len() * 3);
        for f in 0..self.n_frames() {
            let fr = self.frame(f);
            for &a in selection {
                out.extend_from_slice(&fr[3 * a..3 * a + 3]);
            }
        }
        Ok(out)
    }
}
