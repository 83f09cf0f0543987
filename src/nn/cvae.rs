//! The contact-map encoder of mdlearn's `SymmetricConv2dVAE`
//! (`mdlearn.nn.modules.conv2d_encoder.Conv2dEncoder`).
//!
//! Forward pass (eval mode): for each conv layer `x = act(conv2d(x))` with
//! mdlearn's "same" padding (activation after every conv, the last included),
//! flatten in NCHW order, `x = act(dense(x))` for each affine layer (dropout is
//! the identity in eval mode), then `mu = x · Wᵀ + b`. The embedding is `mu`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::nn::config::ConfigDoc;
use crate::nn::kernels::{conv_output_size, Activation, Conv2dShape, Layout};
use crate::nn::layers::{random_pair, run_convs, run_dense, ConvLayer, DenseLayer};
use crate::nn::model::{check_input, chunk_size, Workspace};
use crate::nn::weights::{Rng, Weights};

/// Architecture of a `SymmetricConv2dVAE` encoder (mdlearn constructor terms).
#[derive(Clone, Debug, PartialEq)]
pub struct CvaeConfig {
    /// Per-sample input shape `[channels, height, width]`.
    pub input_shape: [usize; 3],
    /// Output channels of each conv layer.
    pub filters: Vec<usize>,
    /// Square kernel size of each conv layer (odd).
    pub kernels: Vec<usize>,
    /// Stride of each conv layer.
    pub strides: Vec<usize>,
    /// Widths of the dense layers between the flatten and the `mu` head.
    pub affine_widths: Vec<usize>,
    /// Width of the `mu` head (the embedding).
    pub latent_dim: usize,
    /// Activation after every conv and dense layer.
    pub activation: Activation,
}

/// mdlearn's `same_padding` along one axis of size `n`: `(k-1)/2` for stride 1,
/// `(n-k) mod s` for stride `s > 1` (`None` when `n < k`: mdlearn raises).
pub fn mdlearn_padding(n: usize, kernel: usize, stride: usize) -> Option<usize> {
    match stride {
        0 => None,
        1 => Some((kernel.max(1) - 1) / 2),
        s => n.checked_sub(kernel).map(|d| d % s),
    }
}

impl CvaeConfig {
    /// The geometry of every conv layer (batch 1), with mdlearn's padding.
    /// The encoder runs its convolutions in NHWC.
    pub fn conv_geometry(&self) -> Result<Vec<Conv2dShape>> {
        let [c, h, w] = self.input_shape;
        let n = self.filters.len();
        if n == 0 || self.kernels.len() != n || self.strides.len() != n {
            return Err(Error::Model(format!(
                "cvae: need as many filters, kernels and strides (at least one), found {}, {}, {}",
                n,
                self.kernels.len(),
                self.strides.len()
            )));
        }
        if c == 0 || h == 0 || w == 0 {
            return Err(Error::Model(format!(
                "cvae: input shape {:?} has an empty dimension",
                self.input_shape
            )));
        }
        let (mut c, mut h, mut w) = (c, h, w);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let (f, k, s) = (self.filters[i], self.kernels[i], self.strides[i]);
            if f == 0 || s == 0 || k % 2 == 0 {
                return Err(Error::Model(format!(
                    "cvae conv layer {i}: filters {f}, kernel {k}, stride {s} \
                     (need filters ≥ 1, stride ≥ 1 and an odd kernel, as mdlearn)"
                )));
            }
            let geom = |n_in: usize, axis: &str| {
                let p = mdlearn_padding(n_in, k, s);
                p.and_then(|p| conv_output_size(n_in, k, s, p).map(|o| (p, o)))
                    .ok_or_else(|| {
                        Error::Model(format!(
                            "cvae conv layer {i}: kernel {k} with stride {s} does not fit the \
                             {axis} {n_in} of its input (mdlearn finds no padding)"
                        ))
                    })
            };
            let (ph, oh) = geom(h, "height")?;
            let (pw, ow) = geom(w, "width")?;
            out.push(Conv2dShape {
                layout: Layout::Nhwc,
                batch: 1,
                in_channels: c,
                in_h: h,
                in_w: w,
                out_channels: f,
                kernel_h: k,
                kernel_w: k,
                stride: s,
                pad_h: ph,
                pad_w: pw,
            });
            (c, h, w) = (f, oh, ow);
        }
        if self.affine_widths.is_empty() || self.affine_widths.contains(&0) || self.latent_dim == 0
        {
            return Err(Error::Model(format!(
                "cvae: affine widths {:?} and latent dim {} (need at least one dense layer, \
                 all widths ≥ 1)",
                self.affine_widths, self.latent_dim
            )));
        }
        Ok(out)
    }

    /// Length of the flattened output of the last conv layer.
    pub fn flatten_dim(&self) -> Result<usize> {
        Ok(self
            .conv_geometry()?
            .last()
            .map_or(0, Conv2dShape::out_sample_len))
    }

    /// Read the configuration written by `tools/export_cvae.py`, cross-checking
    /// the paddings and shapes it records against mdlearn's rule.
    pub(crate) fn from_doc(doc: &mut ConfigDoc) -> Result<Self> {
        let shape = doc.usize_list("input_shape")?;
        let input_shape: [usize; 3] = shape.as_slice().try_into().map_err(|_| {
            doc.error(
                "input_shape",
                format!("expected [C, H, W], found {shape:?}"),
            )
        })?;
        let cfg = CvaeConfig {
            input_shape,
            filters: doc.usize_list("filters")?,
            kernels: doc.usize_list("kernels")?,
            strides: doc.usize_list("strides")?,
            affine_widths: doc.usize_list("affine_widths")?,
            latent_dim: doc.usize("latent_dim")?,
            activation: doc.activation("activation", "negative_slope")?,
        };
        let geom = cfg.conv_geometry()?;
        let path = doc.path().display().to_string();
        let disagree = |key: &str, found: String, expected: String| {
            Error::Model(format!(
                "{path}: '{key}' is {found} but mdlearn's padding rule gives {expected}"
            ))
        };
        let hw: Vec<Vec<usize>> = geom.iter().map(|g| vec![g.pad_h, g.pad_w]).collect();
        for key in ["paddings", "paddings_hw"] {
            if let Some(p) = doc.opt_nested_usize_list(key)? {
                // A plain integer means the same padding along both axes.
                let p: Vec<Vec<usize>> = p
                    .into_iter()
                    .map(|v| if v.len() == 1 { vec![v[0], v[0]] } else { v })
                    .collect();
                if p != hw {
                    return Err(disagree(key, format!("{p:?}"), format!("{hw:?}")));
                }
            }
        }
        if let Some(shapes) = doc.opt_nested_usize_list("conv_output_shapes")? {
            let expected: Vec<Vec<usize>> = geom
                .iter()
                .map(|g| vec![g.out_channels, g.out_h(), g.out_w()])
                .collect();
            if shapes != expected {
                return Err(disagree(
                    "conv_output_shapes",
                    format!("{shapes:?}"),
                    format!("{expected:?}"),
                ));
            }
        }
        let flat = geom.last().map_or(0, Conv2dShape::out_sample_len);
        if let Some(f) = doc.opt_usize("flatten_dim")? {
            if f != flat {
                return Err(disagree("flatten_dim", f.to_string(), flat.to_string()));
            }
        }
        if let Some(d) = doc.opt_f64_list("affine_dropouts")? {
            if d.len() != cfg.affine_widths.len() || d.iter().any(|p| !(0.0..=1.0).contains(p)) {
                return Err(doc.error(
                    "affine_dropouts",
                    "need one probability in [0, 1] per affine layer",
                ));
            }
        }
        let relu_note = "steermd applies the activation after every layer, as mdlearn";
        doc.expect_bool("activation_after_last_conv", true, relu_note)?;
        doc.expect_bool("activation_after_last_dense", true, relu_note)?;
        Ok(cfg)
    }

    /// Names of the tensors this configuration needs.
    pub fn tensor_names(&self) -> Vec<String> {
        crate::nn::model::layer_tensor_names(self.filters.len(), self.affine_widths.len())
    }
}

/// Reorder the columns of a dense weight `[out, c·h·w]` that reads an NCHW
/// flatten of `last`'s output so that it reads the NHWC flatten instead.
fn nchw_columns_to_nhwc(w: &[f32], last: &Conv2dShape) -> Vec<f32> {
    let (c_n, p_n) = (last.out_channels, last.out_h() * last.out_w());
    let mut out = vec![0.0; w.len()];
    for (src, dst) in w
        .chunks_exact(c_n * p_n)
        .zip(out.chunks_exact_mut(c_n * p_n))
    {
        for c in 0..c_n {
            for p in 0..p_n {
                dst[p * c_n + c] = src[c * p_n + p];
            }
        }
    }
    out
}

/// The `SymmetricConv2dVAE` encoder with its weights.
#[derive(Clone, Debug)]
pub struct CvaeEncoder {
    config: CvaeConfig,
    input_shape: Vec<usize>,
    convs: Vec<ConvLayer>,
    /// Dense layers, the `mu` head last.
    dense: Vec<DenseLayer>,
    workspace: Workspace,
}

impl CvaeEncoder {
    /// Load `dir/config.json` and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Self> {
        let (config, weights) = crate::nn::model::load_dir(
            dir,
            "cvae",
            CvaeConfig::from_doc,
            CvaeConfig::tensor_names,
        )?;
        Self::from_weights(config, weights)
    }

    /// Build from a configuration and named tensors (PyTorch layouts).
    pub fn from_weights(config: CvaeConfig, mut weights: Weights) -> Result<Self> {
        let geom = config.conv_geometry()?;
        let act = config.activation;
        let convs = geom
            .iter()
            .enumerate()
            .map(|(i, g)| ConvLayer::take(&mut weights, &format!("conv.{i}"), *g, false, act))
            .collect::<Result<Vec<_>>>()?;
        let mut dense = Vec::new();
        let mut width = geom.last().map_or(0, Conv2dShape::out_sample_len);
        for (j, &w) in config.affine_widths.iter().enumerate() {
            dense.push(DenseLayer::take(
                &mut weights,
                &format!("dense.{j}"),
                width,
                w,
                act,
            )?);
            width = w;
        }
        // PyTorch flattens NCHW; the convolutions here produce NHWC.
        if let (Some(last), Some(first)) = (geom.last(), dense.first_mut()) {
            first.w = nchw_columns_to_nhwc(&first.w, last);
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
        Ok(CvaeEncoder {
            input_shape: config.input_shape.to_vec(),
            config,
            convs,
            dense,
            workspace: Workspace::default(),
        })
    }

    /// An encoder with deterministic pseudo-random weights (benchmarks, tests).
    pub fn random(config: CvaeConfig, seed: u64) -> Result<Self> {
        let geom = config.conv_geometry()?;
        let mut rng = Rng::new(seed);
        let mut map = BTreeMap::new();
        for (i, g) in geom.iter().enumerate() {
            let shape = ConvLayer::weight_shape(g, false);
            random_pair(&mut rng, &mut map, &format!("conv.{i}"), &shape);
        }
        let mut width = geom.last().map_or(0, Conv2dShape::out_sample_len);
        for (j, &w) in config.affine_widths.iter().enumerate() {
            random_pair(&mut rng, &mut map, &format!("dense.{j}"), &[w, width]);
            width = w;
        }
        random_pair(&mut rng, &mut map, "mu", &[config.latent_dim, width]);
        Self::from_weights(config, Weights::new("random weights", map))
    }

    /// The architecture.
    pub fn config(&self) -> &CvaeConfig {
        &self.config
    }

    /// Per-sample input shape `[C, H, W]`.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Embedding width.
    pub fn latent_dim(&self) -> usize {
        self.config.latent_dim
    }

    /// Multiply-adds × 2 per sample (conv and dense layers).
    pub fn flops_per_sample(&self) -> f64 {
        let conv: usize = self
            .convs
            .iter()
            .map(|c| c.geom.out_sample_len() * c.geom.weight_len() / c.geom.out_channels)
            .sum();
        let dense: usize = self
            .dense
            .iter()
            .map(|d| d.in_features * d.out_features)
            .sum();
        2.0 * (conv + dense) as f64
    }

    /// Embed `batch` maps (`input` `[batch, C, H, W]`); returns `[batch, latent]`.
    pub fn embed(&self, device: &Device, input: &[f32], batch: usize) -> Result<Vec<f32>> {
        check_input(&self.input_shape, input, batch)?;
        let backend = device.backend()?;
        let be = &*backend;
        let sample = input.len() / batch.max(1);
        let max_act = self.convs.iter().map(ConvLayer::out_len).max().unwrap_or(0);
        let chunk = chunk_size(max_act).min(batch.max(1));
        let mut buf = self.workspace.take(2 * chunk * max_act);
        let (a, b) = buf.split_at_mut(chunk * max_act);
        let mut out = Vec::with_capacity(batch * self.latent_dim());
        let [c, h, w] = self.config.input_shape;
        let mut nhwc = Vec::new();
        for start in (0..batch).step_by(chunk) {
            let nb = chunk.min(batch - start);
            let mut x = &input[start * sample..(start + nb) * sample];
            if c > 1 {
                nhwc.clear();
                for s in x.chunks_exact(sample) {
                    nhwc.extend((0..h * w).flat_map(|p| (0..c).map(move |ci| s[ci * h * w + p])));
                }
                x = &nhwc;
            }
            let flat = run_convs(be, &self.convs, nb, x, a, b)?;
            out.extend(run_dense(be, &self.dense, nb, flat)?);
        }
        self.workspace.put(buf);
        Ok(out)
    }
}
