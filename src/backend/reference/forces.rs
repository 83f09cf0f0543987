//! Reference force kernels: all pairs, plain loops, f64.

use crate::error::{Error, Result};
use crate::forcefield::{ForceEvaluator, ForceKernels, System};

impl ForceKernels for super::ReferenceBackend {
    fn force_evaluator(&self, _system: &System) -> Result<Box<dyn ForceEvaluator>> {
        Err(Error::InvalidArgument(
            "reference force kernels: not implemented yet".into(),
        ))
    }
}
