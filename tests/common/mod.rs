//! Helpers shared by the integration tests, benches and timing examples: a
//! seeded PRNG, synthetic chain coordinates and synthetic latent point sets.
#![allow(dead_code)]

pub mod ff;
pub mod mpirun;

/// SplitMix64: small, seeded, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// `n_frames` frames of a random-walk chain of `n` atoms with `step` nm
/// bonds, `[frame][atom][xyz]` nm.
pub fn chain_frames(rng: &mut Rng, n_frames: usize, n: usize, step: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(n_frames * n * 3);
    for _ in 0..n_frames {
        let mut p = [0.0f64; 3];
        for _ in 0..n {
            let d = [rng.normal(), rng.normal(), rng.normal()];
            let norm = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-12);
            for k in 0..3 {
                p[k] += step * d[k] / norm;
                out.push(p[k] as f32);
            }
        }
    }
    out
}

/// `n` points with i.i.d. standard normal components.
pub fn normal(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * dim).map(|_| rng.normal() as f32).collect()
}

/// `n` points uniform in the unit cube.
pub fn uniform(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * dim).map(|_| rng.uniform() as f32).collect()
}

/// `n` points from `centers` Gaussian blobs (centres uniform in
/// `[-10, 10]^dim`, unit standard deviation), blob chosen at random.
pub fn blobs(n: usize, dim: usize, centers: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let c: Vec<f64> = (0..centers * dim)
        .map(|_| 20.0 * rng.uniform() - 10.0)
        .collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let b = rng.below(centers);
        for d in 0..dim {
            out.push((c[b * dim + d] + rng.normal()) as f32);
        }
    }
    out
}

/// Points on a small integer grid: many exact distance ties and duplicates.
pub fn grid(n: usize, dim: usize, side: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * dim).map(|_| rng.below(side) as f32).collect()
}
