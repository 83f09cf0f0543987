//! The rayon-parallel CPU backend. Kernel implementations live in one file per
//! domain beside this one.

mod analysis;
mod forces;
mod multiversion;
mod neighbors;
mod nn;
mod qcp;

/// Fast CPU kernels (rayon thread pool, f32 data with f64 where accuracy needs it).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl super::HostDynamics for CpuBackend {}

impl super::Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }
}
