//! Binary checkpoints of a simulation.
//!
//! Layout (little-endian), version 1:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `STMDCKPT` |
//! | 4 | format version (u32) |
//! | 8 | number of particles `n` (u64) |
//! | 8 | system fingerprint (u64, [`system_fingerprint`]) |
//! | 8 | step count (u64) |
//! | 8 | time, ps (f64) |
//! | 1 | integrator: 0 velocity Verlet, 1 Langevin middle |
//! | 24 | dt (ps), temperature (K), friction (1/ps) (f64; 0 when unused) |
//! | 8 | constraint tolerance (f64) |
//! | 8 | random seed (u64) |
//! | 1 + 72 | box flag, then 9 f64 box vector components (nm; 0 when absent) |
//! | 24 n | positions, nm |
//! | 24 n | velocities, nm/ps |
//! | 8 | FNV-1a 64 checksum of everything above |
//!
//! The random state is not stored: the noise is a pure function of the seed
//! and the step count (see [`super::rng`]), so restoring both restores it.
//! Files are written atomically (temporary file, then rename). Reading
//! refuses a wrong magic or version, a truncated or over-long file, a bad
//! checksum and non-finite values with [`Error::Format`].

use std::path::Path;

use super::integrator::Integrator;
use crate::error::{Error, Result};
use crate::forcefield::{BoxVectors, ForceKind, NonbondedMethod, ObcFlavor, System};

/// File magic.
pub const MAGIC: &[u8; 8] = b"STMDCKPT";
/// Current format version.
pub const VERSION: u32 = 1;

/// Everything a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointData {
    /// [`system_fingerprint`] of the system it was written for.
    pub fingerprint: u64,
    /// Steps taken.
    pub step: u64,
    /// Simulated time, ps.
    pub time: f64,
    /// Integrator and its parameters.
    pub integrator: Integrator,
    /// Relative constraint tolerance.
    pub constraint_tolerance: f64,
    /// Random seed of the thermostat noise.
    pub seed: u64,
    /// Periodic box, nm.
    pub box_vectors: Option<BoxVectors>,
    /// Positions, nm.
    pub positions: Vec<[f64; 3]>,
    /// Velocities, nm/ps.
    pub velocities: Vec<[f64; 3]>,
}

/// FNV-1a 64 offset basis (the hash of no bytes).
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`, continuing from hash state `h` ([`FNV_OFFSET`] to
/// start); the one implementation checkpoints and fingerprints use.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Incremental FNV-1a 64 over a canonical little-endian encoding.
struct Hasher(u64);

impl Hasher {
    fn bytes(&mut self, b: &[u8]) {
        self.0 = fnv1a(self.0, b);
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn str(&mut self, s: &str) {
        self.usize(s.len());
        self.bytes(s.as_bytes());
    }
}

fn method_tag(m: NonbondedMethod) -> u64 {
    match m {
        NonbondedMethod::NoCutoff => 0,
        NonbondedMethod::CutoffNonPeriodic => 1,
        NonbondedMethod::CutoffPeriodic => 2,
        NonbondedMethod::Ewald => 3,
        NonbondedMethod::Pme => 4,
        NonbondedMethod::LjPme => 5,
    }
}

/// A 64-bit FNV-1a hash of everything in `system` that affects the dynamics
/// (masses, constraints, every force with its group and parameters, the
/// default box), over a fixed little-endian encoding: identical systems
/// give identical fingerprints on every platform.
pub fn system_fingerprint(system: &System) -> u64 {
    let mut h = Hasher(FNV_OFFSET);
    h.str("steermd-system-v1");
    h.usize(system.masses.len());
    system.masses.iter().for_each(|&m| h.f64(m));
    h.usize(system.constraints.len());
    for c in &system.constraints {
        h.usize(c.i);
        h.usize(c.j);
        h.f64(c.distance);
    }
    match &system.default_box {
        None => h.u64(0),
        Some(b) => {
            h.u64(1);
            b.iter().flatten().for_each(|&v| h.f64(v));
        }
    }
    h.usize(system.forces.len());
    for f in &system.forces {
        h.u64(u64::from(f.group));
        h.str(&f.name);
        h.str(f.kind.type_name());
        match &f.kind {
            ForceKind::HarmonicBond(b) => {
                h.u64(u64::from(b.periodic));
                h.usize(b.bonds.len());
                for t in &b.bonds {
                    h.usize(t.i);
                    h.usize(t.j);
                    h.f64(t.length);
                    h.f64(t.k);
                }
            }
            ForceKind::HarmonicAngle(a) => {
                h.u64(u64::from(a.periodic));
                h.usize(a.angles.len());
                for t in &a.angles {
                    t.ijk.iter().for_each(|&i| h.usize(i));
                    h.f64(t.angle);
                    h.f64(t.k);
                }
            }
            ForceKind::PeriodicTorsion(p) => {
                h.u64(u64::from(p.periodic));
                h.usize(p.torsions.len());
                for t in &p.torsions {
                    t.ijkl.iter().for_each(|&i| h.usize(i));
                    h.u64(u64::from(t.periodicity));
                    h.f64(t.phase);
                    h.f64(t.k);
                }
            }
            ForceKind::Nonbonded(nb) => {
                h.u64(method_tag(nb.method));
                h.f64(nb.cutoff);
                h.f64(nb.switch_distance.unwrap_or(-1.0));
                h.f64(nb.reaction_field_dielectric);
                h.u64(u64::from(nb.use_dispersion_correction));
                h.f64(nb.ewald_error_tolerance);
                h.usize(nb.particles.len());
                for p in &nb.particles {
                    h.f64(p.charge);
                    h.f64(p.sigma);
                    h.f64(p.epsilon);
                }
                h.usize(nb.exceptions.len());
                for x in &nb.exceptions {
                    h.usize(x.i);
                    h.usize(x.j);
                    h.f64(x.charge_prod);
                    h.f64(x.sigma);
                    h.f64(x.epsilon);
                }
            }
            ForceKind::GbsaObc(g) => {
                h.u64(match g.flavor {
                    ObcFlavor::GbsaObcForce => 0,
                    ObcFlavor::CustomGbObc2 => 1,
                });
                h.u64(method_tag(g.method));
                for v in [
                    g.cutoff,
                    g.solute_dielectric,
                    g.solvent_dielectric,
                    g.surface_area_energy,
                    g.kappa,
                    g.offset,
                    g.probe_radius,
                    g.coulomb_constant,
                ] {
                    h.f64(v);
                }
                h.usize(g.particles.len());
                for p in &g.particles {
                    h.f64(p.charge);
                    h.f64(p.radius);
                    h.f64(p.scale);
                }
            }
            ForceKind::CmMotionRemover { frequency } => h.u64(u64::from(*frequency)),
        }
    }
    h.0
}

fn encode(data: &CheckpointData) -> Vec<u8> {
    let n = data.positions.len();
    let mut b = Vec::with_capacity(166 + 48 * n);
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&(n as u64).to_le_bytes());
    b.extend_from_slice(&data.fingerprint.to_le_bytes());
    b.extend_from_slice(&data.step.to_le_bytes());
    b.extend_from_slice(&data.time.to_le_bytes());
    let (kind, p) = match data.integrator {
        Integrator::VelocityVerlet { dt } => (0u8, [dt, 0.0, 0.0]),
        Integrator::LangevinMiddle {
            dt,
            temperature,
            friction,
        } => (1u8, [dt, temperature, friction]),
    };
    b.push(kind);
    p.iter().for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    b.extend_from_slice(&data.constraint_tolerance.to_le_bytes());
    b.extend_from_slice(&data.seed.to_le_bytes());
    b.push(u8::from(data.box_vectors.is_some()));
    let bx = data.box_vectors.unwrap_or([[0.0; 3]; 3]);
    bx.iter()
        .flatten()
        .for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    for arr in [&data.positions, &data.velocities] {
        arr.iter()
            .flatten()
            .for_each(|v| b.extend_from_slice(&v.to_le_bytes()));
    }
    let sum = fnv1a(FNV_OFFSET, &b);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

/// Write `data` to `path` atomically.
pub fn write_checkpoint(path: impl AsRef<Path>, data: &CheckpointData) -> Result<()> {
    let path = path.as_ref();
    if data.velocities.len() != data.positions.len() {
        return Err(Error::Shape(format!(
            "{} positions but {} velocities",
            data.positions.len(),
            data.velocities.len()
        )));
    }
    let bytes = encode(data);
    crate::io::npy::write_atomically(path, |w| std::io::Write::write_all(w, &bytes))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        if self.bytes.len() - self.pos < n {
            return Err(Error::format(
                self.path,
                format!(
                    "truncated checkpoint: {} bytes, ended while reading the {what}",
                    self.bytes.len()
                ),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn f64(&mut self, what: &str) -> Result<f64> {
        let v = f64::from_bits(self.u64(what)?);
        if !v.is_finite() {
            return Err(Error::format(
                self.path,
                format!("corrupt checkpoint: non-finite {what}"),
            ));
        }
        Ok(v)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn vec3s(&mut self, n: usize, what: &str) -> Result<Vec<[f64; 3]>> {
        (0..n)
            .map(|_| Ok([self.f64(what)?, self.f64(what)?, self.f64(what)?]))
            .collect()
    }
}

/// Read a checkpoint, checking its structure and checksum (not which system
/// it belongs to: compare [`CheckpointData::fingerprint`]).
pub fn read_checkpoint(path: impl AsRef<Path>) -> Result<CheckpointData> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut r = Reader {
        bytes: &bytes,
        pos: 0,
        path,
    };
    if r.take(8, "magic")? != MAGIC {
        return Err(Error::format(path, "not a steermd checkpoint (bad magic)"));
    }
    let version = u32::from_le_bytes(r.take(4, "version")?.try_into().unwrap_or([0; 4]));
    if version != VERSION {
        return Err(Error::format(
            path,
            format!("checkpoint format version {version}, this build reads version {VERSION}"),
        ));
    }
    let n = r.u64("particle count")?;
    // The fixed 158-byte header, 2 arrays of 24 bytes per particle and the
    // 8-byte checksum: the exact size is known from here on.
    let expected = n
        .checked_mul(48)
        .and_then(|v| v.checked_add(158 + 8))
        .unwrap_or(u64::MAX);
    if (bytes.len() as u64) < expected {
        return Err(Error::format(
            path,
            format!(
                "truncated checkpoint: {} bytes, {expected} expected for {n} particles",
                bytes.len()
            ),
        ));
    }
    if bytes.len() as u64 > expected {
        return Err(Error::format(
            path,
            format!(
                "corrupt checkpoint: {} bytes, {expected} expected for {n} particles",
                bytes.len()
            ),
        ));
    }
    let body = bytes.len() - 8;
    let stored = u64::from_le_bytes(bytes[body..].try_into().unwrap_or([0; 8]));
    if fnv1a(FNV_OFFSET, &bytes[..body]) != stored {
        return Err(Error::format(path, "corrupt checkpoint: checksum mismatch"));
    }
    let n = n as usize;
    let fingerprint = r.u64("system fingerprint")?;
    let step = r.u64("step count")?;
    let time = r.f64("time")?;
    let kind = r.u8("integrator kind")?;
    let p = [r.f64("dt")?, r.f64("temperature")?, r.f64("friction")?];
    let integrator = match kind {
        0 => Integrator::VelocityVerlet { dt: p[0] },
        1 => Integrator::LangevinMiddle {
            dt: p[0],
            temperature: p[1],
            friction: p[2],
        },
        k => {
            return Err(Error::format(
                path,
                format!("corrupt checkpoint: unknown integrator kind {k}"),
            ))
        }
    };
    let constraint_tolerance = r.f64("constraint tolerance")?;
    let seed = r.u64("seed")?;
    let has_box = r.u8("box flag")?;
    let b = r.vec3s(3, "box vectors")?;
    let box_vectors = match has_box {
        0 => None,
        1 => Some([b[0], b[1], b[2]]),
        f => {
            return Err(Error::format(
                path,
                format!("corrupt checkpoint: box flag {f}"),
            ))
        }
    };
    let positions = r.vec3s(n, "positions")?;
    let velocities = r.vec3s(n, "velocities")?;
    Ok(CheckpointData {
        fingerprint,
        step,
        time,
        integrator,
        constraint_tolerance,
        seed,
        box_vectors,
        positions,
        velocities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> CheckpointData {
        CheckpointData {
            fingerprint: 0xdead_beef,
            step: 1234,
            time: 2.468,
            integrator: Integrator::LangevinMiddle {
                dt: 0.002,
                temperature: 300.0,
                friction: 1.0,
            },
            constraint_tolerance: 1e-5,
            seed: 99,
            box_vectors: Some([[3.0, 0.0, 0.0], [0.0, 3.5, 0.0], [0.1, 0.2, 4.0]]),
            positions: (0..n).map(|i| [i as f64, 0.5, -1.0 / 3.0]).collect(),
            velocities: (0..n).map(|i| [0.1, i as f64, 1e-300]).collect(),
        }
    }

    #[test]
    fn round_trip_and_header_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.ckpt");
        for n in [0, 1, 7] {
            let d = data(n);
            write_checkpoint(&p, &d).unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().len(), 166 + 48 * n as u64);
            assert_eq!(read_checkpoint(&p).unwrap(), d);
        }
        let mut d = data(2);
        d.box_vectors = None;
        d.integrator = Integrator::VelocityVerlet { dt: 0.001 };
        write_checkpoint(&p, &d).unwrap();
        assert_eq!(read_checkpoint(&p).unwrap(), d);
    }

    #[test]
    fn damaged_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.ckpt");
        write_checkpoint(&p, &data(5)).unwrap();
        let good = std::fs::read(&p).unwrap();
        let check = |bytes: &[u8], needle: &str| {
            std::fs::write(&p, bytes).unwrap();
            let e = read_checkpoint(&p).unwrap_err();
            assert!(matches!(e, Error::Format { .. }), "{e}");
            assert!(e.to_string().contains(needle), "{e}");
        };
        check(&good[..good.len() - 1], "truncated");
        check(&good[..10], "truncated");
        check(&good[..0], "truncated");
        let mut longer = good.clone();
        longer.push(0);
        check(&longer, "expected");
        let mut flipped = good.clone();
        flipped[200] ^= 1;
        check(&flipped, "checksum");
        let mut magic = good.clone();
        magic[0] = b'X';
        check(&magic, "magic");
        let mut version = good.clone();
        version[8] = 9;
        check(&version, "version");
        let mut huge = good;
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        check(&huge, "truncated");
    }

    #[test]
    fn fingerprint_tracks_the_system() {
        let mut s = System {
            masses: vec![1.0, 2.0],
            ..Default::default()
        };
        let f0 = system_fingerprint(&s);
        assert_eq!(f0, system_fingerprint(&s.clone()));
        s.masses[1] = 2.0000000001;
        assert_ne!(f0, system_fingerprint(&s));
    }
}
