//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ML-steered MD kernels: contact maps, RMSD, encoder inference, outlier detection.
#[derive(Parser, Debug)]
#[command(name = "steermd", version, about)]
pub struct Cli {
    /// Compute device: cpu, reference, opencl[:N], cuda[:N] or hip[:N].
    #[arg(long, global = true, default_value = "cpu")]
    pub device: String,
    /// Precision of GPU force kernels: mixed (f32 pair math, f64
    /// accumulation and integration; the default) or double. In `drive` it
    /// overrides the configuration's `md.precision`. The CPU and reference
    /// devices are always double precision.
    #[arg(long, global = true)]
    pub precision: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Contact maps of selected atoms for every frame of a trajectory.
    Contacts(ContactsArgs),
    /// Embed contact maps (or point clouds) with a trained encoder.
    Embed(EmbedArgs),
    /// Pick outliers among latent vectors (LOF or DBSCAN).
    Outliers(OutliersArgs),
    /// RMSD (nm) of every frame to a reference after optimal superposition.
    Rmsd(RmsdArgs),
    /// The whole agent step: contacts -> embed -> outliers (-> RMSD ranking), printed.
    Agent(AgentArgs),
    /// Potential energy (kJ/mol, total and per force group) as one JSON line; forces on request.
    Energy(EnergyArgs),
    /// Langevin (or NVE) molecular dynamics with reporters and checkpoints.
    Simulate(SimulateArgs),
    /// The adaptive-sampling campaign: ensemble MD, in-memory analysis,
    /// outliers, restarts (MPI-parallel with the `mpi` feature).
    Drive(DriveArgs),
}

/// `steermd drive`.
#[derive(Args, Debug)]
pub struct DriveArgs {
    /// Campaign configuration (TOML). Default: the bundled villin campaign
    /// (examples/drive/villin.toml), run steered and plain and compared.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output directory (overrides `output.dir`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the configuration's mode.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Run the campaign steered and plain (under OUT/steered and OUT/plain),
    /// then compare states visited (k-means over both runs' latents), print
    /// the comparison and write OUT/campaign.png. On by default without --config.
    #[arg(long)]
    pub compare: bool,
    /// Continue from the latest checkpoint in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Override `md.iterations`.
    #[arg(long)]
    pub iterations: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Campaign mode on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    /// Restart from outliers.
    Steered,
    /// Plain MD (control).
    Plain,
}

/// Nonbonded method for systems built from a prmtop.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonbondedArg {
    /// All pairs.
    NoCutoff,
    /// Cutoff with reaction field, no periodicity.
    CutoffNonPeriodic,
    /// Cutoff with reaction field and minimum image (needs a box).
    CutoffPeriodic,
}

/// Constraints for systems built from a prmtop.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintsArg {
    /// None (rigid water still applies).
    None,
    /// Bonds to hydrogen.
    HBonds,
    /// All bonds.
    AllBonds,
}

/// Implicit solvent for systems built from a prmtop.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImplicitSolventArg {
    /// Vacuum (or explicit solvent in the prmtop).
    None,
    /// OBC2 generalized Born with the prmtop's radii (igb=5).
    Obc2,
}

/// Where the system comes from: OpenMM System XML + PDB, or prmtop + inpcrd.
#[derive(Args, Debug)]
pub struct SystemArgs {
    /// OpenMM serialized System (XmlSerializer.serialize).
    #[arg(long, requires = "pdb", conflicts_with_all = ["prmtop", "inpcrd"])]
    pub system: Option<PathBuf>,
    /// Positions (and box, CRYST1) for --system, nm = 0.1 × Å.
    #[arg(long, requires = "system")]
    pub pdb: Option<PathBuf>,
    /// Amber topology.
    #[arg(long, requires = "inpcrd")]
    pub prmtop: Option<PathBuf>,
    /// Amber coordinates (inpcrd/rst7) for --prmtop.
    #[arg(long, requires = "prmtop")]
    pub inpcrd: Option<PathBuf>,
    /// prmtop only (an error with --system, whose XML already fixes it):
    /// nonbonded method.
    #[arg(
        long,
        value_enum,
        default_value = "no-cutoff",
        conflicts_with = "system"
    )]
    pub nonbonded: NonbondedArg,
    /// prmtop only: nonbonded cutoff, nm.
    #[arg(long, default_value_t = 1.0, conflicts_with = "system")]
    pub cutoff: f64,
    /// prmtop only: constraints.
    #[arg(long, value_enum, default_value = "h-bonds", conflicts_with = "system")]
    pub constraints: ConstraintsArg,
    /// prmtop only: implicit solvent.
    #[arg(long, value_enum, default_value = "obc2", conflicts_with = "system")]
    pub implicit_solvent: ImplicitSolventArg,
}

/// `steermd energy`.
#[derive(Args, Debug)]
pub struct EnergyArgs {
    #[command(flatten)]
    pub input: SystemArgs,
    /// Write forces, kJ/mol/nm, float64 [atoms, 3] (.npy).
    #[arg(long)]
    pub forces: Option<PathBuf>,
}

/// `steermd simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub input: SystemArgs,
    /// Number of steps.
    #[arg(long)]
    pub steps: u64,
    /// Time step, ps.
    #[arg(long, default_value_t = 0.002)]
    pub dt: f64,
    /// Temperature, K (Langevin bath and initial velocities).
    #[arg(long, default_value_t = 300.0)]
    pub temperature: f64,
    /// Friction, 1/ps; 0 runs NVE velocity Verlet.
    #[arg(long, default_value_t = 1.0)]
    pub friction: f64,
    /// Steps between state lines (CSV on stdout) and trajectory frames.
    #[arg(long, default_value_t = 500)]
    pub report: u64,
    /// Trajectory output: Amber NetCDF for .nc/.ncdf/.netcdf (written at the
    /// end of the run), else DCD (Å on disk).
    #[arg(long)]
    pub traj: Option<PathBuf>,
    /// Checkpoint written at the end (and every --report steps); resumed from
    /// when it exists and --resume is given.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from --checkpoint instead of starting fresh.
    #[arg(long, requires = "checkpoint")]
    pub resume: bool,
    /// Minimize the energy (RMS force below 10 kJ/mol/nm) before dynamics.
    #[arg(long)]
    pub minimize: bool,
    /// Random seed (velocities and Langevin noise).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Where the frames come from.
#[derive(Args, Debug)]
pub struct TrajArgs {
    /// Topology and atom names (PDB).
    #[arg(long)]
    pub top: PathBuf,
    /// Trajectory: DCD, Amber NetCDF (.nc, .ncrst) or XTC, chosen by
    /// extension or, for other names, by content; nm in steermd.
    #[arg(long)]
    pub traj: PathBuf,
    /// Read a DCD that ends inside a frame (a killed run) without its
    /// partial last frame, with a warning, instead of refusing it.
    #[arg(long)]
    pub drop_partial_frame: bool,
    /// Comma-separated atom names to select (e.g. CA).
    #[arg(long, default_value = "CA")]
    pub select: String,
}

/// `steermd contacts`.
#[derive(Args, Debug)]
pub struct ContactsArgs {
    #[command(flatten)]
    pub traj: TrajArgs,
    /// Contact cutoff, nm (pairs closer than this are in contact).
    #[arg(long, default_value_t = 0.8)]
    pub cutoff: f32,
    /// Use the trajectory's periodic box (minimum image).
    #[arg(long)]
    pub periodic: bool,
    /// Dense maps, uint8 [frames, n, n] (.npy), or DeepDriveMD's sparse
    /// `contact_map` dataset (.h5, needs the `hdf5` feature).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write DeepDriveMD sparse COO maps: PREFIX.data.npy (int16 rows then
    /// cols, per frame) and PREFIX.offsets.npy (int64, frames + 1).
    #[arg(long, value_name = "PREFIX")]
    pub coo_out: Option<PathBuf>,
}

/// `steermd embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Model directory (config.json + model.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Input maps (.npy, [frames, n, n], uint8 or float32) or point clouds
    /// ([frames, 3, N] float32) matching the model's input shape.
    #[arg(long, alias = "points")]
    pub maps: PathBuf,
    /// Latent vectors, float32 [frames, latent] (.npy).
    #[arg(long)]
    pub out: PathBuf,
    /// Frames per inference batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
}

/// Outlier method.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Local outlier factor (scikit-learn semantics): the --n most negative scores.
    Lof,
    /// DBSCAN noise points: plain DBSCAN at --eps, or the adaptive-eps search
    /// when --min-outliers/--max-outliers is given.
    Dbscan,
}

/// Outlier-detection settings shared by `outliers` and `agent`.
///
/// LOF takes --k and --n; DBSCAN takes --eps, --min-samples and, for the
/// adaptive search, --min-outliers/--max-outliers/--accept-closest. A flag of
/// the other method is an error, not silently ignored.
#[derive(Args, Debug, Clone)]
pub struct OutlierParams {
    /// Detection method.
    #[arg(long, value_enum, default_value = "lof")]
    pub method: Method,
    /// LOF neighbours [default: 20].
    #[arg(long)]
    pub k: Option<usize>,
    /// LOF: how many outliers to return (the most negative scores) [default: 10].
    #[arg(long)]
    pub n: Option<usize>,
    /// DBSCAN radius (latent units): the radius of plain DBSCAN, or the
    /// starting radius of the adaptive search [default: 1.3].
    #[arg(long)]
    pub eps: Option<f64>,
    /// DBSCAN core-point threshold (neighbours within eps, the point itself
    /// included) [default: 10].
    #[arg(long)]
    pub min_samples: Option<usize>,
    /// DBSCAN: search eps until at least this many points are noise
    /// (adaptive; --max-outliers defaults to unbounded).
    #[arg(long)]
    pub min_outliers: Option<usize>,
    /// DBSCAN: search eps until at most this many points are noise
    /// (adaptive; --min-outliers defaults to 0).
    #[arg(long)]
    pub max_outliers: Option<usize>,
    /// Adaptive DBSCAN: when the range cannot be reached, use the run whose
    /// count came closest (warning on stderr) instead of failing.
    #[arg(long)]
    pub accept_closest: bool,
}

/// `steermd outliers`.
#[derive(Args, Debug)]
pub struct OutliersArgs {
    /// Latent vectors, float32 or float64 [points, dim] (.npy).
    #[arg(long)]
    pub latent: PathBuf,
    #[command(flatten)]
    pub params: OutlierParams,
    /// Outlier indices, int64 (.npy).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write per-point scores (LOF negative outlier factor, float64) (.npy).
    #[arg(long)]
    pub scores_out: Option<PathBuf>,
}

/// `steermd rmsd`.
#[derive(Args, Debug)]
pub struct RmsdArgs {
    /// Reference structure (PDB) with the same atoms as the topology.
    #[arg(long = "ref")]
    pub reference: PathBuf,
    #[command(flatten)]
    pub traj: TrajArgs,
    /// RMSD per frame, nm, float32 (.npy).
    #[arg(long)]
    pub out: PathBuf,
}

/// `steermd agent`.
#[derive(Args, Debug)]
pub struct AgentArgs {
    #[command(flatten)]
    pub traj: TrajArgs,
    /// Model directory (config.json + model.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Contact cutoff, nm.
    #[arg(long, default_value_t = 0.8)]
    pub cutoff: f32,
    #[command(flatten)]
    pub params: OutlierParams,
    /// Folded reference (PDB): rank picked outliers by lowest RMSD to it.
    #[arg(long = "ref")]
    pub reference: Option<PathBuf>,
}
