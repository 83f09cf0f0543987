//! CPU force kernels (rayon, neighbour lists).

use crate::error::{Error, Result};
use crate::forcefield::{ForceEvaluator, ForceKernels, System};

impl ForceKernels for super::CpuBackend {
    fn force_evaluator(&self, _system: &System) -> Result<Box<dyn ForceEvaluator>> {
        Err(Error::InvalidArgument(
            "cpu force kernels: not implemented yet".into(),
        ))
    }
}
