//! A small campaign on the bundled villin system for the driver tests
//! (tests/drive.rs, tests/drive_mpi.rs), and readers of its outputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use steermd::io::npy::read_npy;

/// The crate's test data directory.
pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A short steered campaign writing to `out`: 4 simulations (uneven over
/// 3 ranks), 2 frames of 0.1 ps per simulation and iteration, LOF with 4
/// outliers over the last 16 frames, `iterations` iterations. `extra` is
/// appended verbatim (more sections, e.g. `[fault_injection]`).
pub fn small_config(out: &Path, iterations: usize, mode: &str, extra: &str) -> String {
    let d = data();
    let ff = d.join("ff/ildn_obc_cutoff");
    format!(
        r#"mode = "{mode}"

[system]
xml = "{xml}"
pdb = "{pdb}"
start_dcd = "{dcd}"
start_frames = [236, 100]

[md]
report_interval = 50
iteration_steps = 100
iterations = {iterations}
seed = 11

[ensemble]
simulations = 4

[analysis]
model = "{model}"
reference = "{reference}"
states_reference = "{states}"
states = 20

[agent]
method = "lof"
last_n = 16
n_neighbors = 5
n_outliers = 4
copy_velocities_probability = 0.5

[output]
dir = "{out}"
dcd = true
{extra}
"#,
        xml = ff.join("system.xml").display(),
        pdb = ff.join("input.pdb").display(),
        dcd = d.join("villin.dcd").display(),
        model = d.join("cvae_trained").display(),
        reference = d.join("villin_ref.pdb").display(),
        states = d.join("cvae_trained/latent.npy").display(),
        out = out.display(),
    )
}

/// Write `text` as `dir/run.toml` and return its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The per-iteration outputs of iteration `it` under `out`: frame ids,
/// latents (`[n][dim]` flattened), RMSDs, and `restarts.json`.
pub fn iteration(out: &Path, it: usize) -> (Vec<i64>, Vec<f32>, Vec<f32>, serde_json::Value) {
    let dir = out.join(format!("iter_{it:04}"));
    let (_, ids) = read_npy::<i64>(dir.join("frame_ids.npy")).unwrap();
    let (_, lat) = read_npy::<f32>(dir.join("latents.npy")).unwrap();
    let (_, rmsd) = read_npy::<f32>(dir.join("rmsd.npy")).unwrap();
    let text = std::fs::read_to_string(dir.join("restarts.json")).unwrap();
    (ids, lat, rmsd, serde_json::from_str(&text).unwrap())
}

/// Assert that two campaign output directories hold bitwise-identical
/// per-iteration results (ids, latents, RMSDs, restart decisions).
pub fn assert_same_campaign(a: &Path, b: &Path, iterations: usize) {
    for it in 0..iterations {
        let (ia, la, ra, ja) = iteration(a, it);
        let (ib, lb, rb, jb) = iteration(b, it);
        assert_eq!(ia, ib, "iteration {it}: frame ids differ");
        assert!(
            la.iter().zip(&lb).all(|(x, y)| x.to_bits() == y.to_bits()) && la.len() == lb.len(),
            "iteration {it}: latents differ"
        );
        assert!(
            ra.iter().zip(&rb).all(|(x, y)| x.to_bits() == y.to_bits()) && ra.len() == rb.len(),
            "iteration {it}: RMSDs differ"
        );
        assert_eq!(ja, jb, "iteration {it}: restart decisions differ");
    }
}
