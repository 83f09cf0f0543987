//! Per-frame hand-over on the owning rank, and the per-simulation batch
//! analysis (local phases, no collectives).

use rayon::prelude::*;

use super::{Pending, Steering, V3};
use crate::backend::Device;
use crate::drive::analyzer::Analyzer;
use crate::drive::ensemble::{FrameRecord, MemberIteration};
use crate::error::{Error, Result};

const WHAT: &str = "steering add_frame";

/// Per kept frame: (id, step, box).
type Kept = Vec<(u64, u64, Option<[f64; 9]>)>;

fn finite(what: &str, values: &[V3]) -> Result<()> {
    match values.iter().flatten().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::NonFinite(format!(
            "{WHAT}: {what} component {i} (atom {}) is {}",
            i / 3,
            values[i / 3][i % 3]
        ))),
        None => Ok(()),
    }
}

impl Steering<'_> {
    /// Local index of simulation `sim`, which this rank must own.
    fn local_index(&self, what: &str, sim: usize) -> Result<usize> {
        let mine = self.local_simulations();
        if !mine.contains(&sim) {
            return Err(Error::InvalidArgument(format!(
                "{what}: simulation {sim} is not owned by rank {} (it owns {mine:?})",
                self.comm().rank()
            )));
        }
        Ok(sim - mine.start)
    }

    /// Hand over one frame of local simulation `sim` at MD step `step`:
    /// positions of every atom (nm), the box (nm, row-major box vectors)
    /// when periodic, and optionally velocities (nm/ps), kept for a restart.
    /// Frames of a simulation must come in increasing step order. Local: no
    /// other rank takes part.
    pub fn add_frame(
        &mut self,
        sim: usize,
        step: u64,
        positions: Vec<V3>,
        box_vectors: Option<[f64; 9]>,
        velocities: Option<Vec<V3>>,
    ) -> Result<()> {
        let i = self.local_index(WHAT, sim)?;
        let n = self.analyzer.n_atoms;
        if self.analyzed.is_some() {
            return Err(Error::InvalidArgument(format!(
                "{WHAT}: this iteration's frames were already analysed; call iterate first"
            )));
        }
        if self.failed[i].is_some() {
            return Err(Error::InvalidArgument(format!(
                "{WHAT}: simulation {sim} was marked failed this iteration"
            )));
        }
        let velocities = velocities.unwrap_or_default();
        if positions.len() != n || !(velocities.is_empty() || velocities.len() == n) {
            return Err(Error::Shape(format!(
                "{WHAT}: {} positions and {} velocities for a system of {n} atoms",
                positions.len(),
                velocities.len()
            )));
        }
        finite("position", &positions)?;
        finite("velocity", &velocities)?;
        if let Some(b) = &box_vectors {
            if b.iter().any(|v| !v.is_finite()) {
                return Err(Error::NonFinite(format!("{WHAT}: box {b:?}")));
            }
        }
        let queue = &self.pending[i];
        if let Some(last) = queue.last() {
            if step <= last.step {
                return Err(Error::InvalidArgument(format!(
                    "{WHAT}: simulation {sim}: step {step} does not follow step {}",
                    last.step
                )));
            }
        }
        if let Some(f) = self.stride {
            if queue.len() >= f {
                return Err(Error::InvalidArgument(format!(
                    "{WHAT}: simulation {sim} already handed over {f} frames this iteration \
                     (frames per iteration = {f})"
                )));
            }
        }
        self.pending[i].push(Pending {
            step,
            positions,
            velocities,
            box_vectors,
        });
        Ok(())
    }

    /// Record that local simulation `sim` failed this iteration (blew up):
    /// it is restarted from its latest frame in the window (or its start),
    /// and `message` is reported in the iteration's failures. Local.
    pub fn mark_failed(&mut self, sim: usize, message: &str) -> Result<()> {
        let i = self.local_index("steering mark_failed", sim)?;
        self.failed[i] = Some(message.to_string());
        Ok(())
    }

    /// Analyse this iteration's frames now (one batch per local simulation,
    /// in parallel), before [`iterate`](Self::iterate), which then uses
    /// them; returns them (contact maps included) for output. Needs a fixed
    /// [`set_frames_per_iteration`](Self::set_frames_per_iteration). Local.
    pub fn analyze(&mut self) -> Result<&[MemberIteration]> {
        let Some(stride) = self.stride else {
            return Err(Error::InvalidArgument(
                "steering analyze: needs a fixed frames per iteration (iterate analyses otherwise)"
                    .into(),
            ));
        };
        if self.analyzed.is_none() {
            self.analyzed = Some(self.analyze_with(stride as u64)?);
        }
        Ok(self.analyzed.as_deref().unwrap_or_default())
    }

    /// Analyse and drop the pending frames: finite results become window
    /// records, non-finite ones are dropped and reported (as a blow-up is,
    /// the first problem of a simulation only).
    pub(super) fn analyze_with(&mut self, stride: u64) -> Result<Vec<MemberIteration>> {
        let pending = std::mem::take(&mut self.pending);
        self.pending = (0..pending.len()).map(|_| Vec::new()).collect();
        let failed = std::mem::replace(&mut self.failed, vec![None; pending.len()]);
        let first = self.first;
        let batch = Batch {
            analyzer: &self.analyzer,
            device: &self.device,
            base: self.base,
            stride,
        };
        let out: Result<Vec<(MemberIteration, Kept)>> = pending
            .into_par_iter()
            .zip(failed)
            .enumerate()
            .map(|(i, (frames, failure))| batch.analyze_sim(first + i, frames, failure))
            .collect();
        let mut members = Vec::new();
        for (m, extra) in out? {
            for (id, step, b) in extra {
                self.steps.insert(id, step);
                if let Some(b) = b {
                    self.boxes.insert(id, b);
                }
            }
            members.push(m);
        }
        Ok(members)
    }
}

/// What a per-simulation batch needs (shared by the worker threads).
struct Batch<'a> {
    analyzer: &'a Analyzer,
    device: &'a Device,
    base: u64,
    stride: u64,
}

impl Batch<'_> {
    /// One simulation's batch: its frames and, per kept frame, (id, step, box).
    fn analyze_sim(
        &self,
        sim: usize,
        frames: Vec<Pending>,
        mut failure: Option<String>,
    ) -> Result<(MemberIteration, Kept)> {
        let blew_up = failure.is_some();
        if frames.is_empty() {
            let m = MemberIteration {
                sim_id: sim,
                frames: Vec::new(),
                maps: None,
                blew_up,
                failure,
            };
            return Ok((m, Vec::new()));
        }
        let positions: Vec<&[V3]> = frames.iter().map(|f| f.positions.as_slice()).collect();
        let (maps, latents, r) = self.analyzer.analyze(self.device, &positions)?;
        let dim = self.analyzer.latent_dim;
        let mut kept = Vec::with_capacity(frames.len());
        let mut extra = Vec::with_capacity(frames.len());
        for (k, f) in frames.into_iter().enumerate() {
            let latent = latents[k * dim..(k + 1) * dim].to_vec();
            if latent.iter().all(|x| x.is_finite()) && r[k].is_finite() {
                let id = self.base + sim as u64 * self.stride + k as u64;
                extra.push((id, f.step, f.box_vectors));
                kept.push(FrameRecord {
                    id,
                    latent,
                    rmsd: r[k],
                    positions: f.positions,
                    velocities: f.velocities,
                });
            } else if failure.is_none() {
                failure = Some(format!(
                    "simulation {sim} frame {k}: non-finite embedding or RMSD, frame dropped"
                ));
            }
        }
        let m = MemberIteration {
            sim_id: sim,
            frames: kept,
            maps: Some(maps),
            blew_up,
            failure,
        };
        Ok((m, extra))
    }
}
