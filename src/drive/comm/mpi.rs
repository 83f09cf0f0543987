//! MPI transport of [`super::Communicator`] (feature `mpi`).
