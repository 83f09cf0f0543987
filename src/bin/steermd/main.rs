//! `steermd`: the agent half of an ML-steered MD workflow from the command line.
//!
//! Subcommands read standard files (PDB, DCD, `.npy`, model directories) and
//! write `.npy` outputs atomically: a failed command prints one error line,
//! exits non-zero and leaves no partial output behind.

mod agent;
mod args;
mod commands;
mod drive;
mod md;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("steermd: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: args::Cli) -> steermd::Result<()> {
    let device = steermd::Device::parse(&cli.device)?;
    let precision = steermd::Precision::parse(cli.precision.as_deref().unwrap_or("mixed"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cli.threads.unwrap_or(0))
        .build()
        .map_err(|e| steermd::Error::InvalidArgument(format!("--threads: {e}")))?;
    pool.install(|| match cli.command {
        args::Command::Contacts(a) => commands::contacts(&device, &a),
        args::Command::Embed(a) => commands::embed(&device, &a),
        args::Command::Outliers(a) => commands::outliers(&device, &a),
        args::Command::Rmsd(a) => commands::rmsd(&device, &a),
        args::Command::Agent(a) => agent::run(&device, &a),
        args::Command::Energy(a) => md::energy(&device, precision, &a),
        args::Command::Simulate(a) => md::simulate(&device, precision, &a),
        args::Command::Drive(a) => drive::run(&device, cli.precision.as_deref(), &a),
    })
}
