//! File formats: PDB topology/coordinates, DCD trajectories, NPY arrays.
