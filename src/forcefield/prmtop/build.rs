//! prmtop → [`System`], mirroring OpenMM 8's `AmberPrmtopFile.createSystem`
//! (`openmm/app/amberprmtopfile.py`) and `readAmberSystem`
//! (`openmm/app/internal/amber_file_parser.py`) operation by operation, so
//! that the parameters come out bit-identical to OpenMM's.

use std::collections::HashSet;
use std::f64::consts::PI;

use super::Prmtop;
use crate::error::{Error, Result};
use crate::forcefield::system::*;

/// Which bonds (and angles) become rigid constraints (OpenMM's
/// `constraints=` argument).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Constraints {
    /// No constraints (apart from rigid water, see [`PrmtopOptions::rigid_water`]).
    #[default]
    None,
    /// Bonds involving hydrogen (BONDS_INC_HYDROGEN).
    HBonds,
    /// All bonds.
    AllBonds,
    /// All bonds plus H–X–H and H–O–X angles (not supported: an error).
    HAngles,
}

/// Implicit-solvent model (OpenMM's `implicitSolvent=`); only OBC2 is
/// implemented by steermd's kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImplicitSolvent {
    /// OBC2 (Amber `igb=5`): `GBSAOBCForce` without salt, OpenMM's
    /// `CustomGBForce` OBC2 (`GBSAOBC2Force`) with salt (κ > 0).
    Obc2,
}

/// Options of [`Prmtop::create_system`], with OpenMM's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PrmtopOptions {
    /// Nonbonded method (default `NoCutoff`). Periodic methods need a
    /// prmtop with a box (IFBOX > 0).
    pub nonbonded_method: NonbondedMethod,
    /// Cutoff, nm (default 1.0; used by the cutoff methods).
    pub nonbonded_cutoff: f64,
    /// Constraints (default none).
    pub constraints: Constraints,
    /// Make water (residues WAT, HOH, TP4, TP5, T4E) rigid whatever
    /// `constraints` says (default true).
    pub rigid_water: bool,
    /// Implicit solvent (default none).
    pub implicit_solvent: Option<ImplicitSolvent>,
    /// Solute dielectric of the GB model (default 1.0).
    pub solute_dielectric: f64,
    /// Solvent dielectric of the GB model (default 78.5).
    pub solvent_dielectric: f64,
    /// Debye screening κ, nm⁻¹; `None` (default): computed from
    /// `implicit_solvent_salt_conc` and `temperature` as OpenMM does.
    pub implicit_solvent_kappa: Option<f64>,
    /// Salt concentration, mol/L (default 0).
    pub implicit_solvent_salt_conc: f64,
    /// Temperature, K, used only to turn the salt concentration into κ
    /// (default 298.15).
    pub temperature: f64,
    /// Add the ACE surface-area term to the GB model (OpenMM's
    /// `sasaMethod='ACE'`, the default); `false` = `sasaMethod=None`.
    pub ace_surface_area: bool,
    /// Add a `CMMotionRemover` (default true).
    pub remove_cm_motion: bool,
    /// Ewald/PME error tolerance (default 5e-4).
    pub ewald_error_tolerance: f64,
    /// LJ switching distance, nm (default none; ignored without a cutoff,
    /// as is 0).
    pub switch_distance: Option<f64>,
    /// Keep harmonic terms for constrained bonds (default false: they are
    /// dropped, as in OpenMM).
    pub flexible_constraints: bool,
}

impl Default for PrmtopOptions {
    fn default() -> Self {
        PrmtopOptions {
            nonbonded_method: NonbondedMethod::NoCutoff,
            nonbonded_cutoff: 1.0,
            constraints: Constraints::None,
            rigid_water: true,
            implicit_solvent: None,
            solute_dielectric: 1.0,
            solvent_dielectric: 78.5,
            implicit_solvent_kappa: None,
            implicit_solvent_salt_conc: 0.0,
            temperature: 298.15,
            ace_surface_area: true,
            remove_cm_motion: true,
            ewald_error_tolerance: 5e-4,
            switch_distance: None,
            flexible_constraints: false,
        }
    }
}

// openmm.unit conversion factors, as the values OpenMM computes them.
const ANGSTROM_TO_NM: f64 = 0.1;
const KCAL_TO_KJ: f64 = 4.184;
/// (kcal/mol/Å²) → (kJ/mol/nm²): openmm.unit gives 418.40000000000003.
const KCAL_A2_TO_KJ_NM2: f64 = 418.400_000_000_000_03;
/// Residue names OpenMM treats as water.
const WATER_RESIDUES: [&str; 5] = ["WAT", "HOH", "TP4", "TP5", "T4E"];
/// `GBSAOBC2Force`'s hard-coded constants (openmm.app.internal.customgbforces).
const CUSTOM_GB_COULOMB: f64 = 138.935485;
const CUSTOM_GB_ACE: f64 = 28.3919551;
const GB_OFFSET: f64 = 0.009;

impl Prmtop {
    fn invalid(&self, msg: impl Into<String>) -> Error {
        Error::InvalidArgument(format!("{}: {}", self.path.display(), msg.into()))
    }

    fn unsupported(&self, what: impl std::fmt::Display) -> Error {
        Error::format(&self.path, format!("{what} is not supported"))
    }

    /// Per-atom (rVdw nm, ε kJ/mol) from the diagonal LJ coefficients
    /// (`PrmtopLoader.getNonbondTerms`), rejecting 10-12 terms and NBFIX.
    fn nonbond_terms(&self) -> Result<Vec<(f64, f64)>> {
        let p = &self.parm;
        let nt = p.p.ntypes;
        if p.hb_a
            .iter()
            .zip(&p.hb_b)
            .any(|(a, b)| *a != 0.0 || *b != 0.0)
        {
            return Err(
                self.unsupported("10-12 hydrogen-bond LJ terms (non-zero HBOND_ACOEF/BCOEF)")
            );
        }
        let mut type_params = vec![(0.0f64, 0.0f64); nt];
        let mut terms = Vec::with_capacity(p.p.natom);
        for (i, &t) in p.atom_type.iter().enumerate() {
            let nb = p.nb_index[(nt + 1) * t] - 1;
            if nb < 0 {
                return Err(self.unsupported(format!(
                    "a 10-12 LJ pair for atom type {} (atom {i})",
                    t + 1
                )));
            }
            let (a, b) = (p.lj_a[nb as usize], p.lj_b[nb as usize]);
            let (r_min, eps) = if a == 0.0 || b == 0.0 {
                (1.0, 0.0)
            } else {
                ((2.0 * a / b).powf(1.0 / 6.0), 0.25 * b * b / a)
            };
            type_params[t] = (r_min / 2.0, eps);
            terms.push((r_min / 2.0 * ANGSTROM_TO_NM, eps * KCAL_TO_KJ));
        }
        for i in 0..nt {
            for j in 0..nt {
                let idx = p.nb_index[nt * i + j] - 1;
                if idx < 0 {
                    continue;
                }
                let rij = type_params[i].0 + type_params[j].0;
                let wdij = (type_params[i].1 * type_params[j].1).sqrt();
                let (a, b) = (p.lj_a[idx as usize], p.lj_b[idx as usize]);
                let nbfix = if a == 0.0 || b == 0.0 {
                    a != 0.0 || b != 0.0 || (wdij != 0.0 && rij != 0.0)
                } else {
                    ((a - wdij * rij.powi(12)) / a).abs() > 1e-6
                        || ((b - 2.0 * wdij * rij.powi(6)) / b).abs() > 1e-6
                };
                if nbfix {
                    return Err(self.unsupported(format!(
                        "off-diagonal Lennard-Jones coefficients (NBFIX) between atom types {} and {}",
                        i + 1,
                        j + 1
                    )));
                }
            }
        }
        Ok(terms)
    }

    /// Build the [`System`] OpenMM's `AmberPrmtopFile.createSystem` builds
    /// with the same options: forces in OpenMM's order (HarmonicBondForce,
    /// HarmonicAngleForce, PeriodicTorsionForce, NonbondedForce, the GB
    /// force, CMMotionRemover), all in force group 0, with OpenMM's unit
    /// conversions, 1-4 scaling per dihedral type (SCEE/SCNB_SCALE_FACTOR,
    /// 1.2/2.0 when absent), exceptions for 1-4 pairs and exclusions
    /// (charge 0, σ 0.1 nm, ε 0), constrained bonds dropped from the
    /// HarmonicBondForce unless `flexible_constraints`, and the
    /// NonbondedForce reaction-field dielectric set to 1 with implicit
    /// solvent.
    ///
    /// Errors ([`Error::InvalidArgument`]): options OpenMM rejects (a
    /// periodic method without a box, a GB model with Ewald/PME, a switch
    /// distance beyond the cutoff, a duplicate exception);
    /// ([`Error::Format`]): prmtop features steermd's System cannot express
    /// (CHAMBER/CHARMM terms, CMAP, NBFIX, 10-12 or 12-6-4 LJ, CAP,
    /// perturbation, water extra points, `HAngles`, implicit solvent
    /// without RADII/SCREEN).
    pub fn create_system(&self, o: &PrmtopOptions) -> Result<System> {
        let p = &self.parm;
        let n = p.p.natom;
        if p.chamber {
            return Err(self.unsupported("a CHAMBER (CHARMM force field) prmtop"));
        }
        if p.p.ifcap > 0 {
            return Err(self.unsupported("the CAP option (IFCAP > 0)"));
        }
        if p.p.ifpert > 0 {
            return Err(self.unsupported("perturbation information (IFPERT > 0)"));
        }
        if p.n_cmap > 0 {
            return Err(self.unsupported(format!("CMAP ({} maps; a CMAPTorsionForce)", p.n_cmap)));
        }
        if p.has_lj_c {
            return Err(self.unsupported("the 12-6-4 LJ model (LENNARD_JONES_CCOEF)"));
        }
        if o.constraints == Constraints::HAngles {
            return Err(self.unsupported("constraints=HAngles"));
        }
        let method = o.nonbonded_method;
        let box_vectors = self.box_vectors();
        if p.p.ifbox > 0 && box_vectors.is_none() {
            return Err(Error::format(
                &self.path,
                format!(
                    "BOX_DIMENSIONS {:?} do not describe a valid periodic box",
                    p.box_dims
                ),
            ));
        }
        if box_vectors.is_none() && method.is_periodic() {
            return Err(self.invalid(format!(
                "nonbonded method {method:?} needs a periodic system, and the prmtop has no box (IFBOX = 0)"
            )));
        }
        if method.has_cutoff() && !(o.nonbonded_cutoff > 0.0 && o.nonbonded_cutoff.is_finite()) {
            return Err(self.invalid(format!(
                "nonbonded cutoff {} nm must be positive",
                o.nonbonded_cutoff
            )));
        }
        let is_water: Vec<bool> = (0..n)
            .map(|i| WATER_RESIDUES.contains(&p.res_labels[p.atom_res[i]].as_str()))
            .collect();
        let elements = self.elements();
        let is_ep: Vec<bool> = elements.iter().map(|e| e.is_empty()).collect();
        if let Some(i) =
            (0..n).find(|&i| is_water[i] && matches!(p.atom_names[i].get(..2), Some("EP" | "LP")))
        {
            return Err(self.unsupported(format!(
                "water extra points (virtual sites; atom {i} '{}' in residue {})",
                p.atom_names[i],
                p.atom_res[i] + 1
            )));
        }

        let bond = |&(i, j, t): &(usize, usize, usize)| {
            (
                i,
                j,
                p.bond_k[t] * KCAL_A2_TO_KJ_NM2,
                p.bond_eq[t] * ANGSTROM_TO_NM,
            )
        };
        let bonds_h: Vec<_> = p.bonds_h.iter().map(bond).collect();
        let bonds_noh: Vec<_> = p.bonds_noh.iter().map(bond).collect();

        // Constraints.
        let mut constraints = Vec::new();
        let shake = o.constraints;
        let mut constrain = |list: &[(usize, usize, f64, f64)], water_only: bool| {
            for &(i, j, _, r) in list {
                if (!water_only || (is_water[i] && is_water[j])) && !(is_ep[i] || is_ep[j]) {
                    constraints.push(Constraint { i, j, distance: r });
                }
            }
        };
        if matches!(shake, Constraints::HBonds | Constraints::AllBonds) {
            constrain(&bonds_h, false);
        }
        if shake == Constraints::AllBonds {
            constrain(&bonds_noh, false);
        }
        if o.rigid_water && shake == Constraints::None {
            constrain(&bonds_h, true);
        }

        let mut forces = Vec::new();
        let mut push = |kind: ForceKind| {
            forces.push(Force {
                group: 0,
                name: kind.type_name().to_string(),
                kind,
            })
        };

        // Harmonic bonds (E = ½·(2k)(r − r₀)² in OpenMM's convention).
        let flex = o.flexible_constraints;
        let mut bonds = Vec::new();
        if flex || shake == Constraints::None {
            for &(i, j, k, r) in &bonds_h {
                if flex || !(o.rigid_water && is_water[i] && is_water[j]) {
                    bonds.push(HarmonicBond {
                        i,
                        j,
                        length: r,
                        k: 2.0 * k,
                    });
                }
            }
        }
        if flex || shake != Constraints::AllBonds {
            for &(i, j, k, r) in &bonds_noh {
                bonds.push(HarmonicBond {
                    i,
                    j,
                    length: r,
                    k: 2.0 * k,
                });
            }
        }
        push(ForceKind::HarmonicBond(HarmonicBondForce {
            bonds,
            periodic: false,
        }));

        // Harmonic angles.
        let angles = p
            .angles
            .iter()
            .map(|&(i, j, k, t)| HarmonicAngle {
                ijk: [i, j, k],
                angle: p.angle_eq[t],
                k: 2.0 * (p.angle_k[t] * KCAL_TO_KJ),
            })
            .collect();
        push(ForceKind::HarmonicAngle(HarmonicAngleForce {
            angles,
            periodic: false,
        }));

        // Periodic torsions.
        let mut torsions = Vec::with_capacity(p.dihedrals.len());
        for (e, d) in p.dihedrals.iter().enumerate() {
            let per = (0.5 + p.dih_per[d.ty]).trunc();
            if !(1.0..=f64::from(u32::MAX)).contains(&per) {
                return Err(Error::format(
                    &self.path,
                    format!(
                        "dihedral {e} (atoms {:?}) has periodicity {} (type {}); OpenMM needs a positive integer",
                        d.atoms,
                        p.dih_per[d.ty],
                        d.ty + 1
                    ),
                ));
            }
            torsions.push(PeriodicTorsion {
                ijkl: d.atoms,
                periodicity: per as u32,
                phase: p.dih_phase[d.ty],
                k: p.dih_k[d.ty] * KCAL_TO_KJ,
            });
        }
        push(ForceKind::PeriodicTorsion(PeriodicTorsionForce {
            torsions,
            periodic: false,
        }));

        // Nonbonded.
        let terms = self.nonbond_terms()?;
        let sigma_scale = 2f64.powf(-1.0 / 6.0) * 2.0;
        let particles = p
            .charges
            .iter()
            .zip(&terms)
            .map(|(&charge, &(r_vdw, epsilon))| NonbondedParticle {
                charge,
                sigma: r_vdw * sigma_scale,
                epsilon,
            })
            .collect();
        let mut exceptions = Vec::new();
        let mut paired: HashSet<(usize, usize)> = HashSet::new();
        let key = |i: usize, j: usize| (i.min(j), i.max(j));
        let nt = p.p.ntypes;
        let sigma14 = 2f64.powf(-1.0 / 6.0);
        for d in p.dihedrals.iter().filter(|d| d.pair14) {
            let (i, l) = (d.atoms[0], d.atoms[3]);
            let idx = p.nb_index[nt * p.atom_type[i] + p.atom_type[l]] - 1;
            if idx < 0 {
                continue;
            }
            let (a, b) = (p.lj_a[idx as usize], p.lj_b[idx as usize]);
            let (r_min, eps) = if a == 0.0 || b == 0.0 {
                (1.0, 0.0)
            } else {
                (
                    (2.0 * a / b).powf(1.0 / 6.0) * ANGSTROM_TO_NM,
                    b * b / (4.0 * a) * KCAL_TO_KJ,
                )
            };
            let scee = p.scee.as_ref().map_or(1.2, |s| s[d.ty]);
            let scnb = p.scnb.as_ref().map_or(2.0, |s| s[d.ty]);
            if !paired.insert(key(i, l)) {
                return Err(self.invalid(format!(
                    "atoms {i} and {l} get two 1-4 exceptions (OpenMM rejects duplicate exceptions)"
                )));
            }
            exceptions.push(NonbondedException {
                i,
                j: l,
                charge_prod: p.charges[i] * p.charges[l] / scee,
                sigma: r_min * sigma14,
                epsilon: eps / scnb,
            });
        }
        let mut excluded: HashSet<(usize, usize)> = HashSet::new();
        for (i, list) in p.excluded.iter().enumerate() {
            for &j in list {
                if paired.contains(&key(i, j)) {
                    continue;
                }
                if i == j || !excluded.insert(key(i, j)) {
                    return Err(self.invalid(format!(
                        "atom {i} excludes atom {j} {} (OpenMM rejects this exception)",
                        if i == j { "itself" } else { "twice" }
                    )));
                }
                exceptions.push(NonbondedException {
                    i,
                    j,
                    charge_prod: 0.0,
                    sigma: 0.1,
                    epsilon: 0.0,
                });
            }
        }
        let switch = match o.switch_distance {
            Some(s) if s != 0.0 && method.has_cutoff() => {
                if s >= o.nonbonded_cutoff {
                    return Err(self.invalid(format!(
                        "switch distance {s} nm is too large compared to the cutoff {} nm",
                        o.nonbonded_cutoff
                    )));
                }
                if s < 0.0 {
                    return Err(
                        self.invalid(format!("switch distance {s} nm must be non-negative"))
                    );
                }
                Some(s)
            }
            _ => None,
        };
        let mut nonbonded = NonbondedForce {
            method,
            cutoff: if method.has_cutoff() {
                o.nonbonded_cutoff
            } else {
                1.0
            },
            switch_distance: switch,
            reaction_field_dielectric: 78.3,
            use_dispersion_correction: true,
            ewald_error_tolerance: o.ewald_error_tolerance,
            particles,
            exceptions,
        };

        // Implicit solvent.
        let gb = match o.implicit_solvent {
            None => None,
            Some(ImplicitSolvent::Obc2) => {
                let kappa = match o.implicit_solvent_kappa {
                    Some(k) => k,
                    None => {
                        50.33355
                            * (o.implicit_solvent_salt_conc / o.solvent_dielectric / o.temperature)
                                .sqrt()
                            * 7.3
                    }
                };
                if !(kappa >= 0.0 && kappa.is_finite()) {
                    return Err(self.invalid(format!(
                        "implicit-solvent kappa {kappa} nm⁻¹ must be finite and >= 0"
                    )));
                }
                if !matches!(
                    method,
                    NonbondedMethod::NoCutoff
                        | NonbondedMethod::CutoffNonPeriodic
                        | NonbondedMethod::CutoffPeriodic
                ) {
                    return Err(self.invalid(format!(
                        "nonbonded method {method:?} cannot be used with implicit solvent (OpenMM: illegal for GBSA)"
                    )));
                }
                let (Some(radii), Some(screen)) = (&p.radii, &p.screen) else {
                    return Err(Error::format(
                        &self.path,
                        "implicit solvent needs the RADII and SCREEN sections, which this prmtop lacks",
                    ));
                };
                let particles = p
                    .charges
                    .iter()
                    .zip(radii.iter().zip(screen))
                    .map(|(&charge, (&r, &s))| ObcParticle {
                        charge,
                        radius: r / 10.0,
                        scale: s,
                    })
                    .collect();
                let base = GbsaObcForce {
                    method,
                    cutoff: if method.has_cutoff() {
                        o.nonbonded_cutoff
                    } else {
                        1.0
                    },
                    solute_dielectric: o.solute_dielectric,
                    solvent_dielectric: o.solvent_dielectric,
                    particles,
                    ..GbsaObcForce::default()
                };
                Some(if kappa > 0.0 {
                    // OpenMM switches to the CustomGBForce OBC2 when salt is present.
                    GbsaObcForce {
                        flavor: ObcFlavor::CustomGbObc2,
                        kappa,
                        offset: GB_OFFSET,
                        coulomb_constant: CUSTOM_GB_COULOMB,
                        surface_area_energy: if o.ace_surface_area {
                            CUSTOM_GB_ACE / (4.0 * PI)
                        } else {
                            0.0
                        },
                        ..base
                    }
                } else {
                    GbsaObcForce {
                        surface_area_energy: if o.ace_surface_area {
                            base.surface_area_energy
                        } else {
                            0.0
                        },
                        ..base
                    }
                })
            }
        };
        if gb.is_some() {
            nonbonded.reaction_field_dielectric = 1.0;
        }
        push(ForceKind::Nonbonded(nonbonded));
        if let Some(g) = gb {
            push(ForceKind::GbsaObc(g));
        }
        if o.remove_cm_motion {
            push(ForceKind::CmMotionRemover { frequency: 1 });
        }

        let mut system = System {
            masses: p.masses.clone(),
            constraints,
            forces,
            default_box: None,
        };
        if system.uses_periodic_boundaries() {
            system.default_box = box_vectors;
        }
        Ok(system)
    }
}
