//! Conformational states from latent vectors, and how fast a run visits them.
//!
//! The campaign's science check clusters the latent vectors (dimensionless)
//! of every frame of the steered and of the plain-MD run into `k` states with
//! seeded k-means ([`kmeans`]), then follows, per run, the fraction of the
//! `k` states visited against simulated time in ps ([`visited_fraction`]) and
//! the time a run needs to reach a given fraction ([`time_to_fraction`]).
//!
//! # Why hand-written
//!
//! k-means is ~150 lines here. The crate that would fit
//! (`linfa-clustering`) brings `ndarray`, `linfa`, `linfa-nn`, `rand` and
//! friends, draws its k-means++ numbers through its own RNG plumbing and
//! reduces centre sums in parallel, so it neither guarantees results that
//! are bitwise independent of the rayon thread count nor lets us fix the
//! tie-breaking and empty-cluster rules below, which the driver's
//! reproducibility relies on.
//!
//! # Algorithm and determinism
//!
//! * Initialisation (k-means++, Arthur & Vassilvitskii 2007): the first
//!   centre is a uniformly drawn point; every further centre is a point drawn
//!   with probability proportional to its squared distance to the nearest
//!   centre chosen so far (one draw per centre, no greedy trials). Random
//!   numbers: ChaCha20 (`rand_chacha`) seeded with `seed_from_u64(seed)`, one
//!   `u64` per draw, turned into `u ∈ [0, 1)` from its top 53 bits.
//! * Lloyd iterations ([`kmeans_from`]): assign every point to its nearest
//!   centre (squared Euclidean distance in f64; ties go to the lower centre
//!   index), then move every centre to the mean of its points; stop when an
//!   assignment equals the previous one or after `max_iter` assignments
//!   (then one more assignment makes the labels match the final centres, as
//!   scikit-learn does).
//! * Empty clusters: a centre that got no point is re-seeded at the point
//!   farthest from its own centre in that assignment (lowest point index on
//!   ties; a point re-seeds at most one empty cluster per iteration). The
//!   other centres are left as the means of their points. A cluster can only
//!   stay empty when there are fewer distinct points than `k`.
//! * Thread-count independence: the per-point work (distances, assignment)
//!   runs in parallel with rayon, but every sum (centre sums, k-means++
//!   weights, inertia) is a sequential f64 sum in point order, so results are
//!   bitwise identical for any number of threads.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use crate::error::check_finite;
use crate::{Error, Result};

/// The result of k-means on `n` points of dimension `dim` (latent units,
/// dimensionless).
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// Number of clusters (states).
    pub k: usize,
    /// Dimension of the points.
    pub dim: usize,
    /// Cluster centres, `[k][dim]` row-major (f64 means rounded to f32).
    pub centers: Vec<f32>,
    /// Cluster of every point, `0..k`, in input order (length `n`).
    pub labels: Vec<u32>,
    /// Sum over points of the squared distance to their centre (f64, computed
    /// with the f64 centres before rounding).
    pub inertia: f64,
    /// Lloyd assignment steps taken, counting the final one that found no
    /// change (scikit-learn's `n_iter_`); equals `max_iter` if not converged.
    pub iterations: usize,
}

/// Check `points` (`[n][dim]`) and return `n`.
fn check_points(points: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(Error::InvalidArgument(
            "k-means: dim must be at least 1".into(),
        ));
    }
    if !points.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "k-means: {} point values are not a multiple of dim = {dim}",
            points.len()
        )));
    }
    check_finite("k-means points", points, dim)?;
    Ok(points.len() / dim)
}

/// Check `1 <= k <= n`.
fn check_k(k: usize, n: usize) -> Result<()> {
    if k == 0 || k > n {
        return Err(Error::InvalidArgument(format!(
            "k-means: k = {k} clusters needs 1 <= k <= n = {n} points"
        )));
    }
    Ok(())
}

/// Squared Euclidean distance in f64.
#[inline]
fn dist2(p: &[f32], c: &[f64]) -> f64 {
    p.iter()
        .zip(c)
        .map(|(&x, &y)| {
            let d = f64::from(x) - y;
            d * d
        })
        .sum()
}

/// Nearest centre (lowest index on ties) and its squared distance.
#[inline]
fn nearest(p: &[f32], centers: &[f64], dim: usize) -> (u32, f64) {
    let mut best = (0u32, f64::INFINITY);
    for (j, c) in centers.chunks_exact(dim).enumerate() {
        let d = dist2(p, c);
        if d < best.1 {
            best = (j as u32, d);
        }
    }
    best
}

/// The nearest of `centers` (`[k][dim]`) to each point of `points`
/// (`[n][dim]`): distances in f64, lowest index on ties — the assignment
/// k-means uses.
pub fn nearest_centers(points: &[f32], dim: usize, centers: &[f32]) -> Vec<u32> {
    let centers: Vec<f64> = centers.iter().map(|&v| f64::from(v)).collect();
    points
        .par_chunks_exact(dim)
        .map(|p| nearest(p, &centers, dim).0)
        .collect()
}

/// Uniform `[0, 1)` from the top 53 bits of one `u64`.
fn uniform(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// k-means++ initial centres (`[k][dim]`, f32 copies of data points).
fn kmeans_pp(points: &[f32], dim: usize, n: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut chosen = Vec::with_capacity(k);
    let first = ((uniform(&mut rng) * n as f64) as usize).min(n - 1);
    chosen.push(first);
    // Squared distance of every point to its nearest chosen centre.
    let mut d2 = vec![f64::INFINITY; n];
    while chosen.len() < k {
        let last = *chosen.last().unwrap();
        let c: Vec<f64> = points[last * dim..(last + 1) * dim]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        d2.par_iter_mut()
            .zip(points.par_chunks_exact(dim))
            .for_each(|(d, p)| *d = d.min(dist2(p, &c)));
        let total: f64 = d2.iter().sum();
        let next = if total > 0.0 {
            // First point whose cumulative weight exceeds u·total; the last
            // point with non-zero weight if rounding leaves none.
            let target = uniform(&mut rng) * total;
            let mut acc = 0.0;
            let mut pick = None;
            let mut last_positive = 0;
            for (i, &w) in d2.iter().enumerate() {
                if w > 0.0 {
                    last_positive = i;
                    acc += w;
                    if acc > target {
                        pick = Some(i);
                        break;
                    }
                }
            }
            pick.unwrap_or(last_positive)
        } else {
            // Every point coincides with a chosen centre: any point will do.
            ((uniform(&mut rng) * n as f64) as usize).min(n - 1)
        };
        chosen.push(next);
    }
    chosen
        .iter()
        .flat_map(|&i| points[i * dim..(i + 1) * dim].iter().copied())
        .collect()
}

/// Seeded k-means of `points` (`[n][dim]` row-major, latent units) into `k`
/// clusters: k-means++ initialisation from `seed`, then [`kmeans_from`] with
/// at most `max_iter` Lloyd assignments (see the module docs for the exact
/// rules). Deterministic for a given `seed` and independent of the rayon
/// thread count.
///
/// Errors: `dim == 0`, `k` outside `1..=n` or `max_iter == 0`
/// ([`Error::InvalidArgument`]); `points.len()` not a multiple of `dim`
/// ([`Error::Shape`]); NaN or infinite values ([`Error::NonFinite`]).
pub fn kmeans(points: &[f32], dim: usize, k: usize, seed: u64, max_iter: usize) -> Result<KMeans> {
    let n = check_points(points, dim)?;
    check_k(k, n)?;
    if max_iter == 0 {
        return Err(Error::InvalidArgument(
            "k-means: max_iter must be at least 1".into(),
        ));
    }
    let init = kmeans_pp(points, dim, n, k, seed);
    kmeans_from(points, dim, &init, max_iter)
}

/// Lloyd k-means of `points` (`[n][dim]` row-major, latent units) starting
/// from `init_centers` (`[k][dim]`; `k = init_centers.len() / dim`), with at
/// most `max_iter` assignment steps. Matches scikit-learn's
/// `KMeans(init=init_centers, n_init=1, algorithm="lloyd", tol=0)` up to
/// floating-point rounding (and its different empty-cluster rule).
///
/// Errors: as [`kmeans`], plus `init_centers` not a multiple of `dim`
/// ([`Error::Shape`]) or non-finite ([`Error::NonFinite`]).
pub fn kmeans_from(
    points: &[f32],
    dim: usize,
    init_centers: &[f32],
    max_iter: usize,
) -> Result<KMeans> {
    let n = check_points(points, dim)?;
    if !init_centers.len().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "k-means: {} initial centre values are not a multiple of dim = {dim}",
            init_centers.len()
        )));
    }
    let k = init_centers.len() / dim;
    check_k(k, n)?;
    check_finite("k-means initial centres", init_centers, dim)?;
    if max_iter == 0 {
        return Err(Error::InvalidArgument(
            "k-means: max_iter must be at least 1".into(),
        ));
    }

    let mut centers: Vec<f64> = init_centers.iter().map(|&v| f64::from(v)).collect();
    let mut labels = vec![u32::MAX; n];
    let mut d2 = vec![0.0f64; n];
    let mut iterations = 0;
    let mut converged = false;
    let assign = |centers: &[f64], labels: &mut [u32], d2: &mut [f64]| -> bool {
        labels
            .par_iter_mut()
            .zip(d2.par_iter_mut())
            .zip(points.par_chunks_exact(dim))
            .map(|((l, d), p)| {
                let (j, dj) = nearest(p, centers, dim);
                *d = dj;
                let changed = *l != j;
                *l = j;
                changed
            })
            .reduce(|| false, |a, b| a || b)
    };
    while iterations < max_iter {
        let changed = assign(&centers, &mut labels, &mut d2);
        iterations += 1;
        if !changed {
            converged = true;
            break;
        }
        // Update: sequential f64 sums in point order.
        let mut sums = vec![0.0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (p, &l) in points.chunks_exact(dim).zip(&labels) {
            let l = l as usize;
            counts[l] += 1;
            for (s, &x) in sums[l * dim..(l + 1) * dim].iter_mut().zip(p) {
                *s += f64::from(x);
            }
        }
        let mut reseeded = vec![false; n];
        for j in 0..k {
            let c = &mut centers[j * dim..(j + 1) * dim];
            if counts[j] > 0 {
                let inv = counts[j] as f64;
                for (c, s) in c.iter_mut().zip(&sums[j * dim..(j + 1) * dim]) {
                    *c = s / inv;
                }
            } else {
                // Farthest point from its centre, lowest index on ties.
                let mut far: Option<usize> = None;
                for i in 0..n {
                    if !reseeded[i] && far.is_none_or(|f| d2[i] > d2[f]) {
                        far = Some(i);
                    }
                }
                if let Some(i) = far {
                    reseeded[i] = true;
                    for (c, &x) in c.iter_mut().zip(&points[i * dim..(i + 1) * dim]) {
                        *c = f64::from(x);
                    }
                }
            }
        }
    }
    if !converged {
        // Labels that match the final centres.
        assign(&centers, &mut labels, &mut d2);
    }
    let inertia = d2.iter().sum();
    Ok(KMeans {
        k,
        dim,
        centers: centers.iter().map(|&c| c as f32).collect(),
        labels,
        inertia,
        iterations,
    })
}

/// The exploration curve of one run: frames given in any order by their
/// state `labels` (`0..k`) and simulated times `times_ps` (ps); frames are
/// sorted by time (stable: equal times keep input order; ordered with
/// `f64::total_cmp`, so NaN times sort last) and for every frame the result
/// holds `(time in ps, fraction of the k states seen up to and including that
/// frame)` (fraction dimensionless, in `[0, 1]`). One entry per frame.
///
/// # Panics
/// If `k == 0`, if the lengths differ or if a label is `>= k` (caller bugs).
pub fn visited_fraction(labels: &[u32], k: usize, times_ps: &[f64]) -> Vec<(f64, f64)> {
    assert!(k >= 1, "visited_fraction: k must be at least 1");
    assert_eq!(
        labels.len(),
        times_ps.len(),
        "visited_fraction: {} labels but {} times",
        labels.len(),
        times_ps.len()
    );
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| times_ps[a].total_cmp(&times_ps[b]));
    let mut seen = vec![false; k];
    let mut count = 0usize;
    order
        .iter()
        .map(|&i| {
            let l = labels[i] as usize;
            assert!(
                l < k,
                "visited_fraction: label {l} of frame {i} is not below k = {k}"
            );
            if !seen[l] {
                seen[l] = true;
                count += 1;
            }
            (times_ps[i], count as f64 / k as f64)
        })
        .collect()
}

/// The first time (ps) at which `curve` (as returned by
/// [`visited_fraction`]: `(time in ps, fraction)` in time order) reaches a
/// fraction `>= fraction`; `None` if it never does.
pub fn time_to_fraction(curve: &[(f64, f64)], fraction: f64) -> Option<f64> {
    curve.iter().find(|&&(_, f)| f >= fraction).map(|&(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 uniform in [0, 1).
    fn rng_stream(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `per` points around each of `blobs` centres spaced 100 apart along
    /// the first axes (noise ±0.5), blob-major; returns points and blob ids.
    fn blobs(blobs: usize, per: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut u = rng_stream(seed);
        let mut pts = Vec::new();
        let mut ids = Vec::new();
        for b in 0..blobs {
            for _ in 0..per {
                for d in 0..dim {
                    let centre = if d == b % dim {
                        100.0 * (1 + b / dim) as f64
                    } else {
                        0.0
                    };
                    pts.push((centre + u() - 0.5) as f32);
                }
                ids.push(b);
            }
        }
        (pts, ids)
    }

    /// True if `labels` induce the same partition as `ids`.
    fn same_partition(labels: &[u32], ids: &[usize]) -> bool {
        (0..labels.len())
            .all(|i| (0..labels.len()).all(|j| (labels[i] == labels[j]) == (ids[i] == ids[j])))
    }

    #[test]
    fn well_separated_blobs_recover_the_blob_partition() {
        for seed in 0..20 {
            let (pts, ids) = blobs(5, 30, 3, 7);
            let km = kmeans(&pts, 3, 5, seed, 100).unwrap();
            assert!(same_partition(&km.labels, &ids), "seed {seed}");
            // Inertia is the sum of squared distances to the (rounded) centres.
            let mut inertia = 0.0;
            for (p, &l) in pts.chunks_exact(3).zip(&km.labels) {
                let c = &km.centers[l as usize * 3..l as usize * 3 + 3];
                for (&x, &y) in p.iter().zip(c) {
                    inertia += (f64::from(x) - f64::from(y)).powi(2);
                }
            }
            assert!(
                (inertia - km.inertia).abs() < 1e-6 * km.inertia,
                "seed {seed}"
            );
            assert!(km.iterations >= 1);
        }
    }

    #[test]
    fn same_seed_same_result_other_seed_other_init() {
        let (pts, _) = blobs(4, 20, 2, 3);
        let unif: Vec<f32> = {
            let mut u = rng_stream(11);
            (0..400).map(|_| u() as f32).collect()
        };
        let a = kmeans(&unif, 2, 7, 42, 300).unwrap();
        let b = kmeans(&unif, 2, 7, 42, 300).unwrap();
        assert_eq!(a, b);
        let c = kmeans(&unif, 2, 7, 43, 300).unwrap();
        assert_ne!(a.centers, c.centers);
        assert!(kmeans(&pts, 2, 4, 1, 100).is_ok());
    }

    #[test]
    fn k_means_plus_plus_never_picks_a_chosen_point_while_others_remain() {
        // Four distinct points, k = 4: D² weighting must pick all of them.
        let pts = [0.0f32, 0.0, 1.0, 0.0, 0.0, 1.0, 5.0, 5.0];
        for seed in 0..50 {
            let mut init = kmeans_pp(&pts, 2, 4, 4, seed)
                .chunks_exact(2)
                .map(|c| (c[0].to_bits(), c[1].to_bits()))
                .collect::<Vec<_>>();
            init.sort();
            init.dedup();
            assert_eq!(init.len(), 4, "seed {seed}");
        }
    }

    #[test]
    fn bitwise_independent_of_thread_count() {
        let pts: Vec<f32> = {
            let mut u = rng_stream(5);
            (0..3000 * 10).map(|_| (u() * 4.0 - 2.0) as f32).collect()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| kmeans(&pts, 10, 25, 9, 50).unwrap())
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(one.labels, two.labels);
        assert_eq!(
            one.centers.iter().map(|c| c.to_bits()).collect::<Vec<_>>(),
            two.centers.iter().map(|c| c.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(one.inertia.to_bits(), two.inertia.to_bits());
        assert_eq!(one.iterations, two.iterations);
    }

    #[test]
    fn ties_go_to_the_lower_centre() {
        // Point 1.0 is equidistant from centres 0.0 and 2.0.
        let pts = [0.0f32, 1.0, 2.0];
        let km = kmeans_from(&pts, 1, &[0.0, 2.0], 1).unwrap();
        // One assignment (max_iter = 1): 0 -> c0, 1 -> tie -> c0, 2 -> c1;
        // then the centres move to 0.5 and 2, and the final re-assignment
        // keeps that partition.
        assert_eq!(km.labels, [0, 0, 1]);
        assert_eq!(km.centers, [0.5, 2.0]);
        assert_eq!(km.iterations, 1);
    }

    #[test]
    fn empty_cluster_is_reseeded_at_the_farthest_point() {
        // Centre 1 at 100 gets no point in the first assignment; the point
        // farthest from its centre (0.0) is 10.0 (index 3), so centre 1 moves
        // there and the run ends with {0, 1, 2} and {10}.
        let pts = [0.0f32, 1.0, 2.0, 10.0];
        let km = kmeans_from(&pts, 1, &[0.5, 100.0], 100).unwrap();
        assert_eq!(km.labels, [0, 0, 0, 1]);
        assert_eq!(km.centers, [1.0, 10.0]);
        assert_eq!(km.inertia, 2.0);
        // Fewer distinct points than k: the duplicate centre stays empty.
        let km = kmeans(&[3.0, 3.0, 3.0], 1, 2, 0, 10).unwrap();
        assert_eq!(km.labels, [0, 0, 0]);
        assert_eq!(km.inertia, 0.0);
    }

    #[test]
    fn invalid_input_is_rejected_with_clear_errors() {
        let msg = |r: Result<KMeans>| r.unwrap_err().to_string();
        assert!(msg(kmeans(&[1.0, 2.0], 0, 1, 0, 10)).contains("dim must be at least 1"));
        assert!(msg(kmeans(&[1.0, 2.0, 3.0], 2, 1, 0, 10)).contains("not a multiple of dim = 2"));
        assert!(msg(kmeans(&[1.0, f32::NAN], 1, 1, 0, 10)).contains("element 1"));
        assert!(msg(kmeans(&[1.0, 2.0], 1, 3, 0, 10)).contains("k = 3"));
        assert!(msg(kmeans(&[1.0, 2.0], 1, 0, 0, 10)).contains("k = 0"));
        assert!(msg(kmeans(&[], 1, 1, 0, 10)).contains("n = 0"));
        assert!(msg(kmeans(&[1.0], 1, 1, 0, 0)).contains("max_iter"));
        assert!(matches!(
            kmeans(&[1.0, 2.0, 3.0], 2, 1, 0, 1),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            kmeans(&[f32::INFINITY], 1, 1, 0, 1),
            Err(Error::NonFinite(_))
        ));
        assert!(matches!(
            kmeans_from(&[1.0], 1, &[f32::NAN], 1),
            Err(Error::NonFinite(_))
        ));
        assert!(matches!(
            kmeans_from(&[1.0, 2.0], 2, &[1.0], 1),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            kmeans_from(&[1.0], 1, &[], 1),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn visited_fraction_sorts_by_time_and_counts_distinct_states() {
        // Times out of order; frame 3 and 1 share t = 2 (input order kept).
        let labels = [2u32, 0, 2, 1, 3];
        let times = [0.0, 2.0, 1.0, 2.0, 5.0];
        let curve = visited_fraction(&labels, 4, &times);
        assert_eq!(
            curve,
            [
                (0.0, 0.25),
                (1.0, 0.25),
                (2.0, 0.5),
                (2.0, 0.75),
                (5.0, 1.0)
            ]
        );
        assert_eq!(time_to_fraction(&curve, 0.5), Some(2.0));
        assert_eq!(time_to_fraction(&curve, 0.6), Some(2.0));
        assert_eq!(time_to_fraction(&curve, 1.0), Some(5.0));
        assert_eq!(time_to_fraction(&curve, 0.0), Some(0.0));
        // k larger than the states seen: never reaches 1.
        let curve = visited_fraction(&labels, 8, &times);
        assert_eq!(curve.last(), Some(&(5.0, 0.5)));
        assert_eq!(time_to_fraction(&curve, 0.5), Some(5.0));
        assert_eq!(time_to_fraction(&curve, 0.51), None);
        assert!(visited_fraction(&[], 3, &[]).is_empty());
        assert_eq!(time_to_fraction(&[], 0.1), None);
    }

    #[test]
    #[should_panic(expected = "not below k")]
    fn visited_fraction_rejects_labels_outside_k() {
        visited_fraction(&[0, 4], 4, &[0.0, 1.0]);
    }
}
