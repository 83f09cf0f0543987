//! The point-cloud encoder of mdlearn's `AAE3d`
//! (`mdlearn.nn.modules.conv1d_encoder.Conv1dEncoder`).
//!
//! Forward pass (eval mode): input `[B, 3 + F, N]` (x, y, z and F scalar
//! features per point; points along the last axis). For each conv layer
//! `x = conv1d(x)` with stride 1 and no padding, followed by the activation
//! except after the last layer; then the maximum over the points axis, then
//! `x = act(dense(x))` (mdlearn: one layer `filters[-1] → filters[-2]`), then
//! `mu = x · Wᵀ + b`. No batch norm, no dropout. The embedding is `mu`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::nn::config::ConfigDoc;
use crate::nn::kernels::{Activation, Conv1dShape, Conv2dShape};
use crate::nn::layers::{random_pair, run_convs, run_dense, ConvLayer, DenseLayer};
use crate::nn::model::{check_input, chunk_size, Workspace};
use crate::nn::weights::{Rng, Weights};

/// Architecture of an `AAE3d` encoder (mdlearn constructor terms).
#[derive(Clone, Debug, PartialEq)]
pub struct AaeConfig {
    /// Points per cloud (the length of the conv axis).
    pub num_points: usize,
    /// Scalar features per point besides x, y, z.
    pub num_features: usize,
    /// Output channels of each conv layer.
    pub filters: Vec<usize>,
    /// Kernel size of each conv layer.
    pub kernels: Vec<usize>,
    /// Whether the activation follows each conv layer (mdlearn: all but the last).
    pub relu_after: Vec<bool>,
    /// Widths of the dense layers after the max-pool (mdlearn: `[filters[-2]]`).
    pub affine_widths: Vec<usize>,
    /// Width of the `mu` head (the embedding).
    pub latent_dim: usize,
    /// Activation (ReLU, or LeakyReLU when mdlearn's `relu_slope > 0`).
    pub activation: Activation,
}

impl AaeConfig {
    /// mdlearn's `AAE3d` encoder for the given sizes: activation after every
    /// conv but the last, one dense layer `filters[-1] → filters[-2]`, ReLU.
    pub fn mdlearn(
        num_points: usize,
        num_features: usize,
        filters: Vec<usize>,
        kernels: Vec<usize>,
        latent_dim: usize,
    ) -> Self {
        let n = filters.len();
        let relu_after = (0..n).map(|i| i + 1 < n).collect();
        let affine_widths = filters.iter().rev().nth(1).copied().into_iter().collect();
        AaeConfig {
            num_points,
            num_features,
            filters,
            kernels,
            relu_after,
            affine_widths,
            latent_dim,
            activation: Activation::Relu,
        }
    }

    /// The geometry of every conv layer (batch 1, as 2-D convolutions of height 1).
    pub fn conv_geometry(&self) -> Result<Vec<Conv2dShape>> {
        let n = self.filters.len();
        if n == 0 || self.kernels.len() != n || self.relu_after.len() != n {
            return Err(Error::Model(format!(
                "aae: need as many filters, kernels and relu_after flags (at least one), \
                 found {}, {}, {}",
                n,
                self.kernels.len(),
                self.relu_after.len()
            )));
        }
        let (mut c, mut len) = (3 + self.num_features, self.num_points);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (f, k) = (self.filters[i], self.kernels[i]);
            let s = Conv1dShape {
                batch: 1,
                in_channels: c,
                in_len: len,
                out_channels: f,
                kernel: k,
                stride: 1,
                padding: 0,
            };
            if f == 0 || k == 0 || k > len {
                return Err(Error::Model(format!(
                    "aae conv layer {i}: {f} filters of kernel {k} over {len} points \
                     (need filters ≥ 1 and 1 ≤ kernel ≤ points)"
                )));
            }
            out.push(s.as_conv2d());
            (c, len) = (f, s.out_len());
        }
        if self.affine_widths.contains(&0) || self.latent_dim == 0 {
            return Err(Error::Model(format!(
                "aae: affine widths {:?} and latent dim {} must be ≥ 1",
                self.affine_widths, self.latent_dim
            )));
        }
        Ok(out)
    }

    /// Read the configuration written by `tools/export_aae.py`.
    pub(crate) fn from_doc(doc: &mut ConfigDoc) -> Result<Self> {
        let filters = doc.usize_list("filters")?;
        let n = filters.len();
        let mut cfg = AaeConfig::mdlearn(
            doc.usize("num_points")?,
            doc.opt_usize("num_features")?.unwrap_or(0),
            filters,
            doc.usize_list("kernels")?,
            doc.usize("latent_dim")?,
        );
        cfg.activation = doc.activation("activation", "relu_slope")?;
        if let Some(r) = doc.opt_bool_list("relu_after")? {
            cfg.relu_after = r;
        }
        if let Some(w) = doc.opt_usize_list("affine_widths")? {
            cfg.affine_widths = w;
        }
        let geom = cfg.conv_geometry()?;
        let path = doc.path().display().to_string();
        let mismatch = |key: &str, found: String, expected: String| {
            Error::Model(format!("{path}: '{key}' is {found}, expected {expected}"))
        };
        if let Some(c) = doc.opt_usize("in_channels")? {
            if c != 3 + cfg.num_features {
                let expected = format!("3 + num_features = {}", 3 + cfg.num_features);
                return Err(mismatch("in_channels", c.to_string(), expected));
            }
        }
        let mdlearn_only = |key: &str, v: Vec<usize>, want: usize| {
            if v.len() != n || v.iter().any(|&x| x != want) {
                let expected = format!("{want} for every layer (mdlearn Conv1dEncoder)");
                return Err(mismatch(key, format!("{v:?}"), expected));
            }
            Ok(())
        };
        if let Some(s) = doc.opt_usize_list("strides")? {
            mdlearn_only("strides", s, 1)?;
        }
        if let Some(p) = doc.opt_usize_list("paddings")? {
            mdlearn_only("paddings", p, 0)?;
        }
        if let Some(l) = doc.opt_usize_list("conv_output_lengths")? {
            let expected: Vec<usize> = geom.iter().map(Conv2dShape::out_w).collect();
            if l != expected {
                return Err(mismatch(
                    "conv_output_lengths",
                    format!("{l:?}"),
                    format!("{expected:?}"),
                ));
            }
        }
        if let Some(a) = doc.opt_bool_list("activation_after_dense")? {
            if a.len() != cfg.affine_widths.len() || a.contains(&false) {
                return Err(doc.error(
                    "activation_after_dense",
                    "steermd applies the activation after every dense layer, as mdlearn",
                ));
            }
        }
        doc.opt_bool("conv_bias")?; // false: the exporter wrote zero biases
        doc.expect_prefix(
            "pooling",
            "max",
            "only max pooling over points is supported",
        )?;
        Ok(cfg)
    }

    /// Names of the tensors this configuration needs.
    pub fn tensor_names(&self) -> Vec<String> {
        crate::nn::model::layer_tensor_names(self.filters.len(), self.affine_widths.len())
    }
}

/// The `AAE3d` encoder with its weights.
#[derive(Clone, Debug)]
pub struct AaeEncoder {
    config: AaeConfig,
    input_shape: Vec<usize>,
    convs: Vec<ConvLayer>,
    /// Dense layers, the `mu` head last.
    dense: Vec<DenseLayer>,
    workspace: Workspace,
}

impl AaeEncoder {
    /// Load `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Self> {
        let (config, weights) =
            crate::nn::model::load_dir(dir, "aae", AaeConfig::from_doc, AaeConfig::tensor_names)?;
        Self::from_weights(config, weights)
    }

    /// Build from a configuration and named tensors (PyTorch layouts).
    pub fn from_weights(config: AaeConfig, mut weights: Weights) -> Result<Self> {
        let geom = config.conv_geometry()?;
        let convs = geom
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let act = if config.relu_after[i] {
                    config.activation
                } else {
                    Activation::Identity
                };
                ConvLayer::take(&mut weights, &format!("conv.{i}"), *g, true, act)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut dense = Vec::new();
        let mut width = geom.last().map_or(0, |g| g.out_channels);
        for (j, &w) in config.affine_widths.iter().enumerate() {
            let layer = DenseLayer::take(
                &mut weights,
                &format!("dense.{j}"),
                width,
                w,
                config.activation,
            )?;
            dense.push(layer);
            width = w;
        }
        let mu = DenseLayer::take(
            &mut weights,
            "mu",
            width,
            config.latent_dim,
            Activation::Identity,
        )?;
        dense.push(mu);
        weights.finish()?;
        Ok(AaeEncoder {
            input_shape: vec![3 + config.num_features, config.num_points],
            config,
            convs,
            dense,
            workspace: Workspace::default(),
        })
    }

    /// An encoder with deterministic pseudo-random weights (benchmarks, tests).
    pub fn random(config: AaeConfig, seed: u64) -> Result<Self> {
        let geom = config.conv_geometry()?;
        let mut rng = Rng::new(seed);
        let mut map = BTreeMap::new();
        for (i, g) in geom.iter().enumerate() {
            let shape = ConvLayer::weight_shape(g, true);
            random_pair(&mut rng, &mut map, &format!("conv.{i}"), &shape);
        }
        let mut width = geom.last().map_or(0, |g| g.out_channels);
        for (j, &w) in config.affine_widths.iter().enumerate() {
            random_pair(&mut rng, &mut map, &format!("dense.{j}"), &[w, width]);
            width = w;
        }
        random_pair(&mut rng, &mut map, "mu", &[config.latent_dim, width]);
        Self::from_weights(config, Weights::new("random weights", map))
    }

    /// The architecture.
    pub fn config(&self) -> &AaeConfig {
        &self.config
    }

    /// Per-sample input shape `[3 + F, N]`.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Embedding width.
    pub fn latent_dim(&self) -> usize {
        self.config.latent_dim
    }

    /// Embed `batch` point clouds (`input` `[batch, 3 + F, N]`); returns `[batch, latent]`.
    pub fn embed(&self, device: &Device, input: &[f32], batch: usize) -> Result<Vec<f32>> {
        check_input(&self.input_shape, input, batch)?;
        let backend = device.backend()?;
        let be = &*backend;
        let sample = input.len() / batch.max(1);
        let max_act = self.convs.iter().map(ConvLayer::out_len).max().unwrap_or(0);
        let chunk = chunk_size(max_act).min(batch.max(1));
        let mut buf = self.workspace.take(2 * chunk * max_act);
        let (a, b) = buf.split_at_mut(chunk * max_act);
        // `conv_geometry` guarantees at least one conv layer.
        let last = self.convs[self.convs.len() - 1].geom;
        let mut pooled = vec![0.0; chunk * last.out_channels];
        let mut out = Vec::with_capacity(batch * self.latent_dim());
        for start in (0..batch).step_by(chunk) {
            let nb = chunk.min(batch - start);
            let x = &input[start * sample..(start + nb) * sample];
            let h = run_convs(be, &self.convs, nb, x, a, b)?;
            let rows = nb * last.out_channels;
            be.max_over_last_axis(rows, last.out_w(), h, &mut pooled[..rows])?;
            out.extend(run_dense(be, &self.dense, nb, &pooled[..rows])?);
        }
        self.workspace.put(buf);
        Ok(out)
    }
}
