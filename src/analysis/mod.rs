//! Trajectory analysis: Cα contact maps and RMSD to a reference.

pub mod kernels;
