//! The one error type of steermd.

use std::path::PathBuf;

/// Result alias used by every fallible steermd function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in steermd, with enough context (file, line,
/// atom or element index) to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying operating-system error.
        source: std::io::Error,
    },
    /// A text file (PDB, JSON config, ...) is malformed at a known line.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A binary file (DCD, NPY, safetensors) is truncated or corrupt.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An argument is out of its valid range or otherwise unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Array shapes or lengths do not agree.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A NaN or infinite value where finite numbers are required.
    #[error("non-finite value: {0}")]
    NonFinite(String),
    /// A model's weights and configuration do not agree, or a model is invalid.
    #[error("model error: {0}")]
    Model(String),
    /// A simulation became unstable (non-finite or absurd positions, forces
    /// or energies, or constraints that could not be satisfied) while taking
    /// MD step `step` (1-based: the step that would have produced that step
    /// count); the state before that step is kept.
    #[error("simulation unstable at step {step}: {message}")]
    Unstable {
        /// The MD step that failed.
        step: u64,
        /// What went wrong, naming the atom or constraint involved.
        message: String,
    },
    /// The requested backend is not available in this build or on this machine.
    #[error("backend '{backend}' unavailable: {reason}")]
    BackendUnavailable {
        /// Backend name (`cuda`, `hip`).
        backend: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// A device runtime call failed at run time (out of memory, a kernel
    /// that does not compile or launch, a lost device).
    #[error("backend '{backend}': {call} failed: {message}")]
    Device {
        /// Backend name (`opencl`, `cuda`, `hip`).
        backend: &'static str,
        /// The failing runtime call (e.g. `clBuildProgram`).
        call: String,
        /// The runtime's error (code, name or build log).
        message: String,
    },
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corrupt or truncated binary file.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A malformed text file at a 1-based line.
    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// Fail with [`Error::NonFinite`] naming the first non-finite element of `values`.
///
/// `what` names the array (e.g. "coordinates"); `stride` groups elements for the
/// message (3 reports an atom index for xyz data, 1 a plain element index).
pub fn check_finite(what: &str, values: &[f32], stride: usize) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) if stride > 1 => Err(Error::NonFinite(format!(
            "{what}: element {i} (row {}, component {}) is {}",
            i / stride,
            i % stride,
            values[i]
        ))),
        Some(i) => Err(Error::NonFinite(format!(
            "{what}: element {i} is {}",
            values[i]
        ))),
    }
}
