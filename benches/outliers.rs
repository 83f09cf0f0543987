//! Outlier-kernel benchmarks (cpu backend, rayon's global pool).
//!
//! Data, 10-d f32 (see `tests/common/mod.rs`):
//! - `normal`: i.i.d. standard normal. Chosen over a unit cube because it
//!   gives DBSCAN structure at eps 1–2: at eps 1 a small dense core cluster
//!   plus mostly noise, at eps 2 one large cluster with noise in the tails
//!   (in a unit 10-cube every point is within eps 1–2 of most others).
//! - `blobs`: 10 Gaussian blobs (unit std, centres uniform in [-10, 10]^10).
//!
//! Sizes 10k and 80k; `examples/outliers_timing.rs` times larger sets
//! (e.g. 200k) without criterion's repetitions.

#[path = "../tests/common/mod.rs"]
mod data;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;
use steermd::outliers::{dbscan, knn, lof};
use steermd::Device;

const DIM: usize = 10;

fn sets(n: usize) -> [(&'static str, Vec<f32>); 2] {
    [
        ("normal", data::normal(n, DIM, 1)),
        ("blobs", data::blobs(n, DIM, 10, 2)),
    ]
}

fn neighbours(c: &mut Criterion) {
    let mut g = c.benchmark_group("knn_lof_k20");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for n in [10_000, 80_000] {
        for (name, p) in sets(n) {
            let id = format!("{name}/{n}");
            g.bench_with_input(BenchmarkId::new("knn", &id), &p, |b, p| {
                b.iter(|| knn(&Device::Cpu, black_box(p), DIM, 20).unwrap())
            });
            g.bench_with_input(BenchmarkId::new("lof", &id), &p, |b, p| {
                b.iter(|| lof(&Device::Cpu, black_box(p), DIM, 20).unwrap())
            });
        }
    }
    g.finish();
}

fn clustering(c: &mut Criterion) {
    let mut g = c.benchmark_group("dbscan_min_samples10");
    g.sample_size(10).warm_up_time(Duration::from_millis(500));
    for n in [10_000, 80_000] {
        for (name, p) in sets(n) {
            for eps in [1.0, 2.0] {
                let id = format!("{name}/{n}/eps{eps}");
                g.bench_with_input(BenchmarkId::new("dbscan", &id), &p, |b, p| {
                    b.iter(|| dbscan(&Device::Cpu, black_box(p), DIM, eps, 10).unwrap())
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, neighbours, clustering);
criterion_main!(benches);
