#[path = "../tests/common/data.rs"]
mod data;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(10000);
    let kind = std::env::args().nth(2).unwrap_or("normal".into());
    let p = match kind.as_str() {
        "uniform" => data::uniform(n, 10, 1),
        "blobs" => data::blobs(n, 10, 10, 2),
        _ => data::normal(n, 10, 1),
    };
    let t = std::time::Instant::now();
    let r = steermd::outliers::knn(steermd::Device::Cpu, &p, 10, 20).unwrap();
    eprintln!("wall {:.3} s", t.elapsed().as_secs_f64());
    println!(
        "{}",
        r.idx[..5]
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
}
