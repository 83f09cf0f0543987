//! Backend selection: every kernel goes through a [`Backend`].
//!
//! A backend implements one kernel trait per domain ([`AnalysisKernels`],
//! [`NnKernels`], [`NeighborKernels`], [`ForceKernels`]). Public APIs validate their input once
//! and then call the kernels of the backend that a [`Device`] names, so adding
//! a backend never changes the public API.
//!
//! - [`cpu::CpuBackend`]: the fast, rayon-parallel CPU path (always built).
//! - [`reference::ReferenceBackend`]: plain, obviously-correct loops in f64
//!   where it matters; the yardstick the fast paths are tested against.
//! - [`gpu::GpuBackend`]: the kernels of `kernels/` over a vendor runtime.
//!   OpenCL ([`Device::OpenCl`], feature `opencl`), CUDA ([`Device::Cuda`],
//!   feature `cuda`) and HIP ([`Device::Hip`], feature `hip`); a device kind
//!   built without its feature reports [`Error::BackendUnavailable`].
//!
//! CPU and reference kernels always compute in double precision; a GPU
//! backend computes its pair math at the [`Precision`] it was opened with.

pub mod cpu;
pub mod gpu;
pub mod reference;

pub use crate::analysis::kernels::AnalysisKernels;
pub use crate::forcefield::kernels::ForceKernels;
pub use crate::integrate::kernels::{MdContext, MdKernels};
pub use crate::nn::kernels::NnKernels;
pub use crate::outliers::kernels::NeighborKernels;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, System};
use crate::integrate::{HostContext, SimulationOptions};

/// A compute backend: one implementation of every kernel family.
pub trait Backend:
    AnalysisKernels + NnKernels + NeighborKernels + ForceKernels + MdKernels + Send + Sync
{
    /// Short lowercase name (`cpu`, `reference`, `cuda`, `hip`).
    fn name(&self) -> &'static str;
}

/// A backend whose molecular dynamics runs on the host integrator
/// ([`HostContext`]) over its own force evaluator.
pub trait HostDynamics: ForceKernels {}

impl<B: HostDynamics> MdKernels for B {
    fn md_context(
        &self,
        system: &System,
        positions: Vec<[f64; 3]>,
        box_vectors: Option<BoxVectors>,
        options: &SimulationOptions,
    ) -> Result<Box<dyn MdContext>> {
        let evaluator = self.force_evaluator(system)?;
        let context = HostContext::new(system, evaluator, positions, box_vectors, options)?;
        Ok(Box::new(context))
    }
}

/// Precision of a GPU backend's force kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 pair math, f64 positions, fixed-point / f64 accumulation and f64
    /// integration (OpenMM's `mixed`).
    #[default]
    Mixed,
    /// f64 everywhere.
    Double,
}

impl Precision {
    /// Parse `mixed` or `double`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "mixed" => Ok(Precision::Mixed),
            "double" => Ok(Precision::Double),
            _ => Err(Error::InvalidArgument(format!(
                "unknown precision '{name}' (expected mixed or double)"
            ))),
        }
    }

    /// `mixed` or `double`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Mixed => "mixed",
            Precision::Double => "double",
        }
    }
}

/// Where kernels run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    /// Rayon-parallel CPU kernels (thread count from rayon's global pool).
    #[default]
    Cpu,
    /// Plain single-threaded reference kernels (slow; for testing).
    Reference,
    /// NVIDIA GPU with the given ordinal (feature `cuda`).
    Cuda(usize),
    /// AMD GPU with the given ordinal (feature `hip`).
    Hip(usize),
    /// OpenCL device with the given ordinal, counted over every platform
    /// (feature `opencl`).
    OpenCl(usize),
}

impl Device {
    /// The backend implementing this device's kernels, at the default
    /// [`Precision`] on a GPU.
    pub fn backend(&self) -> Result<Arc<dyn Backend>> {
        self.backend_at(Precision::default())
    }

    /// The backend implementing this device's kernels; a GPU backend
    /// computes at `precision` (the CPU and reference backends ignore it:
    /// they are double precision).
    pub fn backend_at(&self, precision: Precision) -> Result<Arc<dyn Backend>> {
        match *self {
            Device::Cpu => Ok(Arc::new(cpu::CpuBackend)),
            Device::Reference => Ok(Arc::new(reference::ReferenceBackend)),
            #[cfg(feature = "cuda")]
            Device::Cuda(n) => Ok(gpu::cuda_backend(n, precision)?),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => Err(unavailable("cuda")),
            #[cfg(feature = "hip")]
            Device::Hip(n) => Ok(gpu::hip_backend(n, precision)?),
            #[cfg(not(feature = "hip"))]
            Device::Hip(_) => Err(unavailable("hip")),
            #[cfg(feature = "opencl")]
            Device::OpenCl(n) => Ok(gpu::opencl_backend(n, precision)?),
            #[cfg(not(feature = "opencl"))]
            Device::OpenCl(_) => {
                let _ = precision;
                Err(unavailable("opencl"))
            }
        }
    }

    /// Devices of this kind on this machine (1 for `cpu` and `reference`;
    /// 0 for a GPU kind compiled out or without a driver).
    pub fn count_of_kind(&self) -> usize {
        match self {
            Device::Cpu | Device::Reference => 1,
            #[cfg(feature = "opencl")]
            Device::OpenCl(_) => gpu::opencl::device_count(),
            #[cfg(feature = "cuda")]
            Device::Cuda(_) => gpu::cuda::device_count(),
            #[cfg(feature = "hip")]
            Device::Hip(_) => gpu::hip::device_count(),
            #[allow(unreachable_patterns)]
            _ => 0,
        }
    }

    /// The device `name` names for a process that is number `local_rank`
    /// among the ranks of its node: an explicit ordinal (`cuda:1`) is
    /// taken as given; a GPU kind without one (`cuda`) takes device
    /// `local_rank mod count`, so ranks spread over a node's GPUs.
    pub fn for_local_rank(name: &str, local_rank: usize) -> Result<Self> {
        let device = Self::parse(name)?;
        if name.contains(':') || matches!(device, Device::Cpu | Device::Reference) {
            return Ok(device);
        }
        let count = device.count_of_kind();
        if count == 0 {
            // Opening it reports why (compiled out, no driver, no device).
            device.backend()?;
            return Err(Error::BackendUnavailable {
                backend: "gpu",
                reason: format!("no {name} device on this machine"),
            });
        }
        let ordinal = local_rank % count;
        Ok(match device {
            Device::Cuda(_) => Device::Cuda(ordinal),
            Device::Hip(_) => Device::Hip(ordinal),
            Device::OpenCl(_) => Device::OpenCl(ordinal),
            other => other,
        })
    }

    /// Parse a device name: `cpu`, `reference`, `cuda[:N]`, `hip[:N]`,
    /// `opencl[:N]`.
    pub fn parse(name: &str) -> Result<Self> {
        let (kind, ordinal) = match name.split_once(':') {
            Some((k, n)) => {
                let n = n.parse::<usize>().map_err(|_| {
                    Error::InvalidArgument(format!(
                        "device '{name}': ordinal '{n}' is not a number"
                    ))
                })?;
                (k, n)
            }
            None => (name, 0),
        };
        match kind {
            "cpu" => Ok(Device::Cpu),
            "reference" => Ok(Device::Reference),
            "cuda" => Ok(Device::Cuda(ordinal)),
            "hip" => Ok(Device::Hip(ordinal)),
            "opencl" => Ok(Device::OpenCl(ordinal)),
            _ => Err(Error::InvalidArgument(format!(
                "unknown device '{name}' (expected cpu, reference, cuda[:N], hip[:N] or opencl[:N])"
            ))),
        }
    }
}

/// A device kind whose feature this build lacks.
#[allow(dead_code)] // every kind's feature on: never called
fn unavailable(backend: &'static str) -> Error {
    Error::BackendUnavailable {
        backend,
        reason: format!("steermd was built without the `{backend}` feature"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_devices() {
        assert_eq!(Device::parse("cpu").unwrap(), Device::Cpu);
        assert_eq!(Device::parse("cuda:1").unwrap(), Device::Cuda(1));
        assert!(Device::parse("tpu").is_err());
        assert!(Device::parse("cuda:x").is_err());
    }

    #[test]
    fn ranks_spread_over_a_nodes_devices() {
        assert_eq!(Device::for_local_rank("cpu", 3).unwrap(), Device::Cpu);
        assert_eq!(
            Device::for_local_rank("cuda:1", 3).unwrap(),
            Device::Cuda(1),
            "an explicit ordinal is kept"
        );
        assert!(Device::for_local_rank("tpu", 0).is_err());
        let opencl = Device::OpenCl(0).count_of_kind();
        if opencl > 0 {
            for rank in 0..4 {
                assert_eq!(
                    Device::for_local_rank("opencl", rank).unwrap(),
                    Device::OpenCl(rank % opencl)
                );
            }
        } else {
            let err = Device::for_local_rank("opencl", 0).unwrap_err();
            assert!(err.to_string().contains("opencl"), "{err}");
        }
    }

    #[test]
    fn precisions_parse() {
        assert_eq!(Precision::parse("mixed").unwrap(), Precision::Mixed);
        assert_eq!(Precision::parse("double").unwrap(), Precision::Double);
        assert!(Precision::parse("single").is_err());
        assert_eq!(Precision::default(), Precision::Mixed);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn gpu_without_feature_is_a_clear_error() {
        let err = Device::Cuda(0)
            .backend()
            .err()
            .expect("built without the cuda feature");
        assert!(err.to_string().contains("cuda"), "{err}");
    }
}
