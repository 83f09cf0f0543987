#![allow(dead_code)]
//! The backends a device test runs on: the CPU and reference backends
//! always, then every GPU backend compiled in whose device this machine
//! has. A missing device prints that its tests were skipped and why; with
//! `STEERMD_REQUIRE_DEVICES=opencl` (CI sets it where PoCL is installed) a
//! missing OpenCL device fails instead.

use steermd::{Device, Precision};

/// A backend under test and the tolerances it must meet against OpenMM's
/// Reference platform.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub device: Device,
    pub precision: Precision,
    /// Relative energy error bound per force group.
    pub energy_tol: f64,
    /// Relative RMS force error bound per force group.
    pub force_tol: f64,
}

impl Target {
    pub fn label(&self) -> String {
        match self.device {
            Device::Cpu | Device::Reference => format!("{:?}", self.device),
            d => format!("{d:?}/{}", self.precision.name()),
        }
    }
}

/// Whether `STEERMD_REQUIRE_DEVICES` names `kind` (a device kind or a
/// kernel compiler such as `nvrtc`).
pub fn required(kind: &str) -> bool {
    std::env::var("STEERMD_REQUIRE_DEVICES")
        .map(|v| v.split(',').any(|k| k.trim() == kind))
        .unwrap_or(false)
}

/// The `--device` name of a target.
pub fn device_arg(device: Device) -> String {
    match device {
        Device::OpenCl(n) => format!("opencl:{n}"),
        Device::Cuda(n) => format!("cuda:{n}"),
        Device::Hip(n) => format!("hip:{n}"),
        Device::Cpu => "cpu".into(),
        Device::Reference => "reference".into(),
    }
}

/// GPU targets available here (double and mixed precision each), printing
/// a skip line for each backend compiled out or without a device.
pub fn gpu_targets(test: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for (kind, device) in [
        ("opencl", Device::OpenCl(0)),
        ("cuda", Device::Cuda(0)),
        ("hip", Device::Hip(0)),
    ] {
        match device.backend_at(Precision::Double) {
            Ok(_) => {
                out.push(Target {
                    device,
                    precision: Precision::Double,
                    energy_tol: 1e-9,
                    force_tol: 1e-8,
                });
                out.push(Target {
                    device,
                    precision: Precision::Mixed,
                    energy_tol: 1e-5,
                    force_tol: 1e-5,
                });
            }
            Err(e) => {
                assert!(
                    !required(kind),
                    "{test}: STEERMD_REQUIRE_DEVICES names {kind} but: {e}"
                );
                eprintln!("{test}: SKIPPED on {kind}: {e}");
            }
        }
    }
    out
}
