//! DBSCAN with a radius tuned until the number of outliers is in range
//! (DeepDriveMD's outlier agent).

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::outliers::search::{Alone, Trials};
use crate::outliers::{dbscan, validate};

/// Settings of [`adaptive_dbscan`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveDbscanOptions {
    /// Starting radius.
    pub eps: f64,
    /// DBSCAN core threshold (neighbourhood size, self included).
    pub min_samples: usize,
    /// Fewest outliers (noise points) wanted.
    pub min_outliers: usize,
    /// Most outliers wanted.
    pub max_outliers: usize,
    /// Most DBSCAN runs.
    pub max_attempts: usize,
    /// Multiplicative radius step (> 1) used until the target is bracketed.
    pub step: f64,
}

impl Default for AdaptiveDbscanOptions {
    fn default() -> Self {
        AdaptiveDbscanOptions {
            eps: 1.3,
            min_samples: 10,
            min_outliers: 50,
            max_outliers: 150,
            max_attempts: 20,
            step: 1.25,
        }
    }
}

/// Outcome of [`adaptive_dbscan`]: the first run in range, or, when none
/// was, the run whose outlier count came closest to the range.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveDbscanResult {
    /// Radius of the returned run (latent units).
    pub eps: f64,
    /// Labels of the returned run (−1 = outlier).
    pub labels: Vec<i64>,
    /// Clusters in the returned run.
    pub n_clusters: usize,
    /// Outlier (noise) indices of the returned run, ascending.
    pub outliers: Vec<usize>,
    /// DBSCAN runs made.
    pub attempts: usize,
    /// Whether the outlier count of the returned run is within
    /// `[min_outliers, max_outliers]`.
    pub reached: bool,
}

/// Run DBSCAN, adjusting `eps` until the number of noise points lands in
/// `[min_outliers, max_outliers]`.
///
/// Policy: too many outliers → larger radius, too few → smaller. The radius
/// is multiplied (divided) by `step` until one run has too many and another
/// too few outliers; from then on the next radius is the geometric mean of
/// the tightest such pair (bisection, valid because the noise count never
/// increases with `eps`). Stops at the first run in range (returned with
/// `reached = true`), or after `max_attempts` runs or when the radius can no
/// longer move; then the run whose outlier count was closest to the range
/// (the later of equally close runs) is returned with `reached = false`.
///
/// The runs share one exact kNN (core distances) and each is seeded with
/// the components of the largest smaller radius already run (see
/// [`super::search`]); every run's labels equal [`super::dbscan`]'s.
pub fn adaptive_dbscan(
    device: &Device,
    points: &[f32],
    dim: usize,
    options: &AdaptiveDbscanOptions,
) -> Result<AdaptiveDbscanResult> {
    const WHAT: &str = "adaptive_dbscan";
    validate::points(WHAT, points, dim)?;
    validate_options(WHAT, options)?;
    let mut trials = Trials::new(device, points, dim, options.min_samples, &Alone)?;
    search(options, |eps| trials.run(eps))
}

/// The radius policy of [`adaptive_dbscan`] on validated options, `run`
/// giving the DBSCAN labels at a radius.
pub(crate) fn search(
    o: &AdaptiveDbscanOptions,
    mut run: impl FnMut(f64) -> Result<dbscan::Dbscan>,
) -> Result<AdaptiveDbscanResult> {
    let mut eps = o.eps;
    // Largest radius with too many outliers, smallest with too few.
    let (mut too_many_at, mut too_few_at) = (None::<f64>, None::<f64>);
    let mut attempts = 0;
    // The run closest to the range so far: (distance, eps, run).
    let mut closest: Option<(usize, f64, dbscan::Dbscan)> = None;
    loop {
        let run = run(eps)?;
        attempts += 1;
        let count = run.labels.iter().filter(|&&l| l < 0).count();
        let reached = (o.min_outliers..=o.max_outliers).contains(&count);
        let next = if count > o.max_outliers {
            too_many_at = Some(too_many_at.map_or(eps, |e| e.max(eps)));
            next_eps(too_many_at, too_few_at, o.step)
        } else {
            too_few_at = Some(too_few_at.map_or(eps, |e| e.min(eps)));
            next_eps(too_many_at, too_few_at, o.step)
        };
        // Stop when in range, out of attempts, or when the radius can no
        // longer move (overflow, underflow, a bracket narrower than an ulp).
        let stuck = !(next.is_finite() && next > 0.0) || next == eps;
        let distance = o.min_outliers.saturating_sub(count) + count.saturating_sub(o.max_outliers);
        if closest.as_ref().is_none_or(|c| distance <= c.0) {
            closest = Some((distance, eps, run));
        }
        if reached || attempts == o.max_attempts || stuck {
            let (_, eps, run) = closest.expect("one run was made");
            return Ok(AdaptiveDbscanResult {
                eps,
                outliers: run.noise(),
                labels: run.labels,
                n_clusters: run.n_clusters,
                attempts,
                reached,
            });
        }
        eps = next;
    }
}

/// Check [`AdaptiveDbscanOptions`]; `what` names the caller in messages.
pub(crate) fn validate_options(what: &str, o: &AdaptiveDbscanOptions) -> Result<()> {
    validate::dbscan_params(what, o.eps, o.min_samples)?;
    if !(o.step.is_finite() && o.step > 1.0) {
        return Err(Error::InvalidArgument(format!(
            "{what}: step must be a finite factor > 1, got {}",
            o.step
        )));
    }
    if o.max_attempts == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what}: max_attempts must be at least 1"
        )));
    }
    if o.min_outliers > o.max_outliers {
        return Err(Error::InvalidArgument(format!(
            "{what}: min_outliers ({}) exceeds max_outliers ({})",
            o.min_outliers, o.max_outliers
        )));
    }
    Ok(())
}

/// The next radius: geometric mean of the bracket once there is one,
/// otherwise a multiplicative step away from the side that failed.
fn next_eps(too_many_at: Option<f64>, too_few_at: Option<f64>, step: f64) -> f64 {
    match (too_many_at, too_few_at) {
        (Some(lo), Some(hi)) => (lo * hi).sqrt(),
        (Some(lo), None) => lo * step,
        (None, Some(hi)) => hi / step,
        (None, None) => unreachable!("a run was just classified"),
    }
}
