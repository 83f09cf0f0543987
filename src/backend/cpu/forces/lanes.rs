//! Fixed-width f64 lanes and vectorisable `exp`/`ln` for the pair kernels.
//!
//! Pair kernels work on [`Lanes`] (W = 8 f64) with straight-line code the
//! compiler vectorises;
//! [`multiversion!`](crate::backend::cpu::multiversion::multiversion) compiles a block worker for
//! AVX-512, AVX2 and the baseline. No fused multiply-add is ever requested
//! explicitly (Rust never contracts `a * b + c`), so all three give bitwise
//! the same results.

/// Lanes processed together (one cluster of consecutive atoms).
pub(super) const W: usize = 8;

/// One value per lane.
pub(super) type Lanes = [f64; W];

/// ln 2 split (fdlibm): `LN2_HI` has 11 trailing zero bits, so `e·LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const SQRT2: f64 = std::f64::consts::SQRT_2;
const MANTISSA: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
/// 2⁵²: `from_bits(TWO52_BITS | k) − 2⁵²` is the integer k < 2⁵² as f64.
const TWO52_BITS: u64 = 0x4330_0000_0000_0000;
const TWO52: f64 = 4_503_599_627_370_496.0;

/// Split a positive normal `x` into `(e, f)` with `x = 2ᵉ(1 + f)`,
/// `1 + f ∈ [√½, √2)` (branch-free).
#[inline(always)]
fn ln_reduce(x: f64) -> (f64, f64) {
    let bits = x.to_bits();
    let m = f64::from_bits((bits & MANTISSA) | ONE_BITS);
    let big = m > SQRT2;
    let m = if big { 0.5 * m } else { m };
    let e =
        f64::from_bits(TWO52_BITS | (bits >> 52)) - TWO52 - 1023.0 + if big { 1.0 } else { 0.0 };
    (e, m - 1.0)
}

/// `ln(1 + f)` from `s = f/(2 + f)` (|s| ≤ 0.172): `2 atanh(s)` with the
/// series to s¹⁷ (truncation < 1e-15 relative), plus `e·ln 2`.
#[inline(always)]
fn ln_finish(e: f64, s: f64) -> f64 {
    let z = s * s;
    let p = z
        * (1.0 / 3.0
            + z * (1.0 / 5.0
                + z * (1.0 / 7.0
                    + z * (1.0 / 9.0
                        + z * (1.0 / 11.0
                            + z * (1.0 / 13.0 + z * (1.0 / 15.0 + z * (1.0 / 17.0))))))));
    let two_s = 2.0 * s;
    e * LN2_HI + (two_s * p + e * LN2_LO + two_s)
}

/// Natural logarithm of a positive normal `x`, branch-free (vectorises):
/// `x = 2ᵉ·m`, `m ∈ [√½, √2)`, `ln m = 2 atanh(s)`, `s = (m−1)/(m+1)`.
/// Error a few ulp; not for zero, negative, subnormal or non-finite input.
/// (The kernels use [`ln2`]; this single form is tested.)
#[cfg(test)]
#[inline(always)]
pub(super) fn ln(x: f64) -> f64 {
    let (e, f) = ln_reduce(x);
    ln_finish(e, f / (2.0 + f))
}

/// `(ln a, ln b)` with one division instead of two (as [`ln`]).
#[inline(always)]
pub(super) fn ln2(a: f64, b: f64) -> (f64, f64) {
    let (ea, fa) = ln_reduce(a);
    let (eb, fb) = ln_reduce(b);
    let (da, db) = (2.0 + fa, 2.0 + fb);
    let inv = 1.0 / (da * db);
    (ln_finish(ea, fa * db * inv), ln_finish(eb, fb * da * inv))
}

/// `1/√x` for positive normal x without `sqrt` or division (both are slow
/// in vector form): the bit-trick estimate (< 3.5% off) and four Newton
/// steps `y ← y (3/2 − x y²/2)` (error 3.5e-2 → 1.8e-3 → 5e-6 → 4e-11 →
/// rounding, ≤ 2 ulp). Zero gives a non-finite value (callers mask it).
#[inline(always)]
pub(super) fn rsqrt(x: f64) -> f64 {
    let mut y = f64::from_bits(0x5fe6_eb50_c7b5_37a9u64.wrapping_sub(x.to_bits() >> 1));
    let hx = 0.5 * x;
    for _ in 0..4 {
        y = y * (1.5 - hx * y * y);
    }
    y
}

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// 1.5·2⁵²: adding it rounds |y| < 2⁵¹ to an integer held in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

/// `eˣ`, branch-free (vectorises): `x = n ln2 + r`, `|r| ≤ ln2/2`, Taylor
/// series of `eʳ` to r¹² (truncation < 2e-16), times `2ⁿ` built from bits.
/// `x` is clamped to [−708, 709] (normal results only: below −708 the true
/// value is under 3.3e-308 and callers add it to O(1) quantities).
#[inline(always)]
pub(super) fn exp(x: f64) -> f64 {
    let x = x.clamp(-708.0, 709.0);
    let k = x * LOG2E + SHIFTER;
    let n = k - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 479_001_600.0;
    for d in [
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / d;
    }
    let n_int = k.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(n_int.wrapping_add(1023) << 52);
    p * scale
}

/// Sum of the lanes in a fixed order (pairwise, the same on every ISA).
#[inline(always)]
pub(super) fn sum(a: &Lanes) -> f64 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std() {
        let mut worst: f64 = 0.0;
        let mut x = 1e-300;
        while x < 1e300 {
            for y in [x, x * 1.2345, x * 0.707, x * 1.41, x * 1.41422, x * 0.99999] {
                let (a, b) = (ln(y), y.ln());
                let err = if b == 0.0 {
                    a.abs()
                } else {
                    ((a - b) / b).abs()
                };
                worst = worst.max(err);
            }
            x *= 1.37;
        }
        for y in [1.0, 0.5, 2.0, 1.0 - 1e-15, 1.0 + 1e-12, 0.999, 0.3, 0.05] {
            let (a, b) = (ln(y), y.ln());
            assert!(
                (a - b).abs() <= 2e-15 * b.abs().max(1e-300) + 1e-300,
                "{y}: {a} vs {b}"
            );
        }
        assert!(worst < 2e-15, "worst relative error {worst:e}");
    }

    #[test]
    fn ln2_and_rsqrt_match_std() {
        let mut worst: f64 = 0.0;
        let mut x = 1e-12;
        while x < 1e12 {
            let (a, b) = ln2(x, 1.0 / (x * 1.7));
            worst = worst.max(((a - x.ln()) / x.ln()).abs());
            let c = (1.0 / (x * 1.7)).ln();
            worst = worst.max(((b - c) / c).abs());
            let r = rsqrt(x);
            worst = worst.max((r * x.sqrt() - 1.0).abs());
            x *= 1.0713;
        }
        assert!(worst < 2e-15, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_matches_std() {
        let mut worst: f64 = 0.0;
        let mut x = -708.0;
        while x < 709.0 {
            let (a, b) = (exp(x), x.exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 6e-16, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-307 && exp(-1000.0) > 0.0);
    }
}
