//! Trajectory files by extension: DCD, Amber NetCDF (`.nc`, `.ncdf`,
//! `.netcdf`, `.ncrst`) and GROMACS XTC (`.xtc`), into one [`Frames`] type.
//!
//! Amber NetCDF coordinates are Å (converted to nm here, honouring a
//! `scale_factor` attribute), cell lengths Å and angles degrees; XTC holds
//! nm. Returned coordinates and boxes are in **nm**. Only orthorhombic cells
//! are accepted, as for DCD; other cells are refused with an error naming
//! the file and frame.
//!
//! NetCDF-3 (classic and 64-bit offset, what pmemd and OpenMM write) is read
//! with the pure-Rust `netcdf3` crate; XTC with the pure-Rust `molly` crate.

use std::path::Path;

use crate::error::{Error, Result};
use crate::frames::Frames;

/// Extensions [`read_trajectory`] accepts, for error messages.
pub const TRAJECTORY_EXTENSIONS: &str = ".dcd, .nc, .ncdf, .netcdf, .ncrst, .xtc";

/// Read every frame of the trajectory at `path`, chosen by its extension
/// (see [`TRAJECTORY_EXTENSIONS`]). Coordinates and boxes in nm.
pub fn read_trajectory(path: impl AsRef<Path>) -> Result<Frames> {
    let path = path.as_ref();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "dcd" => super::read_dcd(path),
        "nc" | "ncdf" | "netcdf" | "ncrst" => read_netcdf(path),
        "xtc" => read_xtc(path),
        _ => Err(Error::format(
            path,
            format!("unknown trajectory extension; accepted: {TRAJECTORY_EXTENSIONS}"),
        )),
    }
}

/// Read an Amber NetCDF trajectory or restart (coordinates Å → nm).
pub fn read_netcdf(path: impl AsRef<Path>) -> Result<Frames> {
    let path = path.as_ref();
    let fail = |m: String| Error::format(path, m);
    let mut reader = netcdf3::FileReader::open(path).map_err(|e| fail(format!("{e:?}")))?;
    let vars = reader
        .read_all_vars()
        .map_err(|e| fail(format!("reading variables: {e:?}")))?;
    let ds = reader.data_set();
    let n_atoms = ds
        .dim_size("atom")
        .ok_or_else(|| fail("no 'atom' dimension".into()))?;
    let coords = read_f64(&vars, ds, "coordinates").map_err(fail)?;
    let n_frames = if n_atoms == 0 {
        0
    } else {
        coords.len() / (3 * n_atoms)
    };
    if n_atoms == 0 || coords.len() != n_frames * 3 * n_atoms {
        return Err(fail(format!(
            "variable 'coordinates' has {} values, not frames x {n_atoms} atoms x 3",
            coords.len()
        )));
    }
    let xyz: Vec<f32> = coords.iter().map(|&v| (v * 0.1) as f32).collect();
    crate::error::check_finite("coordinates", &xyz, 3)?;
    let boxes = if ds.get_var("cell_lengths").is_some() {
        let len = read_f64(&vars, ds, "cell_lengths").map_err(fail)?;
        let ang = read_f64(&vars, ds, "cell_angles").map_err(fail)?;
        if len.len() != 3 * n_frames || ang.len() != 3 * n_frames {
            return Err(fail("cell_lengths/cell_angles are not frames x 3".into()));
        }
        let mut b = Vec::with_capacity(n_frames);
        for f in 0..n_frames {
            if ang[3 * f..3 * f + 3]
                .iter()
                .any(|a| (a - 90.0).abs() > 1e-3)
            {
                return Err(fail(format!(
                    "frame {f}: cell_angles {:?} are not orthorhombic",
                    &ang[3 * f..3 * f + 3]
                )));
            }
            b.push([0, 1, 2].map(|k| (len[3 * f + k] * 0.1) as f32));
        }
        Some(b)
    } else {
        None
    };
    Frames::new(n_atoms, xyz, boxes)
}

/// Values of `var` as f64, times its `scale_factor` attribute when present.
fn read_f64(
    vars: &std::collections::HashMap<String, netcdf3::DataVector>,
    ds: &netcdf3::DataSet,
    var: &str,
) -> std::result::Result<Vec<f64>, String> {
    let data = vars
        .get(var)
        .ok_or_else(|| format!("no variable '{var}'"))?;
    let mut v: Vec<f64> = match (data.get_f32(), data.get_f64()) {
        (Some(x), _) => x.iter().map(|&a| a as f64).collect(),
        (_, Some(x)) => x.to_vec(),
        _ => return Err(format!("variable '{var}' is neither float nor double")),
    };
    let scale = ds
        .get_var_attr_f32(var, "scale_factor")
        .map(|s| s.first().map(|&a| a as f64))
        .or_else(|| {
            ds.get_var_attr_f64(var, "scale_factor")
                .map(|s| s.first().copied())
        });
    if let Some(Some(s)) = scale {
        v.iter_mut().for_each(|a| *a *= s);
    }
    Ok(v)
}

/// Read a GROMACS XTC trajectory (nm). Boxes must be rectangular.
pub fn read_xtc(path: impl AsRef<Path>) -> Result<Frames> {
    let path = path.as_ref();
    let mut reader = molly::XTCReader::open(path).map_err(|e| Error::io(path, e))?;
    let frames = reader
        .read_all_frames()
        .map_err(|e| Error::format(path, e.to_string()))?;
    let Some(first) = frames.first() else {
        return Err(Error::format(path, "no frames"));
    };
    let n_atoms = first.natoms();
    let mut xyz = Vec::with_capacity(frames.len() * 3 * n_atoms);
    let mut boxes = Vec::with_capacity(frames.len());
    for (f, fr) in frames.iter().enumerate() {
        if fr.natoms() != n_atoms {
            return Err(Error::format(
                path,
                format!("frame {f} has {} atoms, frame 0 has {n_atoms}", fr.natoms()),
            ));
        }
        xyz.extend_from_slice(&fr.positions);
        let m = fr.boxvec_cols_2d();
        boxes.push([m[0][0], m[1][1], m[2][2]]);
    }
    crate::error::check_finite("coordinates", &xyz, 3)?;
    Frames::new(n_atoms, xyz, Some(boxes))
}
