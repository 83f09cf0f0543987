//! The steering C ABI's MPI entry point under `mpirun`: MPI is initialised
//! here (as a C or Fortran code would), the world communicator's Fortran
//! handle goes to `steermd_steering_create_mpi`, every rank hands over the
//! frames of the simulations it owns (villin.dcd frames), and three
//! iterations run. Each rank prints `restart IT SIM FRAME SOURCE COPY` for
//! its simulations; with `--serial` one process runs the whole ensemble
//! through `steermd_steering_create` instead. Run by tests/drive_mpi.rs,
//! which compares the two.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr;

use mpi::traits::Communicator as _;
use steermd::capi::steermd_status::STEERMD_OK;
use steermd::capi::*;
use steermd::io::read_dcd;

const SIMS: i64 = 5;

fn check(st: steermd_status, what: &str) {
    if st != STEERMD_OK {
        // SAFETY: steermd returns a valid NUL-terminated string.
        let m = unsafe { CStr::from_ptr(steermd_last_error_message()) };
        panic!("{what}: {st:?}: {}", m.to_string_lossy());
    }
}

fn main() {
    let serial = std::env::args().any(|a| a == "--serial");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let config = CString::new(format!(
        "[analysis]\nmodel = {:?}\nreference = {:?}\n\n[agent]\nmethod = \"lof\"\n\
         last_n = 20\nn_neighbors = 3\nn_outliers = 3\ncopy_velocities_probability = 0.5\n\n\
         [md]\nseed = 3\n",
        data.join("cvae_trained").display().to_string(),
        data.join("villin_ref.pdb").display().to_string(),
    ))
    .unwrap();
    let frames = read_dcd(data.join("villin.dcd")).unwrap();
    let universe = (!serial).then(|| mpi::initialize().expect("MPI initialises"));
    let mut h = ptr::null_mut();
    // SAFETY: valid C string and out-pointer; the communicator handle comes
    // from this process's initialised MPI.
    unsafe {
        match &universe {
            Some(u) => {
                let world = u.world();
                let (rank, size) = (world.rank() as i64, world.size() as i64);
                let n_local = SIMS / size + i64::from(rank < SIMS % size);
                let f = mpi::ffi::RSMPI_Comm_c2f(mpi::ffi::RSMPI_COMM_WORLD);
                check(
                    steermd_steering_create_mpi(config.as_ptr(), f, n_local, &mut h),
                    "create_mpi",
                );
            }
            None => check(
                steermd_steering_create(config.as_ptr(), SIMS, &mut h),
                "create",
            ),
        }
    }
    let (mut first, mut count) = (0, 0);
    // SAFETY: live handle, valid out-pointers.
    check(
        unsafe { steermd_steering_local_simulations(h, &mut first, &mut count) },
        "local",
    );
    for it in 0..3i64 {
        for sim in first..first + count {
            for k in 0..2i64 {
                let f = ((it * 89 + sim * 23 + k * 11) as usize) % frames.n_frames();
                let p: Vec<f64> = frames.frame(f).iter().map(|&x| f64::from(x)).collect();
                let v: Vec<f64> = p.iter().map(|x| 0.03 * x).collect();
                let step = (it * 2 + k + 1) * 250;
                // SAFETY: live handle, buffers of 3 · atoms values.
                let st = unsafe {
                    steermd_steering_add_frame(
                        h,
                        sim,
                        step,
                        p.as_ptr(),
                        p.len() / 3,
                        v.as_ptr(),
                        ptr::null(),
                    )
                };
                check(st, "add_frame");
            }
        }
        let mut n = 0;
        // SAFETY: live handle, valid out-pointer.
        check(unsafe { steermd_steering_iterate(h, &mut n) }, "iterate");
        for sim in first..first + count {
            let len = 3 * frames.n_atoms;
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
            check(st, "restart");
            let checksum: f64 = p.iter().chain(&v).sum();
            println!(
                "restart {it} {sim} {} {} {} {} {checksum:.12e}",
                info.restarted, info.frame_id, info.source_simulation, info.copy_velocities
            );
        }
    }
    // SAFETY: live handle, freed once, before MPI_Finalize (universe drop).
    unsafe { steermd_steering_free(h) };
    drop(universe);
}
