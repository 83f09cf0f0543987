//! # steermd
//!
//! Compute core of ML-steered molecular dynamics workflows (DeepDriveMD-style):
//! simulations produce frames, frames become Cα contact maps, a trained
//! convolutional VAE embeds the maps, outlier detection in latent space picks
//! restart points.
//!
//! Kernel families, each reached through a [`backend::Backend`] chosen with a
//! [`Device`]:
//! - [`analysis`]: contact maps and RMSD after optimal superposition,
//! - [`nn`]: CVAE (contact-map) and AAE (point-cloud) encoder inference,
//! - [`outliers`]: exact k-nearest neighbours, LOF, DBSCAN,
//! - [`forcefield`]: Amber-style force fields with OBC2 implicit solvent,
//! - [`integrate`]: Langevin and velocity-Verlet dynamics, constraints, minimization.
//!
//! Units follow OpenMM everywhere: nm, ps, kJ/mol, amu, K, elementary charge.
//! Every fallible function returns [`Result`]; the C ABI in [`capi`] maps the
//! same errors onto status codes.

pub mod analysis;
pub mod backend;
pub mod capi;
pub mod drive;
mod elements;
pub mod error;
pub mod forcefield;
pub mod frames;
pub mod integrate;
pub mod io;
pub mod nn;
pub mod outliers;
pub mod warnings;

pub use backend::{Backend, Device, Precision};
pub use error::{Error, Result};
pub use frames::Frames;

/// The crate version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
