//! Consistency checks of a [`System`] before any kernel sees it.

use super::system::*;
use crate::error::{Error, Result};

fn bad(force: &Force, index: usize, what: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!(
        "force '{}' (group {}), entry {index}: {what}",
        force.name, force.group
    ))
}

fn check_indices(force: &Force, entry: usize, idx: &[usize], n: usize) -> Result<()> {
    if let Some(&i) = idx.iter().find(|&&i| i >= n) {
        return Err(bad(
            force,
            entry,
            format_args!("particle index {i} out of range (system has {n})"),
        ));
    }
    Ok(())
}

fn check_finite(force: &Force, entry: usize, values: &[f64]) -> Result<()> {
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad(
            force,
            entry,
            format_args!("non-finite parameter in {values:?}"),
        ));
    }
    Ok(())
}

/// Check that a box is finite and in OpenMM's reduced form with positive
/// diagonal: a = (ax,0,0), b = (bx,by,0), c = (cx,cy,cz).
pub(super) fn check_box(b: &BoxVectors) -> Result<()> {
    let flat = b.iter().flatten();
    if flat.clone().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite(format!("box vectors {b:?}")));
    }
    if b[0][1] != 0.0 || b[0][2] != 0.0 || b[1][2] != 0.0 {
        return Err(Error::InvalidArgument(format!(
            "box vectors {b:?} are not in reduced form (a along x, b in the xy plane)"
        )));
    }
    if b[0][0] <= 0.0 || b[1][1] <= 0.0 || b[2][2] <= 0.0 {
        return Err(Error::InvalidArgument(format!(
            "box vectors {b:?} need positive diagonal entries (nm)"
        )));
    }
    Ok(())
}

fn check_per_particle(force: &Force, len: usize, n: usize) -> Result<()> {
    if len != n {
        return Err(Error::Shape(format!(
            "force '{}' has {len} per-particle entries for a system of {n} particles",
            force.name
        )));
    }
    Ok(())
}

pub(super) fn validate_system(system: &System) -> Result<()> {
    let n = system.n_particles();
    if let Some(i) = system
        .masses
        .iter()
        .position(|m| !m.is_finite() || *m < 0.0)
    {
        return Err(Error::InvalidArgument(format!(
            "particle {i} has mass {} amu (must be finite and >= 0)",
            system.masses[i]
        )));
    }
    for (k, c) in system.constraints.iter().enumerate() {
        if c.i >= n || c.j >= n || c.i == c.j || !(c.distance > 0.0 && c.distance.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "constraint {k} ({}-{}, {} nm) is invalid for {n} particles",
                c.i, c.j, c.distance
            )));
        }
    }
    if let Some(b) = &system.default_box {
        check_box(b)?;
    }
    for f in &system.forces {
        if usize::from(f.group) >= MAX_FORCE_GROUPS {
            return Err(Error::InvalidArgument(format!(
                "force '{}' has group {} (must be < {MAX_FORCE_GROUPS})",
                f.name, f.group
            )));
        }
        match &f.kind {
            ForceKind::HarmonicBond(b) => {
                for (e, t) in b.bonds.iter().enumerate() {
                    check_indices(f, e, &[t.i, t.j], n)?;
                    check_finite(f, e, &[t.length, t.k])?;
                }
            }
            ForceKind::HarmonicAngle(a) => {
                for (e, t) in a.angles.iter().enumerate() {
                    check_indices(f, e, &t.ijk, n)?;
                    check_finite(f, e, &[t.angle, t.k])?;
                }
            }
            ForceKind::PeriodicTorsion(p) => {
                for (e, t) in p.torsions.iter().enumerate() {
                    check_indices(f, e, &t.ijkl, n)?;
                    check_finite(f, e, &[t.phase, t.k])?;
                }
            }
            ForceKind::Nonbonded(nb) => {
                check_per_particle(f, nb.particles.len(), n)?;
                for (e, p) in nb.particles.iter().enumerate() {
                    check_finite(f, e, &[p.charge, p.sigma, p.epsilon])?;
                }
                for (e, x) in nb.exceptions.iter().enumerate() {
                    check_indices(f, e, &[x.i, x.j], n)?;
                    check_finite(f, e, &[x.charge_prod, x.sigma, x.epsilon])?;
                }
                if nb.method.has_cutoff() && (nb.cutoff.is_nan() || nb.cutoff <= 0.0) {
                    return Err(bad(
                        f,
                        0,
                        format_args!("cutoff {} nm must be positive", nb.cutoff),
                    ));
                }
                if let Some(s) = nb.switch_distance {
                    if !(s >= 0.0 && s < nb.cutoff) {
                        return Err(bad(
                            f,
                            0,
                            format_args!(
                                "switch distance {s} nm must be in [0, cutoff {})",
                                nb.cutoff
                            ),
                        ));
                    }
                }
            }
            ForceKind::GbsaObc(g) => {
                check_per_particle(f, g.particles.len(), n)?;
                for (e, p) in g.particles.iter().enumerate() {
                    check_finite(f, e, &[p.charge, p.radius, p.scale])?;
                    if p.radius - g.offset <= 0.0 {
                        return Err(bad(
                            f,
                            e,
                            format_args!(
                                "radius {} nm is not larger than the offset {} nm",
                                p.radius, g.offset
                            ),
                        ));
                    }
                }
            }
            ForceKind::CmMotionRemover { .. } => {}
        }
    }
    Ok(())
}
