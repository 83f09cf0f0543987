//! CPU kernels against the reference backend on synthetic data, layout
//! consistency of contact maps, and thread-count independence.

mod common;

use common::{chain_frames, Rng};
use steermd::analysis::{contact_maps, rmsd, ContactMapOptions, ContactMaps};
use steermd::{Device, Error, Frames};

fn both(frames: &Frames, sel: &[usize], opts: &ContactMapOptions) -> (ContactMaps, ContactMaps) {
    let cpu = contact_maps(&Device::Cpu, frames, sel, opts).unwrap();
    let reference = contact_maps(&Device::Reference, frames, sel, opts).unwrap();
    (cpu, reference)
}

#[test]
fn contacts_cpu_equals_reference_on_chains() {
    let mut rng = Rng::new(1);
    for &n in &[1usize, 2, 28, 35, 63, 64, 65, 214] {
        let frames = Frames::new(n, chain_frames(&mut rng, 7, n, 0.38), None).unwrap();
        let sel: Vec<usize> = (0..n).collect();
        for &cutoff in &[0.8f32, 0.38, 1.5] {
            let opts = ContactMapOptions {
                cutoff,
                periodic: false,
            };
            let (cpu, reference) = both(&frames, &sel, &opts);
            assert_eq!(cpu, reference, "n={n} cutoff={cutoff}");
            assert_eq!(cpu.n_frames(), 7);
            assert_eq!(cpu.n(), n);
        }
    }
}

#[test]
fn contacts_on_a_subset_selection_equal_contacts_of_the_gathered_atoms() {
    let mut rng = Rng::new(2);
    let frames = Frames::new(50, chain_frames(&mut rng, 3, 50, 0.38), None).unwrap();
    let sel = [3usize, 7, 7, 49, 0, 20];
    let gathered = Frames::new(sel.len(), frames.gather(&sel).unwrap(), None).unwrap();
    let all: Vec<usize> = (0..sel.len()).collect();
    let o = ContactMapOptions::default();
    let a = contact_maps(&Device::Cpu, &frames, &sel, &o).unwrap();
    let b = contact_maps(&Device::Reference, &gathered, &all, &o).unwrap();
    assert_eq!(a, b);
    // The duplicated atom 7 is in contact with itself off the diagonal too.
    assert_eq!(a.frame(0)[sel.len() + 2], 1);
}

/// Points in per-frame boxes, about a third moved out by 1-2 box lengths
/// along some axes, plus exact periodic copies and half-box separations.
fn periodic_frames(rng: &mut Rng, n_frames: usize, n: usize) -> Frames {
    let mut xyz = Vec::new();
    let mut boxes = Vec::new();
    for f in 0..n_frames {
        let b = [2.0f32 + 0.1 * f as f32, 2.4, 1.7 + 0.05 * f as f32];
        for i in 0..n {
            let mut p = [0.0f32; 3];
            for k in 0..3 {
                let mut v = rng.uniform() as f32 * b[k];
                if rng.below(3) == 0 {
                    v += (rng.below(5) as f32 - 2.0) * b[k];
                }
                p[k] = v;
            }
            match i % 10 {
                // exact image of the previous atom, one box along x and -2 along z
                3 => {
                    let q = &xyz[xyz.len() - 3..];
                    p = [q[0] + b[0], q[1], q[2] - 2.0 * b[2]];
                }
                // exactly half a box from the previous atom along y
                7 => {
                    let q = &xyz[xyz.len() - 3..];
                    p = [q[0], q[1] + 0.5 * b[1], q[2]];
                }
                _ => {}
            }
            xyz.extend_from_slice(&p);
        }
        boxes.push(b);
    }
    Frames::new(n, xyz, Some(boxes)).unwrap()
}

#[test]
fn periodic_contacts_cpu_equals_reference() {
    let mut rng = Rng::new(3);
    for &n in &[2usize, 35, 100] {
        let frames = periodic_frames(&mut rng, 5, n);
        let sel: Vec<usize> = (0..n).collect();
        for &cutoff in &[0.8f32, 1.2] {
            let opts = ContactMapOptions {
                cutoff,
                periodic: true,
            };
            let (cpu, reference) = both(&frames, &sel, &opts);
            assert_eq!(cpu, reference, "n={n} cutoff={cutoff}");
        }
        // Half-box pairs (|d| = 1.2 nm along y) are contacts iff cutoff > 1.2.
        let big = ContactMapOptions {
            cutoff: 1.3,
            periodic: true,
        };
        let m = contact_maps(&Device::Cpu, &frames, &sel, &big).unwrap();
        if n > 7 {
            assert_eq!(m.frame(0)[6 * n + 7], 1);
        }
    }
}

#[test]
fn periodic_contacts_match_brute_force_minimum_image() {
    let mut rng = Rng::new(4);
    let n = 80;
    let frames = periodic_frames(&mut rng, 4, n);
    let cutoff = 0.8f64;
    let opts = ContactMapOptions {
        cutoff: 0.8,
        periodic: true,
    };
    let m = contact_maps(&Device::Cpu, &frames, &(0..n).collect::<Vec<_>>(), &opts).unwrap();
    let boxes = frames.boxes.as_ref().unwrap();
    let mut checked = 0;
    for (f, b) in boxes.iter().enumerate() {
        let x = frames.frame(f);
        let b = b.map(f64::from);
        for i in 0..n {
            for j in 0..n {
                // Orthorhombic: the shortest image distance is the sum over
                // axes of the shortest squared component (images -10..=10).
                let best: f64 = (0..3)
                    .map(|k| {
                        let d = x[3 * i + k] as f64 - x[3 * j + k] as f64;
                        (-10..=10)
                            .map(|s| (d + s as f64 * b[k]).powi(2))
                            .fold(f64::INFINITY, f64::min)
                    })
                    .sum::<f64>()
                    .sqrt();
                if i != j && (best - cutoff).abs() > 1e-6 {
                    checked += 1;
                    assert_eq!(
                        m.frame(f)[i * n + j],
                        u8::from(best < cutoff),
                        "frame {f} pair ({i},{j}) d={best}"
                    );
                }
            }
        }
    }
    assert!(checked > 20_000);
}

#[test]
fn wrapped_copies_are_in_contact() {
    // Atom 1 is atom 0 shifted by whole boxes: distance 0 under the minimum image.
    let b = [3.0f32, 3.0, 3.0];
    let xyz = vec![
        0.25,
        0.5,
        2.75,
        0.25 + 3.0,
        0.5 - 6.0,
        2.75 + 3.0,
        1.5,
        1.5,
        1.5,
    ];
    let frames = Frames::new(3, xyz, Some(vec![b])).unwrap();
    for dev in [Device::Cpu, Device::Reference] {
        let pbc = ContactMapOptions {
            cutoff: 0.1,
            periodic: true,
        };
        let m = contact_maps(&dev, &frames, &[0, 1, 2], &pbc).unwrap();
        assert_eq!(m.dense_u8(), &[1, 1, 0, 1, 1, 0, 0, 0, 1]);
        let flat = ContactMapOptions {
            cutoff: 0.1,
            periodic: false,
        };
        let m = contact_maps(&dev, &frames, &[0, 1, 2], &flat).unwrap();
        assert_eq!(m.dense_u8(), &[1, 0, 0, 0, 1, 0, 0, 0, 1]);
    }
}

#[test]
fn bitpacked_and_coo_agree_with_dense() {
    let mut rng = Rng::new(5);
    for &n in &[1usize, 63, 64, 65, 130] {
        let frames = Frames::new(n, chain_frames(&mut rng, 4, n, 0.38), None).unwrap();
        let m = contact_maps(
            &Device::Cpu,
            &frames,
            &(0..n).collect::<Vec<_>>(),
            &Default::default(),
        )
        .unwrap();
        let w = m.words_per_row();
        assert_eq!(w, n.div_ceil(64));
        let bits = m.bitpacked();
        assert_eq!(bits.len(), 4 * n * w);
        let (data, offsets) = m.coo_all().unwrap();
        assert_eq!(offsets.len(), 5);
        assert_eq!(offsets[0], 0);
        assert_eq!(*offsets.last().unwrap() as usize, data.len());
        for f in 0..4 {
            let dense = m.frame(f);
            let seg = &data[offsets[f] as usize..offsets[f + 1] as usize];
            assert_eq!(seg, m.frame_coo(f).unwrap().as_slice());
            let nnz = dense.iter().filter(|&&v| v == 1).count();
            assert_eq!(seg.len(), 2 * nnz);
            let (rows, cols) = seg.split_at(nnz);
            let mut expect = Vec::new();
            for i in 0..n {
                for j in 0..n {
                    let bit = (bits[(f * n + i) * w + j / 64] >> (j % 64)) & 1;
                    assert_eq!(bit as u8, dense[i * n + j]);
                    if dense[i * n + j] == 1 {
                        expect.push((i as i16, j as i16));
                    }
                }
                // padding bits are zero
                if n % 64 != 0 {
                    assert_eq!(bits[(f * n + i) * w + w - 1] >> (n % 64), 0);
                }
            }
            let got: Vec<(i16, i16)> = rows.iter().copied().zip(cols.iter().copied()).collect();
            assert_eq!(got, expect, "row-major order");
        }
        assert_eq!(ContactMaps::from_coo(n, &data, &offsets).unwrap(), m);
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let mut rng = Rng::new(6);
    let n = 97;
    let frames = Frames::new(n, chain_frames(&mut rng, 40, n, 0.38), None).unwrap();
    let pframes = periodic_frames(&mut rng, 40, n);
    let sel: Vec<usize> = (0..n).collect();
    let reference: Vec<f32> = frames.gather(&sel).unwrap()[..3 * n].to_vec();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let c = contact_maps(&Device::Cpu, &frames, &sel, &Default::default()).unwrap();
            let pbc = ContactMapOptions {
                periodic: true,
                ..Default::default()
            };
            let p = contact_maps(&Device::Cpu, &pframes, &sel, &pbc).unwrap();
            let r = rmsd(&Device::Cpu, &reference, &frames, &sel).unwrap();
            let coo = c.coo_all().unwrap();
            (c, p, coo, r.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        })
    };
    assert_eq!(run(1), run(3));
}

/// Rotation matrix from a (not necessarily unit) quaternion.
fn rotation(q: [f64; 4]) -> [[f64; 3]; 3] {
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

#[test]
fn rmsd_cpu_equals_reference_and_ignores_rigid_motion() {
    let mut rng = Rng::new(7);
    for &n in &[3usize, 10, 35, 200] {
        let reference = chain_frames(&mut rng, 1, n, 0.38);
        // Frames: rotated + translated copies of the reference plus noise of
        // growing size; frame 0 is noise-free.
        let mut xyz = Vec::new();
        let mut noise_rms = Vec::new();
        for f in 0..6 {
            let r = rotation([rng.normal(), rng.normal(), rng.normal(), rng.normal()]);
            let t = [rng.normal() * 3.0, rng.normal() * 3.0, rng.normal() * 3.0];
            let sigma = 0.05 * f as f64;
            let mut ss = 0.0;
            for p in reference.chunks(3) {
                let e = [
                    rng.normal() * sigma,
                    rng.normal() * sigma,
                    rng.normal() * sigma,
                ];
                ss += e.iter().map(|v| v * v).sum::<f64>();
                for row in r.iter().zip(t) {
                    let (row, t) = row;
                    let v: f64 = (0..3).map(|k| row[k] * (p[k] as f64 + e[k])).sum::<f64>() + t;
                    xyz.push(v as f32);
                }
            }
            noise_rms.push((ss / n as f64).sqrt());
        }
        let frames = Frames::new(n, xyz, None).unwrap();
        let sel: Vec<usize> = (0..n).collect();
        let cpu = rmsd(&Device::Cpu, &reference, &frames, &sel).unwrap();
        let refb = rmsd(&Device::Reference, &reference, &frames, &sel).unwrap();
        for f in 0..6 {
            assert!(
                (cpu[f] - refb[f]).abs() < 1e-6,
                "n={n} frame {f}: {} vs {}",
                cpu[f],
                refb[f]
            );
            // Superposition never does worse than undoing the known motion.
            assert!(cpu[f] as f64 <= noise_rms[f] + 1e-5, "n={n} frame {f}");
        }
        assert!(cpu[0] < 1e-5, "rigid copy: {}", cpu[0]);
    }
}

#[test]
fn rmsd_degenerate_geometries() {
    // One atom, two atoms, collinear and planar sets: CPU (QCP) and reference
    // (Jacobi) agree and stay finite.
    let cases: Vec<(Vec<f32>, Vec<f32>)> = vec![
        (vec![1.0, 2.0, 3.0], vec![-4.0, 0.5, 9.0]),
        (
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            vec![5.0, 5.0, 5.0, 5.0, 6.5, 5.0],
        ),
        (
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0],
        ),
        (
            vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 1.0, 1.0, 0.0, 2.0],
        ),
    ];
    let expected_two_atoms = 0.25f32; // |1.5 - 1.0| / 2
    for (k, (a, b)) in cases.iter().enumerate() {
        let n = a.len() / 3;
        let frames = Frames::new(n, b.clone(), None).unwrap();
        let sel: Vec<usize> = (0..n).collect();
        let c = rmsd(&Device::Cpu, a, &frames, &sel).unwrap()[0];
        let r = rmsd(&Device::Reference, a, &frames, &sel).unwrap()[0];
        assert!(
            c.is_finite() && (c - r).abs() < 1e-6,
            "case {k}: {c} vs {r}"
        );
        match k {
            0 | 2 | 3 => assert!(c < 1e-6, "case {k}: {c}"),
            1 => assert!((c - expected_two_atoms).abs() < 1e-6, "{c}"),
            _ => {}
        }
    }
}

#[test]
fn rmsd_validates_input() {
    let frames = Frames::new(3, vec![0.0; 18], None).unwrap();
    let good = vec![0.0f32; 6]; // two selected atoms
    let err = |r: &[f32], f: &Frames, s: &[usize]| rmsd(&Device::Cpu, r, f, s).unwrap_err();
    assert!(matches!(err(&good[..3], &frames, &[0, 1]), Error::Shape(_)));
    assert!(matches!(err(&good, &frames, &[0, 1, 2]), Error::Shape(_)));
    assert!(err(&good, &frames, &[]).to_string().contains("empty"));
    assert!(err(&good, &frames, &[0, 3])
        .to_string()
        .contains("atom index 3"));
    let mut bad = frames.clone();
    bad.xyz[3 * 3 + 2 * 3 + 1] = f32::INFINITY; // frame 1, atom 2, y
    let e = err(&good, &bad, &[0, 2]).to_string();
    assert!(
        e.contains("frame 1, atom 2") && e.contains("component y"),
        "{e}"
    );
    let mut bad_ref = good.clone();
    bad_ref[4] = f32::NAN; // second selected atom (atom 2), y
    let e = err(&bad_ref, &frames, &[0, 2]).to_string();
    assert!(e.contains("reference") && e.contains("atom 2"), "{e}");
    // Non-finite values outside the selection are fine.
    assert!(rmsd(&Device::Cpu, &good, &bad, &[0, 1]).is_ok());
}

#[test]
fn periodic_validation() {
    let frames = Frames::new(2, vec![0.0; 6], Some(vec![[1.0, 0.0, 1.0]])).unwrap();
    let o = ContactMapOptions {
        periodic: true,
        ..Default::default()
    };
    let e = contact_maps(&Device::Cpu, &frames, &[0, 1], &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("frame 0") && e.contains("box"), "{e}");
    let nan = ContactMapOptions {
        cutoff: f32::NAN,
        periodic: false,
    };
    assert!(contact_maps(&Device::Cpu, &frames, &[0, 1], &nan).is_err());
    let e = contact_maps(&Device::Cuda(0), &frames, &[0, 1], &Default::default()).unwrap_err();
    assert!(matches!(e, Error::BackendUnavailable { .. }));
}
