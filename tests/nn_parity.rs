//! Parity with PyTorch/mdlearn: each exported model in `tests/data` embeds its
//! committed input and must reproduce `expected_mu.npy` (mdlearn's encoder
//! `mu` in eval mode).
//!
//! Error measure: max|ours − torch| / max|torch| over the whole `[B, latent]`
//! output, required ≤ 1e-5 (f32). The cpu backend embeds every frame; the
//! (slow, direct-loop) reference backend the first [`REFERENCE_FRAMES`].

use std::path::{Path, PathBuf};

use steermd::nn::Encoder;
use steermd::Device;

const TOL: f64 = 1e-5;
/// Frames the reference backend embeds (it is slow by design).
const REFERENCE_FRAMES: usize = 20;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// An f32 `.npy` file: (shape, values).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (shape, npy.into_vec::<f32>().unwrap())
}

fn rel_err(ours: &[f32], torch: &[f32]) -> f64 {
    assert_eq!(ours.len(), torch.len());
    let scale = torch.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let diff = ours
        .iter()
        .zip(torch)
        .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    diff / scale
}

fn check(model: &str, input: &str) {
    let enc = Encoder::load(&data(model)).unwrap();
    let (shape, x) = read_npy(&data(input));
    let (mu_shape, mu) = read_npy(&data(&format!("{model}/expected_mu.npy")));
    assert_eq!(&shape[1..], enc.input_shape(), "{model}: input shape");
    assert_eq!(mu_shape, [shape[0], enc.latent_dim()], "{model}: mu shape");
    let sample: usize = shape[1..].iter().product();
    for (device, frames) in [
        (Device::Cpu, shape[0]),
        (Device::Reference, REFERENCE_FRAMES),
    ] {
        let ours = enc.embed(&device, &x[..frames * sample], frames).unwrap();
        let e = rel_err(&ours, &mu[..frames * enc.latent_dim()]);
        eprintln!("{model} on {device:?}: max relative error {e:.2e}");
        assert!(
            e <= TOL,
            "{model} on {device:?}: max relative error {e:.3e} > {TOL:e}"
        );
    }
}

#[test]
fn cvae_a_matches_mdlearn() {
    check("cvae_a", "cvae_input.npy");
}

#[test]
fn cvae_b_matches_mdlearn() {
    check("cvae_b", "cvae_input.npy");
}

#[test]
fn cvae_trained_matches_mdlearn() {
    check("cvae_trained", "cvae_input.npy");
}

#[test]
fn aae_a_matches_mdlearn() {
    check("aae_a", "aae_a/input.npy");
}
