//! Ranks as threads of one process: a [`Communicator`] for tests and
//! single-node experiments that need several ranks without MPI.
//!
//! [`ThreadComm::group`] makes one handle per rank; move each into its own
//! thread (e.g. `std::thread::scope`). Collectives exchange byte buffers
//! through shared slots guarded by a mutex, with a generation-counted
//! barrier before and after each exchange (so a rank cannot overwrite its
//! slot while a peer is still reading the previous collective).
//!
//! A group never hangs silently: when a rank's handle is dropped (its
//! thread finished or panicked) or a rank calls [`Communicator::abort`],
//! every collective then waiting or started later returns an error; a
//! collective also gives up after [`ThreadComm::PATIENCE`].

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Communicator;
use crate::error::{Error, Result};

/// One rank of a group of threads.
#[derive(Debug)]
pub struct ThreadComm {
    rank: usize,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    size: usize,
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug)]
struct State {
    /// One buffer per rank for the collective in progress.
    slots: Vec<Vec<u8>>,
    /// Ranks arrived at the current barrier.
    arrived: usize,
    /// Barriers completed so far.
    generation: u64,
    /// Why the group can no longer complete collectives, once it cannot.
    broken: Option<String>,
}

impl ThreadComm {
    /// How long a collective waits for its peers before giving up.
    pub const PATIENCE: Duration = Duration::from_secs(300);

    /// Handles for ranks `0..size` of a new group, in rank order.
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn group(size: usize) -> Vec<ThreadComm> {
        assert!(size >= 1, "a thread group needs at least one rank");
        let shared = Arc::new(Shared {
            size,
            state: Mutex::new(State {
                slots: vec![Vec::new(); size],
                arrived: 0,
                generation: 0,
                broken: None,
            }),
            wake: Condvar::new(),
        });
        (0..size)
            .map(|rank| ThreadComm {
                rank,
                shared: Arc::clone(&shared),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A peer that panicked while holding the lock leaves consistent
        // data (every critical section is a plain assignment or clone).
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mark the group broken and wake every waiting rank.
    fn break_group(&self, why: String) {
        let mut st = self.lock();
        st.broken.get_or_insert(why);
        drop(st);
        self.shared.wake.notify_all();
    }

    fn broken_error(why: &str) -> Error {
        Error::InvalidArgument(format!("thread communicator: {why}"))
    }

    /// Wait until every rank has called `wait` as often as this one.
    fn wait(&self) -> Result<()> {
        let mut st = self.lock();
        if let Some(why) = &st.broken {
            return Err(Self::broken_error(why));
        }
        st.arrived += 1;
        if st.arrived == self.shared.size {
            st.arrived = 0;
            st.generation += 1;
            drop(st);
            self.shared.wake.notify_all();
            return Ok(());
        }
        let generation = st.generation;
        let deadline = Instant::now() + Self::PATIENCE;
        // A completed barrier counts even if the group broke afterwards.
        while st.generation == generation {
            if let Some(why) = &st.broken {
                return Err(Self::broken_error(why));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let why = format!(
                    "rank {} waited {:?} for its peers at a collective",
                    self.rank,
                    Self::PATIENCE
                );
                st.broken.get_or_insert(why.clone());
                drop(st);
                self.shared.wake.notify_all();
                return Err(Self::broken_error(&why));
            }
            st = self
                .shared
                .wake
                .wait_timeout(st, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        Ok(())
    }
}

impl Drop for ThreadComm {
    fn drop(&mut self) {
        let how = if std::thread::panicking() {
            "panicked"
        } else {
            "left the group"
        };
        self.break_group(format!("rank {} {how}", self.rank));
    }
}

impl Communicator for ThreadComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.lock().slots[self.rank] = local.to_vec();
        self.wait()?;
        let all = self.lock().slots.clone();
        self.wait()?;
        Ok(all)
    }

    fn broadcast_bytes(&self, root: usize, data: &mut Vec<u8>) -> Result<()> {
        if root >= self.shared.size {
            return Err(Error::InvalidArgument(format!(
                "broadcast: root {root} is not a rank of a group of {}",
                self.shared.size
            )));
        }
        if self.rank == root {
            self.lock().slots[root] = data.clone();
        }
        self.wait()?;
        if self.rank != root {
            *data = self.lock().slots[root].clone();
        }
        self.wait()
    }

    fn barrier(&self) -> Result<()> {
        self.wait()
    }

    /// Marks the group broken (peers' collectives return an error) and
    /// panics this thread with `message`: a test sees the panic when it
    /// joins the thread, instead of the whole process exiting.
    fn abort(&self, message: &str) -> ! {
        self.break_group(format!("rank {} aborted: {message}", self.rank));
        panic!("rank {} aborted: {message}", self.rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::comm::{all_gather, broadcast};

    #[test]
    fn gathers_and_broadcasts_in_rank_order() {
        let group = ThreadComm::group(3);
        std::thread::scope(|s| {
            for comm in group {
                s.spawn(move || {
                    let r = comm.rank() as u32;
                    let local: Vec<u32> = (0..r + 1).map(|i| 10 * r + i).collect();
                    for _ in 0..50 {
                        let all = all_gather(&comm, &local).unwrap();
                        assert_eq!(all, vec![0, 10, 11, 20, 21, 22]);
                        let mut v = if r == 2 { vec![7u64, 8] } else { vec![] };
                        broadcast(&comm, 2, &mut v).unwrap();
                        assert_eq!(v, vec![7, 8]);
                        comm.barrier().unwrap();
                    }
                });
            }
        });
    }

    #[test]
    fn a_departed_rank_breaks_the_group_instead_of_hanging() {
        let mut group = ThreadComm::group(2);
        let second = group.pop().unwrap();
        let first = group.pop().unwrap();
        drop(second);
        let err = first.barrier().unwrap_err().to_string();
        assert!(err.contains("rank 1 left the group"), "{err}");
    }
}
