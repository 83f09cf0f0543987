//! The agent step: partitioned kNN against the full kNN, LOF scores and
//! restart order against independent computations, invariance to frame
//! order and to the number of ranks (threads as ranks via `ThreadComm`),
//! and collective errors.

#[path = "common/mod.rs"]
mod data;

use std::fs::File;
use std::path::Path;

use steermd::drive::{
    agent_step, AgentOptions, AgentStep, AgentTimings, LocalFrames, OutlierMethod, SingleProcess,
    ThreadComm,
};
use steermd::outliers::{knn, knn_part, lof, AdaptiveDbscanOptions};
use steermd::{Device, Error};

const DIM: usize = 10;

fn npy_f32(rel: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let arr = npyz::NpyFile::new(std::io::BufReader::new(file)).expect("valid npy");
    arr.into_vec().expect("npy data")
}

/// The real villin frames: CVAE latents `[250][10]`, Cα RMSD (nm), and
/// scattered, non-monotonic frame ids.
struct Frames {
    ids: Vec<u64>,
    latents: Vec<f32>,
    rmsd: Vec<f32>,
}

impl Frames {
    fn villin() -> Frames {
        let latents = npy_f32("cvae_trained/latent.npy");
        let rmsd = npy_f32("villin_rmsd_ca.npy");
        let n = rmsd.len();
        assert_eq!(latents.len(), n * DIM);
        // Distinct (1009 is prime and n < 1009) and not sorted by row.
        assert!(n < 1009);
        let ids = (0..n as u64).map(|i| (i * 7919) % 1009 * 5 + 17).collect();
        Frames { ids, latents, rmsd }
    }

    /// Synthetic frames: latents from `points`, RMSD from a few values (many
    /// ties, so the id tie-break matters).
    fn synthetic(points: Vec<f32>, seed: u64) -> Frames {
        let n = points.len() / DIM;
        let mut rng = data::Rng::new(seed);
        let mut ids: Vec<u64> = (0..n as u64).map(|i| 3 * i + 11).collect();
        shuffle(&mut ids, &mut rng);
        let rmsd = (0..n).map(|_| 0.1 * rng.below(5) as f32).collect();
        Frames {
            ids,
            latents: points,
            rmsd,
        }
    }

    fn n(&self) -> usize {
        self.ids.len()
    }

    /// The frames at rows `rows`, in that order.
    fn select(&self, rows: &[usize]) -> Frames {
        Frames {
            ids: rows.iter().map(|&r| self.ids[r]).collect(),
            latents: rows
                .iter()
                .flat_map(|&r| &self.latents[r * DIM..][..DIM])
                .copied()
                .collect(),
            rmsd: rows.iter().map(|&r| self.rmsd[r]).collect(),
        }
    }

    fn local(&self) -> LocalFrames<'_> {
        LocalFrames {
            ids: &self.ids,
            latents: &self.latents,
            rmsd: &self.rmsd,
        }
    }
}

fn shuffle<T>(v: &mut [T], rng: &mut data::Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
}

fn lof_opts(n_neighbors: usize, n_outliers: usize, sort_by_rmsd: bool) -> AgentOptions {
    AgentOptions {
        method: OutlierMethod::Lof {
            n_neighbors,
            n_outliers,
        },
        sort_by_rmsd,
    }
}

fn dbscan_opts(min_outliers: usize, max_outliers: usize, sort_by_rmsd: bool) -> AgentOptions {
    AgentOptions {
        method: OutlierMethod::AdaptiveDbscan(AdaptiveDbscanOptions {
            eps: 1.3,
            min_samples: 10,
            min_outliers,
            max_outliers,
            ..AdaptiveDbscanOptions::default()
        }),
        sort_by_rmsd,
    }
}

fn plain_dbscan_opts(eps: f64, min_samples: usize) -> AgentOptions {
    AgentOptions {
        method: OutlierMethod::Dbscan { eps, min_samples },
        sort_by_rmsd: false,
    }
}

/// The step's result without the timings (which differ run to run).
fn untimed(mut s: AgentStep) -> AgentStep {
    s.timings = AgentTimings::default();
    s
}

fn single(frames: &Frames, opts: &AgentOptions) -> AgentStep {
    agent_step(&Device::Cpu, &SingleProcess, &frames.local(), DIM, opts).unwrap()
}

/// Run the step on `frames.len()` threads as ranks, rank `r` holding
/// `frames[r]` with latent dimension `dims[r]`; every rank's outcome, in
/// rank order.
fn on_ranks(
    frames: &[Frames],
    dims: &[usize],
    opts: &AgentOptions,
) -> Vec<steermd::Result<AgentStep>> {
    let group = ThreadComm::group(frames.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .into_iter()
            .zip(frames)
            .zip(dims)
            .map(|((comm, f), &dim)| {
                s.spawn(move || {
                    let local = LocalFrames {
                        ids: &f.ids,
                        latents: &f.latents,
                        rmsd: &f.rmsd,
                    };
                    agent_step(&Device::Cpu, &comm, &local, dim, opts)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Split rows `0..n` (in a shuffled order) into `sizes.len()` ranks, rank
/// `r` getting the share `sizes[r]` (relative weights, 0 allowed).
fn split(frames: &Frames, sizes: &[usize], seed: u64) -> Vec<Frames> {
    let n = frames.n();
    let mut rows: Vec<usize> = (0..n).collect();
    shuffle(&mut rows, &mut data::Rng::new(seed));
    let total: usize = sizes.iter().sum();
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = 0;
    for &s in sizes {
        acc += s;
        let end = n * acc / total;
        out.push(frames.select(&rows[start..end]));
        start = end;
    }
    out
}

// ---------------------------------------------------------------- knn_part

fn point_sets() -> Vec<(&'static str, Vec<f32>, usize)> {
    vec![
        ("villin-latent", npy_f32("cvae_trained/latent.npy"), DIM),
        ("normal-10d", data::normal(700, DIM, 1), DIM),
        ("blobs-10d", data::blobs(900, DIM, 6, 2), DIM),
        ("grid-2d", data::grid(500, 2, 6, 3), 2),
    ]
}

#[test]
fn knn_parts_tile_the_full_knn_exactly() {
    for device in [Device::Cpu, Device::Reference] {
        // The reference default recomputes the full O(n²) kNN per part.
        let (ks, all_parts): (&[usize], &[usize]) = match device {
            Device::Cpu => (&[1, 7, 20], &[1, 2, 3, 7, 40]),
            _ => (&[1, 20], &[1, 2, 3, 7]),
        };
        for (name, p, dim) in point_sets() {
            let n = p.len() / dim;
            for &k in ks {
                let full = knn(&device, &p, dim, k).unwrap();
                for &parts in all_parts {
                    let mut seen = vec![false; n];
                    for part in 0..parts {
                        let what = format!("{device:?} {name} k={k} part {part}/{parts}");
                        let (q, rows) = knn_part(&device, &p, dim, k, part, parts).unwrap();
                        assert_eq!(rows.k, k, "{what}");
                        assert_eq!(rows.idx.len(), q.len() * k, "{what}");
                        assert!(q.windows(2).all(|w| w[0] < w[1]), "{what}: not ascending");
                        for (r, &i) in q.iter().enumerate() {
                            let i = i as usize;
                            assert!(!std::mem::replace(&mut seen[i], true), "{what}: {i} twice");
                            assert_eq!(rows.idx_row(r), full.idx_row(i), "{what}: point {i}");
                            assert_eq!(rows.dist_row(r), full.dist_row(i), "{what}: point {i}");
                        }
                        // Near-equal shares: contiguous index ranges for the
                        // default, whole 32-point blocks for the kd-tree.
                        let slack = if device == Device::Cpu { 32 } else { 1 };
                        assert!(
                            q.len().abs_diff(n / parts) <= slack,
                            "{what}: {} queries of {n}",
                            q.len()
                        );
                    }
                    assert!(seen.iter().all(|&s| s), "{device:?} {name}: not covered");
                }
            }
        }
    }
}

#[test]
fn knn_part_validates_like_knn() {
    let p = data::normal(50, 3, 4);
    for (k, part, parts) in [(0, 0, 1), (50, 0, 1), (5, 1, 1), (5, 0, 0), (5, 3, 2)] {
        let err = knn_part(&Device::Cpu, &p, 3, k, part, parts).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(_)),
            "k={k} {part}/{parts}: {err}"
        );
    }
    let mut bad = p.clone();
    bad[7] = f32::NAN;
    assert!(matches!(
        knn_part(&Device::Cpu, &bad, 3, 5, 0, 2),
        Err(Error::NonFinite(_))
    ));
}

// ------------------------------------------------------- one-process steps

/// Independent restart choice from LOF scores in canonical order: all
/// frames ordered by (score, id), the first `n_outliers`, then optionally
/// reordered by (RMSD, id).
fn expected_lof_restarts(
    ids: &[u64],
    rmsd: &[f32],
    scores: &[f64],
    n_outliers: usize,
    sort_by_rmsd: bool,
) -> Vec<u64> {
    let mut all: Vec<usize> = (0..ids.len()).collect();
    all.sort_by(|&a, &b| {
        scores[a]
            .partial_cmp(&scores[b])
            .unwrap()
            .then(ids[a].cmp(&ids[b]))
    });
    all.truncate(n_outliers);
    if sort_by_rmsd {
        all.sort_by(|&a, &b| {
            rmsd[a]
                .partial_cmp(&rmsd[b])
                .unwrap()
                .then(ids[a].cmp(&ids[b]))
        });
    }
    all.iter().map(|&i| ids[i]).collect()
}

#[test]
fn lof_step_matches_lof_and_the_restart_rule() {
    let sets = [
        Frames::villin(),
        Frames::synthetic(data::blobs(1500, DIM, 8, 5), 6),
    ];
    for frames in &sets {
        for (k, n_out) in [(20, 25), (5, 1), (400, 3000)] {
            for sort_by_rmsd in [false, true] {
                let step = single(frames, &lof_opts(k, n_out, sort_by_rmsd));
                // Canonical order: ascending ids, rows following.
                let mut order: Vec<usize> = (0..frames.n()).collect();
                order.sort_by_key(|&i| frames.ids[i]);
                let canon = frames.select(&order);
                assert_eq!(step.ids, canon.ids);
                assert_eq!(step.latents, canon.latents);
                assert_eq!(step.rmsd, canon.rmsd);
                let scores = lof(&Device::Cpu, &canon.latents, DIM, k).unwrap();
                assert_eq!(step.scores.as_ref(), Some(&scores), "LOF scores");
                let want =
                    expected_lof_restarts(&canon.ids, &canon.rmsd, &scores, n_out, sort_by_rmsd);
                assert_eq!(
                    step.restarts, want,
                    "k={k} n_out={n_out} rmsd={sort_by_rmsd}"
                );
                let from_pos: Vec<u64> = step.outliers.iter().map(|&i| step.ids[i]).collect();
                assert_eq!(step.restarts, from_pos);
                assert_eq!(step.restarts.len(), n_out.min(frames.n()));
                if sort_by_rmsd {
                    assert!(step
                        .outliers
                        .windows(2)
                        .all(|w| step.rmsd[w[0]] <= step.rmsd[w[1]]));
                } else {
                    let s = &scores;
                    assert!(step.outliers.windows(2).all(|w| s[w[0]] <= s[w[1]]));
                }
                assert_eq!((step.dbscan_eps, step.dbscan_reached), (None, None));
            }
        }
    }
}

#[test]
fn dbscan_step_matches_adaptive_dbscan() {
    let frames = Frames::synthetic(data::blobs(2000, DIM, 8, 7), 8);
    for sort_by_rmsd in [false, true] {
        let opts = dbscan_opts(20, 60, sort_by_rmsd);
        let step = single(&frames, &opts);
        let OutlierMethod::AdaptiveDbscan(o) = &opts.method else {
            unreachable!()
        };
        let direct =
            steermd::outliers::adaptive_dbscan(&Device::Cpu, &step.latents, DIM, o).unwrap();
        assert_eq!(step.dbscan_eps, Some(direct.eps));
        assert_eq!(step.dbscan_reached, Some(direct.reached));
        assert!(step.scores.is_none());
        let mut got = step.outliers.clone();
        if sort_by_rmsd {
            let (r, ids) = (&step.rmsd, &step.ids);
            assert!(got
                .windows(2)
                .all(|w| (r[w[0]], ids[w[0]]) < (r[w[1]], ids[w[1]])));
            got.sort_unstable();
        } else {
            assert!(
                step.restarts.windows(2).all(|w| w[0] < w[1]),
                "ascending ids"
            );
        }
        assert_eq!(got, direct.outliers);
        assert!(!got.is_empty());
        // The one-run DBSCAN (its own radius counts) at the chosen radius.
        let one_run =
            steermd::outliers::dbscan(&Device::Cpu, &step.latents, DIM, direct.eps, o.min_samples)
                .unwrap();
        assert_eq!(one_run.labels, direct.labels);
        assert_eq!(got, one_run.noise());
    }
}

#[test]
fn the_result_does_not_depend_on_the_frame_order() {
    let frames = Frames::villin();
    for opts in [
        lof_opts(20, 30, true),
        lof_opts(20, 30, false),
        dbscan_opts(10, 40, true),
    ] {
        let base = untimed(single(&frames, &opts));
        for seed in 0..3 {
            let mut rows: Vec<usize> = (0..frames.n()).collect();
            shuffle(&mut rows, &mut data::Rng::new(100 + seed));
            let again = untimed(single(&frames.select(&rows), &opts));
            assert_eq!(again, base, "{opts:?}, shuffle {seed}");
        }
    }
}

#[test]
fn fewer_than_two_frames_give_no_outliers() {
    let frames = Frames::villin();
    for rows in [vec![], vec![17]] {
        let f = frames.select(&rows);
        for opts in [lof_opts(20, 5, true), dbscan_opts(1, 5, false)] {
            let step = single(&f, &opts);
            assert_eq!(step.ids, f.ids);
            assert!(step.outliers.is_empty() && step.restarts.is_empty());
            assert!(step.scores.is_none() && step.dbscan_eps.is_none());
        }
    }
}

#[test]
fn invalid_input_is_a_clear_error() {
    let frames = Frames::villin();
    let opts = lof_opts(20, 5, true);
    let run = |f: &Frames, dim: usize, opts: &AgentOptions| {
        agent_step(&Device::Cpu, &SingleProcess, &f.local(), dim, opts).unwrap_err()
    };

    let mut dup = frames.select(&(0..40).collect::<Vec<_>>());
    dup.ids[31] = dup.ids[3];
    let e = run(&dup, DIM, &opts);
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(
        e.to_string().contains(&format!("frame id {}", dup.ids[3])),
        "{e}"
    );

    let mut nan = frames.select(&(0..40).collect::<Vec<_>>());
    nan.latents[12 * DIM + 4] = f32::NAN;
    let e = run(&nan, DIM, &opts);
    assert!(matches!(e, Error::NonFinite(_)), "{e}");
    assert!(
        e.to_string().contains(&format!("frame id {}", nan.ids[12])),
        "{e}"
    );

    let mut inf = frames.select(&(0..40).collect::<Vec<_>>());
    inf.rmsd[9] = f32::INFINITY;
    let e = run(&inf, DIM, &opts);
    assert!(matches!(e, Error::NonFinite(_)), "{e}");
    assert!(
        e.to_string().contains(&format!("frame id {}", inf.ids[9])),
        "{e}"
    );

    let mut short = frames.select(&(0..40).collect::<Vec<_>>());
    short.rmsd.pop();
    assert!(matches!(run(&short, DIM, &opts), Error::Shape(_)));
    let mut short = frames.select(&(0..40).collect::<Vec<_>>());
    short.latents.pop();
    assert!(matches!(run(&short, DIM, &opts), Error::Shape(_)));
    assert!(matches!(run(&frames, 9, &opts), Error::Shape(_)));
    assert!(matches!(run(&frames, 0, &opts), Error::InvalidArgument(_)));
    assert!(matches!(
        run(&frames, DIM, &lof_opts(0, 5, false)),
        Error::InvalidArgument(_)
    ));
    let mut bad = dbscan_opts(10, 5, false);
    let e = run(&frames, DIM, &bad);
    assert!(e.to_string().contains("min_outliers"), "{e}");
    if let OutlierMethod::AdaptiveDbscan(o) = &mut bad.method {
        o.min_outliers = 1;
        o.step = 1.0;
    }
    assert!(matches!(run(&frames, DIM, &bad), Error::InvalidArgument(_)));
}

// ------------------------------------------------------ threads as ranks

#[test]
fn ranks_choose_the_same_restarts_as_one_process() {
    let sets = [
        Frames::villin(),
        Frames::synthetic(data::blobs(2500, DIM, 8, 9), 10),
        Frames::synthetic(data::normal(1200, DIM, 11), 12),
    ];
    let splits: [&[usize]; 5] = [&[1, 1], &[5, 1], &[1, 1, 1], &[3, 0, 7], &[0, 2, 1]];
    for (s, frames) in sets.iter().enumerate() {
        for opts in [
            lof_opts(20, 40, true),
            lof_opts(20, 40, false),
            dbscan_opts(20, 80, true),
            dbscan_opts(20, 80, false),
            plain_dbscan_opts(2.0, 10),
            plain_dbscan_opts(1.0, 1),
        ] {
            let want = untimed(single(frames, &opts));
            for (t, sizes) in splits.iter().enumerate() {
                let parts = split(frames, sizes, (10 * s + t) as u64);
                let dims = vec![DIM; parts.len()];
                for (r, got) in on_ranks(&parts, &dims, &opts).into_iter().enumerate() {
                    let got = untimed(got.unwrap());
                    assert_eq!(got, want, "set {s}, split {sizes:?}, rank {r}, {opts:?}");
                }
            }
        }
    }
}

#[test]
fn an_error_on_one_rank_is_an_error_on_every_rank() {
    let frames = Frames::villin();
    let opts = lof_opts(20, 10, true);

    // Rank 1's RMSD slice is short: rank 1 reports it, the others name rank 1.
    let mut parts = split(&frames, &[1, 1, 1], 1);
    parts[1].rmsd.pop();
    let out = on_ranks(&parts, &[DIM; 3], &opts);
    assert!(matches!(&out[1], Err(Error::Shape(_))), "{:?}", out[1]);
    for r in [0, 2] {
        let e = out[r].as_ref().unwrap_err().to_string();
        assert!(e.contains("rank 1"), "rank {r}: {e}");
    }

    // Ranks disagree on the latent dimension (each self-consistent).
    let mut parts = split(&frames, &[1, 1], 2);
    let n1 = parts[1].n();
    parts[1].latents.truncate(n1 * 5);
    let out = on_ranks(&parts, &[DIM, 5], &opts);
    assert!(
        out.iter().all(|o| matches!(o, Err(Error::Shape(_)))),
        "{out:?}"
    );

    // The same id on two ranks: every rank gives the same error.
    let mut parts = split(&frames, &[1, 1, 1], 3);
    parts[2].ids[0] = parts[0].ids[4];
    let out = on_ranks(&parts, &[DIM; 3], &opts);
    let msgs: Vec<String> = out
        .iter()
        .map(|o| o.as_ref().unwrap_err().to_string())
        .collect();
    assert!(
        msgs[0].contains(&format!("frame id {}", parts[0].ids[4])),
        "{}",
        msgs[0]
    );
    assert!(msgs.iter().all(|m| m == &msgs[0]), "{msgs:?}");

    // A NaN latent on rank 0 only: NonFinite on every rank.
    let mut parts = split(&frames, &[2, 1], 4);
    parts[0].latents[3] = f32::NAN;
    let out = on_ranks(&parts, &[DIM; 2], &dbscan_opts(10, 40, false));
    assert!(
        out.iter().all(|o| matches!(o, Err(Error::NonFinite(_)))),
        "{out:?}"
    );
}
