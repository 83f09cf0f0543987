//! GROMACS XTC trajectories (nm), decoded by the `molly` crate one frame at
//! a time after steermd has walked the frame headers itself: magic, atom
//! counts, precision, the compressed block's declared length against the
//! file, so that a truncated or corrupt file is an error naming the frame
//! and byte offset rather than a silently shorter trajectory or a panic.

use std::io::Cursor;
use std::path::Path;

use crate::error::{Error, Result};
use crate::frames::Frames;

/// Bytes of a frame header: magic, natoms, step, time, 9 box floats, natoms.
const HEADER: usize = 14 * 4;
/// Bytes between the header and the compressed block's length: precision,
/// minint, maxint, smallidx.
const PRELUDE: usize = 8 * 4;
/// molly's `MAGICINTS` table length; `smallidx` must index it, above 9.
const MAGICINTS_LEN: u32 = 73;

/// Read a GROMACS XTC trajectory: coordinates and boxes in **nm**.
///
/// An all-zero box (what GROMACS and MDAnalysis write without periodic
/// boundaries) means no box; a box that is neither zero nor rectangular is
/// refused, as is a file that ends inside a frame (naming the frame).
pub fn read_xtc(path: impl AsRef<Path>) -> Result<Frames> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let fail = |m: String| Error::format(path, m);
    let spans = frame_spans(&bytes).map_err(fail)?;
    let n_atoms = spans[0].2;
    let mut xyz = Vec::with_capacity(3 * n_atoms * spans.len());
    let mut boxes = Vec::with_capacity(spans.len());
    let mut frame = molly::Frame::default();
    for (f, &(start, end, _)) in spans.iter().enumerate() {
        let mut reader = molly::XTCReader::new(Cursor::new(&bytes[start..end]));
        // The crate asserts on data it cannot decode; the checks above
        // catch the header-level cases, this the rest.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reader.read_frame(&mut frame)
        }));
        match decoded {
            Ok(Ok(())) if frame.natoms() == n_atoms => {}
            Ok(Ok(())) => {
                return Err(fail(format!(
                    "frame {f} at byte offset {start}: decoded {} atoms, header says {n_atoms}",
                    frame.natoms()
                )))
            }
            Ok(Err(e)) => {
                return Err(fail(format!(
                    "frame {f} at byte offset {start}: cannot decode coordinates: {e}"
                )))
            }
            Err(_) => {
                return Err(fail(format!(
                    "frame {f} at byte offset {start}: corrupt compressed coordinates"
                )))
            }
        }
        xyz.extend_from_slice(&frame.positions);
        boxes.push(frame_box(&frame.boxvec).map_err(|m| fail(format!("frame {f}: {m}")))?);
    }
    crate::error::check_finite(&format!("{}: coordinates", path.display()), &xyz, 3)?;
    let boxes = match boxes.iter().filter(|b| b.is_some()).count() {
        0 => None,
        n if n == boxes.len() => Some(boxes.into_iter().flatten().collect()),
        _ => {
            return Err(fail(
                "some frames have a box and others an all-zero box (none)".into(),
            ))
        }
    };
    Frames::new(n_atoms, xyz, boxes)
}

/// The rectangular box of a frame (nm), `None` for an all-zero box.
fn frame_box(b: &[f32; 9]) -> std::result::Result<Option<[f32; 3]>, String> {
    if b.iter().all(|&v| v == 0.0) {
        return Ok(None);
    }
    let diag = [b[0], b[4], b[8]];
    let off = [b[1], b[2], b[3], b[5], b[6], b[7]];
    if off.iter().any(|&v| v != 0.0) || diag.iter().any(|&v| !(v.is_finite() && v > 0.0)) {
        return Err(format!("box {b:?} (nm) is not rectangular"));
    }
    Ok(Some(diag))
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Byte spans `(start, end, natoms)` of every frame, checked against the file.
fn frame_spans(bytes: &[u8]) -> std::result::Result<Vec<(usize, usize, usize)>, String> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let f = spans.len();
        let end =
            frame_end(bytes, at).map_err(|m| format!("frame {f} at byte offset {at}: {m}"))?;
        let natoms = be_u32(bytes, at + 4) as usize;
        if let Some(&(_, _, n0)) = spans.first() {
            if natoms != n0 {
                return Err(format!(
                    "frame {f} at byte offset {at} has {natoms} atoms, frame 0 has {n0}"
                ));
            }
        }
        spans.push((at, end, natoms));
        at = end;
    }
    if spans.is_empty() {
        return Err("no frames (empty file)".into());
    }
    Ok(spans)
}

/// The end of the frame starting at `at`, after checking its header.
fn frame_end(bytes: &[u8], at: usize) -> std::result::Result<usize, String> {
    let left = bytes.len() - at;
    let short = |need: usize| {
        format!(
            "truncated: the frame needs at least {need} bytes, the file ends {left} bytes after its start (at byte {})",
            bytes.len()
        )
    };
    if left < HEADER {
        return Err(short(HEADER));
    }
    let magic = be_u32(bytes, at) as i32;
    if magic != 1995 && magic != 2023 {
        return Err(format!(
            "magic number {magic} is not an XTC frame's (1995 or 2023)"
        ));
    }
    let natoms = be_u32(bytes, at + 4);
    let again = be_u32(bytes, at + HEADER - 4);
    if natoms == 0 || natoms != again {
        return Err(format!(
            "atom counts {natoms} and {again} in the header disagree or are zero"
        ));
    }
    let natoms = natoms as usize;
    if natoms <= 9 {
        let need = HEADER + 12 * natoms;
        return if left < need {
            Err(short(need))
        } else {
            Ok(at + need)
        };
    }
    let len_bytes = if magic == 2023 { 8 } else { 4 };
    let prelude = HEADER + PRELUDE + len_bytes;
    if left < prelude {
        return Err(short(prelude));
    }
    let p = at + HEADER;
    let precision = f32::from_be_bytes(bytes[p..p + 4].try_into().expect("4 bytes"));
    if !(precision.is_finite() && precision > 0.0) {
        return Err(format!("precision {precision} is not positive and finite"));
    }
    let int = |k: usize| be_u32(bytes, p + 4 + 4 * k) as i32;
    for k in 0..3 {
        let (lo, hi) = (int(k), int(k + 3));
        if i64::from(hi) - i64::from(lo) >= i64::from(i32::MAX) || hi < lo {
            return Err(format!("coordinate range {lo}..{hi} (axis {k}) is invalid"));
        }
    }
    let smallidx = be_u32(bytes, p + 28);
    if !(9..MAGICINTS_LEN).contains(&smallidx) {
        return Err(format!("smallidx {smallidx} is out of range"));
    }
    let q = p + PRELUDE;
    let nbytes = if magic == 2023 {
        u64::from_be_bytes(bytes[q..q + 8].try_into().expect("8 bytes"))
    } else {
        u64::from(be_u32(bytes, q))
    };
    // Each atom takes at least 3 bits (molly's smallest run code); a count
    // the block cannot hold is corrupt, not an allocation to make.
    if (natoms as u64) > nbytes.saturating_mul(8) / 3 + 9 {
        return Err(format!(
            "{natoms} atoms cannot fit in a compressed block of {nbytes} bytes"
        ));
    }
    let padded = nbytes.saturating_add(3) / 4 * 4;
    let need = (prelude as u64).saturating_add(padded);
    if (left as u64) < need {
        return Err(short(need.min(usize::MAX as u64) as usize));
    }
    Ok(at + need as usize)
}
