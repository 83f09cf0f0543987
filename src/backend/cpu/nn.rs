//! Neural-network kernels (convolutions, dense layers) for the cpu backend.

use super::CpuBackend;
use crate::nn::kernels::NnKernels;

impl NnKernels for CpuBackend {}
