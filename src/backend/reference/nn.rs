//! Neural-network kernels (convolutions, dense layers) for the reference backend.

use super::ReferenceBackend;
use crate::nn::kernels::NnKernels;

impl NnKernels for ReferenceBackend {}
