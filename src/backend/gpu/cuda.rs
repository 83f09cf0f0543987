//! The CUDA runtime (feature `cuda`, crate `cudarc`): kernels compiled by
//! NVRTC at run time for the device's compute capability. libcuda and
//! libnvrtc are loaded at run time, so `cargo build --features cuda` needs
//! no CUDA toolkit; without them opening a device is an error, never a
//! panic (their presence is checked before cudarc is called).

use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions, Ptx};

use super::runtime::{Arg, KernelCache, Runtime};
use super::source::{self, Family};
use super::Precision;
use crate::error::{Error, Result};

/// Threads per block of every launch (results never depend on it).
const BLOCK: u32 = 64;

/// One CUDA device: its primary context and a stream.
pub struct Cuda {
    context: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    /// `compute_XY` of the device, for NVRTC.
    arch: &'static str,
}

/// A loaded module and its functions (looked up on first use).
pub struct CudaKernels {
    module: Arc<CudaModule>,
    functions: KernelCache<CudaFunction>,
}

fn device_error(call: &str, message: impl std::fmt::Display) -> Error {
    Error::Device {
        backend: "cuda",
        call: call.to_string(),
        message: message.to_string(),
    }
}

/// Whether libnvrtc can be loaded (it compiles the kernels; no GPU needed).
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the library under its candidate names.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library under its candidate names.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// The `-D` options and architecture flag of a compile.
fn compile_options(defines: &[&str], arch: &'static str) -> CompileOptions {
    CompileOptions {
        options: defines.iter().map(|d| format!("-D{d}")).collect(),
        arch: Some(arch),
        ..Default::default()
    }
}

fn nvrtc_compile(source: &str, defines: &[&str], arch: &'static str) -> Result<Ptx> {
    if !nvrtc_present() {
        return Err(Error::BackendUnavailable {
            backend: "cuda",
            reason: "libnvrtc not found (install the CUDA toolkit or PyPI's nvidia-cuda-nvrtc-cu12 and put its lib/ on LD_LIBRARY_PATH)".into(),
        });
    }
    compile_ptx_with_opts(source, compile_options(defines, arch))
        .map_err(|e| device_error("nvrtcCompileProgram", format!("{e:?}")))
}

/// Compile every kernel family with NVRTC for `arch` (e.g. `compute_90`)
/// at `precision`, without a GPU; returns the PTX size of each family.
pub fn compile_check(arch: &'static str, precision: Precision) -> Result<Vec<(Family, usize)>> {
    Family::ALL
        .iter()
        .map(|&family| {
            let src = source::assemble(<Cuda as Runtime>::PRELUDE, family);
            let ptx = nvrtc_compile(&src, super::precision_defines(precision), arch)
                .map_err(|e| family.blame(e))?;
            Ok((family, ptx.to_src().len()))
        })
        .collect()
}

/// Number of CUDA devices (0 without a driver).
pub fn device_count() -> usize {
    if !driver_present() {
        return 0;
    }
    CudaContext::device_count().map_or(0, |n| n.max(0) as usize)
}

impl Cuda {
    /// Open device `ordinal`.
    pub fn open(ordinal: usize) -> Result<Cuda> {
        if !driver_present() {
            return Err(Error::BackendUnavailable {
                backend: "cuda",
                reason: "libcuda (the NVIDIA driver) not found".into(),
            });
        }
        let count = CudaContext::device_count().map_err(|e| device_error("cuDeviceGetCount", e))?;
        if ordinal >= count.max(0) as usize {
            return Err(Error::BackendUnavailable {
                backend: "cuda",
                reason: format!("no CUDA device {ordinal}: this machine has {count}"),
            });
        }
        let context = CudaContext::new(ordinal).map_err(|e| device_error("cuCtxCreate", e))?;
        let (major, minor) = context
            .compute_capability()
            .map_err(|e| device_error("cuDeviceGetAttribute", e))?;
        let arch: &'static str = Box::leak(format!("compute_{major}{minor}").into_boxed_str());
        let stream = context.default_stream();
        Ok(Cuda {
            context,
            stream,
            arch,
        })
    }
}

impl Runtime for Cuda {
    type Buffer = CudaSlice<u8>;
    type Module = CudaKernels;

    const NAME: &'static str = "cuda";
    const PRELUDE: &'static str = include_str!("../../../kernels/prelude/cuda.h");

    fn device_name(&self) -> String {
        self.context.name().unwrap_or_default()
    }

    fn compile(&self, family: Family, precision: Precision) -> Result<CudaKernels> {
        let source = source::assemble(Self::PRELUDE, family);
        let ptx = nvrtc_compile(&source, super::precision_defines(precision), self.arch)?;
        let module = self
            .context
            .load_module(ptx)
            .map_err(|e| device_error("cuModuleLoadData", e))?;
        Ok(CudaKernels {
            module,
            functions: KernelCache::default(),
        })
    }

    fn alloc(&self, bytes: usize) -> Result<CudaSlice<u8>> {
        self.stream
            .alloc_zeros::<u8>(bytes)
            .map_err(|e| device_error("cuMemAlloc", format!("{bytes} bytes: {e}")))
    }

    fn upload(&self, buffer: &mut CudaSlice<u8>, data: &[u8]) -> Result<()> {
        let mut view = buffer.slice_mut(0..data.len());
        self.stream
            .memcpy_htod(data, &mut view)
            .map_err(|e| device_error("cuMemcpyHtoD", e))
    }

    fn download(&self, buffer: &CudaSlice<u8>, data: &mut [u8]) -> Result<()> {
        let view = buffer.slice(0..data.len());
        self.stream
            .memcpy_dtoh(&view, data)
            .map_err(|e| device_error("cuMemcpyDtoH", e))
    }

    fn launch(
        &self,
        module: &CudaKernels,
        name: &str,
        items: usize,
        args: &[Arg<'_, CudaSlice<u8>>],
    ) -> Result<()> {
        if items == 0 {
            return Ok(());
        }
        let create = || {
            module
                .module
                .load_function(name)
                .map_err(|e| device_error("cuModuleGetFunction", format!("{name}: {e}")))
        };
        module.functions.with("cuda", name, create, |function| {
            // Scalars live here until the launch, which takes their addresses.
            let ints: Vec<i32> = args
                .iter()
                .filter_map(|a| match a {
                    Arg::Int(v) => Some(*v),
                    _ => None,
                })
                .collect();
            let doubles: Vec<f64> = args
                .iter()
                .filter_map(|a| match a {
                    Arg::Mixed(v) => Some(*v),
                    _ => None,
                })
                .collect();
            let (mut next_int, mut next_double) = (ints.iter(), doubles.iter());
            let mut builder = self.stream.launch_builder(function);
            for arg in args {
                match arg {
                    Arg::Buffer(b) => builder.arg(*b),
                    Arg::Int(_) => builder.arg(next_int.next().expect("counted above")),
                    Arg::Mixed(_) => builder.arg(next_double.next().expect("counted above")),
                };
            }
            let blocks = u32::try_from(items.div_ceil(BLOCK as usize))
                .map_err(|_| device_error(name, format!("{items} work items")))?;
            let config = LaunchConfig {
                grid_dim: (blocks, 1, 1),
                block_dim: (BLOCK, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: the arguments match the kernel's parameters in number and
            // type (int, double, device pointer: the kernel sources and their
            // callers are written together), buffers are borrowed across the
            // launch and scalars outlive it.
            unsafe { builder.launch(config) }
                .map(drop)
                .map_err(|e| device_error("cuLaunchKernel", format!("{name}: {e}")))
        })
    }

    fn synchronize(&self) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| device_error("cuStreamSynchronize", e))
    }
}
