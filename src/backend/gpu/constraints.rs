//! The constraint clusters of a simulation on the device, and the launches
//! of kernels/constraints.k over them.

use super::runtime::{Arg, DeviceVec, Runtime};
use super::source::Family;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::integrate::Constraints;

/// The clusters of [`Constraints`] in device arrays.
pub(super) struct DeviceConstraints<R: Runtime> {
    clusters: usize,
    start: DeviceVec<R, i32>,
    pairs: DeviceVec<R, i32>,
    dist: DeviceVec<R, f64>,
    atom_start: DeviceVec<R, i32>,
    atoms: DeviceVec<R, i32>,
    is_water: DeviceVec<R, i32>,
    waters: usize,
    water_atoms: DeviceVec<R, i32>,
    water_params: DeviceVec<R, f64>,
    /// Unconstrained positions of SHAKE's atoms, nm.
    saved: DeviceVec<R, f64>,
}

/// The per-step arguments of a constraint launch.
pub(super) struct Solve<'a, R: Runtime> {
    /// The `status` word of kernels/integrate.k.
    pub status: &'a DeviceVec<R, i32>,
    /// Step number within the batch, written to `status` on failure.
    pub step: i32,
    /// 1/mass per particle, 1/amu.
    pub inv_mass: &'a DeviceVec<R, f64>,
    /// Relative tolerance.
    pub tolerance: f64,
    /// Iteration limit of the iterative solvers.
    pub max_iterations: usize,
}

fn int(value: usize, what: &str) -> Result<i32> {
    i32::try_from(value).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} {value} exceeds the device's 32-bit indices"
        ))
    })
}

impl<R: Runtime> DeviceConstraints<R> {
    /// Upload the clusters of `constraints` for a system of `n` particles.
    pub fn new(rt: &R, constraints: &Constraints, n: usize) -> Result<Self> {
        let (mut start, mut pairs, mut dist) = (vec![0], Vec::new(), Vec::new());
        let (mut atom_start, mut atoms, mut is_water) = (vec![0], Vec::new(), Vec::new());
        let (mut water_atoms, mut water_params) = (Vec::new(), Vec::new());
        for c in constraints.clusters() {
            let mut members = Vec::new();
            for &(a, b) in c.pairs() {
                pairs.extend([int(a, "particle")?, int(b, "particle")?]);
                members.extend([a, b]);
            }
            dist.extend_from_slice(c.distances());
            members.sort_unstable();
            members.dedup();
            for a in members {
                atoms.push(int(a, "particle")?);
            }
            start.push(int(pairs.len() / 2, "constraint count")?);
            atom_start.push(int(atoms.len(), "constraint atom count")?);
            is_water.push(i32::from(c.is_settle()));
            if let Some(w) = c.water() {
                for a in [w.o, w.h1, w.h2] {
                    water_atoms.push(int(a, "particle")?);
                }
                water_params.extend([w.d_apex, w.d_outer, w.m_o, w.m_h]);
            }
        }
        Ok(DeviceConstraints {
            clusters: constraints.n_clusters(),
            start: DeviceVec::from_slice(rt, &start)?,
            pairs: DeviceVec::from_slice(rt, &pairs)?,
            dist: DeviceVec::from_slice(rt, &dist)?,
            atom_start: DeviceVec::from_slice(rt, &atom_start)?,
            atoms: DeviceVec::from_slice(rt, &atoms)?,
            is_water: DeviceVec::from_slice(rt, &is_water)?,
            waters: constraints.n_settle(),
            water_atoms: DeviceVec::from_slice(rt, &water_atoms)?,
            water_params: DeviceVec::from_slice(rt, &water_params)?,
            saved: DeviceVec::zeroed(rt, 3 * n)?,
        })
    }

    /// Whether there is nothing to constrain.
    pub fn is_empty(&self) -> bool {
        self.clusters == 0
    }

    /// Constrain the drifted positions `x` (nm) with the bond directions of
    /// `x_ref`, adding the displacement over `dt` (ps) to `v` (nm/ps).
    pub fn positions(
        &self,
        backend: &GpuBackend<R>,
        solve: &Solve<'_, R>,
        dt: f64,
        [x_ref, x, v]: [&DeviceVec<R, f64>; 3],
    ) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let module = backend.module(Family::Constraints)?;
        let rt = backend.runtime();
        let shaken = self.clusters - self.waters;
        if shaken > 0 {
            rt.launch(
                &module,
                "shake_positions",
                self.clusters,
                &[
                    Arg::Int(int(self.clusters, "cluster count")?),
                    solve.status.arg(),
                    Arg::Int(solve.step),
                    self.start.arg(),
                    self.pairs.arg(),
                    self.dist.arg(),
                    self.atom_start.arg(),
                    self.atoms.arg(),
                    self.is_water.arg(),
                    solve.inv_mass.arg(),
                    Arg::Mixed(solve.tolerance),
                    Arg::Int(int(solve.max_iterations, "iteration limit")?),
                    Arg::Mixed(dt),
                    x_ref.arg(),
                    x.arg(),
                    self.saved.arg(),
                    v.arg(),
                ],
            )?;
        }
        if self.waters > 0 {
            rt.launch(
                &module,
                "settle_positions",
                self.waters,
                &[
                    Arg::Int(int(self.waters, "water count")?),
                    solve.status.arg(),
                    Arg::Int(solve.step),
                    self.water_atoms.arg(),
                    self.water_params.arg(),
                    solve.inv_mass.arg(),
                    Arg::Mixed(solve.tolerance),
                    Arg::Mixed(dt),
                    x_ref.arg(),
                    x.arg(),
                    v.arg(),
                ],
            )?;
        }
        Ok(())
    }

    /// Remove the components of `v` (nm/ps) along the constraints at `x`
    /// (nm).
    pub fn velocities(
        &self,
        backend: &GpuBackend<R>,
        solve: &Solve<'_, R>,
        x: &DeviceVec<R, f64>,
        v: &DeviceVec<R, f64>,
    ) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let module = backend.module(Family::Constraints)?;
        backend.runtime().launch(
            &module,
            "rattle_velocities",
            self.clusters,
            &[
                Arg::Int(int(self.clusters, "cluster count")?),
                solve.status.arg(),
                Arg::Int(solve.step),
                self.start.arg(),
                self.pairs.arg(),
                solve.inv_mass.arg(),
                Arg::Mixed(solve.tolerance),
                Arg::Int(int(solve.max_iterations, "iteration limit")?),
                x.arg(),
                v.arg(),
            ],
        )
    }
}
