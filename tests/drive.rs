//! The campaign driver in one process: a short steered campaign end to end
//! (restart choices checked against an independent LOF computation),
//! thread-count independence, blow-up replacement in plain mode, resume
//! after a kill, and configuration errors caught before any work.

mod drive_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use drive_support::{assert_same_campaign, iteration, small_config, write_config};
use steermd::drive::{run_campaign, DriveConfig, Silent, SingleProcess};
use steermd::outliers::{lof, top_outliers};
use steermd::{Device, Error};

fn config(dir: &Path, iterations: usize, mode: &str, extra: &str) -> DriveConfig {
    let out = dir.join("out");
    DriveConfig::from_file(&write_config(
        dir,
        &small_config(&out, iterations, mode, extra),
    ))
    .unwrap()
}

fn run_in_pool(cfg: &DriveConfig, threads: usize) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| run_campaign(cfg, &SingleProcess, &Device::Cpu, false, &Silent))
        .unwrap();
}

#[test]
fn steered_campaign_end_to_end_and_thread_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(&tmp.path().join("a"), 2, "steered", "");
    run_in_pool(&cfg, 2);
    let out = &cfg.output.dir;
    let dim = 10;
    let mut window: Vec<(i64, Vec<f32>, f32)> = Vec::new();
    for it in 0..2 {
        let (ids, lat, rmsd, restarts) = iteration(out, it);
        // 4 simulations x 2 frames, ids (it*4 + sim)*2 + k, ascending.
        let want: Vec<i64> = (0..8).map(|j| (it as i64 * 4) * 2 + j).collect();
        assert_eq!(ids, want);
        assert_eq!(lat.len(), 8 * dim);
        assert!(lat.iter().all(|x| x.is_finite()));
        assert!(rmsd.iter().all(|&r| r > 0.0 && r < 2.0), "{rmsd:?}");
        for (k, &id) in ids.iter().enumerate() {
            window.push((id, lat[k * dim..(k + 1) * dim].to_vec(), rmsd[k]));
        }
        window.retain(|w| w.0 >= (it as i64 + 1) * 8 - 16);
        // Independent agent: LOF (k = 5) over the window, 4 most negative,
        // ordered by (RMSD, id).
        let pts: Vec<f32> = window.iter().flat_map(|w| w.1.clone()).collect();
        let scores = lof(&Device::Reference, &pts, dim, 5).unwrap();
        let mut picked = top_outliers(&scores, 4);
        picked.sort_by(|&a, &b| {
            window[a]
                .2
                .total_cmp(&window[b].2)
                .then(window[a].0.cmp(&window[b].0))
        });
        let expect: Vec<u64> = picked.iter().map(|&i| window[i].0 as u64).collect();
        let got: Vec<u64> = serde_json::from_value(restarts["outliers"].clone()).unwrap();
        assert_eq!(got, expect, "iteration {it}: outliers");
        let assigned = restarts["restarts"].as_array().unwrap();
        assert_eq!(assigned.len(), 4);
        for (s, r) in assigned.iter().enumerate() {
            assert_eq!(r["simulation"], s);
            assert_eq!(r["frame_id"].as_u64().unwrap(), expect[s % expect.len()]);
            assert_eq!(r["reason"], "outlier");
        }
        // Contact maps in the DeepDriveMD COO layout, one file pair per simulation.
        for sim in 0..4 {
            let dir = out.join(format!("iter_{it:04}"));
            let (_, offsets) = steermd::io::npy::read_npy::<i64>(
                dir.join(format!("sim_{sim:04}_contact_map.offsets.npy")),
            )
            .unwrap();
            assert_eq!(offsets.len(), 3, "2 frames + 1 offsets");
            let traj = steermd::io::dcd::read_dcd(dir.join(format!("sim_{sim:04}.dcd"))).unwrap();
            assert_eq!((traj.n_frames(), traj.n_atoms), (2, 582));
        }
    }
    // The in-memory pipeline equals the file-based one on the written DCDs.
    assert_matches_file_pipeline(&cfg, 1);
    let summary = std::fs::read_to_string(out.join("summary.jsonl")).unwrap();
    assert_eq!(summary.lines().count(), 2);
    assert!(out.join("checkpoint/iter_0002/campaign.json").exists());
    assert!(
        !out.join("checkpoint/iter_0001").exists(),
        "older checkpoints are removed"
    );

    // Same campaign on one thread: bitwise the same.
    let one = config(&tmp.path().join("b"), 2, "steered", "");
    run_in_pool(&one, 1);
    assert_same_campaign(out, &one.output.dir, 2);
}

/// Recompute iteration `it`'s latents and RMSDs from the DCD files with the
/// file-based kernels (contact maps or point clouds → encoder, RMSD) and
/// compare with what the campaign computed in memory. DCD stores f32 Å, so
/// the round trip nm → Å → nm perturbs coordinates by ~1 f32 ulp (~1e-7
/// relative); the bounds (1e-5 absolute on latents of magnitude ~0.05–1,
/// 1e-5 nm on RMSDs) allow that and nothing else — consecutive frames, 0.1 ps
/// apart, differ by 1e-3 or more.
fn assert_matches_file_pipeline(cfg: &DriveConfig, it: usize) {
    use steermd::analysis::{contact_maps, rmsd, ContactMapOptions};
    use steermd::nn::{point_clouds, Encoder};
    let (top, _) = steermd::io::pdb::read_pdb(cfg.system.pdb.as_ref().unwrap()).unwrap();
    let sel = top.select_names(&["CA"]).unwrap();
    let (_, reference) = steermd::io::pdb::read_pdb(&cfg.analysis.reference).unwrap();
    let reference = reference.gather(&sel).unwrap();
    let enc = Encoder::load(&cfg.analysis.model).unwrap();
    let (_, lat, r, _) = iteration(&cfg.output.dir, it);
    let dim = enc.latent_dim();
    for sim in 0..4 {
        let dir = cfg.output.dir.join(format!("iter_{it:04}"));
        let frames = steermd::io::dcd::read_dcd(dir.join(format!("sim_{sim:04}.dcd"))).unwrap();
        let input: Vec<f32> = match &enc {
            Encoder::Cvae(_) => {
                contact_maps(&Device::Cpu, &frames, &sel, &ContactMapOptions::default())
                    .unwrap()
                    .dense_u8()
                    .iter()
                    .map(|&v| f32::from(v))
                    .collect()
            }
            Encoder::Aae(_) => point_clouds(&frames, &sel).unwrap(),
        };
        let z = enc.embed(&Device::Cpu, &input, frames.n_frames()).unwrap();
        let rr = rmsd(&Device::Cpu, &reference, &frames, &sel).unwrap();
        let rows = sim * 2..sim * 2 + 2;
        let close = |a: &[f32], b: &[f32], tol: f32| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
        };
        let mem = &lat[rows.start * dim..rows.end * dim];
        assert!(close(&z, mem, 1e-5), "sim {sim}: latents {z:?} vs {mem:?}");
        assert!(
            close(&rr, &r[rows.clone()], 1e-5),
            "sim {sim}: RMSDs {rr:?} vs {:?}",
            &r[rows]
        );
    }
}

#[test]
fn point_cloud_encoder_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), 1, "steered", "");
    cfg.analysis.model = drive_support::data().join("aae_a");
    run_campaign(&cfg, &SingleProcess, &Device::Cpu, false, &Silent).unwrap();
    assert_matches_file_pipeline(&cfg, 0);
}

#[cfg(feature = "hdf5")]
#[test]
fn hdf5_contact_maps() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path(), 1, "plain", "");
    cfg.output.format = "hdf5".into();
    run_campaign(&cfg, &SingleProcess, &Device::Cpu, false, &Silent).unwrap();
    for sim in 0..4 {
        assert!(cfg
            .output
            .dir
            .join(format!("iter_0000/sim_{sim:04}.h5"))
            .exists());
    }
}

#[cfg(not(feature = "hdf5"))]
#[test]
fn hdf5_output_needs_the_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small_config(&tmp.path().join("out"), 1, "plain", "")
        .replace("dcd = true", "dcd = true\nformat = \"hdf5\"");
    let e = DriveConfig::from_file(&write_config(tmp.path(), &text)).unwrap_err();
    assert!(e.to_string().contains("`hdf5` feature"), "{e}");
}

#[test]
fn plain_mode_replaces_a_blown_up_simulation_without_nans() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        tmp.path(),
        2,
        "plain",
        "[fault_injection]\nblow_up = [[1, 0]]\n",
    );
    let report = run_campaign(&cfg, &SingleProcess, &Device::Cpu, false, &Silent).unwrap();
    let s0 = &report.state.summaries[0];
    assert_eq!(s0.blowups.len(), 1, "{:?}", s0.blowups);
    assert!(
        s0.blowups[0].contains("simulation 1 blew up"),
        "{}",
        s0.blowups[0]
    );
    let (ids0, lat0, _, r0) = iteration(&cfg.output.dir, 0);
    let replaced = r0["restarts"].as_array().unwrap();
    assert_eq!(
        replaced.len(),
        1,
        "plain mode restarts only the blown-up simulation"
    );
    assert_eq!(replaced[0]["simulation"], 1);
    assert_eq!(replaced[0]["reason"], "blow-up");
    assert!(lat0.iter().all(|x| x.is_finite()));
    assert!(
        !ids0.contains(&2) || !ids0.contains(&3),
        "sim 1 cannot have finished both frames"
    );
    let (ids1, lat1, _, r1) = iteration(&cfg.output.dir, 1);
    assert!(lat1.iter().all(|x| x.is_finite()));
    assert!(
        ids1.contains(&10) && ids1.contains(&11),
        "replaced simulation runs again: {ids1:?}"
    );
    assert!(r1["restarts"].as_array().unwrap().is_empty());
}

#[test]
fn resume_after_kill_matches_an_uninterrupted_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_steermd");
    let full = write_config(
        &tmp.path().join("full"),
        &small_config(&tmp.path().join("full/out"), 3, "steered", ""),
    );
    let st = Command::new(bin)
        .args(["drive", "--quiet", "--config"])
        .arg(&full)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );

    let out = tmp.path().join("killed/out");
    let cfg = write_config(
        &tmp.path().join("killed"),
        &small_config(&out, 3, "steered", ""),
    );
    let mut child = Command::new(bin)
        .args(["drive", "--quiet", "--config"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !out.join("checkpoint/iter_0001").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "no checkpoint after 600 s"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let resumed = Command::new(bin)
        .args(["drive", "--quiet", "--resume", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_same_campaign(&tmp.path().join("full/out"), &out, 3);

    // A fresh (not resumed) campaign in the same directory starts over and
    // removes the old checkpoints.
    let mut fresh = DriveConfig::from_file(&cfg).unwrap();
    fresh.md.iterations = 1;
    run_campaign(&fresh, &SingleProcess, &Device::Cpu, false, &Silent).unwrap();
    assert!(out.join("checkpoint/iter_0001").exists());
    assert!(!out.join("checkpoint/iter_0003").exists());

    // A checkpoint of another configuration is refused, naming the file.
    let other = small_config(&out, 3, "steered", "").replace("seed = 11", "seed = 12");
    let other = DriveConfig::from_file(&write_config(&tmp.path().join("other"), &other)).unwrap();
    let e = run_campaign(&other, &SingleProcess, &Device::Cpu, true, &Silent).unwrap_err();
    assert!(e.to_string().contains("different configuration"), "{e}");

    // `--precision` overrides md.precision: resuming at another precision
    // is another configuration; an unknown precision is one error line.
    for (precision, needle) in [
        ("double", "different configuration"),
        ("single", "unknown precision 'single'"),
    ] {
        let o = Command::new(bin)
            .args(["--precision", precision, "drive", "--quiet", "--resume"])
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(needle), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn configuration_errors_are_caught_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let base = small_config(&tmp.path().join("out"), 1, "steered", "");
    let parse = |text: &str| DriveConfig::from_file(&write_config(tmp.path(), text));

    let e = parse(&base.replace("[ensemble]", "[ensemble]\nreplicas = 3")).unwrap_err();
    let line = base.lines().position(|l| l == "[ensemble]").unwrap() + 2;
    assert!(
        matches!(e, Error::Parse { line: l, .. } if l == line),
        "{e:?}"
    );
    assert!(e.to_string().contains("replicas"), "{e}");

    let e = parse(&base.replace("cvae_trained\"", "no_such_model\"")).unwrap_err();
    assert!(
        e.to_string().contains("analysis.model") && e.to_string().contains("does not exist"),
        "{e}"
    );

    let e = parse(&base.replace("iteration_steps = 100", "iteration_steps = 120")).unwrap_err();
    assert!(e.to_string().contains("not a multiple"), "{e}");

    let e = parse(&base.replace("seed = 11", "seed = 11\ndevice = \"tpu\"")).unwrap_err();
    assert!(e.to_string().contains("md.device"), "{e}");
    let e = parse(&base.replace("seed = 11", "seed = 11\nprecision = \"single\"")).unwrap_err();
    assert!(e.to_string().contains("md.precision"), "{e}");

    let e = parse(&base.replace("method = \"lof\"", "method = \"isolation-forest\"")).unwrap_err();
    assert!(e.to_string().contains("agent.method"), "{e}");

    // A setting the chosen detector would ignore is an error, not a no-op.
    let e = parse(&base.replace("method = \"lof\"", "method = \"dbscan\"")).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("agent.n_neighbors, agent.n_outliers") && m.contains("\"lof\""),
        "{e}"
    );
    let e = parse(&base.replace("method = \"lof\"", "method = \"lof\"\neps = 1.3")).unwrap_err();
    assert!(e.to_string().contains("agent.eps only apply to"), "{e}");

    let e = parse(&base.replace(
        "copy_velocities_probability = 0.5",
        "copy_velocities_probability = 1.5",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("copy_velocities_probability"), "{e}");

    // The encoder takes 35x35 maps (Cα); selecting CA and N gives 70 atoms.
    let cfg =
        parse(&base.replace("[analysis]", "[analysis]\nselection = [\"CA\", \"N\"]")).unwrap();
    let e = run_campaign(&cfg, &SingleProcess, &Device::Cpu, false, &Silent).unwrap_err();
    assert!(matches!(e, Error::Shape(_)), "{e:?}");
    assert!(
        e.to_string().contains("expects input shape [1, 35, 35]")
            && e.to_string().contains("70 atoms"),
        "{e}"
    );
    assert!(
        !cfg.output.dir.exists(),
        "nothing is written before the inputs are checked"
    );

    let e =
        parse(&base.replace("start_frames = [236, 100]", "start_frames = [236, 100000]")).unwrap();
    let e = run_campaign(&e, &SingleProcess, &Device::Cpu, false, &Silent).unwrap_err();
    assert!(
        e.to_string().contains("start_frames names frame 100000"),
        "{e}"
    );
}

#[test]
fn the_bundled_campaign_configuration_is_valid() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drive/villin.toml");
    let cfg = DriveConfig::from_file(&p).unwrap();
    assert_eq!(cfg.ensemble.simulations, 4);
    assert!(cfg.analysis.states_reference.is_some());
}
