//! Neighbour-search kernels (k-nearest neighbours, radius queries) for the cpu backend.

use super::CpuBackend;
use crate::outliers::kernels::NeighborKernels;

impl NeighborKernels for CpuBackend {}
