//! C ABI: the stateless kernels (contact maps, RMSD, LOF, DBSCAN) on the CPU backend.

use super::status::{guard, in_slice, null, out_slice, steermd_status, CError};
use crate::analysis::contacts::{contact_maps, ContactMapOptions};
use crate::analysis::rmsd::rmsd;
use crate::backend::Device;
use crate::error::Error;
use crate::frames::Frames;
use crate::outliers;

fn count(n: usize, what: &str) -> Result<usize, CError> {
    if n == 0 {
        return Err(Error::InvalidArgument(format!("{what} must be at least 1")).into());
    }
    Ok(n)
}

fn product(dims: &[usize], what: &str) -> Result<usize, CError> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Shape(format!("{what}: size {dims:?} overflows")).into())
}

/// Contact maps of `n_frames` frames of `n_atoms` atoms each.
///
/// `xyz`: coordinates in nm, `[frame][atom][xyz]` (`n_frames * n_atoms * 3`
/// floats), already restricted to the atoms of interest (e.g. Cα).
/// `boxes`: NULL, or orthorhombic box edge lengths in nm per frame
/// (`n_frames * 3` floats) to use the minimum-image convention.
/// `cutoff`: nm; a pair is in contact when its distance is `< cutoff`; the
/// diagonal is always set. `maps` receives `n_frames * n_atoms * n_atoms`
/// bytes (0/1, row-major); `maps_len` is its capacity.
///
/// # Safety
/// Pointers valid for the stated lengths (`boxes` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn steermd_contact_maps(
    xyz: *const f32,
    n_frames: usize,
    n_atoms: usize,
    boxes: *const f32,
    cutoff: f32,
    maps: *mut u8,
    maps_len: usize,
) -> steermd_status {
    guard(|| {
        let len = product(
            &[count(n_frames, "n_frames")?, count(n_atoms, "n_atoms")?, 3],
            "xyz",
        )?;
        // SAFETY: caller contract above.
        let coords = unsafe { in_slice(xyz, len, "xyz") }?.to_vec();
        let boxes = if boxes.is_null() {
            None
        } else {
            // SAFETY: caller contract above.
            let b = unsafe { in_slice(boxes, n_frames * 3, "boxes") }?;
            Some(b.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
        };
        let periodic = boxes.is_some();
        let frames = Frames::new(n_atoms, coords, boxes)?;
        let selection: Vec<usize> = (0..n_atoms).collect();
        let opts = ContactMapOptions { cutoff, periodic };
        let result = contact_maps(&Device::Cpu, &frames, &selection, &opts)?;
        let dense = result.dense_u8();
        // SAFETY: caller contract above.
        unsafe { out_slice(maps, maps_len, dense.len(), "maps") }?.copy_from_slice(dense);
        Ok(())
    })
}

/// RMSD (nm) of each of `n_frames` frames to `reference` after optimal
/// superposition (translation and rotation), over `n_atoms` atoms.
///
/// `reference`: `n_atoms * 3` floats, nm. `xyz`: `n_frames * n_atoms * 3`
/// floats, nm. `out` receives `n_frames` floats (capacity `out_len`).
///
/// # Safety
/// Pointers valid for the stated lengths.
#[no_mangle]
pub unsafe extern "C" fn steermd_rmsd(
    reference: *const f32,
    xyz: *const f32,
    n_frames: usize,
    n_atoms: usize,
    out: *mut f32,
    out_len: usize,
) -> steermd_status {
    guard(|| {
        let len = product(
            &[count(n_frames, "n_frames")?, count(n_atoms, "n_atoms")?, 3],
            "xyz",
        )?;
        // SAFETY: caller contract above.
        let reference = unsafe { in_slice(reference, n_atoms * 3, "reference") }?;
        // SAFETY: caller contract above.
        let coords = unsafe { in_slice(xyz, len, "xyz") }?.to_vec();
        let frames = Frames::new(n_atoms, coords, None)?;
        let selection: Vec<usize> = (0..n_atoms).collect();
        let r = rmsd(&Device::Cpu, reference, &frames, &selection)?;
        // SAFETY: caller contract above.
        unsafe { out_slice(out, out_len, r.len(), "out") }?.copy_from_slice(&r);
        Ok(())
    })
}

/// Local outlier factor of `n` points of dimension `dim` (`points`: `n * dim`
/// floats, row-major), with `n_neighbors` neighbours and scikit-learn's
/// semantics. `scores` receives `n` doubles: `negative_outlier_factor_`
/// (about -1 for inliers, more negative for outliers).
///
/// # Safety
/// Pointers valid for the stated lengths.
#[no_mangle]
pub unsafe extern "C" fn steermd_lof(
    points: *const f32,
    n: usize,
    dim: usize,
    n_neighbors: usize,
    scores: *mut f64,
    scores_len: usize,
) -> steermd_status {
    guard(|| {
        let len = product(&[count(n, "n")?, count(dim, "dim")?], "points")?;
        // SAFETY: caller contract above.
        let pts = unsafe { in_slice(points, len, "points") }?;
        let s = outliers::lof(&Device::Cpu, pts, dim, n_neighbors)?;
        // SAFETY: caller contract above.
        unsafe { out_slice(scores, scores_len, s.len(), "scores") }?.copy_from_slice(&s);
        Ok(())
    })
}

/// The `count` most outlying points by score (most negative first, ties by
/// index): `indices` receives `min(count, n)` 0-based indices; `*n_written`
/// how many were written.
///
/// # Safety
/// `scores` valid for `n` reads; `indices` for `indices_len` writes; `n_written` valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_top_outliers(
    scores: *const f64,
    n: usize,
    count: usize,
    indices: *mut i64,
    indices_len: usize,
    n_written: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { in_slice(scores, n, "scores") }?;
        // SAFETY: caller contract above.
        let written = unsafe { n_written.as_mut() }.ok_or_else(|| null("n_written"))?;
        if let Some(i) = s.iter().position(|v| v.is_nan()) {
            return Err(Error::NonFinite(format!("scores: element {i} is NaN")).into());
        }
        let top = outliers::top_outliers(s, count);
        // SAFETY: caller contract above.
        let out = unsafe { out_slice(indices, indices_len, top.len(), "indices") }?;
        for (o, &i) in out.iter_mut().zip(&top) {
            *o = i as i64;
        }
        *written = top.len();
        Ok(())
    })
}

/// DBSCAN of `n` points of dimension `dim` (`points`: `n * dim` floats) with
/// radius `eps` (same units as the points) and `min_samples` (neighbours within
/// `eps`, the point included, that make a core point). `labels` receives `n`
/// cluster labels (0, 1, … in scikit-learn's order; -1 = noise);
/// `*n_clusters` the number of clusters (may be NULL).
///
/// # Safety
/// Pointers valid for the stated lengths; `n_clusters` NULL or valid.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // a flat C signature
pub unsafe extern "C" fn steermd_dbscan(
    points: *const f32,
    n: usize,
    dim: usize,
    eps: f64,
    min_samples: usize,
    labels: *mut i64,
    labels_len: usize,
    n_clusters: *mut usize,
) -> steermd_status {
    guard(|| {
        let len = product(&[count(n, "n")?, count(dim, "dim")?], "points")?;
        // SAFETY: caller contract above.
        let pts = unsafe { in_slice(points, len, "points") }?;
        let r = outliers::dbscan(&Device::Cpu, pts, dim, eps, min_samples)?;
        // SAFETY: caller contract above.
        unsafe { out_slice(labels, labels_len, r.labels.len(), "labels") }?
            .copy_from_slice(&r.labels);
        // SAFETY: caller contract above (NULL allowed).
        if let Some(c) = unsafe { n_clusters.as_mut() } {
            *c = r.n_clusters;
        }
        Ok(())
    })
}
