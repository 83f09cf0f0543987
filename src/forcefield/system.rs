//! The in-memory description of a molecular system: particles, constraints
//! and forces, with the same meaning (and units) as an OpenMM `System`.
//!
//! Every input route (OpenMM System XML, Amber prmtop) produces a [`System`];
//! every backend's force kernels consume one. Energies follow OpenMM's
//! definitions exactly, so parameters can be compared one to one.

/// Maximum number of force groups (as in OpenMM: 0..=31).
pub const MAX_FORCE_GROUPS: usize = 32;

/// Coulomb constant 1/(4πε₀) in kJ·nm/(mol·e²), OpenMM's `ONE_4PI_EPS0` (CODATA 2018).
pub const ONE_4PI_EPS0: f64 = 138.935_457_644_381_98;

/// A periodic box: the three box vectors a, b, c (rows), nm, in OpenMM's
/// reduced form (a along x, b in the xy plane, c anywhere with c_z > 0).
pub type BoxVectors = [[f64; 3]; 3];

/// A complete system: masses (amu), distance constraints, forces and the
/// default periodic box (nm) used when positions come without one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct System {
    /// Particle masses, amu. A mass of 0 marks a fixed (massless) particle.
    pub masses: Vec<f64>,
    /// Holonomic distance constraints.
    pub constraints: Vec<Constraint>,
    /// The forces, in input order.
    pub forces: Vec<Force>,
    /// Default box vectors (nm), if the system is periodic.
    pub default_box: Option<BoxVectors>,
}

/// A fixed distance between two particles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constraint {
    /// First particle index.
    pub i: usize,
    /// Second particle index.
    pub j: usize,
    /// Constrained distance, nm.
    pub distance: f64,
}

/// One force of a system, with the force group it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Force {
    /// Force group, `0..32`; energies can be computed per group.
    pub group: u8,
    /// Display name (OpenMM's `name` attribute, or the force type).
    pub name: String,
    /// What the force is.
    pub kind: ForceKind,
}

/// The supported force types.
#[derive(Clone, Debug, PartialEq)]
pub enum ForceKind {
    /// `E = ½ k (r − r₀)²` per bond.
    HarmonicBond(HarmonicBondForce),
    /// `E = ½ k (θ − θ₀)²` per angle.
    HarmonicAngle(HarmonicAngleForce),
    /// `E = k (1 + cos(n φ − φ₀))` per torsion (proper and improper).
    PeriodicTorsion(PeriodicTorsionForce),
    /// Lennard-Jones plus Coulomb with exceptions (1-4 scaling).
    Nonbonded(NonbondedForce),
    /// OBC generalized-Born implicit solvent with the ACE surface-area term.
    GbsaObc(GbsaObcForce),
    /// Removes centre-of-mass motion every `frequency` steps (no energy).
    CmMotionRemover {
        /// Interval in steps.
        frequency: u32,
    },
}

impl ForceKind {
    /// Whether this force uses periodic boundary conditions (and so needs
    /// box vectors).
    pub fn is_periodic(&self) -> bool {
        match self {
            ForceKind::HarmonicBond(b) => b.periodic,
            ForceKind::HarmonicAngle(a) => a.periodic,
            ForceKind::PeriodicTorsion(t) => t.periodic,
            ForceKind::Nonbonded(n) => n.method.is_periodic(),
            ForceKind::GbsaObc(g) => g.method.is_periodic(),
            ForceKind::CmMotionRemover { .. } => false,
        }
    }

    /// OpenMM's class name for this force type.
    pub fn type_name(&self) -> &'static str {
        match self {
            ForceKind::HarmonicBond(_) => "HarmonicBondForce",
            ForceKind::HarmonicAngle(_) => "HarmonicAngleForce",
            ForceKind::PeriodicTorsion(_) => "PeriodicTorsionForce",
            ForceKind::Nonbonded(_) => "NonbondedForce",
            ForceKind::GbsaObc(g) => match g.flavor {
                ObcFlavor::GbsaObcForce => "GBSAOBCForce",
                ObcFlavor::CustomGbObc2 => "CustomGBForce",
            },
            ForceKind::CmMotionRemover { .. } => "CMMotionRemover",
        }
    }
}

/// One harmonic bond.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmonicBond {
    /// Particle indices.
    pub i: usize,
    /// Second particle.
    pub j: usize,
    /// Equilibrium length r₀, nm.
    pub length: f64,
    /// Force constant k, kJ/mol/nm².
    pub k: f64,
}

/// A set of harmonic bonds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HarmonicBondForce {
    /// The bonds.
    pub bonds: Vec<HarmonicBond>,
    /// Apply the minimum-image convention to bond vectors.
    pub periodic: bool,
}

/// One harmonic angle i–j–k (j is the vertex).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarmonicAngle {
    /// Particle indices; `ijk[1]` is the vertex.
    pub ijk: [usize; 3],
    /// Equilibrium angle θ₀, radians.
    pub angle: f64,
    /// Force constant k, kJ/mol/rad².
    pub k: f64,
}

/// A set of harmonic angles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HarmonicAngleForce {
    /// The angles.
    pub angles: Vec<HarmonicAngle>,
    /// Apply the minimum-image convention.
    pub periodic: bool,
}

/// One periodic torsion i–j–k–l.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeriodicTorsion {
    /// Particle indices.
    pub ijkl: [usize; 4],
    /// Periodicity n (≥ 1).
    pub periodicity: u32,
    /// Phase φ₀, radians.
    pub phase: f64,
    /// Barrier k, kJ/mol.
    pub k: f64,
}

/// A set of periodic torsions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeriodicTorsionForce {
    /// The torsions.
    pub torsions: Vec<PeriodicTorsion>,
    /// Apply the minimum-image convention.
    pub periodic: bool,
}

/// How nonbonded interactions are truncated (OpenMM's `NonbondedMethod`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonbondedMethod {
    /// All pairs, no cutoff, no periodicity.
    #[default]
    NoCutoff,
    /// Cutoff with reaction-field Coulomb, no periodicity.
    CutoffNonPeriodic,
    /// Cutoff with reaction-field Coulomb and the minimum-image convention.
    CutoffPeriodic,
    /// Ewald summation (parsed, not supported by the kernels yet).
    Ewald,
    /// Particle-mesh Ewald (parsed, not supported by the kernels yet).
    Pme,
    /// PME for Coulomb and LJ (parsed, not supported by the kernels yet).
    LjPme,
}

impl NonbondedMethod {
    /// Whether a cutoff applies.
    pub fn has_cutoff(self) -> bool {
        !matches!(self, NonbondedMethod::NoCutoff)
    }

    /// Whether the minimum-image convention applies.
    pub fn is_periodic(self) -> bool {
        matches!(
            self,
            NonbondedMethod::CutoffPeriodic
                | NonbondedMethod::Ewald
                | NonbondedMethod::Pme
                | NonbondedMethod::LjPme
        )
    }
}

/// Per-particle nonbonded parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonbondedParticle {
    /// Charge, e.
    pub charge: f64,
    /// LJ σ, nm.
    pub sigma: f64,
    /// LJ ε, kJ/mol.
    pub epsilon: f64,
}

/// A pair whose interaction replaces the default one (excluded when both
/// `charge_prod` and `epsilon` are zero), e.g. scaled 1-4 pairs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonbondedException {
    /// First particle.
    pub i: usize,
    /// Second particle.
    pub j: usize,
    /// Charge product, e².
    pub charge_prod: f64,
    /// LJ σ, nm.
    pub sigma: f64,
    /// LJ ε, kJ/mol.
    pub epsilon: f64,
}

/// Lennard-Jones and Coulomb interactions, OpenMM `NonbondedForce` semantics:
/// Lorentz–Berthelot combining, exceptions computed without cutoff (but with
/// minimum image when periodic), reaction field beyond nothing (cutoff
/// methods): `E = q₁q₂/(4πε₀) (1/r + k_rf r² − c_rf)`.
#[derive(Clone, Debug, PartialEq)]
pub struct NonbondedForce {
    /// Truncation method.
    pub method: NonbondedMethod,
    /// Cutoff distance, nm (ignored for `NoCutoff`).
    pub cutoff: f64,
    /// LJ switching starts at this distance (nm) when `Some`.
    pub switch_distance: Option<f64>,
    /// Dielectric constant of the reaction field beyond the cutoff.
    pub reaction_field_dielectric: f64,
    /// Add the analytic long-range LJ dispersion correction (periodic only).
    pub use_dispersion_correction: bool,
    /// Ewald/PME error tolerance (kept for round trips; unused by cutoff methods).
    pub ewald_error_tolerance: f64,
    /// One entry per particle.
    pub particles: Vec<NonbondedParticle>,
    /// Exceptions (replaced or excluded pairs).
    pub exceptions: Vec<NonbondedException>,
}

impl Default for NonbondedForce {
    fn default() -> Self {
        NonbondedForce {
            method: NonbondedMethod::NoCutoff,
            cutoff: 1.0,
            switch_distance: None,
            reaction_field_dielectric: 78.3,
            use_dispersion_correction: true,
            ewald_error_tolerance: 5e-4,
            particles: Vec::new(),
            exceptions: Vec::new(),
        }
    }
}

/// Which OBC2 formulation a [`GbsaObcForce`] reproduces; they differ in
/// small details (how engulfed atoms and the surface-area term are handled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObcFlavor {
    /// OpenMM's built-in `GBSAOBCForce`.
    #[default]
    GbsaObcForce,
    /// The `CustomGBForce` OBC2 of `openmm.app.internal.customgbforces`
    /// (`implicit/obc2.xml`, amber14), recognised by its expressions.
    CustomGbObc2,
}

/// Per-particle OBC parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObcParticle {
    /// Charge, e.
    pub charge: f64,
    /// Atomic (intrinsic) radius, nm, before the dielectric offset.
    pub radius: f64,
    /// Overlap scale factor (dimensionless).
    pub scale: f64,
}

/// OBC2 generalized Born (α = 1, β = 0.8, γ = 4.85) with the ACE non-polar term.
#[derive(Clone, Debug, PartialEq)]
pub struct GbsaObcForce {
    /// Which formulation.
    pub flavor: ObcFlavor,
    /// Cutoff method (`NoCutoff`, `CutoffNonPeriodic` or `CutoffPeriodic`).
    pub method: NonbondedMethod,
    /// Cutoff, nm.
    pub cutoff: f64,
    /// Solute dielectric constant.
    pub solute_dielectric: f64,
    /// Solvent dielectric constant.
    pub solvent_dielectric: f64,
    /// Surface-area energy, kJ/mol/nm² (OpenMM default 2.25936).
    pub surface_area_energy: f64,
    /// Debye–Hückel screening κ, nm⁻¹ (0 = no salt).
    pub kappa: f64,
    /// Dielectric offset, nm (0.009).
    pub offset: f64,
    /// Solvent probe radius, nm (0.14).
    pub probe_radius: f64,
    /// Coulomb constant used by the GB terms, kJ·nm/(mol·e²):
    /// [`ONE_4PI_EPS0`] for `GBSAOBCForce`; the `CustomGBForce` OBC2 of
    /// OpenMM's `customgbforces.py` hard-codes 138.935485 in its expressions.
    pub coulomb_constant: f64,
    /// One entry per particle.
    pub particles: Vec<ObcParticle>,
}

impl Default for GbsaObcForce {
    fn default() -> Self {
        GbsaObcForce {
            flavor: ObcFlavor::GbsaObcForce,
            method: NonbondedMethod::NoCutoff,
            cutoff: 1.0,
            solute_dielectric: 1.0,
            solvent_dielectric: 78.5,
            surface_area_energy: 2.25936,
            kappa: 0.0,
            offset: 0.009,
            probe_radius: 0.14,
            coulomb_constant: ONE_4PI_EPS0,
            particles: Vec::new(),
        }
    }
}

impl System {
    /// Number of particles.
    pub fn n_particles(&self) -> usize {
        self.masses.len()
    }

    /// Degrees of freedom: 3 per massive particle, minus constraints, minus 3
    /// when a [`ForceKind::CmMotionRemover`] is present (OpenMM's convention).
    pub fn degrees_of_freedom(&self) -> usize {
        let massive = self.masses.iter().filter(|&&m| m > 0.0).count();
        let cm = self
            .forces
            .iter()
            .any(|f| matches!(f.kind, ForceKind::CmMotionRemover { .. }));
        (3 * massive)
            .saturating_sub(self.constraints.len())
            .saturating_sub(if cm { 3 } else { 0 })
    }

    /// Whether any force uses periodic boundary conditions.
    pub fn uses_periodic_boundaries(&self) -> bool {
        self.forces.iter().any(|f| f.kind.is_periodic())
    }

    /// Bit mask of the force groups that hold at least one force.
    pub fn used_groups(&self) -> u32 {
        self.forces.iter().fold(0, |m, f| m | (1u32 << f.group))
    }

    /// Check internal consistency: indices in range, finite parameters, one
    /// per-particle entry per particle, groups below 32, a box when periodic.
    /// Errors name the force and the offending entry.
    pub fn validate(&self) -> crate::Result<()> {
        super::validate::validate_system(self)
    }
}
