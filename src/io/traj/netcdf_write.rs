//! Writing Amber NetCDF trajectories (`Conventions` AMBER 1.0, NetCDF-3
//! 64-bit offset), the layout of AmberTools and MDAnalysis' `NCDFWriter`:
//! dimensions `frame` (unlimited), `spatial`, `atom`, `cell_spatial`,
//! `cell_angular`, `label`; variables `spatial`, `time` (ps, float, when
//! times are given),
//! `coordinates` (Å, float), `cell_spatial`/`cell_angular` labels with
//! `cell_lengths` (Å, double) and `cell_angles` (degrees, double) when the
//! frames have boxes, and `velocities` (float, float `scale_factor` 20.455, Amber's
//! internal unit of velocity: the stored value times 20.455 is Å/ps) when
//! given.

use std::path::Path;

use netcdf3::{DataSet, FileWriter, Version};

use super::netcdf::{nm_from_file, VELOCITY_SCALE};
use crate::error::{check_finite, Error, Result};
use crate::frames::Frames;

/// Write `frames` (coordinates and boxes, nm) as an Amber NetCDF trajectory
/// at `path`, with optional `velocities` (nm/ps, laid out like
/// `frames.xyz`) and `times_ps` (one per frame).
///
/// Coordinates are stored as single-precision Å. For each value steermd
/// stores, among the floats nearest to 10 × x, one that
/// [`read_netcdf`](super::read_netcdf) reads back as exactly x when there is
/// one, so that frames written and read again are bit-for-bit the frames
/// written wherever single precision in Å allows (and otherwise the nearest
/// float). Velocities likewise, through their `scale_factor`. Cell lengths
/// are doubles (exact); times are single precision, as Amber writes them.
/// Without `times_ps` no `time` variable is written (MDAnalysis and
/// steermd read such files, without times) rather than made-up times.
pub fn write_netcdf(
    path: impl AsRef<Path>,
    frames: &Frames,
    velocities: Option<&[f32]>,
    times_ps: Option<&[f64]>,
) -> Result<()> {
    let path = path.as_ref();
    let n_frames = frames.n_frames();
    let n_atoms = frames.n_atoms;
    if n_frames == 0 {
        return Err(Error::InvalidArgument(format!(
            "{}: no frames to write",
            path.display()
        )));
    }
    if let Some(v) = velocities {
        if v.len() != frames.xyz.len() {
            return Err(Error::Shape(format!(
                "{}: {} velocity values for {} coordinates",
                path.display(),
                v.len(),
                frames.xyz.len()
            )));
        }
    }
    if let Some(t) = times_ps {
        if t.len() != n_frames {
            return Err(Error::Shape(format!(
                "{}: {} times for {n_frames} frames",
                path.display(),
                t.len()
            )));
        }
        if let Some(bad) = t.iter().find(|t| !t.is_finite()) {
            return Err(Error::NonFinite(format!("{}: time {bad}", path.display())));
        }
    }
    let name = |what: &str| format!("{}: {what}", path.display());
    check_finite(&name("coordinates"), &frames.xyz, 3)?;
    if let Some(v) = velocities {
        check_finite(&name("velocities"), v, 3)?;
    }
    if let Some(b) = &frames.boxes {
        let flat: Vec<f32> = b.iter().flatten().copied().collect();
        check_finite(&name("boxes"), &flat, 3)?;
    }

    let has = Has {
        boxes: frames.boxes.is_some(),
        velocities: velocities.is_some(),
        times: times_ps.is_some(),
    };
    let ds = data_set(n_frames, n_atoms, &has)
        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    let fail = |e: netcdf3::WriteError| match e {
        netcdf3::WriteError::IOErrorKind(kind) => Error::io(path, std::io::Error::from(kind)),
        other => Error::format(path, format!("NetCDF write failed: {other:?}")),
    };
    let mut w = FileWriter::open(path).map_err(fail)?;
    w.set_def(&ds, Version::Offset64Bit, 0).map_err(fail)?;
    w.write_var_u8("spatial", b"xyz").map_err(fail)?;
    if frames.boxes.is_some() {
        w.write_var_u8("cell_spatial", b"abc").map_err(fail)?;
        w.write_var_u8("cell_angular", b"alphabeta gamma")
            .map_err(fail)?;
    }
    let to_coord = |x: f32| encode(x, 10.0, |a| nm_from_file(f64::from(a)));
    // As the reader scales: by the f32 attribute widened to f64.
    let vel_scale = f64::from(VELOCITY_SCALE);
    let to_vel = |x: f32| {
        encode(x, 10.0 / vel_scale, |a| {
            nm_from_file(f64::from(a) * vel_scale)
        })
    };
    for f in 0..n_frames {
        if let Some(t) = times_ps {
            w.write_record_f32("time", f, &[t[f] as f32])
                .map_err(fail)?;
        }
        let xyz: Vec<f32> = frames.frame(f).iter().map(|&x| to_coord(x)).collect();
        w.write_record_f32("coordinates", f, &xyz).map_err(fail)?;
        if let Some(b) = &frames.boxes {
            let len = b[f].map(|l| f64::from(l) * 10.0);
            w.write_record_f64("cell_lengths", f, &len).map_err(fail)?;
            w.write_record_f64("cell_angles", f, &[90.0; 3])
                .map_err(fail)?;
        }
        if let Some(v) = velocities {
            let chunk = &v[f * 3 * n_atoms..(f + 1) * 3 * n_atoms];
            let out: Vec<f32> = chunk.iter().map(|&x| to_vel(x)).collect();
            w.write_record_f32("velocities", f, &out).map_err(fail)?;
        }
    }
    w.close().map_err(fail)
}

/// Which optional variables a file gets.
struct Has {
    boxes: bool,
    velocities: bool,
    times: bool,
}

/// The header: dimensions, variables and attributes.
fn data_set(
    n_frames: usize,
    n_atoms: usize,
    has: &Has,
) -> std::result::Result<DataSet, netcdf3::InvalidDataSet> {
    let mut ds = DataSet::new();
    ds.set_unlimited_dim("frame", n_frames)?;
    ds.add_fixed_dim("spatial", 3)?;
    ds.add_fixed_dim("atom", n_atoms)?;
    ds.add_fixed_dim("cell_spatial", 3)?;
    ds.add_fixed_dim("cell_angular", 3)?;
    ds.add_fixed_dim("label", 5)?;
    ds.add_global_attr_string("title", "steermd trajectory")?;
    ds.add_global_attr_string("application", "steermd")?;
    ds.add_global_attr_string("program", "steermd")?;
    ds.add_global_attr_string("programVersion", env!("CARGO_PKG_VERSION"))?;
    ds.add_global_attr_string("Conventions", "AMBER")?;
    ds.add_global_attr_string("ConventionVersion", "1.0")?;
    ds.add_var_u8("spatial", &["spatial"])?;
    if has.times {
        ds.add_var_f32("time", &["frame"])?;
        ds.add_var_attr_string("time", "units", "picosecond")?;
    }
    ds.add_var_f32("coordinates", &["frame", "atom", "spatial"])?;
    ds.add_var_attr_string("coordinates", "units", "angstrom")?;
    if has.boxes {
        ds.add_var_u8("cell_spatial", &["cell_spatial"])?;
        ds.add_var_u8("cell_angular", &["cell_angular", "label"])?;
        ds.add_var_f64("cell_lengths", &["frame", "cell_spatial"])?;
        ds.add_var_attr_string("cell_lengths", "units", "angstrom")?;
        ds.add_var_f64("cell_angles", &["frame", "cell_angular"])?;
        ds.add_var_attr_string("cell_angles", "units", "degree")?;
    }
    if has.velocities {
        ds.add_var_f32("velocities", &["frame", "atom", "spatial"])?;
        ds.add_var_attr_string("velocities", "units", "angstrom/picosecond")?;
        ds.add_var_attr_f32("velocities", "scale_factor", vec![VELOCITY_SCALE])?;
    }
    Ok(ds)
}

/// The float to store for `x` (nm or nm/ps) given `factor` (file units per
/// API unit) and `decode`, the reader's conversion back: the float nearest
/// `x * factor` if it decodes to `x`, else the nearest of its neighbours
/// (up to 2 ulps away) that does, else the nearest.
fn encode(x: f32, factor: f64, decode: impl Fn(f32) -> f32) -> f32 {
    let nearest = (f64::from(x) * factor) as f32;
    if decode(nearest) == x || !nearest.is_finite() {
        return nearest;
    }
    // Neighbours by magnitude, keeping the sign (|nearest| > 0 here, as 0
    // decodes to 0): one bit more or less is one ulp further or nearer 0.
    let bits = nearest.to_bits();
    for k in 1..=2u32 {
        let up = f32::from_bits(bits + k);
        let down = f32::from_bits((bits & 0x7fff_ffff).saturating_sub(k) | (bits & 0x8000_0000));
        // The neighbour nearer the exact value first.
        let exact = f64::from(x) * factor;
        let (a, b) = if (f64::from(up) - exact).abs() < (f64::from(down) - exact).abs() {
            (up, down)
        } else {
            (down, up)
        };
        for c in [a, b] {
            if c.is_finite() && decode(c) == x {
                return c;
            }
        }
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::encode;
    use crate::io::traj::netcdf::{nm_from_file, VELOCITY_SCALE};

    /// Any value steermd reads from a file (coordinates or velocities) is
    /// written back as a float that reads as the same value, over a sample
    /// of stored floats from 1e-4 to 1e4 of either sign.
    #[test]
    fn values_read_from_a_file_are_written_back_exactly() {
        let s = f64::from(VELOCITY_SCALE);
        let coord = |a: f32| nm_from_file(f64::from(a));
        let vel = |a: f32| nm_from_file(f64::from(a) * s);
        let mut a = 1e-4f32;
        let mut n = 0;
        while a < 1e4 {
            for stored in [a, -a] {
                let x = coord(stored);
                assert_eq!(coord(encode(x, 10.0, coord)), x, "coordinate {stored}");
                let v = vel(stored);
                assert_eq!(vel(encode(v, 10.0 / s, vel)), v, "velocity {stored}");
                n += 1;
            }
            a = f32::from_bits(a.to_bits() + 101);
        }
        assert!(n > 100_000);
    }
}
