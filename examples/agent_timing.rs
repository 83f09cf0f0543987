//! Release-mode timings of the agent step (one process) next to the bare
//! detector on the same points, alternating the two so that both see the
//! same machine load; prints the minimum and median of `reps` runs, and
//! the time of each half of a 2-part kNN (`knn_part`) against the full one,
//! and the step on 2 ranks run as threads of this process (`ThreadComm`,
//! each rank holding half the frames; both share rayon's pool), a stand-in
//! for `mpirun -n 2` with one thread per rank.
//!
//! `cargo run --release --example agent_timing -- [n [reps]]`
//! (defaults: 80,000 points of dimension 10, 5 repetitions). Data and
//! options as in `benches/agent.rs`.

#[path = "../tests/common/mod.rs"]
mod data;

use std::time::Instant;
use steermd::drive::comm::ThreadComm;
use steermd::drive::{
    agent_step, AgentOptions, AgentTimings, LocalFrames, OutlierMethod, SingleProcess,
};
use steermd::outliers::{adaptive_dbscan, knn, knn_part, lof, AdaptiveDbscanOptions};
use steermd::Device;

const DIM: usize = 10;

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

/// Wall time of one step on 2 thread-ranks, rank r holding the frames
/// `r, r + 2, ...` (the slowest rank's view).
fn two_ranks(ids: &[u64], latents: &[f32], rmsd: &[f32], opts: &AgentOptions) -> f64 {
    let halves: Vec<(Vec<u64>, Vec<f32>, Vec<f32>)> = (0..2)
        .map(|r| {
            let rows: Vec<usize> = (r..ids.len()).step_by(2).collect();
            (
                rows.iter().map(|&i| ids[i]).collect(),
                rows.iter()
                    .flat_map(|&i| &latents[i * DIM..][..DIM])
                    .copied()
                    .collect(),
                rows.iter().map(|&i| rmsd[i]).collect(),
            )
        })
        .collect();
    let t = Instant::now();
    std::thread::scope(|s| {
        for (comm, (ids, latents, rmsd)) in ThreadComm::group(2).into_iter().zip(&halves) {
            s.spawn(move || {
                let local = LocalFrames { ids, latents, rmsd };
                agent_step(&Device::Cpu, &comm, &local, DIM, opts).unwrap();
            });
        }
    });
    t.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are integers"))
        .collect();
    let n = args.first().copied().unwrap_or(80_000);
    let reps = args.get(1).copied().unwrap_or(5).max(1);
    let dbscan_opts = AdaptiveDbscanOptions::default();
    for (name, latents) in [
        ("blobs", data::blobs(n, DIM, 10, 2)),
        ("normal", data::normal(n, DIM, 1)),
    ] {
        let mut rng = data::Rng::new(3);
        let mut ids: Vec<u64> = (0..n as u64).collect();
        for i in (1..n).rev() {
            ids.swap(i, rng.below(i + 1));
        }
        let rmsd: Vec<f32> = (0..n).map(|_| (0.1 + 1.4 * rng.uniform()) as f32).collect();
        let local = LocalFrames {
            ids: &ids,
            latents: &latents,
            rmsd: &rmsd,
        };
        let mut methods = vec![(
            "lof k=20",
            AgentOptions {
                method: OutlierMethod::Lof {
                    n_neighbors: 20,
                    n_outliers: 100,
                },
                sort_by_rmsd: true,
            },
        )];
        if name == "blobs" {
            methods.push((
                "adaptive dbscan",
                AgentOptions {
                    method: OutlierMethod::AdaptiveDbscan(dbscan_opts.clone()),
                    sort_by_rmsd: true,
                },
            ));
        }
        // How the kNN work splits between ranks: each part's own time
        // (same tree build, its share of the queries).
        let (mut full, mut halves) = (Vec::new(), [Vec::new(), Vec::new()]);
        for _ in 0..reps {
            let t = Instant::now();
            knn(&Device::Cpu, &latents, DIM, 20).unwrap();
            full.push(t.elapsed().as_secs_f64());
            for (part, times) in halves.iter_mut().enumerate() {
                let t = Instant::now();
                knn_part(&Device::Cpu, &latents, DIM, 20, part, 2).unwrap();
                times.push(t.elapsed().as_secs_f64());
            }
        }
        let [h0, h1] = halves;
        println!(
            "{name} n={n} knn k=20 min: full {:.3} s; part 0/2 {:.3} s, part 1/2 {:.3} s",
            stats(full).0,
            stats(h0).0,
            stats(h1).0
        );
        for (what, opts) in methods {
            let (mut bare, mut whole, mut phases) = (Vec::new(), Vec::new(), Vec::new());
            let mut ranks2 = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                match &opts.method {
                    OutlierMethod::Lof { n_neighbors, .. } => {
                        lof(&Device::Cpu, &latents, DIM, *n_neighbors).unwrap();
                    }
                    OutlierMethod::Dbscan { eps, min_samples } => {
                        steermd::outliers::dbscan(&Device::Cpu, &latents, DIM, *eps, *min_samples)
                            .unwrap();
                    }
                    OutlierMethod::AdaptiveDbscan(o) => {
                        adaptive_dbscan(&Device::Cpu, &latents, DIM, o).unwrap();
                    }
                }
                bare.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                let s = agent_step(&Device::Cpu, &SingleProcess, &local, DIM, &opts).unwrap();
                whole.push(t.elapsed().as_secs_f64());
                phases.push(s.timings);
                ranks2.push(two_ranks(&ids, &latents, &rmsd, &opts));
            }
            let (bmin, bmed) = stats(bare);
            let (wmin, wmed) = stats(whole);
            let best: AgentTimings = phases
                .into_iter()
                .min_by(|a, b| a.detect_s.total_cmp(&b.detect_s))
                .expect("reps >= 1");
            println!(
                "{name} n={n} {what}: detector alone min {bmin:.3} s (median {bmed:.3}); \
                 agent step min {wmin:.3} s (median {wmed:.3}); best phases: gather {:.4}, \
                 detect {:.3}, select {:.5} s; 2 thread-ranks min {:.3} s",
                best.gather_s,
                best.detect_s,
                best.select_s,
                stats(ranks2).0
            );
        }
    }
}
