//! Campaign checkpoints: after every iteration, `output.dir/checkpoint/iter_NNNN/`
//! holds each simulation's state (`sim_SSSS.chk`, the integrator checkpoint)
//! and its frames still inside the agent's window (`sim_SSSS.window`), plus
//! `campaign.json` (rank 0). Ranks write into `iter_NNNN.partial/`; after a
//! barrier rank 0 renames it, so a directory without `.partial` is always
//! complete, and removes the older one. Files are per simulation, so a
//! campaign can resume on a different number of ranks.
//!
//! Window file (little-endian): `u64` frame count, `u64` latent dimension,
//! `u64` atom count, then per frame: `u64` id, `f32` RMSD (nm), `f32 ×
//! latent`, `f64 × 3n` positions (nm), `f64 × 3n` velocities (nm/ps), and
//! a final FNV-1a 64 checksum of everything before it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::drive::comm::Communicator;
use crate::drive::config::DriveConfig;
use crate::drive::ensemble::FrameRecord;
use crate::drive::seeds::fnv1a;
use crate::drive::summary::IterationSummary;
use crate::error::{Error, Result};

/// What rank 0 records about the campaign as a whole.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignState {
    /// [`DriveConfig::fingerprint`] of the campaign.
    pub fingerprint: u64,
    /// Iterations completed.
    pub iterations_done: usize,
    /// Best RMSD so far, nm.
    pub best_rmsd: f32,
    /// Summary-line states seen so far (indices).
    pub states_seen: Vec<u32>,
    /// One summary per completed iteration.
    pub summaries: Vec<IterationSummary>,
}

fn root(cfg: &DriveConfig) -> PathBuf {
    cfg.output.dir.join("checkpoint")
}

fn iter_dir(cfg: &DriveConfig, done: usize) -> PathBuf {
    root(cfg).join(format!("iter_{done:04}"))
}

/// The directory this rank writes iteration `done`'s checkpoint into.
pub fn partial_dir(cfg: &DriveConfig, done: usize) -> Result<PathBuf> {
    let d = root(cfg).join(format!("iter_{done:04}.partial"));
    std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    Ok(d)
}

/// Path of simulation `sim`'s integrator checkpoint in `dir`.
pub fn sim_path(dir: &Path, sim: usize) -> PathBuf {
    dir.join(format!("sim_{sim:04}.chk"))
}

fn window_path(dir: &Path, sim: usize) -> PathBuf {
    dir.join(format!("sim_{sim:04}.window"))
}

/// Write simulation `sim`'s window frames into `dir`.
pub fn write_window(
    dir: &Path,
    sim: usize,
    frames: &[&FrameRecord],
    dim: usize,
    n_atoms: usize,
) -> Result<()> {
    let mut b: Vec<u8> = Vec::new();
    for v in [frames.len(), dim, n_atoms] {
        b.extend((v as u64).to_le_bytes());
    }
    for f in frames {
        b.extend(f.id.to_le_bytes());
        b.extend(f.rmsd.to_le_bytes());
        f.latent.iter().for_each(|x| b.extend(x.to_le_bytes()));
        for xyz in f.positions.iter().chain(&f.velocities) {
            xyz.iter().for_each(|x| b.extend(x.to_le_bytes()));
        }
    }
    b.extend(fnv1a(&b).to_le_bytes());
    let path = window_path(dir, sim);
    std::fs::write(&path, b).map_err(|e| Error::io(path, e))
}

/// Read simulation `sim`'s window frames from `dir`.
pub fn read_window(dir: &Path, sim: usize) -> Result<Vec<FrameRecord>> {
    let path = window_path(dir, sim);
    let b = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let corrupt = |m: &str| Error::format(&path, format!("campaign window file: {m}"));
    if b.len() < 32 {
        return Err(corrupt("truncated"));
    }
    let (body, sum) = b.split_at(b.len() - 8);
    if fnv1a(body).to_le_bytes() != sum {
        return Err(corrupt("checksum mismatch"));
    }
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = body.get(at..at + n).ok_or_else(|| corrupt("truncated"))?;
        at += n;
        Ok(s)
    };
    let rd_u64 = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let count = rd_u64(take(8)?) as usize;
    let dim = rd_u64(take(8)?) as usize;
    let n = rd_u64(take(8)?) as usize;
    let want = 24 + count * (12 + 4 * dim + 48 * n);
    if body.len() != want {
        return Err(corrupt(&format!("{} bytes, expected {want}", body.len())));
    }
    let mut frames = Vec::with_capacity(count);
    for _ in 0..count {
        let id = rd_u64(take(8)?);
        let rmsd = f32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
        let latent = take(4 * dim)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let mut v3 = |k: usize| -> Result<Vec<[f64; 3]>> {
            Ok(take(24 * k)?
                .chunks_exact(24)
                .map(|c| {
                    let f = |i: usize| {
                        f64::from_le_bytes(c[8 * i..8 * i + 8].try_into().expect("8 bytes"))
                    };
                    [f(0), f(1), f(2)]
                })
                .collect())
        };
        let positions = v3(n)?;
        let velocities = v3(n)?;
        frames.push(FrameRecord {
            id,
            latent,
            rmsd,
            positions,
            velocities,
        });
    }
    Ok(frames)
}

/// Finish iteration `done`'s checkpoint: every rank has written its files
/// into [`partial_dir`]; rank 0 adds `campaign.json`, renames the
/// directory into place and removes the previous checkpoint.
pub fn commit(
    cfg: &DriveConfig,
    comm: &dyn Communicator,
    done: usize,
    state: &CampaignState,
) -> Result<()> {
    comm.barrier()?;
    if comm.rank() == 0 {
        let partial = partial_dir(cfg, done)?;
        crate::drive::output::write_json(&partial.join("campaign.json"), state)?;
        let fin = iter_dir(cfg, done);
        if fin.exists() {
            std::fs::remove_dir_all(&fin).map_err(|e| Error::io(&fin, e))?;
        }
        std::fs::rename(&partial, &fin).map_err(|e| Error::io(&fin, e))?;
        if done > 1 {
            let old = iter_dir(cfg, done - 1);
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
            }
        }
    }
    comm.barrier()
}

/// The latest complete checkpoint: its directory and campaign state, or
/// `None` when there is none. A checkpoint of another configuration (other
/// fingerprint) is an error.
pub fn latest(cfg: &DriveConfig) -> Result<Option<(PathBuf, CampaignState)>> {
    let r = root(cfg);
    let Ok(entries) = std::fs::read_dir(&r) else {
        return Ok(None);
    };
    let mut best: Option<(usize, PathBuf)> = None;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(k) = name
            .strip_prefix("iter_")
            .and_then(|s| s.parse::<usize>().ok())
        {
            if best.as_ref().is_none_or(|(b, _)| k > *b) {
                best = Some((k, e.path()));
            }
        }
    }
    let Some((_, dir)) = best else {
        return Ok(None);
    };
    let path = dir.join("campaign.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let state: CampaignState = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: path.clone(),
        line: e.line(),
        message: e.to_string(),
    })?;
    if state.fingerprint != cfg.fingerprint() {
        return Err(Error::InvalidArgument(format!(
            "{}: checkpoint of a different configuration (only md.iterations may change on resume)",
            path.display()
        )));
    }
    Ok(Some((dir, state)))
}
