//! [`GpuContext`]: the [`MdContext`] of the GPU backends. Steps run on
//! the device ([`DeviceDynamics`]); everything else (state views,
//! minimisation, constraint projection, the replay that names a failure)
//! is the host context's, over the same device's force kernels.
//!
//! Stability: every step is checked on the device (positions, energy,
//! forces, velocities, constraint convergence) and the host reads the
//! verdict once per batch of at most [`BATCH`] steps. After a failure the
//! state before the failing step is restored from its device buffer and
//! that step is replayed once by the host integrator, whose error names
//! the atom, constraint or energy at fault; the state before the step is
//! kept, as [`MdContext::step`] promises.

use std::sync::Arc;

use super::dynamics::{Batch, DeviceDynamics};
use super::neighbors::NeighborSettings;
use super::runtime::Runtime;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, ForceKernels, ForceOutput, System};
use crate::integrate::host::{cm_frequency, stability_problem};
use crate::integrate::{Constraints, HostContext, MdContext, MinimizeReport, SimulationOptions};

type V3 = [f64; 3];

/// Steps queued between two reads of the device's status word.
pub const BATCH: u64 = 64;

/// A simulation whose dynamics run on a GPU.
pub struct GpuContext<R: Runtime> {
    host: HostContext,
    device: DeviceDynamics<R>,
    /// Whether the device holds the host's state and its forces.
    device_current: bool,
}

impl<R: Runtime> GpuContext<R> {
    /// A context for `system` (validated) at `positions` (nm, validated)
    /// with zero velocities, `box_vectors` (nm, resolved) and `options`.
    pub fn new(
        backend: Arc<GpuBackend<R>>,
        system: &System,
        positions: Vec<V3>,
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Self> {
        let start = (positions, box_vectors);
        Self::with_neighbors(
            backend,
            system,
            start,
            options,
            &NeighborSettings::default(),
        )
    }

    /// [`GpuContext::new`] with the device neighbour list built as
    /// `neighbors` say.
    pub fn with_neighbors(
        backend: Arc<GpuBackend<R>>,
        system: &System,
        (positions, box_vectors): (Vec<V3>, Option<BoxVectors>),
        options: &SimulationOptions,
        neighbors: &NeighborSettings,
    ) -> Result<Self> {
        let evaluator = backend.force_evaluator(system)?;
        let host = HostContext::new(system, evaluator, positions, box_vectors, options)?;
        let device = DeviceDynamics::new(
            backend,
            system,
            (host.constraints(), cm_frequency(system)?),
            neighbors,
        )?;
        Ok(GpuContext {
            host,
            device,
            device_current: false,
        })
    }

    /// Neighbours per atom the device list of the dynamics holds now
    /// (`None` without cutoff forces or with the list disabled).
    pub fn neighbor_capacity(&self) -> Option<usize> {
        self.device.neighbor_capacity()
    }

    /// Upload the host's state and compute its forces on the device;
    /// `number` is the step an unusable state is blamed on.
    fn upload(&mut self, number: u64) -> Result<()> {
        let device = &mut self.device;
        let box_vectors = self.host.box_vectors().copied();
        let limits = self.host.options().limits;
        self.host.load_state(|x, v, out| {
            device.load(x, v, box_vectors.as_ref(), out)?;
            match stability_problem(&limits, x, out) {
                Some(message) => Err(Error::Unstable {
                    step: number,
                    message,
                }),
                None => Ok(()),
            }
        })?;
        self.device_current = true;
        Ok(())
    }

    /// Copy the device's current state to the host.
    fn download(&mut self) -> Result<()> {
        let device = &mut self.device;
        let box_vectors = self.host.box_vectors().copied();
        self.host
            .load_state(|x, v, out| device.store(x, v, box_vectors.as_ref(), out))
    }

    /// The error of failed step `number`: restore the state before it from
    /// the device and replay the step on the host.
    fn failure(&mut self, number: u64, time: f64) -> Error {
        self.device_current = false;
        if let Err(e) = self.download() {
            return e;
        }
        let before = (
            self.host.positions().to_vec(),
            self.host.velocities().to_vec(),
        );
        self.host.set_clock(number - 1, time);
        // The device's force buffers are past the failure: recompute.
        let replay = self
            .host
            .set_positions(before.0.clone())
            .and_then(|()| self.host.step(1));
        // Whatever the replay did, the state before the step is kept.
        let restore = self
            .host
            .set_positions(before.0)
            .and_then(|()| self.host.set_velocities(before.1));
        self.host.set_clock(number - 1, time);
        match (replay, restore) {
            (_, Err(e)) | (Err(e), _) => e,
            (Ok(()), Ok(())) => Error::Unstable {
                step: number,
                message: "a device check failed (constraints not converged within the \
                          iteration limit, or a non-finite value) but the host replay of \
                          the step passed"
                    .into(),
            },
        }
    }
}

impl<R: Runtime> MdContext for GpuContext<R> {
    fn step(&mut self, n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let (mut step, mut time) = (self.host.step_count(), self.host.time());
        if !self.device_current {
            self.upload(step + 1)?;
        }
        let options = self.host.options().clone();
        let box_vectors = self.host.box_vectors().copied();
        let mut left = n;
        while left > 0 {
            let count = left.min(BATCH);
            let batch = self
                .device
                .run(count as usize, step, &options, box_vectors.as_ref())?;
            if let Batch::Failed(j) = batch {
                for _ in 0..j {
                    time += options.integrator.dt();
                }
                return Err(self.failure(step + j as u64 + 1, time));
            }
            for _ in 0..count {
                time += options.integrator.dt();
            }
            step += count;
            left -= count;
        }
        self.download()?;
        self.host.set_clock(step, time);
        Ok(())
    }

    fn step_count(&self) -> u64 {
        self.host.step_count()
    }

    fn time(&self) -> f64 {
        self.host.time()
    }

    fn set_clock(&mut self, step: u64, time: f64) {
        self.host.set_clock(step, time);
    }

    fn positions(&self) -> &[V3] {
        self.host.positions()
    }

    fn set_positions(&mut self, positions: Vec<V3>) -> Result<()> {
        self.device_current = false;
        self.host.set_positions(positions)
    }

    fn velocities(&self) -> &[V3] {
        self.host.velocities()
    }

    fn set_velocities(&mut self, velocities: Vec<V3>) -> Result<()> {
        self.device_current = false;
        self.host.set_velocities(velocities)
    }

    fn box_vectors(&self) -> Option<&BoxVectors> {
        self.host.box_vectors()
    }

    fn set_box_vectors(&mut self, box_vectors: Option<BoxVectors>) -> Result<()> {
        self.device_current = false;
        self.host.set_box_vectors(box_vectors)
    }

    fn set_options(&mut self, options: &SimulationOptions) -> Result<()> {
        self.host.set_options(options)
    }

    fn forces(&mut self) -> Result<&ForceOutput> {
        self.host.forces()
    }

    fn current_forces(&self) -> &ForceOutput {
        self.host.current_forces()
    }

    fn constraints(&self) -> &Constraints {
        self.host.constraints()
    }

    fn apply_constraints(&mut self) -> Result<()> {
        self.device_current = false;
        self.host.apply_constraints()
    }

    fn set_constrained_velocities(&mut self, velocities: Vec<V3>) -> Result<()> {
        self.device_current = false;
        self.host.set_constrained_velocities(velocities)
    }

    fn minimize(&mut self, tolerance: f64, max_iterations: usize) -> Result<MinimizeReport> {
        self.device_current = false;
        self.host.minimize(tolerance, max_iterations)
    }
}
