//! The analysis kernel contract every backend implements.

/// Contact-map and RMSD kernels.
pub trait AnalysisKernels {}
