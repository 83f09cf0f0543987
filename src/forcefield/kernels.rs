//! The force-kernel contract every backend implements.
//!
//! A backend turns a validated [`System`] into a [`ForceEvaluator`]: an object
//! that owns whatever per-system state the backend needs (neighbour lists,
//! scratch buffers, device memory) and computes energies and forces for a
//! set of force groups on demand. Integrators and the minimizer only see this
//! trait, so they run unchanged on any backend.

use super::system::{BoxVectors, System, MAX_FORCE_GROUPS};
use crate::error::{Error, Result};

/// Bit mask selecting every force group.
pub const ALL_GROUPS: u32 = u32::MAX;

/// Energies and forces of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct ForceOutput {
    /// Force on each particle, kJ/mol/nm.
    pub forces: Vec<[f64; 3]>,
    /// Potential energy of each force group, kJ/mol (0 for groups not asked for).
    pub group_energies: [f64; MAX_FORCE_GROUPS],
}

impl ForceOutput {
    /// Zeroed output for `n` particles.
    pub fn new(n: usize) -> Self {
        ForceOutput {
            forces: vec![[0.0; 3]; n],
            group_energies: [0.0; MAX_FORCE_GROUPS],
        }
    }

    /// Total potential energy over all groups, kJ/mol.
    pub fn potential_energy(&self) -> f64 {
        self.group_energies.iter().sum()
    }

    /// Reset forces and energies to zero, resizing to `n` particles.
    pub fn clear(&mut self, n: usize) {
        self.forces.clear();
        self.forces.resize(n, [0.0; 3]);
        self.group_energies = [0.0; MAX_FORCE_GROUPS];
    }
}

/// Computes energies and forces of one system (state kept between calls).
pub trait ForceEvaluator: Send {
    /// Overwrite `out` with the forces (kJ/mol/nm) and per-group energies
    /// (kJ/mol) of the force groups whose bit is set in `groups`.
    ///
    /// `positions`: nm, one per particle. `box_vectors`: nm, required when the
    /// system is periodic. Inputs are validated by the caller (finite, right
    /// length); implementations must give the same result for any thread
    /// count (deterministic reduction order).
    fn compute(
        &mut self,
        positions: &[[f64; 3]],
        box_vectors: Option<&BoxVectors>,
        groups: u32,
        out: &mut ForceOutput,
    ) -> Result<()>;
}

/// Force kernels of a backend.
pub trait ForceKernels {
    /// Prepare an evaluator for `system` (already validated).
    fn force_evaluator(&self, system: &System) -> Result<Box<dyn ForceEvaluator>>;
}

/// Reject what no backend's force kernels implement yet, naming the force:
/// Ewald, PME and LJPME electrostatics, and GB with a method other than no
/// cutoff / cutoff (non)periodic; and GB parameters the kernels cannot use
/// (negative κ, non-positive cutoff).
pub fn check_supported(system: &System) -> Result<()> {
    use super::system::{ForceKind, NonbondedMethod};
    let unsupported = |f: &super::system::Force, what: String| {
        Err(Error::InvalidArgument(format!(
            "force '{}' ({}, group {}): {what} is not supported yet",
            f.name,
            f.kind.type_name(),
            f.group
        )))
    };
    for f in &system.forces {
        match &f.kind {
            ForceKind::Nonbonded(nb) => {
                if matches!(
                    nb.method,
                    NonbondedMethod::Ewald | NonbondedMethod::Pme | NonbondedMethod::LjPme
                ) {
                    return unsupported(f, format!("nonbonded method {:?}", nb.method));
                }
            }
            ForceKind::GbsaObc(g) => {
                if matches!(
                    g.method,
                    NonbondedMethod::Ewald | NonbondedMethod::Pme | NonbondedMethod::LjPme
                ) {
                    return unsupported(f, format!("GB with nonbonded method {:?}", g.method));
                }
                if g.kappa < 0.0 {
                    return Err(Error::InvalidArgument(format!(
                        "force '{}' (group {}): kappa {} /nm must not be negative",
                        f.name, f.group, g.kappa
                    )));
                }
                if g.method.has_cutoff() && (g.cutoff.is_nan() || g.cutoff <= 0.0) {
                    return Err(Error::InvalidArgument(format!(
                        "force '{}' (group {}): cutoff {} nm must be positive",
                        f.name, f.group, g.cutoff
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The box a force needs: `None` when it is not periodic, the given box
/// when it is, or an error naming the force when it is periodic and no box
/// was given.
pub fn need_box<'a>(
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

/// OpenMM's rule for periodic cutoff methods: every box edge (the diagonal
/// of the reduced box) must be at least twice the cutoff (within 1e-6).
pub fn check_box_for_cutoff(force_name: &str, b: &BoxVectors, cutoff: f64) -> Result<()> {
    let min = 1.999999 * cutoff;
    if b[0][0] < min || b[1][1] < min || b[2][2] < min {
        return Err(Error::InvalidArgument(format!(
            "force '{force_name}': the periodic box ({} x {} x {} nm) is smaller than twice the cutoff ({cutoff} nm)",
            b[0][0], b[1][1], b[2][2]
        )));
    }
    Ok(())
}
