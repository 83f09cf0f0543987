//! The ensemble on one rank: inputs loaded once, the simulations this rank
//! owns, and the in-memory analysis of their frames (contact map,
//! embedding, RMSD).

use std::ops::Range;

use rayon::prelude::*;

use crate::analysis::contacts::{contact_maps, ContactMapOptions, ContactMaps};
use crate::analysis::rmsd::rmsd;
use crate::backend::Device;
use crate::drive::config::DriveConfig;
use crate::drive::seeds::{derive, Stream};
use crate::error::{Error, Result};
use crate::forcefield::input::{load_system_input, LoadedSystem, SystemInput};
use crate::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use crate::forcefield::{BoxVectors, NonbondedMethod, System};
use crate::frames::Frames;
use crate::integrate::{Integrator, Simulation, SimulationOptions};
use crate::io::pdb::read_pdb;
use crate::io::read_trajectory_for;
use crate::nn::{point_clouds, Encoder};

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
    /// Selected atom indices (contact maps, point clouds, RMSD).
    pub selection: Vec<usize>,
    /// The reference's selected atoms, nm.
    pub reference: Vec<f32>,
    /// The encoder.
    pub encoder: Encoder,
    /// Latent dimension.
    pub latent_dim: usize,
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
    /// Load the system, starting structures, reference and encoder, and
    /// check that they fit together (atom counts, the encoder's input
    /// shape against the selection).
    pub fn load(cfg: &DriveConfig) -> Result<Inputs> {
        let LoadedSystem {
            system,
            topology,
            positions,
            box_vectors,
            ..
        } = load_system_input(&system_input(cfg)?)?;
        let n = system.n_particles();
        let names: Vec<&str> = cfg.analysis.selection.iter().map(String::as_str).collect();
        let selection = topology.select_names(&names)?;
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
        let (ref_top, ref_frames) = read_pdb(&cfg.analysis.reference)?;
        if ref_top.n_atoms() != n {
            return Err(Error::Shape(format!(
                "config: analysis.reference {} has {} atoms, the system has {n}",
                cfg.analysis.reference.display(),
                ref_top.n_atoms()
            )));
        }
        let reference = ref_frames.gather(&selection)?;
        let encoder = Encoder::load(&cfg.analysis.model)?;
        let want: Vec<usize> = match &encoder {
            Encoder::Cvae(_) => vec![1, selection.len(), selection.len()],
            Encoder::Aae(_) => vec![3, selection.len()],
        };
        if encoder.input_shape() != want.as_slice() {
            return Err(Error::Shape(format!(
                "config: the model {} expects input shape {:?}, but the selection {:?} has {} atoms (input {:?})",
                cfg.analysis.model.display(),
                encoder.input_shape(),
                cfg.analysis.selection,
                selection.len(),
                want
            )));
        }
        let latent_dim = encoder.latent_dim();
        Ok(Inputs {
            system,
            box_vectors,
            starts,
            selection,
            reference,
            encoder,
            latent_dim,
        })
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

    /// Contact maps, embeddings (`[frames][latent]`) and RMSDs (nm) of the
    /// given frames (full positions, nm).
    pub fn analyze(
        &self,
        device: &Device,
        cfg: &DriveConfig,
        positions: &[Vec<V3>],
    ) -> Result<(ContactMaps, Vec<f32>, Vec<f32>)> {
        let n_sel = self.selection.len();
        let mut xyz = Vec::with_capacity(positions.len() * n_sel * 3);
        for p in positions {
            for &a in &self.selection {
                xyz.extend(p[a].iter().map(|&v| v as f32));
            }
        }
        let frames = Frames::new(n_sel, xyz, None)?;
        let all: Vec<usize> = (0..n_sel).collect();
        let maps = contact_maps(
            device,
            &frames,
            &all,
            &ContactMapOptions {
                cutoff: cfg.analysis.contact_cutoff,
                periodic: false,
            },
        )?;
        let input: Vec<f32> = match &self.encoder {
            Encoder::Cvae(_) => maps.dense_u8().iter().map(|&v| f32::from(v)).collect(),
            Encoder::Aae(_) => point_clouds(&frames, &all)?,
        };
        let latents = self.encoder.embed(device, &input, positions.len())?;
        let r = rmsd(device, &self.reference, &frames, &all)?;
        Ok((maps, latents, r))
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

/// The global id of frame `index` of simulation `sim` in `iteration`.
pub fn frame_id(cfg: &DriveConfig, iteration: usize, sim: usize, index: usize) -> u64 {
    let (m, f) = (
        cfg.ensemble.simulations as u64,
        cfg.frames_per_iteration() as u64,
    );
    (iteration as u64 * m + sim as u64) * f + index as u64
}

/// The simulation that produced frame `id`.
pub fn sim_of(cfg: &DriveConfig, id: u64) -> usize {
    let (m, f) = (
        cfg.ensemble.simulations as u64,
        cfg.frames_per_iteration() as u64,
    );
    ((id / f) % m) as usize
}

/// Run one iteration of every member (in parallel), analysing each
/// member's frames as one batch. A blow-up ends that member's iteration
/// and is reported in [`MemberIteration::failure`]; frames whose analysis
/// is not finite are dropped and reported the same way.
pub fn run_iteration(
    members: &mut [Member],
    inputs: &Inputs,
    device: &Device,
    cfg: &DriveConfig,
    iteration: usize,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Vec<MemberIteration>> {
    members
        .par_iter_mut()
        .map(|m| {
            let mut positions = Vec::new();
            let mut velocities = Vec::new();
            let mut failure = None;
            for _ in 0..cfg.frames_per_iteration() {
                match m.sim.step(cfg.md.report_interval) {
                    Ok(()) => {
                        positions.push(m.sim.positions().to_vec());
                        velocities.push(m.sim.velocities().to_vec());
                        on_frame();
                    }
                    Err(e @ Error::Unstable { .. }) => {
                        failure = Some(format!("simulation {} blew up: {e}", m.sim_id));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if positions.is_empty() {
                return Ok(MemberIteration {
                    sim_id: m.sim_id,
                    frames: Vec::new(),
                    maps: None,
                    blew_up: failure.is_some(),
                    failure,
                });
            }
            let blew_up = failure.is_some();
            let (maps, latents, r) = inputs.analyze(device, cfg, &positions)?;
            let dim = inputs.latent_dim;
            let mut frames = Vec::with_capacity(positions.len());
            for (k, (p, v)) in positions.into_iter().zip(velocities).enumerate() {
                let latent = latents[k * dim..(k + 1) * dim].to_vec();
                if latent.iter().all(|x| x.is_finite()) && r[k].is_finite() {
                    frames.push(FrameRecord {
                        id: frame_id(cfg, iteration, m.sim_id, k),
                        latent,
                        rmsd: r[k],
                        positions: p,
                        velocities: v,
                    });
                } else if failure.is_none() {
                    failure = Some(format!(
                        "simulation {} frame {k}: non-finite embedding or RMSD, frame dropped",
                        m.sim_id
                    ));
                }
            }
            Ok(MemberIteration {
                sim_id: m.sim_id,
                frames,
                maps: Some(maps),
                blew_up,
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
