//! Reading an exported model's `config.json`: typed accessors that name the
//! file and the line of the offending key, and a check that every key was
//! either understood or is known to be informational.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::nn::kernels::Activation;

/// Keys that only document the export (free text, echoes of the constructor);
/// they are accepted and ignored.
const INFORMATIONAL: &[&str] = &[
    "source",
    "forward",
    "layer_sequence",
    "padding_rule",
    "flatten_order",
    "pooling",
    "dropout",
    "mdlearn_constructor",
    "input_convention",
    "reference_input",
    "description",
    "comment",
    "notes",
];

/// A parsed `config.json` whose keys are consumed one by one.
pub(crate) struct ConfigDoc {
    path: PathBuf,
    text: String,
    map: Map<String, Value>,
    used: BTreeSet<String>,
}

impl ConfigDoc {
    /// Read and parse `path` (a JSON object).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::parse(path, e.line(), format!("invalid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(Error::parse(path, 1, "expected a JSON object"));
        };
        Ok(ConfigDoc {
            path: path.to_path_buf(),
            text,
            map,
            used: BTreeSet::new(),
        })
    }

    /// The file this configuration came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A parse error about `key`, pointing at the line where it appears.
    pub fn error(&self, key: &str, message: impl std::fmt::Display) -> Error {
        let needle = format!("\"{key}\"");
        let line = self
            .text
            .lines()
            .position(|l| l.contains(&needle))
            .map_or(0, |i| i + 1);
        Error::parse(&self.path, line, format!("'{key}': {message}"))
    }

    fn get(&mut self, key: &str) -> Option<Value> {
        self.used.insert(key.to_string());
        self.map.get(key).filter(|v| !v.is_null()).cloned()
    }

    fn required(&mut self, key: &str) -> Result<Value> {
        self.get(key)
            .ok_or_else(|| Error::parse(&self.path, 0, format!("missing required key '{key}'")))
    }

    /// A required string.
    pub fn string(&mut self, key: &str) -> Result<String> {
        let v = self.required(key)?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.error(key, format!("expected a string, found {v}")))
    }

    /// An optional string.
    pub fn opt_string(&mut self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.error(key, format!("expected a string, found {v}"))),
        }
    }

    /// A required non-negative integer.
    pub fn usize(&mut self, key: &str) -> Result<usize> {
        let v = self.required(key)?;
        self.as_usize(key, &v)
    }

    /// An optional non-negative integer.
    pub fn opt_usize(&mut self, key: &str) -> Result<Option<usize>> {
        self.get(key).map(|v| self.as_usize(key, &v)).transpose()
    }

    fn as_usize(&self, key: &str, v: &Value) -> Result<usize> {
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.error(key, format!("expected a non-negative integer, found {v}")))
    }

    /// A required list of non-negative integers.
    pub fn usize_list(&mut self, key: &str) -> Result<Vec<usize>> {
        let v = self.required(key)?;
        self.as_usize_list(key, &v)
    }

    /// An optional list of non-negative integers.
    pub fn opt_usize_list(&mut self, key: &str) -> Result<Option<Vec<usize>>> {
        self.get(key)
            .map(|v| self.as_usize_list(key, &v))
            .transpose()
    }

    fn as_usize_list(&self, key: &str, v: &Value) -> Result<Vec<usize>> {
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list of integers, found {v}")))?;
        items.iter().map(|x| self.as_usize(key, x)).collect()
    }

    /// An optional list whose items are integers or lists of integers
    /// (e.g. `[1, 0]` or `[[1, 1], [0, 0]]`), returned as lists.
    pub fn opt_nested_usize_list(&mut self, key: &str) -> Result<Option<Vec<Vec<usize>>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list, found {v}")))?;
        items
            .iter()
            .map(|x| match x {
                Value::Array(_) => self.as_usize_list(key, x),
                _ => self.as_usize(key, x).map(|n| vec![n]),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// An optional list of strings.
    pub fn opt_string_list(&mut self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list of strings, found {v}")))?;
        items
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.error(key, format!("expected a string, found {x}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(v) => Err(self.error(key, format!("expected true or false, found {v}"))),
        }
    }

    /// An optional list of booleans.
    pub fn opt_bool_list(&mut self, key: &str) -> Result<Option<Vec<bool>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list of booleans, found {v}")))?;
        items
            .iter()
            .map(|x| {
                x.as_bool()
                    .ok_or_else(|| self.error(key, format!("expected a boolean, found {x}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// An optional finite number.
    pub fn opt_f64(&mut self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| self.error(key, format!("expected a finite number, found {v}"))),
        }
    }

    /// An optional list of finite numbers.
    pub fn opt_f64_list(&mut self, key: &str) -> Result<Option<Vec<f64>>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let items = v
            .as_array()
            .ok_or_else(|| self.error(key, format!("expected a list of numbers, found {v}")))?;
        items
            .iter()
            .map(|x| {
                x.as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| self.error(key, format!("expected a finite number, found {x}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// The activation named by `key` (default `ReLU`), with the LeakyReLU
    /// slope read from `slope_key` (default 0.01, as `torch.nn.LeakyReLU`).
    pub fn activation(&mut self, key: &str, slope_key: &str) -> Result<Activation> {
        let name = self.opt_string(key)?.unwrap_or_else(|| "ReLU".into());
        let slope = self.opt_f64(slope_key)?;
        match name.as_str() {
            "ReLU" => Ok(Activation::Relu),
            "LeakyReLU" => Ok(Activation::LeakyRelu(slope.unwrap_or(0.01) as f32)),
            "None" => Ok(Activation::Identity),
            other => Err(self.error(
                key,
                format!("unsupported activation '{other}' (expected ReLU, LeakyReLU or None)"),
            )),
        }
    }

    /// Require the string under `key`, when present, to start with `prefix`.
    pub fn expect_prefix(&mut self, key: &str, prefix: &str, what: &str) -> Result<()> {
        match self.opt_string(key)? {
            Some(s) if !s.starts_with(prefix) => {
                Err(self.error(key, format!("{what}, found '{s}'")))
            }
            _ => Ok(()),
        }
    }

    /// Require the boolean under `key`, when present, to equal `expected`.
    pub fn expect_bool(&mut self, key: &str, expected: bool, what: &str) -> Result<()> {
        match self.opt_bool(key)? {
            Some(b) if b != expected => Err(self.error(key, what)),
            _ => Ok(()),
        }
    }

    /// Fail on any key that was neither read nor is informational.
    pub fn finish(self) -> Result<()> {
        let unknown: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !self.used.contains(*k) && !INFORMATIONAL.contains(k))
            .collect();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(self.error(
                k,
                format!(
                    "unknown configuration key{} {unknown:?} (not supported by this version of steermd)",
                    if unknown.len() > 1 { "s" } else { "" }
                ),
            )),
        }
    }
}
