//! Layers with their weights, run through a backend's [`NnKernels`].

use crate::backend::Backend;
use crate::error::Result;
use crate::nn::kernels::{Activation, Conv1dShape, Conv2dShape, LinearShape};
use crate::nn::weights::{Rng, Tensor, Weights};

/// A convolution (per-sample geometry; `batch` is set per call). A 1-D
/// convolution is stored as a 2-D one of height 1 and run as `conv1d`.
#[derive(Clone, Debug)]
pub(crate) struct ConvLayer {
    pub geom: Conv2dShape,
    pub one_d: bool,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub act: Activation,
}

impl ConvLayer {
    /// PyTorch weight shape `[out, in, kh, kw]`, or `[out, in, k]` for 1-D.
    pub fn weight_shape(geom: &Conv2dShape, one_d: bool) -> Vec<usize> {
        let (o, i) = (geom.out_channels, geom.in_channels);
        if one_d {
            vec![o, i, geom.kernel_w]
        } else {
            vec![o, i, geom.kernel_h, geom.kernel_w]
        }
    }

    /// Take `{prefix}.weight` and `{prefix}.bias` from `weights`.
    pub fn take(
        weights: &mut Weights,
        prefix: &str,
        geom: Conv2dShape,
        one_d: bool,
        act: Activation,
    ) -> Result<Self> {
        let w = weights.take(
            &format!("{prefix}.weight"),
            &Self::weight_shape(&geom, one_d),
        )?;
        let b = weights.take(&format!("{prefix}.bias"), &[geom.out_channels])?;
        Ok(ConvLayer {
            geom,
            one_d,
            w,
            b,
            act,
        })
    }

    /// Elements of one output sample.
    pub fn out_len(&self) -> usize {
        self.geom.out_sample_len()
    }

    /// Run on `batch` samples of `x`, writing `out`.
    pub fn forward(
        &self,
        be: &dyn Backend,
        batch: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<()> {
        let g = Conv2dShape { batch, ..self.geom };
        let out = &mut out[..batch * g.out_sample_len()];
        if self.one_d {
            let s = Conv1dShape {
                batch,
                in_channels: g.in_channels,
                in_len: g.in_w,
                out_channels: g.out_channels,
                kernel: g.kernel_w,
                stride: g.stride,
                padding: g.pad_w,
            };
            be.conv1d(&s, x, &self.w, &self.b, self.act, out)
        } else {
            be.conv2d(&g, x, &self.w, &self.b, self.act, out)
        }
    }
}

/// A dense layer `act(x · Wᵀ + b)`.
#[derive(Clone, Debug)]
pub(crate) struct DenseLayer {
    pub in_features: usize,
    pub out_features: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub act: Activation,
}

impl DenseLayer {
    /// Take `{prefix}.weight` `[out, in]` and `{prefix}.bias` `[out]` from `weights`.
    pub fn take(
        weights: &mut Weights,
        prefix: &str,
        in_features: usize,
        out_features: usize,
        act: Activation,
    ) -> Result<Self> {
        let w = weights.take(&format!("{prefix}.weight"), &[out_features, in_features])?;
        let b = weights.take(&format!("{prefix}.bias"), &[out_features])?;
        Ok(DenseLayer {
            in_features,
            out_features,
            w,
            b,
            act,
        })
    }

    /// Run on `batch` rows of `x`, writing `out`.
    pub fn forward(
        &self,
        be: &dyn Backend,
        batch: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<()> {
        let s = LinearShape {
            batch,
            in_features: self.in_features,
            out_features: self.out_features,
        };
        be.linear(
            &s,
            &x[..batch * self.in_features],
            &self.w,
            &self.b,
            self.act,
            &mut out[..batch * self.out_features],
        )
    }
}

/// Add random `{prefix}.weight` of `shape` and `{prefix}.bias` to `map`.
pub(crate) fn random_pair(
    rng: &mut Rng,
    map: &mut std::collections::BTreeMap<String, Tensor>,
    prefix: &str,
    shape: &[usize],
) {
    let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
    map.insert(format!("{prefix}.weight"), rng.tensor(shape));
    let bias = rng.tensor_scaled(&shape[..1], 1.0 / (fan_in as f32).sqrt());
    map.insert(format!("{prefix}.bias"), bias);
}

/// Run `layers` in turn on `batch` samples starting from `input`, using the
/// ping-pong buffers `a` and `b`; returns whichever buffer holds the result.
pub(crate) fn run_convs<'a>(
    be: &dyn Backend,
    layers: &[ConvLayer],
    batch: usize,
    input: &[f32],
    a: &'a mut [f32],
    b: &'a mut [f32],
) -> Result<&'a [f32]> {
    let (mut cur, mut next) = (a, b);
    for (i, layer) in layers.iter().enumerate() {
        if i == 0 {
            layer.forward(be, batch, input, cur)?;
        } else {
            layer.forward(be, batch, &cur[..batch * layers[i - 1].out_len()], next)?;
            std::mem::swap(&mut cur, &mut next);
        }
    }
    Ok(&cur[..batch * layers.last().map_or(0, ConvLayer::out_len)])
}

/// Run dense `layers` in turn on `batch` rows of `input`; returns the output.
pub(crate) fn run_dense(
    be: &dyn Backend,
    layers: &[DenseLayer],
    batch: usize,
    input: &[f32],
) -> Result<Vec<f32>> {
    let mut cur: Vec<f32> = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let mut out = vec![0.0; batch * layer.out_features];
        let x = if i == 0 { input } else { &cur };
        layer.forward(be, batch, x, &mut out)?;
        cur = out;
    }
    Ok(cur)
}
