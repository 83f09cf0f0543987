//! Per-iteration outputs of a campaign, under `output.dir/iter_NNNN/`:
//! - `latents.npy` (f32 `[frames][latent]`), `rmsd.npy` (f32, nm) and
//!   `frame_ids.npy` (i64) of the iteration's frames, in id order (rank 0);
//! - `restarts.json`: the outliers chosen and which simulation restarts
//!   from which frame (rank 0);
//! - per simulation: contact maps in DeepDriveMD's COO layout,
//!   `sim_SSSS_contact_map.data.npy` + `.offsets.npy` (int16 rows then
//!   columns per frame, int64 offsets) or `sim_SSSS.h5` (`contact_map`
//!   dataset), and `sim_SSSS.dcd` when asked (owning rank).
//!
//! `summary.jsonl` in `output.dir` holds one JSON line per finished iteration.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::drive::agent::OutlierMethod;
use crate::drive::config::DriveConfig;
use crate::drive::ensemble::MemberIteration;
use crate::drive::steering::SteeringIteration;
use crate::error::{Error, Result};
use crate::frames::Frames;
use crate::io::dcd::{write_dcd, DcdWriteOptions};
use crate::io::h5::write_contact_maps_h5;
use crate::io::npy::write_npy;

/// The directory of iteration `it`.
pub fn iteration_dir(cfg: &DriveConfig, it: usize) -> PathBuf {
    iteration_dir_in(&cfg.output.dir, it)
}

/// The directory of iteration `it` under the output directory `root`.
pub fn iteration_dir_in(root: &Path, it: usize) -> PathBuf {
    root.join(format!("iter_{it:04}"))
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Write one simulation's contact maps (and DCD) of iteration `it`.
pub fn write_member(cfg: &DriveConfig, it: usize, m: &MemberIteration) -> Result<()> {
    let dir = iteration_dir(cfg, it);
    create_dir(&dir)?;
    let stem = format!("sim_{:04}", m.sim_id);
    if let Some(maps) = &m.maps {
        if cfg.output.format == "hdf5" {
            write_contact_maps_h5(&dir.join(format!("{stem}.h5")), maps)?;
        } else {
            let (data, offsets) = maps.coo_all()?;
            write_npy(
                dir.join(format!("{stem}_contact_map.data.npy")),
                &[data.len()],
                &data,
            )?;
            write_npy(
                dir.join(format!("{stem}_contact_map.offsets.npy")),
                &[offsets.len()],
                &offsets,
            )?;
        }
    }
    if cfg.output.dcd && !m.frames.is_empty() {
        let n = m.frames[0].positions.len();
        let xyz: Vec<f32> = m
            .frames
            .iter()
            .flat_map(|f| f.positions.iter().flatten().map(|&v| v as f32))
            .collect();
        let frames = Frames::new(n, xyz, None)?;
        write_dcd(
            dir.join(format!("{stem}.dcd")),
            &frames,
            &DcdWriteOptions {
                first_step: ((it as u64 * cfg.md.iteration_steps + cfg.md.report_interval)
                    .min(i32::MAX as u64)) as i32,
                interval: cfg.md.report_interval.min(i32::MAX as u64) as i32,
                timestep_ps: cfg.md.dt,
            },
        )?;
    }
    Ok(())
}

/// Write the iteration's gathered frames (ids ascending).
pub fn write_frames(
    root: &Path,
    it: usize,
    ids: &[u64],
    latents: &[f32],
    rmsd: &[f32],
    dim: usize,
) -> Result<()> {
    let dir = iteration_dir_in(root, it);
    create_dir(&dir)?;
    write_npy(dir.join("latents.npy"), &[ids.len(), dim], latents)?;
    write_npy(dir.join("rmsd.npy"), &[ids.len()], rmsd)?;
    let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    write_npy(dir.join("frame_ids.npy"), &[ids.len()], &ids)
}

/// One restart assignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restart {
    /// The simulation that restarts.
    pub simulation: usize,
    /// The frame it restarts from (global id).
    pub frame_id: u64,
    /// The simulation that produced that frame.
    pub source_simulation: usize,
    /// The frame's RMSD to the reference, nm.
    pub rmsd: f32,
    /// `true`: the frame's velocities; `false`: fresh Maxwell–Boltzmann.
    pub copied_velocities: bool,
    /// Why: `outlier`, or `blow-up` (replaced after an instability).
    pub reason: String,
}

/// The agent's decision of one iteration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restarts {
    /// Iteration.
    pub iteration: usize,
    /// `lof`, `dbscan` or `adaptive-dbscan`.
    pub method: String,
    /// Frames the agent saw.
    pub frames_seen: usize,
    /// Outlier frame ids, in restart-preference order.
    pub outliers: Vec<u64>,
    /// Their RMSDs, nm.
    pub outlier_rmsd: Vec<f32>,
    /// DBSCAN's radius (latent units), when DBSCAN ran.
    pub dbscan_eps: Option<f64>,
    /// Adaptive DBSCAN: whether the outlier range was reached.
    #[serde(default)]
    pub dbscan_reached: Option<bool>,
    /// The assignments (empty in plain mode unless a simulation blew up).
    pub restarts: Vec<Restart>,
}

impl Restarts {
    /// The record of steering iteration `r`, whose agent ran `method`.
    pub fn of(method: &OutlierMethod, r: &SteeringIteration) -> Restarts {
        let step = &r.step;
        Restarts {
            iteration: r.iteration,
            method: method.label().into(),
            frames_seen: step.ids.len(),
            outliers: step.restarts.clone(),
            outlier_rmsd: step.outliers.iter().map(|&i| step.rmsd[i]).collect(),
            dbscan_eps: step.dbscan_eps,
            dbscan_reached: step.dbscan_reached,
            restarts: r.restarts.clone(),
        }
    }
}

/// Write `restarts.json` of iteration `r.iteration` under `root`.
pub fn write_restarts(root: &Path, r: &Restarts) -> Result<()> {
    let dir = iteration_dir_in(root, r.iteration);
    create_dir(&dir)?;
    write_json(&dir.join("restarts.json"), r)
}

/// Write `value` as pretty JSON, atomically (temporary file, then rename).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| {
        Error::InvalidArgument(format!("{}: cannot serialise: {e}", path.display()))
    })?;
    write_atomic(path, text.as_bytes())
}

/// Write `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = crate::io::npy::temp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
