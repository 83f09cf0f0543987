//! Small fixed-width vectors and runtime ISA dispatch for the cpu nn kernels.
//!
//! Element-wise code is written on [`Lanes`] (16 f32) and compiled several
//! times by [`multiversion!`]: for AVX-512, for AVX2 and for the baseline,
//! picked at run time. Only additions, subtractions, multiplications by
//! constants and max are used (never fused multiply-add), so every version
//! gives bitwise the same results.

use crate::nn::kernels::Activation;

/// Channels processed together.
pub(super) const L: usize = 16;

/// One vector of [`L`] values.
pub(super) type Lanes = [f32; L];

/// Load `n ≤ L` values from `src[c..]`, zero-filling the rest.
#[inline(always)]
pub(super) fn load(src: &[f32], c: usize, n: usize) -> Lanes {
    if n == L {
        let full: &Lanes = src[c..c + L].try_into().expect("L values");
        *full
    } else {
        let mut a = [0.0; L];
        for (d, &v) in a.iter_mut().zip(&src[c..c + n]) {
            *d = v;
        }
        a
    }
}

/// Store the first `n ≤ L` values of `a` to `dst[c..]`.
#[inline(always)]
pub(super) fn store(dst: &mut [f32], c: usize, n: usize, a: &Lanes) {
    if n == L {
        let full: &mut Lanes = (&mut dst[c..c + L]).try_into().expect("L values");
        *full = *a;
    } else {
        for (d, &v) in dst[c..c + n].iter_mut().zip(a) {
            *d = v;
        }
    }
}

#[inline(always)]
pub(super) fn add(a: Lanes, b: Lanes) -> Lanes {
    let mut r = a;
    for (r, b) in r.iter_mut().zip(b) {
        *r += b;
    }
    r
}

/// `act(a + bias)`, element-wise.
#[inline(always)]
pub(super) fn bias_act(a: Lanes, bias: Lanes, act: Activation) -> Lanes {
    let mut v = add(a, bias);
    match act {
        Activation::Identity => {}
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::LeakyRelu(s) => v.iter_mut().for_each(|x| {
            if *x < 0.0 {
                *x *= s
            }
        }),
    }
    v
}

use crate::backend::cpu::multiversion::multiversion;

multiversion! {
    /// `row[j] = act(row[j] + b[j % b.len()])` for rows of `b.len()` values.
    pub(super) fn bias_act_rows(data: &mut [f32], b: &[f32], act: Activation) {
        let width = b.len();
        for row in data.chunks_exact_mut(width) {
            let mut c = 0;
            while c < width {
                let n = L.min(width - c);
                let v = bias_act(load(row, c, n), load(b, c, n), act);
                store(row, c, n, &v);
                c += n;
            }
        }
    }
}
