//! Trajectory files by extension: DCD, Amber NetCDF (`.nc`, `.ncdf`,
//! `.netcdf`, `.ncrst`) and GROMACS XTC (`.xtc`), into one [`Frames`] type.
//!
//! Amber NetCDF coordinates are Å (converted to nm here, honouring a
//! `scale_factor` attribute), cell lengths Å and angles degrees; XTC holds
//! nm. Returned coordinates and boxes are in **nm**, velocities in **nm/ps**.
//! Only orthorhombic cells are accepted, as for DCD; other cells are refused
//! with an error naming the file and frame.
//!
//! NetCDF-3 (classic and 64-bit offset, what pmemd and OpenMM write) is read
//! with the pure-Rust `netcdf3` crate; XTC with the pure-Rust `molly` crate,
//! after steermd has checked every frame's header and extent itself (so a
//! truncated or corrupt file is an error naming the file and frame).

mod netcdf;
mod xtc;

use std::path::Path;

use crate::error::{Error, Result};
use crate::frames::Frames;

pub use netcdf::{read_netcdf, read_netcdf_with_velocities};
pub use xtc::read_xtc;

/// Extensions [`read_trajectory`] accepts, for error messages.
pub const TRAJECTORY_EXTENSIONS: &str = ".dcd, .nc, .ncdf, .netcdf, .ncrst, .xtc";

/// Frames with the velocities a file may hold besides coordinates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trajectory {
    /// Coordinates (nm) and boxes (nm).
    pub frames: Frames,
    /// Velocities, **nm/ps**, laid out like `frames.xyz`, when the file has them.
    pub velocities: Option<Vec<f32>>,
    /// Time of each frame, **ps**, when the file has it.
    pub times_ps: Option<Vec<f64>>,
}

/// Whether `path` has an extension [`read_trajectory`] accepts.
pub fn is_trajectory_path(path: impl AsRef<Path>) -> bool {
    matches!(
        extension(path.as_ref()).as_str(),
        "dcd" | "nc" | "ncdf" | "netcdf" | "ncrst" | "xtc"
    )
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Read every frame of the trajectory at `path`, chosen by its extension
/// (see [`TRAJECTORY_EXTENSIONS`]). Coordinates and boxes in nm.
pub fn read_trajectory(path: impl AsRef<Path>) -> Result<Frames> {
    read_trajectory_with(path, &super::DcdReadOptions::default())
}

/// [`read_trajectory`] with the DCD reader's options (ignored for other
/// formats).
pub fn read_trajectory_with(path: impl AsRef<Path>, dcd: &super::DcdReadOptions) -> Result<Frames> {
    let path = path.as_ref();
    match extension(path).as_str() {
        "dcd" => super::read_dcd_with(path, None, dcd),
        "nc" | "ncdf" | "netcdf" | "ncrst" => read_netcdf(path),
        "xtc" => read_xtc(path),
        _ => Err(Error::format(
            path,
            format!("unknown trajectory extension; accepted: {TRAJECTORY_EXTENSIONS}"),
        )),
    }
}

/// [`read_trajectory`] checked to hold `n_atoms` atoms per frame.
pub fn read_trajectory_for(path: impl AsRef<Path>, n_atoms: usize) -> Result<Frames> {
    let path = path.as_ref();
    let frames = read_trajectory(path)?;
    if frames.n_atoms != n_atoms {
        return Err(Error::Shape(format!(
            "{} has {} atoms per frame, expected {n_atoms}",
            path.display(),
            frames.n_atoms
        )));
    }
    Ok(frames)
}
