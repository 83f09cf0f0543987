//! The agent step: gather the latest frames of every rank, find outliers in
//! latent space and choose restart frames (identical on every rank).
//! (Single-process placeholder of the distributed implementation.)

use std::time::Instant;

use crate::backend::Device;
use crate::drive::comm::{all_gather, broadcast, Communicator};
use crate::error::{Error, Result};
use crate::outliers::{adaptive_dbscan, lof, top_outliers, AdaptiveDbscanOptions};

/// The outlier detector.
#[derive(Clone, Debug, PartialEq)]
pub enum OutlierMethod {
    /// LOF with `n_neighbors`; the `n_outliers` most negative factors.
    Lof {
        /// Neighbours.
        n_neighbors: usize,
        /// Outliers taken.
        n_outliers: usize,
    },
    /// DBSCAN with eps adapted until the noise count is in range.
    AdaptiveDbscan(AdaptiveDbscanOptions),
}

/// Settings of [`agent_step`].
#[derive(Clone, Debug, PartialEq)]
pub struct AgentOptions {
    /// The detector.
    pub method: OutlierMethod,
    /// Order outliers by lowest RMSD (nm) first.
    pub sort_by_rmsd: bool,
}

/// One rank's frames.
#[derive(Clone, Copy, Debug)]
pub struct LocalFrames<'a> {
    /// Global frame ids.
    pub ids: &'a [u64],
    /// Latent vectors `[n][dim]`.
    pub latents: &'a [f32],
    /// RMSD to the reference, nm.
    pub rmsd: &'a [f32],
}

/// Seconds spent per phase.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AgentTimings {
    /// Gathering, s.
    pub gather_s: f64,
    /// Outlier detection, s.
    pub detect_s: f64,
    /// Selection and broadcast, s.
    pub select_s: f64,
}

/// The outcome of one agent step (the same on every rank).
#[derive(Clone, Debug, PartialEq)]
pub struct AgentStep {
    /// Every gathered frame id, ascending.
    pub ids: Vec<u64>,
    /// Their latent vectors.
    pub latents: Vec<f32>,
    /// Their RMSDs, nm.
    pub rmsd: Vec<f32>,
    /// LOF factors (LOF only).
    pub scores: Option<Vec<f64>>,
    /// Outliers, positions into `ids`, in restart-preference order.
    pub outliers: Vec<usize>,
    /// Their frame ids.
    pub restarts: Vec<u64>,
    /// DBSCAN's final radius.
    pub dbscan_eps: Option<f64>,
    /// Whether DBSCAN reached its target range.
    pub dbscan_reached: Option<bool>,
    /// Phase timings.
    pub timings: AgentTimings,
}

/// Gather, detect, select; see [`AgentStep`].
pub fn agent_step(
    device: &Device,
    comm: &dyn Communicator,
    local: &LocalFrames,
    dim: usize,
    opts: &AgentOptions,
) -> Result<AgentStep> {
    let t = Instant::now();
    if local.latents.len() != local.ids.len() * dim || local.rmsd.len() != local.ids.len() {
        return Err(Error::Shape(
            "agent_step: ids, latents and rmsd disagree".into(),
        ));
    }
    let ids_all = all_gather(comm, local.ids)?;
    let lat_all = all_gather(comm, local.latents)?;
    let rmsd_all = all_gather(comm, local.rmsd)?;
    let mut order: Vec<usize> = (0..ids_all.len()).collect();
    order.sort_by_key(|&i| ids_all[i]);
    let ids: Vec<u64> = order.iter().map(|&i| ids_all[i]).collect();
    let latents: Vec<f32> = order
        .iter()
        .flat_map(|&i| lat_all[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let rmsd: Vec<f32> = order.iter().map(|&i| rmsd_all[i]).collect();
    let gather_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (mut outliers, scores, eps, reached) = if ids.len() < 2 {
        (Vec::new(), None, None, None)
    } else {
        match &opts.method {
            OutlierMethod::Lof {
                n_neighbors,
                n_outliers,
            } => {
                let s = lof(device, &latents, dim, *n_neighbors)?;
                (top_outliers(&s, *n_outliers), Some(s), None, None)
            }
            OutlierMethod::AdaptiveDbscan(o) => {
                let r = adaptive_dbscan(device, &latents, dim, o)?;
                (r.outliers, None, Some(r.eps), Some(r.reached))
            }
        }
    };
    let detect_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    if opts.sort_by_rmsd {
        outliers.sort_by(|&a, &b| rmsd[a].total_cmp(&rmsd[b]).then(ids[a].cmp(&ids[b])));
    }
    let mut restarts: Vec<u64> = outliers.iter().map(|&i| ids[i]).collect();
    broadcast(comm, 0, &mut restarts)?;
    Ok(AgentStep {
        ids,
        latents,
        rmsd,
        scores,
        outliers,
        restarts,
        dbscan_eps: eps,
        dbscan_reached: reached,
        timings: AgentTimings {
            gather_s,
            detect_s,
            select_s: t.elapsed().as_secs_f64(),
        },
    })
}
