//! HDF5 output of contact maps in the DeepDriveMD layout (feature `hdf5`).
//!
//! The file holds one dataset, `contact_map`: a variable-length int16 array
//! per frame, each the frame's COO row indices followed by its column indices
//! — what mdlearn's `ContactMapDataset` reads.

use std::path::Path;

use crate::analysis::contacts::ContactMaps;
use crate::error::{Error, Result};

/// Write `maps` to `path` (`.h5`) as DeepDriveMD's `contact_map` dataset.
///
/// Written to a temporary file beside `path` and renamed into place, so a
/// failure leaves no partial file. Without the `hdf5` feature this returns
/// [`Error::InvalidArgument`] saying so.
pub fn write_contact_maps_h5(path: &Path, maps: &ContactMaps) -> Result<()> {
    let (data, offsets) = maps.coo_all()?;
    write_vlen_i16(path, "contact_map", &data, &offsets)
}

#[cfg(feature = "hdf5")]
fn write_vlen_i16(path: &Path, name: &str, data: &[i16], offsets: &[i64]) -> Result<()> {
    use hdf5_metno::types::VarLenArray;

    let rows: Vec<VarLenArray<i16>> = offsets
        .windows(2)
        .map(|w| VarLenArray::from_slice(&data[w[0] as usize..w[1] as usize]))
        .collect();
    let tmp = crate::io::npy::temp_path(path);
    let written = hdf5_metno::File::create(&tmp).and_then(|f| {
        f.new_dataset_builder()
            .with_data(&rows)
            .create(name)
            .map(|_| ())
    });
    let result = match written {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)),
        Err(e) => Err(Error::format(path, format!("HDF5 write failed: {e}"))),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(not(feature = "hdf5"))]
fn write_vlen_i16(path: &Path, _name: &str, _data: &[i16], _offsets: &[i64]) -> Result<()> {
    Err(Error::InvalidArgument(format!(
        "{}: HDF5 output needs steermd built with the `hdf5` feature; write .npy instead",
        path.display()
    )))
}

#[cfg(all(test, feature = "hdf5"))]
mod tests {
    use super::*;
    use crate::analysis::contacts::{contact_maps, ContactMapOptions};
    use crate::io::{dcd, npy, pdb};
    use crate::Device;

    /// The villin maps written as HDF5 read back as MDAnalysis' COO reference.
    #[test]
    fn villin_maps_round_trip_as_deepdrivemd_layout() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let (top, _) = pdb::read_pdb(dir.join("villin.pdb")).unwrap();
        let ca = top.select_names(&["CA"]).unwrap();
        let frames = dcd::read_dcd(dir.join("villin.dcd")).unwrap();
        let maps = contact_maps(&Device::Cpu, &frames, &ca, &ContactMapOptions::default()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("maps.h5");
        write_contact_maps_h5(&path, &maps).unwrap();

        let f = hdf5_metno::File::open(&path).unwrap();
        let rows: Vec<hdf5_metno::types::VarLenArray<i16>> =
            f.dataset("contact_map").unwrap().read_raw().unwrap();
        let (_, want) = npy::read_npy::<i16>(dir.join("villin_contacts_coo_data.npy")).unwrap();
        let (_, offsets) =
            npy::read_npy::<i64>(dir.join("villin_contacts_coo_offsets.npy")).unwrap();
        assert_eq!(rows.len(), frames.n_frames());
        for (i, row) in rows.iter().enumerate() {
            let w = &want[offsets[i] as usize..offsets[i + 1] as usize];
            assert_eq!(row.as_slice(), w, "frame {i}");
        }
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
