//! The neural-network kernel contract every backend implements.
//!
//! Tensors are dense, row-major `f32` slices: activations NCHW or NHWC (2-D,
//! see [`Layout`]) or NCL (1-D); weights in PyTorch layouts, `[out, in, kh, kw]`
//! / `[out, in, k]` for convolutions and `[out, in]` for dense layers. Every kernel fuses the bias and
//! an [`Activation`] into its output. Kernels check slice lengths against the
//! shape they are given (cheaply, returning [`Error::Shape`]); everything else
//! (finite input, model consistency) is validated once by the caller.

use crate::error::{Error, Result};

/// Activation fused into a kernel's epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x >= 0`, `slope * x` otherwise.
    LeakyRelu(f32),
}

impl Activation {
    /// Apply the activation to one value.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(s) => {
                if x >= 0.0 {
                    x
                } else {
                    x * s
                }
            }
        }
    }

    /// Apply the activation to one f64 value (reference kernels).
    pub fn apply_f64(self, x: f64) -> f64 {
        match self {
            Activation::Identity => x,
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(s) => {
                if x >= 0.0 {
                    x
                } else {
                    x * s as f64
                }
            }
        }
    }
}

/// Output size of a convolution along one axis: `(n + 2p - k) / s + 1`, or
/// `None` when the kernel does not fit into the padded input or `s == 0`.
pub fn conv_output_size(n: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    if stride == 0 || kernel == 0 || n + 2 * padding < kernel {
        return None;
    }
    Some((n + 2 * padding - kernel) / stride + 1)
}

/// Memory layout of a batch of 2-D activations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// `[batch, channels, height, width]` (PyTorch's).
    #[default]
    Nchw,
    /// `[batch, height, width, channels]` (channels innermost: the fast CPU layout).
    Nhwc,
}

/// Geometry of a 2-D convolution over a batch of images, with symmetric zero
/// padding and the same stride along both axes. Input and output share `layout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Layout of input and output (weights are always `[out, in, kh, kw]`).
    pub layout: Layout,
    /// Number of samples.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Stride along both axes.
    pub stride: usize,
    /// Zero rows added above and below.
    pub pad_h: usize,
    /// Zero columns added left and right.
    pub pad_w: usize,
}

impl Conv2dShape {
    /// Output height (0 when the geometry is impossible).
    pub fn out_h(&self) -> usize {
        conv_output_size(self.in_h, self.kernel_h, self.stride, self.pad_h).unwrap_or(0)
    }

    /// Output width (0 when the geometry is impossible).
    pub fn out_w(&self) -> usize {
        conv_output_size(self.in_w, self.kernel_w, self.stride, self.pad_w).unwrap_or(0)
    }

    /// Elements of one input sample.
    pub fn in_sample_len(&self) -> usize {
        self.in_channels * self.in_h * self.in_w
    }

    /// Elements of one output sample.
    pub fn out_sample_len(&self) -> usize {
        self.out_channels * self.out_h() * self.out_w()
    }

    /// Length of the weight tensor `[out, in, kh, kw]`.
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.in_channels * self.kernel_h * self.kernel_w
    }

    /// Check the geometry and the slice lengths handed to a kernel.
    pub fn check(&self, x: &[f32], w: &[f32], b: &[f32], out: &[f32]) -> Result<()> {
        if conv_output_size(self.in_h, self.kernel_h, self.stride, self.pad_h).is_none()
            || conv_output_size(self.in_w, self.kernel_w, self.stride, self.pad_w).is_none()
            || self.in_channels == 0
            || self.out_channels == 0
        {
            return Err(Error::Shape(format!(
                "conv2d: impossible geometry {self:?}"
            )));
        }
        check_len("conv2d input", x.len(), self.batch * self.in_sample_len())?;
        check_len("conv2d weight", w.len(), self.weight_len())?;
        check_len("conv2d bias", b.len(), self.out_channels)?;
        check_len(
            "conv2d output",
            out.len(),
            self.batch * self.out_sample_len(),
        )
    }
}

/// Geometry of a 1-D convolution over a batch of NCL tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1dShape {
    /// Number of samples.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input length.
    pub in_len: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zeros added at both ends.
    pub padding: usize,
}

impl Conv1dShape {
    /// Output length (0 when the geometry is impossible).
    pub fn out_len(&self) -> usize {
        conv_output_size(self.in_len, self.kernel, self.stride, self.padding).unwrap_or(0)
    }

    /// The same convolution as a 2-D one over `[N, C, 1, L]`.
    pub fn as_conv2d(&self) -> Conv2dShape {
        Conv2dShape {
            layout: Layout::Nchw,
            batch: self.batch,
            in_channels: self.in_channels,
            in_h: 1,
            in_w: self.in_len,
            out_channels: self.out_channels,
            kernel_h: 1,
            kernel_w: self.kernel,
            stride: self.stride,
            pad_h: 0,
            pad_w: self.padding,
        }
    }

    /// Check the geometry and the slice lengths handed to a kernel.
    pub fn check(&self, x: &[f32], w: &[f32], b: &[f32], out: &[f32]) -> Result<()> {
        self.as_conv2d()
            .check(x, w, b, out)
            .map_err(|e| Error::Shape(e.to_string().replace("conv2d", "conv1d")))
    }
}

/// Geometry of a dense layer `y = x · Wᵀ + b` over a batch of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearShape {
    /// Number of rows (samples).
    pub batch: usize,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
}

impl LinearShape {
    /// Check the slice lengths handed to a kernel.
    pub fn check(&self, x: &[f32], w: &[f32], b: &[f32], out: &[f32]) -> Result<()> {
        if self.in_features == 0 || self.out_features == 0 {
            return Err(Error::Shape(format!("linear: empty layer {self:?}")));
        }
        check_len("linear input", x.len(), self.batch * self.in_features)?;
        check_len(
            "linear weight",
            w.len(),
            self.out_features * self.in_features,
        )?;
        check_len("linear bias", b.len(), self.out_features)?;
        check_len("linear output", out.len(), self.batch * self.out_features)
    }
}

/// Fail with [`Error::Shape`] unless `found == expected`.
pub fn check_len(what: &str, found: usize, expected: usize) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "{what}: expected {expected} elements, found {found}"
        )))
    }
}

/// Convolution, dense-layer and pooling kernels.
///
/// Implementations must be deterministic: the same inputs give bitwise the
/// same outputs whatever the number of threads.
pub trait NnKernels {
    /// 2-D convolution (cross-correlation, as PyTorch) of input `x` with
    /// weights `w` `[out, in, kh, kw]` and bias `b` `[out]`, then `act`;
    /// writes `out` (`[batch, out, out_h, out_w]` or, for
    /// [`Layout::Nhwc`], `[batch, out_h, out_w, out]`).
    fn conv2d(
        &self,
        shape: &Conv2dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()>;

    /// 1-D convolution over NCL input `x` with weights `w` `[out, in, k]` and
    /// bias `b` `[out]`, then `act`; writes `out` `[batch, out, out_len]`.
    fn conv1d(
        &self,
        shape: &Conv1dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()>;

    /// Dense layer `out = act(x · wᵀ + b)` with `x` `[batch, in]`, `w`
    /// `[out, in]` (PyTorch layout), `out` `[batch, out]`.
    fn linear(
        &self,
        shape: &LinearShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()>;

    /// `out[r] = max_j x[r * len + j]` for `rows` rows of `len > 0` values.
    fn max_over_last_axis(&self, rows: usize, len: usize, x: &[f32], out: &mut [f32])
        -> Result<()>;
}

/// Check the arguments of [`NnKernels::max_over_last_axis`].
pub fn check_max_args(rows: usize, len: usize, x: &[f32], out: &[f32]) -> Result<()> {
    if len == 0 {
        return Err(Error::Shape("max over last axis: axis is empty".into()));
    }
    check_len("max input", x.len(), rows * len)?;
    check_len("max output", out.len(), rows)
}
