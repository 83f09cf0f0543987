//! DBSCAN runs at many radii over one point set, the neighbour work split
//! between the processes of an [`Exchange`] (e.g. MPI ranks).
//!
//! Once per point set, each process finds the exact kNN of its share of the
//! points with `k = min_samples − 1` ([`knn_part`]) and from it each point's
//! *core distance* (squared, f64): the `min_samples`-th smallest squared
//! distance counting the point itself. A point is core at `eps` iff that
//! value is `<= eps²` — no radius count per run. Each run then splits the
//! core–core edges ([`core_components_part`](crate::outliers::kernels::NeighborKernels::core_components_part), seeded with
//! the components of the largest smaller radius already run) and the border
//! queries between the processes, all-gathers the pieces and merges them
//! identically everywhere.
//!
//! Determinism: every gathered piece is a pure function of the points, the
//! radius and the part index (exact kNN rows, a part's partition fixed by
//! the edges it covers, per-query border roots); the merge is a sequential
//! union-find linking larger roots to smaller ones, whose partition is the
//! union of the parts' and whose roots are the smallest indices. So labels
//! equal [`super::dbscan`]'s for any number of processes and threads.

use crate::backend::{Backend, Device};
use crate::error::Result;
use crate::outliers::dbscan::{labels_from_roots, Dbscan};
use crate::outliers::kernels::{split_point, sq_dist_f64, CoreQuery, NO_ROOT};
use crate::outliers::knn_part;

/// How the processes of a search share work: this process's part, and an
/// all-gather (concatenation in part order) that every process enters.
pub trait Exchange {
    /// This process's part and the number of parts.
    fn part(&self) -> (usize, usize);
    /// Concatenate every part's `local` in part order (collective). A local
    /// error must still enter the collective and make every part fail.
    fn all_gather_u32(&self, local: Result<Vec<u32>>) -> Result<Vec<u32>>;
    /// As [`Exchange::all_gather_u32`], for f64 values.
    fn all_gather_f64(&self, local: Result<Vec<f64>>) -> Result<Vec<f64>>;
}

/// One process doing all the work.
pub struct Alone;

impl Exchange for Alone {
    fn part(&self) -> (usize, usize) {
        (0, 1)
    }
    fn all_gather_u32(&self, local: Result<Vec<u32>>) -> Result<Vec<u32>> {
        local
    }
    fn all_gather_f64(&self, local: Result<Vec<f64>>) -> Result<Vec<f64>> {
        local
    }
}

/// The point set and what the runs share.
pub struct Trials<'a> {
    backend: std::sync::Arc<dyn Backend>,
    points: &'a [f32],
    dim: usize,
    min_samples: usize,
    ex: &'a dyn Exchange,
    /// Squared core distance per point (`INFINITY`: never core).
    core_sq: Vec<f64>,
    /// Core distance as the kNN reports it (`sqrt` of the f64 sum), to spot
    /// the rare radii where the kNN's tie order could matter.
    core_d: Vec<f64>,
    /// Components of earlier runs: (eps, root per point).
    done: Vec<(f64, Vec<u32>)>,
}

impl<'a> Trials<'a> {
    /// Core distances of validated `points` (`n >= 1`), collectively.
    pub fn new(
        device: &Device,
        points: &'a [f32],
        dim: usize,
        min_samples: usize,
        ex: &'a dyn Exchange,
    ) -> Result<Self> {
        let n = points.len() / dim;
        let (core_sq, core_d) = match min_samples {
            // Every point is its own first neighbour.
            1 => (vec![0.0; n], vec![0.0; n]),
            m if m > n => (vec![f64::INFINITY; n], vec![f64::INFINITY; n]),
            m => core_distances(device, points, dim, m - 1, ex)?,
        };
        // After the collective: a device error there failed every part.
        let backend = device.backend()?;
        Ok(Trials {
            backend,
            points,
            dim,
            min_samples,
            ex,
            core_sq,
            core_d,
            done: Vec::new(),
        })
    }

    fn n(&self) -> usize {
        self.points.len() / self.dim
    }

    /// Whether point `i` is core at the radius `sqrt(r2)` (`r2 = eps * eps`).
    fn is_core(&self, i: usize, r2: f64) -> bool {
        if self.core_sq[i] <= r2 {
            return true;
        }
        // The kNN lists the first `min_samples − 1` neighbours by (sqrt of
        // the sum, index); a point outside them with a smaller sum can only
        // exist where its sqrt equals the last one's, so only when
        // sqrt(r2) equals it can the listed sums mislead: count exactly.
        if r2.sqrt() != self.core_d[i] {
            return false;
        }
        let row = &self.points[i * self.dim..][..self.dim];
        let within = self
            .points
            .chunks_exact(self.dim)
            .filter(|p| sq_dist_f64(row, p) <= r2)
            .take(self.min_samples)
            .count();
        within >= self.min_samples
    }

    /// DBSCAN at `eps`, collectively; labels as [`super::dbscan`].
    pub fn run(&mut self, eps: f64) -> Result<Dbscan> {
        let r2 = eps * eps;
        let n = self.n();
        let is_core: Vec<bool> = (0..n).map(|i| self.is_core(i, r2)).collect();
        let core_root = self.components(eps, &is_core)?;
        let queries: Vec<u32> = (0..n as u32).filter(|&i| !is_core[i as usize]).collect();
        let mut roots = core_root.clone();
        if core_root.iter().any(|&r| r != NO_ROOT) && !queries.is_empty() {
            let found = self.border(eps, &core_root, &queries)?;
            for (&i, r) in queries.iter().zip(found) {
                roots[i as usize] = r;
            }
        }
        let run = labels_from_roots(&core_root, &roots);
        self.done.push((eps, core_root));
        Ok(run)
    }

    /// [`border_roots`](crate::outliers::kernels::NeighborKernels::border_roots) of `queries`, split
    /// into contiguous shares between the parts and all-gathered.
    fn border(&self, eps: f64, core_root: &[u32], queries: &[u32]) -> Result<Vec<u32>> {
        let (part, parts) = self.ex.part();
        let (lo, hi) = (
            split_point(queries.len(), part, parts),
            split_point(queries.len(), part + 1, parts),
        );
        let mine = &queries[lo..hi];
        let local = if mine.is_empty() {
            Ok(Vec::new())
        } else {
            self.backend
                .border_roots(self.points, self.dim, eps, core_root, mine)
        };
        if parts == 1 {
            return local;
        }
        self.ex.all_gather_u32(local)
    }

    /// Seed labels for a run at `eps`: the components of the largest
    /// smaller radius run so far, extended to the points that became core
    /// since, each taking the smallest old root within `eps` (both being
    /// core at `eps`, they are connected). Empty when there is none.
    fn seed(&self, eps: f64, is_core: &[bool]) -> Result<Vec<u32>> {
        let Some((_, old)) = self
            .done
            .iter()
            .filter(|(e, _)| *e < eps)
            .max_by(|a, b| a.0.total_cmp(&b.0))
        else {
            return Ok(Vec::new());
        };
        let mut seed = old.clone();
        let fresh: Vec<u32> = (0..is_core.len() as u32)
            .filter(|&i| is_core[i as usize] && old[i as usize] == NO_ROOT)
            .collect();
        if !fresh.is_empty() && old.iter().any(|&r| r != NO_ROOT) {
            for (&i, r) in fresh.iter().zip(self.border(eps, old, &fresh)?) {
                seed[i as usize] = r;
            }
        }
        Ok(seed)
    }

    /// Core–core components at `eps`: every part's seeded share, merged.
    fn components(&self, eps: f64, is_core: &[bool]) -> Result<Vec<u32>> {
        let n = is_core.len();
        let seed = self.seed(eps, is_core)?;
        let (part, parts) = self.ex.part();
        let q = CoreQuery {
            eps,
            is_core,
            seed: &seed,
            part,
            parts,
        };
        let local = self.backend.core_components_part(self.points, self.dim, &q);
        if parts == 1 {
            return local;
        }
        let all = self.ex.all_gather_u32(local)?;
        Ok(merge_forests(n, &all))
    }
}

/// Squared core distances and the reported kNN distance of the `k`-th
/// neighbour, each process computing its share of [`knn_part`].
fn core_distances(
    device: &Device,
    points: &[f32],
    dim: usize,
    k: usize,
    ex: &dyn Exchange,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = points.len() / dim;
    let (part, parts) = ex.part();
    let local = knn_part(device, points, dim, k, part, parts);
    // Per covered query: index, squared core distance, reported distance.
    let rows = local.map(|(queries, nn)| {
        let mut vals = Vec::with_capacity(queries.len() * 3);
        for (r, &q) in queries.iter().enumerate() {
            let row = &points[q as usize * dim..][..dim];
            // The largest squared distance among the k listed neighbours.
            let sq = nn
                .idx_row(r)
                .iter()
                .map(|&j| sq_dist_f64(row, &points[j as usize * dim..][..dim]))
                .fold(0.0f64, f64::max);
            vals.extend([f64::from(q), sq, nn.dist_row(r)[k - 1]]);
        }
        vals
    });
    let all = ex.all_gather_f64(rows)?;
    let (mut sq, mut d) = (vec![f64::INFINITY; n], vec![f64::INFINITY; n]);
    for v in all.chunks_exact(3) {
        let q = v[0] as usize;
        sq[q] = v[1];
        d[q] = v[2];
    }
    Ok((sq, d))
}

/// Merge forests (`parts` arrays of `n` roots, concatenated): the partition
/// generated by every "`i` ~ `root[i]`", each root its set's smallest index,
/// [`NO_ROOT`] where every part has it.
fn merge_forests(n: usize, all: &[u32]) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let g = parent[parent[x as usize] as usize];
            parent[x as usize] = g;
            x = g;
        }
        x
    }
    for part in all.chunks_exact(n) {
        for (i, &r) in part.iter().enumerate() {
            if r != NO_ROOT && r != i as u32 {
                let (a, b) = (find(&mut parent, i as u32), find(&mut parent, r));
                let (small, large) = (a.min(b), a.max(b));
                parent[large as usize] = small;
            }
        }
    }
    let first = &all[..n];
    (0..n as u32)
        .map(|i| {
            if first[i as usize] == NO_ROOT {
                NO_ROOT
            } else {
                find(&mut parent, i)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outliers::adaptive::search;
    use crate::outliers::{dbscan, AdaptiveDbscanOptions};

    /// SplitMix64 values in [0, 1).
    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    /// Clustered points (4 centres, spread 1) and a grid of exact ties.
    fn sets() -> Vec<(Vec<f32>, usize)> {
        let dim = 5;
        let u = uniform(3000 * dim + 4 * dim, 7);
        let (centres, jitter) = u.split_at(4 * dim);
        let blobs = (0..3000 * dim)
            .map(|t| (20.0 * centres[(t / dim % 4) * dim + t % dim] + 2.0 * jitter[t]) as f32)
            .collect();
        let grid = uniform(900 * 2, 8)
            .iter()
            .map(|x| (x * 12.0).floor() as f32)
            .collect();
        vec![(blobs, dim), (grid, 2)]
    }

    fn old_run(points: &[f32], dim: usize, eps: f64, min_samples: usize) -> dbscan::Dbscan {
        let n = points.len() / dim;
        dbscan::run(&Device::Cpu, points, dim, n, eps, min_samples).unwrap()
    }

    #[test]
    fn runs_equal_the_per_run_dbscan_at_every_radius_and_order() {
        for (points, dim) in sets() {
            let n = points.len() / dim;
            for min_samples in [1, 2, 10, n, n + 1] {
                let mut trials =
                    Trials::new(&Device::Cpu, &points, dim, min_samples, &Alone).unwrap();
                // Up, down and repeated radii, grid spacings exactly among them.
                for eps in [1.0, 2.0, 0.5, 1.5, 3.0, 1.0, 2.5, 0.999, 4.0] {
                    let got = trials.run(eps).unwrap();
                    let want = old_run(&points, dim, eps, min_samples);
                    assert_eq!(got, want, "n {n}, min_samples {min_samples}, eps {eps}");
                }
            }
        }
    }

    #[test]
    fn adaptive_search_equals_the_old_per_run_search() {
        for (points, dim) in sets() {
            let n = points.len() / dim;
            for (eps, lo, hi) in [(0.3, 20, 60), (3.0, 5, 30), (1.0, 0, 0), (0.8, 100, 400)] {
                let o = AdaptiveDbscanOptions {
                    eps,
                    min_samples: 5,
                    min_outliers: lo,
                    max_outliers: hi,
                    max_attempts: 15,
                    step: 1.3,
                };
                let old = search(&o, |e| Ok(old_run(&points, dim, e, o.min_samples))).unwrap();
                let mut trials = Trials::new(&Device::Cpu, &points, dim, 5, &Alone).unwrap();
                let new = search(&o, |e| trials.run(e)).unwrap();
                assert_eq!(new, old, "n {n}, {o:?}");
            }
        }
    }
}
