//! The steering API: the in-memory analysis and agent step of
//! [`run_campaign`](crate::drive::run_campaign) for a caller that runs its
//! own dynamics (the C ABI's `steermd_steering`, and the campaign driver
//! itself).
//!
//! A [`Steering`] is created collectively on every rank of a
//! [`Communicator`], each rank owning a contiguous block of the ensemble's
//! simulations (rank 0 the first `n_local` ids, rank 1 the next, …, as
//! [`share`](crate::drive::ensemble::share) splits them). Per frame, the
//! owning rank calls [`Steering::add_frame`]; per iteration, every rank
//! calls [`Steering::iterate`], which analyses the frames (one batch per
//! simulation), gathers them, runs the agent step over the window of the
//! last `agent.last_n` frames and returns, for each local simulation, where
//! to restart from, the state moved from the rank that owns it.
//!
//! Frame ids are those of `steermd drive`: `(iteration · M + sim) · F + k`
//! for the `k`-th frame a simulation handed over in an iteration, with `F`
//! the frames per simulation and iteration ([`Steering::set_frames_per_iteration`],
//! or by default the most frames any simulation handed over that
//! iteration). Restart choices are therefore those of `steermd drive` for
//! the same frames, whatever the number of ranks.
//!
//! Errors of [`Steering::new`] and [`Steering::iterate`] are collective:
//! when one rank fails, every rank returns an error (the others one naming
//! that rank) and no rank is left waiting. [`Steering::add_frame`] is local.

mod config;
mod frames;
mod iterate;

pub use config::SteeringConfig;
pub use iterate::{RestartFrom, SteeringIteration};

use std::collections::BTreeMap;

use crate::backend::Device;
use crate::drive::agent::{agree, AgentOptions};
use crate::drive::analyzer::Analyzer;
use crate::drive::comm::{all_gather, Communicator};
use crate::drive::config::Mode;
use crate::drive::ensemble::{FrameRecord, MemberIteration};
use crate::drive::output::{self, Restarts};
use crate::error::{Error, Result};

type V3 = [f64; 3];

/// A communicator the steering borrows or owns.
pub enum CommRef<'c> {
    /// Borrowed from the caller.
    Borrowed(&'c dyn Communicator),
    /// Owned (the C ABI's handle keeps its duplicated MPI communicator).
    Owned(Box<dyn Communicator>),
}

impl CommRef<'_> {
    fn get(&self) -> &dyn Communicator {
        match self {
            CommRef::Borrowed(c) => *c,
            CommRef::Owned(c) => c.as_ref(),
        }
    }
}

/// One frame handed over and not yet analysed.
struct Pending {
    step: u64,
    positions: Vec<V3>,
    velocities: Vec<V3>,
    box_vectors: Option<[f64; 9]>,
}

/// The steering state of one rank (see the [module](self) docs).
pub struct Steering<'c> {
    comm: CommRef<'c>,
    device: Device,
    analyzer: Analyzer,
    cfg: SteeringConfig,
    agent_opts: AgentOptions,
    mode: Mode,
    /// Simulations per rank, rank order.
    counts: Vec<usize>,
    /// First simulation id of this rank.
    first: usize,
    /// Fixed frames per simulation and iteration, if set.
    stride: Option<usize>,
    /// Iterations done.
    iteration: usize,
    /// Id of the first frame slot of the current iteration.
    base: u64,
    /// Frames handed over this iteration, per local simulation.
    pending: Vec<Vec<Pending>>,
    /// Blow-up messages this iteration, per local simulation.
    failed: Vec<Option<String>>,
    /// Frames analysed ahead of `iterate` (see [`Steering::analyze`]).
    analyzed: Option<Vec<MemberIteration>>,
    /// The agent's window of this rank's frames, and their steps and boxes.
    window: Vec<FrameRecord>,
    steps: BTreeMap<u64, u64>,
    boxes: BTreeMap<u64, [f64; 9]>,
    /// The last iteration's results.
    last: Option<SteeringIteration>,
    /// (first id, frames per simulation) of every iteration, derived stride only.
    history: Vec<(u64, u64)>,
}

impl<'c> Steering<'c> {
    /// Create the steering collectively on every rank of `comm`: this rank
    /// owns `n_local` simulations (0 allowed), the ensemble is the sum. The
    /// atoms are selected in the reference PDB's topology.
    pub fn new(
        comm: &'c dyn Communicator,
        cfg: &SteeringConfig,
        n_local: usize,
        device: Device,
    ) -> Result<Steering<'c>> {
        Steering::from_config_collective(CommRef::Borrowed(comm), Ok(cfg.clone()), n_local, device)
    }

    /// As [`new`](Self::new), for a configuration each rank read itself
    /// (`cfg` may be an error): a failure to read it or load its analysis
    /// on any rank fails every rank.
    pub fn from_config_collective(
        comm: CommRef<'c>,
        cfg: Result<SteeringConfig>,
        n_local: usize,
        device: Device,
    ) -> Result<Steering<'c>> {
        let loaded = cfg.and_then(|c| Analyzer::load_from_reference(&c.analysis).map(|a| (c, a)));
        let (cfg, analyzer) = agree(comm.get(), "steering", "loading its configuration", loaded)?;
        Steering::with_analyzer(comm, &cfg, analyzer, n_local, device)
    }

    /// Create the steering (collectively) with an analyzer already loaded
    /// on every rank.
    pub fn with_analyzer(
        comm: CommRef<'c>,
        cfg: &SteeringConfig,
        analyzer: Analyzer,
        n_local: usize,
        device: Device,
    ) -> Result<Steering<'c>> {
        let checked = cfg.agent.validate().map(|()| cfg.agent.outlier_method());
        let method = agree(comm.get(), "steering", "its [agent] checks", checked)?;
        let counts: Vec<usize> = all_gather::<u64>(comm.get(), &[n_local as u64])?
            .into_iter()
            .map(|c| c as usize)
            .collect();
        let rank = comm.get().rank();
        if counts.iter().sum::<usize>() == 0 {
            return Err(Error::InvalidArgument(
                "steering: no rank owns a simulation (every n_local is 0)".into(),
            ));
        }
        Ok(Steering {
            device,
            agent_opts: AgentOptions {
                method,
                sort_by_rmsd: cfg.agent.sort_by_rmsd,
            },
            cfg: cfg.clone(),
            mode: Mode::Steered,
            first: counts[..rank].iter().sum(),
            pending: (0..n_local).map(|_| Vec::new()).collect(),
            failed: vec![None; n_local],
            counts,
            comm,
            analyzer,
            stride: None,
            iteration: 0,
            base: 0,
            analyzed: None,
            window: Vec::new(),
            steps: BTreeMap::new(),
            boxes: BTreeMap::new(),
            last: None,
            history: Vec::new(),
        })
    }

    /// Plain mode: the agent step runs, but only blown-up simulations are
    /// restarted (the campaign's control run).
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Fix the frames each simulation hands over per iteration (as the
    /// campaign's `md.iteration_steps / md.report_interval`): frame ids and
    /// the window then do not depend on blow-ups. Must be the same on every
    /// rank.
    pub fn set_frames_per_iteration(&mut self, frames: usize) {
        self.stride = Some(frames.max(1));
    }

    /// Continue after `iterations` done, with the window `window` of this
    /// rank's frames (a campaign resumed from its checkpoint; needs
    /// [`set_frames_per_iteration`](Self::set_frames_per_iteration)).
    pub fn resume(&mut self, iterations: usize, window: Vec<FrameRecord>) {
        self.iteration = iterations;
        self.base = iterations as u64 * self.simulations() as u64 * self.stride.unwrap_or(1) as u64;
        self.window = window;
    }

    /// The communicator.
    pub fn comm(&self) -> &dyn Communicator {
        self.comm.get()
    }

    /// The analysis settings in use.
    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Simulations of the whole ensemble.
    pub fn simulations(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The simulation ids this rank owns.
    pub fn local_simulations(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.pending.len()
    }

    /// The rank owning simulation `sim`.
    pub fn owner(&self, sim: usize) -> usize {
        let mut end = 0;
        self.counts
            .iter()
            .position(|&c| {
                end += c;
                sim < end
            })
            .unwrap_or(0)
    }

    /// Iterations done.
    pub fn iterations_done(&self) -> usize {
        self.iteration
    }

    /// This rank's frames in the agent's window (ascending id).
    pub fn window(&self) -> &[FrameRecord] {
        &self.window
    }

    /// Write the last iteration's outputs as `steermd drive` does, under
    /// `root/iter_NNNN/`: `latents.npy`, `rmsd.npy` (nm), `frame_ids.npy`
    /// and `restarts.json`. Rank 0 writes (every rank holds the same
    /// results); other ranks return at once. An error before the first
    /// iteration.
    pub fn write_outputs(&self, root: &std::path::Path) -> Result<()> {
        let last = self.last.as_ref().ok_or_else(|| {
            crate::error::Error::InvalidArgument(
                "steering: no iteration yet, nothing to write".into(),
            )
        })?;
        if self.comm().rank() != 0 {
            return Ok(());
        }
        let dim = self.analyzer.latent_dim;
        output::write_frames(
            root,
            last.iteration,
            &last.ids,
            &last.latents,
            &last.rmsd,
            dim,
        )?;
        output::write_restarts(root, &Restarts::of(&self.agent_opts.method, last))
    }

    /// What the last [`iterate`](Self::iterate) found (`None` before the first).
    pub fn last(&self) -> Option<&SteeringIteration> {
        self.last.as_ref()
    }

    /// The simulation that produced frame `id` (one of the window's or
    /// of an earlier iteration of this steering).
    pub fn sim_of(&self, id: u64) -> usize {
        let m = self.simulations() as u64;
        let stride = match self.stride {
            Some(f) => f as u64,
            None => {
                // The iteration whose id slots hold `id`.
                let at = self.history.partition_point(|&(base, _)| base <= id);
                let (base, f) = self.history[at.saturating_sub(1)];
                return (((id - base) / f.max(1)) % m) as usize;
            }
        };
        ((id / stride) % m) as usize
    }
}
