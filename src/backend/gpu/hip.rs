//! The HIP runtime (feature `hip`, crate `hip-sys`): AMD GPUs. The kernels
//! are code objects built ahead of time by `hipcc --genco` in build.rs for
//! each architecture of `STEERMD_HIP_ARCHS` (default gfx90a, gfx942); a
//! device loads the first one its architecture accepts. All work goes to
//! the null stream of the device, in order.

use std::ffi::{c_void, CStr};

use hip_sys::hiprt as sys;

use super::runtime::{Arg, KernelCache, Runtime};
use super::source::Family;
use super::Precision;
use crate::error::{Error, Result};

mod objects {
    include!(concat!(env!("OUT_DIR"), "/hip_code_objects.rs"));
}

/// The code objects this build embeds: (family, precision, architecture,
/// bytes), for every family and precision and each architecture built.
pub fn code_objects() -> Vec<(Family, Precision, &'static str, usize)> {
    let mut out = Vec::new();
    for family in Family::ALL {
        for precision in [Precision::Mixed, Precision::Double] {
            for arch in objects::ARCHS.split(',').map(str::trim) {
                if let Some(image) = objects::code_object(family.file(), precision.name(), arch) {
                    out.push((family, precision, arch, image.len()));
                }
            }
        }
    }
    out
}

/// The architectures of `STEERMD_HIP_ARCHS` this build was made with.
pub fn architectures() -> Vec<&'static str> {
    objects::ARCHS.split(',').map(str::trim).collect()
}

/// Threads per block of every launch (results never depend on it).
const BLOCK: u32 = 64;

/// One HIP device.
pub struct Hip {
    ordinal: i32,
}

/// Device memory from `hipMalloc`, freed on drop.
pub struct HipBuffer {
    ptr: *mut c_void,
}

// SAFETY: a device pointer is an address in the device's memory, usable
// from any host thread; the runtime serialises access through the queue.
unsafe impl Send for HipBuffer {}
// SAFETY: as above; shared references only read the address.
unsafe impl Sync for HipBuffer {}

impl Drop for HipBuffer {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from hipMalloc and is freed exactly once.
        unsafe {
            sys::hipFree(self.ptr);
        }
    }
}

/// A loaded module and its functions (looked up on first use).
pub struct HipModule {
    module: sys::hipModule_t,
    /// Function handles, as addresses (the raw pointers are not `Send`).
    functions: KernelCache<usize>,
}

// SAFETY: module and function handles are process-wide HIP objects, valid
// from any thread of the process.
unsafe impl Send for HipModule {}
// SAFETY: as above; the function cache is behind a mutex.
unsafe impl Sync for HipModule {}

fn check(call: &str, status: sys::hipError_t) -> Result<()> {
    if status == sys::hipError_t::hipSuccess {
        return Ok(());
    }
    // SAFETY: hipGetErrorString returns a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(sys::hipGetErrorString(status)) };
    Err(Error::Device {
        backend: "hip",
        call: call.to_string(),
        message: format!("{status:?}: {}", text.to_string_lossy()),
    })
}

/// Number of HIP devices (0 without a driver).
pub fn device_count() -> usize {
    let mut count = 0;
    // SAFETY: plain runtime calls with a valid out-pointer.
    let ok = unsafe {
        sys::hipInit(0) == sys::hipError_t::hipSuccess
            && sys::hipGetDeviceCount(&mut count) == sys::hipError_t::hipSuccess
    };
    if ok {
        count.max(0) as usize
    } else {
        0
    }
}

impl Hip {
    /// Open device `ordinal`.
    pub fn open(ordinal: usize) -> Result<Hip> {
        let unavailable = |reason: String| Error::BackendUnavailable {
            backend: "hip",
            reason,
        };
        // SAFETY: plain runtime calls with valid out-pointers.
        let count = unsafe {
            if sys::hipInit(0) != sys::hipError_t::hipSuccess {
                return Err(unavailable(
                    "no usable AMD GPU driver (hipInit failed)".into(),
                ));
            }
            let mut count = 0;
            check("hipGetDeviceCount", sys::hipGetDeviceCount(&mut count))?;
            count
        };
        let ordinal = i32::try_from(ordinal)
            .ok()
            .filter(|&o| o < count)
            .ok_or_else(|| {
                unavailable(format!("no HIP device {ordinal}: this machine has {count}"))
            })?;
        Ok(Hip { ordinal })
    }

    fn bind(&self) -> Result<()> {
        // SAFETY: the ordinal was checked against the device count.
        check("hipSetDevice", unsafe { sys::hipSetDevice(self.ordinal) })
    }
}

impl Runtime for Hip {
    type Buffer = HipBuffer;
    type Module = HipModule;

    const NAME: &'static str = "hip";
    const PRELUDE: &'static str = include_str!("../../../kernels/prelude/hip.h");

    fn device_name(&self) -> String {
        let mut name = [0 as std::ffi::c_char; 256];
        // SAFETY: the buffer's length is passed; the result is NUL-terminated.
        let ok = unsafe { sys::hipDeviceGetName(name.as_mut_ptr(), 256, self.ordinal) };
        if ok != sys::hipError_t::hipSuccess {
            return String::new();
        }
        // SAFETY: NUL-terminated within the buffer (written by HIP).
        unsafe { CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    fn compile(&self, family: Family, precision: Precision) -> Result<HipModule> {
        self.bind()?;
        let mut tried = Vec::new();
        for arch in objects::ARCHS.split(',').map(str::trim) {
            let Some(image) = objects::code_object(family.file(), precision.name(), arch) else {
                continue;
            };
            let mut module = std::ptr::null_mut();
            // SAFETY: `image` is a complete code object embedded in the
            // binary; HIP copies what it needs.
            let status = unsafe { sys::hipModuleLoadData(&mut module, image.as_ptr().cast()) };
            if status == sys::hipError_t::hipSuccess {
                return Ok(HipModule {
                    module,
                    functions: KernelCache::default(),
                });
            }
            tried.push(format!("{arch}: {status:?}"));
        }
        Err(Error::Device {
            backend: "hip",
            call: "hipModuleLoadData".into(),
            message: format!(
                "no code object for this device among the architectures built ({}); rebuild with STEERMD_HIP_ARCHS including it",
                tried.join(", ")
            ),
        })
    }

    fn alloc(&self, bytes: usize) -> Result<HipBuffer> {
        self.bind()?;
        let mut ptr = std::ptr::null_mut();
        // SAFETY: valid out-pointer; ownership goes to the returned value.
        check("hipMalloc", unsafe {
            sys::hipMalloc(&mut ptr, bytes.max(1))
        })?;
        Ok(HipBuffer { ptr })
    }

    fn upload(&self, buffer: &mut HipBuffer, data: &[u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: `data` is valid for its length and the buffer at least as
        // large (DeviceVec sizes it); hipMemcpy is synchronous.
        check("hipMemcpyHtoD", unsafe {
            sys::hipMemcpy(
                buffer.ptr,
                data.as_ptr().cast(),
                data.len(),
                sys::hipMemcpyKind::hipMemcpyHostToDevice,
            )
        })
    }

    fn download(&self, buffer: &HipBuffer, data: &mut [u8]) -> Result<()> {
        self.bind()?;
        // SAFETY: as for upload, in the other direction; waits for the
        // kernels queued before it on the null stream.
        check("hipMemcpyDtoH", unsafe {
            sys::hipMemcpy(
                data.as_mut_ptr().cast(),
                buffer.ptr,
                data.len(),
                sys::hipMemcpyKind::hipMemcpyDeviceToHost,
            )
        })
    }

    fn launch(
        &self,
        module: &HipModule,
        name: &str,
        items: usize,
        args: &[Arg<'_, HipBuffer>],
    ) -> Result<()> {
        if items == 0 {
            return Ok(());
        }
        self.bind()?;
        let create = || {
            let c_name = std::ffi::CString::new(name).map_err(|_| Error::Device {
                backend: "hip",
                call: "hipModuleGetFunction".into(),
                message: format!("kernel name {name:?} contains NUL"),
            })?;
            let mut f = std::ptr::null_mut();
            // SAFETY: valid module handle and NUL-terminated name.
            check("hipModuleGetFunction", unsafe {
                sys::hipModuleGetFunction(&mut f, module.module, c_name.as_ptr())
            })?;
            Ok(f as usize)
        };
        let function = module
            .functions
            .with("hip", name, create, |&f| Ok(f as sys::hipFunction_t))?;
        // Argument values live here until the launch returns; HIP copies
        // them at launch.
        enum Value {
            Ptr(*mut c_void),
            Int(i32),
            Double(f64),
        }
        let mut values: Vec<Value> = args
            .iter()
            .map(|a| match a {
                Arg::Buffer(b) => Value::Ptr(b.ptr),
                Arg::Int(v) => Value::Int(*v),
                Arg::Mixed(v) => Value::Double(*v),
            })
            .collect();
        let mut pointers: Vec<*mut c_void> = values
            .iter_mut()
            .map(|v| match v {
                Value::Ptr(p) => (p as *mut *mut c_void).cast(),
                Value::Int(i) => (i as *mut i32).cast(),
                Value::Double(d) => (d as *mut f64).cast(),
            })
            .collect();
        let blocks = u32::try_from(items.div_ceil(BLOCK as usize)).map_err(|_| Error::Device {
            backend: "hip",
            call: name.to_string(),
            message: format!("{items} work items"),
        })?;
        // SAFETY: `pointers` holds one pointer per kernel parameter, in
        // order, to values of the parameter's type (int, double, device
        // pointer: kernel sources and callers are written together), alive
        // across the call.
        check("hipModuleLaunchKernel", unsafe {
            sys::hipModuleLaunchKernel(
                function,
                blocks,
                1,
                1,
                BLOCK,
                1,
                1,
                0,
                std::ptr::null_mut(),
                pointers.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        })
    }

    fn synchronize(&self) -> Result<()> {
        self.bind()?;
        // SAFETY: plain runtime call.
        check("hipDeviceSynchronize", unsafe {
            sys::hipDeviceSynchronize()
        })
    }
}
