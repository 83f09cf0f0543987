//! Limited-memory BFGS (Nocedal 1980; Liu & Nocedal 1989) with the
//! backtracking strong-Wolfe line search of liblbfgs, the library OpenMM's
//! `LocalEnergyMinimizer` uses, with liblbfgs' default parameters (6
//! correction pairs, ftol 1e-4, wolfe 0.9, 40 line-search trials, step
//! factors 0.5 / 2.1, first step 1/‖d‖).
//!
//! Written here rather than taken from a crate: the optimisation crates
//! available (`argmin` and friends) bring a math-backend stack for what is
//! ~150 lines, and the line search must treat non-finite energies (atoms
//! pushed onto each other by a long trial step) as "too far".

use crate::error::Result;

/// Parameters (liblbfgs' names and defaults).
#[derive(Clone, Copy, Debug)]
pub(super) struct Params {
    /// Correction pairs kept.
    pub m: usize,
    /// Iteration limit; 0 = none.
    pub max_iterations: usize,
    /// Sufficient-decrease (Armijo) parameter.
    pub ftol: f64,
    /// Curvature (strong Wolfe) parameter.
    pub wolfe: f64,
    /// Line-search trials per iteration.
    pub max_linesearch: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            m: 6,
            max_iterations: 0,
            ftol: 1e-4,
            wolfe: 0.9,
            max_linesearch: 40,
        }
    }
}

/// Why the minimization stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// The convergence test passed.
    Converged,
    /// `max_iterations` iterations were done.
    MaxIterations,
    /// No acceptable step was found (at the precision limit, or the
    /// direction does not descend); `x` is the best point found.
    LineSearch,
}

/// Result of [`minimize`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Outcome {
    /// Iterations done.
    pub iterations: usize,
    /// Why it stopped.
    pub stop: Stop,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimise from `x` (updated in place). `eval(x, g)` returns the objective
/// and writes its gradient (return NaN for an unusable point); `converged(g)`
/// is the convergence test on the gradient. `g` holds the gradient at the
/// returned point.
pub(super) fn minimize(
    x: &mut [f64],
    g: &mut [f64],
    mut eval: impl FnMut(&[f64], &mut [f64]) -> Result<f64>,
    converged: impl Fn(&[f64]) -> bool,
    params: &Params,
) -> Result<Outcome> {
    let n = x.len();
    let mut f = eval(x, g)?;
    if converged(g) || n == 0 {
        return Ok(Outcome {
            iterations: 0,
            stop: Stop::Converged,
        });
    }
    let m = params.m.max(1);
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut rho: Vec<f64> = Vec::with_capacity(m);
    let mut alpha = vec![0.0; m];
    let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut step = 1.0 / dot(&d, &d).sqrt();
    let mut xp = vec![0.0; n];
    let mut gp = vec![0.0; n];
    let mut iterations = 0;
    loop {
        xp.copy_from_slice(x);
        gp.copy_from_slice(g);
        if !line_search(x, &mut f, g, &d, &mut step, &xp, &gp, &mut eval, params)? {
            x.copy_from_slice(&xp);
            g.copy_from_slice(&gp);
            return Ok(Outcome {
                iterations,
                stop: Stop::LineSearch,
            });
        }
        iterations += 1;
        if converged(g) {
            return Ok(Outcome {
                iterations,
                stop: Stop::Converged,
            });
        }
        if params.max_iterations != 0 && iterations >= params.max_iterations {
            return Ok(Outcome {
                iterations,
                stop: Stop::MaxIterations,
            });
        }
        // New correction pair (oldest dropped).
        let s: Vec<f64> = x.iter().zip(&xp).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g.iter().zip(&gp).map(|(a, b)| a - b).collect();
        let ys = dot(&y, &s);
        let yy = dot(&y, &y);
        if ys > 0.0 && yy > 0.0 {
            if s_hist.len() == m {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / ys);
        }
        // Two-loop recursion: d = −H g.
        for (di, gi) in d.iter_mut().zip(g.iter()) {
            *di = -gi;
        }
        let k = s_hist.len();
        for j in (0..k).rev() {
            alpha[j] = rho[j] * dot(&s_hist[j], &d);
            for (di, yi) in d.iter_mut().zip(&y_hist[j]) {
                *di -= alpha[j] * yi;
            }
        }
        if k > 0 {
            let last = k - 1;
            let gamma = 1.0 / (rho[last] * dot(&y_hist[last], &y_hist[last]));
            for di in d.iter_mut() {
                *di *= gamma;
            }
        }
        for j in 0..k {
            let beta = rho[j] * dot(&y_hist[j], &d);
            for (di, si) in d.iter_mut().zip(&s_hist[j]) {
                *di += (alpha[j] - beta) * si;
            }
        }
        step = 1.0;
        if k == 0 {
            // Memory reset (no usable curvature): start like iteration one.
            step = 1.0 / dot(&d, &d).sqrt();
        }
    }
}

/// Backtracking line search with the strong Wolfe conditions. On success
/// `x`, `f`, `g` are at the accepted point; `false` when none was found.
#[allow(clippy::too_many_arguments)]
fn line_search(
    x: &mut [f64],
    f: &mut f64,
    g: &mut [f64],
    d: &[f64],
    step: &mut f64,
    xp: &[f64],
    gp: &[f64],
    eval: &mut impl FnMut(&[f64], &mut [f64]) -> Result<f64>,
    params: &Params,
) -> Result<bool> {
    const DEC: f64 = 0.5;
    const INC: f64 = 2.1;
    const MIN_STEP: f64 = 1e-20;
    const MAX_STEP: f64 = 1e20;
    let dginit = dot(gp, d);
    if dginit.is_nan() || dginit >= 0.0 {
        return Ok(false);
    }
    let finit = *f;
    let dgtest = params.ftol * dginit;
    for _ in 0..params.max_linesearch {
        for i in 0..x.len() {
            x[i] = xp[i] + *step * d[i];
        }
        let fx = eval(x, g)?;
        let width = if !fx.is_finite() || fx > finit + *step * dgtest {
            DEC
        } else {
            let dg = dot(g, d);
            if dg < params.wolfe * dginit {
                INC
            } else if dg > -params.wolfe * dginit {
                DEC
            } else {
                *f = fx;
                return Ok(true);
            }
        };
        if *step < MIN_STEP || *step > MAX_STEP {
            return Ok(false);
        }
        *step *= width;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosenbrock() {
        let mut x = vec![-1.2, 1.0, -1.2, 1.0];
        let mut g = vec![0.0; 4];
        let eval = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for p in 0..2 {
                let (a, b) = (x[2 * p], x[2 * p + 1]);
                f += (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
                g[2 * p] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[2 * p + 1] = 200.0 * (b - a * a);
            }
            Ok(f)
        };
        let out = minimize(
            &mut x,
            &mut g,
            eval,
            |g| dot(g, g).sqrt() < 1e-8,
            &Params::default(),
        )
        .unwrap();
        assert_eq!(out.stop, Stop::Converged);
        assert!(out.iterations < 100, "{}", out.iterations);
        for v in x {
            assert!((v - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn non_finite_trial_points_shorten_the_step() {
        // f = x − 0.01 ln x (NaN for x <= 0), minimum at x = 0.01; the
        // first trial step lands at x < 0.
        let mut x = vec![0.5];
        let mut g = vec![0.0];
        let eval = |x: &[f64], g: &mut [f64]| {
            if x[0] <= 0.0 {
                return Ok(f64::NAN);
            }
            g[0] = 1.0 - 0.01 / x[0];
            Ok(x[0] - 0.01 * x[0].ln())
        };
        let out = minimize(
            &mut x,
            &mut g,
            eval,
            |g| g[0].abs() < 1e-9,
            &Params::default(),
        )
        .unwrap();
        assert_eq!(out.stop, Stop::Converged);
        assert!((x[0] - 0.01).abs() < 1e-9, "{x:?}");
    }
}
