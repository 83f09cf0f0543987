//! The simulation subcommands: energy and simulate.

use serde_json::{json, Map, Value};
use steermd::forcefield::input::{load_system_input, LoadedSystem, SystemInput};
use steermd::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use steermd::forcefield::{self, NonbondedMethod, ALL_GROUPS};
use steermd::integrate::{
    DcdReporter, Integrator, NetcdfReporter, Simulation, SimulationOptions, StateReporter,
};
use steermd::io::npy;
use steermd::{Device, Error, Precision, Result};

use crate::args::{
    ConstraintsArg, EnergyArgs, ImplicitSolventArg, NonbondedArg, SimulateArgs, SystemArgs,
};
use crate::commands::npy_output;

/// Turn the command-line system options into a [`SystemInput`].
pub fn system_input(a: &SystemArgs) -> Result<SystemInput> {
    match (&a.system, &a.pdb, &a.prmtop, &a.inpcrd) {
        (Some(xml), Some(pdb), None, None) => Ok(SystemInput::Xml {
            xml: xml.clone(),
            pdb: pdb.clone(),
        }),
        (None, None, Some(prmtop), Some(inpcrd)) => Ok(SystemInput::Prmtop {
            prmtop: prmtop.clone(),
            inpcrd: inpcrd.clone(),
            options: PrmtopOptions {
                nonbonded_method: match a.nonbonded {
                    NonbondedArg::NoCutoff => NonbondedMethod::NoCutoff,
                    NonbondedArg::CutoffNonPeriodic => NonbondedMethod::CutoffNonPeriodic,
                    NonbondedArg::CutoffPeriodic => NonbondedMethod::CutoffPeriodic,
                },
                nonbonded_cutoff: a.cutoff,
                constraints: match a.constraints {
                    ConstraintsArg::None => Constraints::None,
                    ConstraintsArg::HBonds => Constraints::HBonds,
                    ConstraintsArg::AllBonds => Constraints::AllBonds,
                },
                implicit_solvent: match a.implicit_solvent {
                    ImplicitSolventArg::None => None,
                    ImplicitSolventArg::Obc2 => Some(ImplicitSolvent::Obc2),
                },
                ..PrmtopOptions::default()
            },
        }),
        _ => Err(Error::InvalidArgument(
            "give either --system X.xml --pdb X.pdb or --prmtop X.prmtop --inpcrd X.inpcrd".into(),
        )),
    }
}

/// Read and validate the system named on the command line.
pub fn load(a: &SystemArgs) -> Result<LoadedSystem> {
    load_system_input(&system_input(a)?)
}

/// `steermd energy`: one JSON object with the total and per-group potential
/// energies (kJ/mol); forces (kJ/mol/nm, f64 [atoms, 3]) to `--forces`.
pub fn energy(device: &Device, precision: Precision, a: &EnergyArgs) -> Result<()> {
    if let Some(p) = &a.forces {
        npy_output(p)?;
    }
    let loaded = load(&a.input)?;
    let out = forcefield::compute_at(
        device,
        precision,
        &loaded.system,
        &loaded.positions,
        loaded.box_vectors,
        ALL_GROUPS,
    )?;
    let mut groups = Map::new();
    for g in 0..forcefield::MAX_FORCE_GROUPS {
        let names: Vec<&str> = loaded
            .system
            .forces
            .iter()
            .filter(|f| usize::from(f.group) == g)
            .map(|f| f.name.as_str())
            .collect();
        if !names.is_empty() {
            groups.insert(
                g.to_string(),
                json!({"forces": names, "energy_kj_mol": out.group_energies[g]}),
            );
        }
    }
    if let Some(p) = &a.forces {
        let flat: Vec<f64> = out.forces.iter().flatten().copied().collect();
        npy::write_npy(p, &[out.forces.len(), 3], &flat)?;
    }
    let doc = json!({
        "n_atoms": loaded.system.n_particles(),
        "potential_energy_kj_mol": out.potential_energy(),
        "groups": Value::Object(groups),
    });
    println!("{doc}");
    Ok(())
}

/// `steermd simulate`: optional minimization, Maxwell–Boltzmann velocities,
/// then Langevin (`--friction` > 0) or velocity-Verlet dynamics up to step
/// `--steps`, with a CSV state line on stdout and DCD frames every
/// `--report` steps, and a checkpoint after every report block. With
/// `--resume` the run continues from the checkpoint up to the same total.
pub fn simulate(device: &Device, precision: Precision, a: &SimulateArgs) -> Result<()> {
    if a.report == 0 {
        return Err(Error::InvalidArgument(
            "--report must be at least 1 step".into(),
        ));
    }
    let loaded = load(&a.input)?;
    let integrator = if a.friction > 0.0 {
        Integrator::LangevinMiddle {
            dt: a.dt,
            temperature: a.temperature,
            friction: a.friction,
        }
    } else {
        Integrator::VelocityVerlet { dt: a.dt }
    };
    let mut options = SimulationOptions::new(integrator);
    options.seed = a.seed;
    options.device = *device;
    options.precision = precision;
    let mut sim = Simulation::new(loaded.system, loaded.positions, loaded.box_vectors, options)?;
    match (&a.checkpoint, a.resume) {
        (Some(chk), true) => {
            sim.load_checkpoint(chk)?;
            eprintln!(
                "resumed from {} at step {}",
                chk.display(),
                sim.step_count()
            );
        }
        _ => {
            if a.minimize {
                let r = sim.minimize(10.0, 0)?;
                eprintln!(
                    "minimized: {:.3} -> {:.3} kJ/mol, RMS force {:.3} kJ/mol/nm, {} iterations",
                    r.initial_energy, r.final_energy, r.final_rms_force, r.iterations
                );
            }
            match loaded.velocities {
                Some(v) if !a.minimize => sim.set_velocities(v)?,
                _ => sim.set_velocities_to_temperature(a.temperature, a.seed)?,
            }
        }
    }
    sim.add_reporter(Box::new(StateReporter::new(std::io::stdout(), a.report)?));
    if let Some(traj) = &a.traj {
        let ext = traj
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "nc" | "ncdf" | "netcdf" => {
                sim.add_reporter(Box::new(NetcdfReporter::new(traj, a.report)?))
            }
            "ncrst" | "xtc" => {
                return Err(Error::InvalidArgument(format!(
                    "--traj {}: .{ext} output is not supported; use .dcd or .nc",
                    traj.display()
                )))
            }
            _ => sim.add_reporter(Box::new(DcdReporter::new(traj, a.report)?)),
        }
    }
    while sim.step_count() < a.steps {
        let block = a.report.min(a.steps - sim.step_count());
        sim.step(block)?;
        if let Some(chk) = &a.checkpoint {
            sim.save_checkpoint(chk)?;
        }
    }
    sim.finish_reporters()
}
