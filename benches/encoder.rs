//! CVAE encoder throughput: the DeepDriveMD encoder (4 conv 3×3, 64 filters,
//! strides [1, 2, 1, 1], dense 128, latent 10) on batches of 256 maps of
//! 1×28×28 and 1×106×106, random weights, cpu backend (rayon's global pool:
//! set RAYON_NUM_THREADS to pin the thread count).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use steermd::nn::{Activation, CvaeConfig, CvaeEncoder};
use steermd::Device;

const BATCH: usize = 256;

fn encoder(side: usize) -> CvaeEncoder {
    let config = CvaeConfig {
        input_shape: [1, side, side],
        filters: vec![64; 4],
        kernels: vec![3; 4],
        strides: vec![1, 2, 1, 1],
        affine_widths: vec![128],
        latent_dim: 10,
        activation: Activation::Relu,
    };
    CvaeEncoder::random(config, 42).expect("valid benchmark model")
}

/// Sparse 0/1 maps, like contact maps (band around the diagonal plus noise).
fn maps(side: usize) -> Vec<f32> {
    let mut s = 1u64;
    let mut v = Vec::with_capacity(BATCH * side * side);
    for _ in 0..BATCH {
        for i in 0..side {
            for j in 0..side {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let near = i.abs_diff(j) <= 2;
                v.push(if near || (s >> 59) == 0 { 1.0 } else { 0.0 });
            }
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cvae_encoder");
    group.sample_size(10);
    for side in [28, 106] {
        let enc = encoder(side);
        let x = maps(side);
        let gflop = enc.flops_per_sample() * BATCH as f64 / 1e9;
        eprintln!("1x{side}x{side}: {gflop:.2} GFLOP per batch of {BATCH}");
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("1x{side}x{side}_batch{BATCH}"), |b| {
            b.iter(|| enc.embed(&Device::Cpu, &x, BATCH).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
