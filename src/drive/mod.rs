//! The adaptive-sampling driver: an ensemble of Langevin simulations whose
//! frames become contact maps, embeddings and RMSDs in memory; every
//! iteration the ranks gather the latest latent vectors, find outliers and
//! restart simulations from them (DeepDriveMD's loop, in one program).
//!
//! Entry point: [`run_campaign`] with a [`DriveConfig`] (read from TOML by
//! [`DriveConfig::from_file`]) and a [`Communicator`] ([`SingleProcess`],
//! or `comm::mpi::MpiComm` with the `mpi` feature). Every random choice is
//! derived from the campaign seed, the iteration and the simulation index
//! ([`seeds`]), and simulations are analysed one batch each, so the restart
//! choices do not depend on the number of ranks or threads.

pub mod agent;
mod agent_dbscan;
pub mod analyzer;
pub mod campaign;
pub mod checkpoint;
pub mod comm;
pub mod config;
pub mod ensemble;
pub mod output;
pub mod plot;
pub mod science;
pub mod seeds;
pub mod states;
pub mod steering;
pub mod summary;

pub use agent::{agent_step, AgentOptions, AgentStep, AgentTimings, LocalFrames, OutlierMethod};
pub use campaign::{run_campaign, CampaignReport, Observer, Silent};
pub use comm::{Communicator, SingleProcess, ThreadComm};
pub use config::{DriveConfig, Mode};
pub use steering::{RestartFrom, Steering, SteeringConfig, SteeringIteration};
pub use summary::IterationSummary;
