//! The steering configuration: the campaign TOML's `[analysis]` and
//! `[agent]` sections (other sections are ignored, so a whole campaign
//! file serves), plus `md.seed` when present (the velocity coin of
//! restarts).

use std::path::Path;

use serde::Deserialize;

use crate::drive::config::{toml_error, AgentSection, AnalysisSection, DriveConfig};
use crate::error::{Error, Result};

/// What a [`Steering`](super::Steering) needs from a campaign file.
#[derive(Clone, Debug, PartialEq)]
pub struct SteeringConfig {
    /// Per-frame analysis (paths resolved).
    pub analysis: AnalysisSection,
    /// Outlier detection and restart selection.
    pub agent: AgentSection,
    /// Campaign seed (`md.seed`, 0 when absent).
    pub seed: u64,
}

#[derive(Deserialize)]
struct Seed {
    #[serde(default)]
    seed: u64,
}

#[derive(Deserialize)]
struct Sections {
    analysis: AnalysisSection,
    agent: AgentSection,
    md: Option<toml::Value>,
}

impl SteeringConfig {
    /// The steering part of a checked campaign configuration.
    pub fn from_campaign(cfg: &DriveConfig) -> SteeringConfig {
        SteeringConfig {
            analysis: cfg.analysis.clone(),
            agent: cfg.agent.clone(),
            seed: cfg.md.seed,
        }
    }

    /// `text` is TOML when it contains a newline or a `[`, otherwise the
    /// path of a TOML file (relative paths inside resolve against the
    /// file's directory, or the working directory for inline TOML).
    pub fn from_toml_or_path(text: &str) -> Result<SteeringConfig> {
        if text.contains('\n') || text.contains('[') {
            return SteeringConfig::from_toml(text, Path::new("<inline TOML>"), Path::new("."));
        }
        let path = Path::new(text);
        let body = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        SteeringConfig::from_toml(&body, path, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parse `text` (named `origin` in errors), resolve the analysis paths
    /// against `base` and check both sections.
    pub fn from_toml(text: &str, origin: &Path, base: &Path) -> Result<SteeringConfig> {
        let parse_error = toml_error(text, origin);
        let s: Sections = toml::from_str(text).map_err(&parse_error)?;
        let seed = match s.md {
            Some(md) => md.try_into::<Seed>().map_err(parse_error)?.seed,
            None => 0,
        };
        let mut analysis = s.analysis;
        analysis.resolve_paths(base);
        analysis.validate()?;
        s.agent.validate()?;
        for (k, p) in [
            ("analysis.model", &analysis.model),
            ("analysis.reference", &analysis.reference),
        ] {
            if !p.exists() {
                return Err(Error::InvalidArgument(format!(
                    "config: {k}: {} does not exist",
                    p.display()
                )));
            }
        }
        Ok(SteeringConfig {
            analysis,
            agent: s.agent,
            seed,
        })
    }
}
