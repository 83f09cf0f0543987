//! The per-iteration summary line and the "states visited" count behind it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::npy::read_npy;

/// What one iteration did (one line of `summary.jsonl` and of the log).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IterationSummary {
    /// Iteration (0-based).
    pub iteration: usize,
    /// Frames analysed in this iteration, whole ensemble.
    pub frames: usize,
    /// Frames the agent saw (the window).
    pub frames_seen: usize,
    /// Outliers found.
    pub outliers: usize,
    /// DBSCAN (plain or adaptive): the radius used, latent units.
    #[serde(default)]
    pub dbscan_eps: Option<f64>,
    /// Adaptive DBSCAN: whether the outlier count reached
    /// `[agent.min_outliers, agent.max_outliers]` (`false`: the closest run was used).
    #[serde(default)]
    pub dbscan_reached: Option<bool>,
    /// Simulations restarted.
    pub restarts: usize,
    /// Simulations that blew up (and were replaced).
    pub blowups: Vec<String>,
    /// Lowest RMSD to the reference seen so far, nm.
    pub best_rmsd_nm: f32,
    /// States of the summary's state model seen so far (when configured).
    pub states_visited: Option<usize>,
    /// Simulated time of the whole ensemble so far, ns.
    pub simulated_ns: f64,
    /// Wall time of the iteration, s.
    pub wall_s: f64,
    /// Wall time of MD + in-memory analysis, s (rank 0).
    pub md_s: f64,
    /// Wall time of the agent step (gather, outliers, selection), s.
    pub agent_s: f64,
    /// Ensemble throughput over the iteration, ns/day (all ranks).
    pub ns_per_day: f64,
    /// The same per rank, ns/day.
    pub ns_per_day_per_rank: f64,
}

impl IterationSummary {
    /// The human-readable summary line.
    pub fn line(&self) -> String {
        let states = self
            .states_visited
            .map_or_else(|| "-".to_string(), |s| s.to_string());
        let mut s = format!(
            "iter {:>3} | frames {:>5} | outliers {:>4} | restarts {:>3} | best RMSD {:.3} nm | states {:>4} | {:.3} ns | {:.1} ns/day ({:.1}/rank) | md {:.1} s, agent {:.3} s",
            self.iteration,
            self.frames,
            self.outliers,
            self.restarts,
            self.best_rmsd_nm,
            states,
            self.simulated_ns,
            self.ns_per_day,
            self.ns_per_day_per_rank,
            self.md_s,
            self.agent_s
        );
        if let Some(eps) = self.dbscan_eps {
            s.push_str(&format!(" | DBSCAN eps {eps:.4}"));
        }
        if self.dbscan_reached == Some(false) {
            s.push_str(" | outlier range not reached (closest used)");
        }
        if !self.blowups.is_empty() {
            s.push_str(&format!(" | {} blow-up(s) replaced", self.blowups.len()));
        }
        s
    }
}

/// States for the summary line: k-means centres of reference latent
/// vectors; a frame visits the state of its nearest centre.
#[derive(Clone, Debug, PartialEq)]
pub struct StateModel {
    /// Centres `[k][dim]`.
    pub centers: Vec<f32>,
    /// Latent dimension.
    pub dim: usize,
}

impl StateModel {
    /// Cluster the latent vectors in `path` (`.npy`, f32 `[n][dim]`) into
    /// `min(k, n)` states with seeded k-means.
    pub fn from_npy(path: &std::path::Path, dim: usize, k: usize, seed: u64) -> Result<StateModel> {
        let (shape, data) = read_npy::<f32>(path)?;
        if shape.len() != 2 || shape[1] != dim {
            return Err(Error::Shape(format!(
                "{}: states reference has shape {shape:?}, expected [n, {dim}] (the encoder's latent size)",
                path.display()
            )));
        }
        let km = crate::drive::states::kmeans(&data, dim, k.min(shape[0]), seed, 300)?;
        Ok(StateModel {
            centers: km.centers,
            dim,
        })
    }

    /// The state (nearest centre, lowest index on ties) of each latent vector.
    pub fn assign(&self, latents: &[f32]) -> Vec<u32> {
        crate::drive::states::nearest_centers(latents, self.dim, &self.centers)
    }
}
