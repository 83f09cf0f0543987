//! The adaptive-sampling driver: an ensemble of Langevin simulations whose
//! frames become contact maps, embeddings and RMSDs in memory; every
//! iteration the ranks gather the latest latent vectors, find outliers and
//! restart simulations from them (DeepDriveMD's loop, in one program).

pub mod agent;
pub mod comm;

pub use agent::{agent_step, AgentOptions, AgentStep, AgentTimings, LocalFrames, OutlierMethod};
pub use comm::{Communicator, SingleProcess, ThreadComm};
