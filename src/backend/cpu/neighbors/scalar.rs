//! The floating-point type a search runs in, and its rounding bounds.

use std::ops::{Add, Mul, Sub};

#[cfg(target_arch = "x86_64")]
mod wide;

/// f32 (fast path) or f64 (inputs too large for f32 squared distances).
pub(super) trait Scalar:
    Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + 'static
{
    const ZERO: Self;
    const INF: Self;
    /// Pads leaves: every comparison with a NaN distance is false.
    const NAN: Self;
    /// Unit roundoff, `2^-p`.
    const UNIT_ROUNDOFF: f64;
    /// Smallest positive normal value, as f64.
    const MIN_NORMAL: f64;

    fn from_f32(x: f32) -> Self;
    /// Round to nearest (overflow gives infinity).
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `self * a + b`, fused when `FMA` (only used where the CPU has FMA).
    fn mul_add<const FMA: bool>(self, a: Self, b: Self) -> Self;
    /// The larger value (`other` when either is NaN).
    fn max(self, other: Self) -> Self;
    /// Bit `l` set where `v[l] <= t[l]` (false for NaN), 8 lanes. `AVX2`
    /// selects AVX2 instructions; it must only be true in code compiled
    /// with the `avx2` target feature.
    fn le8<const AVX2: bool>(v: &[Self; 8], t: &[Self; 8]) -> u32;

    /// Squared distances from `q` (`dim` values) to the 32 points of a
    /// transposed leaf run (`run[d * 32 + lane]`) into `out`; returns the
    /// mask of lanes with distance `<= accept` (`out` is only meaningful
    /// for those lanes: a run may stop early when none can be). `WIDE`
    /// selects 512-bit instructions (only true in code compiled with
    /// `avx512f`); every tier computes the same value per lane.
    fn run32<const AVX2: bool, const WIDE: bool>(
        run: &[Self],
        q: &[Self],
        accept: Self,
        out: &mut [Self; 32],
    ) -> u32;

    /// Per-lane lower bound of the squared distance from 32 transposed
    /// queries (`q[d * 32 + lane]`, `dim` components) to the box `lo..hi`;
    /// returns the mask of lanes with bound `<= limit[lane]`. `WIDE` as in
    /// [`Scalar::run32`].
    fn box_lower32<const AVX2: bool, const WIDE: bool>(
        q: &[Self],
        lo: &[Self],
        hi: &[Self],
        limit: &[Self; 32],
    ) -> u32;
}

#[inline(always)]
fn box_lower32_portable<T: Scalar>(q: &[T], lo: &[T], hi: &[T], limit: &[T; 32]) -> u32 {
    let mut acc = [T::ZERO; 32];
    for (d, (&l, &h)) in lo.iter().zip(hi).enumerate() {
        for (a, &x) in acc.iter_mut().zip(&q[d * 32..][..32]) {
            let gap = (l - x).max(x - h).max(T::ZERO);
            *a = gap * gap + *a;
        }
    }
    let mut m = 0;
    for (l, (&v, &t)) in acc.iter().zip(limit).enumerate() {
        m |= ((v <= t) as u32) << l;
    }
    m
}

#[inline(always)]
fn run32_portable<T: Scalar>(run: &[T], q: &[T], accept: T, out: &mut [T; 32]) -> u32 {
    let mut acc = [T::ZERO; 32];
    for (d, &qd) in q.iter().enumerate() {
        let xs = &run[d * 32..][..32];
        for l in 0..32 {
            let t = xs[l] - qd;
            acc[l] = t * t + acc[l];
        }
    }
    *out = acc;
    let mut m = 0;
    for (l, &v) in acc.iter().enumerate() {
        m |= ((v <= accept) as u32) << l;
    }
    m
}

/// Portable [`Scalar::le8`].
#[inline(always)]
fn le8_portable<T: PartialOrd>(v: &[T; 8], t: &[T; 8]) -> u32 {
    let mut m = 0;
    for l in 0..8 {
        m |= ((v[l] <= t[l]) as u32) << l;
    }
    m
}

impl Scalar for f32 {
    const ZERO: Self = 0.0;
    const INF: Self = f32::INFINITY;
    const NAN: Self = f32::NAN;
    const UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 24) as f64;
    const MIN_NORMAL: f64 = f32::MIN_POSITIVE as f64;

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn mul_add<const FMA: bool>(self, a: Self, b: Self) -> Self {
        if FMA {
            f32::mul_add(self, a, b)
        } else {
            self * a + b
        }
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        // Not f32::max: no NaN handling needed, and this maps to one `maxps`.
        if self > other {
            self
        } else {
            other
        }
    }
    #[inline(always)]
    fn le8<const AVX2: bool>(v: &[Self; 8], t: &[Self; 8]) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            use std::arch::x86_64::*;
            // SAFETY: `AVX2` is only set in code compiled with avx2 enabled
            // (see `multiversion!`), and both pointers address 8 floats.
            return unsafe {
                let (a, b) = (_mm256_loadu_ps(v.as_ptr()), _mm256_loadu_ps(t.as_ptr()));
                _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(a, b)) as u32
            };
        }
        le8_portable(v, t)
    }

    #[inline(always)]
    fn run32<const AVX2: bool, const WIDE: bool>(
        run: &[Self],
        q: &[Self],
        accept: Self,
        out: &mut [Self; 32],
    ) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if WIDE {
            return wide::run32(run, q, accept, out);
        }
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            use std::arch::x86_64::*;
            let run = &run[..q.len() * 32];
            // SAFETY: compiled with avx2+fma (see `le8`); every load reads 8
            // floats inside `run` (length checked above) and the stores
            // write inside `out`.
            return unsafe {
                let (mut a0, mut a1, mut a2, mut a3) = (
                    _mm256_setzero_ps(),
                    _mm256_setzero_ps(),
                    _mm256_setzero_ps(),
                    _mm256_setzero_ps(),
                );
                let a = _mm256_set1_ps(accept);
                let mut x = run.as_ptr();
                // Partial sums only grow: once every lane exceeds `accept`
                // (checked after `EARLY` components), the run has no hit.
                const EARLY: usize = 6;
                for (d, &qd) in q.iter().enumerate() {
                    let qv = _mm256_set1_ps(qd);
                    let t0 = _mm256_sub_ps(_mm256_loadu_ps(x), qv);
                    let t1 = _mm256_sub_ps(_mm256_loadu_ps(x.add(8)), qv);
                    let t2 = _mm256_sub_ps(_mm256_loadu_ps(x.add(16)), qv);
                    let t3 = _mm256_sub_ps(_mm256_loadu_ps(x.add(24)), qv);
                    a0 = _mm256_fmadd_ps(t0, t0, a0);
                    a1 = _mm256_fmadd_ps(t1, t1, a1);
                    a2 = _mm256_fmadd_ps(t2, t2, a2);
                    a3 = _mm256_fmadd_ps(t3, t3, a3);
                    x = x.add(32);
                    if d + 1 == EARLY && q.len() > EARLY {
                        // (Not via min: padding lanes are NaN.)
                        let le = |v| _mm256_cmp_ps::<_CMP_LE_OQ>(v, a);
                        let any = _mm256_or_ps(
                            _mm256_or_ps(le(a0), le(a1)),
                            _mm256_or_ps(le(a2), le(a3)),
                        );
                        if _mm256_movemask_ps(any) == 0 {
                            return 0;
                        }
                    }
                }
                let o = out.as_mut_ptr();
                _mm256_storeu_ps(o, a0);
                _mm256_storeu_ps(o.add(8), a1);
                _mm256_storeu_ps(o.add(16), a2);
                _mm256_storeu_ps(o.add(24), a3);
                let m = |v| _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(v, a)) as u32;
                m(a0) | m(a1) << 8 | m(a2) << 16 | m(a3) << 24
            };
        }
        run32_portable(run, q, accept, out)
    }

    #[inline(always)]
    fn box_lower32<const AVX2: bool, const WIDE: bool>(
        q: &[Self],
        lo: &[Self],
        hi: &[Self],
        limit: &[Self; 32],
    ) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if WIDE {
            return wide::box_lower32(q, lo, hi, limit);
        }
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            use std::arch::x86_64::*;
            let dim = lo.len().min(hi.len());
            let q = &q[..dim * 32];
            // SAFETY: compiled with avx2+fma; loads read 8 floats inside `q`
            // (length checked above) and `limit`.
            return unsafe {
                let zero = _mm256_setzero_ps();
                let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
                let mut x = q.as_ptr();
                for (&l, &h) in lo.iter().zip(hi) {
                    let (lv, hv) = (_mm256_set1_ps(l), _mm256_set1_ps(h));
                    let gap = |qv| {
                        let g = _mm256_max_ps(_mm256_sub_ps(lv, qv), _mm256_sub_ps(qv, hv));
                        _mm256_max_ps(g, zero)
                    };
                    let (g0, g1) = (gap(_mm256_loadu_ps(x)), gap(_mm256_loadu_ps(x.add(8))));
                    let (g2, g3) = (
                        gap(_mm256_loadu_ps(x.add(16))),
                        gap(_mm256_loadu_ps(x.add(24))),
                    );
                    a0 = _mm256_fmadd_ps(g0, g0, a0);
                    a1 = _mm256_fmadd_ps(g1, g1, a1);
                    a2 = _mm256_fmadd_ps(g2, g2, a2);
                    a3 = _mm256_fmadd_ps(g3, g3, a3);
                    x = x.add(32);
                }
                let t = limit.as_ptr();
                let m = |v, c: usize| {
                    let lim = _mm256_loadu_ps(t.add(c * 8));
                    _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(v, lim)) as u32
                };
                m(a0, 0) | m(a1, 1) << 8 | m(a2, 2) << 16 | m(a3, 3) << 24
            };
        }
        box_lower32_portable(q, lo, hi, limit)
    }
}

impl Scalar for f64 {
    const ZERO: Self = 0.0;
    const INF: Self = f64::INFINITY;
    const NAN: Self = f64::NAN;
    const UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 53) as f64;
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        f64::from(x)
    }
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mul_add<const FMA: bool>(self, a: Self, b: Self) -> Self {
        if FMA {
            f64::mul_add(self, a, b)
        } else {
            self * a + b
        }
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        if self > other {
            self
        } else {
            other
        }
    }
    #[inline(always)]
    fn le8<const AVX2: bool>(v: &[Self; 8], t: &[Self; 8]) -> u32 {
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            use std::arch::x86_64::*;
            // SAFETY: as for f32; the pointers address 2 x 4 doubles.
            return unsafe {
                let lo = _mm256_cmp_pd::<_CMP_LE_OQ>(
                    _mm256_loadu_pd(v.as_ptr()),
                    _mm256_loadu_pd(t.as_ptr()),
                );
                let hi = _mm256_cmp_pd::<_CMP_LE_OQ>(
                    _mm256_loadu_pd(v.as_ptr().add(4)),
                    _mm256_loadu_pd(t.as_ptr().add(4)),
                );
                (_mm256_movemask_pd(lo) | _mm256_movemask_pd(hi) << 4) as u32
            };
        }
        le8_portable(v, t)
    }

    #[inline(always)]
    fn run32<const AVX2: bool, const WIDE: bool>(
        run: &[Self],
        q: &[Self],
        accept: Self,
        out: &mut [Self; 32],
    ) -> u32 {
        run32_portable(run, q, accept, out)
    }

    #[inline(always)]
    fn box_lower32<const AVX2: bool, const WIDE: bool>(
        q: &[Self],
        lo: &[Self],
        hi: &[Self],
        limit: &[Self; 32],
    ) -> u32 {
        box_lower32_portable(q, lo, hi, limit)
    }
}

/// Safety margins that turn squared distances computed in `T` into exact
/// decisions about the f64 squared distance of [`sq_dist_f64`].
///
/// Every squared distance (point–point, point–box lower or upper bound) is a
/// sum of `dim` non-negative rounded squares of rounded differences, so its
/// value `s` in `T` satisfies `|s − s_exact| <= γ s_exact + abs` with
/// `γ = (dim + 2) u` and `abs` covering underflow. The margins below use
/// twice that.
///
/// [`sq_dist_f64`]: crate::outliers::kernels::sq_dist_f64
#[derive(Clone, Copy, Debug)]
pub(super) struct Margin {
    /// `(1 + γ) / (1 − γ)`: the most one computed value can exceed another
    /// whose exact value is not smaller.
    pub rho: f64,
    /// Absolute slack for underflow.
    pub abs: f64,
}

impl Margin {
    pub fn new<T: Scalar>(dim: usize) -> Self {
        let gamma = 2.0 * (dim as f64 + 4.0) * T::UNIT_ROUNDOFF;
        Margin {
            rho: (1.0 + gamma) / (1.0 - gamma),
            abs: 2.0 * (dim as f64 + 1.0) * T::MIN_NORMAL,
        }
    }

    /// Computed squared distances above this cannot be `<= r2` exactly.
    pub fn above<T: Scalar>(&self, r2: f64) -> T {
        T::from_f64(r2 * self.rho * self.rho * self.rho + self.abs)
    }

    /// Computed squared distances at or below this are `<= r2` exactly.
    pub fn below<T: Scalar>(&self, r2: f64) -> T {
        T::from_f64(r2 / (self.rho * self.rho * self.rho) - self.abs)
    }
}
