//! Counter-based standard normal deviates.
//!
//! Every random number used by the dynamics is a pure function of
//! `(seed, purpose, counter, atom, component)`: the Langevin noise of step
//! `s` uses counter `s`, so a run is reproducible bit for bit, does not
//! depend on the number of threads or on the order atoms are visited in, and a
//! checkpoint only needs the seed and the step count to resume the exact
//! same noise.
//!
//! Generator: ChaCha20 from the `rand_chacha` crate (the RNG family `rand`
//! itself uses for `StdRng`; a reviewed, portable, well-tested
//! implementation, bit-exact across platforms). The 256-bit key holds the
//! seed and the [`Purpose`] (so velocity initialisation and thermostat noise
//! never share numbers), the 64-bit ChaCha stream id is the counter, and
//! each atom owns a fixed window of [`WORDS_PER_ATOM`] 32-bit words of that
//! stream (`set_word_pos` jumps straight to it). Inside the window, four
//! 64-bit integers give two Box–Muller pairs, of which the first three
//! deviates are used: a fixed consumption per atom, with no rejection loop.
//!
//! Box–Muller: `u1 = (top 53 bits + 1)·2⁻⁵³ ∈ (0, 1]`, `u2 = (top 53 bits)·2⁻⁵³ ∈ [0, 1)`,
//! `z0 = √(−2 ln u1) cos 2πu2`, `z1 = √(−2 ln u1) sin 2πu2` (finite always).

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// 32-bit words of the ChaCha stream reserved for each atom (4 × u64).
pub const WORDS_PER_ATOM: u128 = 8;

/// What a stream of random numbers is for; part of the key, so that the
/// same user seed gives independent numbers for different purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Thermostat noise; the counter is the step index.
    Langevin,
    /// Maxwell–Boltzmann velocity initialisation; the counter is 0.
    Velocities,
}

impl Purpose {
    fn tag(self) -> u64 {
        match self {
            Purpose::Langevin => 0x4c41_4e47_4556_494e, // "LANGEVIN"
            Purpose::Velocities => 0x5645_4c4f_4349_5459, // "VELOCITY"
        }
    }
}

/// Three standard normal deviates per atom for one `(seed, purpose, counter)`.
///
/// Visiting atoms in increasing order costs one ChaCha block per two atoms;
/// any other order seeks, with identical results.
pub struct NormalStream {
    rng: ChaCha20Rng,
    next_atom: u128,
}

impl NormalStream {
    /// The stream of `seed` for `purpose` at `counter` (the step index for
    /// [`Purpose::Langevin`]).
    pub fn new(seed: u64, purpose: Purpose, counter: u64) -> Self {
        let mut rng = ChaCha20Rng::from_seed(key_bytes(seed, purpose));
        rng.set_stream(counter);
        NormalStream { rng, next_atom: 0 }
    }

    /// The three standard normal deviates (x, y, z) of `atom`.
    pub fn atom(&mut self, atom: usize) -> [f64; 3] {
        let atom = atom as u128;
        if atom != self.next_atom {
            self.rng.set_word_pos(atom * WORDS_PER_ATOM);
        }
        self.next_atom = atom + 1;
        let (z0, z1) = box_muller(self.rng.next_u64(), self.rng.next_u64());
        let (z2, _) = box_muller(self.rng.next_u64(), self.rng.next_u64());
        [z0, z1, z2]
    }
}

/// The ChaCha20 key of `(seed, purpose)`: seed and purpose tag
/// little-endian, then `steermd\0`, then zeros.
fn key_bytes(seed: u64, purpose: Purpose) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&purpose.tag().to_le_bytes());
    key[16..24].copy_from_slice(b"steermd\0");
    key
}

/// The key of `(seed, purpose)` as the eight little-endian 32-bit words
/// ChaCha20 loads into its state (for device generators of the same
/// stream, kernels/integrate.k).
pub fn key_words(seed: u64, purpose: Purpose) -> [u32; 8] {
    let bytes = key_bytes(seed, purpose);
    std::array::from_fn(|k| u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().unwrap()))
}

/// The three standard normal deviates of `atom` for `(seed, purpose, counter)`
/// (random access; the same numbers as [`NormalStream::atom`]).
pub fn normal3(seed: u64, purpose: Purpose, counter: u64, atom: usize) -> [f64; 3] {
    NormalStream::new(seed, purpose, counter).atom(atom)
}

fn box_muller(a: u64, b: u64) -> (f64, f64) {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    let u1 = ((a >> 11) + 1) as f64 * SCALE;
    let u2 = (b >> 11) as f64 * SCALE;
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (r * c, r * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_and_random_access_agree() {
        let mut s = NormalStream::new(42, Purpose::Langevin, 7);
        let seq: Vec<[f64; 3]> = (0..50).map(|i| s.atom(i)).collect();
        for i in [0, 1, 17, 49, 3] {
            assert_eq!(normal3(42, Purpose::Langevin, 7, i), seq[i]);
        }
        // Skipping atoms does not shift the others.
        let mut s = NormalStream::new(42, Purpose::Langevin, 7);
        assert_eq!(s.atom(5), seq[5]);
        assert_eq!(s.atom(6), seq[6]);
        assert_eq!(s.atom(2), seq[2]);
    }

    #[test]
    fn streams_differ_by_seed_purpose_and_counter() {
        let a = normal3(1, Purpose::Langevin, 0, 0);
        assert_ne!(a, normal3(2, Purpose::Langevin, 0, 0));
        assert_ne!(a, normal3(1, Purpose::Velocities, 0, 0));
        assert_ne!(a, normal3(1, Purpose::Langevin, 1, 0));
        assert_ne!(a, normal3(1, Purpose::Langevin, 0, 1));
    }

    #[test]
    fn moments_are_standard_normal() {
        let mut s = NormalStream::new(9, Purpose::Velocities, 0);
        let n = 200_000;
        let (mut m1, mut m2, mut m4) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for z in s.atom(i) {
                m1 += z;
                m2 += z * z;
                m4 += z * z * z * z;
            }
        }
        let k = (3 * n) as f64;
        let (m1, m2, m4) = (m1 / k, m2 / k, m4 / k);
        // Standard errors: 1/sqrt(k) ≈ 1.3e-3 for the mean, sqrt(2/k) ≈ 1.8e-3
        // for the variance, sqrt(96/k) ≈ 0.013 for the 4th moment.
        assert!(m1.abs() < 6e-3, "mean {m1}");
        assert!((m2 - 1.0).abs() < 9e-3, "variance {m2}");
        assert!((m4 - 3.0).abs() < 0.07, "4th moment {m4}");
    }

    #[test]
    fn extreme_uniforms_are_finite() {
        for (a, b) in [(0, 0), (u64::MAX, u64::MAX), (0, u64::MAX)] {
            let (x, y) = box_muller(a, b);
            assert!(x.is_finite() && y.is_finite());
        }
    }
}
