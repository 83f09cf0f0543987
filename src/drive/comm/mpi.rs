//! MPI transport of [`super::Communicator`] (feature `mpi`), on the rsmpi
//! crate: [`MpiComm`] owns the MPI environment and its `MPI_COMM_WORLD`
//! (the `steermd drive` program); [`MpiGroup`] wraps any communicator of
//! an MPI environment someone else owns (a C or Fortran code calling the
//! steering ABI with its own communicator).
//!
//! MPI counts and displacements are C `int`s: one all-gather moves at most
//! `i32::MAX` bytes in total, one broadcast at most `i32::MAX` bytes. Larger
//! transfers fail with [`Error::InvalidArgument`] on every rank alike (the
//! lengths are exchanged first), so no rank is left waiting in a collective.

use mpi::collective::{CommunicatorCollectives, Root};
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::{Communicator as _, SimpleCommunicator};

use super::{int_count, int_partition, Communicator};
use crate::error::{Error, Result};

/// The ranks of `MPI_COMM_WORLD`. Owns the MPI environment: MPI is
/// initialised by [`MpiComm::init`] and finalised when the value is dropped,
/// so at most one exists per process and no MPI call may follow its drop.
///
/// Every collective must be called by all ranks in the same order, from the
/// thread that called [`MpiComm::init`] (MPI is initialised with
/// `MPI_THREAD_FUNNELED`: other threads may compute, only this one talks).
pub struct MpiComm {
    // Declared before `universe`: dropped before `MPI_Finalize`.
    world: MpiGroup,
    universe: Universe,
}

/// The ranks of one intra-communicator, in an MPI environment this value
/// does not own. Collectives as for [`MpiComm`]: all ranks, same order, from
/// the thread that talks MPI. Dropping it frees the communicator unless it
/// is `MPI_COMM_WORLD` (so it must be dropped before `MPI_Finalize`).
pub struct MpiGroup {
    comm: SimpleCommunicator,
    rank: usize,
    size: usize,
}

impl MpiGroup {
    /// Take `comm` (see the type's docs for when it is freed).
    pub fn new(comm: SimpleCommunicator) -> MpiGroup {
        let rank = usize::try_from(comm.rank()).expect("MPI ranks are non-negative");
        let size = usize::try_from(comm.size()).expect("MPI sizes are positive");
        MpiGroup { comm, rank, size }
    }

    /// The rsmpi communicator, for MPI calls the trait does not cover.
    pub fn raw(&self) -> &SimpleCommunicator {
        &self.comm
    }
}

impl MpiComm {
    /// Initialise MPI and take its world communicator.
    ///
    /// Fails with [`Error::BackendUnavailable`] when MPI is already
    /// initialised in this process (an [`MpiComm`] exists, or other code
    /// called `MPI_Init`). A failing `MPI_Init_thread` itself aborts the
    /// process (MPI's default error handler), it cannot be reported here.
    pub fn init() -> Result<Self> {
        let (universe, _provided) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| Error::BackendUnavailable {
                backend: "mpi",
                reason: "MPI is already initialised in this process \
                             (only one MpiComm may exist, and only once)"
                    .into(),
            })?;
        Ok(MpiComm {
            world: MpiGroup::new(universe.world()),
            universe,
        })
    }

    /// The rsmpi environment, for MPI calls this trait does not cover.
    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    /// The rsmpi world communicator, for MPI calls this trait does not cover.
    pub fn world(&self) -> &SimpleCommunicator {
        &self.world.comm
    }

    /// Replace the panic hook with one that prints
    /// `rank R of S panicked at FILE:LINE: MESSAGE` to stderr and then calls
    /// `MPI_Abort(MPI_COMM_WORLD, 1)`, so a rank that panics (on any thread)
    /// ends the whole job instead of leaving its peers blocked in a
    /// collective. Once MPI is finalised (or before it is initialised) the
    /// hook only prints, and the panic unwinds as usual.
    pub fn install_abort_on_panic(&self) {
        let (rank, size) = (self.world.rank, self.world.size);
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(non-string panic payload)");
            match info.location() {
                Some(at) => eprintln!("rank {rank} of {size} panicked at {at}: {message}"),
                None => eprintln!("rank {rank} of {size} panicked: {message}"),
            }
            // MPI_Initialized / MPI_Finalized may be called from any thread at
            // any time. MPI_Abort from a thread other than the one that
            // initialised MPI is outside MPI_THREAD_FUNNELED strictly, but it
            // is what every implementation supports for this purpose.
            if mpi::environment::is_initialized() && !mpi::environment::is_finalized() {
                SimpleCommunicator::world().abort(1);
            }
        }));
    }
}

impl Communicator for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank
    }

    fn size(&self) -> usize {
        self.world.size
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.world.all_gather_bytes(local)
    }

    fn broadcast_bytes(&self, root: usize, data: &mut Vec<u8>) -> Result<()> {
        self.world.broadcast_bytes(root, data)
    }

    fn barrier(&self) -> Result<()> {
        self.world.barrier()
    }

    fn abort(&self, message: &str) -> ! {
        self.world.abort(message)
    }
}

impl Communicator for MpiGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut lens = vec![0u64; self.size];
        self.comm
            .all_gather_into(&(local.len() as u64), &mut lens[..]);
        // Every rank sees the same lengths, so every rank fails alike here.
        let (counts, displs) = int_partition(&lens, "MPI all-gather")?;
        let total: usize = lens.iter().map(|&l| l as usize).sum();
        if total == 0 {
            return Ok(vec![Vec::new(); self.size]);
        }
        // An empty slice's pointer is dangling, typically 0x1, which is
        // Open MPI's MPI_IN_PLACE: send from a real (zero-length) place.
        let pad = [0u8; 1];
        let send = if local.is_empty() { &pad[..0] } else { local };
        let mut all = vec![0u8; total];
        {
            let mut parts = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            self.comm.all_gather_varcount_into(send, &mut parts);
        }
        Ok(counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
            .collect())
    }

    fn broadcast_bytes(&self, root: usize, data: &mut Vec<u8>) -> Result<()> {
        if root >= self.size {
            // Every rank is given the same root, so every rank fails alike.
            return Err(Error::InvalidArgument(format!(
                "broadcast root {root} is not a rank of {} ranks",
                self.size
            )));
        }
        let root = self.comm.process_at_rank(root as mpi::Rank);
        let mut len = data.len() as u64;
        root.broadcast_into(&mut len);
        // Every rank sees the same length, so every rank fails alike here.
        let len = int_count(len, "MPI broadcast")? as usize;
        if len == 0 {
            // No second call: an empty buffer's dangling pointer could read
            // as MPI_IN_PLACE.
            data.clear();
            return Ok(());
        }
        data.resize(len, 0);
        root.broadcast_into(&mut data[..]);
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        self.comm.barrier();
        Ok(())
    }

    fn abort(&self, message: &str) -> ! {
        eprintln!("{message}");
        self.comm.abort(1)
    }
}
