//! CPU force kernels: rayon-parallel, vectorised, deterministic.
//!
//! - Bonded terms and nonbonded exceptions: per-term slots computed in
//!   parallel, added in term order ([`bonded`]).
//! - Nonbonded pairs and OBC GB: atom–cluster pair kernels over all pairs
//!   (no cutoff) or a Verlet list with a skin ([`nlist`]), run by the
//!   deterministic block skeleton in [`pairs`].
//!
//! Results are bitwise independent of the rayon thread count and of when
//! the neighbour lists were last rebuilt: a pure function of the positions
//! and the box. They agree with the reference backend to rounding.

mod bonded;
mod fused;
mod gbsa;
mod lanes;
mod nlist;
mod nonbonded;
mod pairs;

use crate::error::{Error, Result};
use crate::forcefield::kernels::{check_box_for_cutoff, check_supported, need_box};
use crate::forcefield::terms::box_volume;
use crate::forcefield::{
    BoxVectors, ForceEvaluator, ForceKernels, ForceKind, ForceOutput, NonbondedMethod, System,
};
use fused::NbChainKernel;
use gbsa::{BornSumKernel, GbChainKernel, GbPairKernel, GbPrep};
use lanes::W;
use nlist::NeighborList;
use nonbonded::{NbKernel, NbPrep, WithNbKernel};
use pairs::{
    entry_offsets, reduce_forces, reduce_scalar, run_pass, zero_forces, BlockBuf, Blocks,
    Exclusions, Geometry, PairKernel, PairSet, Soa,
};

impl ForceKernels for super::CpuBackend {
    fn force_evaluator(&self, system: &System) -> Result<Box<dyn ForceEvaluator>> {
        check_supported(system)?;
        Ok(Box::new(CpuForces::new(system)))
    }
}

/// What one force needs at evaluation time.
enum Prepared {
    Plain,
    Nonbonded(Box<NbPrep>),
    Gb(Box<GbPrep>),
}

/// The CPU evaluator: prepared per-force data, neighbour lists (one per
/// distinct cutoff/periodicity), block buffers and scratch.
struct CpuForces {
    system: System,
    n: usize,
    npad: usize,
    prepared: Vec<Prepared>,
    lists: Vec<NeighborList>,
    blocks: Blocks,
    bufs: Vec<BlockBuf>,
    soa: Soa,
    /// (nonbonded force, GB force) over the same pairs: the nonbonded pair
    /// kernel then runs fused into GB's last pass.
    fusable: Option<(usize, usize)>,
}

impl CpuForces {
    fn new(system: &System) -> Self {
        let n = system.n_particles();
        let npad = n.div_ceil(W) * W;
        let mut lists: Vec<NeighborList> = Vec::new();
        let mut list_for = |method: NonbondedMethod, cutoff: f64| -> Option<usize> {
            if !method.has_cutoff() {
                return None;
            }
            let periodic = method.is_periodic();
            match lists
                .iter()
                .position(|l| l.cutoff == cutoff && l.periodic == periodic)
            {
                Some(k) => Some(k),
                None => {
                    lists.push(NeighborList::new(cutoff, periodic));
                    Some(lists.len() - 1)
                }
            }
        };
        let mut any_all_pairs = false;
        let prepared: Vec<Prepared> = system
            .forces
            .iter()
            .map(|f| match &f.kind {
                ForceKind::Nonbonded(nb) => {
                    any_all_pairs |= !nb.method.has_cutoff();
                    let list = list_for(nb.method, nb.cutoff);
                    Prepared::Nonbonded(Box::new(NbPrep::new(nb, npad, list)))
                }
                ForceKind::GbsaObc(g) => {
                    any_all_pairs |= !g.method.has_cutoff();
                    let list = list_for(g.method, g.cutoff);
                    Prepared::Gb(Box::new(GbPrep::new(g, npad, list)))
                }
                _ => Prepared::Plain,
            })
            .collect();
        let blocks = if any_all_pairs {
            Blocks::all_pairs(n)
        } else {
            Blocks::equal(n)
        };
        let bufs = (0..blocks.ranges.len())
            .map(|_| BlockBuf::new(npad))
            .collect();
        let nb = prepared
            .iter()
            .position(|p| matches!(p, Prepared::Nonbonded(_)));
        let gb = prepared.iter().position(|p| matches!(p, Prepared::Gb(_)));
        let fusable = match (nb, gb) {
            (Some(a), Some(b)) => match (&prepared[a], &prepared[b]) {
                (Prepared::Nonbonded(p), Prepared::Gb(q))
                    if p.list == q.params.list
                        && p.force.method.has_cutoff() == q.params.force.method.has_cutoff() =>
                {
                    Some((a, b))
                }
                _ => None,
            },
            _ => None,
        };
        CpuForces {
            fusable,
            system: system.clone(),
            n,
            npad,
            prepared,
            lists,
            blocks,
            bufs,
            soa: Soa::default(),
        }
    }
}

/// The pair geometry of a nonbonded or GB force.
#[allow(clippy::too_many_arguments)]
fn geometry<'a>(
    n: usize,
    soa: &'a Soa,
    lists: &'a [NeighborList],
    list: Option<usize>,
    method: NonbondedMethod,
    cutoff: f64,
    pbox: Option<&BoxVectors>,
    exclusions: Option<&'a Exclusions>,
) -> Geometry<'a> {
    Geometry {
        n,
        soa,
        pairs: list.map_or(PairSet::All, |k| PairSet::List(&lists[k].list)),
        cutoff2: method.has_cutoff().then_some(cutoff * cutoff),
        periodic: pbox.copied(),
        exclusions,
    }
}

/// One pass of a pair kernel over a geometry, with its stores.
struct Pass<'a, 'g> {
    geo: &'a Geometry<'g>,
    blocks: &'a Blocks,
    bufs: &'a mut [BlockBuf],
    store: &'a mut [Vec<f64>; 2],
    offsets: &'a [usize],
}

impl Pass<'_, '_> {
    fn run_kernel<K: PairKernel>(self, kernel: &K) -> f64 {
        run_pass(
            self.geo,
            self.blocks,
            self.bufs,
            kernel,
            self.store,
            self.offsets,
        )
    }
}

/// The nonbonded pair kernel alone.
impl WithNbKernel for Pass<'_, '_> {
    type Output = f64;
    fn run<const RF: bool, const SW: bool>(self, kernel: NbKernel<'_, RF, SW>) -> f64 {
        self.run_kernel(&kernel)
    }
}

/// The nonbonded pair kernel fused into GB's chain-rule pass.
struct FusedWithGb<'a, 'g> {
    pass: Pass<'a, 'g>,
    gb: GbChainKernel<'a>,
}

impl WithNbKernel for FusedWithGb<'_, '_> {
    type Output = f64;
    fn run<const RF: bool, const SW: bool>(self, nb: NbKernel<'_, RF, SW>) -> f64 {
        self.pass.run_kernel(&NbChainKernel { nb, gb: self.gb })
    }
}

/// The nonbonded pair pass alone; returns its energy.
fn nb_pairs(geo: &Geometry, blocks: &Blocks, bufs: &mut [BlockBuf], p: &NbPrep) -> f64 {
    let offsets = entry_offsets(geo, blocks);
    let mut none = [Vec::new(), Vec::new()];
    p.with_kernel(Pass {
        geo,
        blocks,
        bufs,
        store: &mut none,
        offsets: &offsets,
    })
}

/// The three GB passes, the last one fused with the nonbonded pair kernel
/// of `nb` when given (`geo_nb`: the same pairs with nonbonded
/// exclusions). Returns the GB energy and the fused nonbonded pair energy.
fn gb_passes(
    geo: &Geometry,
    geo_nb: &Geometry,
    blocks: &Blocks,
    bufs: &mut [BlockBuf],
    p: &mut GbPrep,
    nb: Option<&NbPrep>,
) -> (f64, f64) {
    let offsets = entry_offsets(geo, blocks);
    let GbPrep { params, scratch } = p;
    let mut store = std::mem::take(&mut scratch.store);
    let mut none = [Vec::new(), Vec::new()];
    run_pass(
        geo,
        blocks,
        bufs,
        &BornSumKernel { p: params },
        &mut store,
        &offsets,
    );
    reduce_scalar(blocks, bufs, &mut scratch.sums);
    scratch.born_radii(params);
    let mut e = if params.consts.kappa != 0.0 {
        run_pass(
            geo,
            blocks,
            bufs,
            &GbPairKernel::<true> {
                p: params,
                radii: scratch,
            },
            &mut none,
            &offsets,
        )
    } else {
        run_pass(
            geo,
            blocks,
            bufs,
            &GbPairKernel::<false> {
                p: params,
                radii: scratch,
            },
            &mut none,
            &offsets,
        )
    };
    reduce_scalar(blocks, bufs, &mut scratch.sums);
    e += scratch.finish_de_db(params);
    let gb = GbChainKernel { s: scratch };
    let e_nb = match nb {
        None => run_pass(geo, blocks, bufs, &gb, &mut store, &offsets),
        Some(q) => q.with_kernel(FusedWithGb {
            pass: Pass {
                geo: geo_nb,
                blocks,
                bufs,
                store: &mut store,
                offsets: &offsets,
            },
            gb,
        }),
    };
    scratch.store = store;
    (e, e_nb)
}

impl ForceEvaluator for CpuForces {
    fn compute(
        &mut self,
        positions: &[[f64; 3]],
        box_vectors: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()> {
        let n = self.n;
        if positions.len() != n {
            return Err(Error::Shape(format!(
                "{} positions for a system of {n} particles",
                positions.len()
            )));
        }
        out.clear(n);
        let forces = &self.system.forces;
        let selected = |g: u8| groups & (1u32 << g) != 0;
        let fuse = self
            .fusable
            .filter(|&(a, b)| selected(forces[a].group) && selected(forces[b].group));

        // Boxes, box sizes and neighbour lists of the selected pair forces.
        let mut pair_forces = false;
        let mut list_used = vec![false; self.lists.len()];
        for (force, prep) in forces.iter().zip(&self.prepared) {
            if !selected(force.group) {
                continue;
            }
            let (method, cutoff, list) = match prep {
                Prepared::Nonbonded(p) => (p.force.method, p.force.cutoff, p.list),
                Prepared::Gb(p) => (p.params.force.method, p.params.force.cutoff, p.params.list),
                Prepared::Plain => continue,
            };
            pair_forces = true;
            if let Some(b) = need_box(method.is_periodic(), &force.name, box_vectors)? {
                check_box_for_cutoff(&force.name, b, cutoff)?;
            }
            if let Some(k) = list {
                list_used[k] = true;
            }
        }
        for (list, used) in self.lists.iter_mut().zip(list_used) {
            if used {
                list.update(positions, box_vectors);
            }
        }
        if pair_forces {
            self.soa.fill(positions, self.npad);
            zero_forces(&self.blocks, &mut self.bufs);
        }

        for fi in 0..forces.len() {
            let force = &forces[fi];
            if !selected(force.group) {
                continue;
            }
            let f = &mut out.forces;
            let energy = match (&force.kind, &self.prepared[fi]) {
                (ForceKind::HarmonicBond(b), _) => {
                    let pbox = need_box(b.periodic, &force.name, box_vectors)?;
                    bonded::bonds(b, positions, pbox, f)
                }
                (ForceKind::HarmonicAngle(a), _) => {
                    let pbox = need_box(a.periodic, &force.name, box_vectors)?;
                    bonded::angles(a, positions, pbox, f)
                }
                (ForceKind::PeriodicTorsion(t), _) => {
                    let pbox = need_box(t.periodic, &force.name, box_vectors)?;
                    bonded::torsions(t, positions, pbox, f)
                }
                (ForceKind::Nonbonded(_), Prepared::Nonbonded(p)) => {
                    let pbox = need_box(p.force.method.is_periodic(), &force.name, box_vectors)?;
                    // With a fused GB force, the pairs come with its last pass.
                    let mut e = if fuse.is_some_and(|(a, _)| a == fi) {
                        0.0
                    } else {
                        let geo = geometry(
                            n,
                            &self.soa,
                            &self.lists,
                            p.list,
                            p.force.method,
                            p.force.cutoff,
                            pbox,
                            Some(&p.exclusions),
                        );
                        nb_pairs(&geo, &self.blocks, &mut self.bufs, p)
                    };
                    e += bonded::exceptions(&p.exceptions, positions, f);
                    if p.force.method == NonbondedMethod::CutoffPeriodic {
                        if let Some(b) = pbox {
                            e += p.dispersion / box_volume(b);
                        }
                    }
                    e
                }
                (ForceKind::GbsaObc(_), Prepared::Gb(_)) => {
                    let partner = fuse.filter(|&(_, b)| b == fi).map(|(a, _)| a);
                    let mut prep = std::mem::replace(&mut self.prepared[fi], Prepared::Plain);
                    let Prepared::Gb(p) = &mut prep else {
                        unreachable!("matched just above")
                    };
                    let nb = partner.and_then(|a| match &self.prepared[a] {
                        Prepared::Nonbonded(q) => Some(&**q),
                        _ => None,
                    });
                    let pbox = need_box(
                        p.params.force.method.is_periodic(),
                        &force.name,
                        box_vectors,
                    )?;
                    let geo = geometry(
                        n,
                        &self.soa,
                        &self.lists,
                        p.params.list,
                        p.params.force.method,
                        p.params.force.cutoff,
                        pbox,
                        None,
                    );
                    let geo_nb = Geometry {
                        exclusions: nb.map(|q| &q.exclusions),
                        ..geometry(
                            n,
                            &self.soa,
                            &self.lists,
                            p.params.list,
                            p.params.force.method,
                            p.params.force.cutoff,
                            pbox,
                            None,
                        )
                    };
                    let (e, e_nb) = gb_passes(&geo, &geo_nb, &self.blocks, &mut self.bufs, p, nb);
                    if let Some(a) = partner {
                        out.group_energies[usize::from(forces[a].group)] += e_nb;
                    }
                    self.prepared[fi] = prep;
                    e
                }
                (ForceKind::CmMotionRemover { .. }, _) => 0.0,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "force '{}': prepared data does not match its type",
                        force.name
                    )))
                }
            };
            out.group_energies[usize::from(force.group)] += energy;
        }
        if pair_forces {
            reduce_forces(&self.blocks, &self.bufs, &mut out.forces);
        }
        Ok(())
    }
}
