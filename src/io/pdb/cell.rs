//! CRYST1 records: the six cell numbers, OpenMM's reduced box vectors and
//! the orthorhombic boxes of [`super::read_pdb`].

use super::scan::parse_f64;
use crate::forcefield::BoxVectors;

/// The six CRYST1 numbers: a, b, c (Å) and α, β, γ (degrees).
pub(super) fn cryst1_fields(line: &str) -> std::result::Result<[f64; 6], String> {
    let mut v = [0.0f64; 6];
    let cols = [(7, 15), (16, 24), (25, 33), (34, 40), (41, 47), (48, 54)];
    for (k, &(c0, c1)) in cols.iter().enumerate() {
        v[k] = parse_f64(line, c0, c1)
            .map_err(|f| format!("CRYST1 field '{f}' (columns {c0}-{c1}) is not a number"))?;
    }
    Ok(v)
}

/// Whether a cell is the 1 Å cube written for structures without a box.
fn is_placeholder_cell(v: &[f64; 6]) -> bool {
    v[..3].iter().all(|&l| (l - 1.0).abs() < 1e-6)
}

/// CRYST1 → orthorhombic box in nm; `None` for the 1 Å placeholder cell.
pub(super) fn orthorhombic_cell(v: [f64; 6]) -> std::result::Result<Option<[f32; 3]>, String> {
    if v[3..].iter().any(|a| (a - 90.0).abs() > 1e-3) {
        return Err(format!(
            "triclinic unit cell (angles {}, {}, {}); only orthorhombic boxes are supported",
            v[3], v[4], v[5]
        ));
    }
    if is_placeholder_cell(&v) {
        return Ok(None);
    }
    if v[..3].iter().any(|&l| l <= 0.0) {
        return Err(format!(
            "CRYST1 edge lengths {:?} Å must be positive",
            &v[..3]
        ));
    }
    Ok(Some([v[0], v[1], v[2]].map(|l| (l / 10.0) as f32)))
}

/// CRYST1 → reduced box vectors (nm) exactly as OpenMM's PDB reader
/// computes them (`openmm.app.internal.unitcell.computePeriodicBoxVectors`
/// on lengths `Å * 0.1` and angles `deg * π / 180`).
pub(super) fn box_from_cell(v: [f64; 6]) -> std::result::Result<Option<BoxVectors>, String> {
    use std::f64::consts::PI;
    let (a_len, b_len, c_len) = (v[0] * 0.1, v[1] * 0.1, v[2] * 0.1);
    if a_len == 0.0 || b_len == 0.0 || c_len == 0.0 || is_placeholder_cell(&v) {
        return Ok(None);
    }
    let bad = || {
        format!(
            "CRYST1 cell (a, b, c = {}, {}, {} Å; α, β, γ = {}, {}, {}°) is not a valid periodic box",
            v[0], v[1], v[2], v[3], v[4], v[5]
        )
    };
    let (alpha, beta, gamma) = (v[3] * PI / 180.0, v[4] * PI / 180.0, v[5] * PI / 180.0);
    compute_periodic_box_vectors([a_len, b_len, c_len], [alpha, beta, gamma])
        .map(Some)
        .ok_or_else(bad)
}

/// OpenMM's `computePeriodicBoxVectors` (openmm.app.internal.unitcell):
/// edge lengths (nm) and angles α, β, γ (radians) → box vectors in reduced
/// form, operation by operation (entries below 1e-6 set to 0; Python's
/// `round`, which rounds half to even). `None` when the cell is degenerate.
pub(crate) fn compute_periodic_box_vectors(
    [a_len, b_len, c_len]: [f64; 3],
    [alpha, beta, gamma]: [f64; 3],
) -> Option<BoxVectors> {
    if !(a_len > 0.0 && b_len > 0.0 && c_len > 0.0) {
        return None;
    }
    let mut a = [a_len, 0.0, 0.0];
    let mut b = [b_len * gamma.cos(), b_len * gamma.sin(), 0.0];
    let cx = c_len * beta.cos();
    let cy = c_len * (alpha.cos() - beta.cos() * gamma.cos()) / gamma.sin();
    let cz = (c_len * c_len - cx * cx - cy * cy).sqrt();
    let mut c = [cx, cy, cz];
    for x in a.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
        if x.abs() < 1e-6 {
            *x = 0.0;
        }
    }
    if !(b[1] > 0.0 && c[2] > 0.0) {
        return None;
    }
    let sub =
        |u: [f64; 3], w: [f64; 3], k: f64| [u[0] - w[0] * k, u[1] - w[1] * k, u[2] - w[2] * k];
    c = sub(c, b, (c[1] / b[1]).round_ties_even());
    c = sub(c, a, (c[0] / a[0]).round_ties_even());
    b = sub(b, a, (b[0] / a[0]).round_ties_even());
    let out = [a, b, c];
    out.iter().flatten().all(|x| x.is_finite()).then_some(out)
}
