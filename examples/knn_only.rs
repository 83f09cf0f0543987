#[path = "../tests/common/data.rs"]
mod data;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(80000);
    for (name, p) in [
        ("normal", data::normal(n, 10, 1)),
        ("uniform", data::uniform(n, 10, 1)),
        ("blobs", data::blobs(n, 10, 10, 2)),
    ] {
        let best = (0..3)
            .map(|_| {
                let t = Instant::now();
                steermd::outliers::knn(steermd::Device::Cpu, &p, 10, 20).unwrap();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("{name} n={n}: {best:.3} s (min of 3)");
    }
}
