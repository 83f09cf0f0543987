//! Deterministic seeds and draws derived from the campaign seed, so that
//! every random choice depends only on (seed, purpose, iteration,
//! simulation) and never on the rank layout or thread count.

/// Purposes of derived seeds (distinct streams).
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Stream {
    /// Thermostat noise of one simulation.
    Noise = 1,
    /// Maxwell–Boltzmann velocities of a (re)start.
    Velocities = 2,
    /// The copy-or-redraw velocity coin of a restart.
    VelocityCoin = 3,
    /// k-means initialisation.
    States = 4,
}

/// SplitMix64 finaliser: a bijective 64-bit mix.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of `stream` for (`iteration`, `simulation`) under `seed`.
pub fn derive(seed: u64, stream: Stream, iteration: u64, simulation: u64) -> u64 {
    let mut h = splitmix64(seed ^ (stream as u64).wrapping_mul(0xA076_1D64_78BD_642F));
    h = splitmix64(h ^ iteration.wrapping_mul(0xE703_7ED1_A0B4_28DB));
    splitmix64(h ^ simulation.wrapping_mul(0x8EBC_6AF0_9C88_C6E3))
}

/// A uniform draw in [0, 1) from a derived seed (53 random bits).
pub fn uniform(seed: u64) -> f64 {
    (splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a 64 of `bytes` (fingerprints of configurations and data).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    use crate::integrate::checkpoint::{fnv1a, FNV_OFFSET};
    fnv1a(FNV_OFFSET, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a = derive(7, Stream::Noise, 0, 3);
        assert_eq!(a, derive(7, Stream::Noise, 0, 3));
        assert_ne!(a, derive(7, Stream::Velocities, 0, 3));
        assert_ne!(a, derive(7, Stream::Noise, 1, 3));
        assert_ne!(a, derive(7, Stream::Noise, 0, 4));
        let u: Vec<f64> = (0..1000)
            .map(|i| uniform(derive(1, Stream::VelocityCoin, i, 0)))
            .collect();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
    }
}
