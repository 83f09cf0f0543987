//! The integration schemes a simulation can use, with their parameters.
//!
//! Kept apart from the simulation driver so that checkpoints, the C ABI and
//! the campaign configuration can name an integrator without depending on
//! [`super::Simulation`].

use crate::error::{Error, Result};

/// The integration scheme and its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Integrator {
    /// Velocity Verlet (NVE) with RATTLE; `dt` in ps.
    VelocityVerlet {
        /// Step size, ps.
        dt: f64,
    },
    /// OpenMM's `LangevinMiddleIntegrator`.
    LangevinMiddle {
        /// Step size, ps.
        dt: f64,
        /// Bath temperature, K.
        temperature: f64,
        /// Friction coefficient, 1/ps.
        friction: f64,
    },
}

impl Integrator {
    /// Step size, ps.
    pub fn dt(&self) -> f64 {
        match *self {
            Integrator::VelocityVerlet { dt } | Integrator::LangevinMiddle { dt, .. } => dt,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let dt = self.dt();
        if !(dt.is_finite() && dt > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "step size {dt} ps must be finite and > 0"
            )));
        }
        if let Integrator::LangevinMiddle {
            temperature,
            friction,
            ..
        } = *self
        {
            if !(temperature.is_finite() && temperature >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "temperature {temperature} K must be finite and >= 0"
                )));
            }
            if !(friction.is_finite() && friction >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "friction {friction} 1/ps must be finite and >= 0"
                )));
            }
        }
        Ok(())
    }
}
