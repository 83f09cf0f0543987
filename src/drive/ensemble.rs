//! The ensemble on one rank: inputs loaded once and the simulations this
//! rank owns (their frames are analysed by the
//! [`Analyzer`](crate::drive::analyzer::Analyzer) inside the
//! [`Steering`](crate::drive::steering::Steering)).

use std::ops::Range;

use rayon::prelude::*;

use crate::analysis::contacts::ContactMaps;
use crate::backend::Device;
use crate::drive::analyzer::Analyzer;
use crate::drive::config::DriveConfig;
use crate::drive::seeds::{derive, Stream};
use crate::error::{Error, Result};
use crate::forcefield::input::{load_system_input, LoadedSystem, SystemInput};
use crate::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use crate::forcefield::{BoxVectors, NonbondedMethod, System};
use crate::integrate::{Integrator, Simulation, SimulationOptions};
use crate::io::read_trajectory_for;

type V3 = [f64; 3];

/// The simulations `[start, end)` that `rank` of `ranks` owns: contiguous
/// blocks, the first `M mod R` ranks one larger.
pub fn share(simulations: usize, rank: usize, ranks: usize) -> Range<usize> {
    let (base, extra) = (simulations / ranks, simulations % ranks);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// The rank owning simulation `sim`.
pub fn owner(simulations: usize, ranks: usize, sim: usize) -> usize {
    (0..ranks)
        .find(|&r| share(simulations, r, ranks).contains(&sim))
        .expect("every simulation has an owner")
}

/// Inputs shared by every simulation of a campaign, loaded and checked once.
pub struct Inputs {
    /// The system.
    pub system: System,
    /// Its periodic box, nm.
    pub box_vectors: Option<BoxVectors>,
    /// Starting structures (nm), cycled over the ensemble.
    pub starts: Vec<Vec<V3>>,
}

fn system_input(cfg: &DriveConfig) -> Result<SystemInput> {
    let s = &cfg.system;
    if let (Some(xml), Some(pdb)) = (&s.xml, &s.pdb) {
        return Ok(SystemInput::Xml {
            xml: xml.clone(),
            pdb: pdb.clone(),
        });
    }
    let word = |key: &str, v: &str, allowed: &str| {
        Error::InvalidArgument(format!(
            "config: system.{key} = {v:?}: expected one of {allowed}"
        ))
    };
    let options = PrmtopOptions {
        nonbonded_method: match s.nonbonded.as_str() {
            "no-cutoff" => NonbondedMethod::NoCutoff,
            "cutoff-non-periodic" => NonbondedMethod::CutoffNonPeriodic,
            "cutoff-periodic" => NonbondedMethod::CutoffPeriodic,
            v => {
                return Err(word(
                    "nonbonded",
                    v,
                    "no-cutoff, cutoff-non-periodic, cutoff-periodic",
                ))
            }
        },
        nonbonded_cutoff: s.cutoff,
        constraints: match s.constraints.as_str() {
            "none" => Constraints::None,
            "hbonds" => Constraints::HBonds,
            "all-bonds" => Constraints::AllBonds,
            v => return Err(word("constraints", v, "none, hbonds, all-bonds")),
        },
        implicit_solvent: match s.implicit_solvent.as_str() {
            "none" => None,
            "obc2" => Some(ImplicitSolvent::Obc2),
            v => return Err(word("implicit_solvent", v, "none, obc2")),
        },
        ..PrmtopOptions::default()
    };
    Ok(SystemInput::Prmtop {
        prmtop: s.prmtop.clone().unwrap_or_default(),
        inpcrd: s.inpcrd.clone().unwrap_or_default(),
        options,
    })
}

impl Inputs {
    /// Load the system and starting structures, and the analysis (reference
    /// and encoder, atoms selected in the system's topology), checking that
    /// they fit together (atom counts, the encoder's input shape against
    /// the selection).
    pub fn load(cfg: &DriveConfig) -> Result<(Inputs, Analyzer)> {
        let LoadedSystem {
            system,
            topology,
            positions,
            box_vectors,
            ..
        } = load_system_input(&system_input(cfg)?)?;
        let n = system.n_particles();
        let starts = match &cfg.system.start_dcd {
            None => vec![positions],
            Some(dcd) => {
                let frames = read_trajectory_for(dcd, n)?;
                let mut starts = Vec::new();
                for &f in &cfg.system.start_frames {
                    if f >= frames.n_frames() {
                        return Err(Error::InvalidArgument(format!(
                            "config: system.start_frames names frame {f} but {} has {} frames",
                            dcd.display(),
                            frames.n_frames()
                        )));
                    }
                    starts.push(
                        frames
                            .frame(f)
                            .chunks_exact(3)
                            .map(|p| [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])])
                            .collect(),
                    );
                }
                starts
            }
        };
        let analyzer = Analyzer::load(&cfg.analysis, &topology)?;
        let inputs = Inputs {
            system,
            box_vectors,
            starts,
        };
        Ok((inputs, analyzer))
    }

    /// The starting structure of simulation `sim`, nm.
    pub fn start_of(&self, sim: usize) -> &[V3] {
        &self.starts[sim % self.starts.len()]
    }

    /// A new simulation `sim` at its starting structure (minimized if
    /// asked), with Maxwell–Boltzmann velocities.
    pub fn new_member(&self, cfg: &DriveConfig, device: &Device, sim: usize) -> Result<Member> {
        let mut m = self.new_member_unprepared(cfg, device, sim)?;
        if cfg.system.minimize {
            m.sim.minimize(10.0, 0)?;
        }
        m.sim.set_velocities_to_temperature(
            cfg.md.temperature,
            derive(cfg.md.seed, Stream::Velocities, 0, sim as u64),
        )?;
        Ok(m)
    }

    /// Simulation `sim` at its starting structure with zero velocities (to
    /// be prepared, or restored from a checkpoint).
    pub fn new_member_unprepared(
        &self,
        cfg: &DriveConfig,
        device: &Device,
        sim: usize,
    ) -> Result<Member> {
        let md = &cfg.md;
        let mut options = SimulationOptions::new(Integrator::LangevinMiddle {
            dt: md.dt,
            temperature: md.temperature,
            friction: md.friction,
        });
        options.seed = derive(md.seed, Stream::Noise, 0, sim as u64);
        options.device = *device;
        options.precision = md.precision()?;
        let s = Simulation::new(
            self.system.clone(),
            self.start_of(sim).to_vec(),
            self.box_vectors,
            options,
        )?;
        Ok(Member {
            sim_id: sim,
            sim: s,
        })
    }
}

/// One simulation of the ensemble.
pub struct Member {
    /// Global simulation index.
    pub sim_id: usize,
    /// Its state.
    pub sim: Simulation,
}

/// A frame kept for the agent: its analysis results and the state to
/// restart from.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameRecord {
    /// Global id: `(iteration · M + sim) · F + index`.
    pub id: u64,
    /// Latent vector.
    pub latent: Vec<f32>,
    /// RMSD to the reference, nm.
    pub rmsd: f32,
    /// Positions, nm.
    pub positions: Vec<V3>,
    /// Velocities, nm/ps.
    pub velocities: Vec<V3>,
}

/// What one simulation produced in one iteration.
pub struct MemberIteration {
    /// Global simulation index.
    pub sim_id: usize,
    /// Frames with finite results, in time order.
    pub frames: Vec<FrameRecord>,
    /// Contact maps of those frames.
    pub maps: Option<ContactMaps>,
    /// Whether the simulation blew up (and must be replaced).
    pub blew_up: bool,
    /// What went wrong (blow-up, dropped frames), if anything.
    pub failure: Option<String>,
}

/// One frame of a member's iteration, before analysis.
pub struct RawFrame {
    /// MD step after which it was taken.
    pub step: u64,
    /// Positions, nm.
    pub positions: Vec<V3>,
    /// Velocities, nm/ps.
    pub velocities: Vec<V3>,
}

/// What one member's MD produced in one iteration.
pub struct MemberMd {
    /// Global simulation index.
    pub sim_id: usize,
    /// Frames in time order (fewer than asked after a blow-up).
    pub frames: Vec<RawFrame>,
    /// The blow-up that ended the iteration early, if any.
    pub failure: Option<String>,
}

/// Run one iteration of MD of every member (in parallel): a frame every
/// `md.report_interval` steps. A blow-up ends that member's iteration and
/// is reported in [`MemberMd::failure`]; other errors end the call.
pub fn run_iteration(
    members: &mut [Member],
    cfg: &DriveConfig,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Vec<MemberMd>> {
    members
        .par_iter_mut()
        .map(|m| {
            let mut frames = Vec::new();
            let mut failure = None;
            for _ in 0..cfg.frames_per_iteration() {
                match m.sim.step(cfg.md.report_interval) {
                    Ok(()) => {
                        frames.push(RawFrame {
                            step: m.sim.step_count(),
                            positions: m.sim.positions().to_vec(),
                            velocities: m.sim.velocities().to_vec(),
                        });
                        on_frame();
                    }
                    Err(e @ Error::Unstable { .. }) => {
                        failure = Some(format!("simulation {} blew up: {e}", m.sim_id));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(MemberMd {
                sim_id: m.sim_id,
                frames,
                failure,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_everything_once_uneven_first() {
        for m in 1..12 {
            for r in 1..=m {
                let mut all = Vec::new();
                for k in 0..r {
                    let s = share(m, k, r);
                    assert!(s.len() == m / r || s.len() == m / r + 1);
                    all.extend(s.clone());
                    for sim in s {
                        assert_eq!(owner(m, r, sim), k);
                    }
                }
                assert_eq!(all, (0..m).collect::<Vec<_>>());
            }
        }
        assert_eq!(share(5, 0, 3), 0..2);
        assert_eq!(share(5, 2, 3), 4..5);
    }
}
