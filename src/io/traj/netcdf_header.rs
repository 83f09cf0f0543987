//! A bounded walk over a NetCDF-3 header before the `netcdf3` crate parses
//! it.
//!
//! The crate reserves memory for every list from the count the header
//! declares (`Vec::with_capacity(n)` for dimensions, attributes, dimension
//! ids), so one corrupt count asks the allocator for gigabytes. This walk
//! reads the same grammar (the NetCDF classic format specification: magic,
//! `numrecs`, then the dimension, global attribute and variable lists) and
//! checks every count and length against the bytes left in the file before
//! skipping over them, so by the time `netcdf3` runs each count it meets is
//! known to fit. It allocates nothing that grows with a count.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

const NC_DIMENSION: u32 = 0x0A;
const NC_VARIABLE: u32 = 0x0B;
const NC_ATTRIBUTE: u32 = 0x0C;

/// Check that the NetCDF-3 header of `path` (`file_size` bytes) is
/// well-formed and that every count in it fits in the file. The error says
/// what is wrong and at which byte offset.
pub(super) fn check_header(path: &Path, file_size: u64) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut walk = Walk {
        input: BufReader::new(file),
        offset: 0,
        file_size,
    };
    walk.header()
}

struct Walk<R> {
    input: R,
    /// Bytes consumed so far.
    offset: u64,
    file_size: u64,
}

impl<R: Read> Walk<R> {
    fn header(&mut self) -> Result<(), String> {
        let mut magic = [0u8; 4];
        self.read_exact(&mut magic, "magic")?;
        if &magic[..3] != b"CDF" {
            return Err("no 'CDF' magic at byte 0".into());
        }
        let offset_bytes = match magic[3] {
            1 => 4,
            2 => 8,
            5 => return Err("CDF-5 (64-bit data) files are not supported; NetCDF-3 classic or 64-bit offset only".into()),
            v => return Err(format!("unknown NetCDF version byte {v} at byte 3")),
        };
        self.u32("numrecs")?;
        let n_dims = self.list(NC_DIMENSION, "dimension list", Self::dimension)?;
        self.list(NC_ATTRIBUTE, "global attribute list", Self::attribute)?;
        self.list(NC_VARIABLE, "variable list", |w| {
            w.variable(n_dims, offset_bytes)
        })?;
        Ok(())
    }

    /// `ABSENT` (two zero words) or `tag nelems [item ...]`; the number of
    /// items.
    fn list(
        &mut self,
        tag: u32,
        what: &str,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<u32, String> {
        let at = self.offset;
        let got = self.u32(what)?;
        let n = self.u32(what)?;
        if got == 0 && n == 0 {
            return Ok(0);
        }
        if got != tag {
            return Err(format!(
                "{what} at byte {at}: tag {got:#x}, expected {tag:#x} or an absent list"
            ));
        }
        // Every item takes at least 4 bytes, so a count can be checked
        // before walking it.
        self.fits(u64::from(n) * 4, &format!("{what} of {n} entries"), at)?;
        for _ in 0..n {
            item(self)?;
        }
        Ok(n)
    }

    fn dimension(&mut self) -> Result<(), String> {
        self.name("dimension name")?;
        self.u32("dimension length")?;
        Ok(())
    }

    fn attribute(&mut self) -> Result<(), String> {
        self.name("attribute name")?;
        let size = self.nc_type("attribute type")?;
        let at = self.offset;
        let n = self.u32("attribute length")?;
        self.skip_padded(u64::from(n) * size, &format!("attribute of {n} values"), at)
    }

    fn variable(&mut self, n_dims: u32, offset_bytes: u64) -> Result<(), String> {
        let name_at = self.offset;
        self.name("variable name")?;
        let at = self.offset;
        let rank = self.u32("variable rank")?;
        self.fits(u64::from(rank) * 4, &format!("variable of rank {rank}"), at)?;
        for _ in 0..rank {
            let at = self.offset;
            let id = self.u32("dimension id")?;
            if id >= n_dims {
                return Err(format!(
                    "dimension id {id} at byte {at} (variable at byte {name_at}); the file has {n_dims} dimensions"
                ));
            }
        }
        self.list(NC_ATTRIBUTE, "variable attribute list", Self::attribute)?;
        self.nc_type("variable type")?;
        self.u32("variable size")?;
        self.skip(offset_bytes, "variable begin offset")
    }

    /// A name: length, then that many bytes padded to 4.
    fn name(&mut self, what: &str) -> Result<(), String> {
        let at = self.offset;
        let n = self.u32(what)?;
        self.skip_padded(u64::from(n), &format!("{what} of {n} bytes"), at)
    }

    /// An `nc_type`; its element size in bytes.
    fn nc_type(&mut self, what: &str) -> Result<u64, String> {
        let at = self.offset;
        match self.u32(what)? {
            1 | 2 => Ok(1),
            3 => Ok(2),
            4 | 5 => Ok(4),
            6 => Ok(8),
            t => Err(format!(
                "{what} {t} at byte {at} is not a NetCDF-3 type (1 to 6)"
            )),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b, what)?;
        Ok(u32::from_be_bytes(b))
    }

    fn skip_padded(&mut self, n: u64, what: &str, at: u64) -> Result<(), String> {
        let padded = n.div_ceil(4) * 4;
        self.fits(padded, what, at)?;
        self.skip(padded, what)
    }

    /// An error unless `n` more bytes fit in the file.
    fn fits(&self, n: u64, what: &str, at: u64) -> Result<(), String> {
        let left = self.file_size.saturating_sub(self.offset);
        if n > left {
            return Err(format!(
                "{what} at byte {at} needs {n} bytes, but the file ({} bytes) has {left} left",
                self.file_size
            ));
        }
        Ok(())
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), String> {
        let at = self.offset;
        let copied = std::io::copy(&mut (&mut self.input).take(n), &mut std::io::sink())
            .map_err(|e| format!("{what} at byte {at}: {e}"))?;
        if copied != n {
            return Err(self.ended(what, at));
        }
        self.offset += n;
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), String> {
        let at = self.offset;
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.ended(what, at),
            _ => format!("{what} at byte {at}: {e}"),
        })?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn ended(&self, what: &str, at: u64) -> String {
        format!(
            "the header ends inside the {what} at byte {at} (file size {} bytes)",
            self.file_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Result<(), String> {
        Walk {
            input: bytes,
            offset: 0,
            file_size: bytes.len() as u64,
        }
        .header()
    }

    fn villin5() -> Vec<u8> {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/traj_formats/villin5.nc"
        );
        std::fs::read(p).unwrap()
    }

    #[test]
    fn accepts_the_reference_trajectory_and_restart() {
        walk(&villin5()).unwrap();
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/traj_formats/villin.ncrst"
        );
        walk(&std::fs::read(p).unwrap()).unwrap();
    }

    /// The fuzz case that made `netcdf3` reserve 13 GB: a name length of
    /// 0xFFFFFFFF inside the variable list.
    #[test]
    fn refuses_a_name_longer_than_the_file() {
        let mut b = villin5();
        b[473..481].fill(0xFF);
        let e = walk(&b).unwrap_err();
        assert!(e.contains("needs") && e.contains("has"), "{e}");
    }

    #[test]
    fn refuses_a_list_count_longer_than_the_file() {
        let mut b = villin5();
        // numrecs at 4..8, dimension tag at 8..12, its count at 12..16.
        b[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = walk(&b).unwrap_err();
        assert!(e.contains("dimension list of 4294967295 entries"), "{e}");
    }

    #[test]
    fn refuses_a_truncated_header_and_cdf5() {
        let b = villin5();
        let e = walk(&b[..100]).unwrap_err();
        assert!(e.contains("needs") || e.contains("ends inside"), "{e}");
        let mut c = b.clone();
        c[3] = 5;
        assert!(walk(&c).unwrap_err().contains("CDF-5"));
    }
}
