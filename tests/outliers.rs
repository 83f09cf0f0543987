//! Outlier kernels: cpu backend against the reference backend, scikit-learn
//! semantics on hand-built cases, determinism, and input validation.

#[path = "common/mod.rs"]
mod data;

use steermd::outliers::{adaptive_dbscan, dbscan, knn, lof, top_outliers, AdaptiveDbscanOptions};
use steermd::{Device, Error};

/// scikit-learn's `dbscan_inner`, transliterated, on materialised
/// neighbourhoods: the independent yardstick for label numbering.
fn sklearn_dbscan(points: &[f32], dim: usize, eps: f64, min_samples: usize) -> Vec<i64> {
    let n = points.len() / dim;
    let row = |i: usize| &points[i * dim..(i + 1) * dim];
    let hood: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| steermd::outliers::kernels::sq_dist_f64(row(i), row(j)) <= eps * eps)
                .collect()
        })
        .collect();
    let core: Vec<bool> = hood.iter().map(|h| h.len() >= min_samples).collect();
    let mut labels = vec![-1i64; n];
    let mut label = 0;
    let mut stack = Vec::new();
    for start in 0..n {
        if labels[start] != -1 || !core[start] {
            continue;
        }
        let mut i = start;
        loop {
            if labels[i] == -1 {
                labels[i] = label;
                if core[i] {
                    stack.extend(hood[i].iter().copied().filter(|&v| labels[v] == -1));
                }
            }
            match stack.pop() {
                Some(v) => i = v,
                None => break,
            }
        }
        label += 1;
    }
    labels
}

/// Data sets exercising the search: smooth, clustered, tied and duplicated.
fn sets() -> Vec<(&'static str, Vec<f32>, usize)> {
    vec![
        ("normal-10d", data::normal(700, 10, 1), 10),
        ("uniform-3d", data::uniform(600, 3, 2), 3),
        ("blobs-10d", data::blobs(800, 10, 5, 3), 10),
        ("grid-2d", data::grid(500, 2, 6, 4), 2),
        ("grid-5d", data::grid(400, 5, 3, 5), 5),
        ("line-1d", data::uniform(300, 1, 6), 1),
        ("wide-40d", data::normal(200, 40, 7), 40),
        (
            "huge-f64-path",
            data::normal(300, 4, 8).iter().map(|x| x * 1e30).collect(),
            4,
        ),
        (
            "tiny",
            data::normal(300, 3, 9).iter().map(|x| x * 1e-30).collect(),
            3,
        ),
    ]
}

#[test]
fn knn_matches_reference_exactly() {
    for (name, p, dim) in sets() {
        let n = p.len() / dim;
        for k in [1, 5, 20, n - 1] {
            let fast = knn(&Device::Cpu, &p, dim, k).unwrap();
            let slow = knn(&Device::Reference, &p, dim, k).unwrap();
            assert_eq!(fast.idx, slow.idx, "{name}, k = {k}: indices");
            assert_eq!(fast.dist, slow.dist, "{name}, k = {k}: distances");
        }
    }
}

#[test]
fn knn_tie_policy() {
    // Points 0, 2, 3 coincide; 1 and 4 are both at distance 1 from them.
    let p = [0.0f32, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0];
    for device in [Device::Cpu, Device::Reference] {
        let r = knn(&device, &p, 2, 4).unwrap();
        assert_eq!(r.idx_row(0), &[2, 3, 1, 4], "{device:?}");
        assert_eq!(r.idx_row(3), &[0, 2, 1, 4], "{device:?}");
        assert_eq!(r.dist_row(3), &[0.0, 0.0, 1.0, 1.0], "{device:?}");
        assert_eq!(r.idx_row(1), &[0, 2, 3, 4], "{device:?}");
    }
}

#[test]
fn lof_matches_reference_exactly() {
    for (name, p, dim) in sets() {
        let n = p.len() / dim;
        for k in [1, 20, n + 5] {
            let fast = lof(&Device::Cpu, &p, dim, k).unwrap();
            let slow = lof(&Device::Reference, &p, dim, k).unwrap();
            assert_eq!(fast, slow, "{name}, n_neighbors = {k}");
            assert!(fast.iter().all(|v| v.is_finite() && *v < 0.0), "{name}");
        }
    }
}

#[test]
fn lof_flags_an_isolated_point() {
    let mut p = data::normal(300, 4, 11);
    p.extend([25.0f32, 25.0, 25.0, 25.0]);
    let nof = lof(&Device::Cpu, &p, 4, 20).unwrap();
    assert_eq!(top_outliers(&nof, 1), vec![300]);
    assert!(nof[300] < -5.0, "{}", nof[300]);
}

#[test]
fn lof_of_many_duplicates_stays_finite() {
    // More duplicates than neighbours: sklearn's 1e-10 keeps lrd finite.
    let mut p = vec![1.0f32; 30 * 2];
    p.extend([3.0f32, 3.0]);
    let nof = lof(&Device::Cpu, &p, 2, 5).unwrap();
    assert_eq!(nof, lof(&Device::Reference, &p, 2, 5).unwrap());
    assert_eq!(nof[0], -1.0);
    assert!(nof[30] < -1e9);
}

#[test]
fn dbscan_matches_reference_and_sklearn_order() {
    for (name, p, dim) in sets() {
        let scale = {
            let nn = knn(&Device::Reference, &p, dim, 5).unwrap();
            let mut d = nn.dist.to_vec();
            d.sort_by(f64::total_cmp);
            d[d.len() / 2]
        };
        for (eps_factor, min_samples) in [(0.5, 3), (1.0, 5), (1.5, 10), (3.0, 1), (8.0, 40)] {
            let eps = scale * eps_factor;
            if eps <= 0.0 {
                continue;
            }
            let fast = dbscan(&Device::Cpu, &p, dim, eps, min_samples).unwrap();
            let slow = dbscan(&Device::Reference, &p, dim, eps, min_samples).unwrap();
            let sk = sklearn_dbscan(&p, dim, eps, min_samples);
            let what = format!("{name}, eps = {eps}, min_samples = {min_samples}");
            assert_eq!(slow.labels, sk, "reference vs sklearn: {what}");
            assert_eq!(fast.labels, sk, "cpu vs sklearn: {what}");
            assert_eq!(fast.n_clusters, slow.n_clusters, "{what}");
        }
    }
}

#[test]
fn dbscan_border_point_goes_to_first_discovered_cluster() {
    // Cluster A (indices 3..6) is discovered after cluster B (0..3) because B
    // holds index 0; border point 6 touches both and must join B (label 0).
    let p = [
        10.0f32, 11.0, 12.0, // B
        0.0, 1.0, 2.0,  // A
        6.0,  // border: within 4 of 2.0 and of 10.0
        30.0, // noise
    ];
    for device in [Device::Cpu, Device::Reference] {
        let r = dbscan(&device, &p, 1, 4.0, 4).unwrap();
        // Core: 0,1,2 (B has 3 pts + border 6 within 4 of 10 → 10 has 4).
        assert_eq!(r.labels, sklearn_dbscan(&p, 1, 4.0, 4), "{device:?}");
        assert_eq!(r.labels[6], r.labels[0], "{device:?}: {:?}", r.labels);
        assert_eq!(r.labels[7], -1);
    }
}

#[test]
fn dbscan_eps_is_inclusive() {
    let p = [0.0f32, 0.5, 1.0, 3.0];
    let r = dbscan(&Device::Cpu, &p, 1, 0.5, 3).unwrap();
    assert_eq!(r.labels, vec![0, 0, 0, -1]);
    assert_eq!(r.labels, sklearn_dbscan(&p, 1, 0.5, 3));
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let p = data::blobs(6000, 10, 8, 21);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let nn = knn(&Device::Cpu, &p, 10, 20).unwrap();
            let nof = lof(&Device::Cpu, &p, 10, 20).unwrap();
            let db = dbscan(&Device::Cpu, &p, 10, 3.0, 10).unwrap();
            (nn, nof.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), db)
        })
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.0, three.0);
    assert_eq!(one.1, three.1);
    assert_eq!(one.2, three.2);
    assert!(one.2.n_clusters >= 1);
}

#[test]
fn adaptive_dbscan_reaches_the_target_range() {
    let mut p = data::blobs(2000, 10, 4, 31);
    // Scattered background points that become noise at small radii.
    p.extend(data::uniform(200, 10, 32).iter().map(|x| 60.0 * x - 30.0));
    let options = AdaptiveDbscanOptions {
        eps: 0.5,
        min_samples: 10,
        min_outliers: 150,
        max_outliers: 260,
        max_attempts: 30,
        step: 1.5,
    };
    let r = adaptive_dbscan(&Device::Cpu, &p, 10, &options).unwrap();
    assert!(
        r.reached,
        "{} outliers after {} attempts",
        r.outliers.len(),
        r.attempts
    );
    assert!(r.attempts > 1);
    assert!((150..=260).contains(&r.outliers.len()));
    let direct = dbscan(&Device::Cpu, &p, 10, r.eps, 10).unwrap();
    assert_eq!(direct.labels, r.labels);
    assert_eq!(direct.noise(), r.outliers);

    // Already in range: one attempt, eps unchanged.
    let again = adaptive_dbscan(
        &Device::Cpu,
        &p,
        10,
        &AdaptiveDbscanOptions {
            eps: r.eps,
            ..options.clone()
        },
    )
    .unwrap();
    assert_eq!((again.attempts, again.eps, again.reached), (1, r.eps, true));
}

#[test]
fn adaptive_dbscan_reports_an_unreachable_target() {
    let p = data::normal(300, 3, 41);
    let options = AdaptiveDbscanOptions {
        eps: 1.0,
        min_samples: 5,
        min_outliers: 1000, // more than there are points
        max_outliers: 2000,
        max_attempts: 4,
        step: 2.0,
    };
    let r = adaptive_dbscan(&Device::Cpu, &p, 3, &options).unwrap();
    assert!(!r.reached);
    assert_eq!(r.attempts, 4);
    assert_eq!(r.eps, 1.0 / 8.0, "three halvings");
    assert_eq!(
        r.labels,
        dbscan(&Device::Cpu, &p, 3, r.eps, 5).unwrap().labels
    );
}

fn assert_err(r: Result<impl std::fmt::Debug, Error>, what: &str, pred: fn(&Error) -> bool) {
    match r {
        Err(e) if pred(&e) => {}
        other => panic!("{what}: unexpected {other:?}"),
    }
}

#[test]
fn bad_input_is_rejected_with_context() {
    let ok = data::normal(10, 2, 1);
    let invalid = |e: &Error| matches!(e, Error::InvalidArgument(_));
    let shape = |e: &Error| matches!(e, Error::Shape(_));
    let dev = Device::Cpu;
    let opts = AdaptiveDbscanOptions::default();
    // Empty, dim 0, ragged.
    for (p, dim) in [(&[][..], 2usize), (&ok[..], 0)] {
        assert_err(knn(&dev, p, dim, 1), "knn", invalid);
        assert_err(lof(&dev, p, dim, 1), "lof", invalid);
        assert_err(dbscan(&dev, p, dim, 1.0, 2), "dbscan", invalid);
        assert_err(adaptive_dbscan(&dev, p, dim, &opts), "adaptive", invalid);
    }
    assert_err(knn(&dev, &ok[..7], 2, 1), "knn ragged", shape);
    assert_err(lof(&dev, &ok[..7], 2, 1), "lof ragged", shape);
    assert_err(dbscan(&dev, &ok[..7], 2, 1.0, 2), "dbscan ragged", shape);
    assert_err(
        adaptive_dbscan(&dev, &ok[..7], 2, &opts),
        "adaptive ragged",
        shape,
    );
    // Non-finite values name the point and component.
    for bad in [f32::NAN, f32::INFINITY] {
        let mut p = ok.clone();
        p[7] = bad;
        for e in [
            knn(&dev, &p, 2, 1).unwrap_err(),
            lof(&dev, &p, 2, 1).unwrap_err(),
            dbscan(&dev, &p, 2, 1.0, 2).unwrap_err(),
            adaptive_dbscan(&dev, &p, 2, &opts).unwrap_err(),
        ] {
            assert!(matches!(e, Error::NonFinite(_)), "{e}");
            assert!(e.to_string().contains("point 3, component 1"), "{e}");
        }
    }
    // k out of range.
    assert_err(knn(&dev, &ok, 2, 0), "k = 0", invalid);
    assert_err(knn(&dev, &ok, 2, 10), "k = n", invalid);
    assert_err(lof(&dev, &ok, 2, 0), "n_neighbors = 0", invalid);
    assert_err(lof(&dev, &ok[..2], 2, 1), "lof on one point", invalid);
    // eps and min_samples.
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_err(dbscan(&dev, &ok, 2, eps, 2), "eps", invalid);
        let o = AdaptiveDbscanOptions {
            eps,
            ..opts.clone()
        };
        assert_err(adaptive_dbscan(&dev, &ok, 2, &o), "adaptive eps", invalid);
    }
    assert_err(dbscan(&dev, &ok, 2, 1.0, 0), "min_samples", invalid);
    for o in [
        AdaptiveDbscanOptions {
            min_samples: 0,
            ..opts.clone()
        },
        AdaptiveDbscanOptions {
            step: 1.0,
            ..opts.clone()
        },
        AdaptiveDbscanOptions {
            step: f64::NAN,
            ..opts.clone()
        },
        AdaptiveDbscanOptions {
            max_attempts: 0,
            ..opts.clone()
        },
        AdaptiveDbscanOptions {
            min_outliers: 5,
            max_outliers: 4,
            ..opts.clone()
        },
    ] {
        assert_err(
            adaptive_dbscan(&dev, &ok, 2, &o),
            &format!("{o:?}"),
            invalid,
        );
    }
    // The reference device validates identically.
    assert_err(
        knn(&Device::Reference, &ok, 2, 10),
        "reference k = n",
        invalid,
    );
}
