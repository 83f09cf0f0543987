//! CHARMM/NAMD/OpenMM DCD trajectories.
//!
//! A DCD file is a sequence of Fortran unformatted records, each framed by
//! its byte length as a 4-byte integer before and after:
//!
//! 1. 84 bytes: `CORD` and 20 int32 control words: `[0]` frames (NSET),
//!    `[1]` first step, `[2]` steps between frames, `[3]` last step, `[8]`
//!    fixed atoms, `[9]` timestep (f32, AKMA time units), `[10]` unit-cell
//!    flag, `[11]` 4-D flag, `[19]` CHARMM version (0 = X-PLOR layout).
//! 2. Title lines: int32 count, then 80 bytes each.
//! 3. 4 bytes: number of atoms.
//! 4. Per frame: optionally a 48-byte unit cell (f64 `A, γ, B, β, α, C`,
//!    Å, angles as cosines (CHARMM, OpenMM) or degrees (older NAMD)), then
//!    three records of `n_atoms` f32 for X, Y and Z in Å.
//!
//! Both byte orders are read (detected from the first record's marker); files
//! are written little-endian in OpenMM's layout.

mod read;
mod write;

pub use read::{read_dcd, read_dcd_for, read_dcd_header, read_dcd_with};
pub use write::{write_dcd, DcdWriter};

/// One AKMA time unit in ps (the unit of the DCD timestep field).
pub const AKMA_TIME_PS: f64 = 0.04888821;

/// What a DCD header says.
#[derive(Clone, Debug, PartialEq)]
pub struct DcdHeader {
    /// Atoms per frame.
    pub n_atoms: usize,
    /// Whole frames in the file (from its size, whatever the header's count says).
    pub n_frames: usize,
    /// MD step of the first frame.
    pub first_step: i32,
    /// MD steps between frames.
    pub interval: i32,
    /// Integration timestep, ps (0 when the file does not say).
    pub timestep_ps: f64,
    /// Whether every frame carries a unit cell.
    pub has_unit_cell: bool,
    /// Whether the file is big-endian.
    pub big_endian: bool,
}

/// How to read a DCD file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcdReadOptions {
    /// Drop a partial last frame (a file that ends inside a frame, as a
    /// killed run leaves it) with a warning instead of refusing the file.
    pub drop_partial_frame: bool,
}

/// Header fields of a DCD file to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DcdWriteOptions {
    /// MD step of the first frame.
    pub first_step: i32,
    /// MD steps between frames.
    pub interval: i32,
    /// Integration timestep, ps.
    pub timestep_ps: f64,
}

impl Default for DcdWriteOptions {
    fn default() -> Self {
        DcdWriteOptions {
            first_step: 0,
            interval: 1,
            timestep_ps: 0.002,
        }
    }
}

/// Bytes before the first frame of a file with `n_titles` title lines.
const fn header_len(n_titles: usize) -> usize {
    (4 + 84 + 4) + (4 + 4 + 80 * n_titles + 4) + (4 + 4 + 4)
}

/// Bytes per frame.
fn frame_len(n_atoms: usize, unit_cell: bool, four_d: bool) -> usize {
    let coord = 4 + 4 * n_atoms + 4;
    usize::from(unit_cell) * (4 + 48 + 4) + (3 + usize::from(four_d)) * coord
}
