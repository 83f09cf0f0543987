//! The cpu backend's nn kernels against the reference backend, on random
//! shapes, and their independence from the number of threads.
//!
//! Relative error of an output array: max|cpu − reference| / max|reference|.

use steermd::nn::kernels::{Activation, Conv1dShape, Conv2dShape, Layout, LinearShape};
use steermd::{Backend, Device};

const TOL: f64 = 1e-5;

/// Uniform values in [-1, 1) from a fixed-seed generator (splitmix64).
fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn rel_err(ours: &[f32], reference: &[f32]) -> f64 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let diff = ours
        .iter()
        .zip(reference)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    assert!(scale > 0.0, "degenerate reference output");
    diff / scale
}

fn cpu() -> std::sync::Arc<dyn Backend> {
    Device::Cpu.backend().unwrap()
}

fn reference() -> std::sync::Arc<dyn Backend> {
    Device::Reference.backend().unwrap()
}

/// (batch, cin, h, w, cout, k, stride, pad)
type ConvCase = (usize, usize, usize, usize, usize, usize, usize, usize);

const CONV2D_CASES: &[ConvCase] = &[
    (1, 1, 35, 35, 64, 3, 1, 1),
    (7, 3, 17, 13, 5, 3, 2, 0),
    (7, 4, 11, 11, 6, 5, 2, 2),
    (1, 2, 9, 15, 3, 5, 1, 2),
    (7, 8, 7, 7, 9, 1, 1, 0),
    (1, 5, 23, 19, 7, 3, 2, 1),
    (7, 16, 28, 28, 16, 3, 2, 1),
    (1, 3, 6, 5, 4, 3, 3, 2),
    (7, 64, 14, 14, 64, 3, 1, 1),
    (1, 6, 40, 37, 11, 7, 1, 0),
    // 3×3 stride 1 with ≥ 8 input channels (the cpu backend's Winograd path).
    (1, 8, 13, 11, 9, 3, 1, 0),
    (7, 12, 9, 16, 5, 3, 1, 2),
    (1, 9, 3, 3, 4, 3, 1, 1),
    (2, 8, 1, 5, 3, 3, 1, 1),
    (2, 64, 29, 27, 64, 3, 1, 1),
    // 3×3 stride 2, odd sizes, padding 0, 1, 2.
    (3, 8, 13, 11, 9, 3, 2, 0),
    (1, 10, 9, 16, 6, 3, 2, 2),
    (7, 12, 4, 3, 5, 3, 2, 1),
    (2, 64, 28, 28, 64, 3, 2, 1),
];

#[test]
fn conv2d_cpu_matches_reference() {
    for (i, &(batch, cin, h, w, cout, k, stride, pad)) in CONV2D_CASES.iter().enumerate() {
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let s = Conv2dShape {
                layout,
                batch,
                in_channels: cin,
                in_h: h,
                in_w: w,
                out_channels: cout,
                kernel_h: k,
                kernel_w: k,
                stride,
                pad_h: pad,
                pad_w: pad,
            };
            check_conv2d(&s, i as u64);
        }
    }
}

#[test]
fn conv2d_rectangular_padding() {
    for layout in [Layout::Nchw, Layout::Nhwc] {
        let s = Conv2dShape {
            layout,
            batch: 3,
            in_channels: 9,
            in_h: 12,
            in_w: 9,
            out_channels: 5,
            kernel_h: 3,
            kernel_w: 5,
            stride: 2,
            pad_h: 1,
            pad_w: 2,
        };
        check_conv2d(&s, 50);
        check_conv2d(&Conv2dShape { stride: 1, ..s }, 51);
        check_conv2d(
            &Conv2dShape {
                kernel_w: 3,
                stride: 1,
                ..s
            },
            52,
        );
    }
}

fn check_conv2d(s: &Conv2dShape, seed: u64) {
    let x = random(s.batch * s.in_sample_len(), 1 + seed);
    let wt = random(s.weight_len(), 100 + seed);
    let b = random(s.out_channels, 200 + seed);
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
    ] {
        let mut a = vec![0.0; s.batch * s.out_sample_len()];
        let mut r = a.clone();
        cpu().conv2d(s, &x, &wt, &b, act, &mut a).unwrap();
        reference().conv2d(s, &x, &wt, &b, act, &mut r).unwrap();
        let e = rel_err(&a, &r);
        assert!(e <= TOL, "{s:?} {act:?}: relative error {e:.3e}");
    }
}

#[test]
fn conv1d_cpu_matches_reference() {
    // (batch, cin, len, cout, k, stride, pad)
    let cases = [
        (7, 3, 35, 64, 5, 1, 0),
        (1, 64, 31, 128, 5, 1, 0),
        (7, 128, 27, 256, 3, 1, 0),
        (1, 256, 25, 512, 1, 1, 0),
        (7, 5, 20, 7, 3, 2, 1),
        (1, 4, 9, 3, 4, 2, 2),
    ];
    for (i, &(batch, cin, len, cout, k, stride, padding)) in cases.iter().enumerate() {
        let s = Conv1dShape {
            batch,
            in_channels: cin,
            in_len: len,
            out_channels: cout,
            kernel: k,
            stride,
            padding,
        };
        let x = random(batch * cin * len, 300 + i as u64);
        let w = random(cout * cin * k, 400 + i as u64);
        let b = random(cout, 500 + i as u64);
        let mut a = vec![0.0; batch * cout * s.out_len()];
        let mut r = a.clone();
        cpu()
            .conv1d(&s, &x, &w, &b, Activation::Relu, &mut a)
            .unwrap();
        reference()
            .conv1d(&s, &x, &w, &b, Activation::Relu, &mut r)
            .unwrap();
        let e = rel_err(&a, &r);
        assert!(e <= TOL, "case {i} {s:?}: relative error {e:.3e}");
    }
}

#[test]
fn linear_cpu_matches_reference() {
    // (batch, in, out): includes blocks of more than 64 rows and columns.
    let cases = [(1, 12544, 128), (7, 333, 10), (130, 200, 129), (7, 1, 3)];
    for (i, &(batch, fi, fo)) in cases.iter().enumerate() {
        let s = LinearShape {
            batch,
            in_features: fi,
            out_features: fo,
        };
        let x = random(batch * fi, 600 + i as u64);
        let w = random(fo * fi, 700 + i as u64);
        let b = random(fo, 800 + i as u64);
        for act in [Activation::Identity, Activation::Relu] {
            let mut a = vec![0.0; batch * fo];
            let mut r = a.clone();
            cpu().linear(&s, &x, &w, &b, act, &mut a).unwrap();
            reference().linear(&s, &x, &w, &b, act, &mut r).unwrap();
            let e = rel_err(&a, &r);
            assert!(e <= TOL, "case {i} {s:?}: relative error {e:.3e}");
        }
    }
}

#[test]
fn max_over_last_axis_matches_reference() {
    let (rows, len) = (7 * 512, 25);
    let x = random(rows * len, 900);
    let mut a = vec![0.0; rows];
    let mut r = a.clone();
    cpu().max_over_last_axis(rows, len, &x, &mut a).unwrap();
    reference()
        .max_over_last_axis(rows, len, &x, &mut r)
        .unwrap();
    assert_eq!(a, r);
}

#[test]
fn kernels_reject_wrong_lengths() {
    let s = Conv2dShape {
        layout: Layout::Nchw,
        batch: 2,
        in_channels: 1,
        in_h: 5,
        in_w: 5,
        out_channels: 2,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        pad_h: 1,
        pad_w: 1,
    };
    let w = vec![0.0; s.weight_len()];
    let mut out = vec![0.0; 2 * s.out_sample_len()];
    for be in [cpu(), reference()] {
        let short = vec![0.0; 49];
        let err = be.conv2d(&s, &short, &w, &[0.0; 2], Activation::Relu, &mut out);
        assert!(
            matches!(err, Err(steermd::Error::Shape(_))),
            "{}",
            be.name()
        );
        let bad = Conv2dShape {
            kernel_h: 9,
            pad_h: 0,
            ..s
        };
        let err = be.conv2d(&bad, &[0.0; 50], &w, &[0.0; 2], Activation::Relu, &mut out);
        assert!(
            matches!(err, Err(steermd::Error::Shape(_))),
            "{}",
            be.name()
        );
        let err = be.max_over_last_axis(3, 0, &[], &mut [0.0; 3]);
        assert!(err.is_err());
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn cpu_kernels_are_independent_of_thread_count() {
    let s = Conv2dShape {
        layout: Layout::Nhwc,
        batch: 7,
        in_channels: 64,
        in_h: 53,
        in_w: 53,
        out_channels: 64,
        kernel_h: 3,
        kernel_w: 3,
        stride: 1,
        pad_h: 1,
        pad_w: 1,
    };
    let x = random(s.batch * s.in_sample_len(), 11);
    let w = random(s.weight_len(), 12);
    let b = random(64, 13);
    let conv = |threads| {
        in_pool(threads, || {
            let mut out = vec![0.0; s.batch * s.out_sample_len()];
            cpu()
                .conv2d(&s, &x, &w, &b, Activation::Relu, &mut out)
                .unwrap();
            out
        })
    };
    let one = conv(1);
    assert!(one == conv(3), "conv2d differs between 1 and 3 threads");
    assert!(one == conv(2), "conv2d differs between 1 and 2 threads");

    let ls = LinearShape {
        batch: 150,
        in_features: 4000,
        out_features: 130,
    };
    let lx = random(150 * 4000, 14);
    let lw = random(130 * 4000, 15);
    let lb = random(130, 16);
    let lin = |threads| {
        in_pool(threads, || {
            let mut out = vec![0.0; 150 * 130];
            cpu()
                .linear(&ls, &lx, &lw, &lb, Activation::Relu, &mut out)
                .unwrap();
            out
        })
    };
    assert!(lin(1) == lin(3), "linear differs between 1 and 3 threads");
}
