//! The kernel families that do not run on the device yet (contact maps and
//! RMSD, the encoders, outlier detection): a GPU backend runs them with the
//! CPU backend's kernels, on the host.

use super::{GpuBackend, Runtime};
use crate::backend::cpu::CpuBackend;
use crate::backend::{AnalysisKernels, NeighborKernels, NnKernels};
use crate::error::Result;
use crate::nn::kernels::{Activation, Conv1dShape, Conv2dShape, LinearShape};
use crate::outliers::kernels::CoreQuery;
use crate::outliers::Knn;

impl<R: Runtime> AnalysisKernels for GpuBackend<R> {
    fn contact_maps(
        &self,
        coords: &[f32],
        n_frames: usize,
        n: usize,
        cutoff: f64,
        boxes: Option<&[[f32; 3]]>,
        out: &mut [u8],
    ) -> Result<()> {
        CpuBackend.contact_maps(coords, n_frames, n, cutoff, boxes, out)
    }

    fn rmsd(
        &self,
        reference: &[f32],
        coords: &[f32],
        n_frames: usize,
        n: usize,
        out: &mut [f32],
    ) -> Result<()> {
        CpuBackend.rmsd(reference, coords, n_frames, n, out)
    }
}

impl<R: Runtime> NnKernels for GpuBackend<R> {
    fn conv2d(
        &self,
        shape: &Conv2dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        CpuBackend.conv2d(shape, x, w, b, act, out)
    }

    fn conv1d(
        &self,
        shape: &Conv1dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        CpuBackend.conv1d(shape, x, w, b, act, out)
    }

    fn linear(
        &self,
        shape: &LinearShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        CpuBackend.linear(shape, x, w, b, act, out)
    }

    fn max_over_last_axis(
        &self,
        rows: usize,
        len: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<()> {
        CpuBackend.max_over_last_axis(rows, len, x, out)
    }
}

impl<R: Runtime> NeighborKernels for GpuBackend<R> {
    fn knn(&self, points: &[f32], dim: usize, k: usize) -> Result<Knn> {
        CpuBackend.knn(points, dim, k)
    }

    fn knn_part(
        &self,
        points: &[f32],
        dim: usize,
        k: usize,
        part: usize,
        parts: usize,
    ) -> Result<(Vec<u32>, Knn)> {
        CpuBackend.knn_part(points, dim, k, part, parts)
    }

    fn radius_counts(&self, points: &[f32], dim: usize, eps: f64, cap: usize) -> Result<Vec<u32>> {
        CpuBackend.radius_counts(points, dim, eps, cap)
    }

    fn core_components(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        is_core: &[bool],
    ) -> Result<Vec<u32>> {
        CpuBackend.core_components(points, dim, eps, is_core)
    }

    fn core_components_part(
        &self,
        points: &[f32],
        dim: usize,
        q: &CoreQuery<'_>,
    ) -> Result<Vec<u32>> {
        CpuBackend.core_components_part(points, dim, q)
    }

    fn border_roots(
        &self,
        points: &[f32],
        dim: usize,
        eps: f64,
        core_root: &[u32],
        queries: &[u32],
    ) -> Result<Vec<u32>> {
        CpuBackend.border_roots(points, dim, eps, core_root, queries)
    }
}
