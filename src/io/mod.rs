//! File formats: PDB topology/coordinates, DCD trajectories, NPY arrays,
//! HDF5 contact maps (feature `hdf5`).
//!
//! Files hold Å where their format says so (PDB, DCD); everything returned
//! is converted to nm.

pub mod dcd;
pub mod h5;
pub mod npy;
pub mod pdb;
pub mod traj;

pub use dcd::{
    read_dcd, read_dcd_for, read_dcd_header, read_dcd_with, write_dcd, DcdHeader, DcdReadOptions,
    DcdWriteOptions, DcdWriter,
};
pub use h5::write_contact_maps_h5;
pub use npy::{read_npy, read_npy_f32_lossless, write_npy, NpyElement};
pub use pdb::{read_pdb, read_pdb_models, read_pdb_positions, write_pdb, Atom, Topology};
pub use traj::{
    is_trajectory_path, read_netcdf, read_netcdf_with_velocities, read_trajectory,
    read_trajectory_for, read_trajectory_with, read_xtc, write_netcdf, Trajectory,
    TRAJECTORY_EXTENSIONS,
};
