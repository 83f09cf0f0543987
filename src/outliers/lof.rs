//! Local Outlier Factor, as scikit-learn's `LocalOutlierFactor`.

use rayon::prelude::*;

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::outliers::{validate, Knn};

/// scikit-learn's `negative_outlier_factor_` of every point:
/// `LocalOutlierFactor(n_neighbors, metric='euclidean').fit(X)` on a float64
/// copy of `points` (row-major `[n][dim]`). Lower is more outlying.
///
/// With `k = max(1, min(n_neighbors, n − 1))` (sklearn caps `n_neighbors`
/// at `n − 1`), neighbours `N(i)` exclude `i`:
/// - `k_dist(j)` = distance to the k-th neighbour of `j`,
/// - `reach(i, j) = max(dist(i, j), k_dist(j))`,
/// - `lrd(i) = 1 / (mean_{j∈N(i)} reach(i, j) + 1e-10)`,
/// - `nof(i) = −mean_{j∈N(i)} lrd(j) / lrd(i)`.
///
/// Means use numpy's pairwise summation. Requires `n >= 2`, `n_neighbors >= 1`.
pub fn lof(device: &Device, points: &[f32], dim: usize, n_neighbors: usize) -> Result<Vec<f64>> {
    let n = validate::points("lof", points, dim)?;
    if n_neighbors == 0 {
        return Err(Error::InvalidArgument(
            "lof: n_neighbors must be at least 1".into(),
        ));
    }
    if n < 2 {
        return Err(Error::InvalidArgument(
            "lof: needs at least 2 points (a point is not its own neighbour)".into(),
        ));
    }
    let k = n_neighbors.min(n - 1);
    let nn = device.backend()?.knn(points, dim, k)?;
    lof_from_knn(&nn)
}

/// The LOF stage of [`lof`] on already computed neighbours: scikit-learn's
/// `negative_outlier_factor_` of every point from its `k` nearest
/// neighbours (`nn` as [`knn`](super::knn) returns it for all `n` points:
/// rows in point order, distances ascending). `lof(points, k)` is exactly
/// `lof_from_knn(&knn(points, min(k, n − 1)))`.
///
/// Errors when `nn` is not a full neighbour table (`k == 0` with rows,
/// lengths disagreeing, or an index `>= n`). An empty table gives no scores.
pub fn lof_from_knn(nn: &Knn) -> Result<Vec<f64>> {
    let k = nn.k;
    if nn.idx.is_empty() && nn.dist.is_empty() {
        return Ok(Vec::new());
    }
    if k == 0 || !nn.idx.len().is_multiple_of(k) || nn.dist.len() != nn.idx.len() {
        return Err(Error::Shape(format!(
            "lof_from_knn: {} indices and {} distances are not n rows of k = {k}",
            nn.idx.len(),
            nn.dist.len()
        )));
    }
    let n = nn.n();
    if let Some(p) = nn.idx.iter().position(|&j| j as usize >= n) {
        return Err(Error::InvalidArgument(format!(
            "lof_from_knn: neighbour {} of point {} is {}, not a point index (n = {n})",
            p % k,
            p / k,
            nn.idx[p]
        )));
    }
    let k_dist: Vec<f64> = (0..n).map(|j| nn.dist[j * k + k - 1]).collect();
    let lrd: Vec<f64> = (0..n)
        .into_par_iter()
        .map_init(
            || vec![0.0; k],
            |reach, i| {
                for ((r, &d), &j) in reach.iter_mut().zip(nn.dist_row(i)).zip(nn.idx_row(i)) {
                    *r = d.max(k_dist[j as usize]);
                }
                1.0 / (mean(reach) + 1e-10)
            },
        )
        .collect();
    let nof = (0..n)
        .into_par_iter()
        .map_init(
            || vec![0.0; k],
            |ratio, i| {
                for (r, &j) in ratio.iter_mut().zip(nn.idx_row(i)) {
                    *r = lrd[j as usize] / lrd[i];
                }
                -mean(ratio)
            },
        )
        .collect();
    Ok(nof)
}

/// `np.mean` of a contiguous f64 row: pairwise sum divided by the length.
fn mean(v: &[f64]) -> f64 {
    pairwise_sum(v) / v.len() as f64
}

/// numpy's pairwise summation (`pairwise_sum_DOUBLE`): sequential below 8
/// values, 8 interleaved partial sums up to 128, halving above.
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(-0.0, |s, &x| s + x)
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for chunk in a[8..full].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_integers() {
        for n in [1, 7, 8, 9, 20, 128, 129, 1000] {
            let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(pairwise_sum(&v), (n * (n - 1) / 2) as f64, "n = {n}");
        }
    }
}
