//! C ABI: the steering loop for codes that run their own dynamics.
//!
//! A `steermd_steering` is created collectively on every rank of a
//! communicator (or in one process), each rank owning a contiguous block of
//! the ensemble's simulations. The owner hands over frames
//! (`steermd_steering_add_frame`, positions nm, velocities nm/ps, box nm),
//! marks blow-ups (`steermd_steering_mark_failed`); every rank then calls
//! `steermd_steering_iterate` (collective: analysis, agent step, restart
//! plan) and asks, per local simulation, where to restart from
//! (`steermd_steering_restart`). Restart choices are those of
//! `steermd drive` for the same frames, whatever the number of ranks.

use std::ffi::c_char;
use std::ptr;

use super::handles::{get, get_mut, register, release, Handle};
use super::status::{c_str, guard, in_slice, null, out_slice, steermd_status, CError};
use crate::backend::Device;
use crate::drive::steering::{CommRef, Steering, SteeringConfig, SteeringIteration};
use crate::drive::SingleProcess;

type V3 = [f64; 3];

/// The steering state of one rank.
pub struct steermd_steering {
    pub(super) steering: Steering<'static>,
}

impl Handle for steermd_steering {
    const NAME: &'static str = "steermd_steering";
}

/// Where one local simulation restarts from after an iteration.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct steermd_restart_info {
    /// 1 when the simulation is restarted this iteration, else 0 (then the
    /// other fields are unset and it simply continues).
    pub restarted: i32,
    /// 1 when it restarts from its own starting structure (a blow-up before
    /// any good frame): the caller holds those positions, none are written.
    pub from_start: i32,
    /// 1 when the frame's velocities should be kept (they were written),
    /// 0 when new ones should be drawn at the bath temperature.
    pub copy_velocities: i32,
    /// 1 when the frame had a box (it was written).
    pub has_box: i32,
    /// Frame id (`(iteration · M + sim) · F + k`), -1 from the start.
    pub frame_id: i64,
    /// The simulation that produced the frame.
    pub source_simulation: i64,
    /// The MD step of the frame as handed over, -1 from the start.
    pub source_step: i64,
    /// RMSD of the frame to the reference, nm (NaN from the start).
    pub rmsd: f64,
}

/// Whether a steering call involves every rank. Its failures say so (as
/// LAMMPS's `lammps_get_last_error_message` tells collective from local
/// errors): a collective call fails on every rank together, a local one
/// only on the rank that made it.
#[derive(Clone, Copy)]
pub(super) enum Scope {
    Collective,
    Local,
}

/// `body`, with its error message prefixed by the call, its scope and, when
/// `steering` is a live handle, this rank.
pub(super) fn scoped(
    call: &str,
    scope: Scope,
    steering: *const steermd_steering,
    body: impl FnOnce() -> Result<(), CError>,
) -> Result<(), CError> {
    body().map_err(|CError(status, message)| {
        // SAFETY: `get` checks the pointer in the handle registry before
        // reading it; NULL or a dead handle just gives no rank.
        let comm = unsafe { get(steering, "steering") }
            .ok()
            .map(|s| s.steering.comm());
        let at = comm.map_or(String::new(), |c| {
            format!(" on rank {} of {}", c.rank(), c.size())
        });
        let message = match scope {
            Scope::Collective => {
                format!("collective call {call}{at} failed on every rank: {message}")
            }
            Scope::Local => format!("local call {call}{at} failed on this rank only: {message}"),
        };
        CError(status, message)
    })
}

/// `guard` for a local steering call, its failure worded as such (see
/// [`scoped`]).
pub(super) fn local(
    call: &str,
    steering: *const steermd_steering,
    body: impl FnOnce() -> Result<(), CError>,
) -> steermd_status {
    guard(|| scoped(call, Scope::Local, steering, body))
}

fn create(
    config: *const c_char,
    comm: CommRef<'static>,
    n_local: i64,
    out: *mut *mut steermd_steering,
) -> Result<(), CError> {
    if out.is_null() {
        return Err(null("out"));
    }
    // SAFETY: the public callers require `config` NULL or NUL-terminated.
    let text = unsafe { c_str(config, "config") }?;
    let n_local = usize::try_from(n_local).map_err(|_| {
        CError(
            steermd_status::STEERMD_ERR_INVALID_ARGUMENT,
            format!("n_local = {n_local} is negative"),
        )
    })?;
    let cfg = SteeringConfig::from_toml_or_path(text);
    let steering = Steering::from_config_collective(comm, cfg, n_local, Device::Cpu)?;
    // SAFETY: `out` is non-null and writable per the public callers' contract.
    unsafe { *out = register(steermd_steering { steering }) };
    Ok(())
}

/// Create the steering in one process that owns all `n_simulations`.
/// `config` is a campaign TOML file's path, or TOML text (its `[analysis]`
/// and `[agent]` sections, and `md.seed`, are used). `*out` receives a
/// handle for `steermd_steering_free`.
///
/// # Safety
/// `config`: NUL-terminated; `out`: valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_create(
    config: *const c_char,
    n_simulations: i64,
    out: *mut *mut steermd_steering,
) -> steermd_status {
    local("steermd_steering_create", ptr::null(), || {
        create(
            config,
            CommRef::Borrowed(&SingleProcess),
            n_simulations,
            out,
        )
    })
}

/// Create the steering collectively on every rank of the MPI communicator
/// `fortran_comm` (its Fortran handle: `MPI_Comm_c2f(comm)` in C, the
/// integer communicator or `comm%MPI_VAL` in Fortran); this rank owns
/// `n_local` simulations (0 allowed), ranks in order. steermd duplicates the
/// communicator; free the handle before `MPI_Finalize`. MPI must be
/// initialised by the caller. In a build without the `mpi` feature this
/// returns `STEERMD_ERR_BACKEND`. Errors are collective: when one rank
/// fails, every rank returns an error.
///
/// # Safety
/// `config`: NUL-terminated; `out`: valid; `fortran_comm` a communicator
/// handle of this process's MPI.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_create_mpi(
    config: *const c_char,
    fortran_comm: i32,
    n_local: i64,
    out: *mut *mut steermd_steering,
) -> steermd_status {
    guard(|| {
        scoped(
            "steermd_steering_create_mpi",
            Scope::Collective,
            ptr::null(),
            || {
                if out.is_null() {
                    return Err(null("out"));
                }
                // SAFETY: caller contract above.
                unsafe { c_str(config, "config") }?;
                // SAFETY: caller contract above.
                let comm = unsafe { mpi_comm::duplicate(fortran_comm) }?;
                create(config, CommRef::Owned(comm), n_local, out)
            },
        )
    })
}

#[cfg(feature = "mpi")]
mod mpi_comm {
    use mpi::ffi;
    use mpi::raw::FromRaw;
    use mpi::topology::SimpleCommunicator;

    use super::super::status::{steermd_status, CError};
    use crate::drive::comm::mpi::MpiGroup;
    use crate::drive::Communicator;

    fn refuse(message: String) -> CError {
        CError(steermd_status::STEERMD_ERR_INVALID_ARGUMENT, message)
    }

    /// A duplicate of the communicator with Fortran handle `f`.
    ///
    /// # Safety
    /// `f` must be a communicator handle of this process's MPI.
    pub(super) unsafe fn duplicate(f: i32) -> Result<Box<dyn Communicator>, CError> {
        if !mpi::environment::is_initialized() || mpi::environment::is_finalized() {
            return Err(refuse(
                "MPI is not initialised (or already finalised): call MPI_Init first".into(),
            ));
        }
        // SAFETY: MPI is initialised; `f` is a communicator handle per the
        // caller's contract; MPI_Comm_test_inter and MPI_Comm_dup only read
        // it, and `dup` is written by MPI_Comm_dup before it is used.
        unsafe {
            let c = ffi::RSMPI_Comm_f2c(f);
            if c == ffi::RSMPI_COMM_NULL {
                return Err(refuse("fortran_comm is MPI_COMM_NULL".into()));
            }
            let mut inter = 0;
            ffi::MPI_Comm_test_inter(c, &mut inter);
            if inter != 0 {
                return Err(refuse("fortran_comm is an inter-communicator".into()));
            }
            let mut dup = ffi::RSMPI_COMM_NULL;
            ffi::MPI_Comm_dup(c, &mut dup);
            // A fresh duplicate (never WORLD or SELF): freed on drop.
            Ok(Box::new(MpiGroup::new(SimpleCommunicator::from_raw(dup))))
        }
    }
}

#[cfg(not(feature = "mpi"))]
mod mpi_comm {
    use super::super::status::{steermd_status, CError};
    use crate::drive::Communicator;

    /// Without the `mpi` feature: always an error.
    pub(super) unsafe fn duplicate(_f: i32) -> Result<Box<dyn Communicator>, CError> {
        Err(CError(
            steermd_status::STEERMD_ERR_BACKEND,
            "this libsteermd was built without MPI (cargo feature `mpi`)".into(),
        ))
    }
}

fn v3s<T: Copy + Into<f64>>(values: &[T]) -> Vec<V3> {
    values
        .chunks_exact(3)
        .map(|c| [c[0].into(), c[1].into(), c[2].into()])
        .collect()
}

/// The body of both `add_frame` entry points, for f64 or f32 arrays.
///
/// # Safety
/// As `steermd_steering_add_frame`.
unsafe fn add_frame<T: Copy + Into<f64>>(
    steering: *mut steermd_steering,
    (sim, step): (i64, i64),
    positions: *const T,
    n_atoms: usize,
    velocities: *const T,
    box_vectors: *const T,
) -> Result<(), CError> {
    // SAFETY: caller contract above.
    let s = unsafe { get_mut(steering, "steering") }?;
    let len = n_atoms.checked_mul(3).ok_or_else(|| {
        CError(
            steermd_status::STEERMD_ERR_SHAPE,
            format!("n_atoms = {n_atoms} is too large"),
        )
    })?;
    // SAFETY: caller contract above.
    let p = v3s(unsafe { in_slice(positions, len, "positions") }?);
    let v = match velocities.is_null() {
        true => None,
        // SAFETY: caller contract above.
        false => Some(v3s(unsafe { in_slice(velocities, len, "velocities") }?)),
    };
    let b = match box_vectors.is_null() {
        true => None,
        // SAFETY: caller contract above.
        false => {
            let b = unsafe { in_slice(box_vectors, 9, "box_vectors") }?;
            Some(std::array::from_fn(|k| b[k].into()))
        }
    };
    let (sim, step) = (index(sim, "sim")?, index(step, "step")?);
    s.steering.add_frame(sim, step as u64, p, b, v)?;
    Ok(())
}

/// Hand over one frame of local simulation `sim` after MD step `step`:
/// `positions` holds `3 · n_atoms` values (nm), `velocities` NULL or
/// `3 · n_atoms` values (nm/ps, kept for a restart), `box_vectors` NULL or
/// 9 values (nm, row-major box vectors). Local: no other rank takes part.
///
/// # Safety
/// `steering`: a live handle; the arrays NULL or valid for the lengths above.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_add_frame(
    steering: *mut steermd_steering,
    sim: i64,
    step: i64,
    positions: *const f64,
    n_atoms: usize,
    velocities: *const f64,
    box_vectors: *const f64,
) -> steermd_status {
    // SAFETY: the caller contract is `add_frame`'s.
    local("steermd_steering_add_frame", steering, || unsafe {
        add_frame(
            steering,
            (sim, step),
            positions,
            n_atoms,
            velocities,
            box_vectors,
        )
    })
}

/// `steermd_steering_add_frame` for single-precision arrays (nm, nm/ps,
/// nm), as codes that keep f32 coordinates (and DCD/XTC frames) hold them;
/// the values are widened to f64 exactly.
///
/// # Safety
/// As `steermd_steering_add_frame`.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_add_frame_f32(
    steering: *mut steermd_steering,
    sim: i64,
    step: i64,
    positions: *const f32,
    n_atoms: usize,
    velocities: *const f32,
    box_vectors: *const f32,
) -> steermd_status {
    // SAFETY: the caller contract is `add_frame`'s.
    local("steermd_steering_add_frame_f32", steering, || unsafe {
        add_frame(
            steering,
            (sim, step),
            positions,
            n_atoms,
            velocities,
            box_vectors,
        )
    })
}

/// The last iteration's results, or an error before the first iterate.
pub(super) fn last_iteration(s: &steermd_steering) -> Result<&SteeringIteration, CError> {
    s.steering.last().ok_or_else(|| {
        CError(
            steermd_status::STEERMD_ERR_INVALID_ARGUMENT,
            "no iteration yet: call steermd_steering_iterate first".into(),
        )
    })
}

fn index(v: i64, arg: &str) -> Result<usize, CError> {
    usize::try_from(v).map_err(|_| {
        CError(
            steermd_status::STEERMD_ERR_INVALID_ARGUMENT,
            format!("{arg} = {v} is negative"),
        )
    })
}

/// Record that local simulation `sim` blew up this iteration: it restarts
/// from its latest frame in the window (or its start); `message` (may be
/// NULL) is reported among the iteration's failures. Local.
///
/// # Safety
/// `steering`: a live handle; `message`: NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_mark_failed(
    steering: *mut steermd_steering,
    sim: i64,
    message: *const c_char,
) -> steermd_status {
    local("steermd_steering_mark_failed", steering, || {
        // SAFETY: caller contract above.
        let s = unsafe { get_mut(steering, "steering") }?;
        let text = match message.is_null() {
            true => "blew up",
            // SAFETY: caller contract above.
            false => unsafe { c_str(message, "message") }?,
        };
        s.steering.mark_failed(index(sim, "sim")?, text)?;
        Ok(())
    })
}

/// One iteration, collectively on every rank: analyse the frames handed
/// over, run the agent step over the window and plan the restarts (the
/// restart states are moved from their owning ranks). `*n_restarts`
/// (may be NULL) receives how many simulations of the whole ensemble
/// restart.
///
/// # Safety
/// `steering`: a live handle; `n_restarts`: NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_iterate(
    steering: *mut steermd_steering,
    n_restarts: *mut i64,
) -> steermd_status {
    guard(|| {
        scoped(
            "steermd_steering_iterate",
            Scope::Collective,
            steering,
            || {
                // SAFETY: caller contract above.
                let s = unsafe { get_mut(steering, "steering") }?;
                let r = s.steering.iterate()?;
                if !n_restarts.is_null() {
                    // SAFETY: non-null and writable per the caller contract.
                    unsafe { *n_restarts = r.restarts.len() as i64 };
                }
                Ok(())
            },
        )
    })
}

/// Where local simulation `sim` restarts from after the last iterate:
/// `*info` is filled; when it restarts from a frame, its positions (nm)
/// go to `positions` (`len` ≥ 3 · atoms), its velocities (nm/ps) to
/// `velocities` when `info->copy_velocities` (NULL allowed otherwise), its
/// box (nm) to `box_vectors` (9 values, may be NULL) when it had one.
///
/// # Safety
/// `steering`: a live handle; `info`: valid; the arrays NULL or valid for
/// `len` (`box_vectors`: 9) values.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_restart(
    steering: *const steermd_steering,
    sim: i64,
    info: *mut steermd_restart_info,
    positions: *mut f64,
    velocities: *mut f64,
    len: usize,
    box_vectors: *mut f64,
) -> steermd_status {
    local("steermd_steering_restart", steering, || {
        // SAFETY: caller contract above.
        let s = unsafe { get(steering, "steering") }?;
        if info.is_null() {
            return Err(null("info"));
        }
        let sim = index(sim, "sim")?;
        let mine = s.steering.local_simulations();
        let last = last_iteration(s)?;
        if !mine.contains(&sim) {
            return Err(CError(
                steermd_status::STEERMD_ERR_INVALID_ARGUMENT,
                format!("simulation {sim} is not owned by this rank (it owns {mine:?})"),
            ));
        }
        let mut out = steermd_restart_info::default();
        if let Some(from) = &last.local[sim - mine.start] {
            out = steermd_restart_info {
                restarted: 1,
                from_start: i32::from(from.frame_id.is_none()),
                copy_velocities: i32::from(from.copy_velocities),
                has_box: i32::from(from.box_vectors.is_some()),
                frame_id: from.frame_id.map_or(-1, |id| id as i64),
                source_simulation: from.source_simulation as i64,
                source_step: from.source_step.map_or(-1, |st| st as i64),
                rmsd: f64::from(from.rmsd),
            };
            let flat = |v: &[V3]| v.iter().flatten().copied().collect::<Vec<f64>>();
            let p = flat(&from.positions);
            let v = flat(&from.velocities);
            // Every buffer is checked before anything is written.
            // SAFETY (the three borrows): caller contract above.
            let p_out = match from.frame_id {
                Some(_) => Some(unsafe { out_slice(positions, len, p.len(), "positions") }?),
                None => None,
            };
            let v_out = match from.copy_velocities {
                true => Some(unsafe { out_slice(velocities, len, v.len(), "velocities") }?),
                false => None,
            };
            let b_out = match (from.box_vectors, box_vectors.is_null()) {
                (Some(b), false) => {
                    Some((b, unsafe { out_slice(box_vectors, 9, 9, "box_vectors") }?))
                }
                _ => None,
            };
            if let Some(o) = p_out {
                o.copy_from_slice(&p);
            }
            if let Some(o) = v_out {
                o.copy_from_slice(&v);
            }
            if let Some((b, o)) = b_out {
                o.copy_from_slice(&b);
            }
        }
        // SAFETY: non-null and writable per the caller contract.
        unsafe { *info = out };
        Ok(())
    })
}

/// The simulations this rank owns: ids `*first .. *first + *count`.
///
/// # Safety
/// `steering`: a live handle; `first`, `count`: valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_local_simulations(
    steering: *const steermd_steering,
    first: *mut i64,
    count: *mut i64,
) -> steermd_status {
    local("steermd_steering_local_simulations", steering, || {
        // SAFETY: caller contract above.
        let s = unsafe { get(steering, "steering") }?;
        if first.is_null() || count.is_null() {
            return Err(null(if first.is_null() { "first" } else { "count" }));
        }
        let r = s.steering.local_simulations();
        // SAFETY: non-null and writable per the caller contract.
        unsafe {
            *first = r.start as i64;
            *count = r.len() as i64;
        }
        Ok(())
    })
}

/// Release a steering handle (its duplicated MPI communicator included;
/// call before `MPI_Finalize`). NULL is ignored; a pointer that is not a
/// live steering handle is left alone and reported through
/// `steermd_last_error_message`. Local.
///
/// # Safety
/// `steering` must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn steermd_steering_free(steering: *mut steermd_steering) {
    let _ = guard(|| {
        // SAFETY: caller contract above.
        unsafe { release(steering, "steering") }?;
        Ok(())
    });
}
