//! Encoder loading and input validation: every malformed model directory or
//! input is rejected with an error that says what and where; plus cpu vs
//! reference and thread-count independence of whole encoders.

use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use steermd::nn::{AaeConfig, AaeEncoder, Activation, CvaeConfig, CvaeEncoder, Encoder};
use steermd::{Device, Error};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// A temporary copy of model directory `name`.
fn copy_model(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(data(name).join(f), dir.path().join(f)).unwrap();
    }
    dir
}

type Owned = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// Rewrite `dir/model.safetensors` after `edit` changes its tensors.
fn edit_tensors(dir: &Path, edit: impl FnOnce(&mut Owned)) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Owned = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            let view = safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap();
            (n.clone(), view)
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// Rewrite `dir/config.json` after `edit` changes it.
fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let path = dir.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(v.as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn load_err(dir: &Path) -> Error {
    Encoder::load(dir).expect_err("loading must fail")
}

#[test]
fn missing_directory_and_files_are_io_errors() {
    let err = load_err(Path::new("/nonexistent/steermd-model"));
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("config.json")),
        "{err}"
    );

    let dir = copy_model("cvae_a");
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("model.safetensors")),
        "{err}"
    );
}

#[test]
fn truncated_safetensors_is_a_format_error() {
    let dir = copy_model("cvae_a");
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    for len in [bytes.len() - 100, 1000, 12, 3] {
        std::fs::write(&path, &bytes[..len]).unwrap();
        let err = load_err(dir.path());
        assert!(
            matches!(&err, Error::Format { path: p, .. } if *p == path),
            "{len}: {err}"
        );
    }
}

#[test]
fn wrong_tensor_shape_names_tensor_shapes_and_file() {
    let dir = copy_model("cvae_a");
    edit_tensors(dir.path(), |t| {
        let w = t.iter_mut().find(|(n, ..)| n == "conv.1.weight").unwrap();
        w.2 = vec![64, 64, 9, 1];
    });
    let msg = match load_err(dir.path()) {
        Error::Model(m) => m,
        e => panic!("expected a model error, got {e}"),
    };
    for part in [
        "conv.1.weight",
        "[64, 64, 3, 3]",
        "[64, 64, 9, 1]",
        "model.safetensors",
    ] {
        assert!(msg.contains(part), "'{part}' missing from: {msg}");
    }
}

#[test]
fn missing_extra_and_non_f32_tensors_are_rejected() {
    let dir = copy_model("aae_a");
    edit_tensors(dir.path(), |t| t.retain(|(n, ..)| n != "mu.bias"));
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Model(m) if m.contains("mu.bias")),
        "{err}"
    );

    let dir = copy_model("aae_a");
    edit_tensors(dir.path(), |t| {
        t.push(("conv.5.weight".into(), Dtype::F32, vec![2], vec![0; 8]));
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Model(m) if m.contains("conv.5.weight")),
        "{err}"
    );

    let dir = copy_model("aae_a");
    edit_tensors(dir.path(), |t| {
        let b = t.iter_mut().find(|(n, ..)| n == "mu.bias").unwrap();
        let wide: Vec<u8> =
            b.3.chunks_exact(4)
                .flat_map(|c| (f32::from_le_bytes(c.try_into().unwrap()) as f64).to_le_bytes())
                .collect();
        b.1 = Dtype::F64;
        b.3 = wide;
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Model(m) if m.contains("mu.bias") && m.contains("F64")),
        "{err}"
    );
}

#[test]
fn non_finite_weights_are_rejected() {
    let dir = copy_model("cvae_b");
    edit_tensors(dir.path(), |t| {
        let b = t.iter_mut().find(|(n, ..)| n == "dense.1.bias").unwrap();
        b.3[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::NonFinite(m) if m.contains("dense.1.bias")),
        "{err}"
    );
}

#[test]
fn config_and_weights_must_agree() {
    // One conv layer fewer in the config than in the weights.
    let dir = copy_model("cvae_a");
    edit_config(dir.path(), |c| {
        for key in [
            "filters",
            "kernels",
            "strides",
            "paddings",
            "paddings_hw",
            "conv_output_shapes",
        ] {
            c[key].as_array_mut().unwrap().pop();
        }
        for key in ["flatten_dim", "tensor_names"] {
            c.remove(key);
        }
    });
    assert!(matches!(load_err(dir.path()), Error::Model(_)));

    // Latent dim that the mu tensors do not have.
    let dir = copy_model("cvae_trained");
    edit_config(dir.path(), |c| {
        c.insert("latent_dim".into(), 12.into());
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Model(m) if m.contains("mu.weight")),
        "{err}"
    );

    // A tensor list that does not match the architecture.
    let dir = copy_model("aae_a");
    edit_config(dir.path(), |c| {
        c["tensor_names"].as_array_mut().unwrap().pop();
    });
    assert!(matches!(load_err(dir.path()), Error::Model(_)));
}

#[test]
fn recorded_padding_must_match_mdlearn_rule() {
    let dir = copy_model("cvae_b");
    edit_config(dir.path(), |c| {
        c.insert("paddings".into(), serde_json::json!([2, 1, 2, 1]));
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Model(m) if m.contains("paddings")),
        "{err}"
    );

    let dir = copy_model("cvae_a");
    edit_config(dir.path(), |c| {
        c.insert(
            "conv_output_shapes".into(),
            serde_json::json!([[64, 35, 35]]),
        );
    });
    assert!(matches!(load_err(dir.path()), Error::Model(_)));
}

#[test]
fn unknown_missing_and_mistyped_keys_are_parse_errors() {
    let dir = copy_model("cvae_a");
    edit_config(dir.path(), |c| {
        c.insert("dilations".into(), serde_json::json!([2, 2, 2, 2]));
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Parse { line, message, .. } if message.contains("dilations") && *line > 0),
        "{err}"
    );

    let dir = copy_model("cvae_a");
    edit_config(dir.path(), |c| {
        c.remove("strides");
    });
    let err = load_err(dir.path());
    assert!(
        matches!(&err, Error::Parse { message, .. } if message.contains("strides")),
        "{err}"
    );

    let dir = copy_model("aae_a");
    edit_config(dir.path(), |c| {
        c.insert("latent_dim".into(), "ten".into());
    });
    assert!(matches!(load_err(dir.path()), Error::Parse { .. }));

    let dir = copy_model("aae_a");
    edit_config(dir.path(), |c| {
        c.insert("kind".into(), "vae".into());
    });
    assert!(matches!(load_err(dir.path()), Error::Parse { .. }));

    let dir = copy_model("aae_a");
    std::fs::write(
        dir.path().join("config.json"),
        "{\n  \"kind\": \"aae\",\n  oops\n}",
    )
    .unwrap();
    assert!(matches!(load_err(dir.path()), Error::Parse { line: 3, .. }));
}

#[test]
fn impossible_configs_are_model_errors() {
    let base = CvaeConfig {
        input_shape: [1, 35, 35],
        filters: vec![8; 4],
        kernels: vec![3; 4],
        strides: vec![1, 2, 1, 1],
        affine_widths: vec![16],
        latent_dim: 3,
        activation: Activation::Relu,
    };
    assert!(CvaeEncoder::random(base.clone(), 1).is_ok());
    let bad = [
        // stride 2 with a kernel larger than the layer's input: mdlearn finds no padding
        CvaeConfig {
            input_shape: [1, 4, 4],
            kernels: vec![3, 5, 3, 3],
            ..base.clone()
        },
        CvaeConfig {
            kernels: vec![3, 4, 3, 3],
            ..base.clone()
        },
        CvaeConfig {
            strides: vec![1, 0, 1, 1],
            ..base.clone()
        },
        CvaeConfig {
            filters: vec![8; 3],
            ..base.clone()
        },
        CvaeConfig {
            input_shape: [1, 0, 35],
            ..base.clone()
        },
        CvaeConfig {
            affine_widths: vec![],
            ..base.clone()
        },
        CvaeConfig {
            latent_dim: 0,
            ..base.clone()
        },
    ];
    for cfg in bad {
        let err = CvaeEncoder::random(cfg.clone(), 1).expect_err("impossible config");
        assert!(matches!(err, Error::Model(_)), "{cfg:?}: {err}");
    }
    let aae = AaeConfig::mdlearn(8, 0, vec![16, 32, 64], vec![5, 5, 3], 4);
    let err = AaeEncoder::random(aae, 1).expect_err("8 points cannot take kernels 5, 5, 3");
    assert!(matches!(err, Error::Model(_)), "{err}");
}

#[test]
fn wrong_input_length_and_non_finite_input_are_rejected() {
    let enc = Encoder::load(&data("cvae_a")).unwrap();
    let sample: usize = enc.input_shape().iter().product();
    for device in [Device::Cpu, Device::Reference] {
        let x = vec![0.0f32; 2 * sample + 1];
        let err = enc.embed(&device, &x, 2).expect_err("wrong length");
        assert!(matches!(err, Error::Shape(_)), "{err}");

        let mut x = vec![0.0f32; 2 * sample];
        x[sample + 7] = f32::NAN;
        let err = enc.embed(&device, &x, 2).expect_err("NaN input");
        assert!(
            matches!(&err, Error::NonFinite(m) if m.contains("row 1")),
            "{err}"
        );
        x[sample + 7] = f32::INFINITY;
        assert!(matches!(
            enc.embed(&device, &x, 2),
            Err(Error::NonFinite(_))
        ));
    }
    assert!(enc.embed(&Device::Cpu, &[], 0).unwrap().is_empty());
    assert!(matches!(
        enc.embed(&Device::Cuda(0), &vec![0.0; sample], 1),
        Err(Error::BackendUnavailable { .. })
    ));
}

/// Uniform values in [-1, 1) (splitmix64).
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

fn rel_err(a: &[f32], r: &[f32]) -> f64 {
    let scale = r.iter().fold(0f64, |m, &v| m.max(v.abs() as f64));
    let diff = a
        .iter()
        .zip(r)
        .fold(0f64, |m, (&x, &y)| m.max((x as f64 - y as f64).abs()));
    diff / scale
}

#[test]
fn random_encoders_cpu_matches_reference() {
    // Multi-channel, non-square input; every conv path (Winograd, im2col, stride 2).
    let cvae = CvaeEncoder::random(
        CvaeConfig {
            input_shape: [3, 19, 24],
            filters: vec![16, 12, 9, 8],
            kernels: vec![3, 5, 3, 1],
            strides: vec![1, 2, 1, 2],
            affine_widths: vec![20, 7],
            latent_dim: 5,
            activation: Activation::LeakyRelu(0.05),
        },
        7,
    )
    .unwrap();
    let aae = AaeEncoder::random(
        AaeConfig::mdlearn(23, 2, vec![16, 32, 24, 40], vec![5, 3, 1, 1], 6),
        8,
    )
    .unwrap();
    for (name, enc, batch) in [
        ("cvae", Encoder::Cvae(cvae), 7),
        ("aae", Encoder::Aae(aae), 7),
    ] {
        let x = random(batch * enc.input_shape().iter().product::<usize>(), 9);
        let a = enc.embed(&Device::Cpu, &x, batch).unwrap();
        let r = enc.embed(&Device::Reference, &x, batch).unwrap();
        let e = rel_err(&a, &r);
        assert!(e <= 1e-5, "{name}: relative error {e:.3e}");
        // The first sample alone gives the same embedding as inside the batch.
        let one = enc.embed(&Device::Cpu, &x[..x.len() / batch], 1).unwrap();
        assert!(rel_err(&one, &a[..enc.latent_dim()]) <= 1e-6, "{name}");
    }
}

#[test]
fn embeddings_are_independent_of_thread_count() {
    let enc = Encoder::load(&data("cvae_trained")).unwrap();
    let sample: usize = enc.input_shape().iter().product();
    let x: Vec<f32> = random(40 * sample, 3)
        .iter()
        .map(|v| (*v > 0.6) as u8 as f32)
        .collect();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| enc.embed(&Device::Cpu, &x, 40).unwrap())
    };
    let one = run(1);
    assert!(one == run(3), "1 vs 3 threads");
    assert!(one == run(2), "1 vs 2 threads");
}
