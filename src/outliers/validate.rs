//! Input checks shared by the outlier APIs.

use crate::error::{Error, Result};

/// Check a row-major `[n][dim]` point set and return `n`.
///
/// `what` names the calling function in error messages.
pub(crate) fn points(what: &str, points: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what}: dim must be at least 1"
        )));
    }
    if points.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{what}: the point set is empty"
        )));
    }
    if !points.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "{what}: {} values are not a whole number of {dim}-dimensional points",
            points.len()
        )));
    }
    let n = points.len() / dim;
    if n >= u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "{what}: {n} points exceed the supported maximum of {}",
            u32::MAX - 1
        )));
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite(format!(
            "{what}: point {}, component {} is {}",
            i / dim,
            i % dim,
            points[i]
        )));
    }
    Ok(n)
}

/// Check a DBSCAN radius and core threshold.
pub(crate) fn dbscan_params(what: &str, eps: f64, min_samples: usize) -> Result<()> {
    if !(eps.is_finite() && eps > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "{what}: eps must be positive and finite, got {eps}"
        )));
    }
    if min_samples == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what}: min_samples must be at least 1"
        )));
    }
    Ok(())
}
