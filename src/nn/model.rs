//! [`Encoder`]: a trained encoder of either kind, loaded from an export
//! directory, plus the checks shared by both kinds.

use std::path::Path;
use std::sync::Mutex;

use crate::backend::Device;
use crate::error::{check_finite, Error, Result};
use crate::nn::aae::AaeEncoder;
use crate::nn::config::ConfigDoc;
use crate::nn::cvae::CvaeEncoder;
use crate::nn::weights::Weights;

/// Activation elements (f32) one chunk of samples may occupy per buffer:
/// 64 MiB, so memory stays bounded whatever the batch.
const CHUNK_ELEMS: usize = 16 << 20;
/// Most samples processed together.
const MAX_CHUNK: usize = 256;

/// A trained encoder: the contact-map CVAE or the point-cloud AAE.
#[derive(Clone, Debug)]
pub enum Encoder {
    /// mdlearn `SymmetricConv2dVAE` encoder (input `[1, H, W]` maps).
    Cvae(CvaeEncoder),
    /// mdlearn `AAE3d` encoder (input `[3 + F, N]` point clouds).
    Aae(AaeEncoder),
}

impl Encoder {
    /// Load `dir/config.json` (its `kind` picks the model) and `dir/model.safetensors`.
    pub fn load(dir: &Path) -> Result<Encoder> {
        let config = dir.join("config.json");
        let mut doc = ConfigDoc::read(&config)?;
        match doc.string("kind")?.as_str() {
            "cvae" => CvaeEncoder::load(dir).map(Encoder::Cvae),
            "aae" => AaeEncoder::load(dir).map(Encoder::Aae),
            other => Err(doc.error(
                "kind",
                format!("unknown model kind \"{other}\" (expected \"cvae\" or \"aae\")"),
            )),
        }
    }

    /// Per-sample input shape (`[C, H, W]` or `[3 + F, N]`).
    pub fn input_shape(&self) -> &[usize] {
        match self {
            Encoder::Cvae(e) => e.input_shape(),
            Encoder::Aae(e) => e.input_shape(),
        }
    }

    /// Embedding width.
    pub fn latent_dim(&self) -> usize {
        match self {
            Encoder::Cvae(e) => e.latent_dim(),
            Encoder::Aae(e) => e.latent_dim(),
        }
    }

    /// Embed `batch` samples stored back to back in `input`; returns the
    /// embeddings (`mu`) row-major `[batch, latent_dim]`.
    pub fn embed(&self, device: &Device, input: &[f32], batch: usize) -> Result<Vec<f32>> {
        match self {
            Encoder::Cvae(e) => e.embed(device, input, batch),
            Encoder::Aae(e) => e.embed(device, input, batch),
        }
    }
}

/// A reusable activation buffer owned by an encoder, so repeated `embed`
/// calls do not allocate (and page-fault) their activations afresh. A call
/// that finds it taken by a concurrent call allocates its own.
#[derive(Debug, Default)]
pub(crate) struct Workspace(Mutex<Vec<f32>>);

impl Clone for Workspace {
    fn clone(&self) -> Self {
        Workspace::default()
    }
}

impl Workspace {
    /// A buffer of at least `len` values (contents unspecified).
    pub fn take(&self, len: usize) -> Vec<f32> {
        let mut v = match self.0.try_lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(_) => Vec::new(),
        };
        if v.len() < len {
            v.resize(len, 0.0);
        }
        v
    }

    /// Return a buffer for the next call.
    pub fn put(&self, v: Vec<f32>) {
        if let Ok(mut g) = self.0.try_lock() {
            if g.len() < v.len() {
                *g = v;
            }
        }
    }
}

/// Check `input` holds `batch` finite samples of `shape`.
pub(crate) fn check_input(shape: &[usize], input: &[f32], batch: usize) -> Result<()> {
    let sample: usize = shape.iter().product();
    if input.len() != batch * sample {
        return Err(Error::Shape(format!(
            "encoder input: {} values for batch {batch} of shape {shape:?} \
             (expected {batch} × {sample} = {})",
            input.len(),
            batch * sample
        )));
    }
    check_finite("encoder input", input, sample.max(1))
}

/// Samples per chunk so that one activation buffer stays within budget.
pub(crate) fn chunk_size(max_sample_elems: usize) -> usize {
    (CHUNK_ELEMS / max_sample_elems.max(1)).clamp(1, MAX_CHUNK)
}

/// Sorted tensor names of an encoder with `n_conv` conv layers, `n_dense`
/// dense layers and a `mu` head: `conv.{i}.{bias,weight}`, `dense.{j}.…`, `mu.…`.
pub(crate) fn layer_tensor_names(n_conv: usize, n_dense: usize) -> Vec<String> {
    let prefixes = (0..n_conv)
        .map(|i| format!("conv.{i}"))
        .chain((0..n_dense).map(|j| format!("dense.{j}")))
        .chain(["mu".to_string()]);
    let mut names: Vec<String> = prefixes
        .flat_map(|p| [format!("{p}.bias"), format!("{p}.weight")])
        .collect();
    names.sort();
    names
}

/// Read `dir/config.json` of model `kind` with `from_doc`, check its
/// `tensor_names` list (when present) against the architecture's, and open
/// `dir/model.safetensors`.
pub(crate) fn load_dir<C>(
    dir: &Path,
    kind: &str,
    from_doc: impl FnOnce(&mut ConfigDoc) -> Result<C>,
    tensor_names: impl FnOnce(&C) -> Vec<String>,
) -> Result<(C, Weights)> {
    let mut doc = ConfigDoc::read(&dir.join("config.json"))?;
    let found = doc.string("kind")?;
    if found != kind {
        return Err(doc.error("kind", format!("expected \"{kind}\", found \"{found}\"")));
    }
    let (config, names) = read_common(&mut doc, from_doc)?;
    doc.finish()?;
    if let Some(names) = names {
        check_tensor_names(dir, &names, &tensor_names(&config))?;
    }
    let weights = Weights::from_safetensors(&dir.join("model.safetensors"))?;
    Ok((config, weights))
}

/// Read the keys both kinds share, then the kind-specific ones with `f`.
/// Returns the configuration and the tensor names the file lists, if any.
fn read_common<T>(
    doc: &mut ConfigDoc,
    f: impl FnOnce(&mut ConfigDoc) -> Result<T>,
) -> Result<(T, Option<Vec<String>>)> {
    doc.expect_prefix("dtype", "float32", "only float32 weights are supported")?;
    doc.expect_bool(
        "eval_mode",
        true,
        "only eval-mode (inference) export is supported",
    )?;
    doc.expect_prefix(
        "batchnorm",
        "none",
        "batch norm is not supported (mdlearn's encoders have none)",
    )?;
    let names = doc.opt_string_list("tensor_names")?;
    Ok((f(doc)?, names))
}

/// Fail when the tensor list in `config.json` differs from what the
/// architecture needs.
fn check_tensor_names(dir: &Path, listed: &[String], needed: &[String]) -> Result<()> {
    let mut listed = listed.to_vec();
    listed.sort();
    if listed == needed {
        return Ok(());
    }
    Err(Error::Model(format!(
        "{}: 'tensor_names' lists {listed:?} but the architecture needs {needed:?}",
        dir.join("config.json").display()
    )))
}
