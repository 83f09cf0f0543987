//! Exercises [`steermd::drive::comm::mpi::MpiComm`] under `mpirun`; run by
//! tests/drive_mpi.rs (feature `mpi`).
//!
//! ```text
//! mpirun -n 3 mpi_comm_check          # collectives; prints "ok rank R of S" per rank
//! mpirun -n 2 mpi_comm_check abort    # rank 1 aborts while the others wait in a barrier
//! mpirun -n 2 mpi_comm_check panic    # rank 1 panics while the others wait in a barrier
//! ```

use steermd::drive::comm::mpi::MpiComm;
use steermd::drive::comm::{all_gather, broadcast, Communicator};

/// Rank `r`'s all-gather contribution: `r + 1` bytes of value `r`, except
/// rank 1, which contributes nothing.
fn contribution(r: usize) -> Vec<u8> {
    if r == 1 {
        Vec::new()
    } else {
        vec![r as u8; r + 1]
    }
}

fn check(comm: &MpiComm) {
    let (r, s) = (comm.rank(), comm.size());
    assert!(r < s);

    // Only one MPI environment per process.
    let again = MpiComm::init().err().expect("a second MpiComm::init fails");
    assert!(again.to_string().contains("already initialised"), "{again}");

    let parts = comm.all_gather_bytes(&contribution(r)).unwrap();
    assert_eq!(parts.len(), s);
    for (q, part) in parts.iter().enumerate() {
        assert_eq!(part, &contribution(q), "rank {r}: part of rank {q}");
    }
    // Large (rendezvous-protocol) contributions, several MiB in all.
    let big = |q: usize| -> Vec<u8> { (0..(3 << 20) + q).map(|i| (i * 7 + q) as u8).collect() };
    let parts = comm.all_gather_bytes(&big(r)).unwrap();
    for (q, part) in parts.iter().enumerate() {
        assert!(part == &big(q), "rank {r}: large part of rank {q} differs");
    }
    let mut data = if r == 0 { big(99) } else { Vec::new() };
    comm.broadcast_bytes(0, &mut data).unwrap();
    assert!(data == big(99), "rank {r}: large broadcast differs");

    // Everybody empty.
    let parts = comm.all_gather_bytes(&[]).unwrap();
    assert_eq!(parts, vec![Vec::<u8>::new(); s]);

    // Typed all-gather: rank r contributes r values r + 0.5.
    let values = all_gather(comm, &vec![r as f64 + 0.5; r]).unwrap();
    let expected: Vec<f64> = (0..s).flat_map(|q| vec![q as f64 + 0.5; q]).collect();
    assert_eq!(values, expected);

    // Broadcast from the last rank; the others start longer or shorter.
    let root = s - 1;
    let message = format!("from rank {root} of {s}").into_bytes();
    let mut data = if r == root {
        message.clone()
    } else {
        vec![0xAB; 3 + 40 * (r % 2)]
    };
    comm.broadcast_bytes(root, &mut data).unwrap();
    assert_eq!(data, message);

    // Empty broadcast from rank 0 empties the others' buffers.
    let mut data = if r == 0 { Vec::new() } else { vec![7u8; r] };
    comm.broadcast_bytes(0, &mut data).unwrap();
    assert!(data.is_empty());

    // Typed broadcast and a bad root (refused on every rank alike).
    let mut words: Vec<u32> = if r == root { vec![1, 2, 3] } else { vec![] };
    broadcast(comm, root, &mut words).unwrap();
    assert_eq!(words, [1, 2, 3]);
    let bad = comm.broadcast_bytes(s, &mut data).unwrap_err();
    assert!(bad.to_string().contains("not a rank"), "{bad}");

    comm.barrier().unwrap();
    println!("ok rank {r} of {s}");
}

fn main() {
    let comm = MpiComm::init().expect("MPI initialises");
    comm.install_abort_on_panic();
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "" => check(&comm),
        "abort" | "panic" => {
            assert!(comm.size() >= 2, "{mode} needs at least 2 ranks");
            if comm.rank() == 1 {
                if mode == "abort" {
                    comm.abort("rank 1: deliberate failure");
                }
                panic!("deliberate panic");
            }
            // Without the abort the other ranks would wait here forever.
            comm.barrier().unwrap();
            unreachable!("rank {} passed the barrier without rank 1", comm.rank());
        }
        other => {
            eprintln!("usage: mpi_comm_check [abort|panic] (got {other:?})");
            std::process::exit(2);
        }
    }
}
