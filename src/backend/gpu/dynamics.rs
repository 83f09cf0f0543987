//! The integrator loop on the device: positions, velocities and forces
//! stay in device memory across steps, and the host only queues launches
//! (kernels/integrate.k, kernels/constraints.k, the force kernels) and reads
//! one status word per batch.
//!
//! Each step writes its positions and velocities into the other buffer of
//! a pair, and every state-writing kernel returns at once after a failed
//! check, so when step `j` of a batch fails, the state before it is intact
//! in buffer `(first + j) % 2` (see [`DeviceDynamics::run`]).

use super::constraints::{DeviceConstraints, Solve};
use super::forces::GpuForces;
use super::neighbors::{NeighborSettings, Stop};
use super::runtime::{Arg, DeviceVec, Runtime};
use super::source::Family;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, ForceOutput, System, ALL_GROUPS};
use crate::integrate::rng::{key_words, Purpose};
use crate::integrate::{Constraints, Integrator, SimulationOptions, BOLTZ};
use std::sync::Arc;

type V3 = [f64; 3];

/// `CM_CHUNK` of kernels/integrate.k.
const CM_CHUNK: usize = 256;

/// Device state and kernels of one simulation.
pub(super) struct DeviceDynamics<R: Runtime> {
    backend: Arc<GpuBackend<R>>,
    n: usize,
    forces: GpuForces<R>,
    constraints: DeviceConstraints<R>,
    max_iterations: usize,
    cm_frequency: Option<u64>,
    mass: DeviceVec<R, f64>,
    inv_mass: DeviceVec<R, f64>,
    x: [DeviceVec<R, f64>; 2],
    v: [DeviceVec<R, f64>; 2],
    /// Which of `x`/`v` holds the current state.
    current: usize,
    cm: DeviceVec<R, f64>,
    status: DeviceVec<R, i32>,
    key: DeviceVec<R, i32>,
}

/// Where a batch stopped.
pub(super) enum Batch {
    /// Every step succeeded.
    Done,
    /// Step `j` (0-based within the batch) failed a check; the state before
    /// it is current.
    Failed(usize),
}

fn int(value: usize) -> i32 {
    i32::try_from(value).expect("sizes fit in i32 (checked when the system was uploaded)")
}

impl<R: Runtime> DeviceDynamics<R> {
    /// Upload `system` (validated) with its constraint clusters, CM
    /// motion remover frequency (steps) and neighbour list settings.
    pub fn new(
        backend: Arc<GpuBackend<R>>,
        system: &System,
        (constraints, cm_frequency): (&Constraints, Option<u64>),
        neighbors: &NeighborSettings,
    ) -> Result<Self> {
        let n = system.n_particles();
        let forces = GpuForces::with_neighbors(backend.clone(), system, neighbors)?;
        let rt = backend.runtime();
        let pair = || -> Result<[DeviceVec<R, f64>; 2]> {
            Ok([DeviceVec::zeroed(rt, 3 * n)?, DeviceVec::zeroed(rt, 3 * n)?])
        };
        Ok(DeviceDynamics {
            n,
            constraints: DeviceConstraints::new(rt, constraints, n)?,
            max_iterations: constraints.max_iterations,
            cm_frequency,
            mass: DeviceVec::from_slice(rt, &system.masses)?,
            inv_mass: DeviceVec::from_slice(rt, constraints.inverse_masses())?,
            x: pair()?,
            v: pair()?,
            current: 0,
            cm: DeviceVec::zeroed(rt, 4 * n.div_ceil(CM_CHUNK))?,
            status: DeviceVec::zeroed(rt, 1)?,
            key: DeviceVec::zeroed(rt, 8)?,
            forces,
            backend,
        })
    }

    /// Neighbours per atom the device list holds now.
    pub fn neighbor_capacity(&self) -> Option<usize> {
        self.forces.neighbor_capacity()
    }

    /// Make `x` (nm) and `v` (nm/ps) the current state, with the forces at
    /// `x` in the box `box_vectors` computed into `out` (kJ/mol/nm,
    /// kJ/mol).
    pub fn load(
        &mut self,
        x: &[V3],
        v: &[V3],
        box_vectors: Option<&BoxVectors>,
        out: &mut ForceOutput,
    ) -> Result<()> {
        let rt = self.backend.runtime();
        self.x[self.current].upload(rt, bytemuck::cast_slice(x))?;
        self.v[self.current].upload(rt, bytemuck::cast_slice(v))?;
        self.forces.upload_box(box_vectors, ALL_GROUPS)?;
        self.forces.fit_positions(x)?;
        let current = &self.x[self.current];
        self.forces
            .evaluate(Some(current), box_vectors, ALL_GROUPS)?;
        self.forces.collect(box_vectors, ALL_GROUPS, out)
    }

    /// Copy the current state back: positions (nm), velocities (nm/ps),
    /// and the forces and energies at those positions (kJ/mol/nm, kJ/mol;
    /// valid after a batch that did not fail).
    pub fn store(
        &mut self,
        x: &mut [V3],
        v: &mut [V3],
        box_vectors: Option<&BoxVectors>,
        out: &mut ForceOutput,
    ) -> Result<()> {
        let rt = self.backend.runtime();
        self.x[self.current].download(rt, bytemuck::cast_slice_mut(x))?;
        self.v[self.current].download(rt, bytemuck::cast_slice_mut(v))?;
        self.forces.collect(box_vectors, ALL_GROUPS, out)
    }

    fn launch(&self, name: &str, items: usize, args: &[Arg<'_, R::Buffer>]) -> Result<()> {
        let module = self.backend.module(Family::Integrate)?;
        self.backend.runtime().launch(&module, name, items, args)
    }

    /// Queue `count` steps, the first with step index `first` (0-based,
    /// the Langevin noise counter), from the current state whose forces are
    /// in the force buffers, and report whether one failed. A step whose
    /// neighbour list overflowed is not a failure: the list grows, the
    /// forces of the state before it are evaluated again, and the batch
    /// goes on from that step.
    pub fn run(
        &mut self,
        count: usize,
        first: u64,
        options: &SimulationOptions,
        box_vectors: Option<&BoxVectors>,
    ) -> Result<Batch> {
        let mut done = 0;
        loop {
            let batch = self.run_once(count - done, first + done as u64, options, box_vectors)?;
            match batch {
                Batch::Failed(j) if self.forces.regrow_neighbors()? => {
                    done += j;
                    let current = &self.x[self.current];
                    self.forces
                        .evaluate(Some(current), box_vectors, ALL_GROUPS)?;
                }
                Batch::Failed(j) => return Ok(Batch::Failed(done + j)),
                Batch::Done => return Ok(Batch::Done),
            }
        }
    }

    /// [`DeviceDynamics::run`] up to the first failed check.
    fn run_once(
        &mut self,
        count: usize,
        first: u64,
        options: &SimulationOptions,
        box_vectors: Option<&BoxVectors>,
    ) -> Result<Batch> {
        let rt = self.backend.runtime();
        self.status.upload(rt, &[0])?;
        let key = key_words(options.seed, Purpose::Langevin).map(|w| w as i32);
        self.key.upload(rt, &key)?;
        self.forces.upload_box(box_vectors, ALL_GROUPS)?;
        let start = self.current;
        self.forces
            .force_neighbor_build(&Stop::Step(&self.status, 1))?;
        // The box is fixed within a batch, and so is the dispersion term.
        let offset = self.forces.energy_offset(box_vectors, ALL_GROUPS);
        for j in 0..count {
            self.queue_step(j, first + j as u64, options, (box_vectors, offset))?;
            self.current = 1 - self.current;
        }
        let mut status = [0i32];
        self.status.download(self.backend.runtime(), &mut status)?;
        match usize::try_from(status[0]) {
            Ok(0) => Ok(Batch::Done),
            Ok(step) if step <= count => {
                let j = step - 1;
                self.current = (start + j) % 2;
                Ok(Batch::Failed(j))
            }
            _ => Err(Error::Device {
                backend: R::NAME,
                call: "integrator status".into(),
                message: format!("status word {} outside 0..={count}", status[0]),
            }),
        }
    }

    fn queue_step(
        &self,
        j: usize,
        index: u64,
        options: &SimulationOptions,
        (box_vectors, energy_offset): (Option<&BoxVectors>, f64),
    ) -> Result<()> {
        let n = int(self.n);
        let tag = int(j + 1);
        let (c, nx) = (self.current, 1 - self.current);
        let (x, x_new) = (&self.x[c], &self.x[nx]);
        let (v, v_new) = (&self.v[c], &self.v[nx]);
        let chunks = self.n.div_ceil(CM_CHUNK);
        let remove_cm = self.cm_frequency.is_some_and(|f| index.is_multiple_of(f));
        if remove_cm {
            self.launch(
                "cm_momentum",
                chunks,
                &[
                    Arg::Int(n),
                    self.status.arg(),
                    self.mass.arg(),
                    v.arg(),
                    self.cm.arg(),
                ],
            )?;
        }
        let kick = |scale: f64, remove: bool, from: &DeviceVec<R, f64>| {
            self.launch(
                "kick",
                self.n,
                &[
                    Arg::Int(n),
                    self.status.arg(),
                    self.inv_mass.arg(),
                    self.forces.fixed().arg(),
                    Arg::Mixed(scale),
                    Arg::Int(i32::from(remove)),
                    Arg::Int(int(chunks)),
                    self.cm.arg(),
                    from.arg(),
                    v_new.arg(),
                ],
            )
        };
        let solve = Solve {
            status: &self.status,
            step: tag,
            inv_mass: &self.inv_mass,
            tolerance: options.constraint_tolerance,
            max_iterations: self.max_iterations,
        };
        let dt = options.integrator.dt();
        match options.integrator {
            Integrator::LangevinMiddle {
                temperature,
                friction,
                ..
            } => {
                kick(dt, remove_cm, v)?;
                self.constraints
                    .velocities(&self.backend, &solve, x, v_new)?;
                let vscale = (-dt * friction).exp();
                self.launch(
                    "langevin_drift",
                    self.n,
                    &[
                        Arg::Int(n),
                        self.status.arg(),
                        self.inv_mass.arg(),
                        Arg::Mixed(0.5 * dt),
                        Arg::Mixed(vscale),
                        Arg::Mixed((1.0 - vscale * vscale).sqrt()),
                        Arg::Mixed(BOLTZ * temperature),
                        self.key.arg(),
                        Arg::Int(index as u32 as i32),
                        Arg::Int((index >> 32) as u32 as i32),
                        x.arg(),
                        v_new.arg(),
                        x_new.arg(),
                    ],
                )?;
            }
            Integrator::VelocityVerlet { .. } => {
                kick(0.5 * dt, remove_cm, v)?;
                self.launch(
                    "drift",
                    self.n,
                    &[
                        Arg::Int(n),
                        self.status.arg(),
                        self.inv_mass.arg(),
                        Arg::Mixed(dt),
                        x.arg(),
                        v_new.arg(),
                        x_new.arg(),
                    ],
                )?;
            }
        }
        self.constraints
            .positions(&self.backend, &solve, dt, [x, x_new, v_new])?;
        let limits = &options.limits;
        self.launch(
            "check_positions",
            self.n,
            &[
                Arg::Int(n),
                self.status.arg(),
                Arg::Int(tag),
                Arg::Mixed(limits.max_coordinate),
                x_new.arg(),
            ],
        )?;
        self.forces.queue(
            x_new,
            box_vectors,
            ALL_GROUPS,
            &Stop::Step(&self.status, tag),
        )?;
        if let Integrator::VelocityVerlet { .. } = options.integrator {
            kick(0.5 * dt, false, v_new)?;
            self.constraints
                .velocities(&self.backend, &solve, x_new, v_new)?;
        }
        self.launch(
            "check_state",
            self.n,
            &[
                Arg::Int(n),
                self.status.arg(),
                Arg::Int(tag),
                Arg::Int(int(self.forces.partials().len())),
                self.forces.partials().arg(),
                Arg::Mixed(energy_offset),
                Arg::Mixed(limits.max_energy),
                Arg::Mixed(limits.max_force),
                self.forces.fixed().arg(),
                v_new.arg(),
            ],
        )
    }
}
