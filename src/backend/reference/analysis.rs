//! Analysis kernels (contact maps, RMSD) for the reference backend.

use super::ReferenceBackend;
use crate::analysis::kernels::AnalysisKernels;

impl AnalysisKernels for ReferenceBackend {}
