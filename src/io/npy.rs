//! NumPy `.npy` arrays: thin helpers over the `npyz` crate.
//!
//! Reading checks the dtype against the requested element type and accepts
//! C-order arrays only; writing goes to a temporary file in the target's
//! directory that is renamed into place, so a failure never leaves a partial
//! output behind.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;

use crate::error::{Error, Result};

/// Element types steermd reads and writes as `.npy`.
pub trait NpyElement:
    npyz::Deserialize + npyz::Serialize + npyz::AutoSerialize + Copy + sealed::Sealed
{
    /// NumPy's name of the dtype, for messages (`float32`, `int64`, ...).
    const NAME: &'static str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! element {
    ($t:ty, $name:literal) => {
        impl sealed::Sealed for $t {}
        impl NpyElement for $t {
            const NAME: &'static str = $name;
        }
    };
}
element!(f32, "float32");
element!(f64, "float64");
element!(u8, "uint8");
element!(i16, "int16");
element!(i64, "int64");

/// Read a C-order `.npy` file of element type `T`: `(shape, data)`.
///
/// Errors: missing/unreadable file ([`Error::Io`]), malformed header,
/// truncated data, Fortran order or a dtype other than `T`
/// ([`Error::Format`], naming the file's dtype).
pub fn read_npy<T: NpyElement>(path: impl AsRef<Path>) -> Result<(Vec<usize>, Vec<T>)> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(path, &bytes)
}

/// Read a C-order `.npy` file of any supported dtype as `f32`, failing
/// unless every value converts exactly (float32, uint8 and int16 always do;
/// float64 and int64 values must be representable in float32).
pub fn read_npy_f32_lossless(path: impl AsRef<Path>) -> Result<(Vec<usize>, Vec<f32>)> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let npy = open(path, &bytes)?;
    let (kind, size) = match npy.dtype() {
        npyz::DType::Plain(t) => (t.type_char(), t.size_field()),
        d => {
            return Err(Error::format(
                path,
                format!("dtype '{}' is not numeric", d.descr()),
            ))
        }
    };
    use npyz::TypeChar::{Float, Int, Uint};
    match (kind, size) {
        (Float, 4) => decode::<f32>(path, &bytes),
        (Uint, 1) => widen(decode::<u8>(path, &bytes)?, f32::from),
        (Int, 2) => widen(decode::<i16>(path, &bytes)?, f32::from),
        (Float, 8) => exact(path, decode::<f64>(path, &bytes)?, |v| v, |v| v as f32),
        (Int, 8) => exact(path, decode::<i64>(path, &bytes)?, |v| v as f64, |v| v as f32),
        _ => Err(Error::format(
            path,
            format!(
                "dtype '{}' cannot be read as float32 (supported: float32, float64, uint8, int16, int64)",
                npy.dtype().descr()
            ),
        )),
    }
}

fn widen<T: Copy>(a: (Vec<usize>, Vec<T>), f: impl Fn(T) -> f32) -> Result<(Vec<usize>, Vec<f32>)> {
    Ok((a.0, a.1.into_iter().map(f).collect()))
}

/// Narrow to f32, failing on the first value that does not survive the round trip.
fn exact<T: Copy + std::fmt::Display>(
    path: &Path,
    (shape, data): (Vec<usize>, Vec<T>),
    to_f64: impl Fn(T) -> f64,
    to_f32: impl Fn(T) -> f32,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let mut out = Vec::with_capacity(data.len());
    for (i, &v) in data.iter().enumerate() {
        let f = to_f32(v);
        if f64::from(f) != to_f64(v) && !f.is_nan() {
            return Err(Error::format(
                path,
                format!("element {i} ({v}) is not exactly representable as float32"),
            ));
        }
        out.push(f);
    }
    Ok((shape, out))
}

fn open<'a>(path: &Path, bytes: &'a [u8]) -> Result<npyz::NpyFile<&'a [u8]>> {
    // npyz allocates the declared header length before reading it: refuse a
    // header that claims more bytes than the file has.
    if bytes.starts_with(b"\x93NUMPY") && data_offset(bytes) > bytes.len() {
        return Err(Error::format(
            path,
            format!(
                "not a valid .npy file: the header claims to end at byte {}, the file has {} bytes",
                data_offset(bytes),
                bytes.len()
            ),
        ));
    }
    npyz::NpyFile::new(bytes)
        .map_err(|e| Error::format(path, format!("not a valid .npy file: {e}")))
}

fn decode<T: NpyElement>(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<T>)> {
    let npy = open(path, bytes)?;
    if npy.order() != npyz::Order::C && npy.shape().len() > 1 {
        return Err(Error::format(
            path,
            "array is stored in Fortran order; only C order is supported",
        ));
    }
    let dtype = npy.dtype();
    let expected = T::default_dtype();
    let same = match (&dtype, &expected) {
        (npyz::DType::Plain(a), npyz::DType::Plain(b)) => {
            a.type_char() == b.type_char() && a.size_field() == b.size_field()
        }
        _ => false,
    };
    if !same {
        return Err(Error::format(
            path,
            format!(
                "dtype is '{}', expected {} ('{}')",
                dtype.descr(),
                T::NAME,
                expected.descr()
            ),
        ));
    }
    let shape = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::format(path, "array dimension does not fit in memory"))?;
    // Bound the element count by the bytes the file holds before npyz
    // allocates for it, so an absurd declared shape is an error, not an
    // allocation sized by an unchecked header field.
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            Error::format(path, format!("shape {shape:?} overflows the address space"))
        })?;
    let held = bytes.len().saturating_sub(data_offset(bytes));
    if count
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|need| need > held)
    {
        return Err(Error::format(
            path,
            format!(
                "shape {shape:?} needs {count} elements of {} bytes, the file holds {held} data bytes (truncated or corrupt header)",
                std::mem::size_of::<T>()
            ),
        ));
    }
    let data: Vec<T> = npy
        .into_vec()
        .map_err(|e| Error::format(path, format!("reading {count} elements: {e}")))?;
    if data.len() != count {
        return Err(Error::format(
            path,
            format!(
                "shape {shape:?} needs {count} elements, file holds {}",
                data.len()
            ),
        ));
    }
    Ok((shape, data))
}

/// Byte offset of the data in an `.npy` file, as its header declares it:
/// magic (6), version (2), header length (2 bytes in format 1, 4 in 2 and
/// 3), then the header.
fn data_offset(bytes: &[u8]) -> usize {
    let le = |r: std::ops::Range<usize>| {
        bytes
            .get(r)
            .map(|b| b.iter().rev().fold(0usize, |v, &x| v << 8 | usize::from(x)))
    };
    match bytes.get(6) {
        Some(1) => le(8..10).map_or(bytes.len(), |h| 10 + h),
        _ => le(8..12).map_or(bytes.len(), |h| 12 + h),
    }
}

/// Write `data` with `shape` (C order) to `path` atomically: the bytes go to
/// a temporary file in the same directory, which is renamed over `path` only
/// once complete.
pub fn write_npy<T: NpyElement>(path: impl AsRef<Path>, shape: &[usize], data: &[T]) -> Result<()> {
    let path = path.as_ref();
    let count: usize = shape.iter().product();
    if count != data.len() {
        return Err(Error::Shape(format!(
            "writing {}: shape {shape:?} needs {count} elements, got {}",
            path.display(),
            data.len()
        )));
    }
    write_atomically(path, |w| {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut npy = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(w)
            .begin_nd()?;
        npy.extend(data.iter().copied())?;
        npy.finish()
    })
}

/// Run `body` on a buffered temporary file beside `path`, then rename it to
/// `path`; on any error the temporary file is removed.
pub(crate) fn write_atomically(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(fs::File::create(&tmp)?);
        body(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()?;
        drop(w);
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{unique}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_each_dtype() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &[2, 3], &[1.5f32, -2.0, 3.0, 4.0, 5.0, 6.25]).unwrap();
        assert_eq!(
            read_npy::<f32>(&p).unwrap(),
            (vec![2, 3], vec![1.5f32, -2.0, 3.0, 4.0, 5.0, 6.25])
        );
        write_npy(&p, &[2], &[1.0f64, 2.0]).unwrap();
        assert_eq!(read_npy::<f64>(&p).unwrap().1, vec![1.0, 2.0]);
        write_npy(&p, &[3], &[0u8, 1, 255]).unwrap();
        assert_eq!(read_npy::<u8>(&p).unwrap().1, vec![0, 1, 255]);
        write_npy(&p, &[2], &[-3i16, 32767]).unwrap();
        assert_eq!(read_npy::<i16>(&p).unwrap().1, vec![-3, 32767]);
        write_npy(&p, &[1, 0], &[] as &[i64]).unwrap();
        assert_eq!(read_npy::<i64>(&p).unwrap(), (vec![1, 0], vec![]));
        // Nothing but the output is left in the directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dtype_mismatch_names_both_types() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.npy");
        write_npy(&p, &[2], &[1i64, 2]).unwrap();
        let err = read_npy::<f32>(&p).unwrap_err().to_string();
        assert!(err.contains("<i8") && err.contains("float32"), "{err}");
        assert!(err.contains("i.npy"), "{err}");
    }

    #[test]
    fn truncated_missing_and_bad_shape_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.npy");
        write_npy(&p, &[4], &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        assert!(matches!(read_npy::<f32>(&p), Err(Error::Format { .. })));
        fs::write(&p, b"not numpy").unwrap();
        assert!(matches!(read_npy::<f32>(&p), Err(Error::Format { .. })));
        let missing = dir.path().join("missing.npy");
        assert!(matches!(read_npy::<f32>(&missing), Err(Error::Io { .. })));
        assert!(matches!(
            write_npy(&p, &[3], &[1.0f32]),
            Err(Error::Shape(_))
        ));
        let no_dir = dir.path().join("no/such/dir/x.npy");
        assert!(matches!(
            write_npy(&no_dir, &[1], &[1.0f32]),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn lossless_f32_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.npy");
        write_npy(&p, &[2, 2], &[0u8, 1, 1, 0]).unwrap();
        assert_eq!(
            read_npy_f32_lossless(&p).unwrap(),
            (vec![2, 2], vec![0.0, 1.0, 1.0, 0.0])
        );
        write_npy(&p, &[2], &[0.5f64, -3.0]).unwrap();
        assert_eq!(read_npy_f32_lossless(&p).unwrap().1, vec![0.5, -3.0]);
        write_npy(&p, &[2], &[0.5f64, 0.1]).unwrap();
        let e = read_npy_f32_lossless(&p).unwrap_err().to_string();
        assert!(e.contains("element 1 (0.1)"), "{e}");
        write_npy(&p, &[2], &[7i64, (1 << 25) + 1]).unwrap();
        assert!(read_npy_f32_lossless(&p).is_err());
        write_npy(&p, &[1], &[-7i16]).unwrap();
        assert_eq!(read_npy_f32_lossless(&p).unwrap().1, vec![-7.0]);
    }

    #[test]
    fn fortran_order_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.npy");
        let mut buf = vec![];
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[2, 2])
            .order(npyz::Order::Fortran)
            .writer(&mut buf)
            .begin_nd()
            .unwrap();
        w.extend([1.0f32, 2.0, 3.0, 4.0]).unwrap();
        w.finish().unwrap();
        fs::write(&p, &buf).unwrap();
        let err = read_npy::<f32>(&p).unwrap_err().to_string();
        assert!(err.contains("Fortran"), "{err}");
    }
}
