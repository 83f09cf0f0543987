//! Contact maps (dense u8 and DeepDriveMD COO) and RMSD on synthetic compact
//! chains: a random walk with 0.38 nm steps (Cα–Cα distance), 1000 frames.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use steermd::analysis::{contact_maps, rmsd, ContactMapOptions};
use steermd::{Device, Frames};

const N_FRAMES: usize = 1000;

/// `n_frames` random-walk chains of `n` atoms, `[frame][atom][xyz]` nm.
fn chains(seed: u64, n_frames: usize, n: usize) -> Frames {
    let mut state = seed;
    let mut uniform = move || {
        // SplitMix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut xyz = Vec::with_capacity(n_frames * n * 3);
    for _ in 0..n_frames {
        let mut p = [0.0f64; 3];
        for _ in 0..n {
            // uniform direction on the sphere
            let z = 2.0 * uniform() - 1.0;
            let phi = std::f64::consts::TAU * uniform();
            let r = (1.0 - z * z).sqrt();
            let d = [r * phi.cos(), r * phi.sin(), z];
            for k in 0..3 {
                p[k] += 0.38 * d[k];
                xyz.push(p[k] as f32);
            }
        }
    }
    Frames::new(n, xyz, None).expect("consistent synthetic frames")
}

fn bench_contacts(c: &mut Criterion) {
    let mut g = c.benchmark_group("contact_maps_1000_frames");
    g.throughput(Throughput::Elements(N_FRAMES as u64));
    for &n in &[28usize, 35, 214] {
        let frames = chains(n as u64, N_FRAMES, n);
        let sel: Vec<usize> = (0..n).collect();
        let opts = ContactMapOptions::default();
        g.bench_with_input(BenchmarkId::new("dense_u8", n), &n, |b, _| {
            b.iter(|| {
                contact_maps(&Device::Cpu, black_box(&frames), &sel, &opts).expect("valid input")
            })
        });
        g.bench_with_input(BenchmarkId::new("dense_u8+coo", n), &n, |b, _| {
            b.iter(|| {
                let m = contact_maps(&Device::Cpu, black_box(&frames), &sel, &opts)
                    .expect("valid input");
                m.coo_all().expect("n fits in i16")
            })
        });
    }
    g.finish();
}

fn bench_rmsd(c: &mut Criterion) {
    let n = 35;
    let frames = chains(7, N_FRAMES, n);
    let sel: Vec<usize> = (0..n).collect();
    let reference = frames.frame(0).to_vec();
    let mut g = c.benchmark_group("rmsd_1000_frames");
    g.throughput(Throughput::Elements(N_FRAMES as u64));
    g.bench_function("qcp_35_atoms", |b| {
        b.iter(|| rmsd(&Device::Cpu, black_box(&reference), &frames, &sel).expect("valid input"))
    });
    g.finish();
}

criterion_group!(benches, bench_contacts, bench_rmsd);
criterion_main!(benches);
