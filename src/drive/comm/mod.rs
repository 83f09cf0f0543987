//! The collective operations the driver needs, one implementation per
//! transport: [`SingleProcess`] always, [`ThreadComm`] (ranks as threads,
//! for tests) always, MPI with the `mpi` feature.
//!
//! Everything travels as bytes (`bytemuck` casts on both sides), so a
//! transport implements five primitives and nothing else.

#[cfg(feature = "mpi")]
pub mod mpi;
pub mod threads;

pub use threads::ThreadComm;

use crate::error::Result;

/// A group of cooperating processes (ranks) running one campaign.
///
/// Every collective must be called by all ranks in the same order.
pub trait Communicator {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// Every rank's `local` bytes, in rank order, delivered to every rank
    /// (an all-gather with per-rank lengths).
    fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<Vec<u8>>>;
    /// Rank `root`'s `data` delivered to every rank; the other ranks' input is
    /// replaced (its length may differ from the root's).
    fn broadcast_bytes(&self, root: usize, data: &mut Vec<u8>) -> Result<()>;
    /// Wait until every rank has arrived.
    fn barrier(&self) -> Result<()>;
    /// Print `message` to stderr and end every rank of the job with exit
    /// status 1 (MPI_Abort under MPI). Never returns, never waits on peers.
    fn abort(&self, message: &str) -> !;
}

/// The one-process "communicator": rank 0 of 1, collectives are copies.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(vec![local.to_vec()])
    }

    fn broadcast_bytes(&self, root: usize, _data: &mut Vec<u8>) -> Result<()> {
        debug_assert_eq!(root, 0, "single process: the only root is rank 0");
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self, message: &str) -> ! {
        eprintln!("{message}");
        std::process::exit(1)
    }
}

/// All-gather of plain-old-data values: every rank's `local` slice,
/// concatenated in rank order, on every rank.
pub fn all_gather<T: bytemuck::Pod>(comm: &dyn Communicator, local: &[T]) -> Result<Vec<T>> {
    let parts = comm.all_gather_bytes(bytemuck::cast_slice(local))?;
    let mut out =
        Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() / size_of::<T>().max(1));
    for p in &parts {
        // The byte buffers carry no alignment guarantee for T.
        out.extend(
            p.chunks_exact(size_of::<T>())
                .map(bytemuck::pod_read_unaligned::<T>),
        );
    }
    Ok(out)
}

/// Broadcast of plain-old-data values from `root`: on return `data` holds
/// the root's values on every rank.
pub fn broadcast<T: bytemuck::Pod>(
    comm: &dyn Communicator,
    root: usize,
    data: &mut Vec<T>,
) -> Result<()> {
    if comm.size() == 1 {
        return Ok(());
    }
    let mut bytes: Vec<u8> = bytemuck::cast_slice(data).to_vec();
    comm.broadcast_bytes(root, &mut bytes)?;
    *data = bytes
        .chunks_exact(size_of::<T>())
        .map(bytemuck::pod_read_unaligned::<T>)
        .collect();
    Ok(())
}
