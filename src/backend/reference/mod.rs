//! The reference backend: straightforward loops, single-threaded, f64 where
//! it matters. Slow by design; every faster backend is tested against it.

mod analysis;
mod forces;
mod neighbors;
mod nn;

/// Plain reference kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceBackend;

impl super::HostDynamics for ReferenceBackend {}

impl super::Backend for ReferenceBackend {
    fn name(&self) -> &'static str {
        "reference"
    }
}
