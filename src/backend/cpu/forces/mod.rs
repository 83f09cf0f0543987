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
mod gbsa;
mod lanes;
mod nlist;
mod nonbonded;
mod pairs;

use crate::error::{Error, Result};
use crate::forcefield::kernels::{check_box_for_cutoff, check_supported};
use crate::forcefield::terms::box_volume;
use crate::forcefield::{
    BoxVectors, ForceEvaluator, ForceKernels, ForceKind, ForceOutput, NonbondedMethod, System,
};
use gbsa::{BornSumKernel, GbChainKernel, GbPairKernel, GbPrep};
use lanes::W;
use nlist::NeighborList;
use nonbonded::{NbKernel, NbPrep};
use pairs::{
    entry_offsets, reduce_forces, reduce_scalar, run_pass, zero_forces, BlockBuf, Blocks, Geometry,
    PairSet, Soa,
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
        let prepared = system
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
        CpuForces {
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

/// The box a force needs, or an error naming the force.
fn need_box<'a>(
    periodic: bool,
    name: &str,
    box_vectors: Option<&'a BoxVectors>,
) -> Result<Option<&'a BoxVectors>> {
    match (periodic, box_vectors) {
        (false, _) => Ok(None),
        (true, Some(b)) => Ok(Some(b)),
        (true, None) => Err(Error::InvalidArgument(format!(
            "force '{name}' is periodic but no box vectors were given"
        ))),
    }
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
        let selected = |g: u8| groups & (1u32 << g) != 0;

        // Boxes, box sizes and neighbour lists of the selected pair forces.
        let mut pair_forces = false;
        let mut list_used = vec![false; self.lists.len()];
        for (force, prep) in self.system.forces.iter().zip(&self.prepared) {
            if !selected(force.group) {
                continue;
            }
            let (method, cutoff, list) = match prep {
                Prepared::Nonbonded(p) => (p.force.method, p.force.cutoff, p.list),
                Prepared::Gb(p) => (p.force.method, p.force.cutoff, p.list),
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

        for (force, prep) in self.system.forces.iter().zip(self.prepared.iter_mut()) {
            if !selected(force.group) {
                continue;
            }
            let f = &mut out.forces;
            let energy = match (&force.kind, prep) {
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
                    let geo = Geometry {
                        n,
                        soa: &self.soa,
                        pairs: p
                            .list
                            .map_or(PairSet::All, |k| PairSet::List(&self.lists[k].list)),
                        cutoff2: p
                            .force
                            .method
                            .has_cutoff()
                            .then_some(p.force.cutoff * p.force.cutoff),
                        periodic: pbox.copied(),
                        exclusions: Some(&p.exclusions),
                    };
                    let offsets = entry_offsets(&geo, &self.blocks);
                    let mut store = [Vec::new(), Vec::new()];
                    let (blocks, bufs) = (&self.blocks, &mut self.bufs);
                    let mut e = match (p.force.method.has_cutoff(), p.switch.is_some()) {
                        (false, _) => run_pass(
                            &geo,
                            blocks,
                            bufs,
                            &NbKernel::<false, false> { p },
                            &mut store,
                            &offsets,
                        ),
                        (true, false) => run_pass(
                            &geo,
                            blocks,
                            bufs,
                            &NbKernel::<true, false> { p },
                            &mut store,
                            &offsets,
                        ),
                        (true, true) => run_pass(
                            &geo,
                            blocks,
                            bufs,
                            &NbKernel::<true, true> { p },
                            &mut store,
                            &offsets,
                        ),
                    };
                    e += bonded::exceptions(&p.exceptions, positions, f);
                    if p.force.method == NonbondedMethod::CutoffPeriodic {
                        if let Some(b) = pbox {
                            e += p.dispersion / box_volume(b);
                        }
                    }
                    e
                }
                (ForceKind::GbsaObc(_), Prepared::Gb(p)) => {
                    let pbox = need_box(p.force.method.is_periodic(), &force.name, box_vectors)?;
                    let cutoff = p.force.method.has_cutoff();
                    let geo = Geometry {
                        n,
                        soa: &self.soa,
                        pairs: p
                            .list
                            .map_or(PairSet::All, |k| PairSet::List(&self.lists[k].list)),
                        cutoff2: cutoff.then_some(p.force.cutoff * p.force.cutoff),
                        periodic: pbox.copied(),
                        exclusions: None,
                    };
                    let offsets = entry_offsets(&geo, &self.blocks);
                    let (blocks, bufs) = (&self.blocks, &mut self.bufs);
                    let mut store = std::mem::take(&mut p.store);
                    run_pass(
                        &geo,
                        blocks,
                        bufs,
                        &BornSumKernel { p },
                        &mut store,
                        &offsets,
                    );
                    reduce_scalar(blocks, bufs, &mut p.sums);
                    p.born_radii();
                    let mut unit = [Vec::new(), Vec::new()];
                    let mut e = if p.consts.kappa != 0.0 {
                        run_pass(
                            &geo,
                            blocks,
                            bufs,
                            &GbPairKernel::<true> { p },
                            &mut unit,
                            &offsets,
                        )
                    } else {
                        run_pass(
                            &geo,
                            blocks,
                            bufs,
                            &GbPairKernel::<false> { p },
                            &mut unit,
                            &offsets,
                        )
                    };
                    reduce_scalar(blocks, bufs, &mut p.sums);
                    e += p.finish_de_db();
                    run_pass(
                        &geo,
                        blocks,
                        bufs,
                        &GbChainKernel { p },
                        &mut store,
                        &offsets,
                    );
                    p.store = store;
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
