//! Contact maps: which selected atom pairs lie closer than a cutoff.
//!
//! Semantics follow MDAnalysis `contact_matrix(coords, cutoff,
//! returntype="sparse", box=...)`: pair `(i, j)` is a contact iff its
//! distance is strictly below the cutoff, the diagonal is always set, and a
//! periodic map uses the orthorhombic minimum image. The kernels repeat
//! MDAnalysis' arithmetic on the Å values `fl32(10·x)` it would hold (see
//! [`AnalysisKernels::contact_maps`](super::kernels::AnalysisKernels::contact_maps)),
//! so maps agree bit for bit even for pairs at the cutoff; for Å-native
//! input (DCD) converted to nm, pairs within ~1e-7 nm of the cutoff can
//! still differ.

use rayon::prelude::*;

use super::{check_gathered_finite, check_selection};
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::frames::Frames;

/// Options of [`contact_maps`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContactMapOptions {
    /// Contact cutoff, nm (strict: `d < cutoff`). Default 0.8 nm (8 Å).
    ///
    /// Widened to f64 through its shortest decimal form, so `0.8` becomes
    /// exactly 8.0 Å, as MDAnalysis is called.
    pub cutoff: f32,
    /// Use the minimum-image convention in each frame's orthorhombic box.
    pub periodic: bool,
}

impl Default for ContactMapOptions {
    fn default() -> Self {
        ContactMapOptions {
            cutoff: 0.8,
            periodic: false,
        }
    }
}

/// Contact maps of `n_frames` frames over `n` selected atoms, stored dense
/// as 0/1 bytes, `[frame][i][j]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMaps {
    n_frames: usize,
    n: usize,
    dense: Vec<u8>,
}

/// Compute the contact maps of every frame over the atoms in `selection`.
///
/// Errors: empty selection or an index out of range, a cutoff that is not
/// finite and positive, a non-finite selected coordinate (names frame and
/// atom), `periodic` without boxes or with a non-positive/non-finite box.
pub fn contact_maps(
    device: &Device,
    frames: &Frames,
    selection: &[usize],
    opts: &ContactMapOptions,
) -> Result<ContactMaps> {
    check_selection(selection, frames.n_atoms)?;
    if !(opts.cutoff.is_finite() && opts.cutoff > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "contact cutoff must be a finite positive distance in nm, got {}",
            opts.cutoff
        )));
    }
    let boxes = if opts.periodic {
        Some(checked_boxes(frames)?)
    } else {
        None
    };
    let coords = frames.gather(selection)?;
    check_gathered_finite("coordinates", &coords, selection)?;
    let (n_frames, n) = (frames.n_frames(), selection.len());
    let mut dense = vec![0u8; n_frames * n * n];
    device.backend()?.contact_maps(
        &coords,
        n_frames,
        n,
        widen_decimal(opts.cutoff),
        boxes,
        &mut dense,
    )?;
    Ok(ContactMaps { n_frames, n, dense })
}

fn checked_boxes(frames: &Frames) -> Result<&[[f32; 3]]> {
    let boxes = frames.boxes.as_deref().ok_or_else(|| {
        Error::InvalidArgument("periodic contact maps requested but the frames have no box".into())
    })?;
    for (f, b) in boxes.iter().enumerate() {
        if b.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(Error::InvalidArgument(format!(
                "frame {f}: periodic box {b:?} nm must have finite positive edges"
            )));
        }
    }
    Ok(boxes)
}

/// The f64 nearest to the shortest decimal that rounds to `x` (0.8f32 → 0.8).
fn widen_decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

impl ContactMaps {
    /// Wrap dense 0/1 maps `[n_frames][n][n]`, checking the length and values.
    pub fn from_dense(n_frames: usize, n: usize, dense: Vec<u8>) -> Result<Self> {
        if dense.len() != n_frames * n * n {
            return Err(Error::Shape(format!(
                "{} bytes are not {n_frames} maps of {n}x{n}",
                dense.len()
            )));
        }
        if let Some(i) = dense.iter().position(|&v| v > 1) {
            return Err(Error::InvalidArgument(format!(
                "contact map element {i} is {}, expected 0 or 1",
                dense[i]
            )));
        }
        Ok(ContactMaps { n_frames, n, dense })
    }

    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Atoms per map (maps are `n × n`).
    pub fn n(&self) -> usize {
        self.n
    }

    /// All maps, `[frame][i][j]`, 0/1.
    pub fn dense_u8(&self) -> &[u8] {
        &self.dense
    }

    /// Map of frame `f`, `[i][j]`, 0/1. Panics if `f >= n_frames()`.
    pub fn frame(&self, f: usize) -> &[u8] {
        &self.dense[f * self.n * self.n..(f + 1) * self.n * self.n]
    }

    /// The dense maps, consuming `self`.
    pub fn into_dense_u8(self) -> Vec<u8> {
        self.dense
    }

    /// `u64` words per bit-packed row: `ceil(n / 64)`.
    pub fn words_per_row(&self) -> usize {
        self.n.div_ceil(64)
    }

    /// Bit-packed maps: row `i` of frame `f` occupies words
    /// `[(f·n + i)·w, (f·n + i + 1)·w)` with `w = words_per_row()`; element
    /// `j` is bit `j % 64` (least significant first) of word `j / 64` of its
    /// row; padding bits are 0.
    pub fn bitpacked(&self) -> Vec<u64> {
        let w = self.words_per_row();
        let mut out = vec![0u64; self.n_frames * self.n * w];
        if self.n == 0 {
            return out;
        }
        for (row, words) in self.dense.chunks_exact(self.n).zip(out.chunks_exact_mut(w)) {
            for (word, bits) in words.iter_mut().zip(row.chunks(64)) {
                *word = bits
                    .iter()
                    .enumerate()
                    .fold(0u64, |acc, (k, &b)| acc | (u64::from(b) << k));
            }
        }
        out
    }

    /// Frame `f` in the DeepDriveMD COO layout: the int16 row indices of all
    /// contacts in row-major order, followed by their int16 column indices
    /// (length `2·nnz`). Errors if `f` is out of range or an index does not
    /// fit in i16.
    pub fn frame_coo(&self, f: usize) -> Result<Vec<i16>> {
        self.check_i16()?;
        if f >= self.n_frames {
            return Err(Error::InvalidArgument(format!(
                "frame {f} out of range for {} contact maps",
                self.n_frames
            )));
        }
        Ok(self.coo_of(f))
    }

    /// Every frame's [`frame_coo`](Self::frame_coo) segment concatenated, and
    /// `n_frames + 1` start offsets (element offsets; frame `f` is
    /// `data[off[f]..off[f + 1]]`).
    pub fn coo_all(&self) -> Result<(Vec<i16>, Vec<i64>)> {
        self.check_i16()?;
        let counts: Vec<usize> = (0..self.n_frames)
            .into_par_iter()
            .map(|f| self.nnz(f))
            .collect();
        let mut offsets = Vec::with_capacity(self.n_frames + 1);
        offsets.push(0i64);
        for c in &counts {
            offsets.push(offsets[offsets.len() - 1] + 2 * *c as i64);
        }
        let mut data = vec![0i16; 2 * counts.iter().sum::<usize>()];
        let mut segments = Vec::with_capacity(self.n_frames);
        let mut rest = data.as_mut_slice();
        for c in &counts {
            let (seg, tail) = rest.split_at_mut(2 * c);
            segments.push(seg);
            rest = tail;
        }
        segments
            .into_par_iter()
            .enumerate()
            .for_each(|(f, seg)| self.fill_coo(f, seg));
        Ok((data, offsets))
    }

    /// Rebuild maps from the DeepDriveMD COO layout produced by
    /// [`coo_all`](Self::coo_all) (`offsets` has `n_frames + 1` entries).
    pub fn from_coo(n: usize, data: &[i16], offsets: &[i64]) -> Result<Self> {
        let n_frames = offsets.len().checked_sub(1).ok_or_else(|| {
            Error::Shape("COO offsets must have n_frames + 1 entries, got none".into())
        })?;
        let mut dense = vec![0u8; n_frames * n * n];
        for f in 0..n_frames {
            let (s, e) = (offsets[f], offsets[f + 1]);
            if s < 0 || e < s || e as usize > data.len() || (e - s) % 2 != 0 {
                return Err(Error::Shape(format!(
                    "COO frame {f}: bad segment [{s}, {e}) for {} elements",
                    data.len()
                )));
            }
            let seg = &data[s as usize..e as usize];
            let (rows, cols) = seg.split_at(seg.len() / 2);
            for (&r, &c) in rows.iter().zip(cols) {
                if r < 0 || c < 0 || r as usize >= n || c as usize >= n {
                    return Err(Error::InvalidArgument(format!(
                        "COO frame {f}: index ({r}, {c}) out of range for {n}x{n} maps"
                    )));
                }
                dense[f * n * n + r as usize * n + c as usize] = 1;
            }
        }
        Ok(ContactMaps { n_frames, n, dense })
    }

    fn check_i16(&self) -> Result<()> {
        if self.n > i16::MAX as usize + 1 {
            return Err(Error::InvalidArgument(format!(
                "COO indices are int16: maps of {} atoms have indices above {}",
                self.n,
                i16::MAX
            )));
        }
        Ok(())
    }

    fn nnz(&self, f: usize) -> usize {
        self.frame(f).iter().map(|&v| usize::from(v)).sum()
    }

    fn coo_of(&self, f: usize) -> Vec<i16> {
        let mut out = vec![0i16; 2 * self.nnz(f)];
        self.fill_coo(f, &mut out);
        out
    }

    /// Write frame `f`'s row indices, then its column indices, row-major,
    /// into `out` (length `2·nnz`). Scans eight 0/1 bytes at a time as one
    /// word and visits only its set bits (one per contact).
    fn fill_coo(&self, f: usize, out: &mut [i16]) {
        let n = self.n.max(1);
        let (rows, cols) = out.split_at_mut(out.len() / 2);
        let mut k = 0;
        for (i, row) in self.frame(f).chunks_exact(n).enumerate() {
            for (c, bytes) in row.chunks(8).enumerate() {
                let mut word = [0u8; 8];
                word[..bytes.len()].copy_from_slice(bytes);
                let mut w = u64::from_le_bytes(word);
                while w != 0 {
                    rows[k] = i as i16;
                    cols[k] = (8 * c + (w.trailing_zeros() / 8) as usize) as i16;
                    k += 1;
                    w &= w - 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_widens_to_its_decimal() {
        assert_eq!(widen_decimal(0.8), 0.8f64);
        assert_eq!(widen_decimal(1.25), 1.25f64);
    }

    #[test]
    fn layouts_agree_on_a_small_map() {
        // 0-1-2 on a line 0.5 nm apart: 0-1, 1-2 in contact, 0-2 not.
        let frames = Frames::new(3, vec![0.0, 0., 0., 0.5, 0., 0., 1.0, 0., 0.], None).unwrap();
        let m = contact_maps(&Device::Cpu, &frames, &[0, 1, 2], &Default::default()).unwrap();
        assert_eq!(m.dense_u8(), &[1, 1, 0, 1, 1, 1, 0, 1, 1]);
        assert_eq!(m.bitpacked(), vec![0b011, 0b111, 0b110]);
        assert_eq!(
            m.frame_coo(0).unwrap(),
            vec![0, 0, 1, 1, 1, 2, 2, 0, 1, 0, 1, 2, 1, 2]
        );
        let (data, off) = m.coo_all().unwrap();
        assert_eq!(off, vec![0, 14]);
        assert_eq!(ContactMaps::from_coo(3, &data, &off).unwrap(), m);
    }

    #[test]
    fn cutoff_is_strict_and_periodic_images_count() {
        // 0.5 is exact in binary: a pair exactly 0.5 nm apart is no contact.
        let xyz = vec![0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.499_999_97];
        let frames = Frames::new(3, xyz, Some(vec![[1.0, 1.0, 1.0]])).unwrap();
        for dev in [Device::Cpu, Device::Reference] {
            let o = ContactMapOptions {
                cutoff: 0.5,
                periodic: false,
            };
            let m = contact_maps(&dev, &frames, &[0, 1, 2], &o).unwrap();
            assert_eq!(m.frame(0)[1], 0, "d == cutoff is not a contact");
            assert_eq!(m.frame(0)[2], 1, "d just below the cutoff is");
            // In a 1 nm box both images of atom 1 are 0.5 nm away, but
            // MDAnalysis' minimum image scales by fl32(1/10 Å) > 1/10 and
            // lands just inside the cutoff: it reports a contact
            // (contact_matrix(..., box=[10, 10, 10, 90, 90, 90]), MDAnalysis
            // 2.11), and so do we.
            let o = ContactMapOptions {
                cutoff: 0.5,
                periodic: true,
            };
            let m = contact_maps(&dev, &frames, &[0, 1, 2], &o).unwrap();
            assert_eq!(m.frame(0)[1], 1);
        }
    }

    #[test]
    fn invalid_input_is_rejected_with_context() {
        let mut xyz = vec![0.0f32; 12];
        xyz[7] = f32::NAN; // atom 2, y
        let frames = Frames::new(4, xyz, None).unwrap();
        let o = ContactMapOptions::default();
        let err = |sel: &[usize], o: &ContactMapOptions| {
            contact_maps(&Device::Reference, &frames, sel, o)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[], &o).contains("empty"));
        assert!(err(&[0, 9], &o).contains("atom index 9"));
        assert!(err(&[0, 2], &o).contains("frame 0, atom 2"));
        let bad = ContactMapOptions { cutoff: -1.0, ..o };
        assert!(err(&[0, 1], &bad).contains("cutoff"));
        let pbc = ContactMapOptions {
            periodic: true,
            ..o
        };
        assert!(err(&[0, 1], &pbc).contains("no box"));
    }
}
