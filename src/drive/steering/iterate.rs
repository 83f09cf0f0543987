//! The collective iteration: gather this iteration's frames, the agent step
//! over the window, the restart plan (identical on every rank) and the
//! transfer of the restart states from their owning ranks. One function per
//! phase, in the order [`Steering::iterate`] calls them.

use std::collections::BTreeMap;

use super::{Steering, V3};
use crate::drive::agent::{agent_step, agree, gather, AgentStep, Gathered, LocalFrames};
use crate::drive::comm::{all_gather, broadcast, Communicator};
use crate::drive::config::Mode;
use crate::drive::ensemble::MemberIteration;
use crate::drive::output::Restart;
use crate::drive::seeds::{derive, uniform, Stream};
use crate::error::{Error, Result};

const WHAT: &str = "steering iterate";

/// Marks "restart from the starting structure" in restart plans.
const START: u64 = u64::MAX;

/// Where one local simulation restarts from.
#[derive(Clone, Debug, PartialEq)]
pub struct RestartFrom {
    /// The simulation to restart.
    pub simulation: usize,
    /// The frame to restart from; `None`: from the simulation's starting
    /// structure (a blow-up before any good frame), which the caller holds.
    pub frame_id: Option<u64>,
    /// The simulation that produced the frame.
    pub source_simulation: usize,
    /// The MD step of the frame (as handed over), if any.
    pub source_step: Option<u64>,
    /// RMSD of the frame to the reference, nm (NaN from the start).
    pub rmsd: f32,
    /// Keep the frame's velocities (else draw new ones at the bath
    /// temperature); never true when the frame has none.
    pub copy_velocities: bool,
    /// `"outlier"` or `"blow-up"`.
    pub reason: &'static str,
    /// Positions, nm (empty from the start).
    pub positions: Vec<V3>,
    /// Velocities, nm/ps (empty when the frame has none, or from the start).
    pub velocities: Vec<V3>,
    /// The frame's box, nm, when it had one.
    pub box_vectors: Option<[f64; 9]>,
}

/// What one [`Steering::iterate`] found, identical on every rank except
/// [`local`](Self::local) and the agent's timings.
#[derive(Clone, Debug, PartialEq)]
pub struct SteeringIteration {
    /// The iteration (0-based).
    pub iteration: usize,
    /// This iteration's frames from every rank, ascending id.
    pub ids: Vec<u64>,
    /// Their latent vectors `[n][dim]`.
    pub latents: Vec<f32>,
    /// Their RMSDs to the reference, nm.
    pub rmsd: Vec<f32>,
    /// The agent step over the window.
    pub step: AgentStep,
    /// Blow-ups and dropped frames, every rank's, in rank order.
    pub failures: Vec<String>,
    /// Every restart of the ensemble, ascending simulation.
    pub restarts: Vec<Restart>,
    /// Per local simulation (in id order), where it restarts from.
    pub local: Vec<Option<RestartFrom>>,
}

/// A frame's state as broadcast from its owner.
struct Moved {
    positions: Vec<V3>,
    velocities: Vec<V3>,
    box_vectors: Option<[f64; 9]>,
    rmsd: f32,
    step: u64,
}

impl<'c> Steering<'c> {
    /// One iteration, collectively on every rank: analyse the frames handed
    /// over (unless [`analyze`](Self::analyze) did), gather them, run the
    /// agent step over the window of the last `agent.last_n` frame slots,
    /// plan the restarts and move each restart state from its owner.
    pub fn iterate(&mut self) -> Result<&SteeringIteration> {
        let stride = self.agree_stride()?;
        if self.stride.is_none() {
            self.history.push((self.base, stride));
        }
        let members = match self.analyzed.take() {
            Some(m) => m,
            None => {
                let local = self.analyze_with(stride);
                agree(self.comm(), WHAT, "its frame analysis", local)?
            }
        };
        let frames = self.gather_new(&members)?;
        let (blown, failures) = self.extend_window(members)?;
        let step = self.agent(stride)?;
        let plan = self.plan(&step, &blown);
        let moved = self.transfer(&plan)?;
        let (restarts, local) = self.decide(&plan, &moved);
        self.finish(stride);
        let Gathered { ids, latents, rmsd } = frames;
        self.last = Some(SteeringIteration {
            iteration: self.iteration - 1,
            ids,
            latents,
            rmsd,
            step,
            failures,
            restarts,
            local,
        });
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Frames per simulation this iteration: fixed, or the most any
    /// simulation handed over (one all-gather).
    fn agree_stride(&self) -> Result<u64> {
        if let Some(f) = self.stride {
            return Ok(f as u64);
        }
        let mine = self.pending.iter().map(Vec::len).max().unwrap_or(0) as u64;
        let all = all_gather::<u64>(self.comm(), &[mine])?;
        Ok(all.into_iter().max().unwrap_or(0).max(1))
    }

    /// This iteration's frames from every rank, ascending id.
    fn gather_new(&self, members: &[MemberIteration]) -> Result<Gathered> {
        let frames = members.iter().flat_map(|m| &m.frames);
        let ids: Vec<u64> = frames.clone().map(|f| f.id).collect();
        let lat: Vec<f32> = frames
            .clone()
            .flat_map(|f| f.latent.iter().copied())
            .collect();
        let rmsd: Vec<f32> = frames.map(|f| f.rmsd).collect();
        let local = LocalFrames {
            ids: &ids,
            latents: &lat,
            rmsd: &rmsd,
        };
        gather(self.comm(), &local, self.analyzer.latent_dim, None)
    }

    /// Add the frames to the window; every rank's blow-ups as
    /// (simulation, fallback frame) pairs and every rank's failures.
    fn extend_window(&mut self, members: Vec<MemberIteration>) -> Result<(Vec<u64>, Vec<String>)> {
        let mut blown_local: Vec<u64> = Vec::new();
        let messages: Vec<String> = members.iter().filter_map(|m| m.failure.clone()).collect();
        for m in members {
            self.window.extend(m.frames);
            if m.blew_up {
                // Replace from its latest good frame (or its start).
                let fallback = self
                    .window
                    .iter()
                    .filter(|f| self.sim_of(f.id) == m.sim_id)
                    .map(|f| f.id)
                    .max()
                    .unwrap_or(START);
                blown_local.extend([m.sim_id as u64, fallback]);
            }
        }
        let blown = all_gather(self.comm(), &blown_local)?;
        Ok((blown, gather_strings(self.comm(), &messages)?))
    }

    /// Keep the last `agent.last_n` frame slots and run the agent step.
    fn agent(&mut self, stride: u64) -> Result<AgentStep> {
        let newest = self.base + self.simulations() as u64 * stride - 1;
        let oldest_kept = (newest + 1).saturating_sub(self.cfg.agent.last_n as u64);
        self.window.retain(|f| f.id >= oldest_kept);
        self.window.sort_by_key(|f| f.id);
        self.steps.retain(|&id, _| id >= oldest_kept);
        self.boxes.retain(|&id, _| id >= oldest_kept);
        let ids: Vec<u64> = self.window.iter().map(|f| f.id).collect();
        let lat: Vec<f32> = self
            .window
            .iter()
            .flat_map(|f| f.latent.iter().copied())
            .collect();
        let rmsd: Vec<f32> = self.window.iter().map(|f| f.rmsd).collect();
        let local = LocalFrames {
            ids: &ids,
            latents: &lat,
            rmsd: &rmsd,
        };
        agent_step(
            &self.device,
            self.comm(),
            &local,
            self.analyzer.latent_dim,
            &self.agent_opts,
        )
    }

    /// The restart plan, identical on every rank: steered, every simulation
    /// from the outliers in turn; a blown-up one (not otherwise restarted)
    /// from its fallback.
    fn plan(&self, step: &AgentStep, blown: &[u64]) -> BTreeMap<usize, (u64, &'static str)> {
        let mut plan = BTreeMap::new();
        if self.mode == Mode::Steered && !step.restarts.is_empty() {
            for sim in 0..self.simulations() {
                plan.insert(sim, (step.restarts[sim % step.restarts.len()], "outlier"));
            }
        }
        for pair in blown.chunks_exact(2) {
            plan.entry(pair[0] as usize).or_insert((pair[1], "blow-up"));
        }
        plan
    }

    /// Broadcast every restart frame's state from its owner, in ascending id.
    fn transfer(
        &self,
        plan: &BTreeMap<usize, (u64, &'static str)>,
    ) -> Result<BTreeMap<u64, Moved>> {
        let mut sources: Vec<u64> = plan
            .values()
            .map(|&(id, _)| id)
            .filter(|&id| id != START)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        let rank = self.comm().rank();
        let missing = sources.iter().find(|&&id| {
            self.owner(self.sim_of(id)) == rank && !self.window.iter().any(|f| f.id == id)
        });
        let check = match missing {
            Some(id) => Err(Error::InvalidArgument(format!(
                "rank {rank}: restart frame {id} is not in its window"
            ))),
            None => Ok(()),
        };
        agree(self.comm(), WHAT, "finding its restart frames", check)?;
        let mut moved = BTreeMap::new();
        for &id in &sources {
            let root = self.owner(self.sim_of(id));
            let mut buf: Vec<f64> = Vec::new();
            if rank == root {
                buf = self.pack(id);
            }
            broadcast(self.comm(), root, &mut buf)?;
            moved.insert(id, unpack(&buf)?);
        }
        Ok(moved)
    }

    /// Frame `id` (in this rank's window) as a broadcast buffer: header
    /// `[atoms, velocity atoms, has box, rmsd, step]`, then positions,
    /// velocities and the box.
    fn pack(&self, id: u64) -> Vec<f64> {
        let f = self
            .window
            .iter()
            .find(|f| f.id == id)
            .expect("checked by transfer");
        let b = self.boxes.get(&id);
        let mut buf = vec![
            f.positions.len() as f64,
            f.velocities.len() as f64,
            f64::from(u8::from(b.is_some())),
            f64::from(f.rmsd),
            self.steps.get(&id).copied().unwrap_or(0) as f64,
        ];
        buf.extend(f.positions.iter().chain(&f.velocities).flatten());
        buf.extend(b.into_iter().flatten());
        buf
    }

    /// Every simulation's restart record, and this rank's restart states.
    fn decide(
        &self,
        plan: &BTreeMap<usize, (u64, &'static str)>,
        moved: &BTreeMap<u64, Moved>,
    ) -> (Vec<Restart>, Vec<Option<RestartFrom>>) {
        let mut restarts = Vec::new();
        let mut local: Vec<Option<RestartFrom>> = vec![None; self.pending.len()];
        for (&sim, &(id, reason)) in plan {
            let state = moved.get(&id);
            let coin = uniform(derive(
                self.cfg.seed,
                Stream::VelocityCoin,
                self.iteration as u64,
                sim as u64,
            ));
            let copy = id != START && coin < self.cfg.agent.copy_velocities_probability;
            let source = if id == START { sim } else { self.sim_of(id) };
            restarts.push(Restart {
                simulation: sim,
                frame_id: id,
                source_simulation: source,
                rmsd: state.map_or(f32::NAN, |s| s.rmsd),
                copied_velocities: copy,
                reason: reason.to_string(),
            });
            if self.local_simulations().contains(&sim) {
                local[sim - self.first] = Some(RestartFrom {
                    simulation: sim,
                    frame_id: (id != START).then_some(id),
                    source_simulation: source,
                    source_step: state.map(|s| s.step),
                    rmsd: state.map_or(f32::NAN, |s| s.rmsd),
                    copy_velocities: copy && state.is_some_and(|s| !s.velocities.is_empty()),
                    reason,
                    positions: state.map(|s| s.positions.clone()).unwrap_or_default(),
                    velocities: state.map(|s| s.velocities.clone()).unwrap_or_default(),
                    box_vectors: state.and_then(|s| s.box_vectors),
                });
            }
        }
        (restarts, local)
    }

    /// Advance the frame-id base and the iteration count.
    fn finish(&mut self, stride: u64) {
        self.base += self.simulations() as u64 * stride;
        self.iteration += 1;
    }
}

/// The inverse of [`Steering::pack`].
fn unpack(buf: &[f64]) -> Result<Moved> {
    let bad = || {
        Error::Shape(format!(
            "{WHAT}: malformed restart state of {} values",
            buf.len()
        ))
    };
    let head = buf.get(..5).ok_or_else(bad)?;
    let (n, nv, has_box) = (head[0] as usize, head[1] as usize, head[2] != 0.0);
    let want = 5 + 3 * (n + nv) + if has_box { 9 } else { 0 };
    if buf.len() != want {
        return Err(bad());
    }
    let v3 = |s: &[f64]| {
        s.chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect::<Vec<V3>>()
    };
    let body = &buf[5..];
    Ok(Moved {
        positions: v3(&body[..3 * n]),
        velocities: v3(&body[3 * n..3 * (n + nv)]),
        box_vectors: has_box.then(|| {
            let mut b = [0.0; 9];
            b.copy_from_slice(&body[3 * (n + nv)..]);
            b
        }),
        rmsd: head[3] as f32,
        step: head[4] as u64,
    })
}

/// Every rank's strings, concatenated in rank order.
pub(crate) fn gather_strings(comm: &dyn Communicator, local: &[String]) -> Result<Vec<String>> {
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
