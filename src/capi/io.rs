//! C ABI: topologies (PDB) and trajectories (DCD, Amber NetCDF, XTC) as opaque handles.

use std::ffi::c_char;
use std::path::Path;

use super::handles::{get, register, release, Handle};
use super::status::{c_str, guard, in_slice, null, out_slice, steermd_status, CError};
use crate::frames::Frames;
use crate::io::{dcd, pdb, read_trajectory};

/// A topology read from a PDB file: atom names, residues, first-model coordinates.
pub struct steermd_topology {
    topology: pdb::Topology,
    frames: Frames,
}

/// A trajectory: frames of coordinates (nm) and optional periodic boxes (nm).
pub struct steermd_trajectory {
    frames: Frames,
}

impl Handle for steermd_topology {
    const NAME: &'static str = "steermd_topology";
}

impl Handle for steermd_trajectory {
    const NAME: &'static str = "steermd_trajectory";
}

/// Read a PDB file (first model). On success `*out` receives a handle to be
/// released with `steermd_topology_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn steermd_topology_read_pdb(
    path: *const c_char,
    out: *mut *mut steermd_topology,
) -> steermd_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: caller contract above.
        let path = unsafe { c_str(path, "path") }?;
        let (topology, frames) = pdb::read_pdb(Path::new(path))?;
        let handle = register(steermd_topology { topology, frames });
        // SAFETY: `out` is non-null and writable per the caller contract.
        unsafe { *out = handle };
        Ok(())
    })
}

/// Number of atoms of a topology, written to `*n_atoms`.
///
/// # Safety
/// `top` must be a handle from `steermd_topology_read_pdb`; `n_atoms` valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_topology_n_atoms(
    top: *const steermd_topology,
    n_atoms: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let top = unsafe { get(top, "top") }?;
        // SAFETY: caller contract above.
        let n = unsafe { n_atoms.as_mut() }.ok_or_else(|| null("n_atoms"))?;
        *n = top.topology.atoms.len();
        Ok(())
    })
}

/// Select atoms by name: `names` is a comma-separated list such as `"CA"`.
///
/// `*n_selected` receives the number of matching atoms. Their 0-based indices
/// are written to `indices` (capacity `capacity` elements); pass `indices =
/// NULL` and `capacity = 0` to query the count only. Fails when no atom
/// matches; a `capacity` below the count fails with `STEERMD_ERR_SHAPE`,
/// `indices` untouched and `*n_selected` still set to the count.
///
/// # Safety
/// `top` a valid handle; `names` NUL-terminated; `indices` NULL or valid for
/// `capacity` writes; `n_selected` valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_topology_select(
    top: *const steermd_topology,
    names: *const c_char,
    indices: *mut usize,
    capacity: usize,
    n_selected: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let top = unsafe { get(top, "top") }?;
        // SAFETY: caller contract above.
        let names = unsafe { c_str(names, "names") }?;
        // SAFETY: caller contract above.
        let n_out = unsafe { n_selected.as_mut() }.ok_or_else(|| null("n_selected"))?;
        let list: Vec<&str> = names
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let sel = top.topology.select_names(&list)?;
        *n_out = sel.len();
        if indices.is_null() && capacity == 0 {
            return Ok(());
        }
        // SAFETY: caller contract above.
        let out = unsafe { out_slice(indices, capacity, sel.len(), "indices") }?;
        out.copy_from_slice(&sel);
        Ok(())
    })
}

/// Copy the topology's coordinates (nm, `[atom][xyz]`, `3 * n_atoms` floats) into `xyz`.
///
/// # Safety
/// `top` a valid handle; `xyz` valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_topology_coordinates(
    top: *const steermd_topology,
    xyz: *mut f32,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let top = unsafe { get(top, "top") }?;
        let src = top.frames.frame(0);
        // SAFETY: caller contract above.
        unsafe { out_slice(xyz, len, src.len(), "xyz") }?.copy_from_slice(src);
        Ok(())
    })
}

/// Release a topology. NULL is ignored; a pointer that is not a live
/// topology handle (e.g. one already freed) is left alone and reported
/// through `steermd_last_error_message`.
///
/// # Safety
/// `top` must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn steermd_topology_free(top: *mut steermd_topology) {
    let _ = guard(|| {
        // SAFETY: caller contract above.
        unsafe { release(top, "top") }?;
        Ok(())
    });
}

/// Read the trajectory at `path` with `read` into a new handle at `*out`
/// (left untouched on failure).
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `out` NULL or valid.
unsafe fn read_into(
    path: *const c_char,
    out: *mut *mut steermd_trajectory,
    read: impl FnOnce(&Path) -> crate::error::Result<crate::frames::Frames>,
) -> Result<(), CError> {
    if out.is_null() {
        return Err(null("out"));
    }
    // SAFETY: caller contract above.
    let path = unsafe { c_str(path, "path") }?;
    let frames = read(Path::new(path))?;
    // SAFETY: `out` is non-null and writable per the caller contract.
    unsafe { *out = register(steermd_trajectory { frames }) };
    Ok(())
}

/// Read a DCD trajectory (coordinates converted from Å to nm). On success
/// `*out` receives a handle to be released with `steermd_trajectory_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn steermd_trajectory_read_dcd(
    path: *const c_char,
    out: *mut *mut steermd_trajectory,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| unsafe { read_into(path, out, |p| dcd::read_dcd(p)) })
}

/// Read a trajectory in any format steermd reads: DCD, Amber NetCDF
/// (`.nc`, `.ncdf`, `.netcdf`, `.ncrst`) or XTC (`.xtc`), chosen by the
/// extension or, for other names, by the file's first bytes. Coordinates and
/// boxes are converted to nm (Amber NetCDF holds Å). On success `*out`
/// receives a handle to be released with `steermd_trajectory_free`; on
/// failure `*out` is left untouched.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` a valid pointer.
#[no_mangle]
pub unsafe extern "C" fn steermd_trajectory_read(
    path: *const c_char,
    out: *mut *mut steermd_trajectory,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| unsafe { read_into(path, out, |p| read_trajectory(p)) })
}

/// Frame and atom counts of a trajectory (either output pointer may be NULL).
///
/// # Safety
/// `traj` a valid handle; outputs NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_trajectory_shape(
    traj: *const steermd_trajectory,
    n_frames: *mut usize,
    n_atoms: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let t = unsafe { get(traj, "traj") }?;
        // SAFETY: caller contract above (NULL allowed).
        if let Some(n) = unsafe { n_frames.as_mut() } {
            *n = t.frames.n_frames();
        }
        // SAFETY: caller contract above (NULL allowed).
        if let Some(n) = unsafe { n_atoms.as_mut() } {
            *n = t.frames.n_atoms;
        }
        Ok(())
    })
}

/// Copy the selected atoms of every frame into `xyz` (nm, `[frame][sel][xyz]`,
/// `n_frames * n_sel * 3` floats). `selection` holds `n_sel` 0-based atom indices.
///
/// # Safety
/// `traj` a valid handle; `selection` valid for `n_sel` reads; `xyz` for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_trajectory_gather(
    traj: *const steermd_trajectory,
    selection: *const usize,
    n_sel: usize,
    xyz: *mut f32,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let t = unsafe { get(traj, "traj") }?;
        // SAFETY: caller contract above.
        let sel = unsafe { in_slice(selection, n_sel, "selection") }?;
        let coords = t.frames.gather(sel)?;
        // SAFETY: caller contract above.
        unsafe { out_slice(xyz, len, coords.len(), "xyz") }?.copy_from_slice(&coords);
        Ok(())
    })
}

/// Release a trajectory. NULL is ignored; a pointer that is not a live
/// trajectory handle (e.g. one already freed) is left alone and reported
/// through `steermd_last_error_message`.
///
/// # Safety
/// `traj` must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn steermd_trajectory_free(traj: *mut steermd_trajectory) {
    let _ = guard(|| {
        // SAFETY: caller contract above.
        unsafe { release(traj, "traj") }?;
        Ok(())
    });
}
