//! Encoder inference: the CVAE contact-map encoder and the AAE point-cloud encoder.
//!
//! Models are exported from mdlearn by `tools/export_cvae.py` /
//! `tools/export_aae.py` as `config.json` + `model.safetensors` and loaded
//! with [`Encoder::load`]; [`Encoder::embed`] runs them on any [`Device`]
//! through the [`kernels::NnKernels`] contract.
//!
//! [`Device`]: crate::Device

pub mod aae;
mod config;
pub mod cvae;
pub mod kernels;
mod layers;
pub mod model;
pub mod point_cloud;
pub mod weights;

pub use aae::{AaeConfig, AaeEncoder};
pub use cvae::{mdlearn_padding, CvaeConfig, CvaeEncoder};
pub use kernels::Activation;
pub use model::Encoder;
pub use point_cloud::point_clouds;
pub use weights::{Tensor, Weights};
