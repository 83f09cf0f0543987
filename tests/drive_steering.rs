//! The steering API (`steermd::drive::Steering`) driven by hand, as a code
//! that runs its own dynamics does: frames of villin.dcd handed over by the
//! ranks owning their simulations (threads as ranks), blow-ups marked,
//! iterations run. Checked: results that do not depend on the number of
//! ranks, outliers against an independent LOF over the window, restart
//! states equal to the frames handed over, and misuse as errors.

use std::path::{Path, PathBuf};

use steermd::drive::ensemble::share;
use steermd::drive::{Communicator, Steering, SteeringConfig, SteeringIteration, ThreadComm};
use steermd::io::read_dcd;
use steermd::outliers::{lof, top_outliers};
use steermd::{Device, Error, Frames};

type V3 = [f64; 3];

const SIMS: usize = 5;
const ITERATIONS: usize = 2;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn config(agent_extra: &str) -> SteeringConfig {
    let text = format!(
        "[analysis]\nmodel = {model:?}\nreference = {reference:?}\n\n\
         [agent]\nmethod = \"lof\"\nlast_n = 12\nn_neighbors = 4\nn_outliers = 3\n\
         copy_velocities_probability = 0.5\n{agent_extra}\n\n[md]\nseed = 7\n",
        model = data("cvae_trained").display().to_string(),
        reference = data("villin_ref.pdb").display().to_string(),
    );
    SteeringConfig::from_toml(&text, Path::new("<test>"), Path::new(".")).unwrap()
}

fn frame(frames: &Frames, f: usize) -> Vec<V3> {
    frames
        .frame(f)
        .chunks_exact(3)
        .map(|p| [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])])
        .collect()
}

/// Frames simulation `sim` hands over in iteration `it`: DCD frame
/// indices, fewer for the blow-ups (sim 3 in iteration 0 after one frame,
/// sim 0 in iteration 1 before any).
fn schedule(it: usize, sim: usize) -> (Vec<usize>, bool) {
    let base = (it * SIMS + sim) * 11 % 200;
    match (it, sim) {
        (0, 3) => (vec![base], true),
        (1, 0) => (vec![], true),
        _ => (vec![base, base + 5], false),
    }
}

/// Velocities are handed over for even simulations only (nm/ps).
fn velocities_of(sim: usize, positions: &[V3]) -> Option<Vec<V3>> {
    sim.is_multiple_of(2)
        .then(|| positions.iter().map(|p| p.map(|x| 0.01 * x)).collect())
}

/// One rank's run: its iterations' results.
fn run_rank(comm: &dyn Communicator, frames: &Frames) -> Vec<SteeringIteration> {
    let mine = share(SIMS, comm.rank(), comm.size());
    let mut steering = Steering::new(comm, &config(""), mine.len(), Device::Cpu).unwrap();
    assert_eq!(steering.local_simulations(), mine);
    let mut out = Vec::new();
    for it in 0..ITERATIONS {
        for sim in mine.clone() {
            let (fs, failed) = schedule(it, sim);
            for (k, &f) in fs.iter().enumerate() {
                let p = frame(frames, f);
                let v = velocities_of(sim, &p);
                let step = (it * 10 + k + 1) as u64 * 500;
                steering.add_frame(sim, step, p, None, v).unwrap();
            }
            if failed {
                steering
                    .mark_failed(sim, &format!("sim {sim} blew up"))
                    .unwrap();
            }
        }
        let mut r = steering.iterate().unwrap().clone();
        r.step.timings = Default::default();
        out.push(r);
    }
    out
}

/// Every rank's results for `ranks` thread-ranks.
fn run(ranks: usize, frames: &Frames) -> Vec<Vec<SteeringIteration>> {
    let comms = ThreadComm::group(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = comms
            .into_iter()
            .map(|c| s.spawn(move || run_rank(&c, frames)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The DCD frame and simulation behind frame `id` (2 slots per simulation).
fn source_of(id: u64) -> (usize, usize) {
    let (it, rest) = (id as usize / (2 * SIMS), id as usize % (2 * SIMS));
    let (sim, k) = (rest / 2, rest % 2);
    (schedule(it, sim).0[k], sim)
}

#[test]
fn results_do_not_depend_on_ranks_and_match_an_independent_lof() {
    let frames = read_dcd(data("villin.dcd")).unwrap();
    let one = run(1, &frames);
    let dim = 10;
    let mut window: Vec<(u64, Vec<f32>, f32)> = Vec::new();
    for (it, r) in one[0].iter().enumerate() {
        // Ids (it·M + sim)·2 + k, the blown-up simulations' missing.
        let want: Vec<u64> = (0..SIMS)
            .flat_map(|sim| {
                let n = schedule(it, sim).0.len() as u64;
                (0..n).map(move |k| (it * SIMS + sim) as u64 * 2 + k)
            })
            .collect();
        assert_eq!(r.ids, want, "iteration {it}");
        assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
        for (k, &id) in r.ids.iter().enumerate() {
            window.push((id, r.latents[k * dim..(k + 1) * dim].to_vec(), r.rmsd[k]));
        }
        let newest = ((it + 1) * SIMS * 2) as u64;
        window.retain(|w| w.0 + 12 >= newest);
        assert_eq!(r.step.ids, window.iter().map(|w| w.0).collect::<Vec<_>>());
        // Independent agent: LOF (k = 4), the 3 most negative, by (RMSD, id).
        let pts: Vec<f32> = window.iter().flat_map(|w| w.1.clone()).collect();
        let scores = lof(&Device::Reference, &pts, dim, 4).unwrap();
        let mut picked = top_outliers(&scores, 3);
        picked.sort_by(|&a, &b| {
            (window[a].2)
                .total_cmp(&window[b].2)
                .then(window[a].0.cmp(&window[b].0))
        });
        let expect: Vec<u64> = picked.iter().map(|&i| window[i].0).collect();
        assert_eq!(r.step.restarts, expect, "iteration {it}");
        assert_eq!(r.restarts.len(), SIMS);
        for (sim, restart) in r.restarts.iter().enumerate() {
            assert_eq!(restart.simulation, sim);
            assert_eq!(restart.frame_id, expect[sim % expect.len()]);
            assert_eq!(restart.reason, "outlier");
        }
    }
    for ranks in [2, 3] {
        let many = run(ranks, &frames);
        for (rank, results) in many.iter().enumerate() {
            let mine = share(SIMS, rank, ranks);
            for (it, r) in results.iter().enumerate() {
                let all = &one[0][it];
                let strip = |x: &SteeringIteration| SteeringIteration {
                    local: Vec::new(),
                    ..x.clone()
                };
                assert_eq!(strip(r), strip(all), "{ranks} ranks, rank {rank}, it {it}");
                assert_eq!(
                    r.local[..],
                    all.local[mine.clone()],
                    "{ranks} ranks, rank {rank}"
                );
            }
        }
    }
    // Restart states are the frames handed over.
    for r in &one[0] {
        for from in r.local.iter().flatten() {
            let id = from.frame_id.unwrap();
            let (f, sim) = source_of(id);
            assert_eq!(from.source_simulation, sim);
            assert_eq!(from.positions, frame(&frames, f), "frame {id}");
            let v = velocities_of(sim, &from.positions);
            assert_eq!(from.velocities, v.clone().unwrap_or_default());
            if v.is_none() {
                assert!(!from.copy_velocities);
            }
        }
    }
}

fn steering_with_one_sim(comm: &dyn Communicator) -> Steering<'_> {
    Steering::new(comm, &config(""), 1, Device::Cpu).unwrap()
}

#[test]
fn misuse_is_an_error_naming_what_and_where() {
    let frames = read_dcd(data("villin.dcd")).unwrap();
    let comm = steermd::drive::SingleProcess;
    let mut s = steering_with_one_sim(&comm);
    let good = frame(&frames, 0);
    let err = |e: Error| e.to_string();
    let e = err(s.add_frame(1, 1, good.clone(), None, None).unwrap_err());
    assert!(e.contains("simulation 1") && e.contains("rank 0"), "{e}");
    let e = err(s
        .add_frame(0, 1, good[1..].to_vec(), None, None)
        .unwrap_err());
    assert!(e.contains(&format!("{} positions", good.len() - 1)), "{e}");
    let mut nan = good.clone();
    nan[7][1] = f64::NAN;
    let e = err(s.add_frame(0, 1, nan, None, None).unwrap_err());
    assert!(e.contains("atom 7"), "{e}");
    s.add_frame(0, 10, good.clone(), None, None).unwrap();
    let e = err(s.add_frame(0, 10, good.clone(), None, None).unwrap_err());
    assert!(e.contains("step 10 does not follow step 10"), "{e}");
    let e = err(s.analyze().err().expect("analyze without a fixed stride"));
    assert!(e.contains("frames per iteration"), "{e}");
    s.set_frames_per_iteration(1);
    let e = err(s.add_frame(0, 20, good.clone(), None, None).unwrap_err());
    assert!(e.contains("already handed over 1 frames"), "{e}");
    s.analyze().unwrap();
    let e = err(s.add_frame(0, 30, good, None, None).unwrap_err());
    assert!(e.contains("already analysed"), "{e}");
    s.iterate().unwrap();
    assert_eq!(s.iterations_done(), 1);
}

#[test]
fn a_bad_config_on_one_rank_fails_every_rank() {
    let comms = ThreadComm::group(3);
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = comms
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    let mut cfg = config("");
                    if c.rank() == 1 {
                        cfg.agent.n_neighbors = Some(0);
                    }
                    match Steering::new(&c, &cfg, 1, Device::Cpu) {
                        Ok(_) => String::new(),
                        Err(e) => e.to_string(),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (rank, e) in errors.iter().enumerate() {
        assert!(!e.is_empty(), "rank {rank} did not fail");
        if rank != 1 {
            assert!(e.contains("rank 1"), "rank {rank}: {e}");
        }
    }
}
