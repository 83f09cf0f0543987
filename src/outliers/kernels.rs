//! The neighbour-search kernel contract every backend implements.

/// k-nearest-neighbour and radius-neighbour kernels.
pub trait NeighborKernels {}
