//! `steermd outliers --method dbscan`: plain DBSCAN gives scikit-learn's
//! noise set at the radius asked for; the adaptive search runs only when an
//! outlier range is asked for, says where it settled, and fails (unless
//! `--accept-closest`) when the range cannot be reached.

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::{fails_with_one_line, ok, s, steermd};

use steermd::io::npy::read_npy;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Noise indices written by `steermd outliers` with `extra` flags.
fn noise_of(latent: &Path, extra: &[&str], out: &Path) -> (Vec<i64>, String) {
    let mut args = vec!["outliers", "--latent", s(latent), "--method", "dbscan"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", s(out)]);
    let stdout = ok(&args);
    (read_npy::<i64>(out).unwrap().1, stdout)
}

/// The eps printed after "settled on eps=".
fn settled_eps(stdout: &str) -> f64 {
    let rest = stdout
        .split("settled on eps=")
        .nth(1)
        .unwrap_or_else(|| panic!("no settled eps in {stdout}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn plain_dbscan_is_sklearns_noise_set_at_the_eps_asked() {
    // The cases tools/make_reference.py fitted with sklearn.cluster.DBSCAN.
    let text = std::fs::read_to_string(data("outliers/dbscan_cases.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for c in cases["cases"].as_array().unwrap() {
        let (eps, ms) = (
            c["eps"].as_f64().unwrap(),
            c["min_samples"].as_u64().unwrap(),
        );
        let (_, labels) = read_npy::<i64>(&data(c["labels"].as_str().unwrap())).unwrap();
        let want: Vec<i64> = (0..labels.len() as i64)
            .filter(|&i| labels[i as usize] < 0)
            .collect();
        let out = dir.path().join("noise.npy");
        let (got, stdout) = noise_of(
            &data(c["data"].as_str().unwrap()),
            &["--eps", &eps.to_string(), "--min-samples", &ms.to_string()],
            &out,
        );
        assert_eq!(got, want, "case {}: {stdout}", c["case"]);
        assert!(stdout.contains(&format!("eps={eps} ")), "{stdout}");
        assert!(!stdout.contains("adaptive"), "{stdout}");
    }
}

#[test]
fn adaptive_dbscan_reports_the_eps_it_settled_on() {
    let blobs = data("outliers/blobs.npy");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("adaptive.npy");
    let range = ["--min-outliers", "100", "--max-outliers", "120"];
    let mut args = vec!["--eps", "2.91", "--min-samples", "10"];
    args.extend_from_slice(&range);
    let (adaptive, stdout) = noise_of(&blobs, &args, &out);
    assert!((100..=120).contains(&adaptive.len()), "{stdout}");
    assert!(stdout.contains("reached"), "{stdout}");
    let eps = settled_eps(&stdout);
    assert_ne!(eps, 2.91, "the search had to move eps: {stdout}");
    // The noise set is plain DBSCAN's at the reported radius.
    let plain_out = dir.path().join("plain.npy");
    let (plain, _) = noise_of(
        &blobs,
        &["--eps", &eps.to_string(), "--min-samples", "10"],
        &plain_out,
    );
    assert_eq!(adaptive, plain);
}

#[test]
fn an_unreachable_range_fails_unless_the_closest_is_accepted() {
    let blobs = data("outliers/blobs.npy"); // 3060 points
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("noise.npy");
    let args = [
        "outliers",
        "--latent",
        s(&blobs),
        "--method",
        "dbscan",
        "--eps",
        "2.91",
        "--min-outliers",
        "4000",
        "--out",
        s(&out),
    ];
    fails_with_one_line(&args, "did not reach the outlier range [4000, unbounded]");
    fails_with_one_line(&args, "closest was eps");
    assert!(!out.exists());

    let mut accept = args.to_vec();
    accept.push("--accept-closest");
    let o = steermd(&accept);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: adaptive DBSCAN did not reach"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("not reached"), "{stdout}");
    assert_eq!(read_npy::<i64>(&out).unwrap().1.len(), 3060, "{stdout}");
}

#[test]
fn flags_of_the_other_method_are_rejected() {
    let latent = data("outliers/latent_set.npy");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.npy");
    let run = |extra: &[&str], needle: &str| {
        let mut args = vec!["outliers", "--latent", s(&latent), "--out", s(&out)];
        args.extend_from_slice(extra);
        fails_with_one_line(&args, needle);
        assert!(!out.exists());
    };
    run(&["--method", "dbscan", "--n", "5"], "does not use --n");
    run(&["--method", "dbscan", "--k", "5"], "does not use --k");
    run(
        &["--method", "dbscan", "--accept-closest"],
        "--accept-closest",
    );
    run(&["--eps", "1.3"], "--method lof does not use --eps");
    run(&["--max-outliers", "9"], "--max-outliers");
    run(
        &["--min-samples", "5"],
        "--method lof does not use --min-samples",
    );
}
