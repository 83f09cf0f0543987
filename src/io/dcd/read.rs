//! DCD reader.

use std::fs;
use std::path::Path;

use super::{frame_len, DcdHeader, DcdReadOptions, AKMA_TIME_PS};
use crate::error::{Error, Result};
use crate::frames::Frames;
use crate::warnings::warn;

/// Read every frame of a DCD file (coordinates and boxes in nm), with the
/// default [`DcdReadOptions`].
///
/// As MDAnalysis and MDTraj do, the frames read are those the file size
/// implies: a header frame count (NSET) that disagrees with the file (as
/// CHARMM, NAMD and killed or appended runs leave it) is reported through
/// [`crate::warnings::warn`], not refused.
///
/// Errors: unreadable file ([`Error::Io`]); not a DCD, a corrupt record
/// marker, a file that ends inside a frame (each naming the frame, record
/// and byte offset), fixed atoms, or a triclinic unit cell
/// ([`Error::Format`]).
pub fn read_dcd(path: impl AsRef<Path>) -> Result<Frames> {
    read_dcd_with(path, None, &DcdReadOptions::default())
}

/// Read a DCD file whose frames must have `n_atoms` atoms (those of the
/// topology it belongs to), with the default [`DcdReadOptions`].
pub fn read_dcd_for(path: impl AsRef<Path>, n_atoms: usize) -> Result<Frames> {
    read_dcd_with(path, Some(n_atoms), &DcdReadOptions::default())
}

/// Read a DCD file as [`read_dcd`] does, checking the atom count against
/// `n_atoms` when given, with `options` (e.g. dropping a partial last
/// frame, with a warning, instead of refusing the file).
pub fn read_dcd_with(
    path: impl AsRef<Path>,
    n_atoms: Option<usize>,
    options: &DcdReadOptions,
) -> Result<Frames> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut r = Reader::new(path, &bytes);
    r.options = *options;
    let h = r.header()?;
    let Some(n_atoms) = n_atoms else {
        return r.frames(&h);
    };
    if h.public.n_atoms != n_atoms {
        return Err(Error::format(
            path,
            format!(
                "DCD has {} atoms but topology has {n_atoms}",
                h.public.n_atoms
            ),
        ));
    }
    r.frames(&h)
}

/// Read only the header of a DCD file (also checks that the file holds
/// whole frames).
pub fn read_dcd_header(path: impl AsRef<Path>) -> Result<DcdHeader> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    Reader::new(path, &bytes).header().map(|h| h.public)
}

struct Header {
    public: DcdHeader,
    four_d: bool,
    data_start: usize,
}

struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    pos: usize,
    big: bool,
    options: DcdReadOptions,
}

impl<'a> Reader<'a> {
    fn new(path: &'a Path, bytes: &'a [u8]) -> Self {
        Reader {
            path,
            bytes,
            pos: 0,
            big: false,
            options: DcdReadOptions::default(),
        }
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        Error::format(self.path, msg)
    }

    fn i32_at(&self, at: usize) -> Option<i32> {
        Some(self.int(self.bytes.get(at..at + 4)?.try_into().ok()?))
    }

    fn int(&self, b: [u8; 4]) -> i32 {
        if self.big {
            i32::from_be_bytes(b)
        } else {
            i32::from_le_bytes(b)
        }
    }

    fn float(&self, b: [u8; 4]) -> f32 {
        if self.big {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        }
    }

    fn double(&self, b: [u8; 8]) -> f64 {
        if self.big {
            f64::from_be_bytes(b)
        } else {
            f64::from_le_bytes(b)
        }
    }

    /// The payload of the record at the cursor, checking both markers (and
    /// the length, when `want` is given); `what` names it in errors.
    fn record(&mut self, what: &str, want: Option<usize>) -> Result<&'a [u8]> {
        let start = self.pos;
        let len = self.i32_at(start).ok_or_else(|| {
            self.err(format!(
                "{what}: file ends at byte {} before the record marker at byte offset {start}",
                self.bytes.len()
            ))
        })?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| want.is_none_or(|w| w == l))
            .ok_or_else(|| {
                let exp = want.map(|w| format!(", expected {w}")).unwrap_or_default();
                self.err(format!(
                    "{what}: corrupt record marker {len} at byte offset {start}{exp}"
                ))
            })?;
        let end = start + 4 + len;
        let tail = self.i32_at(end).ok_or_else(|| {
            self.err(format!(
                "{what}: truncated, record of {len} bytes at byte offset {start} needs {} bytes, file has {}",
                end + 4,
                self.bytes.len()
            ))
        })?;
        if tail as i64 != len as i64 {
            return Err(self.err(format!(
                "{what}: closing record marker {tail} at byte offset {end} does not match the opening {len}"
            )));
        }
        self.pos = end + 4;
        Ok(&self.bytes[start + 4..end])
    }

    fn header(&mut self) -> Result<Header> {
        self.big = false;
        if self.i32_at(0) != Some(84) {
            self.big = true;
            if self.i32_at(0) != Some(84) {
                return Err(self.err(
                    "not a DCD file: first record is not the 84-byte CORD header (neither byte order; 64-bit record markers are not supported)",
                ));
            }
        }
        let rec = self.record("header record", Some(84))?;
        if &rec[..4] != b"CORD" {
            return Err(self.err("not a DCD file: header record does not start with 'CORD'"));
        }
        let word =
            |k: usize| -> [u8; 4] { rec[4 + 4 * k..8 + 4 * k].try_into().unwrap_or_default() };
        let icntrl: [i32; 20] = std::array::from_fn(|k| self.int(word(k)));
        let int = |k: usize| icntrl[k];
        let charmm = int(19) != 0;
        if int(8) != 0 {
            return Err(self.err(format!("DCD with {} fixed atoms is not supported", int(8))));
        }
        let delta = if charmm {
            f64::from(self.float(word(9)))
        } else {
            // X-PLOR layout: the timestep is an f64 over words 9 and 10.
            self.double(rec[40..48].try_into().unwrap_or_default())
        };
        let has_cell = charmm && int(10) != 0;
        let four_d = charmm && int(11) != 0;

        let titles_at = self.pos;
        let titles = self.record("title record", None)?;
        let n_titles = titles
            .get(..4)
            .and_then(|b| Some(self.int(b.try_into().ok()?)));
        let n_titles = n_titles.and_then(|t| usize::try_from(t).ok());
        if n_titles.map(|t| 4 + 80 * t) != Some(titles.len()) {
            return Err(self.err(format!(
                "title record of {} bytes at byte offset {titles_at} does not hold a count and whole 80-byte lines",
                titles.len(),
            )));
        }
        let atoms_at = self.pos;
        let rec = self.record("atom-count record", Some(4))?;
        let n_atoms = self.int(rec.try_into().unwrap_or_default());
        let n_atoms = usize::try_from(n_atoms)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                self.err(format!(
                    "atom count {n_atoms} at byte offset {atoms_at} is not positive"
                ))
            })?;

        let data_start = self.pos;
        let fl = frame_len(n_atoms, has_cell, four_d);
        let data = self.bytes.len() - data_start;
        let whole = data / fl;
        if !data.is_multiple_of(fl) {
            let partial = format!(
                "frame {whole} truncated: it starts at byte offset {} and needs {fl} bytes, the file ends at byte {}",
                data_start + whole * fl,
                self.bytes.len()
            );
            if !self.options.drop_partial_frame {
                return Err(self.err(format!(
                    "{partial} (a partial last frame can be dropped on request)"
                )));
            }
            warn(format!("{}: {partial}; dropped", self.path.display()));
        }
        let nset = int(0);
        if usize::try_from(nset).ok() != Some(whole) {
            warn(format!(
                "{}: header declares {nset} frames but the file holds {whole} whole frames; reading {whole}",
                self.path.display()
            ));
        }
        Ok(Header {
            public: DcdHeader {
                n_atoms,
                n_frames: whole,
                first_step: int(1),
                interval: int(2),
                timestep_ps: delta * AKMA_TIME_PS,
                has_unit_cell: has_cell,
                big_endian: self.big,
            },
            four_d,
            data_start,
        })
    }

    fn frames(&mut self, h: &Header) -> Result<Frames> {
        let n = h.public.n_atoms;
        let n_frames = h.public.n_frames;
        let mut xyz = vec![0.0f32; n_frames * n * 3];
        let mut boxes = Vec::with_capacity(if h.public.has_unit_cell { n_frames } else { 0 });
        let mut zero_cell = None;
        self.pos = h.data_start;
        for f in 0..n_frames {
            if h.public.has_unit_cell {
                let rec = self.record(&format!("frame {f} unit-cell record"), Some(48))?;
                match self.cell(rec, f)? {
                    Some(b) => boxes.push(b),
                    None => {
                        zero_cell.get_or_insert(f);
                        boxes.push([0.0; 3]);
                    }
                }
            }
            let frame = &mut xyz[f * n * 3..(f + 1) * n * 3];
            for (axis, name) in ["X", "Y", "Z"].iter().enumerate() {
                let rec = self.record(&format!("frame {f} {name} record"), Some(4 * n))?;
                for (i, b) in rec.chunks_exact(4).enumerate() {
                    let a = self.float(b.try_into().unwrap_or_default());
                    frame[3 * i + axis] = (f64::from(a) / 10.0) as f32;
                }
            }
            if h.four_d {
                self.record(&format!("frame {f} 4-D record"), Some(4 * n))?;
            }
        }
        let boxes = match zero_cell {
            _ if !h.public.has_unit_cell => None,
            Some(_) if boxes.iter().all(|b| *b == [0.0; 3]) => None,
            Some(f) => {
                return Err(self.err(format!(
                    "frame {f} has an all-zero unit cell while other frames have one"
                )))
            }
            None => Some(boxes),
        };
        Frames::new(n, xyz, boxes)
    }

    /// Unit cell `[A, γ, B, β, α, C]` → orthorhombic box in nm; `None` for an
    /// all-zero cell (no periodicity).
    fn cell(&self, rec: &[u8], f: usize) -> Result<Option<[f32; 3]>> {
        let mut v = [0.0f64; 6];
        for (k, b) in rec.chunks_exact(8).enumerate() {
            v[k] = self.double(b.try_into().unwrap_or_default());
        }
        let (lengths, angles) = ([v[0], v[2], v[5]], [v[4], v[3], v[1]]);
        if lengths == [0.0; 3] {
            return Ok(None);
        }
        if lengths.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(self.err(format!(
                "frame {f}: unit-cell edge lengths {lengths:?} Å are not finite and positive"
            )));
        }
        // Cosines when all lie in [-1, 1] (CHARMM, OpenMM), degrees otherwise.
        let cosines = angles.iter().all(|a| a.abs() <= 1.0);
        let right = |a: &f64| {
            if cosines {
                a.abs() < 1e-6
            } else {
                (a - 90.0).abs() < 1e-4
            }
        };
        if !angles.iter().all(right) {
            let deg = angles.map(|a| if cosines { a.acos().to_degrees() } else { a });
            return Err(self.err(format!(
                "frame {f}: triclinic unit cell (alpha, beta, gamma = {:.4}, {:.4}, {:.4} degrees); only orthorhombic boxes are supported",
                deg[0], deg[1], deg[2]
            )));
        }
        Ok(Some(lengths.map(|l| (l / 10.0) as f32)))
    }
}
