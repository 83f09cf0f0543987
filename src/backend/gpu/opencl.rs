//! The OpenCL runtime (feature `opencl`, crate `opencl3`): any OpenCL 1.2
//! device with `cl_khr_fp64` and `cl_khr_int64_base_atomics`, GPUs or CPUs
//! through PoCL. libOpenCL is loaded at run time; without it (or without a
//! device) opening fails with an error, never a panic.

use std::ptr;

use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::{get_all_devices, Device, CL_DEVICE_TYPE_ALL};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_WRITE};
use opencl3::program::Program;
use opencl3::types::{cl_double, cl_int, CL_BLOCKING};

use super::runtime::{Arg, KernelCache, Runtime};
use super::source::{self, Family};
use super::{precision_defines, Precision};
use crate::error::{Error, Result};

/// Work-group size of every launch (results never depend on it).
const BLOCK: usize = 64;

/// One OpenCL device with its context and in-order queue.
pub struct OpenCl {
    device: Device,
    context: Context,
    queue: CommandQueue,
}

/// A built program and its kernels (created on first use).
pub struct OpenClModule {
    program: Program,
    kernels: KernelCache<Kernel>,
}

fn device_error(call: &str, message: impl std::fmt::Display) -> Error {
    Error::Device {
        backend: "opencl",
        call: call.to_string(),
        message: message.to_string(),
    }
}

/// The extensions the kernels need.
const REQUIRED_EXTENSIONS: [&str; 2] = ["cl_khr_fp64", "cl_khr_int64_base_atomics"];

/// Number of OpenCL devices over every platform (0 without a driver).
pub fn device_count() -> usize {
    get_all_devices(CL_DEVICE_TYPE_ALL).map_or(0, |ids| ids.len())
}

impl OpenCl {
    /// Open device `ordinal` (counting every device of every platform).
    pub fn open(ordinal: usize) -> Result<OpenCl> {
        let ids = get_all_devices(CL_DEVICE_TYPE_ALL).map_err(|e| {
            device_error(
                "clGetDeviceIDs",
                format!("{e} (is an OpenCL driver such as pocl-opencl-icd installed?)"),
            )
        })?;
        let id = *ids.get(ordinal).ok_or_else(|| Error::BackendUnavailable {
            backend: "opencl",
            reason: format!(
                "no OpenCL device {ordinal}: this machine has {} (0..{})",
                ids.len(),
                ids.len()
            ),
        })?;
        let device = Device::new(id);
        let extensions = device
            .extensions()
            .map_err(|e| device_error("clGetDeviceInfo", e))?;
        for ext in REQUIRED_EXTENSIONS {
            if !extensions.split_whitespace().any(|x| x == ext) {
                return Err(Error::BackendUnavailable {
                    backend: "opencl",
                    reason: format!(
                        "OpenCL device {ordinal} ({}) lacks {ext}",
                        device.name().unwrap_or_default()
                    ),
                });
            }
        }
        let context =
            Context::from_device(&device).map_err(|e| device_error("clCreateContext", e))?;
        #[allow(deprecated)]
        let queue = CommandQueue::create_default(&context, 0)
            .map_err(|e| device_error("clCreateCommandQueue", e))?;
        Ok(OpenCl {
            device,
            context,
            queue,
        })
    }
}

impl Runtime for OpenCl {
    type Buffer = Buffer<u8>;
    type Module = OpenClModule;

    const NAME: &'static str = "opencl";
    const PRELUDE: &'static str = include_str!("../../../kernels/prelude/opencl.h");

    fn device_name(&self) -> String {
        self.device.name().unwrap_or_default()
    }

    fn compile(&self, family: Family, precision: Precision) -> Result<OpenClModule> {
        let source = source::assemble(Self::PRELUDE, family);
        let options: Vec<String> = precision_defines(precision)
            .iter()
            .map(|d| format!("-D{d}"))
            .collect();
        let program =
            Program::create_and_build_from_source(&self.context, &source, &options.join(" "))
                .map_err(|log| device_error("clBuildProgram", log))?;
        Ok(OpenClModule {
            program,
            kernels: KernelCache::default(),
        })
    }

    fn alloc(&self, bytes: usize) -> Result<Buffer<u8>> {
        // SAFETY: no host pointer is passed; the buffer is owned by the
        // returned value and released on drop.
        unsafe { Buffer::<u8>::create(&self.context, CL_MEM_READ_WRITE, bytes, ptr::null_mut()) }
            .map_err(|e| device_error("clCreateBuffer", format!("{bytes} bytes: {e}")))
    }

    fn upload(&self, buffer: &mut Buffer<u8>, data: &[u8]) -> Result<()> {
        // SAFETY: blocking write of `data` (borrowed for the whole call)
        // into a buffer at least that large (DeviceVec sizes it).
        unsafe {
            self.queue
                .enqueue_write_buffer(buffer, CL_BLOCKING, 0, data, &[])
        }
        .map(drop)
        .map_err(|e| device_error("clEnqueueWriteBuffer", e))
    }

    fn download(&self, buffer: &Buffer<u8>, data: &mut [u8]) -> Result<()> {
        // SAFETY: blocking read into `data`, borrowed mutably for the call.
        unsafe {
            self.queue
                .enqueue_read_buffer(buffer, CL_BLOCKING, 0, data, &[])
        }
        .map(drop)
        .map_err(|e| device_error("clEnqueueReadBuffer", e))
    }

    fn launch(
        &self,
        module: &OpenClModule,
        name: &str,
        items: usize,
        args: &[Arg<'_, Buffer<u8>>],
    ) -> Result<()> {
        if items == 0 {
            return Ok(());
        }
        let create = || {
            Kernel::create(&module.program, name)
                .map_err(|e| device_error("clCreateKernel", format!("{name}: {e}")))
        };
        module.kernels.with("opencl", name, create, |kernel| {
            let mut exec = ExecuteKernel::new(kernel);
            for arg in args {
                // SAFETY: each argument is a cl_mem handle, a cl_int or a
                // cl_double, matching the kernel's parameter types (the
                // kernel sources and their callers are written together);
                // buffers outlive the enqueue (borrowed).
                unsafe {
                    match arg {
                        Arg::Buffer(b) => exec.set_arg(*b),
                        Arg::Int(v) => exec.set_arg(&(*v as cl_int)),
                        Arg::Mixed(v) => exec.set_arg(&(*v as cl_double)),
                    };
                }
            }
            let global = items.div_ceil(BLOCK) * BLOCK;
            // SAFETY: every argument was set above; the queue is in order.
            unsafe {
                exec.set_global_work_size(global)
                    .set_local_work_size(BLOCK)
                    .enqueue_nd_range(&self.queue)
            }
            .map(drop)
            .map_err(|e| device_error("clEnqueueNDRangeKernel", format!("{name}: {e}")))
        })
    }

    fn synchronize(&self) -> Result<()> {
        self.queue.finish().map_err(|e| device_error("clFinish", e))
    }
}
