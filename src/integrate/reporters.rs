//! Reporters: observers a [`super::Simulation`] calls every `interval` steps
//! (when the step count is a multiple of the interval, as OpenMM's
//! `Simulation` does), with a read-only [`StateView`].
//!
//! - [`DcdReporter`]: DCD trajectory (Å on disk, as OpenMM's `DCDReporter`;
//!   unit cell when the simulation has a box),
//! - [`NetcdfReporter`]: Amber NetCDF trajectory (Å, times in ps, cell when
//!   the simulation has a box), written when the reporters finish,
//! - [`StateReporter`]: CSV lines `step, time, potential, kinetic, total,
//!   temperature, speed` to any writer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, MAX_FORCE_GROUPS};
use crate::frames::Frames;
use crate::io::dcd::{DcdWriteOptions, DcdWriter};
use crate::io::write_netcdf;

/// The simulation state handed to reporters (everything in OpenMM units).
#[derive(Clone, Copy, Debug)]
pub struct StateView<'a> {
    /// Steps taken so far.
    pub step: u64,
    /// Simulated time, ps.
    pub time: f64,
    /// Integration step size, ps.
    pub dt: f64,
    /// Positions, nm.
    pub positions: &'a [[f64; 3]],
    /// Velocities, nm/ps (half-step velocities for the Langevin middle
    /// integrator, as in OpenMM).
    pub velocities: &'a [[f64; 3]],
    /// Forces at `positions`, kJ/mol/nm.
    pub forces: &'a [[f64; 3]],
    /// Periodic box vectors, nm, if any.
    pub box_vectors: Option<&'a BoxVectors>,
    /// Potential energy, kJ/mol.
    pub potential_energy: f64,
    /// Potential energy per force group, kJ/mol.
    pub group_energies: &'a [f64; MAX_FORCE_GROUPS],
    /// Kinetic energy, kJ/mol.
    pub kinetic_energy: f64,
    /// Instantaneous temperature, K (from the system's degrees of freedom).
    pub temperature: f64,
}

/// Something that observes a simulation every [`Reporter::interval`] steps.
pub trait Reporter: Send {
    /// Steps between reports; the simulation calls [`Reporter::report`]
    /// after every step whose count is a multiple of it (0 = never).
    fn interval(&self) -> u64;

    /// Record the state after a step.
    fn report(&mut self, state: &StateView<'_>) -> Result<()>;

    /// Flush and close outputs (called by
    /// [`super::Simulation::finish_reporters`]).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

fn check_interval(interval: u64) -> Result<()> {
    if interval == 0 || i32::try_from(interval).is_err() {
        return Err(Error::InvalidArgument(format!(
            "report interval {interval} must be in 1..=2^31-1 steps"
        )));
    }
    Ok(())
}

/// Writes a DCD frame every `interval` steps. The file is created
/// (truncated) at the first report, with a unit cell in every frame when the
/// simulation has a box (rectangular boxes only: DCD's cell is written as
/// lengths with 90° angles, so a triclinic box is an error).
#[derive(Debug)]
pub struct DcdReporter {
    path: PathBuf,
    interval: u64,
    writer: Option<DcdWriter>,
    frame: Vec<f32>,
}

impl DcdReporter {
    /// A reporter writing to `path` every `interval` steps (`interval ≥ 1`).
    pub fn new(path: impl AsRef<Path>, interval: u64) -> Result<Self> {
        check_interval(interval)?;
        Ok(DcdReporter {
            path: path.as_ref().to_path_buf(),
            interval,
            writer: None,
            frame: Vec::new(),
        })
    }

    /// Frames written so far.
    pub fn n_frames(&self) -> usize {
        self.writer.as_ref().map_or(0, |w| w.n_frames())
    }
}

impl Reporter for DcdReporter {
    fn interval(&self) -> u64 {
        self.interval
    }

    fn report(&mut self, state: &StateView<'_>) -> Result<()> {
        let cell = rectangular_cell(state, &self.path, "DCD")?;
        if self.writer.is_none() {
            let opts = DcdWriteOptions {
                // Header bookkeeping only; wraps beyond 2^31 steps.
                first_step: state.step as i32,
                interval: self.interval as i32,
                timestep_ps: state.dt,
            };
            self.writer = Some(DcdWriter::create(
                &self.path,
                state.positions.len(),
                cell.is_some(),
                opts,
            )?);
        }
        self.frame.clear();
        self.frame
            .extend(state.positions.iter().flatten().map(|&v| v as f32));
        match self.writer.as_mut() {
            Some(w) => w.write_frame(&self.frame, cell),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self.writer.take() {
            Some(w) => w.finish(),
            None => Ok(()),
        }
    }
}

/// The rectangular cell (nm) of `state`, or an error naming `path` and
/// `format` for a triclinic one.
fn rectangular_cell(state: &StateView<'_>, path: &Path, format: &str) -> Result<Option<[f32; 3]>> {
    match state.box_vectors {
        None => Ok(None),
        Some(b) => {
            if b[1][0] != 0.0 || b[2][0] != 0.0 || b[2][1] != 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "{}: {format} output supports rectangular boxes only, got {b:?}",
                    path.display()
                )));
            }
            Ok(Some([b[0][0] as f32, b[1][1] as f32, b[2][2] as f32]))
        }
    }
}

/// Collects a frame every `interval` steps and writes them as an Amber
/// NetCDF trajectory ([`write_netcdf`]: coordinates, the time of each frame
/// in ps, and cells when the simulation has a box) when the reporters
/// finish. The NetCDF-3 header holds the frame count, so frames are kept in
/// memory (4 bytes per coordinate) until then: a run that stops with an
/// error before [`super::Simulation::finish_reporters`] leaves no file.
pub struct NetcdfReporter {
    path: PathBuf,
    interval: u64,
    n_atoms: usize,
    xyz: Vec<f32>,
    boxes: Vec<[f32; 3]>,
    has_box: Option<bool>,
    times_ps: Vec<f64>,
}

impl NetcdfReporter {
    /// A reporter writing to `path` every `interval` steps (`interval ≥ 1`).
    pub fn new(path: impl AsRef<Path>, interval: u64) -> Result<Self> {
        check_interval(interval)?;
        Ok(NetcdfReporter {
            path: path.as_ref().to_path_buf(),
            interval,
            n_atoms: 0,
            xyz: Vec::new(),
            boxes: Vec::new(),
            has_box: None,
            times_ps: Vec::new(),
        })
    }

    /// Frames collected so far.
    pub fn n_frames(&self) -> usize {
        self.times_ps.len()
    }
}

impl Reporter for NetcdfReporter {
    fn interval(&self) -> u64 {
        self.interval
    }

    fn report(&mut self, state: &StateView<'_>) -> Result<()> {
        let cell = rectangular_cell(state, &self.path, "Amber NetCDF")?;
        if *self.has_box.get_or_insert(cell.is_some()) != cell.is_some() {
            return Err(Error::InvalidArgument(format!(
                "{}: the periodic box appeared or vanished at step {}",
                self.path.display(),
                state.step
            )));
        }
        self.n_atoms = state.positions.len();
        self.xyz
            .extend(state.positions.iter().flatten().map(|&v| v as f32));
        self.boxes.extend(cell);
        self.times_ps.push(state.time);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.times_ps.is_empty() {
            return Ok(());
        }
        let boxes = (self.has_box == Some(true)).then(|| std::mem::take(&mut self.boxes));
        let frames = Frames::new(self.n_atoms, std::mem::take(&mut self.xyz), boxes)?;
        let times = std::mem::take(&mut self.times_ps);
        write_netcdf(&self.path, &frames, None, Some(&times))
    }
}

/// CSV header written by [`StateReporter`].
pub const STATE_CSV_HEADER: &str =
    "step,time_ps,potential_kj_mol,kinetic_kj_mol,total_kj_mol,temperature_k,speed_ns_day";

/// Writes CSV lines `step,time_ps,potential_kj_mol,kinetic_kj_mol,
/// total_kj_mol,temperature_k,speed_ns_day` (header first) every `interval`
/// steps, flushing after each line. The speed is simulated ns per wall-clock
/// day since the previous line (empty on the first line).
pub struct StateReporter<W: Write + Send> {
    out: W,
    name: PathBuf,
    interval: u64,
    header_written: bool,
    last: Option<(Instant, f64)>,
}

impl<W: Write + Send> StateReporter<W> {
    /// A reporter writing to `out` every `interval` steps (`interval ≥ 1`).
    pub fn new(out: W, interval: u64) -> Result<Self> {
        check_interval(interval)?;
        Ok(StateReporter {
            out,
            name: PathBuf::from("<state reporter output>"),
            interval,
            header_written: false,
            last: None,
        })
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl StateReporter<std::io::BufWriter<std::fs::File>> {
    /// A reporter writing to a new (truncated) file at `path`.
    pub fn create(path: impl AsRef<Path>, interval: u64) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut r = StateReporter::new(std::io::BufWriter::new(file), interval)?;
        r.name = path.to_path_buf();
        Ok(r)
    }
}

impl<W: Write + Send> Reporter for StateReporter<W> {
    fn interval(&self) -> u64 {
        self.interval
    }

    fn report(&mut self, s: &StateView<'_>) -> Result<()> {
        let now = Instant::now();
        let speed = match self.last {
            Some((t0, time0)) => {
                let wall = now.duration_since(t0).as_secs_f64();
                if wall > 0.0 {
                    format!("{:.3}", (s.time - time0) * 1e-3 / (wall / 86_400.0))
                } else {
                    String::new()
                }
            }
            None => String::new(),
        };
        self.last = Some((now, s.time));
        let io = (|| {
            if !self.header_written {
                writeln!(self.out, "{STATE_CSV_HEADER}")?;
            }
            writeln!(
                self.out,
                "{},{:.6},{:.6},{:.6},{:.6},{:.4},{}",
                s.step,
                s.time,
                s.potential_energy,
                s.kinetic_energy,
                s.potential_energy + s.kinetic_energy,
                s.temperature,
                speed
            )?;
            self.out.flush()
        })();
        io.map_err(|e| Error::io(&self.name, e))?;
        self.header_written = true;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.name, e))
    }
}
