//! The science check of a steered campaign against plain MD: embed every
//! frame of both runs with the same encoder (done during the runs), cluster
//! all latent vectors into `k` states with seeded k-means, and compare the
//! fraction of states visited against aggregate simulated time.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::drive::config::DriveConfig;
use crate::drive::output::iteration_dir;
use crate::drive::plot::{write_campaign_plot, PlotInfo, Series};
use crate::drive::seeds::{derive, Stream};
use crate::drive::states::{kmeans, time_to_fraction, visited_fraction};
use crate::error::{Error, Result};
use crate::io::npy::read_npy;

/// Every frame a campaign wrote, in id order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CampaignFrames {
    /// Aggregate simulated time of the ensemble at each frame, ps.
    pub times_ps: Vec<f64>,
    /// Latent vectors `[n][dim]`.
    pub latents: Vec<f32>,
    /// RMSD to the reference, nm.
    pub rmsd: Vec<f32>,
    /// Latent dimension.
    pub dim: usize,
}

/// Read the per-iteration outputs (`latents.npy`, `rmsd.npy`,
/// `frame_ids.npy`) of the campaign `cfg` wrote.
pub fn read_campaign_frames(cfg: &DriveConfig) -> Result<CampaignFrames> {
    let mut out = CampaignFrames::default();
    let (m, f) = (
        cfg.ensemble.simulations as u64,
        cfg.frames_per_iteration() as u64,
    );
    let frame_ps = cfg.md.report_interval as f64 * cfg.md.dt;
    for it in 0..cfg.md.iterations {
        let dir = iteration_dir(cfg, it);
        let (shape, lat) = read_npy::<f32>(dir.join("latents.npy"))?;
        let (_, rmsd) = read_npy::<f32>(dir.join("rmsd.npy"))?;
        let (_, ids) = read_npy::<i64>(dir.join("frame_ids.npy"))?;
        if shape.len() != 2 || ids.len() != shape[0] || rmsd.len() != shape[0] {
            return Err(Error::format(
                &dir,
                format!(
                    "latents {shape:?}, {} ids, {} RMSDs disagree",
                    ids.len(),
                    rmsd.len()
                ),
            ));
        }
        if out.dim != 0 && out.dim != shape[1] {
            return Err(Error::format(
                &dir,
                "latent size changed between iterations",
            ));
        }
        out.dim = shape[1];
        for &id in &ids {
            let id = id as u64;
            let (iteration, index) = (id / (f * m), id % f);
            out.times_ps
                .push(m as f64 * (iteration * f + index + 1) as f64 * frame_ps);
        }
        out.latents.extend(lat);
        out.rmsd.extend(rmsd);
    }
    Ok(out)
}

/// Steered vs plain, over states from one k-means of both runs' frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Number of states (k-means clusters).
    pub states: usize,
    /// Frames of each run.
    pub frames: [usize; 2],
    /// Fraction of states visited by the end, per run (steered, plain).
    pub final_fraction: [f64; 2],
    /// Aggregate simulated time to reach 50 % of the states, ns (None: not reached).
    pub time_to_half_ns: [Option<f64>; 2],
    /// Aggregate simulated time of each run, ns.
    pub budget_ns: [f64; 2],
    /// plain time / steered time to 50 % (None unless both reached it).
    pub speedup_to_half: Option<f64>,
    /// Lowest RMSD to the reference per run, nm.
    pub best_rmsd_nm: [f32; 2],
    /// (time ns, fraction visited) per run.
    pub visited: [Vec<(f64, f64)>; 2],
    /// (time ns, best RMSD so far nm) per run.
    pub best_rmsd: [Vec<(f64, f64)>; 2],
}

/// Compare the campaigns written by `steered` and `plain` (same encoder).
pub fn compare(
    steered: &DriveConfig,
    plain: &DriveConfig,
    k: usize,
    seed: u64,
) -> Result<Comparison> {
    let runs = [read_campaign_frames(steered)?, read_campaign_frames(plain)?];
    if runs[0].dim != runs[1].dim {
        return Err(Error::Shape(
            "the two campaigns have different latent sizes".into(),
        ));
    }
    let dim = runs[0].dim;
    let all: Vec<f32> = runs
        .iter()
        .flat_map(|r| r.latents.iter().copied())
        .collect();
    let n_all = all.len() / dim.max(1);
    let k = k.min(n_all);
    let km = kmeans(&all, dim, k, derive(seed, Stream::States, 1, 0), 300)?;
    let n0 = runs[0].times_ps.len();
    let labels = [&km.labels[..n0], &km.labels[n0..]];
    let mut visited = [Vec::new(), Vec::new()];
    let mut best = [Vec::new(), Vec::new()];
    for r in 0..2 {
        visited[r] = visited_fraction(labels[r], k, &runs[r].times_ps)
            .into_iter()
            .map(|(t, f)| (t / 1000.0, f))
            .collect();
        let mut order: Vec<usize> = (0..runs[r].times_ps.len()).collect();
        order.sort_by(|&a, &b| runs[r].times_ps[a].total_cmp(&runs[r].times_ps[b]));
        let mut lo = f64::INFINITY;
        best[r] = order
            .iter()
            .map(|&i| {
                lo = lo.min(f64::from(runs[r].rmsd[i]));
                (runs[r].times_ps[i] / 1000.0, lo)
            })
            .collect();
    }
    let half = [
        time_to_fraction(&visited[0], 0.5),
        time_to_fraction(&visited[1], 0.5),
    ];
    let last = |v: &Vec<(f64, f64)>| v.last().map_or((0.0, 0.0), |p| *p);
    Ok(Comparison {
        states: k,
        frames: [n0, runs[1].times_ps.len()],
        final_fraction: [last(&visited[0]).1, last(&visited[1]).1],
        time_to_half_ns: half,
        budget_ns: [last(&visited[0]).0, last(&visited[1]).0],
        speedup_to_half: match half {
            [Some(s), Some(p)] if s > 0.0 => Some(p / s),
            _ => None,
        },
        best_rmsd_nm: [
            runs[0].rmsd.iter().copied().fold(f32::INFINITY, f32::min),
            runs[1].rmsd.iter().copied().fold(f32::INFINITY, f32::min),
        ],
        visited,
        best_rmsd: best,
    })
}

impl Comparison {
    /// The printed comparison table.
    pub fn report(&self) -> String {
        let t = |x: Option<f64>| x.map_or("not reached".to_string(), |v| format!("{v:.4} ns"));
        let mut s = format!(
            "states visited (k-means, k = {} over both runs' latents):\n\
             {:>8} | {:>6} frames | {:>5.1}% of states by {:.3} ns | 50% at {} | best RMSD {:.3} nm\n\
             {:>8} | {:>6} frames | {:>5.1}% of states by {:.3} ns | 50% at {} | best RMSD {:.3} nm\n",
            self.states,
            "steered",
            self.frames[0],
            100.0 * self.final_fraction[0],
            self.budget_ns[0],
            t(self.time_to_half_ns[0]),
            self.best_rmsd_nm[0],
            "plain",
            self.frames[1],
            100.0 * self.final_fraction[1],
            self.budget_ns[1],
            t(self.time_to_half_ns[1]),
            self.best_rmsd_nm[1],
        );
        s.push_str(&match (self.speedup_to_half, self.time_to_half_ns) {
            (Some(r), _) => format!("steered reached 50% of states {r:.2}x sooner than plain MD\n"),
            (None, [Some(st), None]) => format!(
                "plain MD did not reach 50% of states within {:.3} ns; steered did at {st:.4} ns (ratio > {:.2}x)\n",
                self.budget_ns[1],
                self.budget_ns[1] / st
            ),
            _ => "steered MD did not reach 50% of states within its budget\n".to_string(),
        });
        s
    }

    /// Write the two-panel PNG (states visited and best RMSD vs time).
    pub fn plot(&self, path: &Path) -> Result<PlotInfo> {
        let ps = |v: &[(f64, f64)]| v.iter().map(|&(t, y)| (t * 1000.0, y)).collect();
        let series = |v: &[Vec<(f64, f64)>; 2]| {
            vec![
                Series {
                    label: "steered".into(),
                    points: ps(&v[0]),
                },
                Series {
                    label: "plain MD".into(),
                    points: ps(&v[1]),
                },
            ]
        };
        write_campaign_plot(path, &series(&self.visited), &series(&self.best_rmsd))
    }
}
