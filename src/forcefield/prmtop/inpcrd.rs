//! Amber ASCII coordinate files (`inpcrd`, `rst7`), read as OpenMM's
//! `AmberInpcrdFile` (`AmberAsciiRestart`) reads them.

use std::path::Path;

use crate::error::{Error, Result};
use crate::forcefield::system::BoxVectors;
use crate::io::pdb::compute_periodic_box_vectors;

/// Amber's velocity unit: Å per (1/20.455) ps; OpenMM's `VELSCALE`.
const AMBER_VELOCITY_SCALE: f64 = 20.455;

/// Coordinates (and optionally velocities and box) of an Amber ASCII
/// restart, converted to OpenMM units bit for bit as OpenMM does.
#[derive(Clone, Debug, PartialEq)]
pub struct Inpcrd {
    /// Title line (trimmed).
    pub title: String,
    /// Simulation time, ps, when the file gives one.
    pub time: Option<f64>,
    /// Positions, nm (`Å * 0.1`).
    pub positions: Vec<[f64; 3]>,
    /// Velocities, nm/ps (`value * 20.455 * 0.1`), when present.
    pub velocities: Option<Vec<[f64; 3]>>,
    /// Box vectors, nm (OpenMM's reduced form), when present.
    pub box_vectors: Option<BoxVectors>,
}

/// Box vectors from Amber box lengths (Å) and angles (degrees), as OpenMM
/// converts them (`Quantity.value_in_unit`: `Å * 0.1`, `deg * (π/180)`).
pub(super) fn box_vectors(v: [f64; 6]) -> std::result::Result<BoxVectors, String> {
    const DEG: f64 = std::f64::consts::PI / 180.0;
    compute_periodic_box_vectors(
        [v[0] * 0.1, v[1] * 0.1, v[2] * 0.1],
        [v[3] * DEG, v[4] * DEG, v[5] * DEG],
    )
    .ok_or_else(|| {
        format!(
            "box (a, b, c = {}, {}, {} Å; α, β, γ = {}, {}, {}°) is not a valid periodic box",
            v[0], v[1], v[2], v[3], v[4], v[5]
        )
    })
}

/// Read an Amber ASCII inpcrd/rst7 file (see [`parse_inpcrd`]).
///
/// Errors: [`Error::Io`] when unreadable; [`Error::Format`] for a NetCDF
/// restart (not supported); otherwise as [`parse_inpcrd`].
pub fn read_inpcrd(path: impl AsRef<Path>) -> Result<Inpcrd> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(b"CDF") || bytes.starts_with(b"\x89HDF") {
        return Err(Error::format(
            path,
            "NetCDF Amber restarts are not supported; write an ASCII inpcrd/rst7",
        ));
    }
    parse_inpcrd(&String::from_utf8_lossy(&bytes), path)
}

/// Parse an Amber ASCII inpcrd/rst7: title, `NATOM [time]`, coordinates
/// (6 fields of 12 columns per line), then optionally velocities and a box
/// line, recognised by the number of lines exactly as OpenMM does.
///
/// Errors: [`Error::Parse`] with the 1-based line for a bad atom count,
/// a line count that fits no layout, or an unparsable field.
pub fn parse_inpcrd(text: &str, path: &Path) -> Result<Inpcrd> {
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let err = |line: usize, msg: String| Error::parse(path, line, msg);
    if lines.len() < 2 {
        return Err(err(
            lines.len().max(1),
            "an inpcrd needs a title line and an atom-count line".into(),
        ));
    }
    let title = lines[0].trim().to_string();
    let mut words = lines[1].split_whitespace();
    let natom: usize = words
        .next()
        .and_then(|w| w.parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            err(
                2,
                format!(
                    "'{}' does not start with a positive atom count",
                    lines[1].trim()
                ),
            )
        })?;
    let time = match words.next() {
        None => None,
        Some(w) => Some(
            w.parse::<f64>()
                .map_err(|_| err(2, format!("time '{w}' is not a number")))?,
        ),
    };
    let field = |k: usize, i: usize| -> Result<f64> {
        let line = lines[k];
        let s = line
            .get(i * 12..((i + 1) * 12).min(line.len()))
            .unwrap_or("");
        match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(err(
                k + 1,
                format!(
                    "field {} (columns {}-{}) '{}' is not a number",
                    i + 1,
                    i * 12 + 1,
                    i * 12 + 12,
                    s.trim()
                ),
            )),
        }
    };
    let ncl = natom.div_ceil(2);
    let (has_vel, has_box) = if lines.len() == ncl + 2 {
        (false, false)
    } else if (natom == 1 || natom == 2) && lines.len() == 4 {
        let l = lines[3];
        if natom == 1 {
            let n = (0..6)
                .filter(|i| l.get(i * 12..).is_some_and(|s| !s.is_empty()))
                .count();
            match n {
                3 => (true, false),
                6 => (false, true),
                _ => {
                    return Err(err(
                        4,
                        "line is neither velocities (3 fields) nor a box (6 fields)".into(),
                    ))
                }
            }
        } else {
            let big = (0..6).map(|i| field(3, i)).collect::<Result<Vec<_>>>()?;
            if big.iter().any(|&v| v >= 60.0) {
                (false, true)
            } else {
                (true, false)
            }
        }
    } else if lines.len() == ncl + 3 {
        (false, true)
    } else if lines.len() == 2 * ncl + 2 {
        (true, false)
    } else if lines.len() == 2 * ncl + 3 {
        (true, true)
    } else {
        return Err(err(
            lines.len(),
            format!(
                "{} lines do not fit {natom} atoms (expected {}, {} with a box, {} with velocities, {} with both); truncated?",
                lines.len(),
                ncl + 2,
                ncl + 3,
                2 * ncl + 2,
                2 * ncl + 3
            ),
        ));
    };
    let block = |start: usize, scale: Option<f64>| -> Result<Vec<[f64; 3]>> {
        let mut out = Vec::with_capacity(natom);
        for k in start..start + ncl {
            for half in 0..2 {
                if out.len() == natom {
                    break;
                }
                let mut p = [0.0; 3];
                for (d, v) in p.iter_mut().enumerate() {
                    let x = field(k, 3 * half + d)?;
                    // Velocities: value · VELSCALE (Å/ps), then · 0.1 (nm/ps).
                    *v = match scale {
                        Some(s) => x * s * 0.1,
                        None => x * 0.1,
                    };
                }
                out.push(p);
            }
        }
        Ok(out)
    };
    let positions = block(2, None)?;
    let mut next = 2 + ncl;
    let velocities = if has_vel {
        let v = block(next, Some(AMBER_VELOCITY_SCALE))?;
        next += ncl;
        Some(v)
    } else {
        None
    };
    let box_vectors = if has_box {
        let mut v = [0.0; 6];
        for (i, x) in v.iter_mut().enumerate() {
            *x = field(next, i)?;
        }
        Some(box_vectors(v).map_err(|m| err(next + 1, m))?)
    } else {
        None
    };
    Ok(Inpcrd {
        title,
        time,
        positions,
        velocities,
        box_vectors,
    })
}
