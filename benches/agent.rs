//! The agent step end to end on 80,000 latent vectors of dimension 10
//! (cpu backend, one process: `SingleProcess`, rayon's global pool):
//! all-gather (a copy here), canonical sort by frame id, outlier detection,
//! restart ordering by RMSD.
//!
//! Data (see `tests/common/mod.rs`), as in `benches/outliers.rs`:
//! - `blobs`: 10 Gaussian blobs (unit std, centres uniform in [-10, 10]^10),
//!   closer to real latent sets;
//! - `normal`: i.i.d. standard normal, the hard unclustered case for trees.
//!
//! Frame ids are a shuffled `0..n` (so the canonical sort does real work);
//! RMSDs uniform in [0.1, 1.5) nm.
//!
//! Methods:
//! - `lof`: LOF with k = 20, 100 outliers (DeepDriveMD's `n_neighbors`
//!   default; 100 restarts is the order of its ensemble sizes);
//! - `dbscan`: adaptive DBSCAN from eps 1.3, min_samples 10, tuned until the
//!   noise count is in [50, 150] (at most 20 runs, radius step 1.25, then
//!   bisection) — DeepDriveMD's starting radius and core size, and a target
//!   of the same order as the LOF restarts. Only `blobs`: on i.i.d. normal
//!   points 50–150 noise points need eps ≈ 2.5, where one 80k DBSCAN run
//!   already takes seconds (see `benches/outliers.rs`).
//!
//! Before the criterion groups, one step per case prints its per-phase
//! timings (gather / detect / select, seconds) and outcome to stderr.

#[path = "../tests/common/mod.rs"]
mod data;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;
use steermd::drive::{agent_step, AgentOptions, LocalFrames, OutlierMethod, SingleProcess};
use steermd::outliers::AdaptiveDbscanOptions;
use steermd::Device;

const DIM: usize = 10;
const N: usize = 80_000;

struct Frames {
    ids: Vec<u64>,
    latents: Vec<f32>,
    rmsd: Vec<f32>,
}

impl Frames {
    fn new(latents: Vec<f32>, seed: u64) -> Frames {
        let n = latents.len() / DIM;
        let mut rng = data::Rng::new(seed);
        let mut ids: Vec<u64> = (0..n as u64).collect();
        for i in (1..n).rev() {
            ids.swap(i, rng.below(i + 1));
        }
        let rmsd = (0..n).map(|_| (0.1 + 1.4 * rng.uniform()) as f32).collect();
        Frames { ids, latents, rmsd }
    }

    fn local(&self) -> LocalFrames<'_> {
        LocalFrames {
            ids: &self.ids,
            latents: &self.latents,
            rmsd: &self.rmsd,
        }
    }
}

fn lof() -> AgentOptions {
    AgentOptions {
        method: OutlierMethod::Lof {
            n_neighbors: 20,
            n_outliers: 100,
        },
        sort_by_rmsd: true,
    }
}

fn dbscan() -> AgentOptions {
    AgentOptions {
        method: OutlierMethod::AdaptiveDbscan(AdaptiveDbscanOptions::default()),
        sort_by_rmsd: true,
    }
}

fn cases() -> Vec<(&'static str, &'static str, Frames, AgentOptions)> {
    vec![
        (
            "lof_k20",
            "blobs",
            Frames::new(data::blobs(N, DIM, 10, 2), 3),
            lof(),
        ),
        (
            "lof_k20",
            "normal",
            Frames::new(data::normal(N, DIM, 1), 4),
            lof(),
        ),
        (
            "adaptive_dbscan",
            "blobs",
            Frames::new(data::blobs(N, DIM, 10, 2), 3),
            dbscan(),
        ),
    ]
}

fn step(f: &Frames, opts: &AgentOptions) -> steermd::drive::AgentStep {
    agent_step(&Device::Cpu, &SingleProcess, &f.local(), DIM, opts).unwrap()
}

fn agent(c: &mut Criterion) {
    let cases = cases();
    for (method, name, f, opts) in &cases {
        let s = step(f, opts);
        let t = s.timings;
        eprintln!(
            "agent {method}/{name}/{N}: gather {:.4} s, detect {:.4} s, select {:.4} s, \
             total {:.4} s; {} restarts{}",
            t.gather_s,
            t.detect_s,
            t.select_s,
            t.gather_s + t.detect_s + t.select_s,
            s.restarts.len(),
            match (s.dbscan_eps, s.dbscan_reached) {
                (Some(eps), Some(reached)) => format!(", final eps {eps:.4}, in range: {reached}"),
                _ => String::new(),
            }
        );
    }
    let mut g = c.benchmark_group("agent_step");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (method, name, f, opts) in &cases {
        g.bench_with_input(
            BenchmarkId::new(*method, format!("{name}/{N}")),
            f,
            |b, f| b.iter(|| step(black_box(f), opts)),
        );
    }
    g.finish();
}

criterion_group!(benches, agent);
criterion_main!(benches);
