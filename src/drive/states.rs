//! (Placeholder until the seeded k-means lands.)
use crate::error::Result;

/// k-means result.
pub struct KMeans {
    /// Labels.
    pub labels: Vec<u32>,
    /// Centres.
    pub centers: Vec<f32>,
}

/// Placeholder: the first k points as centres.
pub fn kmeans(
    points: &[f32],
    dim: usize,
    k: usize,
    _seed: u64,
    _max_iter: usize,
) -> Result<KMeans> {
    let c = points[..k * dim].to_vec();
    let labels = crate::drive::summary::StateModel {
        centers: c.clone(),
        dim,
    }
    .assign(points);
    Ok(KMeans { centers: c, labels })
}

/// Placeholder.
pub fn visited_fraction(labels: &[u32], k: usize, times_ps: &[f64]) -> Vec<(f64, f64)> {
    let mut seen = vec![false; k];
    let mut n = 0;
    labels
        .iter()
        .zip(times_ps)
        .map(|(&l, &t)| {
            if !seen[l as usize] {
                seen[l as usize] = true;
                n += 1;
            }
            (t, n as f64 / k as f64)
        })
        .collect()
}

/// Placeholder.
pub fn time_to_fraction(curve: &[(f64, f64)], fraction: f64) -> Option<f64> {
    curve.iter().find(|p| p.1 >= fraction).map(|p| p.0)
}
