//! Analysis kernels (contact maps, RMSD) for the cpu backend.

use super::CpuBackend;
use crate::analysis::kernels::AnalysisKernels;

impl AnalysisKernels for CpuBackend {}
