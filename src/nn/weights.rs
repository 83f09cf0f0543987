//! Named f32 tensors: read from a safetensors file or built in memory, then
//! taken one by one with their expected shapes.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{check_finite, Error, Result};

/// One dense f32 tensor (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor from its shape and data.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Shape(format!(
                "tensor of shape {shape:?} needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }
}

/// A set of named tensors and where they came from (for error messages).
pub struct Weights {
    origin: String,
    tensors: BTreeMap<String, Tensor>,
}

impl Weights {
    /// Named in-memory tensors; `origin` describes them in errors.
    pub fn new(origin: impl Into<String>, tensors: BTreeMap<String, Tensor>) -> Self {
        Weights {
            origin: origin.into(),
            tensors,
        }
    }

    /// Read every tensor of a safetensors file; all must be f32.
    pub fn from_safetensors(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::format(path, format!("not a valid safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(Error::Model(format!(
                    "tensor '{name}' in {}: dtype {:?}, expected F32",
                    path.display(),
                    view.dtype()
                )));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(name, Tensor::new(view.shape().to_vec(), data)?);
        }
        Ok(Weights::new(path.display().to_string(), tensors))
    }

    /// Remove tensor `name`, checking its shape and that it is finite.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self.tensors.remove(name).ok_or_else(|| {
            Error::Model(format!(
                "tensor '{name}' (shape {shape:?}) missing from {}",
                self.origin
            ))
        })?;
        if t.shape != shape {
            return Err(Error::Model(format!(
                "tensor '{name}' in {}: expected shape {shape:?}, found {:?}",
                self.origin, t.shape
            )));
        }
        check_finite(&format!("tensor '{name}' in {}", self.origin), &t.data, 1)?;
        Ok(t.data)
    }

    /// Fail if tensors the model did not use are left over.
    pub fn finish(self) -> Result<()> {
        if self.tensors.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self
            .tensors
            .iter()
            .map(|(n, t)| format!("{n} {:?}", t.shape))
            .collect();
        Err(Error::Model(format!(
            "{} holds tensors the configuration does not describe: {}",
            self.origin,
            names.join(", ")
        )))
    }
}

/// Deterministic pseudo-random weights for benchmarks and tests
/// (splitmix64; uniform in ±1/√fan_in, as PyTorch's default init).
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// A tensor of `shape` uniform in ±1/√fan_in, fan_in = product of all but the first dim.
    pub fn tensor(&mut self, shape: &[usize]) -> Tensor {
        let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
        self.tensor_scaled(shape, 1.0 / (fan_in as f32).sqrt())
    }

    /// A tensor of `shape` uniform in ±`scale`.
    pub fn tensor_scaled(&mut self, shape: &[usize], scale: f32) -> Tensor {
        let n = shape.iter().product();
        let data = (0..n).map(|_| self.uniform() * scale).collect();
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }
}
