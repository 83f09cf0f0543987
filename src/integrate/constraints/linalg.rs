//! Small dense linear solves for constraint clusters.

/// Solve `a x = b` in place (`a`: `n×n` row-major, destroyed; `b` becomes
/// `x`) by Gaussian elimination with partial pivoting. Returns `false` when
/// the matrix is singular or the result is not finite.
pub(super) fn solve_in_place(n: usize, a: &mut [f64], b: &mut [f64]) -> bool {
    debug_assert!(a.len() >= n * n && b.len() >= n);
    for col in 0..n {
        let mut piv = col;
        let mut best = a[col * n + col].abs();
        for row in col + 1..n {
            let v = a[row * n + col].abs();
            if v > best {
                best = v;
                piv = row;
            }
        }
        if !(best > 0.0 && best.is_finite()) {
            return false;
        }
        if piv != col {
            for k in 0..n {
                a.swap(col * n + k, piv * n + k);
            }
            b.swap(col, piv);
        }
        let d = a[col * n + col];
        for row in col + 1..n {
            let f = a[row * n + col] / d;
            if f != 0.0 {
                for k in col..n {
                    a[row * n + k] -= f * a[col * n + k];
                }
                b[row] -= f * b[col];
            }
        }
    }
    for col in (0..n).rev() {
        let mut s = b[col];
        for k in col + 1..n {
            s -= a[col * n + k] * b[k];
        }
        b[col] = s / a[col * n + col];
    }
    b[..n].iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_detects_singular() {
        let mut a = vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        let mut b = vec![5.0, 3.0, 6.0];
        assert!(solve_in_place(3, &mut a, &mut b));
        // x = (1, 2, 1)... check residual instead of guessing.
        let a0 = [0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0];
        for r in 0..3 {
            let s: f64 = (0..3).map(|k| a0[r * 3 + k] * b[k]).sum();
            assert!((s - [5.0, 3.0, 6.0][r]).abs() < 1e-12);
        }
        let mut a = vec![1.0, 2.0, 2.0, 4.0];
        let mut b = vec![1.0, 2.0];
        assert!(!solve_in_place(2, &mut a, &mut b));
    }
}
