//! Neighbour-search kernels (k-nearest neighbours, radius queries) for the reference backend.

use super::ReferenceBackend;
use crate::outliers::kernels::NeighborKernels;

impl NeighborKernels for ReferenceBackend {}
