//! C ABI: trained encoders (CVAE over contact maps, AAE over point clouds).

use std::ffi::c_char;
use std::path::Path;

use super::handles::{get, register, release, Handle};
use super::status::{buffer_len, c_str, guard, in_slice, null, out_slice, steermd_status};
use crate::backend::Device;
use crate::error::Error;
use crate::nn::Encoder;

/// A loaded encoder (weights + configuration).
pub struct steermd_encoder {
    encoder: Encoder,
}

impl Handle for steermd_encoder {
    const NAME: &'static str = "steermd_encoder";
}

/// Load an encoder from a model directory holding `config.json` and
/// `model.safetensors` (as written by `tools/export_cvae.py` or
/// `tools/export_aae.py`). Release with `steermd_encoder_free`.
///
/// # Safety
/// `dir` NUL-terminated; `out` valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_encoder_load(
    dir: *const c_char,
    out: *mut *mut steermd_encoder,
) -> steermd_status {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: caller contract above.
        let dir = unsafe { c_str(dir, "dir") }?;
        let encoder = Encoder::load(Path::new(dir))?;
        // SAFETY: `out` is non-null and writable per the caller contract.
        unsafe { *out = register(steermd_encoder { encoder }) };
        Ok(())
    })
}

/// Values per input sample (`*input_size`, e.g. `1*n*n` for a CVAE over n×n
/// contact maps, `3*N` for an AAE over N points) and latent dimension
/// (`*latent_dim`). Either output may be NULL.
///
/// # Safety
/// `enc` a valid handle; outputs NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn steermd_encoder_shape(
    enc: *const steermd_encoder,
    input_size: *mut usize,
    latent_dim: *mut usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let e = &unsafe { get(enc, "enc") }?.encoder;
        // SAFETY: caller contract above (NULL allowed).
        if let Some(v) = unsafe { input_size.as_mut() } {
            *v = e.input_shape().iter().product();
        }
        // SAFETY: caller contract above (NULL allowed).
        if let Some(v) = unsafe { latent_dim.as_mut() } {
            *v = e.latent_dim();
        }
        Ok(())
    })
}

/// Embed `batch` samples: `input` holds `batch * input_size` floats (contact
/// maps as 0/1 values, or point clouds in the units the model was trained on);
/// `latent` receives `batch * latent_dim` floats (the encoder's mean, mu).
///
/// # Safety
/// `enc` a valid handle; `input` valid for `input_len` reads; `latent` for
/// `latent_len` writes.
#[no_mangle]
pub unsafe extern "C" fn steermd_encoder_embed(
    enc: *const steermd_encoder,
    input: *const f32,
    batch: usize,
    input_len: usize,
    latent: *mut f32,
    latent_len: usize,
) -> steermd_status {
    guard(|| {
        // SAFETY: caller contract above.
        let e = &unsafe { get(enc, "enc") }?.encoder;
        let per: usize = e.input_shape().iter().product();
        let (Some(needed_in), Some(needed_out)) =
            (batch.checked_mul(per), batch.checked_mul(e.latent_dim()))
        else {
            return Err(Error::Shape(format!("batch {batch} overflows")).into());
        };
        if input_len != needed_in {
            return Err(Error::Shape(format!(
                "argument 'input' holds {input_len} floats but batch {batch} x input size {per} = {needed_in} are needed"
            ))
            .into());
        }
        // SAFETY: caller contract above.
        let x = unsafe { in_slice(input, input_len, "input") }?;
        if latent.is_null() {
            return Err(null("latent"));
        }
        if latent_len < needed_out {
            return Err(buffer_len("latent", latent_len, needed_out));
        }
        let z = e.embed(&Device::Cpu, x, batch)?;
        // SAFETY: caller contract above.
        unsafe { out_slice(latent, latent_len, z.len(), "latent") }?.copy_from_slice(&z);
        Ok(())
    })
}

/// Release an encoder. NULL is ignored; a pointer that is not a live
/// encoder handle (e.g. one already freed) is left alone and reported through
/// `steermd_last_error_message`.
///
/// # Safety
/// `enc` must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn steermd_encoder_free(enc: *mut steermd_encoder) {
    let _ = guard(|| {
        // SAFETY: caller contract above.
        unsafe { release(enc, "enc") }?;
        Ok(())
    });
}
