//! (Adaptive) DBSCAN of the agent step, split between the ranks of a
//! [`Communicator`] as LOF's kNN is: the neighbour work of
//! [`crate::outliers::search`] in per-rank shares, every piece all-gathered
//! and merged identically on every rank, so each rank ends with the same
//! labels, radius and outliers as [`crate::outliers::adaptive_dbscan`] on
//! one process.

use crate::backend::Device;
use crate::drive::agent::agree;
use crate::drive::comm::{all_gather, Communicator};
use crate::error::Result;
use crate::outliers::adaptive::search;
use crate::outliers::search::{Exchange, Trials};
use crate::outliers::AdaptiveDbscanOptions;

/// The ranks of a communicator as the parts of a search; every exchange
/// first agrees on local errors so that no rank is left in a collective.
struct Ranks<'a>(&'a dyn Communicator);

impl Exchange for Ranks<'_> {
    fn part(&self) -> (usize, usize) {
        (self.0.rank(), self.0.size())
    }

    fn all_gather_u32(&self, local: Result<Vec<u32>>) -> Result<Vec<u32>> {
        let local = agree(self.0, "agent_step", "its DBSCAN share", local)?;
        all_gather::<u32>(self.0, &local)
    }

    fn all_gather_f64(&self, local: Result<Vec<f64>>) -> Result<Vec<f64>> {
        let local = agree(self.0, "agent_step", "its DBSCAN share", local)?;
        all_gather::<f64>(self.0, &local)
    }
}

/// What the agent step keeps of a DBSCAN search.
pub(super) struct DbscanFound {
    /// Noise points, ascending.
    pub outliers: Vec<usize>,
    /// Radius of the returned run.
    pub eps: f64,
    /// Whether the outlier count is in range.
    pub reached: bool,
}

/// Adaptive DBSCAN of the canonical `points` (validated, `n >= 2`) with
/// validated `options`, collectively over `comm`.
pub(super) fn distributed_dbscan(
    device: &Device,
    comm: &dyn Communicator,
    points: &[f32],
    dim: usize,
    options: &AdaptiveDbscanOptions,
) -> Result<DbscanFound> {
    let ranks = Ranks(comm);
    let trials = Trials::new(device, points, dim, options.min_samples, &ranks);
    let mut trials = agree(comm, "agent_step", "its DBSCAN set-up", trials)?;
    let r = search(options, |eps| trials.run(eps))?;
    Ok(DbscanFound {
        outliers: r.outliers,
        eps: r.eps,
        reached: r.reached,
    })
}
