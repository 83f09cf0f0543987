//! The small runtime contract a GPU vendor implements: compile, allocate,
//! copy, launch, synchronise. Everything above it ([`super::GpuBackend`] and
//! its kernels) is written once against this trait.

use std::collections::HashMap;
use std::sync::Mutex;

use super::source::Family;
use super::Precision;
use crate::error::{Error, Result};

/// One kernel argument.
#[derive(Debug)]
pub enum Arg<'a, B> {
    /// A device buffer.
    Buffer(&'a B),
    /// A 32-bit signed integer (`int`).
    Int(i32),
    /// A double (`mixed`).
    Mixed(f64),
}

// Copyable whatever the buffer type: a buffer argument is a reference.
impl<B> Clone for Arg<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for Arg<'_, B> {}

/// A GPU runtime: one device, one in-order queue.
pub trait Runtime: Send + Sync + Sized + 'static {
    /// Device memory.
    type Buffer: Send + Sync;
    /// A compiled program of kernels.
    type Module: Send + Sync;

    /// Lowercase runtime name (`opencl`, `cuda`, `hip`).
    const NAME: &'static str;

    /// The runtime's macro prelude (`KERNEL`, `GLOBAL`, `ATOMIC_ADD`, ...).
    const PRELUDE: &'static str;

    /// Human-readable device name.
    fn device_name(&self) -> String;

    /// Kernel family `family` at `precision`, ready to launch: compiled now
    /// from [`super::source::assemble`] with [`super::precision_defines`]
    /// (OpenCL, NVRTC), or the code object built ahead of time for this
    /// device's architecture (HIP).
    fn compile(&self, family: Family, precision: Precision) -> Result<Self::Module>;

    /// `bytes` bytes of device memory.
    fn alloc(&self, bytes: usize) -> Result<Self::Buffer>;

    /// Copy `data` to the start of `buffer` (blocking).
    fn upload(&self, buffer: &mut Self::Buffer, data: &[u8]) -> Result<()>;

    /// Copy the start of `buffer` into `data` (blocking; waits for the
    /// kernels queued before it).
    fn download(&self, buffer: &Self::Buffer, data: &mut [u8]) -> Result<()>;

    /// Queue kernel `name` of `module` over `items` work items (one
    /// dimension; the runtime picks the block size, which no kernel's
    /// result may depend on).
    fn launch(
        &self,
        module: &Self::Module,
        name: &str,
        items: usize,
        args: &[Arg<'_, Self::Buffer>],
    ) -> Result<()>;

    /// Wait for every queued command.
    fn synchronize(&self) -> Result<()>;
}

/// The kernels of a module by name, created on first use. The cache stays
/// locked while a launch uses one (OpenCL kernel arguments are state of the
/// kernel object), so concurrent launches of a module take turns.
pub struct KernelCache<T>(Mutex<HashMap<String, T>>);

impl<T> Default for KernelCache<T> {
    fn default() -> Self {
        KernelCache(Mutex::new(HashMap::new()))
    }
}

impl<T> KernelCache<T> {
    /// `launch` with kernel `name`, made by `create` the first time.
    pub fn with<O>(
        &self,
        backend: &'static str,
        name: &str,
        create: impl FnOnce() -> Result<T>,
        launch: impl FnOnce(&T) -> Result<O>,
    ) -> Result<O> {
        let mut kernels = self.0.lock().map_err(|_| Error::Device {
            backend,
            call: name.to_string(),
            message: "kernel cache lock poisoned".into(),
        })?;
        if !kernels.contains_key(name) {
            let kernel = create()?;
            kernels.insert(name.to_string(), kernel);
        }
        launch(&kernels[name])
    }
}

/// A typed device array over a runtime buffer.
pub struct DeviceVec<R: Runtime, T> {
    /// The buffer (at least `len` elements).
    pub buffer: R::Buffer,
    len: usize,
    _element: std::marker::PhantomData<T>,
}

impl<R: Runtime, T: bytemuck::Pod> DeviceVec<R, T> {
    /// A device array holding a copy of `data` (at least one element is
    /// allocated, so empty arrays are valid kernel arguments).
    pub fn from_slice(runtime: &R, data: &[T]) -> Result<Self> {
        let bytes = std::mem::size_of_val(data).max(std::mem::size_of::<T>());
        let mut buffer = runtime.alloc(bytes)?;
        if !data.is_empty() {
            runtime.upload(&mut buffer, bytemuck::cast_slice(data))?;
        }
        Ok(DeviceVec {
            buffer,
            len: data.len(),
            _element: std::marker::PhantomData,
        })
    }

    /// A device array of `len` zeroed elements.
    pub fn zeroed(runtime: &R, len: usize) -> Result<Self> {
        Self::from_slice(runtime, &vec![T::zeroed(); len])
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Overwrite with `data` (`data.len()` must equal [`DeviceVec::len`]).
    pub fn upload(&mut self, runtime: &R, data: &[T]) -> Result<()> {
        debug_assert_eq!(data.len(), self.len);
        runtime.upload(&mut self.buffer, bytemuck::cast_slice(data))
    }

    /// Copy into `out` (`out.len()` must equal [`DeviceVec::len`]).
    pub fn download(&self, runtime: &R, out: &mut [T]) -> Result<()> {
        debug_assert_eq!(out.len(), self.len);
        runtime.download(&self.buffer, bytemuck::cast_slice_mut(out))
    }

    /// This array as a kernel argument.
    pub fn arg(&self) -> Arg<'_, R::Buffer> {
        Arg::Buffer(&self.buffer)
    }
}
