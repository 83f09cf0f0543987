//! The device force evaluator: every force the CPU backend supports, on the
//! kernels of `kernels/`, through any [`Runtime`].
//!
//! One evaluation: upload positions and box, zero the fixed-point force
//! array, launch each selected force's kernels, reduce every force's energy
//! slots in a fixed order, download the partial sums and the forces. Both
//! the fixed-point force sums and the chunked energy sums are independent
//! of the launch configuration, so a run is bitwise reproducible on a
//! device. Cutoff forces walk a device neighbour list (neighbors.rs), which
//! leaves their results bitwise those of an all-pairs walk.

use std::sync::Arc;

use super::neighbors::{NeighborList, NeighborSettings, Stop};
use super::runtime::{Arg, DeviceVec, Runtime};
use super::source::Family;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::forcefield::kernels::{check_box_for_cutoff, need_box};
use crate::forcefield::terms::{
    box_volume, dispersion_coefficient, lj_half_params, reaction_field, GbConstants,
};
use crate::forcefield::{
    BoxVectors, ForceEvaluator, ForceKind, ForceOutput, GbsaObcForce, NonbondedForce, ObcFlavor,
    System, ONE_4PI_EPS0,
};

/// Fixed-point units per kJ/mol/nm (`FORCE_SCALE` of kernels/common.h).
const FORCE_SCALE: f64 = 4294967296.0;

/// `ENERGY_CHUNK` of kernels/reduce.k.
const ENERGY_CHUNK: usize = 256;

/// A contiguous range of energy slots.
#[derive(Clone, Copy, Debug)]
struct Slots {
    start: usize,
    count: usize,
}

/// Hands out energy slots and partial-sum indices as forces are uploaded.
#[derive(Default)]
struct SlotPlan {
    slots: usize,
    partials: usize,
}

impl SlotPlan {
    fn take(&mut self, count: usize) -> (Slots, usize) {
        let s = Slots {
            start: self.slots,
            count,
        };
        let p = self.partials;
        self.slots += count;
        self.partials += count.div_ceil(ENERGY_CHUNK);
        (s, p)
    }
}

/// A list of bonded-style terms: atom indices and parameters per term,
/// computed by a kernel with the term kernels' shared signature.
struct TermList<R: Runtime> {
    family: Family,
    kernel: &'static str,
    count: usize,
    atoms: DeviceVec<R, i32>,
    params: DeviceVec<R, f64>,
    periodic: bool,
    slots: Slots,
    partial: usize,
}

struct NonbondedData<R: Runtime> {
    name: String,
    force: NonbondedForce,
    params: DeviceVec<R, f64>,
    excl_start: DeviceVec<R, i32>,
    excl: DeviceVec<R, i32>,
    rows: Slots,
    rows_partial: usize,
    exceptions: TermList<R>,
    dispersion: f64,
}

impl<R: Runtime> NonbondedData<R> {
    /// The long-range dispersion correction in `box_vectors` (kJ/mol; 0
    /// without a periodic method or a box).
    fn dispersion_energy(&self, box_vectors: Option<&BoxVectors>) -> f64 {
        match box_vectors {
            Some(b) if self.force.method.is_periodic() => self.dispersion / box_volume(b),
            _ => 0.0,
        }
    }
}

struct GbData<R: Runtime> {
    name: String,
    force: GbsaObcForce,
    params: DeviceVec<R, f64>,
    born: DeviceVec<R, f64>,
    chain: DeviceVec<R, f64>,
    de_db: DeviceVec<R, f64>,
    rows: Slots,
    rows_partial: usize,
}

enum DeviceForce<R: Runtime> {
    Terms(TermList<R>),
    Nonbonded(Box<NonbondedData<R>>),
    Gb(Box<GbData<R>>),
    /// No energy or force (CMMotionRemover acts in the integrator).
    Nothing,
}

/// Forces of one system on one device.
pub struct GpuForces<R: Runtime> {
    backend: Arc<GpuBackend<R>>,
    system: System,
    forces: Vec<DeviceForce<R>>,
    /// The list of the cutoff forces, if there are any and it is enabled.
    neighbors: Option<NeighborList<R>>,
    positions: DeviceVec<R, f64>,
    box_vectors: DeviceVec<R, f64>,
    fixed: DeviceVec<R, i64>,
    energy: DeviceVec<R, f64>,
    partials: DeviceVec<R, f64>,
    host_fixed: Vec<i64>,
    host_partials: Vec<f64>,
}

fn index(i: usize) -> i32 {
    i32::try_from(i).expect("particle indices fit in i32 (checked at upload)")
}

fn term_list<R: Runtime>(
    rt: &R,
    (family, kernel): (Family, &'static str),
    atoms: Vec<i32>,
    params: Vec<f64>,
    count: usize,
    periodic: bool,
    plan: &mut SlotPlan,
) -> Result<TermList<R>> {
    let (slots, partial) = plan.take(count);
    Ok(TermList {
        family,
        kernel,
        count,
        atoms: DeviceVec::from_slice(rt, &atoms)?,
        params: DeviceVec::from_slice(rt, &params)?,
        periodic,
        slots,
        partial,
    })
}

fn nonbonded_data<R: Runtime>(
    rt: &R,
    name: &str,
    nb: &NonbondedForce,
    plan: &mut SlotPlan,
) -> Result<NonbondedData<R>> {
    let n = nb.particles.len();
    let sqrt_k = ONE_4PI_EPS0.sqrt();
    let params: Vec<f64> = nb
        .particles
        .iter()
        .flat_map(|p| {
            let (s, e) = lj_half_params(p.sigma, p.epsilon);
            [s, e, sqrt_k * p.charge]
        })
        .collect();
    let mut partners = vec![Vec::new(); n];
    for x in &nb.exceptions {
        partners[x.i].push(index(x.j));
        partners[x.j].push(index(x.i));
    }
    let mut excl_start = Vec::with_capacity(n + 1);
    let mut excl = Vec::new();
    for p in &mut partners {
        p.sort_unstable();
        p.dedup();
        excl_start.push(index(excl.len()));
        excl.extend_from_slice(p);
    }
    excl_start.push(index(excl.len()));
    let live: Vec<_> = nb
        .exceptions
        .iter()
        .filter(|x| !(x.charge_prod == 0.0 && x.epsilon == 0.0))
        .collect();
    let atoms = live.iter().flat_map(|x| [index(x.i), index(x.j)]).collect();
    let xparams = live
        .iter()
        .flat_map(|x| [x.sigma, 4.0 * x.epsilon, ONE_4PI_EPS0 * x.charge_prod])
        .collect();
    let (rows, rows_partial) = plan.take(n);
    let exceptions = term_list(
        rt,
        (Family::Nonbonded, "nonbonded_exceptions"),
        atoms,
        xparams,
        live.len(),
        false,
        plan,
    )?;
    Ok(NonbondedData {
        name: name.to_string(),
        force: nb.clone(),
        params: DeviceVec::from_slice(rt, &params)?,
        excl_start: DeviceVec::from_slice(rt, &excl_start)?,
        excl: DeviceVec::from_slice(rt, &excl)?,
        rows,
        rows_partial,
        exceptions,
        dispersion: dispersion_coefficient(nb),
    })
}

fn gb_data<R: Runtime>(
    rt: &R,
    name: &str,
    g: &GbsaObcForce,
    plan: &mut SlotPlan,
) -> Result<GbData<R>> {
    let n = g.particles.len();
    let params: Vec<f64> = g
        .particles
        .iter()
        .flat_map(|p| {
            let or = p.radius - g.offset;
            [p.charge, p.radius, or, or * p.scale, 0.0, 0.0]
        })
        .collect();
    let (rows, rows_partial) = plan.take(n);
    Ok(GbData {
        name: name.to_string(),
        force: g.clone(),
        params: DeviceVec::from_slice(rt, &params)?,
        born: DeviceVec::zeroed(rt, n)?,
        chain: DeviceVec::zeroed(rt, n)?,
        de_db: DeviceVec::zeroed(rt, n)?,
        rows,
        rows_partial,
    })
}

fn upload_force<R: Runtime>(
    rt: &R,
    name: &str,
    kind: &ForceKind,
    plan: &mut SlotPlan,
) -> Result<DeviceForce<R>> {
    Ok(match kind {
        ForceKind::HarmonicBond(b) => DeviceForce::Terms(term_list(
            rt,
            (Family::Bonded, "harmonic_bonds"),
            b.bonds
                .iter()
                .flat_map(|t| [index(t.i), index(t.j)])
                .collect(),
            b.bonds.iter().flat_map(|t| [t.length, t.k]).collect(),
            b.bonds.len(),
            b.periodic,
            plan,
        )?),
        ForceKind::HarmonicAngle(a) => DeviceForce::Terms(term_list(
            rt,
            (Family::Bonded, "harmonic_angles"),
            a.angles.iter().flat_map(|t| t.ijk.map(index)).collect(),
            a.angles.iter().flat_map(|t| [t.angle, t.k]).collect(),
            a.angles.len(),
            a.periodic,
            plan,
        )?),
        ForceKind::PeriodicTorsion(t) => DeviceForce::Terms(term_list(
            rt,
            (Family::Bonded, "periodic_torsions"),
            t.torsions.iter().flat_map(|x| x.ijkl.map(index)).collect(),
            t.torsions
                .iter()
                .flat_map(|x| [f64::from(x.periodicity), x.phase, x.k])
                .collect(),
            t.torsions.len(),
            t.periodic,
            plan,
        )?),
        ForceKind::Nonbonded(nb) => {
            DeviceForce::Nonbonded(Box::new(nonbonded_data(rt, name, nb, plan)?))
        }
        ForceKind::GbsaObc(g) => DeviceForce::Gb(Box::new(gb_data(rt, name, g, plan)?)),
        ForceKind::CmMotionRemover { .. } => DeviceForce::Nothing,
    })
}

/// A 0/1 `int` kernel argument.
fn int_flag<B>(b: bool) -> Arg<'static, B> {
    Arg::Int(i32::from(b))
}

/// The neighbour list `system`'s cutoff forces share: the largest cutoff
/// (nm), periodic if any of them is; `None` without cutoff forces.
fn list_extent(system: &System) -> Option<(f64, bool)> {
    system
        .forces
        .iter()
        .filter_map(|f| match &f.kind {
            ForceKind::Nonbonded(nb) if nb.method.has_cutoff() => {
                Some((nb.cutoff, nb.method.is_periodic()))
            }
            ForceKind::GbsaObc(g) if g.method.has_cutoff() => {
                Some((g.cutoff, g.method.is_periodic()))
            }
            _ => None,
        })
        .reduce(|(c, p), (d, q)| (c.max(d), p || q))
}

impl<R: Runtime> GpuForces<R> {
    /// Upload `system` (validated) to the device of `backend`, with the
    /// default neighbour list.
    pub fn new(backend: Arc<GpuBackend<R>>, system: &System) -> Result<Self> {
        Self::with_neighbors(backend, system, &NeighborSettings::default())
    }

    /// Upload `system` (validated) to the device of `backend`, its cutoff
    /// forces walking a neighbour list built as `settings` say.
    pub fn with_neighbors(
        backend: Arc<GpuBackend<R>>,
        system: &System,
        settings: &NeighborSettings,
    ) -> Result<Self> {
        let n = system.n_particles();
        if i32::try_from(3 * n).is_err() {
            return Err(Error::InvalidArgument(format!(
                "{n} particles: the device kernels index atoms with 32-bit integers"
            )));
        }
        let rt = backend.runtime();
        let mut plan = SlotPlan::default();
        let forces = system
            .forces
            .iter()
            .map(|f| upload_force(rt, &f.name, &f.kind, &mut plan))
            .collect::<Result<Vec<_>>>()?;
        let neighbors = match list_extent(system) {
            Some((cutoff, periodic)) if settings.enabled => {
                Some(NeighborList::new(rt, n, cutoff, periodic, settings)?)
            }
            _ => None,
        };
        Ok(GpuForces {
            neighbors,
            positions: DeviceVec::zeroed(rt, 3 * n)?,
            box_vectors: DeviceVec::zeroed(rt, 9)?,
            fixed: DeviceVec::zeroed(rt, 3 * n)?,
            energy: DeviceVec::zeroed(rt, plan.slots)?,
            partials: DeviceVec::zeroed(rt, plan.partials)?,
            host_fixed: vec![0; 3 * n],
            host_partials: vec![0.0; plan.partials],
            forces,
            system: system.clone(),
            backend,
        })
    }

    fn launch(
        &self,
        family: Family,
        name: &str,
        items: usize,
        args: &[Arg<'_, R::Buffer>],
    ) -> Result<()> {
        let module = self.backend.module(family)?;
        self.backend.runtime().launch(&module, name, items, args)
    }

    /// The row kernels' `nl_list, nl_count, nl_cap` for a force with or
    /// without a cutoff (cap 0: walk every atom; the buffers are then any
    /// valid ones).
    fn list_args(&self, cutoff: bool) -> [Arg<'_, R::Buffer>; 3] {
        match &self.neighbors {
            Some(nl) if cutoff => nl.row_args(),
            _ => [self.energy.arg(), self.energy.arg(), Arg::Int(0)],
        }
    }

    fn run_terms(&self, x: &DeviceVec<R, f64>, t: &TermList<R>) -> Result<()> {
        let args = [
            Arg::Int(index(t.count)),
            t.atoms.arg(),
            t.params.arg(),
            x.arg(),
            self.box_vectors.arg(),
            int_flag(t.periodic),
            self.fixed.arg(),
            self.energy.arg(),
            Arg::Int(index(t.slots.start)),
        ];
        self.launch(t.family, t.kernel, t.count, &args)
    }

    fn run_nonbonded(
        &self,
        x: &DeviceVec<R, f64>,
        d: &NonbondedData<R>,
        pbox: Option<&BoxVectors>,
    ) -> Result<()> {
        let nb = &d.force;
        if let Some(b) = pbox {
            check_box_for_cutoff(&d.name, b, nb.cutoff)?;
        }
        let cutoff = nb.method.has_cutoff();
        let (krf, crf) = if cutoff {
            reaction_field(nb.cutoff, nb.reaction_field_dielectric)
        } else {
            (0.0, 0.0)
        };
        let (switched, sw_start, sw_inv) = match (cutoff, nb.switch_distance) {
            (true, Some(rs)) => (true, rs, 1.0 / (nb.cutoff - rs)),
            _ => (false, 0.0, 0.0),
        };
        let n = nb.particles.len();
        let head = [
            Arg::Int(index(n)),
            x.arg(),
            self.box_vectors.arg(),
            int_flag(nb.method.is_periodic()),
            d.params.arg(),
            d.excl_start.arg(),
            d.excl.arg(),
            int_flag(cutoff),
            Arg::Mixed(nb.cutoff * nb.cutoff),
            Arg::Mixed(krf),
            Arg::Mixed(crf),
            int_flag(switched),
            Arg::Mixed(sw_start),
            Arg::Mixed(sw_inv),
        ];
        let tail = [
            self.fixed.arg(),
            self.energy.arg(),
            Arg::Int(index(d.rows.start)),
        ];
        let args = [&head[..], &self.list_args(cutoff), &tail].concat();
        self.launch(Family::Nonbonded, "nonbonded_rows", n, &args)?;
        self.run_terms(x, &d.exceptions)
    }

    fn run_gb(
        &self,
        x: &DeviceVec<R, f64>,
        d: &GbData<R>,
        pbox: Option<&BoxVectors>,
    ) -> Result<()> {
        let g = &d.force;
        if let Some(b) = pbox {
            check_box_for_cutoff(&d.name, b, g.cutoff)?;
        }
        let n = g.particles.len();
        let engulfed = int_flag(g.flavor == ObcFlavor::GbsaObcForce);
        let c = GbConstants::new(g);
        // The arguments every GB pass starts with (kernels/gbsa.k).
        let [list, count, cap] = self.list_args(g.method.has_cutoff());
        let head = [
            Arg::Int(index(n)),
            x.arg(),
            self.box_vectors.arg(),
            int_flag(g.method.is_periodic()),
            d.params.arg(),
            int_flag(g.method.has_cutoff()),
            Arg::Mixed(g.cutoff * g.cutoff),
            list,
            count,
            cap,
        ];
        let born = [&head[..], &[engulfed, d.born.arg(), d.chain.arg()]].concat();
        self.launch(Family::Gbsa, "gb_born_rows", n, &born)?;
        let energy_tail = [
            Arg::Mixed(c.k),
            Arg::Mixed(c.inv_solute),
            Arg::Mixed(c.inv_solvent),
            Arg::Mixed(c.kappa),
            Arg::Mixed(c.shift),
            Arg::Mixed(4.0 * std::f64::consts::PI * g.surface_area_energy),
            Arg::Mixed(g.probe_radius),
            d.born.arg(),
            d.de_db.arg(),
            self.fixed.arg(),
            self.energy.arg(),
            Arg::Int(index(d.rows.start)),
        ];
        let energy = [&head[..], &energy_tail].concat();
        self.launch(Family::Gbsa, "gb_energy_rows", n, &energy)?;
        let chain_tail = [
            engulfed,
            d.born.arg(),
            d.chain.arg(),
            d.de_db.arg(),
            self.fixed.arg(),
        ];
        let chain = [&head[..], &chain_tail].concat();
        self.launch(Family::Gbsa, "gb_chain_rows", n, &chain)
    }

    fn reduce(&self, slots: Slots, partial: usize) -> Result<()> {
        self.launch(
            Family::Reduce,
            "reduce_energy",
            slots.count.div_ceil(ENERGY_CHUNK),
            &[
                Arg::Int(index(slots.start)),
                Arg::Int(index(slots.count)),
                self.energy.arg(),
                Arg::Int(index(partial)),
                self.partials.arg(),
            ],
        )
    }

    /// Sum of the partials of `count` slots starting at partial `first`.
    fn partial_sum(&self, slots: Slots, first: usize) -> f64 {
        self.host_partials[first..first + slots.count.div_ceil(ENERGY_CHUNK)]
            .iter()
            .sum()
    }
    /// Check the box of every force selected by `groups` and upload it.
    pub(super) fn upload_box(
        &mut self,
        box_vectors: Option<&BoxVectors>,
        groups: u32,
    ) -> Result<()> {
        for f in self
            .system
            .forces
            .iter()
            .filter(|f| selected(groups, f.group))
        {
            need_box(f.kind.is_periodic(), &f.name, box_vectors)?;
        }
        if let Some(b) = box_vectors {
            let rt = self.backend.runtime();
            self.box_vectors.upload(rt, bytemuck::cast_slice(&b[..]))?;
            if let Some(nl) = &mut self.neighbors {
                nl.fit_box(rt, b)?;
            }
        }
        Ok(())
    }

    /// Fit the neighbour cells of a non-periodic list to `positions` (nm;
    /// only speed depends on it).
    pub(super) fn fit_positions(&mut self, positions: &[[f64; 3]]) -> Result<()> {
        match &mut self.neighbors {
            Some(nl) => nl.fit_positions(self.backend.runtime(), positions),
            None => Ok(()),
        }
    }

    /// Make the neighbour list rebuild at the next [`GpuForces::queue`]
    /// under `stop` (a device integrator does at every batch: the results
    /// do not depend on when the list was built).
    pub(super) fn force_neighbor_build(&self, stop: &Stop<'_, R>) -> Result<()> {
        match &self.neighbors {
            Some(nl) => nl.force_build(&self.backend, stop),
            None => Ok(()),
        }
    }

    /// After a queue under a status word that then read as failed: whether
    /// the neighbour list overflowed, in which case it has grown and the
    /// forces must be queued again.
    pub(super) fn regrow_neighbors(&mut self) -> Result<bool> {
        let rt = self.backend.runtime();
        match &mut self.neighbors {
            Some(nl) if nl.overflowed(rt)? => {
                nl.grow(rt)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Neighbours per atom the list holds now (`None` without a list).
    pub fn neighbor_capacity(&self) -> Option<usize> {
        self.neighbors.as_ref().map(NeighborList::capacity)
    }

    /// Queue the forces of `groups` as [`GpuForces::queue`] does, as a
    /// standalone evaluation: the neighbour list is rebuilt, and grown
    /// and the forces queued again until it holds every neighbour.
    /// `x`: positions on the device (3n nm), or `None` for those of the
    /// last [`ForceEvaluator::compute`].
    pub(super) fn evaluate(
        &mut self,
        x: Option<&DeviceVec<R, f64>>,
        box_vectors: Option<&BoxVectors>,
        groups: u32,
    ) -> Result<()> {
        loop {
            self.force_neighbor_build(&Stop::Own)?;
            self.queue(
                x.unwrap_or(&self.positions),
                box_vectors,
                groups,
                &Stop::Own,
            )?;
            if !self.regrow_neighbors()? {
                return Ok(());
            }
        }
    }

    /// Queue the forces of `groups` at `x` (device, 3n nm, in the box of
    /// the last [`GpuForces::upload_box`]) into [`GpuForces::fixed`] and
    /// the energy partials; nothing is copied back. A neighbour list that
    /// overflows sets the status word of `stop`.
    pub(super) fn queue(
        &self,
        x: &DeviceVec<R, f64>,
        box_vectors: Option<&BoxVectors>,
        groups: u32,
        stop: &Stop<'_, R>,
    ) -> Result<()> {
        let n = self.system.n_particles();
        if let Some(nl) = &self.neighbors {
            nl.queue(&self.backend, x, &self.box_vectors, stop)?;
        }
        let module = self.backend.module(Family::Reduce)?;
        self.backend.runtime().launch(
            &module,
            "zero_forces",
            3 * n,
            &[Arg::Int(index(3 * n)), self.fixed.arg()],
        )?;
        for (f, dev) in self.system.forces.iter().zip(&self.forces) {
            if !selected(groups, f.group) {
                continue;
            }
            match dev {
                DeviceForce::Terms(t) => {
                    self.run_terms(x, t)?;
                    self.reduce(t.slots, t.partial)?;
                }
                DeviceForce::Nonbonded(d) => {
                    self.run_nonbonded(x, d, box_vectors)?;
                    self.reduce(d.rows, d.rows_partial)?;
                    self.reduce(d.exceptions.slots, d.exceptions.partial)?;
                }
                DeviceForce::Gb(d) => {
                    self.run_gb(x, d, box_vectors)?;
                    self.reduce(d.rows, d.rows_partial)?;
                }
                DeviceForce::Nothing => {}
            }
        }
        Ok(())
    }

    /// The fixed-point forces of the last [`GpuForces::queue`]
    /// (`FORCE_SCALE` units per kJ/mol/nm, 3n components).
    pub(super) fn fixed(&self) -> &DeviceVec<R, i64> {
        &self.fixed
    }

    /// The energy partials of the last [`GpuForces::queue`] (kJ/mol; with
    /// every group selected, their sum plus [`GpuForces::energy_offset`] is
    /// the potential energy).
    pub(super) fn partials(&self) -> &DeviceVec<R, f64> {
        &self.partials
    }

    /// The long-range dispersion correction of the periodic nonbonded
    /// forces in group set `groups` (kJ/mol) for `box_vectors`.
    pub(super) fn energy_offset(&self, box_vectors: Option<&BoxVectors>, groups: u32) -> f64 {
        self.system
            .forces
            .iter()
            .zip(&self.forces)
            .filter(|(f, _)| selected(groups, f.group))
            .map(|(_, dev)| match dev {
                DeviceForce::Nonbonded(d) => d.dispersion_energy(box_vectors),
                _ => 0.0,
            })
            .sum()
    }

    /// Copy back the forces and per-group energies of the last
    /// [`GpuForces::queue`] of `groups` into `out` (kJ/mol/nm, kJ/mol).
    pub(super) fn collect(
        &mut self,
        box_vectors: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()> {
        let n = self.system.n_particles();
        let rt = self.backend.runtime();
        self.fixed.download(rt, &mut self.host_fixed)?;
        if !self.host_partials.is_empty() {
            self.partials.download(rt, &mut self.host_partials)?;
        }
        out.clear(n);
        for (k, f) in out.forces.iter_mut().enumerate() {
            for (c, v) in f.iter_mut().enumerate() {
                *v = self.host_fixed[3 * k + c] as f64 / FORCE_SCALE;
            }
        }
        for (f, dev) in self.system.forces.iter().zip(&self.forces) {
            if !selected(groups, f.group) {
                continue;
            }
            let energy = match dev {
                DeviceForce::Terms(t) => self.partial_sum(t.slots, t.partial),
                DeviceForce::Nonbonded(d) => {
                    self.partial_sum(d.rows, d.rows_partial)
                        + self.partial_sum(d.exceptions.slots, d.exceptions.partial)
                        + d.dispersion_energy(box_vectors)
                }
                DeviceForce::Gb(d) => self.partial_sum(d.rows, d.rows_partial),
                DeviceForce::Nothing => 0.0,
            };
            out.group_energies[usize::from(f.group)] += energy;
        }
        Ok(())
    }
}

/// Whether force group `group` is in the bit set `groups`.
fn selected(groups: u32, group: u8) -> bool {
    groups & (1u32 << group) != 0
}

impl<R: Runtime> ForceEvaluator for GpuForces<R> {
    fn compute(
        &mut self,
        positions: &[[f64; 3]],
        box_vectors: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()> {
        let n = self.system.n_particles();
        if positions.len() != n {
            return Err(Error::Shape(format!(
                "{} positions for a system of {n} particles",
                positions.len()
            )));
        }
        self.upload_box(box_vectors, groups)?;
        self.fit_positions(positions)?;
        let rt = self.backend.runtime();
        self.positions.upload(rt, bytemuck::cast_slice(positions))?;
        self.evaluate(None, box_vectors, groups)?;
        self.collect(box_vectors, groups, out)
    }
}
