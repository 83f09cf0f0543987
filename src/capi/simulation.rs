//! C ABI: molecular-dynamics simulations as opaque handles.
//!
//! A `steermd_simulation` owns a system, its state (positions nm, velocities
//! nm/ps, box nm, step) and an integrator. Create one from an OpenMM System
//! XML + PDB or an Amber prmtop + inpcrd, then minimize, step, query energies
//! and forces, and write or read checkpoints.

use std::ffi::c_char;
use std::path::{Path, PathBuf};

use super::handles::{get_mut, register, release, Handle};
use super::options::{
    integrator_defaults, integrator_options, prmtop_defaults, read_sized,
    steermd_integrator_options, steermd_prmtop_options, to_prmtop_options,
    INTEGRATOR_OPTIONS_MIN_SIZE, PRMTOP_OPTIONS_MIN_SIZE,
};
use super::status::{c_str, guard, in_slice, null, out_slice, steermd_status, CError};
use crate::error::Error;
use crate::forcefield::input::{load_system_input, SystemInput};
use crate::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use crate::forcefield::MAX_FORCE_GROUPS;
use crate::integrate::{DcdReporter, Simulation};

/// A simulation: system, state and integrator.
pub struct steermd_simulation {
    sim: Simulation,
}

impl Handle for steermd_simulation {
    const NAME: &'static str = "steermd_simulation";
}

fn create(
    input: SystemInput,
    options: *const steermd_integrator_options,
    out: *mut *mut steermd_simulation,
) -> Result<(), CError> {
    if out.is_null() {
        return Err(null("out"));
    }
    if options.is_null() {
        return Err(null("options"));
    }
    // SAFETY: the public callers require `options` to be NULL or valid for
    // its `struct_size` bytes.
    let o = unsafe {
        read_sized(
            options,
            "steermd_integrator_options",
            INTEGRATOR_OPTIONS_MIN_SIZE,
            integrator_defaults(),
        )
    }?;
    let loaded = load_system_input(&input)?;
    let mut sim = Simulation::new(
        loaded.system,
        loaded.positions,
        loaded.box_vectors,
        integrator_options(&o)?,
    )?;
    if let Some(v) = loaded.velocities {
        sim.set_velocities(v)?;
    }
    // SAFETY: `out` is non-null and writable per the public callers' contract.
    unsafe { *out = register(steermd_simulation { sim }) };
    Ok(())
}

/// Create a simulation from an OpenMM System XML and a PDB (positions, box).
/// `*out` receives a handle for `steermd_simulation_free`. Velocities start at zero.
///
/// # Safety
/// `system_xml`, `pdb`: NUL-terminated; `options`: valid for its
/// `struct_size` bytes; `out`: valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_create_xml(
    system_xml: *const c_char,
    pdb: *const c_char,
    options: *const steermd_integrator_options,
    out: *mut *mut steermd_simulation,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let (xml, pdb) = unsafe { (c_str(system_xml, "system_xml")?, c_str(pdb, "pdb")?) };
        let input = SystemInput::Xml {
            xml: PathBuf::from(xml),
            pdb: PathBuf::from(pdb),
        };
        create(input, options, out)
    })
}

/// Create a simulation from an Amber prmtop and inpcrd/rst7 (velocities are
/// taken from the rst7 when present). `prmtop_options` may be NULL for the defaults.
///
/// # Safety
/// `prmtop`, `inpcrd`: NUL-terminated; `prmtop_options`: NULL or valid for
/// its `struct_size` bytes; `options`: valid for its `struct_size` bytes;
/// `out`: valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_create_prmtop(
    prmtop: *const c_char,
    inpcrd: *const c_char,
    prmtop_options: *const steermd_prmtop_options,
    options: *const steermd_integrator_options,
    out: *mut *mut steermd_simulation,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let (top, crd) = unsafe { (c_str(prmtop, "prmtop")?, c_str(inpcrd, "inpcrd")?) };
        let popts = match prmtop_options.is_null() {
            // SAFETY: caller contract above (valid for its `struct_size` bytes).
            false => to_prmtop_options(&unsafe {
                read_sized(
                    prmtop_options,
                    "steermd_prmtop_options",
                    PRMTOP_OPTIONS_MIN_SIZE,
                    prmtop_defaults(),
                )
            }?)?,
            true => PrmtopOptions {
                constraints: Constraints::HBonds,
                implicit_solvent: Some(ImplicitSolvent::Obc2),
                ..PrmtopOptions::default()
            },
        };
        let input = SystemInput::Prmtop {
            prmtop: PathBuf::from(top),
            inpcrd: PathBuf::from(crd),
            options: popts,
        };
        create(input, options, out)
    })
}

/// Borrow a simulation handle mutably (checked against the handle registry).
///
/// # Safety
/// `sim` must not be used or freed by another thread during the call.
unsafe fn handle<'a>(sim: *mut steermd_simulation) -> Result<&'a mut Simulation, CError> {
    // SAFETY: caller contract above.
    Ok(&mut unsafe { get_mut(sim, "sim") }?.sim)
}

/// Number of atoms, written to `*n_atoms`.
///
/// # Safety
/// `sim` a live handle; `n_atoms` valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_n_atoms(
    sim: *mut steermd_simulation,
    n_atoms: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { handle(sim) }?;
        // SAFETY: caller contract above.
        *unsafe { n_atoms.as_mut() }.ok_or_else(|| null("n_atoms"))? = s.positions().len();
        Ok(())
    })
}

fn copy_out(src: &[[f64; 3]], dst: *mut f64, len: usize, arg: &str) -> Result<(), CError> {
    // SAFETY: the public callers require `dst` valid for `len` writes.
    let out = unsafe { out_slice(dst, len, src.len() * 3, arg) }?;
    out.copy_from_slice(src.as_flattened());
    Ok(())
}

fn copy_in(n: usize, src: *const f64, len: usize, arg: &str) -> Result<Vec<[f64; 3]>, CError> {
    if src.is_null() {
        return Err(null(arg));
    }
    if len != 3 * n {
        return Err(Error::Shape(format!(
            "argument '{arg}' holds {len} values but {} are needed for {n} atoms",
            3 * n
        ))
        .into());
    }
    // SAFETY: the public callers require `src` valid for `len` reads.
    let flat = unsafe { in_slice(src, len, arg) }?;
    Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}

/// Copy positions (nm, `[atom][xyz]`, `3 * n_atoms` doubles) into `xyz`.
///
/// # Safety
/// `sim` a live handle; `xyz` valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_get_positions(
    sim: *mut steermd_simulation,
    xyz: *mut f64,
    len: usize,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| copy_out(unsafe { handle(sim) }?.positions(), xyz, len, "xyz"))
}

/// Set positions (nm, `3 * n_atoms` doubles); NaN/Inf are refused with the atom index.
///
/// # Safety
/// `sim` a live handle; `xyz` valid for `len` reads.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_set_positions(
    sim: *mut steermd_simulation,
    xyz: *const f64,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { handle(sim) }?;
        let p = copy_in(s.positions().len(), xyz, len, "xyz")?;
        Ok(s.set_positions(p)?)
    })
}

/// Copy velocities (nm/ps, `3 * n_atoms` doubles) into `v`.
///
/// # Safety
/// `sim` a live handle; `v` valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_get_velocities(
    sim: *mut steermd_simulation,
    v: *mut f64,
    len: usize,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| copy_out(unsafe { handle(sim) }?.velocities(), v, len, "v"))
}

/// Set velocities (nm/ps, `3 * n_atoms` doubles).
///
/// # Safety
/// `sim` a live handle; `v` valid for `len` reads.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_set_velocities(
    sim: *mut steermd_simulation,
    v: *const f64,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { handle(sim) }?;
        let v = copy_in(s.positions().len(), v, len, "v")?;
        Ok(s.set_velocities(v)?)
    })
}

/// Draw Maxwell–Boltzmann velocities at `temperature_k` (K) with `seed`.
///
/// # Safety
/// `sim` a live handle.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_set_velocities_to_temperature(
    sim: *mut steermd_simulation,
    temperature_k: f64,
    seed: u64,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| Ok(unsafe { handle(sim) }?.set_velocities_to_temperature(temperature_k, seed)?))
}

/// Current energies: potential and kinetic (kJ/mol) and the instantaneous
/// temperature (K). Any output pointer may be NULL.
///
/// # Safety
/// `sim` a live handle; non-NULL outputs valid for one write.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_energies(
    sim: *mut steermd_simulation,
    potential_kj_mol: *mut f64,
    kinetic_kj_mol: *mut f64,
    temperature_k: *mut f64,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let st = unsafe { handle(sim) }?.state()?;
        for (ptr, v) in [
            (potential_kj_mol, st.potential_energy),
            (kinetic_kj_mol, st.kinetic_energy),
            (temperature_k, st.temperature),
        ] {
            // SAFETY: caller contract above (NULL allowed).
            if let Some(p) = unsafe { ptr.as_mut() } {
                *p = v;
            }
        }
        Ok(())
    })
}

/// Potential energy of each force group (kJ/mol) into `energies` (`len` ≥ 32;
/// entry g is group g, 0 for empty groups).
///
/// # Safety
/// `sim` a live handle; `energies` valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_group_energies(
    sim: *mut steermd_simulation,
    energies: *mut f64,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let st = unsafe { handle(sim) }?.state()?;
        // SAFETY: caller contract above.
        let out = unsafe { out_slice(energies, len, MAX_FORCE_GROUPS, "energies") }?;
        out.copy_from_slice(&st.group_energies);
        Ok(())
    })
}

/// Forces (kJ/mol/nm, `3 * n_atoms` doubles) at the current positions.
///
/// # Safety
/// `sim` a live handle; `forces` valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_get_forces(
    sim: *mut steermd_simulation,
    forces: *mut f64,
    len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let f = unsafe { handle(sim) }?.forces()?;
        copy_out(&f.forces, forces, len, "forces")
    })
}

/// Minimize the energy until the RMS force is below `tolerance`
/// (kJ/mol/nm) or `max_iterations` (0 = unlimited) is reached; the final
/// potential energy (kJ/mol) goes to `*final_energy` unless it is NULL.
///
/// # Safety
/// `sim` a live handle; `final_energy` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_minimize(
    sim: *mut steermd_simulation,
    tolerance: f64,
    max_iterations: usize,
    final_energy: *mut f64,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let report = unsafe { handle(sim) }?.minimize(tolerance, max_iterations)?;
        // SAFETY: caller contract above.
        if let Some(e) = unsafe { final_energy.as_mut() } {
            *e = report.final_energy;
        }
        Ok(())
    })
}

/// Advance `n_steps` steps, calling reporters. A blow-up returns
/// `STEERMD_ERR_UNSTABLE`; the message names the step.
///
/// # Safety
/// `sim` a live handle.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_step(
    sim: *mut steermd_simulation,
    n_steps: u64,
) -> steermd_status {
    // SAFETY: caller contract above.
    guard(|| Ok(unsafe { handle(sim) }?.step(n_steps)?))
}

/// Steps taken so far and simulated time (ps); either pointer may be NULL.
///
/// # Safety
/// `sim` a live handle; non-NULL outputs valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_progress(
    sim: *mut steermd_simulation,
    step: *mut u64,
    time_ps: *mut f64,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { handle(sim) }?;
        // SAFETY: caller contract above (NULL allowed).
        if let Some(p) = unsafe { step.as_mut() } {
            *p = s.step_count();
        }
        // SAFETY: caller contract above (NULL allowed).
        if let Some(p) = unsafe { time_ps.as_mut() } {
            *p = s.time();
        }
        Ok(())
    })
}

/// Write a DCD frame (Å on disk) every `interval` steps to `path`.
///
/// # Safety
/// `sim` a live handle; `path` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_add_dcd_reporter(
    sim: *mut steermd_simulation,
    path: *const c_char,
    interval: u64,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let s = unsafe { handle(sim) }?;
        // SAFETY: caller contract above.
        let path = unsafe { c_str(path, "path") }?;
        s.add_reporter(Box::new(DcdReporter::new(Path::new(path), interval)?));
        Ok(())
    })
}

/// Write a checkpoint (positions, velocities, box, step, integrator and
/// RNG state) to `path`, atomically.
///
/// # Safety
/// `sim` a live handle; `path` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_save_checkpoint(
    sim: *mut steermd_simulation,
    path: *const c_char,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let (s, path) = unsafe { (handle(sim)?, c_str(path, "path")?) };
        Ok(s.save_checkpoint(path)?)
    })
}

/// Restore a checkpoint written for the same system; continuing is then
/// bitwise identical to an uninterrupted run.
///
/// # Safety
/// `sim` a live handle; `path` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_load_checkpoint(
    sim: *mut steermd_simulation,
    path: *const c_char,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let (s, path) = unsafe { (handle(sim)?, c_str(path, "path")?) };
        Ok(s.load_checkpoint(path)?)
    })
}

/// Release a simulation, flushing its reporters. NULL is ignored; a pointer
/// that is not a live simulation handle (e.g. one already freed) is left alone
/// and reported through `steermd_last_error_message`, as is a failed flush
/// (the simulation is released all the same).
///
/// # Safety
/// `sim` must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn steermd_simulation_free(sim: *mut steermd_simulation) {
    let _ = guard(|| {
        // SAFETY: caller contract above.
        match unsafe { release(sim, "sim") }? {
            Some(mut h) => Ok(h.sim.finish_reporters()?),
            None => Ok(()),
        }
    });
}
