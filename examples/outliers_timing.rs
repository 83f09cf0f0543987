//! Quick release-mode timings of the outlier kernels on synthetic 10-d data.
//!
//! `cargo run --release --example outliers_timing -- [n ...]`

#[path = "../tests/common/mod.rs"]
mod data;

use std::time::Instant;
use steermd::outliers::{dbscan, knn, lof};
use steermd::Device;

fn time<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    println!("{what:<40} {:>9.3} s", t.elapsed().as_secs_f64());
    r
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes are integers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 80_000]
    } else {
        sizes
    };
    for n in sizes {
        for (name, p) in [
            ("normal", data::normal(n, 10, 1)),
            ("blobs", data::blobs(n, 10, 10, 2)),
        ] {
            time(&format!("knn k=20 {name} n={n}"), || {
                knn(&Device::Cpu, &p, 10, 20).unwrap()
            });
            time(&format!("lof k=20 {name} n={n}"), || {
                lof(&Device::Cpu, &p, 10, 20).unwrap()
            });
            for eps in [1.0, 2.0] {
                let r = time(&format!("dbscan eps={eps} {name} n={n}"), || {
                    dbscan(&Device::Cpu, &p, 10, eps, 10).unwrap()
                });
                let noise = r.labels.iter().filter(|&&l| l < 0).count();
                println!("    {} clusters, {} noise", r.n_clusters, noise);
            }
        }
    }
}
