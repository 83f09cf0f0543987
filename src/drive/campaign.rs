//! The campaign loop: per iteration, MD of this rank's simulations, their
//! frames handed to the [`Steering`] (analysis, agent step, restart plan),
//! the restarts applied, outputs and a checkpoint written.

use std::time::Instant;

use crate::backend::Device;
use crate::drive::checkpoint::{self, CampaignState};
use crate::drive::comm::{local_rank, Communicator};
use crate::drive::config::DriveConfig;
use crate::drive::ensemble::{run_iteration, share, FrameRecord, Inputs, Member, MemberMd};
use crate::drive::output;
use crate::drive::seeds::{derive, Stream};
use crate::drive::steering::{CommRef, Steering, SteeringConfig, SteeringIteration};
use crate::drive::summary::{IterationSummary, StateModel};
use crate::error::{Error, Result};

type V3 = [f64; 3];

/// Progress callbacks (called on every rank; `Sync` because frames finish
/// on worker threads).
pub trait Observer: Sync {
    /// One frame of one local simulation was produced.
    fn frame_done(&self) {}
    /// An iteration finished.
    fn iteration_done(&self, _summary: &IterationSummary) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// The outcome of a campaign.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignReport {
    /// Final campaign state (all iteration summaries included).
    pub state: CampaignState,
    /// Iteration the run started at (> 0 after a resume).
    pub resumed_at: usize,
}

/// Run (or, with `resume`, continue) the campaign `cfg` on this rank.
///
/// Every rank of `comm` must call this with the same configuration. Inputs
/// are loaded and checked (shapes, files) before any simulation starts.
pub fn run_campaign(
    cfg: &DriveConfig,
    comm: &dyn Communicator,
    device: &Device,
    resume: bool,
    observer: &dyn Observer,
) -> Result<CampaignReport> {
    let mut campaign = Campaign::start(cfg, comm, device, resume)?;
    let resumed_at = campaign.state.iterations_done;
    for it in resumed_at..cfg.md.iterations {
        let summary = campaign.iteration(it, observer)?;
        observer.iteration_done(&summary);
    }
    Ok(CampaignReport {
        state: campaign.state,
        resumed_at,
    })
}

/// One rank's part of a running campaign.
struct Campaign<'a> {
    cfg: &'a DriveConfig,
    inputs: Inputs,
    members: Vec<Member>,
    steering: Steering<'a>,
    states: Option<StateModel>,
    /// Per state of `states`, whether a frame was assigned to it.
    seen: Vec<bool>,
    state: CampaignState,
}

impl<'a> Campaign<'a> {
    /// Load the inputs and create (or restore from the latest checkpoint)
    /// this rank's simulations and the steering.
    fn start(
        cfg: &'a DriveConfig,
        comm: &'a dyn Communicator,
        device: &Device,
        resume: bool,
    ) -> Result<Campaign<'a>> {
        let m = cfg.ensemble.simulations;
        let (rank, ranks) = (comm.rank(), comm.size());
        if m < ranks {
            return Err(Error::InvalidArgument(format!(
                "config: ensemble.simulations = {m} is fewer than the {ranks} ranks"
            )));
        }
        let (inputs, analyzer) = Inputs::load(cfg)?;
        let dim = analyzer.latent_dim;
        let states = match &cfg.analysis.states_reference {
            Some(p) => Some(StateModel::from_npy(
                p,
                dim,
                cfg.analysis.states,
                derive(cfg.md.seed, Stream::States, 0, 0),
            )?),
            None => None,
        };
        let mine = share(m, rank, ranks);
        let md_device = cfg.md.device_for(*device, local_rank(comm))?;
        let mut steering = Steering::with_analyzer(
            CommRef::Borrowed(comm),
            &SteeringConfig::from_campaign(cfg),
            analyzer,
            mine.len(),
            *device,
        )?;
        steering.set_mode(cfg.mode);
        steering.set_frames_per_iteration(cfg.frames_per_iteration());
        let previous = if resume {
            checkpoint::latest(cfg)?
        } else {
            None
        };
        let mut members = Vec::with_capacity(mine.len());
        let state = match previous {
            Some((dir, saved)) => {
                let mut window = Vec::new();
                for sim in mine {
                    let mut member = inputs.new_member_unprepared(cfg, &md_device, sim)?;
                    member
                        .sim
                        .load_checkpoint(checkpoint::sim_path(&dir, sim))?;
                    window.extend(checkpoint::read_window(&dir, sim)?);
                    members.push(member);
                }
                steering.resume(saved.iterations_done, window);
                saved
            }
            None => {
                start_fresh(cfg, comm)?;
                for sim in mine {
                    members.push(inputs.new_member(cfg, &md_device, sim)?);
                }
                CampaignState {
                    fingerprint: cfg.fingerprint(),
                    best_rmsd: f32::INFINITY,
                    ..CampaignState::default()
                }
            }
        };
        let mut seen = vec![false; states.as_ref().map_or(0, |s| s.centers.len() / dim)];
        for &s in &state.states_seen {
            seen[s as usize] = true;
        }
        Ok(Campaign {
            cfg,
            inputs,
            members,
            steering,
            states,
            seen,
            state,
        })
    }

    /// Iteration `it`: MD and analysis, the steering's agent step and
    /// restart plan, restarts, outputs and the checkpoint.
    fn iteration(&mut self, it: usize, observer: &dyn Observer) -> Result<IterationSummary> {
        let t_iter = Instant::now();
        self.inject_faults(it)?;
        let t = Instant::now();
        let produced = run_iteration(&mut self.members, self.cfg, &|| observer.frame_done())?;
        self.hand_over(produced)?;
        for m in self.steering.analyze()? {
            output::write_member(self.cfg, it, m)?;
        }
        let md_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let result = self.steering.iterate()?.clone();
        let agent_s = t.elapsed().as_secs_f64();
        self.record_frames(&result)?;
        self.restart(it, &result)?;
        let summary = self.summary(&result, t_iter.elapsed().as_secs_f64(), md_s, agent_s);
        self.steering.write_outputs(&self.cfg.output.dir)?;
        self.state.iterations_done = it + 1;
        self.state.states_seen = (0..self.seen.len() as u32)
            .filter(|&s| self.seen[s as usize])
            .collect();
        self.state.summaries.push(summary.clone());
        self.checkpoint(it)?;
        Ok(summary)
    }

    /// The configured fault injection for iteration `it`: fail this rank,
    /// or blow up a simulation (velocities × 10⁴).
    fn inject_faults(&mut self, it: usize) -> Result<()> {
        let rank = self.steering.comm().rank();
        if self.cfg.fault_injection.fail_rank == Some([rank, it]) {
            return Err(Error::InvalidArgument(format!(
                "fault injection: rank {rank} fails at iteration {it}"
            )));
        }
        for mem in &mut self.members {
            if self.cfg.fault_injection.blow_up.contains(&[mem.sim_id, it]) {
                let v: Vec<V3> = mem
                    .sim
                    .velocities()
                    .iter()
                    .map(|v| v.map(|x| x * 1e4))
                    .collect();
                mem.sim.set_velocities(v)?;
            }
        }
        Ok(())
    }

    /// Give the steering every frame (and blow-up) of this iteration's MD.
    fn hand_over(&mut self, produced: Vec<MemberMd>) -> Result<()> {
        for p in produced {
            for f in p.frames {
                self.steering
                    .add_frame(p.sim_id, f.step, f.positions, None, Some(f.velocities))?;
            }
            if let Some(message) = &p.failure {
                self.steering.mark_failed(p.sim_id, message)?;
            }
        }
        Ok(())
    }

    /// The iteration's frames (every rank's): the frames output, best RMSD
    /// and states visited.
    fn record_frames(&mut self, r: &SteeringIteration) -> Result<()> {
        for &x in &r.rmsd {
            self.state.best_rmsd = self.state.best_rmsd.min(x);
        }
        if let Some(model) = &self.states {
            for s in model.assign(&r.latents) {
                self.seen[s as usize] = true;
            }
        }
        Ok(())
    }

    /// Put each restarted local simulation at its restart state: the frame's
    /// positions (or its start's), the frame's velocities when the coin
    /// said so, else new ones at the bath temperature.
    fn restart(&mut self, it: usize, r: &SteeringIteration) -> Result<()> {
        let md = &self.cfg.md;
        for (mem, from) in self.members.iter_mut().zip(&r.local) {
            let Some(from) = from else { continue };
            let positions = match from.frame_id {
                Some(_) => from.positions.clone(),
                None => self.inputs.start_of(mem.sim_id).to_vec(),
            };
            mem.sim.set_positions(positions)?;
            if from.copy_velocities {
                mem.sim.set_velocities(from.velocities.clone())?;
            } else {
                mem.sim.set_velocities_to_temperature(
                    md.temperature,
                    derive(
                        md.seed,
                        Stream::Velocities,
                        it as u64 + 1,
                        mem.sim_id as u64,
                    ),
                )?;
            }
        }
        Ok(())
    }

    fn summary(
        &self,
        r: &SteeringIteration,
        wall_s: f64,
        md_s: f64,
        agent_s: f64,
    ) -> IterationSummary {
        let ranks = self.steering.comm().size() as f64;
        let ensemble_ns = self.cfg.ensemble.simulations as f64 * self.cfg.iteration_ps() / 1000.0;
        IterationSummary {
            iteration: r.iteration,
            frames: r.ids.len(),
            frames_seen: r.step.ids.len(),
            outliers: r.step.outliers.len(),
            dbscan_eps: r.step.dbscan_eps,
            dbscan_reached: r.step.dbscan_reached,
            restarts: r.restarts.len(),
            blowups: r.failures.clone(),
            best_rmsd_nm: self.state.best_rmsd,
            states_visited: self
                .states
                .as_ref()
                .map(|_| self.seen.iter().filter(|&&s| s).count()),
            simulated_ns: ensemble_ns * (r.iteration + 1) as f64,
            wall_s,
            md_s,
            agent_s,
            ns_per_day: ensemble_ns / wall_s * 86_400.0,
            ns_per_day_per_rank: ensemble_ns / wall_s * 86_400.0 / ranks,
        }
    }

    /// Checkpoint after iteration `it`: every local simulation's state and
    /// window frames, the summary lines (rank 0), then the collective commit.
    fn checkpoint(&self, it: usize) -> Result<()> {
        let cfg = self.cfg;
        let dir = checkpoint::partial_dir(cfg, it + 1)?;
        let dim = self.steering.analyzer().latent_dim;
        for mem in &self.members {
            mem.sim
                .save_checkpoint(checkpoint::sim_path(&dir, mem.sim_id))?;
            let frames: Vec<&FrameRecord> = self
                .steering
                .window()
                .iter()
                .filter(|f| self.steering.sim_of(f.id) == mem.sim_id)
                .collect();
            let n_atoms = self.inputs.system.n_particles();
            checkpoint::write_window(&dir, mem.sim_id, &frames, dim, n_atoms)?;
        }
        let comm = self.steering.comm();
        if comm.rank() == 0 {
            let lines: String = self
                .state
                .summaries
                .iter()
                .map(|s| serde_json::to_string(s).unwrap_or_default() + "\n")
                .collect();
            output::write_atomic(&cfg.output.dir.join("summary.jsonl"), lines.as_bytes())?;
        }
        checkpoint::commit(cfg, comm, it + 1, &self.state)
    }
}

/// A fresh campaign: create the output directory and remove an older
/// campaign's checkpoints (a later `--resume` must not pick them up).
fn start_fresh(cfg: &DriveConfig, comm: &dyn Communicator) -> Result<()> {
    if comm.rank() == 0 {
        std::fs::create_dir_all(&cfg.output.dir).map_err(|e| Error::io(&cfg.output.dir, e))?;
        let old = cfg.output.dir.join("checkpoint");
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
    }
    comm.barrier()
}
