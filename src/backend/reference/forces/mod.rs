//! Reference force kernels: all pairs, plain loops, single-threaded, f64.
//!
//! The loops mirror OpenMM's Reference platform one to one (the same pair
//! order, the same accumulation into one force array); every formula comes
//! from [`crate::forcefield::terms`], which the fast backends share.

mod bonded;
mod gbsa;
mod nonbonded;

use crate::error::{Error, Result};
use crate::forcefield::kernels::{check_supported, need_box};
use crate::forcefield::{BoxVectors, ForceEvaluator, ForceKernels, ForceKind, ForceOutput, System};

impl ForceKernels for super::ReferenceBackend {
    fn force_evaluator(&self, system: &System) -> Result<Box<dyn ForceEvaluator>> {
        check_supported(system)?;
        let prepared = system
            .forces
            .iter()
            .map(|f| match &f.kind {
                ForceKind::Nonbonded(nb) => Some(nonbonded::Prepared::new(nb)),
                _ => None,
            })
            .collect();
        Ok(Box::new(ReferenceForces {
            system: system.clone(),
            prepared,
        }))
    }
}

/// The reference evaluator: the system plus, per nonbonded force, its
/// exclusion lists and dispersion coefficient.
struct ReferenceForces {
    system: System,
    prepared: Vec<Option<nonbonded::Prepared>>,
}

impl ForceEvaluator for ReferenceForces {
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
        out.clear(n);
        for (force, prepared) in self.system.forces.iter().zip(&self.prepared) {
            if groups & (1u32 << force.group) == 0 {
                continue;
            }
            let f = &mut out.forces;
            let energy = match &force.kind {
                ForceKind::HarmonicBond(b) => {
                    let pbox = need_box(b.periodic, &force.name, box_vectors)?;
                    bonded::bonds(b, positions, pbox, f)
                }
                ForceKind::HarmonicAngle(a) => {
                    let pbox = need_box(a.periodic, &force.name, box_vectors)?;
                    bonded::angles(a, positions, pbox, f)
                }
                ForceKind::PeriodicTorsion(t) => {
                    let pbox = need_box(t.periodic, &force.name, box_vectors)?;
                    bonded::torsions(t, positions, pbox, f)
                }
                ForceKind::Nonbonded(nb) => {
                    let pbox = need_box(nb.method.is_periodic(), &force.name, box_vectors)?;
                    let prepared = prepared.as_ref().ok_or_else(|| {
                        Error::InvalidArgument("nonbonded force without prepared data".into())
                    })?;
                    nonbonded::nonbonded(nb, prepared, &force.name, positions, pbox, f)?
                }
                ForceKind::GbsaObc(g) => {
                    let pbox = need_box(g.method.is_periodic(), &force.name, box_vectors)?;
                    gbsa::gbsa_obc(g, &force.name, positions, pbox, f)?
                }
                ForceKind::CmMotionRemover { .. } => 0.0,
            };
            out.group_energies[usize::from(force.group)] += energy;
        }
        Ok(())
    }
}
