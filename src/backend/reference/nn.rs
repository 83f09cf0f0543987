//! Neural-network kernels for the reference backend: direct loops over the
//! definition with f64 accumulators.

use super::ReferenceBackend;
use crate::error::Result;
use crate::nn::kernels::{
    check_max_args, Activation, Conv1dShape, Conv2dShape, Layout, LinearShape, NnKernels,
};

impl NnKernels for ReferenceBackend {
    fn conv2d(
        &self,
        s: &Conv2dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        let (oh_n, ow_n) = (s.out_h(), s.out_w());
        let (kh_n, kw_n) = (s.kernel_h, s.kernel_w);
        // Offset of element (n, c, h, w) in an image batch of `layout`.
        let at =
            |n: usize, c: usize, h: usize, w: usize, (cn, hn, wn): (usize, usize, usize)| match s
                .layout
            {
                Layout::Nchw => ((n * cn + c) * hn + h) * wn + w,
                Layout::Nhwc => ((n * hn + h) * wn + w) * cn + c,
            };
        let in_dims = (s.in_channels, s.in_h, s.in_w);
        let out_dims = (s.out_channels, oh_n, ow_n);
        for n in 0..s.batch {
            for co in 0..s.out_channels {
                for oh in 0..oh_n {
                    for ow in 0..ow_n {
                        let mut acc = b[co] as f64;
                        for ci in 0..s.in_channels {
                            for kh in 0..kh_n {
                                let ih = (oh * s.stride + kh) as isize - s.pad_h as isize;
                                if ih < 0 || ih >= s.in_h as isize {
                                    continue;
                                }
                                for kw in 0..kw_n {
                                    let iw = (ow * s.stride + kw) as isize - s.pad_w as isize;
                                    if iw < 0 || iw >= s.in_w as isize {
                                        continue;
                                    }
                                    let xi = at(n, ci, ih as usize, iw as usize, in_dims);
                                    let wi = ((co * s.in_channels + ci) * kh_n + kh) * kw_n + kw;
                                    acc += x[xi] as f64 * w[wi] as f64;
                                }
                            }
                        }
                        out[at(n, co, oh, ow, out_dims)] = act.apply_f64(acc) as f32;
                    }
                }
            }
        }
        Ok(())
    }

    fn conv1d(
        &self,
        s: &Conv1dShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        let lo_n = s.out_len();
        let mut o = 0;
        for n in 0..s.batch {
            let xn = &x[n * s.in_channels * s.in_len..];
            for (co, &bias) in b.iter().enumerate() {
                for lo in 0..lo_n {
                    let mut acc = bias as f64;
                    for ci in 0..s.in_channels {
                        for k in 0..s.kernel {
                            let li = (lo * s.stride + k) as isize - s.padding as isize;
                            if li < 0 || li >= s.in_len as isize {
                                continue;
                            }
                            let wi = (co * s.in_channels + ci) * s.kernel + k;
                            acc += xn[ci * s.in_len + li as usize] as f64 * w[wi] as f64;
                        }
                    }
                    out[o] = act.apply_f64(acc) as f32;
                    o += 1;
                }
            }
        }
        Ok(())
    }

    fn linear(
        &self,
        s: &LinearShape,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        act: Activation,
        out: &mut [f32],
    ) -> Result<()> {
        s.check(x, w, b, out)?;
        for (xr, outr) in x
            .chunks_exact(s.in_features)
            .zip(out.chunks_exact_mut(s.out_features))
        {
            for (j, o) in outr.iter_mut().enumerate() {
                let wr = &w[j * s.in_features..(j + 1) * s.in_features];
                let dot: f64 = xr.iter().zip(wr).map(|(&a, &c)| a as f64 * c as f64).sum();
                *o = act.apply_f64(dot + b[j] as f64) as f32;
            }
        }
        Ok(())
    }

    fn max_over_last_axis(
        &self,
        rows: usize,
        len: usize,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<()> {
        check_max_args(rows, len, x, out)?;
        for (xr, o) in x.chunks_exact(len).zip(out.iter_mut()) {
            *o = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        }
        Ok(())
    }
}
