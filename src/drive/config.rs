//! The campaign configuration (`run.toml`), read and checked before any
//! rank starts work.
//!
//! Every section rejects unknown keys; relative paths are resolved against
//! the directory of the configuration file. Units: nm, ps, K, 1/ps.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::Device;
use crate::error::{Error, Result};
use crate::outliers::AdaptiveDbscanOptions;

/// Whether the campaign steers (restarts from outliers) or runs plain MD.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// DeepDriveMD: restart every simulation from the selected outliers.
    #[default]
    Steered,
    /// Control: the same ensemble and compute, never restarted.
    Plain,
}

/// The whole campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveConfig {
    /// Steered or plain (control) MD.
    #[serde(default)]
    pub mode: Mode,
    /// The molecular system and its starting structures.
    pub system: SystemSection,
    /// Molecular dynamics settings.
    pub md: MdSection,
    /// Ensemble size.
    pub ensemble: EnsembleSection,
    /// Per-frame analysis: selection, contact maps, encoder, reference.
    pub analysis: AnalysisSection,
    /// Outlier detection and restart selection.
    pub agent: AgentSection,
    /// What is written where.
    pub output: OutputSection,
    /// Deliberate failures, for testing the recovery paths only.
    #[serde(default)]
    pub fault_injection: FaultInjection,
}

/// The system: an OpenMM System XML + PDB, or an Amber prmtop + inpcrd.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSection {
    /// OpenMM System XML (with `pdb`).
    pub xml: Option<PathBuf>,
    /// PDB with the positions in the System's atom order (with `xml`).
    pub pdb: Option<PathBuf>,
    /// Amber topology (with `inpcrd`).
    pub prmtop: Option<PathBuf>,
    /// Amber coordinates (with `prmtop`).
    pub inpcrd: Option<PathBuf>,
    /// prmtop only: `no-cutoff`, `cutoff-non-periodic` or `cutoff-periodic`.
    #[serde(default = "default_nonbonded")]
    pub nonbonded: String,
    /// prmtop only: nonbonded cutoff, nm.
    #[serde(default = "default_cutoff_nm")]
    pub cutoff: f64,
    /// prmtop only: `none`, `hbonds` or `all-bonds`.
    #[serde(default = "default_constraints")]
    pub constraints: String,
    /// prmtop only: `none` or `obc2`.
    #[serde(default = "default_implicit")]
    pub implicit_solvent: String,
    /// Optional trajectory (DCD, Amber NetCDF or XTC) whose frames
    /// `start_frames` are the starting structures
    /// (cycled over the ensemble); default: the PDB/inpcrd positions.
    pub start_dcd: Option<PathBuf>,
    /// 0-based frames of `start_dcd`.
    #[serde(default)]
    pub start_frames: Vec<usize>,
    /// Energy-minimize every starting structure first (tolerance 10 kJ/mol/nm).
    #[serde(default)]
    pub minimize: bool,
}

/// Molecular dynamics (LangevinMiddle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MdSection {
    /// Bath temperature, K.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Friction, 1/ps.
    #[serde(default = "default_friction")]
    pub friction: f64,
    /// Step size, ps.
    #[serde(default = "default_dt")]
    pub dt: f64,
    /// Steps between analysed frames.
    pub report_interval: u64,
    /// Steps per simulation per iteration (a multiple of `report_interval`).
    pub iteration_steps: u64,
    /// Iterations of MD + agent.
    pub iterations: usize,
    /// Campaign seed (thermostat noise, velocities, restart choices).
    #[serde(default)]
    pub seed: u64,
    /// Device of the MD (`cpu`, `reference`, `opencl[:N]`, `cuda[:N]`,
    /// `hip[:N]`); without an ordinal each rank takes GPU
    /// `local_rank mod gpus_per_node`. Default: the command's `--device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Precision of GPU force kernels, `mixed` (default) or `double`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
}

impl MdSection {
    /// The precision of the MD's GPU force kernels.
    pub fn precision(&self) -> Result<crate::backend::Precision> {
        self.precision
            .as_deref()
            .map_or(Ok(Default::default()), |p| {
                crate::backend::Precision::parse(p)
                    .map_err(|e| Error::InvalidArgument(format!("config: md.precision: {e}")))
            })
    }

    /// The MD device of a rank that is number `local_rank` on its node;
    /// `fallback` (the command's device) when `md.device` is not set.
    pub fn device_for(&self, fallback: Device, local_rank: usize) -> Result<Device> {
        match &self.device {
            None => Ok(fallback),
            Some(name) => Device::for_local_rank(name, local_rank)
                .map_err(|e| Error::InvalidArgument(format!("config: md.device: {e}"))),
        }
    }
}

/// The ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSection {
    /// Number of simulations M (any M >= number of ranks).
    pub simulations: usize,
}

/// Per-frame analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSection {
    /// Atom names selected for contact maps, point clouds and RMSD.
    #[serde(default = "default_selection")]
    pub selection: Vec<String>,
    /// Contact cutoff, nm.
    #[serde(default = "default_contact_cutoff")]
    pub contact_cutoff: f32,
    /// Exported encoder directory (`config.json` + `model.safetensors`).
    pub model: PathBuf,
    /// Folded reference structure (PDB, same atom order as the system).
    pub reference: PathBuf,
    /// Optional latent vectors (`.npy`, `[n][latent]`) whose k-means
    /// clusters define the "states visited" of the summary line.
    pub states_reference: Option<PathBuf>,
    /// Number of such states.
    #[serde(default = "default_states")]
    pub states: usize,
}

/// Outlier detection and restart selection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// `lof`, or `dbscan`: plain DBSCAN at `eps`/`min_samples` unless
    /// `min_outliers` or `max_outliers` is given, which asks for the
    /// adaptive-eps search (starting at `eps`) for that outlier range.
    #[serde(default = "default_method")]
    pub method: String,
    /// The agent sees the latest `last_n` frames of the whole ensemble.
    pub last_n: usize,
    /// LOF only (an error with `dbscan`): neighbours (default 20).
    #[serde(default)]
    pub n_neighbors: Option<usize>,
    /// LOF only (an error with `dbscan`): outliers taken, the most negative
    /// factors (default 50).
    #[serde(default)]
    pub n_outliers: Option<usize>,
    /// DBSCAN only (an error with `lof`): radius, latent units; the starting
    /// radius of an adaptive search (default 1.3).
    #[serde(default)]
    pub eps: Option<f64>,
    /// DBSCAN only (an error with `lof`): core threshold (default 10).
    #[serde(default)]
    pub min_samples: Option<usize>,
    /// Adaptive DBSCAN: fewest outliers wanted (default 0 when only
    /// `max_outliers` is given). A range not reached is reported in the
    /// iteration summary, not fatal.
    #[serde(default)]
    pub min_outliers: Option<usize>,
    /// Adaptive DBSCAN: most outliers wanted (default unbounded when only
    /// `min_outliers` is given).
    #[serde(default)]
    pub max_outliers: Option<usize>,
    /// Order outliers by lowest RMSD to the reference (DeepDriveMD's
    /// extrinsic score) before assigning them to simulations.
    #[serde(default = "default_true")]
    pub sort_by_rmsd: bool,
    /// Probability of keeping the frame's velocities on restart instead of
    /// drawing Maxwell–Boltzmann ones.
    #[serde(default)]
    pub copy_velocities_probability: f64,
}

impl AgentSection {
    /// The outlier detector this configuration asks for.
    pub fn outlier_method(&self) -> crate::drive::agent::OutlierMethod {
        use crate::drive::agent::OutlierMethod;
        let g = self;
        if g.method == "dbscan" {
            if g.min_outliers.is_none() && g.max_outliers.is_none() {
                return OutlierMethod::Dbscan {
                    eps: g.eps(),
                    min_samples: g.min_samples(),
                };
            }
            OutlierMethod::AdaptiveDbscan(AdaptiveDbscanOptions {
                eps: g.eps(),
                min_samples: g.min_samples(),
                min_outliers: g.min_outliers.unwrap_or(0),
                max_outliers: g.max_outliers.unwrap_or(usize::MAX),
                ..AdaptiveDbscanOptions::default()
            })
        } else {
            OutlierMethod::Lof {
                n_neighbors: g.n_neighbors(),
                n_outliers: g.n_outliers(),
            }
        }
    }

    /// LOF neighbours in effect (20 unless set).
    pub fn n_neighbors(&self) -> usize {
        self.n_neighbors.unwrap_or(20)
    }

    /// LOF outliers taken (50 unless set).
    pub fn n_outliers(&self) -> usize {
        self.n_outliers.unwrap_or(50)
    }

    /// DBSCAN radius in effect, latent units (1.3 unless set).
    pub fn eps(&self) -> f64 {
        self.eps.unwrap_or(1.3)
    }

    /// DBSCAN core threshold in effect (10 unless set).
    pub fn min_samples(&self) -> usize {
        self.min_samples.unwrap_or(10)
    }

    /// The settings given that the chosen method would silently ignore.
    fn settings_of_the_other_method(&self) -> Option<String> {
        let given = |names: &[(&str, bool)]| -> Vec<String> {
            names
                .iter()
                .filter(|(_, set)| *set)
                .map(|(n, _)| format!("agent.{n}"))
                .collect()
        };
        let (ignored, other) = if self.method == "lof" {
            let g = given(&[
                ("eps", self.eps.is_some()),
                ("min_samples", self.min_samples.is_some()),
                ("min_outliers", self.min_outliers.is_some()),
                ("max_outliers", self.max_outliers.is_some()),
            ]);
            (g, "dbscan")
        } else {
            let g = given(&[
                ("n_neighbors", self.n_neighbors.is_some()),
                ("n_outliers", self.n_outliers.is_some()),
            ]);
            (g, "lof")
        };
        (!ignored.is_empty()).then(|| {
            format!(
                "{} only apply to agent.method = \"{other}\", not \"{}\": remove them or change the method",
                ignored.join(", "),
                self.method
            )
        })
    }
}

/// Outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Output directory (created).
    pub dir: PathBuf,
    /// Contact-map/array format: `npy` or `hdf5` (needs the `hdf5` feature).
    #[serde(default = "default_format")]
    pub format: String,
    /// Also write one DCD per simulation and iteration.
    #[serde(default)]
    pub dcd: bool,
}

/// Deliberate failures (tests of the recovery paths).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultInjection {
    /// `[simulation, iteration]` pairs whose velocities are multiplied by
    /// 1e4 before that iteration's MD, so they blow up.
    #[serde(default)]
    pub blow_up: Vec<[usize; 2]>,
    /// `[rank, iteration]`: that rank fails at the start of that iteration.
    pub fail_rank: Option<[usize; 2]>,
}

/// A `config:` error.
fn bad<T>(m: String) -> Result<T> {
    Err(Error::InvalidArgument(format!("config: {m}")))
}

/// A TOML error in `text` (named `origin`) as [`Error::Parse`], with the
/// line of the offending span (0 when the error has none).
pub(crate) fn toml_error<'a>(
    text: &'a str,
    origin: &'a Path,
) -> impl Fn(toml::de::Error) -> Error + 'a {
    move |e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        Error::Parse {
            path: origin.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    }
}

impl AnalysisSection {
    /// Make the relative file paths (model, reference, states reference)
    /// relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let paths = [&mut self.model, &mut self.reference]
            .into_iter()
            .chain(self.states_reference.as_mut());
        for p in paths {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Check the values that can be checked without reading the files.
    pub fn validate(&self) -> Result<()> {
        if self.selection.is_empty() {
            return bad("analysis.selection is empty".into());
        }
        if !(self.contact_cutoff.is_finite() && self.contact_cutoff > 0.0) {
            return bad(format!(
                "analysis.contact_cutoff = {} nm must be > 0",
                self.contact_cutoff
            ));
        }
        if self.states == 0 {
            return bad("analysis.states must be >= 1".into());
        }
        Ok(())
    }
}

impl AgentSection {
    /// Check the agent settings (method, ranges, the other method's keys).
    pub fn validate(&self) -> Result<()> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !["lof", "dbscan"].contains(&self.method.as_str()) {
            return bad(format!(
                "agent.method = {:?}: expected \"lof\" or \"dbscan\"",
                self.method
            ));
        }
        if self.last_n < 2 {
            return bad(format!("agent.last_n = {} must be >= 2", self.last_n));
        }
        if let Some(e) = self.settings_of_the_other_method() {
            return bad(e);
        }
        if self.n_neighbors() == 0 || self.n_outliers() == 0 {
            return bad("agent.n_neighbors and agent.n_outliers must be >= 1".into());
        }
        if !positive(self.eps()) || self.min_samples() == 0 {
            return bad(format!(
                "agent DBSCAN settings: eps {} must be > 0 and min_samples {} >= 1",
                self.eps(),
                self.min_samples()
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_outliers, self.max_outliers) {
            if lo > hi {
                return bad(format!(
                    "agent.min_outliers = {lo} exceeds agent.max_outliers = {hi}"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.copy_velocities_probability) {
            return bad(format!(
                "agent.copy_velocities_probability = {} must be in [0, 1]",
                self.copy_velocities_probability
            ));
        }
        Ok(())
    }
}

fn default_nonbonded() -> String {
    "no-cutoff".into()
}
fn default_cutoff_nm() -> f64 {
    1.0
}
fn default_constraints() -> String {
    "hbonds".into()
}
fn default_implicit() -> String {
    "obc2".into()
}
fn default_temperature() -> f64 {
    300.0
}
fn default_friction() -> f64 {
    1.0
}
fn default_dt() -> f64 {
    0.002
}
fn default_selection() -> Vec<String> {
    vec!["CA".into()]
}
fn default_contact_cutoff() -> f32 {
    0.8
}
fn default_states() -> usize {
    100
}
fn default_method() -> String {
    "lof".into()
}
fn default_true() -> bool {
    true
}
fn default_format() -> String {
    "npy".into()
}

impl DriveConfig {
    /// Read `path`, resolve its relative paths against the file's directory
    /// and [`validate`](Self::validate) it. Errors name the file and, for
    /// syntax errors and unknown keys, the line.
    pub fn from_file(path: &Path) -> Result<DriveConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        DriveConfig::from_toml(&text, path, base)
    }

    /// Parse TOML `text` (named `origin` in errors), resolving relative
    /// paths against `base`, and validate it.
    pub fn from_toml(text: &str, origin: &Path, base: &Path) -> Result<DriveConfig> {
        let mut cfg: DriveConfig = toml::from_str(text).map_err(toml_error(text, origin))?;
        cfg.resolve_paths(base);
        cfg.validate()?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let s = &mut self.system;
        for p in [
            &mut s.xml,
            &mut s.pdb,
            &mut s.prmtop,
            &mut s.inpcrd,
            &mut s.start_dcd,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        self.analysis.resolve_paths(base);
        fix(&mut self.output.dir);
    }

    /// Check every value that can be checked without reading the inputs
    /// (files must exist; shapes are checked when they are loaded).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(format!("config: {m}")));
        let s = &self.system;
        match (&s.xml, &s.pdb, &s.prmtop, &s.inpcrd) {
            (Some(_), Some(_), None, None) | (None, None, Some(_), Some(_)) => {}
            _ => return bad("[system] needs either `xml` + `pdb` or `prmtop` + `inpcrd`".into()),
        }
        if s.start_dcd.is_some() == s.start_frames.is_empty() {
            return bad("[system] `start_dcd` and `start_frames` go together".into());
        }
        let mut files: Vec<(&str, &PathBuf)> = vec![
            ("analysis.model", &self.analysis.model),
            ("analysis.reference", &self.analysis.reference),
        ];
        for (k, p) in [
            ("system.xml", &s.xml),
            ("system.pdb", &s.pdb),
            ("system.prmtop", &s.prmtop),
            ("system.inpcrd", &s.inpcrd),
            ("system.start_dcd", &s.start_dcd),
            ("analysis.states_reference", &self.analysis.states_reference),
        ] {
            if let Some(p) = p {
                files.push((k, p));
            }
        }
        for (k, p) in files {
            if !p.exists() {
                return bad(format!("{k}: {} does not exist", p.display()));
            }
        }
        let md = &self.md;
        md.precision()?;
        if let Some(d) = &md.device {
            Device::parse(d)
                .map_err(|e| Error::InvalidArgument(format!("config: md.device: {e}")))?;
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(md.dt) {
            return bad(format!("md.dt = {} ps must be finite and > 0", md.dt));
        }
        if !(md.temperature.is_finite() && md.temperature >= 0.0) {
            return bad(format!(
                "md.temperature = {} K must be >= 0",
                md.temperature
            ));
        }
        if !(md.friction.is_finite() && md.friction >= 0.0) {
            return bad(format!("md.friction = {} 1/ps must be >= 0", md.friction));
        }
        if md.report_interval == 0 || md.iteration_steps == 0 {
            return bad("md.report_interval and md.iteration_steps must be >= 1".into());
        }
        if !md.iteration_steps.is_multiple_of(md.report_interval) {
            return bad(format!(
                "md.iteration_steps = {} is not a multiple of md.report_interval = {}",
                md.iteration_steps, md.report_interval
            ));
        }
        if md.iterations == 0 {
            return bad("md.iterations must be >= 1".into());
        }
        if self.ensemble.simulations == 0 {
            return bad("ensemble.simulations must be >= 1".into());
        }
        self.analysis.validate()?;
        self.agent.validate()?;
        let o = &self.output;
        if !["npy", "hdf5"].contains(&o.format.as_str()) {
            return bad(format!(
                "output.format = {:?}: expected \"npy\" or \"hdf5\"",
                o.format
            ));
        }
        if o.format == "hdf5" && !cfg!(feature = "hdf5") {
            return bad(
                "output.format = \"hdf5\" needs steermd built with the `hdf5` feature".into(),
            );
        }
        for &[sim, _] in &self.fault_injection.blow_up {
            if sim >= self.ensemble.simulations {
                return bad(format!(
                    "fault_injection.blow_up names simulation {sim} of {}",
                    self.ensemble.simulations
                ));
            }
        }
        Ok(())
    }

    /// Frames each simulation produces per iteration.
    pub fn frames_per_iteration(&self) -> usize {
        (self.md.iteration_steps / self.md.report_interval) as usize
    }

    /// Simulated time of one simulation per iteration, ps.
    pub fn iteration_ps(&self) -> f64 {
        self.md.iteration_steps as f64 * self.md.dt
    }

    /// The outlier detector this configuration asks for.
    pub fn outlier_method(&self) -> crate::drive::agent::OutlierMethod {
        self.agent.outlier_method()
    }

    /// A fingerprint of everything that determines the trajectory except
    /// `md.iterations` and the fault injection (a resumed campaign may run
    /// longer, and without the faults).
    pub fn fingerprint(&self) -> u64 {
        let mut c = self.clone();
        c.md.iterations = 0;
        // The same campaign may resume on another node's device.
        c.md.device = None;
        c.fault_injection = FaultInjection::default();
        let text = serde_json::to_string(&c).unwrap_or_default();
        crate::drive::seeds::fnv1a(text.as_bytes())
    }
}
