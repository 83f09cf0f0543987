//! `steermd drive`: the adaptive-sampling campaign, optionally compared
//! with plain MD (the README's main job).

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use steermd::drive::{run_campaign, Communicator, DriveConfig, IterationSummary, Mode, Observer};
use steermd::{Device, Error, Result};

use crate::args::{DriveArgs, ModeArg};

/// The bundled campaign, with paths relative to its own directory.
const DEFAULT_CONFIG: &str = include_str!("../../../examples/drive/villin.toml");

fn default_config() -> Result<DriveConfig> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/drive");
    let origin = base.join("villin.toml");
    let mut cfg = DriveConfig::from_toml(DEFAULT_CONFIG, &origin, &base)?;
    cfg.output.dir = PathBuf::from("steermd-campaign");
    Ok(cfg)
}

/// The communicator of this process: MPI when built with `mpi`.
#[cfg(feature = "mpi")]
fn communicator() -> Result<Box<dyn Communicator>> {
    let c = steermd::drive::comm::mpi::MpiComm::init()?;
    c.install_abort_on_panic();
    Ok(Box::new(c))
}

#[cfg(not(feature = "mpi"))]
fn communicator() -> Result<Box<dyn Communicator>> {
    Ok(Box::new(steermd::drive::SingleProcess))
}

/// Progress bar on rank 0, summary lines on stdout.
struct Progress {
    bar: Option<ProgressBar>,
    rank: usize,
}

impl Observer for Progress {
    fn frame_done(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn iteration_done(&self, s: &IterationSummary) {
        if self.rank == 0 {
            match &self.bar {
                Some(b) => b.println(s.line()),
                None => println!("{}", s.line()),
            }
        }
    }
}

/// Run the campaign of `a`; `precision` (`--precision`, validated)
/// overrides `md.precision`.
pub fn run(device: &Device, precision: Option<&str>, a: &DriveArgs) -> Result<()> {
    // Configuration errors surface before MPI starts any work.
    let mut cfg = match &a.config {
        Some(p) => DriveConfig::from_file(p)?,
        None => default_config()?,
    };
    if let Some(out) = &a.out {
        cfg.output.dir = out.clone();
    }
    if let Some(p) = precision {
        cfg.md.precision = Some(p.to_string());
    }
    if let Some(n) = a.iterations {
        if n == 0 {
            return Err(Error::InvalidArgument("--iterations must be >= 1".into()));
        }
        cfg.md.iterations = n;
    }
    if let Some(m) = a.mode {
        cfg.mode = match m {
            ModeArg::Steered => Mode::Steered,
            ModeArg::Plain => Mode::Plain,
        };
    }
    let compare = a.compare || a.config.is_none();
    let comm = communicator()?;
    let result = campaign(device, a, &cfg, compare, comm.as_ref());
    match result {
        Err(e) if comm.size() > 1 => comm.abort(&format!(
            "steermd: error on rank {} of {}: {e}",
            comm.rank(),
            comm.size()
        )),
        other => other,
    }
}

fn campaign(
    device: &Device,
    a: &DriveArgs,
    cfg: &DriveConfig,
    compare: bool,
    comm: &dyn Communicator,
) -> Result<()> {
    let rank = comm.rank();
    let runs: Vec<DriveConfig> = if compare {
        [Mode::Steered, Mode::Plain]
            .into_iter()
            .map(|mode| {
                let mut c = cfg.clone();
                c.mode = mode;
                c.output.dir = cfg.output.dir.join(mode_name(mode));
                c
            })
            .collect()
    } else {
        vec![cfg.clone()]
    };
    for c in &runs {
        let local =
            steermd::drive::ensemble::share(c.ensemble.simulations, rank, comm.size()).len();
        let total = (c.md.iterations * c.frames_per_iteration() * local) as u64;
        let bar = (rank == 0 && !a.quiet).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} frames (rank 0) eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_prefix(mode_name(c.mode));
            b
        });
        if rank == 0 {
            println!(
                "steermd drive: {} campaign, {} simulations on {} rank(s), {} iterations of {} ps, output {}",
                mode_name(c.mode),
                c.ensemble.simulations,
                comm.size(),
                c.md.iterations,
                c.iteration_ps(),
                c.output.dir.display()
            );
        }
        let obs = Progress { bar, rank };
        let report = run_campaign(c, comm, device, a.resume, &obs)?;
        if let Some(b) = &obs.bar {
            b.finish_and_clear();
        }
        if rank == 0 && report.resumed_at > 0 {
            println!("  (resumed after iteration {})", report.resumed_at - 1);
        }
    }
    if compare && rank == 0 {
        let cmp =
            steermd::drive::science::compare(&runs[0], &runs[1], cfg.analysis.states, cfg.md.seed)?;
        print!("{}", cmp.report());
        let png = cfg.output.dir.join("campaign.png");
        if !cmp.plot(&png)?.labelled {
            eprintln!("steermd: warning: no TrueType font found; the plot has no text");
        }
        steermd::drive::output::write_json(&cfg.output.dir.join("comparison.json"), &cmp)?;
        println!("plot: {}", png.display());
    }
    comm.barrier()
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Steered => "steered",
        Mode::Plain => "plain",
    }
}
