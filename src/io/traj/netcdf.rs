//! Amber NetCDF trajectories (`Conventions` AMBER, a `frame` record
//! dimension) and restarts (`Conventions` AMBERRESTART, no frame dimension),
//! NetCDF-3 classic or 64-bit offset.
//!
//! Coordinates and cell lengths are Å in the file, velocities Å/ps once
//! multiplied by their `scale_factor` (Amber writes 20.455, its internal
//! time unit); everything returned is nm and nm/ps.

use std::path::Path;

use netcdf3::{DataSet, DataVector, FileReader};

use super::Trajectory;
use crate::error::{Error, Result};
use crate::frames::Frames;

/// `scale_factor` Amber gives velocities (stored value × 20.455 = Å/ps), a
/// single-precision attribute as pmemd and MDAnalysis write it.
pub(super) const VELOCITY_SCALE: f32 = 20.455;

/// A value read from the file (Å or Å/ps, already multiplied by its
/// `scale_factor`) in nm or nm/ps; the writer inverts exactly this.
pub(super) fn nm_from_file(v: f64) -> f32 {
    (v * 0.1) as f32
}

/// Read an Amber NetCDF trajectory or restart: coordinates (nm) and
/// orthorhombic boxes (nm). See [`read_netcdf_with_velocities`].
pub fn read_netcdf(path: impl AsRef<Path>) -> Result<Frames> {
    read_netcdf_with_velocities(path).map(|t| t.frames)
}

/// Read an Amber NetCDF trajectory or restart with its velocities (nm/ps)
/// when it has a `velocities` variable.
///
/// Errors name the file and, for a file that ends inside a frame, the frame.
pub fn read_netcdf_with_velocities(path: impl AsRef<Path>) -> Result<Trajectory> {
    let path = path.as_ref();
    let fail = |m: String| Error::format(path, m);
    let file_size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    super::netcdf_header::check_header(path, file_size)
        .map_err(|e| fail(format!("not a readable NetCDF-3 header: {e}")))?;
    let mut reader = FileReader::open(path).map_err(|e| fail(format!("not NetCDF-3: {e:?}")))?;
    let l = layout(reader.data_set(), file_size).map_err(&fail)?;
    let Layout {
        n_atoms,
        n_frames,
        has_vel,
        has_cell,
        ..
    } = l;
    // Reserve no more than the file can hold (a header may claim any count).
    let cap = (3 * n_atoms * n_frames).min(file_size as usize / 4);
    let mut xyz = Vec::with_capacity(cap);
    let mut vel = Vec::with_capacity(if has_vel { cap } else { 0 });
    let mut boxes = Vec::new();
    let mut times = Vec::new();
    for f in 0..n_frames {
        let mut get = |var: &str| {
            read_frame_var(&mut reader, &l, var, f).map_err(|e| {
                fail(format!(
                    "frame {f} of {n_frames}: variable '{var}': {e} (file size {file_size} bytes; truncated?)"
                ))
            })
        };
        xyz.extend(get("coordinates")?.iter().map(|&v| nm_from_file(v)));
        if has_vel {
            vel.extend(get("velocities")?.iter().map(|&v| nm_from_file(v)));
        }
        if l.has_time {
            times.push(get("time")?.first().copied().unwrap_or(f64::NAN));
        }
        if has_cell {
            let len = get("cell_lengths")?;
            let ang = get("cell_angles")?;
            if ang.iter().any(|a| (a - 90.0).abs() > 1e-3) {
                return Err(fail(format!(
                    "frame {f}: cell_angles {ang:?} are not orthorhombic"
                )));
            }
            boxes.push([0, 1, 2].map(|k| (len[k] * 0.1) as f32));
        }
    }
    let name = |what: &str| format!("{}: {what}", path.display());
    crate::error::check_finite(&name("coordinates"), &xyz, 3)?;
    crate::error::check_finite(&name("velocities"), &vel, 3)?;
    let boxes = has_cell.then_some(boxes);
    if let Some(b) = &boxes {
        let flat: Vec<f32> = b.iter().flatten().copied().collect();
        crate::error::check_finite(&name("cell_lengths"), &flat, 3)?;
    }
    Ok(Trajectory {
        frames: Frames::new(n_atoms, xyz, boxes)?,
        velocities: has_vel.then_some(vel),
        times_ps: l.has_time.then_some(times),
    })
}

/// What [`read_netcdf_with_velocities`] reads, from the header.
struct Layout {
    n_atoms: usize,
    n_frames: usize,
    has_vel: bool,
    has_cell: bool,
    has_time: bool,
    /// `scale_factor` of each variable read, when it has one.
    scales: Vec<(&'static str, f64)>,
}

fn layout(ds: &DataSet, file_size: u64) -> std::result::Result<Layout, String> {
    let restart = check_conventions(ds)?;
    let n_atoms = ds
        .dim_size("atom")
        .filter(|&n| n > 0)
        .ok_or("no 'atom' dimension of positive size")?;
    let per_frame = if restart {
        vec!["atom", "spatial"]
    } else {
        vec!["frame", "atom", "spatial"]
    };
    check_dims(ds, "coordinates", &per_frame, 3 * n_atoms, file_size)?;
    let n_frames = if restart {
        1
    } else {
        ds.num_records().unwrap_or(0)
    };
    if n_frames == 0 {
        return Err("no frames".into());
    }
    let has_vel = ds.get_var("velocities").is_some();
    if has_vel {
        check_dims(ds, "velocities", &per_frame, 3 * n_atoms, file_size)?;
    }
    let has_cell = ds.get_var("cell_lengths").is_some();
    if has_cell {
        let (l, a) = if restart {
            (vec!["cell_spatial"], vec!["cell_angular"])
        } else {
            (vec!["frame", "cell_spatial"], vec!["frame", "cell_angular"])
        };
        check_dims(ds, "cell_lengths", &l, 3, file_size)?;
        check_dims(ds, "cell_angles", &a, 3, file_size)?;
    }
    let has_time = ds.get_var("time").is_some();
    if has_time {
        let t: Vec<&str> = if restart { vec![] } else { vec!["frame"] };
        check_dims(ds, "time", &t, 1, file_size)?;
    }
    let scales = [
        "time",
        "coordinates",
        "velocities",
        "cell_lengths",
        "cell_angles",
    ]
    .into_iter()
    .filter_map(|var| {
        ds.get_var_attr_f32(var, "scale_factor")
            .and_then(|s| s.first().map(|&a| f64::from(a)))
            .or_else(|| {
                ds.get_var_attr_f64(var, "scale_factor")
                    .and_then(|s| s.first().copied())
            })
            .map(|s| (var, s))
    })
    .collect();
    Ok(Layout {
        n_atoms,
        n_frames,
        has_vel,
        has_cell,
        has_time,
        scales,
    })
}

/// Check the global `Conventions` attribute; true for a restart.
fn check_conventions(ds: &DataSet) -> std::result::Result<bool, String> {
    let conv = ds.get_global_attr_as_string("Conventions").ok_or(
        "no global 'Conventions' attribute (an Amber NetCDF file has AMBER or AMBERRESTART)",
    )?;
    let words: Vec<&str> = conv
        .split([',', ' '])
        .map(|w| w.trim_end_matches('\0'))
        .collect();
    let has_frame = ds.dim_size("frame").is_some();
    if words.contains(&"AMBER") {
        if !has_frame {
            return Err("Conventions AMBER (a trajectory) but no 'frame' dimension".into());
        }
        Ok(false)
    } else if words.contains(&"AMBERRESTART") {
        if has_frame {
            return Err("Conventions AMBERRESTART (a restart) but a 'frame' dimension".into());
        }
        Ok(true)
    } else {
        Err(format!(
            "Conventions '{conv}' is neither AMBER (trajectory) nor AMBERRESTART (restart)"
        ))
    }
}

/// Check that `var` has dimensions `dims` with `per_frame` values per frame
/// (the non-`frame` dimensions), fitting in the file.
fn check_dims(
    ds: &DataSet,
    var: &str,
    dims: &[&str],
    per_frame: usize,
    file_size: u64,
) -> std::result::Result<(), String> {
    let v = ds
        .get_var(var)
        .ok_or_else(|| format!("no variable '{var}'"))?;
    let got = v.dim_names();
    if got != dims {
        return Err(format!(
            "variable '{var}' has dimensions {got:?}, not {dims:?}"
        ));
    }
    let chunk = v.chunk_len();
    if chunk != per_frame {
        return Err(format!(
            "variable '{var}' holds {chunk} values per frame, expected {per_frame}"
        ));
    }
    if (chunk as u64).saturating_mul(4) > file_size {
        return Err(format!(
            "variable '{var}' declares {chunk} values per frame, more than the file holds"
        ));
    }
    Ok(())
}

/// Frame `f` of `var` (record `f`, or the whole variable for a fixed one)
/// as f64, times its `scale_factor` attribute when present.
fn read_frame_var(
    reader: &mut FileReader,
    l: &Layout,
    var: &str,
    f: usize,
) -> std::result::Result<Vec<f64>, String> {
    let data = reader.read_record(var, f).map_err(|e| format!("{e:?}"))?;
    let mut v: Vec<f64> = match data {
        DataVector::F32(x) => x.iter().map(|&a| f64::from(a)).collect(),
        DataVector::F64(x) => x,
        _ => return Err("neither float nor double".into()),
    };
    if let Some(&(_, s)) = l.scales.iter().find(|(n, _)| *n == var) {
        v.iter_mut().for_each(|a| *a *= s);
    }
    Ok(v)
}
