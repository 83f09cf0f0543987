//! DCD writer (little-endian, OpenMM's layout: CHARMM version 24, two title
//! lines, unit cell as `A, cos γ, B, cos β, cos α, C`).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{frame_len, header_len, DcdWriteOptions, AKMA_TIME_PS};
use crate::error::{Error, Result};
use crate::frames::Frames;

const N_TITLES: usize = 2;

/// Write all of `frames` to `path` atomically (temporary file, then rename).
/// A unit cell is written iff `frames.boxes` is set.
pub fn write_dcd(path: impl AsRef<Path>, frames: &Frames, opts: &DcdWriteOptions) -> Result<()> {
    let path = path.as_ref();
    let n = frames.n_atoms;
    check_atoms(path, n)?;
    let has_cell = frames.boxes.is_some();
    let mut bytes = header(n, has_cell, opts, frames.n_frames());
    bytes.reserve(frames.n_frames() * frame_len(n, has_cell, false));
    for f in 0..frames.n_frames() {
        let cell = frames.boxes.as_ref().map(|b| b[f]);
        encode_frame(frames.frame(f), cell, &mut bytes);
    }
    crate::io::npy::write_atomically(path, |w| w.write_all(&bytes))
}

/// Appends frames to a new DCD file one at a time, keeping the header's frame
/// count and last step current after every frame (as OpenMM's DCDReporter),
/// so that the file is readable while a simulation runs.
#[derive(Debug)]
pub struct DcdWriter {
    file: File,
    path: PathBuf,
    n_atoms: usize,
    unit_cell: bool,
    opts: DcdWriteOptions,
    n_frames: usize,
    buf: Vec<u8>,
}

impl DcdWriter {
    /// Create (truncate) `path` for frames of `n_atoms` atoms, with a unit
    /// cell in every frame iff `unit_cell`.
    pub fn create(
        path: impl AsRef<Path>,
        n_atoms: usize,
        unit_cell: bool,
        opts: DcdWriteOptions,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        check_atoms(&path, n_atoms)?;
        let mut file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.write_all(&header(n_atoms, unit_cell, &opts, 0))
            .map_err(|e| Error::io(&path, e))?;
        Ok(DcdWriter {
            file,
            path,
            n_atoms,
            unit_cell,
            opts,
            n_frames: 0,
            buf: Vec::new(),
        })
    }

    /// Frames written so far.
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Append one frame: `xyz` is `[n_atoms][3]` nm, `box_nm` the
    /// orthorhombic box edges in nm (required iff the file has a unit cell).
    pub fn write_frame(&mut self, xyz: &[f32], box_nm: Option<[f32; 3]>) -> Result<()> {
        if xyz.len() != 3 * self.n_atoms {
            return Err(Error::Shape(format!(
                "{}: frame has {} coordinates, expected {} ({} atoms x 3)",
                self.path.display(),
                xyz.len(),
                3 * self.n_atoms,
                self.n_atoms
            )));
        }
        if box_nm.is_some() != self.unit_cell {
            return Err(Error::InvalidArgument(format!(
                "{}: the file was created {} a unit cell, so every frame must {} a box",
                self.path.display(),
                if self.unit_cell { "with" } else { "without" },
                if self.unit_cell { "have" } else { "not have" },
            )));
        }
        self.buf.clear();
        encode_frame(xyz, box_nm, &mut self.buf);
        let count = i32::try_from(self.n_frames + 1).map_err(|_| {
            Error::InvalidArgument(format!("{}: too many frames for DCD", self.path.display()))
        })?;
        let last_step = self
            .opts
            .first_step
            .wrapping_add(count.wrapping_sub(1).wrapping_mul(self.opts.interval));
        let io = (|| {
            self.file.write_all(&self.buf)?;
            self.file.seek(SeekFrom::Start(8))?;
            self.file.write_all(&count.to_le_bytes())?;
            self.file.seek(SeekFrom::Start(20))?;
            self.file.write_all(&last_step.to_le_bytes())?;
            self.file.seek(SeekFrom::End(0)).map(|_| ())
        })();
        io.map_err(|e| Error::io(&self.path, e))?;
        self.n_frames += 1;
        Ok(())
    }

    /// Flush everything to disk and close the file.
    pub fn finish(self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))
    }
}

fn check_atoms(path: &Path, n_atoms: usize) -> Result<()> {
    if n_atoms == 0 || i32::try_from(4 * n_atoms).is_err() {
        return Err(Error::InvalidArgument(format!(
            "{}: cannot write a DCD of {n_atoms} atoms",
            path.display()
        )));
    }
    Ok(())
}

fn record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as i32).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(payload);
    out.extend_from_slice(&len);
}

fn header(n_atoms: usize, unit_cell: bool, opts: &DcdWriteOptions, n_frames: usize) -> Vec<u8> {
    let mut icntrl = [0i32; 20];
    icntrl[0] = n_frames as i32;
    icntrl[1] = opts.first_step;
    icntrl[2] = opts.interval;
    icntrl[3] = opts
        .first_step
        .wrapping_add((n_frames as i32 - 1).max(0).wrapping_mul(opts.interval));
    icntrl[10] = i32::from(unit_cell);
    icntrl[19] = 24;
    let mut hdr = b"CORD".to_vec();
    for (k, v) in icntrl.iter().enumerate() {
        if k == 9 {
            hdr.extend_from_slice(&((opts.timestep_ps / AKMA_TIME_PS) as f32).to_le_bytes());
        } else {
            hdr.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut titles = (N_TITLES as i32).to_le_bytes().to_vec();
    for t in [
        "Created by steermd",
        concat!("steermd ", env!("CARGO_PKG_VERSION")),
    ] {
        let mut line = [b' '; 80];
        line[..t.len()].copy_from_slice(t.as_bytes());
        titles.extend_from_slice(&line);
    }
    let mut out = Vec::with_capacity(header_len(N_TITLES));
    record(&mut out, &hdr);
    record(&mut out, &titles);
    record(&mut out, &(n_atoms as i32).to_le_bytes());
    out
}

/// Append one frame: unit cell (Å, cosines of 90° = 0) and X, Y, Z in Å.
fn encode_frame(xyz: &[f32], cell_nm: Option<[f32; 3]>, out: &mut Vec<u8>) {
    if let Some([a, b, c]) = cell_nm {
        let cell = [
            f64::from(a) * 10.0,
            0.0,
            f64::from(b) * 10.0,
            0.0,
            0.0,
            f64::from(c) * 10.0,
        ];
        let bytes: Vec<u8> = cell.iter().flat_map(|v| v.to_le_bytes()).collect();
        record(out, &bytes);
    }
    let n = xyz.len() / 3;
    for axis in 0..3 {
        out.extend_from_slice(&((4 * n) as i32).to_le_bytes());
        for p in xyz.chunks_exact(3) {
            out.extend_from_slice(&((f64::from(p[axis]) * 10.0) as f32).to_le_bytes());
        }
        out.extend_from_slice(&((4 * n) as i32).to_le_bytes());
    }
}
