//! C ABI: what the last steering iteration found (identical on every rank).

use std::ffi::c_char;
use std::path::Path;

use super::handles::get;
use super::status::{c_str, null, out_slice, steermd_status};
use super::steering::{last_iteration, local, steermd_steering};

/// The outliers of the last iteration's agent step, in restart-preference
/// order: `*n_outliers` receives their number; when `len` ≥ that number,
/// their frame ids go to `frame_ids`, their LOF scores (scikit-learn's
/// `negative_outlier_factor_`, lower is more outlying; NaN when DBSCAN
/// chose them) to `scores` and their RMSDs to the reference (nm) to
/// `rmsd_nm`. Each array may be NULL to skip it; call with `len` 0 to ask
/// for the count. The same on every rank. Local (no communication).
///
/// # Safety
/// `steering`: a live handle; `n_outliers`: valid; each array NULL or
/// valid for `len` values.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_outliers(
    steering: *const steermd_steering,
    frame_ids: *mut i64,
    scores: *mut f64,
    rmsd_nm: *mut f64,
    len: usize,
    n_outliers: *mut usize,
) -> steermd_status {
    local("steermd_steering_outliers", steering, || {
        // SAFETY: caller contract above.
        let s = unsafe { get(steering, "steering") }?;
        if n_outliers.is_null() {
            return Err(null("n_outliers"));
        }
        let step = &last_iteration(s)?.step;
        let n = step.outliers.len();
        // SAFETY: non-null and writable per the caller contract.
        unsafe { *n_outliers = n };
        let wanted = [!frame_ids.is_null(), !scores.is_null(), !rmsd_nm.is_null()];
        let score = |i: usize| step.scores.as_ref().map_or(f64::NAN, |s| s[i]);
        // SAFETY (the three borrows): each non-null array holds `len` values,
        // checked against n (with one shared `len`, the first short one fails
        // before anything is written).
        if wanted[0] {
            let out = unsafe { out_slice(frame_ids, len, n, "frame_ids") }?;
            for (o, &i) in out.iter_mut().zip(&step.outliers) {
                *o = step.ids[i] as i64;
            }
        }
        if wanted[1] {
            let out = unsafe { out_slice(scores, len, n, "scores") }?;
            for (o, &i) in out.iter_mut().zip(&step.outliers) {
                *o = score(i);
            }
        }
        if wanted[2] {
            let out = unsafe { out_slice(rmsd_nm, len, n, "rmsd_nm") }?;
            for (o, &i) in out.iter_mut().zip(&step.outliers) {
                *o = f64::from(step.rmsd[i]);
            }
        }
        Ok(())
    })
}

/// Write the last iteration's outputs as `steermd drive` does, under
/// `dir/iter_NNNN/`: `latents.npy`, `rmsd.npy` (nm), `frame_ids.npy` and
/// `restarts.json`. Rank 0 writes; on other ranks this returns at once, so
/// call it on every rank or on rank 0 only. Local (no communication).
///
/// # Safety
/// `steering`: a live handle; `dir`: NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_write_outputs(
    steering: *const steermd_steering,
    dir: *const c_char,
) -> steermd_status {
    local("steermd_steering_write_outputs", steering, || {
        // SAFETY: caller contract above.
        let s = unsafe { get(steering, "steering") }?;
        // SAFETY: caller contract above.
        let dir = unsafe { c_str(dir, "dir") }?;
        s.steering.write_outputs(Path::new(dir))?;
        Ok(())
    })
}
