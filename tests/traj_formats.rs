//! Amber NetCDF (`.nc`, `.ncrst`) and GROMACS XTC reading against what
//! MDAnalysis reads from the same files (tests/data/traj_formats, written by
//! tools/make_traj_formats.py from tests/data/villin.*), and the errors for
//! truncated, mislabelled and corrupt files.

use std::path::{Path, PathBuf};

use steermd::io::{read_netcdf_with_velocities, read_npy, read_trajectory, read_xtc, write_netcdf};
use steermd::Frames;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/traj_formats")
        .join(name)
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(data("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    read_npy::<f32>(data(name)).unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Compare `frames` with the reference coordinates, frame count and boxes.
fn check_against_reference(file: &str, frames: &Frames, tol_nm: f32) {
    let r = &reference()["files"][file];
    assert_eq!(
        frames.n_frames() as u64,
        r["n_frames"].as_u64().unwrap(),
        "{file}"
    );
    assert_eq!(
        frames.n_atoms as u64,
        r["n_atoms"].as_u64().unwrap(),
        "{file}"
    );
    let stem = file.replace('.', "_");
    let (shape, want) = npy(&format!("{stem}.xyz_nm.npy"));
    assert_eq!(shape, vec![frames.n_frames(), frames.n_atoms, 3], "{file}");
    let d = max_abs_diff(&frames.xyz, &want);
    assert!(d <= tol_nm, "{file}: coordinates differ by {d} nm");
    match (&frames.boxes, r["boxes"].as_array()) {
        (None, None) => {}
        (Some(got), Some(want)) => {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                for k in 0..3 {
                    let w = w[k].as_f64().unwrap() as f32;
                    assert!((g[k] - w).abs() <= 1e-6, "{file}: box {g:?} vs {w}");
                }
            }
        }
        (g, w) => panic!("{file}: boxes {g:?} but reference {w:?}"),
    }
}

fn check_velocities(file: &str, vel: Option<&Vec<f32>>) {
    let stem = file.replace('.', "_");
    let (_, want) = npy(&format!("{stem}.vel_nmps.npy"));
    let got = vel.unwrap_or_else(|| panic!("{file}: no velocities read"));
    let d = max_abs_diff(got, &want);
    assert!(d <= 1e-6, "{file}: velocities differ by {d} nm/ps");
}

fn check_times(file: &str, got: Option<&Vec<f64>>) {
    let want: Vec<f64> = reference()["files"][file]["times_ps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let got = got.unwrap_or_else(|| panic!("{file}: no times read"));
    assert_eq!(got.len(), want.len(), "{file}");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() <= 1e-4 * w.abs().max(1.0),
            "{file}: time {g} vs {w} ps"
        );
    }
}

#[test]
fn netcdf_trajectory_matches_mdanalysis() {
    let t = read_netcdf_with_velocities(data("villin5.nc")).unwrap();
    check_against_reference("villin5.nc", &t.frames, 1e-6);
    check_velocities("villin5.nc", t.velocities.as_ref());
    check_times("villin5.nc", t.times_ps.as_ref());
    assert_eq!(read_trajectory(data("villin5.nc")).unwrap(), t.frames);
}

#[test]
fn netcdf_restart_reads_as_one_frame() {
    let t = read_netcdf_with_velocities(data("villin.ncrst")).unwrap();
    check_against_reference("villin.ncrst", &t.frames, 1e-6);
    check_velocities("villin.ncrst", t.velocities.as_ref());
    assert_eq!(read_trajectory(data("villin.ncrst")).unwrap(), t.frames);
    check_times("villin.ncrst", t.times_ps.as_ref());
}

#[test]
fn xtc_matches_mdanalysis() {
    let f = read_xtc(data("villin5.xtc")).unwrap();
    check_against_reference("villin5.xtc", &f, 1e-6);
    assert_eq!(read_trajectory(data("villin5.xtc")).unwrap(), f);
}

#[test]
fn xtc_zero_box_is_no_box() {
    let f = read_xtc(data("villin5_nobox.xtc")).unwrap();
    assert!(f.boxes.is_none());
    check_against_reference("villin5_nobox.xtc", &f, 1e-6);
}

/// Every source frame is within XTC's 1e-3 nm precision of the DCD frame it
/// was written from (a check that frames are not shifted or reordered).
#[test]
fn xtc_is_within_its_precision_of_the_source() {
    let dcd =
        steermd::io::read_dcd(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/villin.dcd"))
            .unwrap();
    let xtc = read_xtc(data("villin5.xtc")).unwrap();
    for (k, f) in [0, 10, 20, 30, 40].into_iter().enumerate() {
        let d = max_abs_diff(xtc.frame(k), dcd.frame(f));
        assert!(d <= 0.5e-3 + 1e-6, "frame {k}: {d} nm from DCD frame {f}");
    }
}

fn copy_cut(dir: &Path, name: &str, keep: usize) -> PathBuf {
    let bytes = std::fs::read(data(name)).unwrap();
    let out = dir.join(name);
    std::fs::write(&out, &bytes[..keep]).unwrap();
    out
}

#[test]
fn truncated_xtc_is_an_error_naming_file_and_frame() {
    let dir = tempfile::tempdir().unwrap();
    let len = std::fs::metadata(data("villin5.xtc")).unwrap().len() as usize;
    // Inside the last frame, inside a header, and one byte short.
    for keep in [len - 1, len - 500, len * 4 / 5 + 7] {
        let p = copy_cut(dir.path(), "villin5.xtc", keep);
        let e = read_xtc(&p).unwrap_err().to_string();
        assert!(e.contains("villin5.xtc"), "{e}");
        assert!(e.contains("frame "), "{e}");
        assert!(e.contains("truncated"), "{e}");
    }
    let p = copy_cut(dir.path(), "villin5.xtc", len - 1);
    let e = read_xtc(&p).unwrap_err().to_string();
    assert!(e.contains("frame 4 "), "{e}");
}

#[test]
fn truncated_netcdf_is_an_error_naming_file_and_frame() {
    let dir = tempfile::tempdir().unwrap();
    let len = std::fs::metadata(data("villin5.nc")).unwrap().len() as usize;
    let p = copy_cut(dir.path(), "villin5.nc", len - 100);
    let e = read_trajectory(&p).unwrap_err().to_string();
    assert!(e.contains("villin5.nc"), "{e}");
    assert!(e.contains("frame 4 of 5"), "{e}");
    let p = copy_cut(dir.path(), "villin5.nc", 40);
    let e = read_trajectory(&p).unwrap_err().to_string();
    assert!(e.contains("villin5.nc"), "{e}");
    let len = std::fs::metadata(data("villin.ncrst")).unwrap().len() as usize;
    let p = copy_cut(dir.path(), "villin.ncrst", len - 8);
    let e = read_trajectory(&p).unwrap_err().to_string();
    assert!(e.contains("villin.ncrst") && e.contains("frame 0"), "{e}");
}

/// A copy of `name` with its one occurrence of `from` replaced by `to`
/// (same length, so the NetCDF header stays consistent).
fn patched(dir: &Path, name: &str, from: &[u8], to: &[u8]) -> PathBuf {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(data(name)).unwrap();
    let hits: Vec<usize> = (0..bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "{name}: {hits:?}");
    bytes[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    let out = dir.join(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn netcdf_conventions_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = patched(dir.path(), "villin5.nc", b"AMBER\0", b"CHARM\0");
    let e = read_trajectory(&p).unwrap_err().to_string();
    assert!(
        e.contains("villin5.nc") && e.contains("Conventions 'CHARM'"),
        "{e}"
    );
    // A restart's convention on a file with a frame dimension.
    let p = patched(
        dir.path(),
        "villin.ncrst",
        b"AMBERRESTART",
        b"AMBER\0\0\0\0\0\0\0",
    );
    let e = read_trajectory(&p).unwrap_err().to_string();
    assert!(
        e.contains("villin.ncrst") && e.contains("no 'frame' dimension"),
        "{e}"
    );
}

#[test]
fn corrupt_xtc_headers_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("villin5.xtc")).unwrap();
    // Magic, atom count, the repeated atom count, precision, smallidx,
    // compressed length of frame 0.
    for (at, val) in [
        (0, 7u32),
        (4, 0),
        (52, 3),
        (56, 0),
        (84, 99),
        (88, u32::MAX),
    ] {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&val.to_be_bytes());
        let p = dir.path().join("bad.xtc");
        std::fs::write(&p, &b).unwrap();
        let e = read_xtc(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.xtc") && e.contains("frame 0"),
            "byte {at}: {e}"
        );
    }
}

#[test]
fn other_names_are_read_by_content() {
    let dir = tempfile::tempdir().unwrap();
    for (file, dcd) in [
        ("villin5.nc", None),
        ("villin5.xtc", None),
        ("villin.dcd", Some(data("../villin.dcd"))),
    ] {
        let source = dcd.unwrap_or_else(|| data(file));
        let renamed = dir.path().join(format!("{file}.traj"));
        std::fs::copy(&source, &renamed).unwrap();
        let got = read_trajectory(&renamed).unwrap();
        assert_eq!(got, read_trajectory(&source).unwrap(), "{file}");
    }
}

#[test]
fn unrecognised_content_is_refused_naming_the_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.trr");
    std::fs::write(&path, b"not a trajectory").unwrap();
    let e = read_trajectory(&path).unwrap_err().to_string();
    assert!(
        e.contains("x.trr") && e.contains(".xtc") && e.contains(".ncrst"),
        "{e}"
    );
}

/// villin5.nc read, written by steermd and read again gives the same
/// frames, boxes, velocities and times, bit for bit.
#[test]
fn netcdf_write_round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let t = read_netcdf_with_velocities(data("villin5.nc")).unwrap();
    let out = dir.path().join("copy.nc");
    write_netcdf(
        &out,
        &t.frames,
        t.velocities.as_deref(),
        t.times_ps.as_deref(),
    )
    .unwrap();
    let back = read_netcdf_with_velocities(&out).unwrap();
    assert_eq!(back.frames.n_atoms, t.frames.n_atoms);
    let differing = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .filter(|(x, y)| x.to_bits() != y.to_bits())
            .count()
    };
    assert_eq!(differing(&back.frames.xyz, &t.frames.xyz), 0);
    assert_eq!(back.frames.boxes, t.frames.boxes);
    let (bv, tv) = (back.velocities.unwrap(), t.velocities.unwrap());
    assert_eq!(differing(&bv, &tv), 0);
    assert_eq!(back.times_ps, t.times_ps);
    assert_eq!(read_trajectory(&out).unwrap(), t.frames);

    // Without velocities and times: neither variable, and no box variables
    // for frames without boxes.
    let nobox = steermd::Frames::new(t.frames.n_atoms, t.frames.xyz.clone(), None).unwrap();
    let plain = dir.path().join("plain.nc");
    write_netcdf(&plain, &nobox, None, None).unwrap();
    let back = read_netcdf_with_velocities(&plain).unwrap();
    assert_eq!(back.frames, nobox);
    assert!(back.velocities.is_none() && back.times_ps.is_none());
}

/// The DCD frames MDAnalysis wrote to villin5.nc (tools/make_traj_formats.py:
/// frames 0, 10, 20, 30, 40 of villin.dcd, a 4 nm box, the reference's
/// velocities and times), written by steermd, read back as MDAnalysis read
/// its own file (the committed references), and the header is Amber's.
#[test]
fn netcdf_written_by_steermd_matches_mdanalysis_reference() {
    let dcd =
        steermd::io::read_dcd(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/villin.dcd"))
            .unwrap();
    let picked: Vec<usize> = vec![0, 10, 20, 30, 40];
    let xyz: Vec<f32> = picked.iter().flat_map(|&f| dcd.frame(f).to_vec()).collect();
    let r = &reference()["files"]["villin5.nc"];
    let boxes: Vec<[f32; 3]> = r["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| [0, 1, 2].map(|k| b[k].as_f64().unwrap() as f32))
        .collect();
    let times: Vec<f64> = r["times_ps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let (_, vel) = npy("villin5_nc.vel_nmps.npy");
    let frames = Frames::new(dcd.n_atoms, xyz, Some(boxes)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("villin5_steermd.nc");
    write_netcdf(&out, &frames, Some(&vel), Some(&times)).unwrap();
    // For tools/check_netcdf_writer.py, which opens the file with MDAnalysis.
    if let Some(keep) = std::env::var_os("STEERMD_KEEP_NETCDF") {
        std::fs::copy(&out, keep).unwrap();
    }

    let t = read_netcdf_with_velocities(&out).unwrap();
    check_against_reference("villin5.nc", &t.frames, 1e-6);
    check_velocities("villin5.nc", t.velocities.as_ref());
    check_times("villin5.nc", t.times_ps.as_ref());

    let mut reader = netcdf3::FileReader::open(&out).unwrap();
    assert_eq!(reader.version(), netcdf3::Version::Offset64Bit);
    let ds = reader.data_set();
    for (attr, want) in [
        ("Conventions", "AMBER"),
        ("ConventionVersion", "1.0"),
        ("program", "steermd"),
    ] {
        assert_eq!(ds.get_global_attr_as_string(attr).as_deref(), Some(want));
    }
    assert!(ds.get_unlimited_dim().is_some_and(|d| d.name() == "frame"));
    for (dim, n) in [
        ("spatial", 3),
        ("atom", dcd.n_atoms),
        ("cell_spatial", 3),
        ("cell_angular", 3),
        ("label", 5),
    ] {
        assert_eq!(ds.dim_size(dim), Some(n), "{dim}");
    }
    for (var, units) in [
        ("time", "picosecond"),
        ("coordinates", "angstrom"),
        ("cell_lengths", "angstrom"),
        ("cell_angles", "degree"),
        ("velocities", "angstrom/picosecond"),
    ] {
        assert_eq!(
            ds.get_var_attr_as_string(var, "units").as_deref(),
            Some(units),
            "{var}"
        );
    }
    // The scale factor MDAnalysis (like Amber) gives velocities.
    let mda = netcdf3::FileReader::open(data("villin5.nc")).unwrap();
    assert_eq!(
        ds.get_var_attr_f32("velocities", "scale_factor"),
        mda.data_set()
            .get_var_attr_f32("velocities", "scale_factor")
    );
    let labels = reader.read_var("cell_angular").unwrap();
    assert_eq!(labels.get_u8().unwrap(), b"alphabeta gamma");
}

#[test]
fn netcdf_write_refuses_mismatched_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let t = read_netcdf_with_velocities(data("villin5.nc")).unwrap();
    let out = dir.path().join("bad.nc");
    let short = &t.velocities.as_ref().unwrap()[..9];
    let e = write_netcdf(&out, &t.frames, Some(short), None).unwrap_err();
    assert!(matches!(e, steermd::Error::Shape(_)), "{e}");
    let e = write_netcdf(&out, &t.frames, None, Some(&[1.0])).unwrap_err();
    assert!(matches!(e, steermd::Error::Shape(_)), "{e}");
    let e = write_netcdf(dir.path().join("no/such/dir.nc"), &t.frames, None, None).unwrap_err();
    assert!(matches!(e, steermd::Error::Io { .. }), "{e}");
}
