//! Small dense linear solves for constraint clusters (nalgebra's LU with
//! partial row pivoting).

use nalgebra::{DMatrix, DVector};

/// Solve `a x = b` in place by LU decomposition with partial pivoting (`a`:
/// square, destroyed but kept allocated for the next solve; `b` becomes `x`).
/// Returns `false` when the matrix is singular, has a non-finite entry, or
/// the result is not finite.
pub(super) fn solve_in_place(a: &mut DMatrix<f64>, b: &mut DVector<f64>) -> bool {
    debug_assert!(a.is_square() && a.nrows() == b.len());
    if !a.iter().all(|v| v.is_finite()) {
        return false;
    }
    // `lu()` consumes the matrix; take it and put the factored storage back
    // (`l_unpack` reuses it: same shape, no reallocation).
    let lu = std::mem::replace(a, DMatrix::zeros(0, 0)).lu();
    let solved = lu.solve_mut(b);
    *a = lu.l_unpack();
    solved && b.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_detects_singular() {
        let a0 = DMatrix::from_row_slice(3, 3, &[0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0]);
        let b0 = DVector::from_column_slice(&[5.0, 3.0, 6.0]);
        let (mut a, mut b) = (a0.clone(), b0.clone());
        assert!(solve_in_place(&mut a, &mut b));
        assert_eq!(a.shape(), (3, 3));
        // Check the residual instead of guessing the solution.
        let r = &a0 * &b - &b0;
        assert!(r.amax() < 1e-12, "{r}");
        let mut a = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 4.0]);
        let mut b = DVector::from_column_slice(&[1.0, 2.0]);
        assert!(!solve_in_place(&mut a, &mut b));
        let mut a = DMatrix::from_row_slice(2, 2, &[1.0, f64::INFINITY, 0.0, 1.0]);
        let mut b = DVector::from_column_slice(&[1.0, 2.0]);
        assert!(!solve_in_place(&mut a, &mut b));
    }
}
