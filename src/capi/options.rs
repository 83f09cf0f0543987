//! C ABI: the option structs of simulation creation and their selectors.
//!
//! Each option struct starts with `size_t struct_size`, the size in bytes
//! of the struct the caller was compiled with, written by its
//! `steermd_*_options_default` initializer. A size below the first sized
//! version's is refused; a larger one (a caller compiled against a newer
//! header) is read up to the fields this library knows. Selectors are C
//! enums (`steermd_integrator_kind`, ...) but are stored as `int32_t` in the
//! structs: a C caller may store any integer there, and an out-of-range
//! value in a Rust enum would be undefined behaviour, so each value is
//! checked and refused with a message instead.

use std::mem::size_of;
use std::ptr;

use super::status::{guard, null, steermd_status, CError};
use crate::backend::{Device, Precision};
use crate::error::Error;
use crate::forcefield::prmtop::{Constraints, ImplicitSolvent, PrmtopOptions};
use crate::forcefield::NonbondedMethod;
use crate::integrate::{Integrator, SimulationOptions};

/// Integrator of a simulation (`steermd_integrator_options.kind`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_integrator_kind {
    /// OpenMM's LangevinMiddleIntegrator (NVT at `temperature_k`, K).
    STEERMD_LANGEVIN_MIDDLE = 0,
    /// Velocity Verlet (NVE).
    STEERMD_VELOCITY_VERLET = 1,
}

/// Nonbonded method of a prmtop system (`steermd_prmtop_options.nonbonded_method`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_nonbonded_method {
    /// All pairs, no cutoff.
    STEERMD_NO_CUTOFF = 0,
    /// Reaction-field cutoff (`cutoff_nm`, nm), no periodic box.
    STEERMD_CUTOFF_NON_PERIODIC = 1,
    /// Reaction-field cutoff (`cutoff_nm`, nm) with the minimum image in the periodic box.
    STEERMD_CUTOFF_PERIODIC = 2,
}

/// Bond constraints of a prmtop system (`steermd_prmtop_options.constraints`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_constraints {
    /// No constraints.
    STEERMD_CONSTRAINTS_NONE = 0,
    /// Bonds to hydrogen fixed at their lengths (nm).
    STEERMD_CONSTRAINTS_HBONDS = 1,
    /// All bonds fixed at their lengths (nm).
    STEERMD_CONSTRAINTS_ALL_BONDS = 2,
}

/// Implicit solvent of a prmtop system (`steermd_prmtop_options.implicit_solvent`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_implicit_solvent {
    /// Vacuum.
    STEERMD_IMPLICIT_SOLVENT_NONE = 0,
    /// OBC2 generalized Born with the prmtop radii (kJ/mol solvation energy).
    STEERMD_IMPLICIT_SOLVENT_OBC2 = 1,
}

/// Compute device of a simulation (`steermd_integrator_options.device_kind`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_device_kind {
    /// Rayon-parallel CPU kernels, f64.
    STEERMD_DEVICE_CPU = 0,
    /// Single-threaded reference kernels, f64.
    STEERMD_DEVICE_REFERENCE = 1,
    /// An OpenCL device (library built with the `opencl` feature).
    STEERMD_DEVICE_OPENCL = 2,
    /// An NVIDIA GPU (library built with the `cuda` feature).
    STEERMD_DEVICE_CUDA = 3,
    /// An AMD GPU (library built with the `hip` feature).
    STEERMD_DEVICE_HIP = 4,
}

/// Precision of GPU force kernels (`steermd_integrator_options.precision`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_precision {
    /// f32 pair math, f64 positions, accumulation and integration.
    STEERMD_PRECISION_MIXED = 0,
    /// f64 throughout.
    STEERMD_PRECISION_DOUBLE = 1,
}

/// Special values of `steermd_integrator_options.device_ordinal` (any
/// value >= 0 names that device).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_device_ordinal {
    /// GPU `local_rank mod gpus_per_node`, the local rank from the MPI
    /// launcher's environment (Open MPI, MPICH, MVAPICH, Slurm), 0 without
    /// one.
    STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK = -1,
}

/// How a simulation integrates; fill with `steermd_integrator_options_default`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct steermd_integrator_options {
    /// Size of this struct in bytes as the caller knows it (`sizeof`), set
    /// by `steermd_integrator_options_default`.
    pub struct_size: usize,
    /// A `steermd_integrator_kind` (default `STEERMD_LANGEVIN_MIDDLE`).
    pub kind: i32,
    /// Time step, ps (default 0.002).
    pub dt_ps: f64,
    /// Bath temperature, K (Langevin; default 300).
    pub temperature_k: f64,
    /// Friction coefficient, 1/ps (Langevin; default 1).
    pub friction_per_ps: f64,
    /// Seed of the Langevin noise (default 1).
    pub seed: u64,
    /// Relative constraint tolerance (default 1e-5).
    pub constraint_tolerance: f64,
    /// A `steermd_device_kind` (default `STEERMD_DEVICE_CPU`). Added in
    /// the second sized version; an older caller's struct gets the default.
    pub device_kind: i32,
    /// Device ordinal of a GPU kind, or `STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK`
    /// (default 0).
    pub device_ordinal: i32,
    /// A `steermd_precision` for GPU devices (default
    /// `STEERMD_PRECISION_MIXED`; CPU devices are always f64).
    pub precision: i32,
}

/// Options for building a system from a prmtop (OpenMM's `createSystem`
/// arguments); fill with `steermd_prmtop_options_default`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct steermd_prmtop_options {
    /// Size of this struct in bytes as the caller knows it (`sizeof`), set
    /// by `steermd_prmtop_options_default`.
    pub struct_size: usize,
    /// A `steermd_nonbonded_method` (default `STEERMD_NO_CUTOFF`).
    pub nonbonded_method: i32,
    /// Nonbonded cutoff, nm (default 1.0).
    pub cutoff_nm: f64,
    /// A `steermd_constraints` (default `STEERMD_CONSTRAINTS_HBONDS`).
    pub constraints: i32,
    /// A `steermd_implicit_solvent` (default `STEERMD_IMPLICIT_SOLVENT_OBC2`).
    pub implicit_solvent: i32,
}

/// The smallest `struct_size` accepted: the size of the first sized version
/// of each struct (ABI 2). Later versions append fields and keep these; the
/// integrator options' second version appended the device fields.
pub(crate) const INTEGRATOR_OPTIONS_MIN_SIZE: usize =
    std::mem::offset_of!(steermd_integrator_options, device_kind);
/// See [`INTEGRATOR_OPTIONS_MIN_SIZE`].
pub(crate) const PRMTOP_OPTIONS_MIN_SIZE: usize = size_of::<steermd_prmtop_options>();

/// Write `value` as the first `struct_size` bytes of `out` (the rest of a
/// larger caller struct zeroed) with `value.struct_size = struct_size`.
///
/// # Safety
/// `out` NULL or valid for `struct_size` bytes of writes.
unsafe fn write_default<T: Copy>(
    out: *mut T,
    struct_size: usize,
    name: &str,
    set_size: impl FnOnce(&mut T, usize),
    mut value: T,
) -> Result<(), CError> {
    if out.is_null() {
        return Err(null("out"));
    }
    let known = size_of::<T>();
    if struct_size < known {
        return Err(too_small(name, struct_size, known));
    }
    set_size(&mut value, struct_size);
    // SAFETY: `out` is valid for `struct_size >= size_of::<T>()` bytes (caller contract).
    unsafe {
        ptr::write_bytes(out.cast::<u8>().add(known), 0, struct_size - known);
        out.write(value);
    }
    Ok(())
}

fn too_small(name: &str, got: usize, min: usize) -> CError {
    Error::InvalidArgument(format!(
        "{name}.struct_size is {got} bytes, below the {min} bytes of this ABI's struct: \
         initialise it with {name}_default(&opts, sizeof opts)"
    ))
    .into()
}

/// Read a caller's option struct: its `struct_size` first, then the fields
/// both sides know. A smaller (older) struct keeps `defaults` for the
/// fields it lacks; a larger (newer) struct's extra fields are ignored.
///
/// # Safety
/// `p` non-NULL and valid for `struct_size` bytes of reads, its first field
/// a `size_t struct_size`; `T` a `repr(C)` struct of plain fields.
pub(crate) unsafe fn read_sized<T: Copy>(
    p: *const T,
    name: &str,
    min: usize,
    defaults: T,
) -> Result<T, CError> {
    // SAFETY: every option struct begins with a `usize` (caller contract).
    let size = unsafe { p.cast::<usize>().read() };
    if size < min {
        return Err(too_small(name, size, min));
    }
    let mut value = defaults;
    let n = size.min(size_of::<T>());
    // SAFETY: `p` is valid for `size >= n` bytes of reads, `value` for
    // `size_of::<T>() >= n` bytes of writes; they do not overlap. Every
    // field is a plain integer or float, so any bytes are a valid value.
    unsafe {
        ptr::copy_nonoverlapping(p.cast::<u8>(), (&mut value as *mut T).cast::<u8>(), n);
    }
    Ok(value)
}

/// The default integrator options (`struct_size` 0).
pub(crate) fn integrator_defaults() -> steermd_integrator_options {
    steermd_integrator_options {
        struct_size: 0,
        kind: steermd_integrator_kind::STEERMD_LANGEVIN_MIDDLE as i32,
        dt_ps: 0.002,
        temperature_k: 300.0,
        friction_per_ps: 1.0,
        seed: 1,
        constraint_tolerance: 1e-5,
        device_kind: steermd_device_kind::STEERMD_DEVICE_CPU as i32,
        device_ordinal: 0,
        precision: steermd_precision::STEERMD_PRECISION_MIXED as i32,
    }
}

/// The default prmtop options (`struct_size` 0).
pub(crate) fn prmtop_defaults() -> steermd_prmtop_options {
    steermd_prmtop_options {
        struct_size: 0,
        nonbonded_method: steermd_nonbonded_method::STEERMD_NO_CUTOFF as i32,
        cutoff_nm: 1.0,
        constraints: steermd_constraints::STEERMD_CONSTRAINTS_HBONDS as i32,
        implicit_solvent: steermd_implicit_solvent::STEERMD_IMPLICIT_SOLVENT_OBC2 as i32,
    }
}

/// Write the default integrator options (Langevin, 2 fs, 300 K, 1/ps, seed
/// 1, tolerance 1e-5, CPU device, mixed precision on GPUs) to `*out`, a struct of `struct_size` bytes (pass
/// `sizeof *out`); `out->struct_size` is set to it.
///
/// # Safety
/// `out` must be NULL or valid for `struct_size` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_integrator_options_default(
    out: *mut steermd_integrator_options,
    struct_size: usize,
) -> steermd_status {
    let value = integrator_defaults();
    let name = "steermd_integrator_options";
    // SAFETY: caller contract above.
    guard(|| unsafe { write_default(out, struct_size, name, |v, s| v.struct_size = s, value) })
}

/// Write the default prmtop options (NoCutoff with a 1 nm cutoff value,
/// H-bond constraints, OBC2) to `*out`, a struct of `struct_size` bytes
/// (pass `sizeof *out`); `out->struct_size` is set to it.
///
/// # Safety
/// `out` must be NULL or valid for `struct_size` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_prmtop_options_default(
    out: *mut steermd_prmtop_options,
    struct_size: usize,
) -> steermd_status {
    let value = prmtop_defaults();
    let name = "steermd_prmtop_options";
    // SAFETY: caller contract above.
    guard(|| unsafe { write_default(out, struct_size, name, |v, s| v.struct_size = s, value) })
}

fn invalid(field: &str, value: i32, expected: &str) -> Error {
    Error::InvalidArgument(format!("{field} {value} (expected {expected})"))
}

pub(crate) fn integrator_options(
    o: &steermd_integrator_options,
) -> Result<SimulationOptions, Error> {
    use steermd_integrator_kind::*;
    let integrator = match o.kind {
        k if k == STEERMD_LANGEVIN_MIDDLE as i32 => Integrator::LangevinMiddle {
            dt: o.dt_ps,
            temperature: o.temperature_k,
            friction: o.friction_per_ps,
        },
        k if k == STEERMD_VELOCITY_VERLET as i32 => Integrator::VelocityVerlet { dt: o.dt_ps },
        k => {
            let expected = "STEERMD_LANGEVIN_MIDDLE = 0 or STEERMD_VELOCITY_VERLET = 1";
            return Err(invalid("integrator kind", k, expected));
        }
    };
    let mut opts = SimulationOptions::new(integrator);
    opts.seed = o.seed;
    opts.constraint_tolerance = o.constraint_tolerance;
    opts.device = device_of(o.device_kind, o.device_ordinal)?;
    opts.precision = match o.precision {
        p if p == steermd_precision::STEERMD_PRECISION_MIXED as i32 => Precision::Mixed,
        p if p == steermd_precision::STEERMD_PRECISION_DOUBLE as i32 => Precision::Double,
        p => return Err(invalid("precision", p, "a steermd_precision")),
    };
    Ok(opts)
}

/// The device of `kind` and `ordinal` (see the option fields).
fn device_of(kind: i32, ordinal: i32) -> Result<Device, Error> {
    use steermd_device_kind::*;
    let name = match kind {
        k if k == STEERMD_DEVICE_CPU as i32 => return Ok(Device::Cpu),
        k if k == STEERMD_DEVICE_REFERENCE as i32 => return Ok(Device::Reference),
        k if k == STEERMD_DEVICE_OPENCL as i32 => "opencl",
        k if k == STEERMD_DEVICE_CUDA as i32 => "cuda",
        k if k == STEERMD_DEVICE_HIP as i32 => "hip",
        k => return Err(invalid("device_kind", k, "a steermd_device_kind")),
    };
    match ordinal {
        n if n == steermd_device_ordinal::STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK as i32 => {
            Device::for_local_rank(name, crate::drive::comm::local_rank_from_env().unwrap_or(0))
        }
        n if n >= 0 => Device::parse(&format!("{name}:{n}")),
        n => Err(invalid(
            "device_ordinal",
            n,
            ">= 0 or STEERMD_DEVICE_ORDINAL_BY_LOCAL_RANK = -1",
        )),
    }
}

pub(crate) fn to_prmtop_options(o: &steermd_prmtop_options) -> Result<PrmtopOptions, Error> {
    use steermd_constraints::*;
    use steermd_implicit_solvent::*;
    use steermd_nonbonded_method::*;
    let method = match o.nonbonded_method {
        m if m == STEERMD_NO_CUTOFF as i32 => NonbondedMethod::NoCutoff,
        m if m == STEERMD_CUTOFF_NON_PERIODIC as i32 => NonbondedMethod::CutoffNonPeriodic,
        m if m == STEERMD_CUTOFF_PERIODIC as i32 => NonbondedMethod::CutoffPeriodic,
        m => return Err(invalid("nonbonded_method", m, "a steermd_nonbonded_method")),
    };
    let constraints = match o.constraints {
        c if c == STEERMD_CONSTRAINTS_NONE as i32 => Constraints::None,
        c if c == STEERMD_CONSTRAINTS_HBONDS as i32 => Constraints::HBonds,
        c if c == STEERMD_CONSTRAINTS_ALL_BONDS as i32 => Constraints::AllBonds,
        c => return Err(invalid("constraints", c, "a steermd_constraints")),
    };
    let implicit_solvent = match o.implicit_solvent {
        s if s == STEERMD_IMPLICIT_SOLVENT_NONE as i32 => None,
        s if s == STEERMD_IMPLICIT_SOLVENT_OBC2 as i32 => Some(ImplicitSolvent::Obc2),
        s => return Err(invalid("implicit_solvent", s, "a steermd_implicit_solvent")),
    };
    Ok(PrmtopOptions {
        nonbonded_method: method,
        nonbonded_cutoff: o.cutoff_nm,
        constraints,
        implicit_solvent,
        ..PrmtopOptions::default()
    })
}
