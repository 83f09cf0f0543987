//! The `steermd` command line: results against the peer tools' reference data,
//! and bad input -> one error line, non-zero exit, no output file left behind.

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::{fails_with_one_line, ok, s};

use steermd::io::npy::{read_npy, write_npy};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Run a command that must fail: exactly one line on stderr containing `needle`,
/// non-zero exit, and `out` not created.
fn fails(args: &[&str], needle: &str, out: &Path) {
    fails_with_one_line(args, needle);
    assert!(
        !out.exists(),
        "{} left behind after a failure",
        out.display()
    );
    let dir = out.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left in {}: {leftovers:?}",
        dir.display()
    );
}

#[test]
fn contacts_match_mdanalysis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("maps.npy");
    let coo = dir.path().join("coo");
    ok(&[
        "contacts",
        "--top",
        s(&data("villin.pdb")),
        "--traj",
        s(&data("villin.dcd")),
        "--out",
        s(&out),
        "--coo-out",
        s(&coo),
    ]);
    let (shape, maps) = read_npy::<u8>(&out).unwrap();
    let (want_shape, want) = read_npy::<u8>(&data("villin_contacts_dense.npy")).unwrap();
    assert_eq!(shape, want_shape);
    assert!(
        maps == want,
        "dense maps differ from MDAnalysis contact_matrix"
    );
    let (_, coo_data) = read_npy::<i16>(&dir.path().join("coo.data.npy")).unwrap();
    let (_, want_coo) = read_npy::<i16>(&data("villin_contacts_coo_data.npy")).unwrap();
    assert!(
        coo_data == want_coo,
        "COO layout differs from DeepDriveMD's"
    );
    let (_, offsets) = read_npy::<i64>(&dir.path().join("coo.offsets.npy")).unwrap();
    let (_, want_offsets) = read_npy::<i64>(&data("villin_contacts_coo_offsets.npy")).unwrap();
    assert_eq!(offsets, want_offsets);
}

#[cfg(feature = "hdf5")]
#[test]
fn contacts_h5_in_deepdrivemd_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("maps.h5");
    ok(&[
        "contacts",
        "--top",
        s(&data("villin.pdb")),
        "--traj",
        s(&data("villin.dcd")),
        "--out",
        s(&out),
    ]);
    let f = hdf5_metno::File::open(&out).unwrap();
    let rows: Vec<hdf5_metno::types::VarLenArray<i16>> =
        f.dataset("contact_map").unwrap().read_raw().unwrap();
    let (_, want) = read_npy::<i16>(&data("villin_contacts_coo_data.npy")).unwrap();
    let got: Vec<i16> = rows.iter().flat_map(|r| r.as_slice().to_vec()).collect();
    assert!(
        got == want,
        "HDF5 contact_map differs from MDAnalysis' COO reference"
    );
}

#[test]
fn rmsd_matches_mdtraj() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rmsd.npy");
    ok(&[
        "rmsd",
        "--ref",
        s(&data("villin_ref.pdb")),
        "--top",
        s(&data("villin.pdb")),
        "--traj",
        s(&data("villin.dcd")),
        "--out",
        s(&out),
    ]);
    let (_, r) = read_npy::<f32>(&out).unwrap();
    let (_, want) = read_npy::<f32>(&data("villin_rmsd_ca.npy")).unwrap();
    assert_eq!(r.len(), want.len());
    for (i, (a, b)) in r.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 1e-5, "frame {i}: {a} vs MDTraj {b} nm");
    }
}

#[test]
fn embed_matches_pytorch_and_outliers_match_sklearn() {
    let dir = tempfile::tempdir().unwrap();
    let maps = dir.path().join("maps.npy");
    let z = dir.path().join("z.npy");
    let (shape, input) = read_npy::<f32>(&data("cvae_input.npy")).unwrap();
    write_npy(&maps, &[shape[0], shape[2], shape[3]], &input).unwrap();
    ok(&[
        "embed",
        "--model",
        s(&data("cvae_a")),
        "--maps",
        s(&maps),
        "--out",
        s(&z),
        "--batch",
        "7",
    ]);
    let (zshape, zv) = read_npy::<f32>(&z).unwrap();
    let (want_shape, want) = read_npy::<f32>(&data("cvae_a/expected_mu.npy")).unwrap();
    assert_eq!(zshape, want_shape);
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = zv
        .iter()
        .zip(&want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= 1e-5 * scale,
        "max |steermd - PyTorch| = {err}, max |PyTorch| = {scale}"
    );

    // LOF on the real latent set (unique rows): the picks are sklearn's most negative scores.
    let idx = dir.path().join("idx.npy");
    let scores = dir.path().join("scores.npy");
    ok(&[
        "outliers",
        "--latent",
        s(&data("outliers/latent_set.npy")),
        "--method",
        "lof",
        "--n",
        "7",
        "--out",
        s(&idx),
        "--scores-out",
        s(&scores),
    ]);
    let (_, picked) = read_npy::<i64>(&idx).unwrap();
    let (_, nof) = read_npy::<f64>(&data("outliers/latent_lof_nof.npy")).unwrap();
    let mut order: Vec<usize> = (0..nof.len()).collect();
    order.sort_by(|&a, &b| nof[a].total_cmp(&nof[b]).then(a.cmp(&b)));
    let want: Vec<i64> = order[..7].iter().map(|&i| i as i64).collect();
    assert_eq!(picked, want);
}

#[test]
fn agent_runs_the_pipeline() {
    let out = ok(&[
        "agent",
        "--top",
        s(&data("villin.pdb")),
        "--traj",
        s(&data("villin.dcd")),
        "--model",
        s(&data("cvae_trained")),
        "--ref",
        s(&data("villin_ref.pdb")),
        "--n",
        "5",
    ]);
    assert!(
        out.contains("picked 5 restart frame(s), lowest RMSD first"),
        "{out}"
    );
}

#[test]
fn bad_input_gives_one_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out = dir.path().join("out").join("result.npy");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    let (pdb, dcd) = (data("villin.pdb"), data("villin.dcd"));

    // missing file
    let missing = work.join("missing.dcd");
    fails(
        &[
            "contacts",
            "--top",
            s(&pdb),
            "--traj",
            s(&missing),
            "--out",
            s(&out),
        ],
        "missing.dcd",
        &out,
    );
    // HDF5 output without the `hdf5` feature: refused up front, nothing written
    let h5 = out.with_extension("h5");
    if !cfg!(feature = "hdf5") {
        let args = [
            "contacts",
            "--top",
            s(&pdb),
            "--traj",
            s(&dcd),
            "--out",
            s(&h5),
        ];
        fails(&args, "hdf5", &h5);
    }
    // any other extension
    let txt = out.with_extension("txt");
    let args = [
        "contacts",
        "--top",
        s(&pdb),
        "--traj",
        s(&dcd),
        "--out",
        s(&txt),
    ];
    fails(&args, ".npy", &txt);
    // unknown atom name
    fails(
        &[
            "contacts",
            "--top",
            s(&pdb),
            "--traj",
            s(&dcd),
            "--select",
            "XQ",
            "--out",
            s(&out),
        ],
        "XQ",
        &out,
    );
    // impossible cutoff
    fails(
        &[
            "contacts",
            "--top",
            s(&pdb),
            "--traj",
            s(&dcd),
            "--cutoff=-1",
            "--out",
            s(&out),
        ],
        "cutoff",
        &out,
    );
    // corrupt trajectory: truncated DCD
    let bytes = std::fs::read(&dcd).unwrap();
    let truncated = work.join("truncated.dcd");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2 + 7]).unwrap();
    fails(
        &[
            "contacts",
            "--top",
            s(&pdb),
            "--traj",
            s(&truncated),
            "--out",
            s(&out),
        ],
        "truncated.dcd",
        &out,
    );
    // topology / trajectory atom-count mismatch
    let ca_only = work.join("ca.pdb");
    let ca_lines: String = std::fs::read_to_string(&pdb)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ATOM") && &l[12..16] == " CA ")
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ca_only, ca_lines).unwrap();
    fails(
        &[
            "contacts",
            "--top",
            s(&ca_only),
            "--traj",
            s(&dcd),
            "--out",
            s(&out),
        ],
        "atoms",
        &out,
    );

    // wrong input shape for the model
    let small = work.join("small.npy");
    write_npy(&small, &[3, 28, 28], &vec![0f32; 3 * 28 * 28]).unwrap();
    fails(
        &[
            "embed",
            "--model",
            s(&data("cvae_a")),
            "--maps",
            s(&small),
            "--out",
            s(&out),
        ],
        "shape",
        &out,
    );
    // model directory without weights
    fails(
        &[
            "embed",
            "--model",
            s(&work),
            "--maps",
            s(&small),
            "--out",
            s(&out),
        ],
        "config.json",
        &out,
    );
    // NaN latent vectors
    let nan = work.join("nan.npy");
    let mut z = vec![0.5f32; 40 * 10];
    for (i, v) in z.iter_mut().enumerate() {
        *v = (i as f32 * 0.37).sin();
    }
    z[123] = f32::NAN;
    write_npy(&nan, &[40, 10], &z).unwrap();
    fails(
        &["outliers", "--latent", s(&nan), "--out", s(&out)],
        "non-finite",
        &out,
    );
    // 1-D latent file
    let flat = work.join("flat.npy");
    write_npy(&flat, &[10], &[0f32; 10]).unwrap();
    fails(
        &["outliers", "--latent", s(&flat), "--out", s(&out)],
        "2-D",
        &out,
    );
    // reference with a different atom count
    fails(
        &[
            "rmsd",
            "--ref",
            s(&ca_only),
            "--top",
            s(&pdb),
            "--traj",
            s(&dcd),
            "--out",
            s(&out),
        ],
        "reference",
        &out,
    );
}

#[test]
fn contacts_of_a_killed_run_with_drop_partial_frame() {
    // villin.dcd cut inside its last frame, as a killed run leaves it.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.dcd");
    let bytes = std::fs::read(data("villin.dcd")).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("maps.npy");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "contacts".to_string(),
            "--top".into(),
            s(&data("villin.pdb")).to_string(),
            "--traj".into(),
            s(&cut).to_string(),
            "--out".into(),
            s(&out).to_string(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let refused = args(&[]);
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    fails(&refused, "dropped on request", &out);
    let dropped = args(&["--drop-partial-frame"]);
    let dropped: Vec<&str> = dropped.iter().map(String::as_str).collect();
    ok(&dropped);
    // The 249 whole frames give MDAnalysis' maps of those frames.
    let (shape, maps) = read_npy::<u8>(&out).unwrap();
    let (want_shape, want) = read_npy::<u8>(&data("villin_contacts_dense.npy")).unwrap();
    assert_eq!(shape[0], want_shape[0] - 1);
    assert!(maps[..] == want[..maps.len()]);
}

/// villin5.nc holds frames 0, 10, 20, 30, 40 of villin.dcd (written by
/// tools/make_traj_formats.py with MDAnalysis): its maps are those rows of
/// the MDAnalysis reference for the DCD.
#[test]
fn contacts_read_amber_netcdf() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("maps.npy");
    ok(&[
        "contacts",
        "--top",
        s(&data("villin.pdb")),
        "--traj",
        s(&data("traj_formats/villin5.nc")),
        "--out",
        s(&out),
    ]);
    let (shape, maps) = read_npy::<u8>(&out).unwrap();
    let (want_shape, want) = read_npy::<u8>(&data("villin_contacts_dense.npy")).unwrap();
    let per_map = want_shape[1] * want_shape[2];
    assert_eq!(shape, vec![5, want_shape[1], want_shape[2]]);
    for (k, frame) in [0, 10, 20, 30, 40].into_iter().enumerate() {
        assert!(
            maps[k * per_map..(k + 1) * per_map] == want[frame * per_map..(frame + 1) * per_map],
            "map {k} differs from MDAnalysis' map of DCD frame {frame}"
        );
    }
}
