//! The steering C ABI against the Rust `Steering` it wraps: the same frames
//! handed over through both give the same restarts (frame, source, step,
//! RMSD, velocity choice, positions and velocities), and the MPI entry point
//! of a build without MPI says so.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;

use steermd::capi::steermd_status::*;
use steermd::capi::*;
use steermd::drive::{SingleProcess, Steering, SteeringConfig};
use steermd::io::read_dcd;
use steermd::Device;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn toml() -> String {
    format!(
        "[analysis]\nmodel = {:?}\nreference = {:?}\n\n[agent]\nmethod = \"lof\"\n\
         last_n = 16\nn_neighbors = 3\nn_outliers = 2\ncopy_velocities_probability = 0.5\n\n\
         [md]\nseed = 5\n",
        data("cvae_trained").display().to_string(),
        data("villin_ref.pdb").display().to_string(),
    )
}

fn last_error() -> String {
    // SAFETY: steermd returns a valid NUL-terminated string.
    unsafe { CStr::from_ptr(steermd_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

const SIMS: usize = 3;

/// Frame of simulation `sim`, index `k`, iteration `it`: positions (nm) and,
/// for odd simulations, velocities (nm/ps).
fn frame(it: usize, sim: usize, k: usize) -> (Vec<f64>, Option<Vec<f64>>) {
    let frames = read_dcd(data("villin.dcd")).unwrap();
    let p: Vec<f64> = frames
        .frame((it * 97 + sim * 31 + k * 9) % frames.n_frames())
        .iter()
        .map(|&x| f64::from(x))
        .collect();
    let v = (sim % 2 == 1).then(|| p.iter().map(|x| -0.02 * x).collect());
    (p, v)
}

#[test]
fn c_restarts_equal_the_rust_steering() {
    let text = CString::new(toml()).unwrap();
    let mut h = ptr::null_mut();
    // SAFETY: valid C string and out-pointer.
    let st = unsafe { steermd_steering_create(text.as_ptr(), SIMS as i64, &mut h) };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    let cfg = SteeringConfig::from_toml(&toml(), Path::new("<test>"), Path::new(".")).unwrap();
    let mut rust = Steering::new(&SingleProcess, &cfg, SIMS, Device::Cpu).unwrap();
    let mut restarted_from_frames = 0;
    for it in 0..3 {
        for sim in 0..SIMS {
            for k in 0..2 {
                let (p, v) = frame(it, sim, k);
                let step = (it * 2 + k + 1) as i64 * 100;
                let vp = v.as_ref().map_or(ptr::null(), |v| v.as_ptr());
                // SAFETY: live handle, buffers of 3 · atoms values.
                let st = unsafe {
                    steermd_steering_add_frame(
                        h,
                        sim as i64,
                        step,
                        p.as_ptr(),
                        p.len() / 3,
                        vp,
                        ptr::null(),
                    )
                };
                assert_eq!(st, STEERMD_OK, "{}", last_error());
                let v3 = |x: &[f64]| x.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
                rust.add_frame(sim, step as u64, v3(&p), None, v.as_deref().map(v3))
                    .unwrap();
            }
        }
        let mut n = -1;
        // SAFETY: live handle, valid out-pointer.
        assert_eq!(
            unsafe { steermd_steering_iterate(h, &mut n) },
            STEERMD_OK,
            "{}",
            last_error()
        );
        let r = rust.iterate().unwrap().clone();
        assert_eq!(n as usize, r.restarts.len());
        check_outliers(h, &r.step);
        check_outputs(h, &r);
        for sim in 0..SIMS {
            let atoms = frame(0, 0, 0).0.len();
            let (mut p, mut v) = (vec![f64::NAN; atoms], vec![f64::NAN; atoms]);
            let mut info = steermd_restart_info::default();
            // SAFETY: live handle, buffers of `atoms` values.
            let st = unsafe {
                steermd_steering_restart(
                    h,
                    sim as i64,
                    &mut info,
                    p.as_mut_ptr(),
                    v.as_mut_ptr(),
                    atoms,
                    ptr::null_mut(),
                )
            };
            assert_eq!(st, STEERMD_OK, "{}", last_error());
            let Some(want) = &r.local[sim] else {
                assert_eq!(info.restarted, 0);
                continue;
            };
            assert_eq!(info.restarted, 1);
            assert_eq!(info.frame_id, want.frame_id.map_or(-1, |id| id as i64));
            assert_eq!(info.source_simulation as usize, want.source_simulation);
            assert_eq!(info.source_step, want.source_step.map_or(-1, |s| s as i64));
            assert_eq!(info.rmsd.to_bits(), f64::from(want.rmsd).to_bits());
            assert_eq!(info.copy_velocities == 1, want.copy_velocities);
            let flat = |x: &[[f64; 3]]| x.iter().flatten().copied().collect::<Vec<f64>>();
            if let Some(id) = want.frame_id {
                restarted_from_frames += 1;
                assert_eq!(p, flat(&want.positions));
                // The frame handed over is what comes back.
                let id = id as usize;
                let (src_it, slot) = (id / (2 * SIMS), id % (2 * SIMS));
                assert_eq!(slot / 2, want.source_simulation);
                assert_eq!(p, frame(src_it, slot / 2, slot % 2).0);
            }
            if want.copy_velocities {
                assert_eq!(v, flat(&want.velocities));
            } else {
                assert!(
                    v.iter().all(|x| x.is_nan()),
                    "velocities written without copy"
                );
            }
        }
    }
    assert!(restarted_from_frames > 0);
    let (mut first, mut count) = (-1, -1);
    // SAFETY: live handle, valid out-pointers.
    assert_eq!(
        unsafe { steermd_steering_local_simulations(h, &mut first, &mut count) },
        STEERMD_OK
    );
    assert_eq!((first, count), (0, SIMS as i64));
    // SAFETY: live handle, freed once.
    unsafe { steermd_steering_free(h) };
    assert_eq!(last_error(), "");
}

/// `steermd_steering_outliers` reports the agent step's outliers: count
/// first, then ids, LOF scores and RMSDs in preference order.
fn check_outliers(h: *mut steermd_steering, step: &steermd::drive::AgentStep) {
    let mut n = usize::MAX;
    // SAFETY: live handle; NULL arrays with len 0 ask for the count.
    let st = unsafe {
        steermd_steering_outliers(
            h,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
            &mut n,
        )
    };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    assert_eq!(n, step.outliers.len());
    assert!(n > 0);
    let (mut ids, mut scores, mut rmsd) = (vec![0i64; n], vec![0.0; n], vec![0.0; n]);
    // SAFETY: live handle, arrays of `n` values.
    let st = unsafe {
        steermd_steering_outliers(
            h,
            ids.as_mut_ptr(),
            scores.as_mut_ptr(),
            rmsd.as_mut_ptr(),
            n,
            &mut n,
        )
    };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    let lof = step.scores.as_ref().expect("LOF scores");
    for (k, &i) in step.outliers.iter().enumerate() {
        assert_eq!(ids[k] as u64, step.ids[i]);
        assert_eq!(scores[k].to_bits(), lof[i].to_bits());
        assert_eq!(rmsd[k].to_bits(), f64::from(step.rmsd[i]).to_bits());
    }
    assert_eq!(
        step.restarts,
        ids.iter().map(|&i| i as u64).collect::<Vec<_>>()
    );
    // One value short is refused, with the count still reported.
    // SAFETY: live handle, arrays of `n` values, len n - 1.
    let st = unsafe {
        steermd_steering_outliers(
            h,
            ids.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
            n - 1,
            &mut n,
        )
    };
    assert_eq!(st, STEERMD_ERR_SHAPE);
    assert!(last_error().contains("'frame_ids'"), "{}", last_error());
}

/// `steermd_steering_write_outputs` writes drive's per-iteration files:
/// restarts.json as drive's record of this iteration, and the frames'
/// latents, RMSDs and ids.
fn check_outputs(h: *mut steermd_steering, r: &steermd::drive::SteeringIteration) {
    let dir = tempfile::tempdir().unwrap();
    let c = CString::new(dir.path().to_str().unwrap()).unwrap();
    // SAFETY: live handle, valid C string.
    let st = unsafe { steermd_steering_write_outputs(h, c.as_ptr()) };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    let it = dir.path().join(format!("iter_{:04}", r.iteration));
    let text = std::fs::read_to_string(it.join("restarts.json")).unwrap();
    let got: steermd::drive::output::Restarts = serde_json::from_str(&text).unwrap();
    let cfg = SteeringConfig::from_toml(&toml(), Path::new("<test>"), Path::new(".")).unwrap();
    let want = steermd::drive::output::Restarts::of(&cfg.agent.outlier_method(), r);
    assert_eq!(got, want);
    let ids = steermd::io::npy::read_npy::<i64>(it.join("frame_ids.npy"));
    assert_eq!(
        ids.ok().map(|(_, v)| v),
        Some(r.ids.iter().map(|&i| i as i64).collect())
    );
}

/// Single-precision frames through `steermd_steering_add_frame_f32` steer
/// exactly as the same values widened to f64 through `_add_frame`.
#[test]
fn f32_frames_steer_as_their_f64_widening() {
    let text = CString::new(toml()).unwrap();
    let frames = read_dcd(data("villin.dcd")).unwrap();
    let (mut h32, mut h64) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid C string and out-pointers.
    unsafe {
        assert_eq!(
            steermd_steering_create(text.as_ptr(), SIMS as i64, &mut h32),
            STEERMD_OK
        );
        assert_eq!(
            steermd_steering_create(text.as_ptr(), SIMS as i64, &mut h64),
            STEERMD_OK
        );
    }
    let mut restarts = 0;
    for it in 0..2 {
        for sim in 0..SIMS {
            for k in 0..3 {
                let p32 = frames.frame((it * 61 + sim * 17 + k * 5) % frames.n_frames());
                let v32: Vec<f32> = p32.iter().map(|x| 0.01 * x).collect();
                let p64: Vec<f64> = p32.iter().map(|&x| f64::from(x)).collect();
                let v64: Vec<f64> = v32.iter().map(|&x| f64::from(x)).collect();
                let step = (it * 3 + k + 1) as i64;
                // SAFETY: live handles, buffers of 3 · atoms values.
                unsafe {
                    let st = steermd_steering_add_frame_f32(
                        h32,
                        sim as i64,
                        step,
                        p32.as_ptr(),
                        p32.len() / 3,
                        v32.as_ptr(),
                        ptr::null(),
                    );
                    assert_eq!(st, STEERMD_OK, "{}", last_error());
                    let st = steermd_steering_add_frame(
                        h64,
                        sim as i64,
                        step,
                        p64.as_ptr(),
                        p64.len() / 3,
                        v64.as_ptr(),
                        ptr::null(),
                    );
                    assert_eq!(st, STEERMD_OK, "{}", last_error());
                }
            }
        }
        let (mut n32, mut n64) = (-1, -1);
        // SAFETY: live handles, valid out-pointers.
        unsafe {
            assert_eq!(
                steermd_steering_iterate(h32, &mut n32),
                STEERMD_OK,
                "{}",
                last_error()
            );
            assert_eq!(
                steermd_steering_iterate(h64, &mut n64),
                STEERMD_OK,
                "{}",
                last_error()
            );
        }
        assert_eq!(n32, n64);
        for sim in 0..SIMS as i64 {
            let len = 3 * frames.n_atoms;
            let mut got = Vec::new();
            for h in [h32, h64] {
                let (mut p, mut v) = (vec![0.0; len], vec![0.0; len]);
                let mut info = steermd_restart_info::default();
                // SAFETY: live handle, buffers of `len` values.
                let st = unsafe {
                    steermd_steering_restart(
                        h,
                        sim,
                        &mut info,
                        p.as_mut_ptr(),
                        v.as_mut_ptr(),
                        len,
                        ptr::null_mut(),
                    )
                };
                assert_eq!(st, STEERMD_OK, "{}", last_error());
                got.push((
                    info.restarted,
                    info.frame_id,
                    info.copy_velocities,
                    info.rmsd.to_bits(),
                    p,
                    v,
                ));
            }
            restarts += got[0].0;
            assert!(got[0] == got[1], "simulation {sim} after iteration {it}");
        }
    }
    assert!(restarts > 0);
    // SAFETY: live handles, freed once.
    unsafe {
        steermd_steering_free(h32);
        steermd_steering_free(h64);
    }
}

#[cfg(not(feature = "mpi"))]
#[test]
fn mpi_entry_point_of_a_build_without_mpi_is_a_backend_error() {
    let text = CString::new(toml()).unwrap();
    let mut h = ptr::null_mut();
    // SAFETY: valid C string and out-pointer.
    let st = unsafe { steermd_steering_create_mpi(text.as_ptr(), 0, 1, &mut h) };
    assert_eq!(st, STEERMD_ERR_BACKEND);
    assert!(last_error().contains("without MPI"), "{}", last_error());
    assert!(
        last_error()
            .starts_with("collective call steermd_steering_create_mpi failed on every rank"),
        "{}",
        last_error()
    );
    assert!(h.is_null());
}

/// A failing local call says it is local and names the rank (the collective
/// wording is checked on `steermd_steering_create_mpi` above).
#[test]
fn errors_say_whether_the_call_was_collective_or_local() {
    let text = CString::new(toml()).unwrap();
    let mut h = ptr::null_mut();
    // SAFETY: valid C string and out-pointer.
    let st = unsafe { steermd_steering_create(text.as_ptr(), SIMS as i64, &mut h) };
    assert_eq!(st, STEERMD_OK, "{}", last_error());
    let mut info = steermd_restart_info::default();
    // SAFETY: live handle; NULL arrays (refused before the iteration check).
    let st = unsafe {
        steermd_steering_restart(
            h,
            0,
            &mut info,
            ptr::null_mut(),
            ptr::null_mut(),
            0,
            ptr::null_mut(),
        )
    };
    assert_eq!(st, STEERMD_ERR_INVALID_ARGUMENT);
    assert!(
        last_error().starts_with(
            "local call steermd_steering_restart on rank 0 of 1 failed on this rank only: no iteration yet"
        ),
        "{}",
        last_error()
    );
    let p = [0.0f64; 6];
    // SAFETY: live handle; a two-atom frame, not villin's.
    let st =
        unsafe { steermd_steering_add_frame(h, 0, 1, p.as_ptr(), 2, ptr::null(), ptr::null()) };
    assert_ne!(st, STEERMD_OK, "a two-atom frame accepted for villin");
    assert!(
        last_error().starts_with(
            "local call steermd_steering_add_frame on rank 0 of 1 failed on this rank only"
        ),
        "{}",
        last_error()
    );
    // SAFETY: live handle, freed once.
    unsafe { steermd_steering_free(h) };
}
