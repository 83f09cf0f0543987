//! PDB and DCD round trips and error reporting on malformed, truncated and
//! missing files.

mod common;

use std::fs;
use std::path::Path;

use common::{chain_frames, Rng};
use steermd::io::{
    read_dcd, read_dcd_for, read_dcd_header, read_dcd_with, read_pdb, write_dcd, write_pdb, Atom,
    DcdReadOptions, DcdWriteOptions, DcdWriter, Topology,
};
use steermd::{Error, Frames};

fn topology(n: usize) -> Topology {
    let names = ["N", "CA", "C", "O", "HB2"];
    Topology {
        atoms: (0..n)
            .map(|i| Atom {
                name: names[i % 5].to_string(),
                res_name: "ALA".into(),
                res_seq: (i / 5) as i32 + 1,
                chain: 'A',
                insertion_code: ' ',
                element: names[i % 5][..1].to_string(),
            })
            .collect(),
    }
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

#[test]
fn pdb_round_trip_with_box_and_selection() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.pdb");
    let mut rng = Rng::new(10);
    let top = topology(23);
    let xyz = chain_frames(&mut rng, 1, 23, 0.38);
    let frames = Frames::new(23, xyz.clone(), Some(vec![[4.5, 5.25, 6.0]])).unwrap();
    write_pdb(&p, &top, &frames, 0).unwrap();
    let (t, f) = read_pdb(&p).unwrap();
    assert_eq!(t, top);
    assert_close(&f.xyz, &xyz, 5.1e-5); // %8.3f Å
    assert_eq!(f.boxes, Some(vec![[4.5, 5.25, 6.0]]));
    assert_eq!(t.select_names(&["CA"]).unwrap(), vec![1, 6, 11, 16, 21]);
    assert_eq!(
        t.select_names(&["N", "CA"]).unwrap(),
        vec![0, 1, 5, 6, 10, 11, 15, 16, 20, 21]
    );
    assert_eq!(t.heavy_atoms().len(), 23 - 4);
    let e = t.select_names(&["CA", "CB"]).unwrap_err().to_string();
    assert!(e.contains("'CB'") && e.contains("23 atoms"), "{e}");
}

const PDB: &str = "\
REMARK test
CRYST1    1.000    1.000    1.000  90.00  90.00  90.00 P 1           1
MODEL        1
ATOM      1  N   LEU A   1      25.160  14.160  19.440  1.00  0.00           N
ATOM      2  CA  LEU A   1      24.000  13.000  18.000  1.00  0.00
HETATM    3  O   HOH BA000      -1.000   2.500   0.125  1.00  0.00           O
ENDMDL
MODEL        2
ATOM      1  N   LEU A   1      99.000  99.000  99.000  1.00  0.00           N
ATOM      2  CA  LEU A   1      99.000  99.000  99.000  1.00  0.00           C
HETATM    3  O   HOH BA000      99.000  99.000  99.000  1.00  0.00           O
ENDMDL
END
";

#[test]
fn pdb_reads_first_model_only_and_ignores_placeholder_cell() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.pdb");
    fs::write(&p, PDB).unwrap();
    let (t, f) = read_pdb(&p).unwrap();
    assert_eq!(t.n_atoms(), 3);
    assert_eq!(f.n_frames(), 1);
    assert_eq!(f.boxes, None);
    assert_eq!(&f.xyz[..3], &[2.516f32, 1.416, 1.944]);
    assert_eq!(&f.xyz[6..], &[-0.1f32, 0.25, 0.0125]);
    assert_eq!(t.atoms[1].element, "C"); // guessed from the name
    assert_eq!(t.atoms[2].res_seq, 10_000); // hybrid-36
    assert_eq!(
        (t.atoms[2].chain, t.atoms[2].res_name.as_str()),
        ('B', "HOH")
    );
}

fn pdb_error(dir: &Path, text: &str) -> Error {
    let p = dir.join("bad.pdb");
    fs::write(&p, text).unwrap();
    read_pdb(&p).unwrap_err()
}

#[test]
fn pdb_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad_y = PDB.replace("13.000", "13.0x0");
    match pdb_error(dir.path(), &bad_y) {
        Error::Parse {
            path,
            line,
            message,
        } => {
            assert!(path.ends_with("bad.pdb"));
            assert_eq!(line, 5);
            assert!(
                message.contains("y coordinate") && message.contains("13.0x0"),
                "{message}"
            );
        }
        e => panic!("unexpected {e}"),
    }
    let e = pdb_error(
        dir.path(),
        &PDB.replace("  90.00  90.00  90.00", "  90.00  90.00 120.00"),
    );
    assert!(
        matches!(e, Error::Parse { line: 2, .. }) && e.to_string().contains("triclinic"),
        "{e}"
    );
    let e = pdb_error(dir.path(), "REMARK nothing\nEND\n");
    assert!(e.to_string().contains("no ATOM"), "{e}");
    let e = pdb_error(
        dir.path(),
        &PDB.replace(
            "ATOM      2  CA  LEU A   1      24.000",
            "ATOM      2  CA  LEU A   1      24.000\n",
        ),
    );
    assert!(matches!(e, Error::Parse { line: 5, .. }), "{e}");
    let e = read_pdb(dir.path().join("missing.pdb")).unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("missing.pdb"),
        "{e}"
    );
}

fn sample(n_frames: usize, n: usize, with_box: bool) -> Frames {
    let mut rng = Rng::new(11);
    let xyz = chain_frames(&mut rng, n_frames, n, 0.38);
    let boxes = with_box.then(|| {
        (0..n_frames)
            .map(|f| [3.0 + f as f32 * 0.01, 4.0, 5.5])
            .collect()
    });
    Frames::new(n, xyz, boxes).unwrap()
}

/// Ångström f32 in the file: one rounding each way, within 1e-6 nm for |x| < 10 nm.
fn assert_frames_close(a: &Frames, b: &Frames) {
    assert_eq!(a.n_atoms, b.n_atoms);
    assert_close(&a.xyz, &b.xyz, 1e-6);
    assert_eq!(a.boxes, b.boxes);
}

#[test]
fn dcd_round_trip_with_and_without_cell() {
    let dir = tempfile::tempdir().unwrap();
    for with_box in [false, true] {
        let p = dir.path().join(format!("t{with_box}.dcd"));
        let frames = sample(5, 17, with_box);
        let opts = DcdWriteOptions {
            first_step: 500,
            interval: 250,
            timestep_ps: 0.004,
        };
        write_dcd(&p, &frames, &opts).unwrap();
        assert_frames_close(&read_dcd(&p).unwrap(), &frames);
        let h = read_dcd_header(&p).unwrap();
        assert_eq!(
            (h.n_atoms, h.n_frames, h.first_step, h.interval),
            (17, 5, 500, 250)
        );
        assert!((h.timestep_ps - 0.004).abs() < 1e-8);
        assert_eq!(h.has_unit_cell, with_box);
        assert!(!h.big_endian);
        assert_frames_close(&read_dcd_for(&p, 17).unwrap(), &frames);
        let e = read_dcd_for(&p, 18).unwrap_err().to_string();
        assert!(e.contains("DCD has 17 atoms but topology has 18"), "{e}");
    }
}

#[test]
fn dcd_writer_keeps_header_current() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.dcd");
    let frames = sample(3, 9, true);
    let mut w = DcdWriter::create(&p, 9, true, DcdWriteOptions::default()).unwrap();
    assert_eq!(read_dcd(&p).unwrap().n_frames(), 0);
    for f in 0..3 {
        w.write_frame(frames.frame(f), Some(frames.boxes.as_ref().unwrap()[f]))
            .unwrap();
        assert_eq!(read_dcd_header(&p).unwrap().n_frames, f + 1);
    }
    assert!(w.write_frame(frames.frame(0), None).is_err());
    assert!(w.write_frame(&[0.0; 3], Some([1.0; 3])).is_err());
    assert_eq!(w.n_frames(), 3);
    w.finish().unwrap();
    assert_frames_close(&read_dcd(&p).unwrap(), &frames);
}

/// Rewrite a little-endian DCD from [`write_dcd`] as big-endian, walking
/// its records.
fn to_big_endian(le: &[u8], has_cell: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(le.len());
    let mut pos = 0;
    let mut k = 0;
    while pos < le.len() {
        let len = i32::from_le_bytes(le[pos..pos + 4].try_into().unwrap()) as usize;
        let payload = &le[pos + 4..pos + 4 + len];
        out.extend_from_slice(&(len as i32).to_be_bytes());
        let swap = |out: &mut Vec<u8>, bytes: &[u8], w: usize| {
            for c in bytes.chunks(w) {
                out.extend(c.iter().rev());
            }
        };
        match k {
            0 => {
                out.extend_from_slice(&payload[..4]);
                swap(&mut out, &payload[4..], 4);
            }
            1 => {
                swap(&mut out, &payload[..4], 4);
                out.extend_from_slice(&payload[4..]);
            }
            _ if has_cell && len == 48 => swap(&mut out, payload, 8),
            _ => swap(&mut out, payload, 4),
        }
        out.extend_from_slice(&(len as i32).to_be_bytes());
        pos += len + 8;
        k += 1;
    }
    out
}

#[test]
fn dcd_reads_big_endian() {
    let dir = tempfile::tempdir().unwrap();
    let frames = sample(4, 13, true); // 13 atoms: no 48-byte coordinate records
    let le = dir.path().join("le.dcd");
    write_dcd(&le, &frames, &DcdWriteOptions::default()).unwrap();
    let be = dir.path().join("be.dcd");
    fs::write(&be, to_big_endian(&fs::read(&le).unwrap(), true)).unwrap();
    assert!(read_dcd_header(&be).unwrap().big_endian);
    assert_eq!(read_dcd(&be).unwrap(), read_dcd(&le).unwrap());
}

/// Byte offset of frame `f`'s unit-cell record in a file from [`write_dcd`].
fn cell_offset(n: usize, f: usize) -> usize {
    let header = 92 + (12 + 160) + 12;
    header + f * (56 + 3 * (8 + 4 * n))
}

#[test]
fn dcd_unit_cell_angles() {
    let dir = tempfile::tempdir().unwrap();
    let n = 5;
    let frames = sample(2, n, true);
    let p = dir.path().join("c.dcd");
    write_dcd(&p, &frames, &DcdWriteOptions::default()).unwrap();
    let clean = fs::read(&p).unwrap();
    let set = |bytes: &mut Vec<u8>, f: usize, slot: usize, v: f64| {
        let at = cell_offset(n, f) + 4 + 8 * slot;
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
    };
    // Angles in degrees (older NAMD): 90 is orthorhombic.
    let mut deg = clean.clone();
    for f in 0..2 {
        for slot in [1, 3, 4] {
            set(&mut deg, f, slot, 90.0);
        }
    }
    fs::write(&p, &deg).unwrap();
    assert_eq!(read_dcd(&p).unwrap().boxes, frames.boxes);
    // A triclinic cell (cos γ = 0.5) in frame 1 is a clear error.
    let mut tri = clean.clone();
    set(&mut tri, 1, 1, 0.5);
    fs::write(&p, &tri).unwrap();
    let e = read_dcd(&p).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("frame 1") && e.contains("triclinic") && e.contains("60.0000"),
        "{e}"
    );
    // All-zero cells mean no box.
    let mut zero = clean.clone();
    for f in 0..2 {
        for slot in [0, 2, 5] {
            set(&mut zero, f, slot, 0.0);
        }
    }
    fs::write(&p, &zero).unwrap();
    assert_eq!(read_dcd(&p).unwrap().boxes, None);
}

#[test]
fn dcd_truncated_corrupt_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let frames = sample(4, n, true);
    let p = dir.path().join("x.dcd");
    write_dcd(&p, &frames, &DcdWriteOptions::default()).unwrap();
    let clean = fs::read(&p).unwrap();
    let whole = read_dcd(&p).unwrap().xyz;
    let err_of = |bytes: &[u8]| {
        fs::write(&p, bytes).unwrap();
        let e = read_dcd(&p).unwrap_err();
        assert!(matches!(e, Error::Format { .. }), "{e}");
        e.to_string()
    };
    // Cut inside frame 2's Y record.
    let y2 = cell_offset(n, 2) + 56 + (8 + 4 * n) + 10;
    let e = err_of(&clean[..y2]);
    assert!(
        e.contains("frame 2 truncated")
            && e.contains(&format!("byte offset {}", cell_offset(n, 2))),
        "{e}"
    );
    // ... and read, with a warning, when a partial last frame may be dropped.
    steermd::warnings::clear_warnings();
    let drop = DcdReadOptions {
        drop_partial_frame: true,
    };
    let read = read_dcd_with(&p, Some(n), &drop).unwrap();
    assert_eq!(read.xyz, whole[..2 * n * 3]);
    let w = steermd::warnings::take_warnings();
    assert!(
        w.iter()
            .any(|m| m.contains("frame 2 truncated") && m.contains("dropped")),
        "{w:?}"
    );
    // Cut exactly after frame 2: the header still declares 4 frames; the
    // three whole frames are read (as MDAnalysis and MDTraj do) with a warning.
    fs::write(&p, &clean[..cell_offset(n, 3)]).unwrap();
    let read = read_dcd(&p).unwrap();
    assert_eq!(read.xyz, whole[..3 * n * 3]);
    let w = steermd::warnings::take_warnings();
    assert!(
        w.iter()
            .any(|m| m.contains("declares 4 frames") && m.contains("holds 3 whole frames")),
        "{w:?}"
    );
    // Corrupt the opening marker of frame 1's X record.
    let mut bad = clean.clone();
    let x1 = cell_offset(n, 1) + 56;
    bad[x1] ^= 0x40;
    let e = err_of(&bad);
    assert!(
        e.contains("frame 1 X record") && e.contains(&format!("byte offset {x1}")),
        "{e}"
    );
    // Header damage.
    let e = err_of(&clean[..50]);
    assert!(e.contains("header record"), "{e}");
    let e = err_of(b"definitely not a trajectory");
    assert!(e.contains("not a DCD"), "{e}");
    let mut cord = clean.clone();
    cord[4] = b'X';
    assert!(err_of(&cord).contains("CORD"));
    // CHARMM fixed atoms (NAMNF, ICNTRL[8]; the header record's words start
    // at byte 8): frames after the first hold only the free atoms, which
    // steermd does not model, so the file is refused, naming the count.
    let mut fixed = clean.clone();
    fixed[8 + 4 * 8..8 + 4 * 9].copy_from_slice(&2i32.to_le_bytes());
    let e = err_of(&fixed);
    assert!(e.contains("2 fixed atoms is not supported"), "{e}");
    let e = read_dcd(dir.path().join("missing.dcd")).unwrap_err();
    assert!(
        matches!(e, Error::Io { .. }) && e.to_string().contains("missing.dcd"),
        "{e}"
    );
}

#[test]
fn dcd_written_by_peer_tools() {
    // tests/data/dcd_interop: the same frames and boxes written by
    // MDAnalysis, mdtraj and OpenMM (tools/make_dcd_interop.py).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dcd_interop");
    let (shape, x) = steermd::io::read_npy::<f32>(dir.join("x_nm.npy")).unwrap();
    let (_, b) = steermd::io::read_npy::<f32>(dir.join("boxes_nm.npy")).unwrap();
    let boxes: Vec<[f32; 3]> = b.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    for name in ["mdanalysis.dcd", "mdtraj.dcd", "openmm.dcd"] {
        let f = read_dcd_for(dir.join(name), shape[1]).unwrap();
        assert_eq!(f.n_frames(), shape[0], "{name}");
        // One rounding to Å f32 in the writer and one back to nm: within 1 ulp at 3 nm.
        assert_close(&f.xyz, &x, 2.4e-7);
        assert_eq!(f.boxes.as_ref(), Some(&boxes), "{name}");
    }
    // Header counts altered both ways and files cut inside the last frame
    // (tools/make_dcd_interop.py): the frames MDAnalysis reads from each.
    for tool in ["mdanalysis", "openmm"] {
        for stem in [
            format!("{tool}_nset9"),
            format!("{tool}_nset2"),
            format!("{tool}_cut"),
        ] {
            let (mda_shape, mda) =
                steermd::io::read_npy::<f32>(dir.join(format!("{stem}.mda_nm.npy"))).unwrap();
            let path = dir.join(format!("{stem}.dcd"));
            let cut = stem.ends_with("_cut");
            if cut {
                let e = read_dcd_for(&path, shape[1]).unwrap_err().to_string();
                assert!(
                    e.contains("truncated") && e.contains("dropped on request"),
                    "{e}"
                );
            }
            steermd::warnings::clear_warnings();
            let opts = DcdReadOptions {
                drop_partial_frame: cut,
            };
            let f = read_dcd_with(&path, Some(shape[1]), &opts).unwrap();
            assert_eq!(f.n_frames(), mda_shape[0], "{stem}");
            assert_close(&f.xyz, &mda, 2.4e-7);
            let w = steermd::warnings::take_warnings();
            assert!(
                !w.is_empty() && w.iter().all(|m| m.contains(&*stem)),
                "{stem}: {w:?}"
            );
        }
    }
    let h = read_dcd_header(dir.join("openmm.dcd")).unwrap();
    assert_eq!((h.first_step, h.interval), (100, 10));
    assert!((h.timestep_ps - 0.002).abs() < 1e-9);
}
