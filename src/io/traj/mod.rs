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
//!
//! [`write_netcdf`] writes Amber NetCDF trajectories (NetCDF-3 64-bit
//! offset, Conventions AMBER 1.0) that these readers, AmberTools and
//! MDAnalysis read.

mod netcdf;
mod netcdf_header;
mod netcdf_write;
mod xtc;

use std::path::Path;

use crate::error::{Error, Result};
use crate::frames::Frames;

pub use netcdf::{read_netcdf, read_netcdf_with_velocities};
pub use netcdf_write::write_netcdf;
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

/// Read every frame of the trajectory at `path`, in the format its
/// extension names (see [`TRAJECTORY_EXTENSIONS`]) or, for other names, the
/// format its first bytes show. Coordinates and boxes in nm.
pub fn read_trajectory(path: impl AsRef<Path>) -> Result<Frames> {
    read_trajectory_with(path, &super::DcdReadOptions::default())
}

/// [`read_trajectory`] with the DCD reader's options (ignored for other
/// formats).
pub fn read_trajectory_with(path: impl AsRef<Path>, dcd: &super::DcdReadOptions) -> Result<Frames> {
    let path = path.as_ref();
    match format_of(path)? {
        Format::Dcd => super::read_dcd_with(path, None, dcd),
        Format::NetCdf => read_netcdf(path),
        Format::Xtc => read_xtc(path),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Dcd,
    NetCdf,
    Xtc,
}

/// The format named by the extension or, for any other name (a DCD saved
/// as `run.traj`, say), recognised from the file's first bytes: `CDF\x01`
/// or `CDF\x02` is NetCDF-3, a big-endian 1995 is XTC, an 84-byte first
/// Fortran record holding `CORD` is DCD (either byte order).
fn format_of(path: &Path) -> Result<Format> {
    match extension(path).as_str() {
        "dcd" => return Ok(Format::Dcd),
        "nc" | "ncdf" | "netcdf" | "ncrst" => return Ok(Format::NetCdf),
        "xtc" => return Ok(Format::Xtc),
        _ => {}
    }
    let mut head = [0u8; 8];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]).map_err(|e| Error::io(path, e))? {
                0 => break,
                k => n += k,
            }
        }
        n
    };
    sniff(&head[..n]).ok_or_else(|| {
        Error::format(
            path,
            format!(
                "not a DCD, Amber NetCDF or XTC file (by content), and the extension \
                 is none of {TRAJECTORY_EXTENSIONS}"
            ),
        )
    })
}

fn sniff(head: &[u8]) -> Option<Format> {
    if head.len() >= 4 && &head[..3] == b"CDF" && matches!(head[3], 1 | 2) {
        return Some(Format::NetCdf);
    }
    if head.len() >= 4 && head[..4] == 1995i32.to_be_bytes() {
        return Some(Format::Xtc);
    }
    let dcd_marker = head.len() >= 8
        && (head[..4] == 84i32.to_le_bytes() || head[..4] == 84i32.to_be_bytes())
        && &head[4..8] == b"CORD";
    dcd_marker.then_some(Format::Dcd)
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

#[cfg(test)]
mod tests {
    use super::{sniff, Format};

    #[test]
    fn sniffs_the_three_magics_and_refuses_others() {
        assert_eq!(sniff(b"CDF\x01\0\0\0\0"), Some(Format::NetCdf));
        assert_eq!(sniff(b"CDF\x02\0\0\0\0"), Some(Format::NetCdf));
        assert_eq!(sniff(b"CDF\x05\0\0\0\0"), None);
        assert_eq!(sniff(&[0, 0, 0x07, 0xcb, 0, 0, 0, 0]), Some(Format::Xtc));
        assert_eq!(sniff(b"\x54\0\0\0CORD"), Some(Format::Dcd));
        assert_eq!(sniff(b"\0\0\0\x54CORD"), Some(Format::Dcd));
        assert_eq!(sniff(b"\x54\0\0\0VELD"), None);
        assert_eq!(sniff(b"REMARK"), None);
        assert_eq!(sniff(b""), None);
    }
}
