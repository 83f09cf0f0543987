//! Reader for OpenMM's serialized `System` XML (`XmlSerializer.serialize`).
//!
//! Supported: particles (masses), constraints, the default periodic box and
//! the forces `HarmonicBondForce`, `HarmonicAngleForce`,
//! `PeriodicTorsionForce`, `NonbondedForce`, `GBSAOBCForce`,
//! `CMMotionRemover`, and the `CustomGBForce` that
//! `openmm.app.internal.customgbforces.GBSAOBC2Force` builds (amber14's
//! `implicit/obc2.xml`), recognised by its expressions.
//!
//! Anything else is an error that names what was found and where (line,
//! force index, type): unknown force types, other `CustomGBForce`s, virtual
//! sites, `NonbondedForce` parameter offsets, serialization versions newer
//! than the ones this reader knows. Nothing is silently dropped.
//!
//! Numbers are parsed with Rust's correctly rounded `f64` parser, so values
//! are bit-identical to the doubles OpenMM serialised (it writes the shortest
//! representation that round-trips).

use std::f64::consts::PI;
use std::fmt;
use std::path::Path;

use roxmltree::{Document, Node};

use super::system::*;
use crate::error::{Error, Result};

/// Read an OpenMM System XML file (see [`parse_system_xml`]).
///
/// Errors: [`Error::Io`] when the file cannot be read; otherwise as
/// [`parse_system_xml`].
pub fn read_system_xml(path: impl AsRef<Path>) -> Result<System> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::parse(path, line, "file is not valid UTF-8")
    })?;
    parse_system_xml(text, path)
}

/// Parse the text of an OpenMM System XML document; `path` is only used in
/// error messages.
///
/// The default box is kept (as `System::default_box`) only when some force
/// uses periodic boundary conditions. Particle indices are checked against
/// the number of particles; the rest of the consistency checks are
/// [`System::validate`]'s.
///
/// Errors: [`Error::Parse`] with the 1-based line of the offending element
/// for malformed XML, missing or malformed attributes, unsupported versions,
/// force types or features.
pub fn parse_system_xml(text: &str, path: &Path) -> Result<System> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| match e {
        // Reported at 1:1 by roxmltree; the problem is where the text ends.
        roxmltree::Error::UnclosedRootNode | roxmltree::Error::UnexpectedEndOfStream => {
            Error::parse(
                path,
                text.lines().count().max(1),
                format!("malformed XML: {e} (the document ends here; is the file truncated?)"),
            )
        }
        e => Error::parse(path, e.pos().row as usize, format!("malformed XML: {e}")),
    })?;
    let cx = Cx { doc: &doc, path };
    cx.system(doc.root_element())
}

/// Names the element an error is about: optional force, element, index.
#[derive(Clone, Copy)]
struct Loc<'s> {
    force: Option<(usize, &'s str)>,
    elem: &'s str,
    index: Option<usize>,
}

impl<'s> Loc<'s> {
    fn top(elem: &'s str) -> Self {
        Loc {
            force: None,
            elem,
            index: None,
        }
    }
    fn at(self, elem: &'s str, index: usize) -> Self {
        Loc {
            elem,
            index: Some(index),
            ..self
        }
    }
    fn elem(self, elem: &'s str) -> Self {
        Loc {
            elem,
            index: None,
            ..self
        }
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((k, ty)) = self.force {
            write!(f, "force {k} ({ty}), ")?;
        }
        write!(f, "<{}>", self.elem)?;
        if let Some(i) = self.index {
            write!(f, " {i}")?;
        }
        Ok(())
    }
}

struct Cx<'a, 'input> {
    doc: &'a Document<'input>,
    path: &'a Path,
}

type N<'a, 'input> = Node<'a, 'input>;

fn elements<'a, 'i>(n: N<'a, 'i>) -> impl Iterator<Item = N<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

impl<'a, 'input> Cx<'a, 'input> {
    fn line(&self, n: N) -> usize {
        self.doc.text_pos_at(n.range().start).row as usize
    }

    fn err(&self, n: N, msg: impl Into<String>) -> Error {
        Error::parse(self.path, self.line(n), msg)
    }

    fn attr(&self, n: N<'a, 'input>, name: &str, loc: Loc) -> Result<&'a str> {
        n.attribute(name)
            .ok_or_else(|| self.err(n, format!("{loc}: attribute '{name}' is missing")))
    }

    fn f64_value(&self, n: N, name: &str, v: &str, loc: Loc) -> Result<f64> {
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.err(
                n,
                format!("{loc}: attribute {name}=\"{v}\" is not a finite number"),
            )),
        }
    }

    fn f64(&self, n: N<'a, 'input>, name: &str, loc: Loc) -> Result<f64> {
        let v = self.attr(n, name, loc)?;
        self.f64_value(n, name, v, loc)
    }

    fn f64_or(&self, n: N<'a, 'input>, name: &str, default: f64, loc: Loc) -> Result<f64> {
        match n.attribute(name) {
            None => Ok(default),
            Some(v) => self.f64_value(n, name, v, loc),
        }
    }

    fn int_value(&self, n: N, name: &str, v: &str, loc: Loc) -> Result<i64> {
        v.trim().parse::<i64>().map_err(|_| {
            self.err(
                n,
                format!("{loc}: attribute {name}=\"{v}\" is not an integer"),
            )
        })
    }

    fn int(&self, n: N<'a, 'input>, name: &str, loc: Loc) -> Result<i64> {
        let v = self.attr(n, name, loc)?;
        self.int_value(n, name, v, loc)
    }

    fn int_or(&self, n: N<'a, 'input>, name: &str, default: i64, loc: Loc) -> Result<i64> {
        match n.attribute(name) {
            None => Ok(default),
            Some(v) => self.int_value(n, name, v, loc),
        }
    }

    /// OpenMM writes booleans as `0`/`1`; `true`/`false` are accepted too.
    fn bool_or(&self, n: N<'a, 'input>, name: &str, default: bool, loc: Loc) -> Result<bool> {
        match n.attribute(name).map(str::trim) {
            None => Ok(default),
            Some("1") | Some("true") => Ok(true),
            Some("0") | Some("false") => Ok(false),
            Some(v) => Err(self.err(
                n,
                format!("{loc}: attribute {name}=\"{v}\" is not a boolean (0 or 1)"),
            )),
        }
    }

    /// A particle index attribute, checked against `n_particles`.
    fn index(&self, n: N<'a, 'input>, name: &str, n_particles: usize, loc: Loc) -> Result<usize> {
        let v = self.int(n, name, loc)?;
        if v < 0 || v as u64 >= n_particles as u64 {
            return Err(self.err(
                n,
                format!(
                    "{loc}: particle index {name}={v} is out of range (the system has {n_particles} particles)"
                ),
            ));
        }
        Ok(v as usize)
    }

    /// The one child element named `name`.
    fn child(&self, n: N<'a, 'input>, name: &str, loc: Loc) -> Result<N<'a, 'input>> {
        let mut it = elements(n).filter(|c| c.tag_name().name() == name);
        let c = it
            .next()
            .ok_or_else(|| self.err(n, format!("{loc}: missing <{name}> element")))?;
        if let Some(dup) = it.next() {
            return Err(self.err(dup, format!("{loc}: more than one <{name}> element")));
        }
        Ok(c)
    }

    /// The element children of `list`, each of which must be named `item`.
    fn items(&self, list: N<'a, 'input>, item: &str, loc: Loc) -> Result<Vec<N<'a, 'input>>> {
        let v: Vec<_> = elements(list).collect();
        if let Some(bad) = v.iter().find(|c| c.tag_name().name() != item) {
            return Err(self.err(
                *bad,
                format!(
                    "{loc}: unexpected <{}> inside <{}> (expected <{item}>)",
                    bad.tag_name().name(),
                    list.tag_name().name()
                ),
            ));
        }
        Ok(v)
    }

    fn version(&self, n: N<'a, 'input>, range: (i64, i64), loc: Loc) -> Result<i64> {
        let v = self.int(n, "version", loc)?;
        if v < range.0 || v > range.1 {
            return Err(self.err(
                n,
                format!(
                    "{loc}: serialization version {v} is not supported (this reader understands versions {}..={})",
                    range.0, range.1
                ),
            ));
        }
        Ok(v)
    }

    fn system(&self, root: N<'a, 'input>) -> Result<System> {
        let loc = Loc::top("System");
        if root.tag_name().name() != "System" {
            return Err(self.err(
                root,
                format!(
                    "the root element is <{}>, not <System> (is this an OpenMM System XML file?)",
                    root.tag_name().name()
                ),
            ));
        }
        if let Some(t) = root.attribute("type") {
            if t != "System" {
                return Err(self.err(
                    root,
                    format!("<System type=\"{t}\">: expected type=\"System\""),
                ));
            }
        }
        self.version(root, (1, 1), loc)?;

        let boxn = self.child(root, "PeriodicBoxVectors", loc)?;
        let mut bv = [[0.0; 3]; 3];
        for (k, name) in ["A", "B", "C"].into_iter().enumerate() {
            let bloc = Loc::top("PeriodicBoxVectors").elem(name);
            let v = self.child(boxn, name, bloc)?;
            for (d, axis) in ["x", "y", "z"].into_iter().enumerate() {
                bv[k][d] = self.f64(v, axis, bloc)?;
            }
        }

        let particles = self.child(root, "Particles", loc)?;
        let ploc = Loc::top("Particle");
        let mut masses = Vec::new();
        for (i, p) in self
            .items(particles, "Particle", Loc::top("Particles"))?
            .into_iter()
            .enumerate()
        {
            masses.push(self.f64(p, "mass", ploc.at("Particle", i))?);
            if let Some(vs) = elements(p).next() {
                return Err(self.err(
                    vs,
                    format!(
                        "particle {i} is a virtual site ({}); virtual sites are not supported",
                        vs.tag_name().name()
                    ),
                ));
            }
        }
        let n = masses.len();

        let cons = self.child(root, "Constraints", loc)?;
        let mut constraints = Vec::new();
        for (k, c) in self
            .items(cons, "Constraint", Loc::top("Constraints"))?
            .into_iter()
            .enumerate()
        {
            let l = Loc::top("Constraint").at("Constraint", k);
            constraints.push(Constraint {
                i: self.index(c, "p1", n, l)?,
                j: self.index(c, "p2", n, l)?,
                distance: self.f64(c, "d", l)?,
            });
        }

        let forces_node = self.child(root, "Forces", loc)?;
        let mut forces = Vec::new();
        for (k, f) in elements(forces_node).enumerate() {
            forces.push(self.force(k, f, n)?);
        }

        if let Some(other) = elements(root).find(|c| {
            !matches!(
                c.tag_name().name(),
                "PeriodicBoxVectors" | "Particles" | "Constraints" | "Forces"
            )
        }) {
            return Err(self.err(
                other,
                format!(
                    "unexpected <{}> element in <System>",
                    other.tag_name().name()
                ),
            ));
        }

        let mut system = System {
            masses,
            constraints,
            forces,
            default_box: None,
        };
        if system.uses_periodic_boundaries() {
            system.default_box = Some(bv);
        }
        Ok(system)
    }

    fn force(&self, k: usize, node: N<'a, 'input>, n: usize) -> Result<Force> {
        if node.tag_name().name() != "Force" {
            return Err(self.err(
                node,
                format!(
                    "unexpected <{}> element in <Forces> (entry {k})",
                    node.tag_name().name()
                ),
            ));
        }
        let ty = node
            .attribute("type")
            .ok_or_else(|| self.err(node, format!("force {k}: attribute 'type' is missing")))?;
        let loc = Loc {
            force: Some((k, ty)),
            elem: "Force",
            index: None,
        };
        let group = self.int_or(node, "forceGroup", 0, loc)?;
        if !(0..MAX_FORCE_GROUPS as i64).contains(&group) {
            return Err(self.err(
                node,
                format!("{loc}: forceGroup {group} is out of range 0..{MAX_FORCE_GROUPS}"),
            ));
        }
        let name = node.attribute("name").unwrap_or(ty).to_string();
        let kind = match ty {
            "HarmonicBondForce" => {
                let v = self.version(node, (1, 2), loc)?;
                let periodic = v > 1 && self.bool_or(node, "usesPeriodic", false, loc)?;
                let list = self.child(node, "Bonds", loc)?;
                let mut bonds = Vec::new();
                for (e, b) in self.items(list, "Bond", loc)?.into_iter().enumerate() {
                    let l = loc.at("Bond", e);
                    bonds.push(HarmonicBond {
                        i: self.index(b, "p1", n, l)?,
                        j: self.index(b, "p2", n, l)?,
                        length: self.f64(b, "d", l)?,
                        k: self.f64(b, "k", l)?,
                    });
                }
                ForceKind::HarmonicBond(HarmonicBondForce { bonds, periodic })
            }
            "HarmonicAngleForce" => {
                let v = self.version(node, (1, 2), loc)?;
                let periodic = v > 1 && self.bool_or(node, "usesPeriodic", false, loc)?;
                let list = self.child(node, "Angles", loc)?;
                let mut angles = Vec::new();
                for (e, a) in self.items(list, "Angle", loc)?.into_iter().enumerate() {
                    let l = loc.at("Angle", e);
                    angles.push(HarmonicAngle {
                        ijk: [
                            self.index(a, "p1", n, l)?,
                            self.index(a, "p2", n, l)?,
                            self.index(a, "p3", n, l)?,
                        ],
                        angle: self.f64(a, "a", l)?,
                        k: self.f64(a, "k", l)?,
                    });
                }
                ForceKind::HarmonicAngle(HarmonicAngleForce { angles, periodic })
            }
            "PeriodicTorsionForce" => {
                let v = self.version(node, (1, 2), loc)?;
                let periodic = v > 1 && self.bool_or(node, "usesPeriodic", false, loc)?;
                let list = self.child(node, "Torsions", loc)?;
                let mut torsions = Vec::new();
                for (e, t) in self.items(list, "Torsion", loc)?.into_iter().enumerate() {
                    let l = loc.at("Torsion", e);
                    let per = self.int(t, "periodicity", l)?;
                    if !(1..=i64::from(u32::MAX)).contains(&per) {
                        return Err(self.err(
                            t,
                            format!("{l}: periodicity {per} must be a positive integer"),
                        ));
                    }
                    torsions.push(PeriodicTorsion {
                        ijkl: [
                            self.index(t, "p1", n, l)?,
                            self.index(t, "p2", n, l)?,
                            self.index(t, "p3", n, l)?,
                            self.index(t, "p4", n, l)?,
                        ],
                        periodicity: per as u32,
                        phase: self.f64(t, "phase", l)?,
                        k: self.f64(t, "k", l)?,
                    });
                }
                ForceKind::PeriodicTorsion(PeriodicTorsionForce { torsions, periodic })
            }
            "NonbondedForce" => ForceKind::Nonbonded(self.nonbonded(node, n, loc)?),
            "GBSAOBCForce" => {
                let v = self.version(node, (1, 2), loc)?;
                let method = self.method(node, 2, loc)?;
                let mut g = GbsaObcForce {
                    flavor: ObcFlavor::GbsaObcForce,
                    method,
                    cutoff: self.f64(node, "cutoff", loc)?,
                    solute_dielectric: self.f64(node, "soluteDielectric", loc)?,
                    solvent_dielectric: self.f64(node, "solventDielectric", loc)?,
                    ..GbsaObcForce::default()
                };
                if v > 1 {
                    g.surface_area_energy = self.f64(node, "surfaceAreaEnergy", loc)?;
                }
                let list = self.child(node, "Particles", loc)?;
                let items = self.items(list, "Particle", loc)?;
                self.check_count(list, items.len(), n, loc)?;
                for (e, p) in items.into_iter().enumerate() {
                    let l = loc.at("Particle", e);
                    g.particles.push(ObcParticle {
                        charge: self.f64(p, "q", l)?,
                        radius: self.f64(p, "r", l)?,
                        scale: self.f64(p, "scale", l)?,
                    });
                }
                ForceKind::GbsaObc(g)
            }
            "CMMotionRemover" => {
                self.version(node, (1, 1), loc)?;
                let f = self.int(node, "frequency", loc)?;
                if !(1..=i64::from(u32::MAX)).contains(&f) {
                    return Err(self.err(
                        node,
                        format!("{loc}: frequency {f} must be a positive number of steps"),
                    ));
                }
                ForceKind::CmMotionRemover {
                    frequency: f as u32,
                }
            }
            "CustomGBForce" => ForceKind::GbsaObc(self.custom_gb(node, n, loc)?),
            other => {
                return Err(self.err(
                    node,
                    format!(
                        "force {k} has type {other} (name \"{name}\"), which steermd does not support; \
                         supported: HarmonicBondForce, HarmonicAngleForce, PeriodicTorsionForce, \
                         NonbondedForce, GBSAOBCForce, CMMotionRemover and the OBC2 CustomGBForce \
                         of openmm.app"
                    ),
                ))
            }
        };
        Ok(Force {
            group: group as u8,
            name,
            kind,
        })
    }

    fn check_count(&self, list: N, len: usize, n: usize, loc: Loc) -> Result<()> {
        if len != n {
            return Err(self.err(
                list,
                format!(
                    "{}: {len} <Particle> entries for a system of {n} particles",
                    loc.elem(list.tag_name().name())
                ),
            ));
        }
        Ok(())
    }

    /// `method` attribute: OpenMM's NonbondedMethod codes, up to `max`.
    fn method(&self, node: N<'a, 'input>, max: i64, loc: Loc) -> Result<NonbondedMethod> {
        let m = self.int(node, "method", loc)?;
        const METHODS: [NonbondedMethod; 6] = [
            NonbondedMethod::NoCutoff,
            NonbondedMethod::CutoffNonPeriodic,
            NonbondedMethod::CutoffPeriodic,
            NonbondedMethod::Ewald,
            NonbondedMethod::Pme,
            NonbondedMethod::LjPme,
        ];
        if !(0..=max).contains(&m) {
            return Err(self.err(
                node,
                format!("{loc}: nonbonded method code {m} is not one of 0..={max}"),
            ));
        }
        Ok(METHODS[m as usize])
    }

    fn nonbonded(&self, node: N<'a, 'input>, n: usize, loc: Loc) -> Result<NonbondedForce> {
        let v = self.version(node, (1, 4), loc)?;
        let method = self.method(node, 5, loc)?;
        let cutoff = self.f64(node, "cutoff", loc)?;
        let use_switch = self.bool_or(node, "useSwitchingFunction", false, loc)?;
        let switch = self.f64_or(node, "switchingDistance", -1.0, loc)?;
        if !self.bool_or(node, "includeDirectSpace", true, loc)? {
            return Err(self.err(
                node,
                format!("{loc}: includeDirectSpace=\"0\" (reciprocal space only) is not supported"),
            ));
        }
        if v >= 3 {
            for section in ["ParticleOffsets", "ExceptionOffsets"] {
                let s = self.child(node, section, loc)?;
                let count = elements(s).count();
                if count > 0 {
                    return Err(self.err(
                        s,
                        format!(
                            "{loc}: <{section}> has {count} parameter offset(s); parameter offsets \
                             (global-parameter-dependent charges/LJ) are not supported"
                        ),
                    ));
                }
            }
            // Global parameters only matter through the offsets rejected above.
            self.child(node, "GlobalParameters", loc)?;
        }
        let list = self.child(node, "Particles", loc)?;
        let items = self.items(list, "Particle", loc)?;
        self.check_count(list, items.len(), n, loc)?;
        let mut particles = Vec::with_capacity(n);
        for (e, p) in items.into_iter().enumerate() {
            let l = loc.at("Particle", e);
            particles.push(NonbondedParticle {
                charge: self.f64(p, "q", l)?,
                sigma: self.f64(p, "sig", l)?,
                epsilon: self.f64(p, "eps", l)?,
            });
        }
        let list = self.child(node, "Exceptions", loc)?;
        let mut exceptions = Vec::new();
        for (e, x) in self.items(list, "Exception", loc)?.into_iter().enumerate() {
            let l = loc.at("Exception", e);
            exceptions.push(NonbondedException {
                i: self.index(x, "p1", n, l)?,
                j: self.index(x, "p2", n, l)?,
                charge_prod: self.f64(x, "q", l)?,
                sigma: self.f64(x, "sig", l)?,
                epsilon: self.f64(x, "eps", l)?,
            });
        }
        Ok(NonbondedForce {
            method,
            cutoff,
            // OpenMM applies the switching function only with a cutoff.
            switch_distance: (use_switch && method.has_cutoff()).then_some(switch),
            reaction_field_dielectric: self.f64(node, "rfDielectric", loc)?,
            use_dispersion_correction: self.bool_or(node, "dispersionCorrection", true, loc)?,
            ewald_error_tolerance: self.f64(node, "ewaldTolerance", loc)?,
            particles,
            exceptions,
        })
    }

    /// The OBC2 `CustomGBForce` of `openmm.app.internal.customgbforces`.
    fn custom_gb(&self, node: N<'a, 'input>, n: usize, loc: Loc) -> Result<GbsaObcForce> {
        self.version(node, (1, 2), loc)?;
        let method = self.method(node, 2, loc)?;
        let cutoff = self.f64(node, "cutoff", loc)?;
        let not_obc2 = |at: N, why: String| {
            self.err(
                at,
                format!(
                    "{loc}: not recognised as the OBC2 model of openmm.app \
                     (openmm.app.internal.customgbforces.GBSAOBC2Force), the only CustomGBForce \
                     steermd supports: {why}"
                ),
            )
        };

        let ppp = self.child(node, "PerParticleParameters", loc)?;
        let names: Vec<&str> = self
            .items(ppp, "Parameter", loc)?
            .into_iter()
            .map(|p| self.attr(p, "name", loc.elem("Parameter")))
            .collect::<Result<_>>()?;
        if names != ["charge", "or", "sr"] {
            return Err(not_obc2(
                ppp,
                format!(
                    "per-particle parameters are {names:?}, expected [\"charge\", \"or\", \"sr\"]"
                ),
            ));
        }
        for section in [
            "GlobalParameters",
            "EnergyParameterDerivatives",
            "Exclusions",
            "Functions",
        ] {
            if let Some(s) = elements(node).find(|c| c.tag_name().name() == section) {
                let count = elements(s).count();
                if count > 0 {
                    return Err(not_obc2(
                        s,
                        format!("<{section}> has {count} entries (expected none)"),
                    ));
                }
            }
        }

        // Computed values: I (pair integral) and B (Born radius).
        let cv = self.child(node, "ComputedValues", loc)?;
        let values = self.items(cv, "Value", loc)?;
        if values.len() != 2 {
            return Err(not_obc2(
                cv,
                format!("{} computed values (expected I and B)", values.len()),
            ));
        }
        let mut caps = Captures::default();
        for (v, (name, ty, template)) in values.iter().zip([("I", 2, OBC2_I), ("B", 0, OBC2_B)]) {
            let l = loc.elem("Value");
            let got_name = self.attr(*v, "name", l)?;
            let got_ty = self.int(*v, "type", l)?;
            let expr = self.attr(*v, "expression", l)?;
            if got_name != name || got_ty != ty {
                return Err(not_obc2(
                    *v,
                    format!(
                        "computed value '{got_name}' of type {got_ty} where '{name}' of type {ty} was expected"
                    ),
                ));
            }
            match_template(template, expr, &mut caps).map_err(|why| {
                not_obc2(*v, format!("computed value {name} = \"{expr}\": {why}"))
            })?;
        }
        let offset = caps.get("offset").unwrap_or(0.009);

        // Energy terms: self term, optional ACE surface term, pair term.
        let et = self.child(node, "EnergyTerms", loc)?;
        let terms = self.items(et, "Term", loc)?;
        if !(2..=3).contains(&terms.len()) {
            return Err(not_obc2(
                et,
                format!("{} energy terms (expected 2 or 3)", terms.len()),
            ));
        }
        let mut term_caps = Captures::default();
        let mut salt = None;
        let mut pair_cutoff = None;
        let mut has_ace = false;
        let mut term_params_cut = Vec::new();
        for (t_idx, t) in terms.iter().enumerate() {
            let l = loc.at("Term", t_idx);
            let expr = self.attr(*t, "expression", l)?;
            let ty = self.int(*t, "type", l)?;
            let last = t_idx + 1 == terms.len();
            let candidates: &[(&str, i64, Kind)] = if t_idx == 0 {
                &[
                    (SELF_NOSALT, 0, Kind::SelfTerm(false)),
                    (SELF_SALT, 0, Kind::SelfTerm(true)),
                ]
            } else if !last {
                &[(ACE, 0, Kind::Ace)]
            } else {
                &[
                    (PAIR_NOSALT, 2, Kind::Pair(false, false)),
                    (PAIR_SALT, 2, Kind::Pair(true, false)),
                    (PAIR_NOSALT_CUT, 2, Kind::Pair(false, true)),
                    (PAIR_SALT_CUT, 2, Kind::Pair(true, true)),
                ]
            };
            let mut first_why = None;
            let mut matched = None;
            // Python appends "; cutoff=..." to every term when a cutoff is used.
            let params_cut = expr.contains("cutoff=");
            term_params_cut.push(params_cut);
            for &(template, want_ty, kind) in candidates {
                let mut c = Captures::default();
                let full = format!("{template}{}", if params_cut { PARAMS_CUT } else { PARAMS });
                match match_template(&full, expr, &mut c) {
                    Ok(()) if ty == want_ty => {
                        matched = Some((kind, c));
                        break;
                    }
                    Ok(()) => {
                        first_why
                            .get_or_insert(format!("computation type {ty}, expected {want_ty}"));
                    }
                    Err(why) => {
                        first_why.get_or_insert(why);
                    }
                }
            }
            let Some((kind, c)) = matched else {
                return Err(not_obc2(
                    *t,
                    format!(
                        "energy term {t_idx} = \"{expr}\" matches no GBSAOBC2Force template ({})",
                        first_why.unwrap_or_default()
                    ),
                ));
            };
            match kind {
                Kind::SelfTerm(s) => salt = Some(s),
                Kind::Ace => has_ace = true,
                Kind::Pair(s, cut) => {
                    if salt != Some(s) {
                        return Err(not_obc2(
                            *t,
                            "the self and pair energy terms disagree on salt screening (kappa)"
                                .into(),
                        ));
                    }
                    pair_cutoff = Some(cut);
                }
            }
            term_caps.merge(c).map_err(|why| not_obc2(*t, why))?;
        }
        let (Some(salt), Some(cut)) = (salt, pair_cutoff) else {
            return Err(not_obc2(et, "missing self or pair energy term".into()));
        };
        let get = |name: &str| {
            term_caps
                .get(name)
                .ok_or_else(|| not_obc2(et, format!("no value for {name} in the energy terms")))
        };
        let solvent = get("solvent")?;
        let solute = get("solute")?;
        let kappa = get("kappa")?;
        let coulomb = get("coulomb")?;
        let term_offset = get("offset")?;
        if !close(term_offset, offset) {
            return Err(not_obc2(
                et,
                format!("offset {term_offset} in the energy terms differs from {offset} in B"),
            ));
        }
        if salt != (kappa > 0.0) {
            return Err(not_obc2(
                et,
                format!("kappa = {kappa} does not match the form of the energy terms"),
            ));
        }
        if term_params_cut.iter().any(|&c| c != cut) {
            return Err(not_obc2(
                et,
                "the energy terms disagree on whether a cutoff is used".into(),
            ));
        }
        if cut != method.has_cutoff() {
            return Err(not_obc2(
                node,
                format!(
                    "the pair energy term {} a cutoff shift but the force's method is {method:?}",
                    if cut { "has" } else { "has no" }
                ),
            ));
        }
        if cut {
            let c = get("cutoff")?;
            let inv = get("inv_cutoff")?;
            if !close(c, cutoff) || !close(inv, 1.0 / cutoff) {
                return Err(not_obc2(
                    et,
                    format!(
                        "the cutoff in the energy terms ({c} nm, shift 1/{}) differs from the force's cutoff {cutoff} nm",
                        1.0 / inv
                    ),
                ));
            }
        }
        let (surface_area_energy, probe_radius) = if has_ace {
            (get("sa")? / (4.0 * PI), get("probe")?)
        } else {
            (0.0, GbsaObcForce::default().probe_radius)
        };

        let list = self.child(node, "Particles", loc)?;
        let items = self.items(list, "Particle", loc)?;
        self.check_count(list, items.len(), n, loc)?;
        let mut particles = Vec::with_capacity(n);
        for (e, p) in items.into_iter().enumerate() {
            let l = loc.at("Particle", e);
            let charge = self.f64(p, "param1", l)?;
            let or = self.f64(p, "param2", l)?;
            let sr = self.f64(p, "param3", l)?;
            if or <= 0.0 {
                return Err(self.err(p, format!("{l}: offset radius or={or} nm must be positive")));
            }
            particles.push(ObcParticle {
                charge,
                radius: or + offset,
                scale: sr / or,
            });
        }
        Ok(GbsaObcForce {
            flavor: ObcFlavor::CustomGbObc2,
            method,
            cutoff,
            solute_dielectric: solute,
            solvent_dielectric: solvent,
            surface_area_energy,
            kappa,
            offset,
            probe_radius,
            coulomb_constant: coulomb,
            particles,
        })
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[derive(Clone, Copy)]
enum Kind {
    SelfTerm(bool),
    Ace,
    Pair(bool, bool),
}

// The expressions of openmm.app.internal.customgbforces (OpenMM 8):
// GBSAOBC2Force's computed values and _createEnergyTerms. `{name}` marks a
// number captured by the matcher; every other number must match exactly.
const OBC2_I: &str = "select(step(r+sr2-or1), 0.5*(1/L-1/U+0.25*(r-sr2^2/r)*(1/(U^2)-1/(L^2))+0.5*log(L/U)/r), 0);U=r+sr2;L=max(or1, D);D=abs(r-sr2)";
const OBC2_B: &str =
    "1/(1/or-tanh(psi-0.8*psi^2+4.85*psi^3)/radius);psi=I*or; radius=or+offset; offset={offset}";
const PARAMS: &str =
    "; solventDielectric={solvent}; soluteDielectric={solute}; kappa={kappa}; offset={offset}";
const PARAMS_CUT: &str = "; solventDielectric={solvent}; soluteDielectric={solute}; kappa={kappa}; offset={offset}; cutoff={cutoff}";
const SELF_NOSALT: &str = "-0.5*{coulomb}*(1/soluteDielectric-1/solventDielectric)*charge^2/B";
const SELF_SALT: &str =
    "-0.5*{coulomb}*(1/soluteDielectric-exp(-kappa*B)/solventDielectric)*charge^2/B";
const ACE: &str = "{sa}*(radius+{probe})^2*(radius/B)^6; radius=or+offset";
const PAIR_NOSALT: &str = concat!(
    "-{coulomb}*(1/soluteDielectric-1/solventDielectric)*charge1*charge2/f",
    ";f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2)))"
);
const PAIR_SALT: &str = concat!(
    "-{coulomb}*(1/soluteDielectric-exp(-kappa*f)/solventDielectric)*charge1*charge2/f",
    ";f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2)))"
);
const PAIR_NOSALT_CUT: &str = concat!(
    "-{coulomb}*(1/soluteDielectric-1/solventDielectric)*charge1*charge2*(1/f-{inv_cutoff})",
    ";f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2)))"
);
const PAIR_SALT_CUT: &str = concat!(
    "-{coulomb}*(1/soluteDielectric-exp(-kappa*f)/solventDielectric)*charge1*charge2*(1/f-{inv_cutoff})",
    ";f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2)))"
);

/// Numbers captured from expressions by placeholder name.
#[derive(Default, Debug)]
struct Captures(Vec<(String, f64)>);

impl Captures {
    fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// Record `name = v`; a name seen before must have the same value.
    fn set(&mut self, name: &str, v: f64) -> std::result::Result<(), String> {
        match self.get(name) {
            Some(old) if old != v => Err(format!("{name} is both {old} and {v}")),
            Some(_) => Ok(()),
            None => {
                self.0.push((name.to_string(), v));
                Ok(())
            }
        }
    }

    fn merge(&mut self, other: Captures) -> std::result::Result<(), String> {
        for (n, v) in other.0 {
            self.set(&n, v)?;
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum Tok<'s> {
    Text(String),
    Num(f64, &'s str),
    Hole(&'s str),
}

/// Split an expression into text (whitespace removed), numbers and (in
/// templates) `{name}` placeholders. Digits inside identifiers (`sr2`,
/// `charge1`) stay text.
fn tokens(s: &str, template: bool) -> Vec<Tok<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let flush = |text: &mut String, out: &mut Vec<Tok>| {
        if !text.is_empty() {
            out.push(Tok::Text(std::mem::take(text)));
        }
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            text.push_str(&s[start..i]);
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let lit = &s[start..i];
            flush(&mut text, &mut out);
            out.push(Tok::Num(lit.parse().unwrap_or(f64::NAN), lit));
        } else if template && c == b'{' {
            let end = s[i..].find('}').map_or(b.len(), |e| i + e);
            flush(&mut text, &mut out);
            out.push(Tok::Hole(&s[i + 1..end]));
            i = end + 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            text.push(ch);
            i += ch.len_utf8();
        }
    }
    flush(&mut text, &mut out);
    out
}

/// Match `expr` against `template`, recording the placeholder values.
fn match_template(
    template: &str,
    expr: &str,
    caps: &mut Captures,
) -> std::result::Result<(), String> {
    let t = tokens(template, true);
    let e = tokens(expr, false);
    for (k, pair) in t.iter().zip(e.iter()).enumerate() {
        match pair {
            (Tok::Text(a), Tok::Text(b)) if a == b => {}
            (Tok::Num(a, _), Tok::Num(b, _)) if a == b => {}
            (Tok::Hole(name), Tok::Num(v, lit)) => {
                if !v.is_finite() {
                    return Err(format!("{name} = '{lit}' is not a number"));
                }
                caps.set(name, *v)?;
            }
            (want, got) => {
                return Err(format!(
                    "token {k}: expected {}, found {}",
                    show(want),
                    show(got)
                ))
            }
        }
    }
    if t.len() != e.len() {
        return Err(format!(
            "{} tokens where the template has {}",
            e.len(),
            t.len()
        ));
    }
    Ok(())
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Text(s) => format!("'{s}'"),
        Tok::Num(_, lit) => format!("number {lit}"),
        Tok::Hole(name) => format!("a number ({name})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `_createEnergyTerms` of customgbforces.py, as Python formats it.
    fn python_terms(
        solvent: f64,
        solute: f64,
        kappa: f64,
        cutoff: Option<f64>,
        ace: bool,
    ) -> Vec<(String, i32)> {
        let mut params = format!(
            "; solventDielectric={solvent}; soluteDielectric={solute}; kappa={kappa}; offset=0.009"
        );
        if let Some(c) = cutoff {
            params += &format!("; cutoff={c}");
        }
        let screen = |x: &str| {
            if kappa > 0.0 {
                format!("(1/soluteDielectric-exp(-kappa*{x})/solventDielectric)")
            } else {
                "(1/soluteDielectric-1/solventDielectric)".to_string()
            }
        };
        let mut v = vec![(
            format!("-0.5*138.935485*{}*charge^2/B{params}", screen("B")),
            0,
        )];
        if ace {
            v.push((
                format!("28.3919551*(radius+0.14)^2*(radius/B)^6; radius=or+offset{params}"),
                0,
            ));
        }
        let tail = match cutoff {
            None => "/f".to_string(),
            Some(c) => format!("*(1/f-{})", 1.0 / c),
        };
        v.push((
            format!(
                "-138.935485*{}*charge1*charge2{tail};f=sqrt(r^2+B1*B2*exp(-r^2/(4*B1*B2))){params}",
                screen("f")
            ),
            2,
        ));
        v
    }

    fn xml(method: i32, cutoff: f64, terms: &[(String, i32)]) -> String {
        let mut s = String::from(
            r#"<?xml version="1.0" ?>
<System openmmVersion="8.6.1" type="System" version="1">
<PeriodicBoxVectors><A x="2" y="0" z="0"/><B x="0" y="2" z="0"/><C x="0" y="0" z="2"/></PeriodicBoxVectors>
<Particles><Particle mass="12"/><Particle mass="1.008"/></Particles>
<Constraints/>
<Forces>
"#,
        );
        s += &format!(
            r#"<Force cutoff="{cutoff}" forceGroup="3" method="{method}" name="CustomGBForce" type="CustomGBForce" version="2">
<PerParticleParameters><Parameter name="charge"/><Parameter name="or"/><Parameter name="sr"/></PerParticleParameters>
<GlobalParameters/><EnergyParameterDerivatives/>
<ComputedValues>
<Value expression="{OBC2_I}" name="I" type="2"/>
<Value expression="1/(1/or-tanh(psi-0.8*psi^2+4.85*psi^3)/radius);psi=I*or; radius=or+offset; offset=0.009" name="B" type="0"/>
</ComputedValues>
<EnergyTerms>
"#
        );
        for (e, t) in terms {
            s += &format!("<Term expression=\"{e}\" type=\"{t}\"/>\n");
        }
        s += r#"</EnergyTerms>
<Particles><Particle param1="-.5" param2=".161" param3=".11592"/><Particle param1=".5" param2=".111" param3=".09435"/></Particles>
<Exclusions/><Functions/>
</Force>
</Forces>
</System>
"#;
        s
    }

    fn gb(sys: &System) -> &GbsaObcForce {
        match &sys.forces[0].kind {
            ForceKind::GbsaObc(g) => g,
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn custom_gb_variants() {
        let p = Path::new("t.xml");
        for (kappa, cutoff, ace) in [
            (0.0, None, true),
            (0.0, None, false),
            (0.73, None, true),
            (0.0, Some(1.2), true),
            (0.5, Some(0.9), false),
        ] {
            let method = if cutoff.is_some() { 1 } else { 0 };
            let text = xml(
                method,
                cutoff.unwrap_or(1.0),
                &python_terms(80.0, 2.0, kappa, cutoff, ace),
            );
            let sys = parse_system_xml(&text, p).unwrap();
            let g = gb(&sys);
            assert_eq!(sys.forces[0].group, 3);
            assert_eq!(g.flavor, ObcFlavor::CustomGbObc2);
            assert_eq!(g.solvent_dielectric, 80.0);
            assert_eq!(g.solute_dielectric, 2.0);
            assert_eq!(g.kappa, kappa);
            assert_eq!(g.coulomb_constant, 138.935485);
            assert_eq!(g.offset, 0.009);
            assert_eq!(g.method.has_cutoff(), cutoff.is_some());
            if ace {
                assert!((g.surface_area_energy - 2.25936).abs() < 1e-8);
                assert_eq!(g.probe_radius, 0.14);
            } else {
                assert_eq!(g.surface_area_energy, 0.0);
            }
            assert_eq!(g.particles[0].charge, -0.5);
            assert!((g.particles[0].radius - 0.17).abs() < 1e-15);
            assert!((g.particles[0].scale - 0.72).abs() < 1e-15);
        }
    }

    #[test]
    fn custom_gb_mismatches_are_rejected() {
        let p = Path::new("t.xml");
        // cutoff shift in the expression but NoCutoff method
        let text = xml(0, 1.0, &python_terms(78.5, 1.0, 0.0, Some(1.0), true));
        let e = parse_system_xml(&text, p).unwrap_err().to_string();
        assert!(e.contains("cutoff shift"), "{e}");
        // a modified coefficient (OBC1's tanh)
        let text = xml(0, 1.0, &python_terms(78.5, 1.0, 0.0, None, true))
            .replace("psi-0.8*psi^2+4.85*psi^3", "0.8*psi+2.909125*psi^3");
        let e = parse_system_xml(&text, p).unwrap_err().to_string();
        assert!(
            e.contains("computed value B") && e.contains("GBSAOBC2Force"),
            "{e}"
        );
        // a different dielectric in one term
        let mut terms = python_terms(78.5, 1.0, 0.0, None, true);
        terms[2].0 = terms[2]
            .0
            .replace("solventDielectric=78.5", "solventDielectric=80");
        let e = parse_system_xml(&xml(0, 1.0, &terms), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("solvent is both"), "{e}");
        // the cutoff differs from the force's
        let text = xml(1, 1.1, &python_terms(78.5, 1.0, 0.0, Some(1.0), true));
        let e = parse_system_xml(&text, p).unwrap_err().to_string();
        assert!(e.contains("differs from the force's cutoff"), "{e}");
    }

    #[test]
    fn tokenizer_keeps_identifier_digits() {
        let t = tokens("sr2^2*1e-05+.5", false);
        assert_eq!(
            t,
            vec![
                Tok::Text("sr2^".into()),
                Tok::Num(2.0, "2"),
                Tok::Text("*".into()),
                Tok::Num(1e-5, "1e-05"),
                Tok::Text("+".into()),
                Tok::Num(0.5, ".5"),
            ]
        );
    }
}
