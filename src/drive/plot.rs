//! (Placeholder until the PNG plot lands.)
use std::path::Path;

/// A named line.
pub struct Series {
    /// Legend.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// Placeholder.
pub fn write_campaign_plot(
    _path: &Path,
    _visited: &[Series],
    _best_rmsd: &[Series],
) -> crate::Result<()> {
    Ok(())
}
