//! The agent step of an adaptive-sampling iteration (DeepDriveMD's outlier
//! agent): gather every rank's latest frames, find outliers in latent
//! space, and choose the frames to restart simulations from — the same
//! choice on every rank, whatever the number of ranks and however the
//! frames are split between them.
//!
//! Units: latent vectors are dimensionless (CVAE embeddings), RMSD is in nm,
//! timings are wall-clock seconds.
//!
//! Determinism: after the gather, the frames are put in a canonical order
//! (ascending frame id), and every later stage depends only on that ordered
//! set. LOF neighbours are exact (identical for any split of the queries),
//! DBSCAN's shared pieces (core distances, component forests, border roots)
//! are each a pure function of the set and the part (see
//! [`crate::outliers::search`]) and are merged identically on every rank,
//! and ties are broken by frame id, so the restart list is a function of the set of
//! frames and the options alone.
//!
//! Collective safety: every collective is entered by every rank even when a
//! rank's input is invalid; ranks first agree on whether everyone's input
//! is usable, so an error on one rank makes every rank return an error
//! instead of leaving peers blocked in a collective.

use std::time::Instant;

use crate::backend::Device;
use crate::drive::agent_dbscan::distributed_dbscan;
use crate::drive::comm::{all_gather, Communicator};
use crate::error::{Error, Result};
use crate::outliers::adaptive::validate_options;
use crate::outliers::{knn_part, lof_from_knn, top_outliers, AdaptiveDbscanOptions, Knn};

/// How outliers are detected in latent space.
#[derive(Clone, Debug, PartialEq)]
pub enum OutlierMethod {
    /// Local Outlier Factor (scikit-learn's `negative_outlier_factor_`) with
    /// `min(n_neighbors, n − 1)` neighbours; the `n_outliers` lowest scores
    /// (most outlying first, ties by lower frame id) are the outliers.
    Lof {
        /// Neighbours per frame (≥ 1; capped at the number of frames − 1).
        n_neighbors: usize,
        /// Outliers to return (capped at the number of frames).
        n_outliers: usize,
    },
    /// Plain DBSCAN (scikit-learn's labels): every noise point at radius
    /// `eps` is an outlier (ascending frame id); split between ranks.
    Dbscan {
        /// Radius, latent units (> 0).
        eps: f64,
        /// Core threshold: neighbours within `eps`, the point included (≥ 1).
        min_samples: usize,
    },
    /// DBSCAN noise points, the radius (latent units) tuned until their
    /// number is in range (see [`adaptive_dbscan`](crate::outliers::adaptive_dbscan));
    /// split between ranks as LOF. A
    /// range not reached is not an error: the closest run is used and
    /// [`AgentStep::dbscan_reached`] is `Some(false)`.
    AdaptiveDbscan(AdaptiveDbscanOptions),
}

impl OutlierMethod {
    /// `lof`, `dbscan` or `adaptive-dbscan`.
    pub fn label(&self) -> &'static str {
        match self {
            OutlierMethod::Lof { .. } => "lof",
            OutlierMethod::Dbscan { .. } => "dbscan",
            OutlierMethod::AdaptiveDbscan(_) => "adaptive-dbscan",
        }
    }
}

/// Settings of [`agent_step`].
#[derive(Clone, Debug, PartialEq)]
pub struct AgentOptions {
    /// Outlier detector.
    pub method: OutlierMethod,
    /// Order the restarts by RMSD to the folded reference, lowest first
    /// (ties by frame id) — DeepDriveMD's "extrinsic" score. When false the
    /// detector's order is kept (LOF: most outlying first; DBSCAN:
    /// ascending frame id).
    pub sort_by_rmsd: bool,
}

/// One rank's frames for an agent step: `n_local` frames, all slices in the
/// same frame order (any order; the step sorts by id).
#[derive(Clone, Copy, Debug)]
pub struct LocalFrames<'a> {
    /// Campaign-wide unique frame ids, `[n_local]`.
    pub ids: &'a [u64],
    /// Latent vectors, row-major `[n_local][dim]` (dimensionless, finite).
    pub latents: &'a [f32],
    /// RMSD of each frame to the folded reference structure, nm, `[n_local]`
    /// (finite).
    pub rmsd: &'a [f32],
}

/// Wall-clock time of the phases of [`agent_step`] on this rank, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AgentTimings {
    /// Input checks, all-gathers of the frames, canonical sort.
    pub gather_s: f64,
    /// Outlier detection, including its collectives (kNN part exchange for
    /// LOF, the core-distance, forest and border-root exchanges for DBSCAN).
    pub detect_s: f64,
    /// Restart ordering and the cross-rank consistency check.
    pub select_s: f64,
}

/// Result of [`agent_step`], identical on every rank (except `timings`).
#[derive(Clone, Debug, PartialEq)]
pub struct AgentStep {
    /// Every gathered frame id, ascending (the canonical frame order).
    pub ids: Vec<u64>,
    /// Latent vectors in canonical order, row-major `[n][dim]`.
    pub latents: Vec<f32>,
    /// RMSD to the folded reference in canonical order, nm.
    pub rmsd: Vec<f32>,
    /// LOF `negative_outlier_factor_` per frame (canonical order; lower is
    /// more outlying). `None` for DBSCAN and when fewer than 2 frames were
    /// gathered.
    pub scores: Option<Vec<f64>>,
    /// Outliers as positions into `ids`, in restart-preference order.
    pub outliers: Vec<usize>,
    /// Frame ids to restart from, in preference order (`ids[outliers[i]]`).
    pub restarts: Vec<u64>,
    /// DBSCAN: radius of the last run (latent units). `None` for LOF or
    /// when fewer than 2 frames were gathered.
    pub dbscan_eps: Option<f64>,
    /// Adaptive DBSCAN: whether the outlier count reached the target range
    /// (`None` for LOF, plain DBSCAN, or fewer than 2 frames).
    pub dbscan_reached: Option<bool>,
    /// Time spent per phase on this rank.
    pub timings: AgentTimings,
}

const WHAT: &str = "agent_step";

/// One agent step, called collectively by every rank of `comm` with its
/// local frames (possibly none):
///
/// 1. all-gather ids, latents and RMSDs and sort them by frame id (ids must
///    be unique campaign-wide; latents and RMSDs finite);
/// 2. detect outliers. LOF: each rank searches its share of the exact kNN
///    ([`knn_part`] with part = rank), the parts are all-gathered into the
///    full table and every rank computes the scores ([`lof_from_knn`]) and
///    picks [`top_outliers`]. DBSCAN (plain or adaptive, the radius policy
///    of [`adaptive_dbscan`](crate::outliers::adaptive_dbscan)): each rank
///    finds the core distances of its kNN share once, then per radius its
///    share of the core–core edges and border queries; the pieces are
///    all-gathered and merged identically on every rank (noise points
///    ascending).
///    Fewer than 2 frames gives no outliers (not an error);
/// 3. order them (see [`AgentOptions::sort_by_rmsd`]) and check, with one
///    all-gather of a hash, that every rank chose the same restarts.
///
/// `dim` (latent dimension) must be the same on every rank. Errors are
/// collective: if any rank's input is invalid, every rank returns an error
/// (the offending rank its own, the others one naming that rank);
/// duplicate ids are [`Error::InvalidArgument`], non-finite latents or RMSDs
/// [`Error::NonFinite`], both naming the frame id; slice lengths that
/// disagree are [`Error::Shape`].
pub fn agent_step(
    device: &Device,
    comm: &dyn Communicator,
    local: &LocalFrames,
    dim: usize,
    opts: &AgentOptions,
) -> Result<AgentStep> {
    let t0 = Instant::now();
    let gathered = gather(comm, local, dim, Some(opts))?;
    let Gathered { ids, latents, rmsd } = gathered;
    let n = ids.len();

    let t1 = Instant::now();
    let mut scores = None;
    let (mut dbscan_eps, mut dbscan_reached) = (None, None);
    let mut outliers = Vec::new();
    if n >= 2 {
        match &opts.method {
            OutlierMethod::Lof {
                n_neighbors,
                n_outliers,
            } => {
                let k = (*n_neighbors).min(n - 1);
                let nn = distributed_knn(device, comm, &latents, dim, k)?;
                let s = lof_from_knn(&nn)?;
                outliers = top_outliers(&s, *n_outliers);
                scores = Some(s);
            }
            OutlierMethod::Dbscan { eps, min_samples } => {
                let found =
                    distributed_dbscan(device, comm, &latents, dim, &plain(*eps, *min_samples))?;
                outliers = found.outliers;
                dbscan_eps = Some(found.eps);
            }
            OutlierMethod::AdaptiveDbscan(o) => {
                let found = distributed_dbscan(device, comm, &latents, dim, o)?;
                outliers = found.outliers;
                dbscan_eps = Some(found.eps);
                dbscan_reached = Some(found.reached);
            }
        }
    }

    let t2 = Instant::now();
    if opts.sort_by_rmsd {
        outliers.sort_unstable_by(|&a, &b| rmsd[a].total_cmp(&rmsd[b]).then(ids[a].cmp(&ids[b])));
    }
    let restarts: Vec<u64> = outliers.iter().map(|&i| ids[i]).collect();
    check_agreement(comm, &restarts)?;
    let t3 = Instant::now();

    Ok(AgentStep {
        ids,
        latents,
        rmsd,
        scores,
        outliers,
        restarts,
        dbscan_eps,
        dbscan_reached,
        timings: AgentTimings {
            gather_s: (t1 - t0).as_secs_f64(),
            detect_s: (t2 - t1).as_secs_f64(),
            select_s: (t3 - t2).as_secs_f64(),
        },
    })
}

/// Every rank's frames in canonical (ascending id) order.
pub(crate) struct Gathered {
    /// Frame ids, ascending.
    pub ids: Vec<u64>,
    /// Latent vectors `[n][dim]`.
    pub latents: Vec<f32>,
    /// RMSDs, nm.
    pub rmsd: Vec<f32>,
}

/// This rank's input checks (shapes, and the options when given), before
/// any collective.
fn check_local(local: &LocalFrames, dim: usize, opts: Option<&AgentOptions>) -> Result<()> {
    if dim == 0 {
        return Err(Error::InvalidArgument(format!(
            "{WHAT}: dim must be at least 1"
        )));
    }
    let n = local.ids.len();
    if local.latents.len() != n * dim {
        return Err(Error::Shape(format!(
            "{WHAT}: {} latent values for {n} frame ids of dimension {dim} (expected {})",
            local.latents.len(),
            n * dim
        )));
    }
    if local.rmsd.len() != n {
        return Err(Error::Shape(format!(
            "{WHAT}: {} RMSD values for {n} frame ids",
            local.rmsd.len()
        )));
    }
    let Some(opts) = opts else {
        return Ok(());
    };
    match &opts.method {
        OutlierMethod::Lof { n_neighbors: 0, .. } => Err(Error::InvalidArgument(format!(
            "{WHAT}: LOF n_neighbors must be at least 1"
        ))),
        OutlierMethod::Lof { .. } => Ok(()),
        OutlierMethod::Dbscan { eps, min_samples } => {
            validate_options(WHAT, &plain(*eps, *min_samples))
        }
        OutlierMethod::AdaptiveDbscan(o) => validate_options(WHAT, o),
    }
}

/// Plain DBSCAN as a one-run adaptive search whose range admits any count.
fn plain(eps: f64, min_samples: usize) -> AdaptiveDbscanOptions {
    AdaptiveDbscanOptions {
        eps,
        min_samples,
        min_outliers: 0,
        max_outliers: usize::MAX,
        max_attempts: 1,
        ..AdaptiveDbscanOptions::default()
    }
}

/// Make every rank see every rank's outcome of a local stage: returns this
/// rank's error if it failed, otherwise an error naming the first rank that
/// failed, otherwise `Ok`. One all-gather of a byte per rank. `what` names
/// the collective call in the message.
pub(super) fn agree<T>(
    comm: &dyn Communicator,
    what: &str,
    stage: &str,
    local: Result<T>,
) -> Result<T> {
    let failed = all_gather::<u8>(comm, &[u8::from(local.is_err())])?;
    let local = local?;
    match failed.iter().position(|&f| f != 0) {
        Some(r) => Err(Error::InvalidArgument(format!(
            "{what}: rank {r} failed in {stage} (see that rank's error)"
        ))),
        None => Ok(local),
    }
}

/// Gather every rank's frames (checked: shapes, finite values, unique ids)
/// in canonical order; `opts`, when given, is checked in the same round.
pub(crate) fn gather(
    comm: &dyn Communicator,
    local: &LocalFrames,
    dim: usize,
    opts: Option<&AgentOptions>,
) -> Result<Gathered> {
    agree(
        comm,
        WHAT,
        "its input checks",
        check_local(local, dim, opts),
    )?;
    let dims = all_gather::<u64>(comm, &[dim as u64])?;
    if let Some(r) = dims.iter().position(|&d| d != dim as u64) {
        return Err(Error::Shape(format!(
            "{WHAT}: rank {r} has latent dimension {}, rank {} has {dim}",
            dims[r],
            comm.rank()
        )));
    }
    let counts = all_gather::<u64>(comm, &[local.ids.len() as u64])?;
    let ids = all_gather::<u64>(comm, local.ids)?;
    let rmsd = all_gather::<f32>(comm, local.rmsd)?;
    let latents = all_gather::<f32>(comm, local.latents)?;
    let n = ids.len();
    if counts.iter().sum::<u64>() != n as u64 || rmsd.len() != n || latents.len() != n * dim {
        return Err(Error::Shape(format!(
            "{WHAT}: gathered {n} ids, {} RMSDs and {} latent values from ranks \
             announcing {counts:?} frames",
            rmsd.len(),
            latents.len()
        )));
    }
    // Rank that contributed gathered position `i`, for messages.
    let rank_of = |i: usize| {
        let mut end = 0u64;
        counts
            .iter()
            .position(|&c| {
                end += c;
                (i as u64) < end
            })
            .unwrap_or(0)
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by_key(|&i| ids[i]);
    if let Some(w) = order.windows(2).find(|w| ids[w[0]] == ids[w[1]]) {
        return Err(Error::InvalidArgument(format!(
            "{WHAT}: frame id {} occurs more than once (from ranks {} and {})",
            ids[w[0]],
            rank_of(w[0].min(w[1])),
            rank_of(w[0].max(w[1]))
        )));
    }
    for &i in &order {
        if let Some(c) = latents[i * dim..][..dim]
            .iter()
            .position(|v| !v.is_finite())
        {
            return Err(Error::NonFinite(format!(
                "{WHAT}: frame id {} (from rank {}): latent component {c} is {}",
                ids[i],
                rank_of(i),
                latents[i * dim + c]
            )));
        }
        if !rmsd[i].is_finite() {
            return Err(Error::NonFinite(format!(
                "{WHAT}: frame id {} (from rank {}): RMSD is {}",
                ids[i],
                rank_of(i),
                rmsd[i]
            )));
        }
    }
    Ok(Gathered {
        ids: order.iter().map(|&i| ids[i]).collect(),
        rmsd: order.iter().map(|&i| rmsd[i]).collect(),
        latents: order
            .iter()
            .flat_map(|&i| &latents[i * dim..][..dim])
            .copied()
            .collect(),
    })
}

/// The full exact kNN table of `points`, each rank searching its share of
/// the queries and all-gathering the parts.
fn distributed_knn(
    device: &Device,
    comm: &dyn Communicator,
    points: &[f32],
    dim: usize,
    k: usize,
) -> Result<Knn> {
    let n = points.len() / dim;
    let part = knn_part(device, points, dim, k, comm.rank(), comm.size());
    let (queries, rows) = agree(comm, WHAT, "its kNN share", part)?;
    if comm.size() == 1 && queries.len() == n {
        // The only part covers 0..n ascending: it is the full table.
        return Ok(rows);
    }
    let queries = all_gather::<u32>(comm, &queries)?;
    let dist = all_gather::<f64>(comm, &rows.dist)?;
    let idx = all_gather::<u32>(comm, &rows.idx)?;
    let broken =
        |why: String| Error::Shape(format!("{WHAT}: kNN parts do not tile the frames: {why}"));
    if dist.len() != queries.len() * k || idx.len() != dist.len() {
        return Err(broken(format!(
            "{} queries with {} distances and {} indices (k = {k})",
            queries.len(),
            dist.len(),
            idx.len()
        )));
    }
    let mut full = Knn {
        k,
        dist: vec![0.0; n * k],
        idx: vec![0; n * k],
    };
    let mut seen = vec![false; n];
    for (t, &q) in queries.iter().enumerate() {
        let q = q as usize;
        if q >= n || std::mem::replace(&mut seen[q], true) {
            return Err(broken(format!("query {q} out of range or repeated")));
        }
        full.dist[q * k..][..k].copy_from_slice(&dist[t * k..][..k]);
        full.idx[q * k..][..k].copy_from_slice(&idx[t * k..][..k]);
    }
    if let Some(q) = seen.iter().position(|&s| !s) {
        return Err(broken(format!("no part covers frame {q}")));
    }
    Ok(full)
}

/// All-gather a hash of this rank's restart list and fail on every rank if
/// any two ranks disagree.
fn check_agreement(comm: &dyn Communicator, restarts: &[u64]) -> Result<()> {
    if comm.size() == 1 {
        return Ok(());
    }
    // FNV-1a over the length and the ids (little-endian u64s).
    let bytes: Vec<u8> = std::iter::once(restarts.len() as u64)
        .chain(restarts.iter().copied())
        .flat_map(u64::to_le_bytes)
        .collect();
    let h = crate::drive::seeds::fnv1a(&bytes);
    let all = all_gather::<u64>(comm, &[h])?;
    if let Some(r) = all.iter().position(|&x| x != all[0]) {
        return Err(Error::InvalidArgument(format!(
            "{WHAT}: rank {r} chose different restart frames than rank 0 \
             (do all ranks pass the same options and device?)"
        )));
    }
    Ok(())
}
