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

use crate::error::{Error, Result};

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

/// The environment variables in which MPI launchers (Open MPI, MPICH,
/// MVAPICH, Slurm) give a process its rank among the ranks of its node.
const LOCAL_RANK_VARIABLES: [&str; 4] = [
    "OMPI_COMM_WORLD_LOCAL_RANK",
    "MPI_LOCALRANKID",
    "MV2_COMM_WORLD_LOCAL_RANK",
    "SLURM_LOCALID",
];

/// This process's rank among the ranks on its node, from the launcher's
/// environment ([`LOCAL_RANK_VARIABLES`]); without one, the rank in `comm`
/// (every rank taken to share one node).
pub fn local_rank(comm: &dyn Communicator) -> usize {
    local_rank_from_env().unwrap_or_else(|| comm.rank())
}

/// This process's rank on its node as the launcher's environment gives it
/// ([`LOCAL_RANK_VARIABLES`]), if it does.
pub fn local_rank_from_env() -> Option<usize> {
    LOCAL_RANK_VARIABLES
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
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

/// `len` bytes as a C `int` count (the MPI count type), or an
/// [`Error::InvalidArgument`] naming `what`.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn int_count(len: u64, what: &str) -> Result<i32> {
    i32::try_from(len).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} of {len} bytes exceeds the limit of {} bytes (C int counts)",
            i32::MAX
        ))
    })
}

/// Per-rank C `int` counts and displacements of an all-gather of `lens`
/// bytes per rank; fails when the total does not fit a C `int`.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn int_partition(lens: &[u64], what: &str) -> Result<(Vec<i32>, Vec<i32>)> {
    let total = lens
        .iter()
        .try_fold(0u64, |acc, &l| acc.checked_add(l))
        .unwrap_or(u64::MAX);
    int_count(total, &format!("{what} (total over ranks)"))?;
    let counts: Vec<i32> = lens.iter().map(|&l| l as i32).collect();
    let displs = counts
        .iter()
        .scan(0, |offset, &c| {
            let d = *offset;
            *offset += c;
            Some(d)
        })
        .collect();
    Ok((counts, displs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_partition_offsets_and_empty_parts() {
        let (c, d) = int_partition(&[3, 0, 2], "test").unwrap();
        assert_eq!(c, [3, 0, 2]);
        assert_eq!(d, [0, 3, 3]);
        assert_eq!(int_partition(&[], "test").unwrap(), (vec![], vec![]));
    }

    #[test]
    fn int_partition_refuses_totals_beyond_int() {
        let max = i32::MAX as u64;
        assert!(int_partition(&[max, 0], "test").is_ok());
        let e = int_partition(&[max, 1], "test").unwrap_err().to_string();
        assert!(e.contains("exceeds the limit"), "{e}");
        assert!(int_partition(&[u64::MAX, u64::MAX], "test").is_err());
        assert!(int_count(max + 1, "test").is_err());
    }

    #[test]
    fn single_process_collectives_are_copies() {
        let comm = SingleProcess;
        assert_eq!(comm.all_gather_bytes(b"ab").unwrap(), vec![b"ab".to_vec()]);
        assert_eq!(all_gather(&comm, &[1.5f64, 2.5]).unwrap(), [1.5, 2.5]);
        let mut v = vec![7u32];
        broadcast(&comm, 0, &mut v).unwrap();
        assert_eq!(v, [7]);
    }
}
