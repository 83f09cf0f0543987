//! The adaptive-sampling driver: an ensemble of Langevin simulations whose
//! frames become contact maps, embeddings and RMSDs in memory; every
//! iteration the ranks gather the latest latent vectors, find outliers and
//! restart simulations from them (DeepDriveMD's loop, in one program).

pub mod comm;
pub mod plot;
pub mod states;

pub use comm::{Communicator, SingleProcess};
