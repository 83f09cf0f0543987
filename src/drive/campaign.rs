//! The campaign loop: MD with in-memory analysis, agent step, restarts,
//! outputs and checkpoints, iteration after iteration.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::backend::Device;
use crate::drive::agent::{agent_step, gather, AgentOptions, Gathered, LocalFrames};
use crate::drive::checkpoint::{self, CampaignState};
use crate::drive::comm::{all_gather, broadcast, Communicator};
use crate::drive::config::{DriveConfig, Mode};
use crate::drive::ensemble::{frame_id, owner, run_iteration, share, sim_of, FrameRecord, Inputs};
use crate::drive::output::{self, Restart, Restarts};
use crate::drive::seeds::{derive, uniform, Stream};
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

/// Marks "restart from the starting structure" in restart plans.
const START: u64 = u64::MAX;

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
    let m = cfg.ensemble.simulations;
    let (rank, ranks) = (comm.rank(), comm.size());
    if m < ranks {
        return Err(Error::InvalidArgument(format!(
            "config: ensemble.simulations = {m} is fewer than the {ranks} ranks"
        )));
    }
    let inputs = Inputs::load(cfg)?;
    let dim = inputs.latent_dim;
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
    let mut state = CampaignState {
        fingerprint: cfg.fingerprint(),
        best_rmsd: f32::INFINITY,
        ..CampaignState::default()
    };
    let mut members = Vec::with_capacity(mine.len());
    let mut window: Vec<FrameRecord> = Vec::new();
    let previous = if resume {
        checkpoint::latest(cfg)?
    } else {
        None
    };
    if let Some((dir, saved)) = previous {
        for sim in mine.clone() {
            let mut member = inputs.new_member_unprepared(cfg, device, sim)?;
            member
                .sim
                .load_checkpoint(checkpoint::sim_path(&dir, sim))?;
            window.extend(checkpoint::read_window(&dir, sim)?);
            members.push(member);
        }
        state = saved;
    } else {
        if rank == 0 {
            std::fs::create_dir_all(&cfg.output.dir).map_err(|e| Error::io(&cfg.output.dir, e))?;
            // A fresh campaign must not leave an older one's checkpoints for
            // a later --resume to pick up.
            let old = cfg.output.dir.join("checkpoint");
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
            }
        }
        comm.barrier()?;
        for sim in mine.clone() {
            members.push(inputs.new_member(cfg, device, sim)?);
        }
    }
    let resumed_at = state.iterations_done;
    let mut seen = vec![false; states.as_ref().map_or(0, |s| s.centers.len() / dim)];
    for &s in &state.states_seen {
        seen[s as usize] = true;
    }
    let agent_opts = AgentOptions {
        method: cfg.outlier_method(),
        sort_by_rmsd: cfg.agent.sort_by_rmsd,
    };

    for it in resumed_at..cfg.md.iterations {
        let t_iter = Instant::now();
        if cfg.fault_injection.fail_rank == Some([rank, it]) {
            return Err(Error::InvalidArgument(format!(
                "fault injection: rank {rank} fails at iteration {it}"
            )));
        }
        for mem in &mut members {
            if cfg.fault_injection.blow_up.contains(&[mem.sim_id, it]) {
                let v: Vec<V3> = mem
                    .sim
                    .velocities()
                    .iter()
                    .map(|v| v.map(|x| x * 1e4))
                    .collect();
                mem.sim.set_velocities(v)?;
            }
        }

        // 1. MD with in-memory analysis.
        let t = Instant::now();
        let produced = run_iteration(&mut members, &inputs, device, cfg, it, &|| {
            observer.frame_done()
        })?;
        let md_s = t.elapsed().as_secs_f64();
        let mut blown_local: Vec<u64> = Vec::new();
        let mut messages = Vec::new();
        for p in &produced {
            output::write_member(cfg, it, p)?;
            if let Some(msg) = &p.failure {
                messages.push(msg.clone());
            }
        }
        let mut new_ids = Vec::new();
        let mut new_lat = Vec::new();
        let mut new_rmsd = Vec::new();
        for p in produced {
            let blew_up = p.blew_up;
            for f in &p.frames {
                new_ids.push(f.id);
                new_lat.extend_from_slice(&f.latent);
                new_rmsd.push(f.rmsd);
            }
            window.extend(p.frames);
            if blew_up {
                // Replace from its latest good frame (or its start).
                let fallback = window
                    .iter()
                    .filter(|f| sim_of(cfg, f.id) == p.sim_id)
                    .map(|f| f.id)
                    .max()
                    .unwrap_or(START);
                blown_local.extend([p.sim_id as u64, fallback]);
            }
        }

        // 2. This iteration's frames, everywhere: outputs, best RMSD, states.
        let Gathered {
            ids: ids_sorted,
            latents: lat_sorted,
            rmsd: rmsd_sorted,
        } = gather(
            comm,
            &LocalFrames {
                ids: &new_ids,
                latents: &new_lat,
                rmsd: &new_rmsd,
            },
            dim,
            None,
        )?;
        if rank == 0 {
            output::write_frames(cfg, it, &ids_sorted, &lat_sorted, &rmsd_sorted, dim)?;
        }
        for &r in &rmsd_sorted {
            state.best_rmsd = state.best_rmsd.min(r);
        }
        if let Some(model) = &states {
            for s in model.assign(&lat_sorted) {
                seen[s as usize] = true;
            }
        }
        let blown: Vec<u64> = all_gather(comm, &blown_local)?;
        let messages_all = gather_strings(comm, &messages)?;

        // 3. The agent step over the window of the last `last_n` frames.
        let newest = frame_id(cfg, it, m - 1, cfg.frames_per_iteration() - 1);
        let oldest_kept = (newest + 1).saturating_sub(cfg.agent.last_n as u64);
        window.retain(|f| f.id >= oldest_kept);
        window.sort_by_key(|f| f.id);
        let t = Instant::now();
        let w_ids: Vec<u64> = window.iter().map(|f| f.id).collect();
        let w_lat: Vec<f32> = window
            .iter()
            .flat_map(|f| f.latent.iter().copied())
            .collect();
        let w_rmsd: Vec<f32> = window.iter().map(|f| f.rmsd).collect();
        let step = agent_step(
            device,
            comm,
            &LocalFrames {
                ids: &w_ids,
                latents: &w_lat,
                rmsd: &w_rmsd,
            },
            dim,
            &agent_opts,
        )?;
        let agent_s = t.elapsed().as_secs_f64();

        // 4. Restart plan (identical on every rank), then the transfers.
        let mut plan: BTreeMap<usize, (u64, &'static str)> = BTreeMap::new();
        if cfg.mode == Mode::Steered && !step.restarts.is_empty() {
            for sim in 0..m {
                plan.insert(sim, (step.restarts[sim % step.restarts.len()], "outlier"));
            }
        }
        for pair in blown.chunks_exact(2) {
            plan.entry(pair[0] as usize).or_insert((pair[1], "blow-up"));
        }
        let mut sources: Vec<u64> = plan
            .values()
            .map(|&(id, _)| id)
            .filter(|&id| id != START)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        let mut states_by_id: BTreeMap<u64, (Vec<V3>, Vec<V3>, f32)> = BTreeMap::new();
        for &id in &sources {
            let root = owner(m, ranks, sim_of(cfg, id));
            let mut buf: Vec<f64> = Vec::new();
            if rank == root {
                let f = window.iter().find(|f| f.id == id).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "rank {rank}: restart frame {id} is not in its window"
                    ))
                })?;
                buf.extend(f.positions.iter().chain(&f.velocities).flatten());
                buf.push(f64::from(f.rmsd));
            }
            broadcast(comm, root, &mut buf)?;
            let n = (buf.len() - 1) / 6;
            let v3 = |s: &[f64]| {
                s.chunks_exact(3)
                    .map(|c| [c[0], c[1], c[2]])
                    .collect::<Vec<V3>>()
            };
            states_by_id.insert(
                id,
                (v3(&buf[..3 * n]), v3(&buf[3 * n..6 * n]), buf[6 * n] as f32),
            );
        }
        let mut restarts = Vec::new();
        for (&sim, &(id, reason)) in &plan {
            let copy = id != START
                && uniform(derive(
                    cfg.md.seed,
                    Stream::VelocityCoin,
                    it as u64,
                    sim as u64,
                )) < cfg.agent.copy_velocities_probability;
            restarts.push(Restart {
                simulation: sim,
                frame_id: id,
                source_simulation: if id == START { sim } else { sim_of(cfg, id) },
                rmsd: states_by_id.get(&id).map_or(f32::NAN, |s| s.2),
                copied_velocities: copy,
                reason: reason.to_string(),
            });
            if let Some(mem) = members.iter_mut().find(|x| x.sim_id == sim) {
                let (pos, vel) = match states_by_id.get(&id) {
                    Some((p, v, _)) => (p.clone(), v.clone()),
                    None => (inputs.start_of(sim).to_vec(), Vec::new()),
                };
                mem.sim.set_positions(pos)?;
                if copy {
                    mem.sim.set_velocities(vel)?;
                } else {
                    mem.sim.set_velocities_to_temperature(
                        cfg.md.temperature,
                        derive(cfg.md.seed, Stream::Velocities, it as u64 + 1, sim as u64),
                    )?;
                }
            }
        }

        // 5. Outputs, summary, checkpoint.
        let wall_s = t_iter.elapsed().as_secs_f64();
        let ensemble_ns = m as f64 * cfg.iteration_ps() / 1000.0;
        let summary = IterationSummary {
            iteration: it,
            frames: ids_sorted.len(),
            frames_seen: step.ids.len(),
            outliers: step.outliers.len(),
            dbscan_eps: step.dbscan_eps,
            dbscan_reached: step.dbscan_reached,
            restarts: restarts.len(),
            blowups: messages_all,
            best_rmsd_nm: state.best_rmsd,
            states_visited: states.as_ref().map(|_| seen.iter().filter(|&&s| s).count()),
            simulated_ns: ensemble_ns * (it + 1) as f64,
            wall_s,
            md_s,
            agent_s,
            ns_per_day: ensemble_ns / wall_s * 86_400.0,
            ns_per_day_per_rank: ensemble_ns / wall_s * 86_400.0 / ranks as f64,
        };
        if rank == 0 {
            output::write_restarts(
                cfg,
                &Restarts {
                    iteration: it,
                    method: cfg.outlier_method().label().into(),
                    frames_seen: step.ids.len(),
                    outliers: step.restarts.clone(),
                    outlier_rmsd: step.outliers.iter().map(|&i| step.rmsd[i]).collect(),
                    dbscan_eps: step.dbscan_eps,
                    dbscan_reached: step.dbscan_reached,
                    restarts,
                },
            )?;
        }
        state.iterations_done = it + 1;
        state.states_seen = (0..seen.len() as u32)
            .filter(|&s| seen[s as usize])
            .collect();
        state.summaries.push(summary.clone());
        let dir = checkpoint::partial_dir(cfg, it + 1)?;
        for mem in &members {
            mem.sim
                .save_checkpoint(checkpoint::sim_path(&dir, mem.sim_id))?;
            let frames: Vec<&FrameRecord> = window
                .iter()
                .filter(|f| sim_of(cfg, f.id) == mem.sim_id)
                .collect();
            checkpoint::write_window(&dir, mem.sim_id, &frames, dim, inputs.system.n_particles())?;
        }
        if rank == 0 {
            let lines: String = state
                .summaries
                .iter()
                .map(|s| serde_json::to_string(s).unwrap_or_default() + "\n")
                .collect();
            output::write_atomic(&cfg.output.dir.join("summary.jsonl"), lines.as_bytes())?;
        }
        checkpoint::commit(cfg, comm, it + 1, &state)?;
        observer.iteration_done(&summary);
    }
    Ok(CampaignReport { state, resumed_at })
}

/// Every rank's strings, concatenated in rank order.
fn gather_strings(comm: &dyn Communicator, local: &[String]) -> Result<Vec<String>> {
    let joined = local.join("\n");
    let parts = comm.all_gather_bytes(joined.as_bytes())?;
    Ok(parts
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            String::from_utf8_lossy(p)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect())
}
