//! Release-mode throughput of the DeepDriveMD CVAE encoder (4 conv 3×3, 64
//! filters, strides [1, 2, 1, 1], dense 128, latent 10, random weights) on
//! batches of 256 maps, reported per wall-clock second and per CPU-second of
//! this process (the latter stays meaningful on a machine shared with other
//! jobs; Linux only).
//!
//! `cargo run --release --example encoder_timing -- [side [iterations]]`

use std::time::Instant;

use steermd::nn::{Activation, CvaeConfig, CvaeEncoder};
use steermd::Device;

const BATCH: usize = 256;

/// User + system CPU seconds of this process (from `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields[i].parse::<f64>().expect("clock ticks");
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("integers"));
    let side = args.next().unwrap_or(28);
    let iterations = args.next().unwrap_or(10);
    let config = CvaeConfig {
        input_shape: [1, side, side],
        filters: vec![64; 4],
        kernels: vec![3; 4],
        strides: vec![1, 2, 1, 1],
        affine_widths: vec![128],
        latent_dim: 10,
        activation: Activation::Relu,
    };
    let enc = CvaeEncoder::random(config, 42).expect("valid model");
    let x: Vec<f32> = (0..BATCH * side * side)
        .map(|i| f32::from(u8::from((i * 7919) % 13 == 0)))
        .collect();
    enc.embed(&Device::Cpu, &x, BATCH).expect("warm-up");
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    for _ in 0..iterations {
        enc.embed(&Device::Cpu, &x, BATCH).expect("embed");
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let frames = (iterations * BATCH) as f64;
    println!(
        "1x{side}x{side}, batch {BATCH}, {} threads: {:.0} frames/s, {:.0} frames per CPU-second \
         ({:.1} GFLOP per CPU-second), CPU/wall {:.2}",
        rayon::current_num_threads(),
        frames / wall,
        frames / cpu,
        frames * enc.flops_per_sample() / cpu / 1e9,
        cpu / wall
    );
}
