//! The C ABI's error contract: status codes plus a thread-local message for
//! NULL pointers, short buffers, bad shapes, NaN input, missing and corrupt files.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;

use steermd::capi::steermd_status::*;
use steermd::capi::*;

fn last_error() -> String {
    // SAFETY: steermd_last_error_message never returns NULL and the string lives until the next call.
    unsafe { CStr::from_ptr(steermd_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn data(name: &str) -> CString {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    CString::new(p.to_str().unwrap()).unwrap()
}

fn chain(n_frames: usize, n: usize) -> Vec<f32> {
    (0..n_frames * n * 3)
        .map(|i| (i as f32 * 0.731).sin() * 1.2)
        .collect()
}

#[test]
fn version_and_status_strings() {
    // SAFETY: static strings.
    let v = unsafe { CStr::from_ptr(steermd_version()) }
        .to_str()
        .unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    // SAFETY: static strings.
    let s = unsafe { CStr::from_ptr(steermd_status_string(-3)) }
        .to_str()
        .unwrap();
    assert_eq!(s, "STEERMD_ERR_SHAPE");
    let (mut a, mut b, mut c) = (9, 9, 9);
    steermd_version_numbers(&mut a, &mut b, &mut c);
    assert_eq!(format!("{a}.{b}.{c}"), v);
}

#[test]
fn contact_maps_errors() {
    let xyz = chain(2, 5);
    let mut maps = vec![0u8; 2 * 25];
    // SAFETY (all calls below): pointers are valid for the lengths passed, or NULL on purpose.
    unsafe {
        let st = steermd_contact_maps(ptr::null(), 2, 5, ptr::null(), 0.8, maps.as_mut_ptr(), 50);
        assert_eq!(st, STEERMD_ERR_NULL_POINTER);
        assert!(last_error().contains("'xyz'"), "{}", last_error());

        let st = steermd_contact_maps(xyz.as_ptr(), 2, 5, ptr::null(), 0.8, maps.as_mut_ptr(), 49);
        assert_eq!(st, STEERMD_ERR_SHAPE);
        assert!(last_error().contains("49"), "{}", last_error());

        let st = steermd_contact_maps(
            xyz.as_ptr(),
            2,
            5,
            ptr::null(),
            f32::NAN,
            maps.as_mut_ptr(),
            50,
        );
        assert_eq!(st, STEERMD_ERR_INVALID_ARGUMENT, "{}", last_error());

        let mut bad = xyz.clone();
        bad[3 * 5 + 3 * 2 + 1] = f32::INFINITY; // frame 1, atom 2, y
        let st = steermd_contact_maps(bad.as_ptr(), 2, 5, ptr::null(), 0.8, maps.as_mut_ptr(), 50);
        assert_eq!(st, STEERMD_ERR_NON_FINITE);
        assert!(last_error().contains("atom 2"), "{}", last_error());

        let st = steermd_contact_maps(xyz.as_ptr(), 0, 5, ptr::null(), 0.8, maps.as_mut_ptr(), 50);
        assert_eq!(st, STEERMD_ERR_INVALID_ARGUMENT);

        // success clears the message
        let st = steermd_contact_maps(xyz.as_ptr(), 2, 5, ptr::null(), 0.8, maps.as_mut_ptr(), 50);
        assert_eq!(st, STEERMD_OK);
        assert_eq!(last_error(), "");
        assert_eq!(maps[0], 1, "diagonal is set");
    }
}

#[test]
fn files_and_handles() {
    let mut top: *mut steermd_topology = ptr::null_mut();
    let missing = CString::new("/nonexistent/steermd/x.pdb").unwrap();
    // SAFETY (all calls below): pointers valid or NULL on purpose; handles used before being freed.
    unsafe {
        assert_eq!(
            steermd_topology_read_pdb(missing.as_ptr(), &mut top),
            STEERMD_ERR_IO
        );
        assert!(last_error().contains("/nonexistent/steermd/x.pdb"));
        assert!(top.is_null());
        assert_eq!(
            steermd_topology_read_pdb(ptr::null(), &mut top),
            STEERMD_ERR_NULL_POINTER
        );
        assert_eq!(
            steermd_topology_read_pdb(data("villin.pdb").as_ptr(), ptr::null_mut()),
            STEERMD_ERR_NULL_POINTER
        );

        assert_eq!(
            steermd_topology_read_pdb(data("villin.pdb").as_ptr(), &mut top),
            STEERMD_OK
        );
        let mut n = 0usize;
        let ca = CString::new("CA").unwrap();
        assert_eq!(
            steermd_topology_select(top, ca.as_ptr(), ptr::null_mut(), 0, &mut n),
            STEERMD_OK
        );
        assert_eq!(n, 35);
        let mut idx = vec![0usize; 10];
        assert_eq!(
            steermd_topology_select(top, ca.as_ptr(), idx.as_mut_ptr(), 10, &mut n),
            STEERMD_ERR_SHAPE
        );
        let bogus = CString::new("ZZ9").unwrap();
        assert_eq!(
            steermd_topology_select(top, bogus.as_ptr(), ptr::null_mut(), 0, &mut n),
            STEERMD_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("ZZ9"), "{}", last_error());
        steermd_topology_free(top);
        steermd_topology_free(ptr::null_mut());

        // a corrupt DCD: the PDB's bytes are not a trajectory
        let mut traj: *mut steermd_trajectory = ptr::null_mut();
        assert_eq!(
            steermd_trajectory_read_dcd(data("villin.pdb").as_ptr(), &mut traj),
            STEERMD_ERR_FORMAT
        );
        assert!(traj.is_null());
        assert_eq!(
            steermd_trajectory_read_dcd(data("villin.dcd").as_ptr(), &mut traj),
            STEERMD_OK
        );
        let (mut nf, mut na) = (0, 0);
        assert_eq!(steermd_trajectory_shape(traj, &mut nf, &mut na), STEERMD_OK);
        assert_eq!((nf, na), (250, 582));
        let sel = [0usize, 600];
        let mut xyz = vec![0f32; nf * 2 * 3];
        assert_eq!(
            steermd_trajectory_gather(traj, sel.as_ptr(), 2, xyz.as_mut_ptr(), xyz.len()),
            STEERMD_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("600"), "{}", last_error());
        steermd_trajectory_free(traj);
    }
}

#[test]
fn encoder_and_outlier_errors() {
    let mut enc: *mut steermd_encoder = ptr::null_mut();
    // SAFETY (all calls below): pointers valid or NULL on purpose; handles used before being freed.
    unsafe {
        let not_a_model = data("outliers");
        assert_eq!(
            steermd_encoder_load(not_a_model.as_ptr(), &mut enc),
            STEERMD_ERR_IO
        );
        assert!(enc.is_null());
        assert_eq!(
            steermd_encoder_load(data("cvae_a").as_ptr(), &mut enc),
            STEERMD_OK
        );
        let (mut size, mut latent) = (0, 0);
        assert_eq!(
            steermd_encoder_shape(enc, &mut size, &mut latent),
            STEERMD_OK
        );
        assert_eq!((size, latent), (35 * 35, 10));
        let x = vec![0f32; 2 * size];
        let mut z = vec![0f32; 2 * latent];
        assert_eq!(
            steermd_encoder_embed(enc, x.as_ptr(), 3, x.len(), z.as_mut_ptr(), z.len()),
            STEERMD_ERR_SHAPE
        );
        assert_eq!(
            steermd_encoder_embed(enc, x.as_ptr(), 2, x.len(), z.as_mut_ptr(), 3),
            STEERMD_ERR_SHAPE
        );
        assert_eq!(
            steermd_encoder_embed(ptr::null(), x.as_ptr(), 2, x.len(), z.as_mut_ptr(), z.len()),
            STEERMD_ERR_NULL_POINTER
        );
        let mut nan = x.clone();
        nan[5] = f32::NAN;
        assert_eq!(
            steermd_encoder_embed(enc, nan.as_ptr(), 2, x.len(), z.as_mut_ptr(), z.len()),
            STEERMD_ERR_NON_FINITE
        );
        assert_eq!(
            steermd_encoder_embed(enc, x.as_ptr(), 2, x.len(), z.as_mut_ptr(), z.len()),
            STEERMD_OK
        );
        steermd_encoder_free(enc);

        let pts = chain(30, 4); // 90 points of dimension 4
        let mut scores = vec![0f64; 90];
        assert_eq!(
            steermd_lof(pts.as_ptr(), 90, 4, 0, scores.as_mut_ptr(), 90),
            STEERMD_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            steermd_lof(pts.as_ptr(), 90, 4, 20, scores.as_mut_ptr(), 89),
            STEERMD_ERR_SHAPE
        );
        assert_eq!(
            steermd_lof(pts.as_ptr(), 90, 4, 20, scores.as_mut_ptr(), 90),
            STEERMD_OK
        );
        let mut idx = [0i64; 3];
        let mut written = 0usize;
        assert_eq!(
            steermd_top_outliers(scores.as_ptr(), 90, 5, idx.as_mut_ptr(), 3, &mut written),
            STEERMD_ERR_SHAPE
        );
        assert_eq!(
            steermd_top_outliers(scores.as_ptr(), 90, 3, idx.as_mut_ptr(), 3, &mut written),
            STEERMD_OK
        );
        assert_eq!(written, 3);
        let mut labels = vec![0i64; 90];
        let mut nc = 0usize;
        assert_eq!(
            steermd_dbscan(
                pts.as_ptr(),
                90,
                4,
                -1.0,
                5,
                labels.as_mut_ptr(),
                90,
                &mut nc
            ),
            STEERMD_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            steermd_dbscan(
                pts.as_ptr(),
                90,
                4,
                0.5,
                5,
                labels.as_mut_ptr(),
                90,
                ptr::null_mut()
            ),
            STEERMD_OK
        );
    }
}

#[test]
fn errors_are_per_thread() {
    // SAFETY: NULL on purpose.
    let st =
        unsafe { steermd_contact_maps(ptr::null(), 1, 1, ptr::null(), 0.8, ptr::null_mut(), 0) };
    assert_eq!(st, STEERMD_ERR_NULL_POINTER);
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "", "another thread must not see this thread's error");
    assert!(!last_error().is_empty());
}

#[test]
fn dcd_header_disagreement_is_a_queryable_warning() {
    // tests/data/dcd_interop/openmm_nset9.dcd: OpenMM's DCD with the header
    // frame count altered to 9; the file holds 4 frames (tools/make_dcd_interop.py).
    steermd_clear_warnings();
    assert_eq!(steermd_warning_count(), 0);
    let mut traj: *mut steermd_trajectory = ptr::null_mut();
    // SAFETY: valid C strings and out-pointers; the handle is freed below.
    unsafe {
        assert_eq!(
            steermd_trajectory_read_dcd(data("dcd_interop/openmm_nset9.dcd").as_ptr(), &mut traj),
            STEERMD_OK
        );
        let (mut nf, mut na) = (0, 0);
        assert_eq!(steermd_trajectory_shape(traj, &mut nf, &mut na), STEERMD_OK);
        assert_eq!((nf, na), (4, 7));
        steermd_trajectory_free(traj);
    }
    assert_eq!(steermd_warning_count(), 1);
    // SAFETY: never NULL, valid until the next steermd_warning_message call.
    let message = unsafe { CStr::from_ptr(steermd_warning_message(0)) }
        .to_string_lossy()
        .into_owned();
    assert!(
        message.contains("declares 9 frames") && message.contains("holds 4"),
        "{message}"
    );
    // SAFETY: as above.
    let past_end = unsafe { CStr::from_ptr(steermd_warning_message(1)) };
    assert!(past_end.to_bytes().is_empty());
    steermd_clear_warnings();
    assert_eq!(steermd_warning_count(), 0);
}

/// `steermd_trajectory_read` gives the frames MDAnalysis reads from the
/// Amber NetCDF and XTC files of tests/data/traj_formats (references written
/// by tools/make_traj_formats.py), within the tolerance tests/traj_formats.rs uses.
#[test]
fn trajectory_read_matches_mdanalysis_for_netcdf_and_xtc() {
    for (file, reference) in [
        ("villin5.nc", "villin5_nc.xyz_nm.npy"),
        ("villin5.xtc", "villin5_xtc.xyz_nm.npy"),
    ] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/traj_formats");
        let (shape, want) = steermd::io::read_npy::<f32>(dir.join(reference)).unwrap();
        assert_eq!(shape.len(), 3, "{reference}");
        let mut traj: *mut steermd_trajectory = ptr::null_mut();
        // SAFETY: valid C strings, out-pointers and buffers of the lengths
        // passed; the handle is freed below.
        unsafe {
            let path = data(&format!("traj_formats/{file}"));
            assert_eq!(
                steermd_trajectory_read(path.as_ptr(), &mut traj),
                STEERMD_OK,
                "{file}: {}",
                last_error()
            );
            assert!(!traj.is_null());
            let (mut nf, mut na) = (0, 0);
            assert_eq!(steermd_trajectory_shape(traj, &mut nf, &mut na), STEERMD_OK);
            assert_eq!((nf, na), (shape[0], shape[1]), "{file}");
            let all: Vec<usize> = (0..na).collect();
            let mut xyz = vec![0f32; nf * na * 3];
            assert_eq!(
                steermd_trajectory_gather(traj, all.as_ptr(), na, xyz.as_mut_ptr(), xyz.len()),
                STEERMD_OK
            );
            let d = xyz
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(d <= 1e-6, "{file}: coordinates differ by {d} nm");
            steermd_trajectory_free(traj);
        }
    }
    // Errors: a missing file, and content that is no trajectory (the PDB).
    let mut traj: *mut steermd_trajectory = ptr::null_mut();
    // SAFETY: valid C strings and out-pointers.
    unsafe {
        assert_eq!(
            steermd_trajectory_read(data("traj_formats/missing.nc").as_ptr(), &mut traj),
            STEERMD_ERR_IO
        );
        assert!(traj.is_null());
        assert!(last_error().contains("missing.nc"), "{}", last_error());
        assert_eq!(
            steermd_trajectory_read(data("villin.pdb").as_ptr(), &mut traj),
            STEERMD_ERR_FORMAT
        );
        assert!(traj.is_null());
        assert!(last_error().contains("villin.pdb"), "{}", last_error());
    }
}
