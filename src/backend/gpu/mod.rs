//! The GPU backend: the kernel families implemented once over a small
//! [`Runtime`] trait (compile, allocate, copy, launch, synchronise), which
//! each vendor runtime implements. Nothing here knows which vendor runs.
//!
//! - [`opencl::OpenCl`] (feature `opencl`): any OpenCL 1.2 device with
//!   fp64 and 64-bit atomics, PoCL on CPUs included.
//! - [`cuda::Cuda`] (feature `cuda`): NVIDIA GPUs, kernels compiled by
//!   NVRTC at run time.
//! - [`hip::Hip`] (feature `hip`): AMD GPUs, kernels built by hipcc into
//!   code objects at build time.
//!
//! What runs on the device today: every force of the CPU backend
//! ([`forces::GpuForces`]) and the molecular-dynamics step
//! ([`context::GpuContext`]: LangevinMiddle and velocity Verlet, SETTLE,
//! SHAKE and RATTLE, CM motion removal, the stability checks), with
//! positions, velocities and forces resident on the device between
//! reports. Contact maps, the encoders and outlier detection run on the
//! host CPU kernels ([`host_kernels`]).
//!
//! A [`GpuBackend`] is an object per (device ordinal, [`Precision`]): it
//! holds the device's runtime (context and queue, shared by both
//! precisions) and the compiled-module cache of its precision.

mod constraints;
mod context;
#[cfg(feature = "cuda")]
pub mod cuda;
mod dynamics;
mod forces;
#[cfg(feature = "hip")]
pub mod hip;
mod host_kernels;
mod neighbors;
#[cfg(feature = "opencl")]
pub mod opencl;
pub mod runtime;
pub mod source;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use context::GpuContext;
pub use forces::GpuForces;
pub use neighbors::NeighborSettings;
pub use runtime::{Arg, DeviceVec, Runtime};
use source::Family;

use super::Precision;
use crate::error::{Error, Result};
use crate::forcefield::kernels::check_supported;
use crate::forcefield::{BoxVectors, ForceEvaluator, ForceKernels, System};
use crate::integrate::{MdContext, MdKernels, SimulationOptions};

/// The kernels of one device at one precision.
pub struct GpuBackend<R: Runtime> {
    runtime: Arc<R>,
    precision: Precision,
    modules: Mutex<HashMap<Family, Arc<R::Module>>>,
    this: std::sync::Weak<GpuBackend<R>>,
}

impl<R: Runtime> GpuBackend<R> {
    /// A backend on `runtime` computing at `precision`.
    pub fn new(runtime: Arc<R>, precision: Precision) -> Arc<Self> {
        Arc::new_cyclic(|this| GpuBackend {
            runtime,
            precision,
            modules: Mutex::new(HashMap::new()),
            this: this.clone(),
        })
    }

    /// The device runtime.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// The precision of the pair math.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// `family` compiled for this precision (cached).
    pub fn module(&self, family: Family) -> Result<Arc<R::Module>> {
        let mut modules = self.modules.lock().map_err(|_| Error::Device {
            backend: R::NAME,
            call: "module cache".into(),
            message: "lock poisoned".into(),
        })?;
        if let Some(m) = modules.get(&family) {
            return Ok(m.clone());
        }
        let module = self
            .runtime
            .compile(family, self.precision)
            .map_err(|e| family.blame(e))?;
        let module = Arc::new(module);
        modules.insert(family, module.clone());
        Ok(module)
    }

    /// Compile every kernel family now (otherwise each compiles on first use).
    pub fn compile_all(&self) -> Result<()> {
        for family in Family::ALL {
            self.module(family)?;
        }
        Ok(())
    }
}

impl<R: Runtime> ForceKernels for GpuBackend<R> {
    fn force_evaluator(&self, system: &System) -> Result<Box<dyn ForceEvaluator>> {
        check_supported(system)?;
        Ok(Box::new(GpuForces::new(
            self.arc("force_evaluator")?,
            system,
        )?))
    }
}

impl<R: Runtime> GpuBackend<R> {
    fn arc(&self, call: &str) -> Result<Arc<Self>> {
        self.this.upgrade().ok_or_else(|| Error::Device {
            backend: R::NAME,
            call: call.into(),
            message: "backend dropped".into(),
        })
    }
}

impl<R: Runtime> MdKernels for GpuBackend<R> {
    fn md_context(
        &self,
        system: &System,
        positions: Vec<[f64; 3]>,
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Box<dyn MdContext>> {
        let context = GpuContext::new(
            self.arc("md_context")?,
            system,
            positions,
            box_vectors,
            options,
        )?;
        Ok(Box::new(context))
    }
}

impl<R: Runtime> super::Backend for GpuBackend<R> {
    fn name(&self) -> &'static str {
        R::NAME
    }
}

/// The `-D` definitions of a precision (kernels/common.h).
pub fn precision_defines(precision: Precision) -> &'static [&'static str] {
    match precision {
        Precision::Double => &["USE_DOUBLE"],
        Precision::Mixed => &[],
    }
}

/// Backends opened so far, per (ordinal, precision), sharing one runtime
/// per ordinal.
pub struct Registry<R: Runtime> {
    runtimes: HashMap<usize, Arc<R>>,
    backends: HashMap<(usize, Precision), Arc<GpuBackend<R>>>,
}

impl<R: Runtime> Default for Registry<R> {
    fn default() -> Self {
        Registry {
            runtimes: HashMap::new(),
            backends: HashMap::new(),
        }
    }
}

impl<R: Runtime> Registry<R> {
    /// The backend of `ordinal` at `precision`, opening the device with
    /// `open` the first time.
    pub fn get(
        &mut self,
        ordinal: usize,
        precision: Precision,
        open: impl FnOnce(usize) -> Result<R>,
    ) -> Result<Arc<GpuBackend<R>>> {
        if let Some(b) = self.backends.get(&(ordinal, precision)) {
            return Ok(b.clone());
        }
        let runtime = match self.runtimes.get(&ordinal) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(open(ordinal)?);
                self.runtimes.insert(ordinal, r.clone());
                r
            }
        };
        let backend = GpuBackend::new(runtime, precision);
        self.backends.insert((ordinal, precision), backend.clone());
        Ok(backend)
    }
}

/// Lock a runtime's registry.
#[cfg(any(feature = "opencl", feature = "cuda", feature = "hip"))]
fn lock<R: Runtime>(
    registry: &'static std::sync::OnceLock<Mutex<Registry<R>>>,
) -> Result<std::sync::MutexGuard<'static, Registry<R>>> {
    registry
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::Device {
            backend: R::NAME,
            call: "device registry".into(),
            message: "lock poisoned".into(),
        })
}

/// The OpenCL backend of device `ordinal` at `precision`.
#[cfg(feature = "opencl")]
pub fn opencl_backend(
    ordinal: usize,
    precision: Precision,
) -> Result<Arc<GpuBackend<opencl::OpenCl>>> {
    static REGISTRY: std::sync::OnceLock<Mutex<Registry<opencl::OpenCl>>> =
        std::sync::OnceLock::new();
    lock(&REGISTRY)?.get(ordinal, precision, opencl::OpenCl::open)
}

/// The CUDA backend of device `ordinal` at `precision`.
#[cfg(feature = "cuda")]
pub fn cuda_backend(ordinal: usize, precision: Precision) -> Result<Arc<GpuBackend<cuda::Cuda>>> {
    static REGISTRY: std::sync::OnceLock<Mutex<Registry<cuda::Cuda>>> = std::sync::OnceLock::new();
    lock(&REGISTRY)?.get(ordinal, precision, cuda::Cuda::open)
}

/// The HIP backend of device `ordinal` at `precision`.
#[cfg(feature = "hip")]
pub fn hip_backend(ordinal: usize, precision: Precision) -> Result<Arc<GpuBackend<hip::Hip>>> {
    static REGISTRY: std::sync::OnceLock<Mutex<Registry<hip::Hip>>> = std::sync::OnceLock::new();
    lock(&REGISTRY)?.get(ordinal, precision, hip::Hip::open)
}
