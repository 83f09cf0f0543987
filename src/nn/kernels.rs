//! The neural-network kernel contract every backend implements.

/// Convolution and dense-layer kernels.
pub trait NnKernels {}
