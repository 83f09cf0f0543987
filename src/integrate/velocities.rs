//! Velocities: Maxwell–Boltzmann sampling, kinetic energy, temperature and
//! centre-of-mass motion removal.

use super::rng::{NormalStream, Purpose};
use super::BOLTZ;
use crate::error::{Error, Result};

/// Velocities (nm/ps) drawn from the Maxwell–Boltzmann distribution at
/// `temperature` (K): each component of particle `i` is normal with variance
/// `BOLTZ·T/mᵢ`; massless particles (mass 0) get zero velocity.
///
/// The numbers are a pure function of `seed` and the particle index (see
/// [`super::rng`]). Constraints and centre-of-mass removal are not applied
/// here; [`super::Simulation::set_velocities_to_temperature`] does both.
pub fn maxwell_boltzmann(masses: &[f64], temperature: f64, seed: u64) -> Result<Vec<[f64; 3]>> {
    if !(temperature.is_finite() && temperature >= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "temperature {temperature} K must be finite and >= 0"
        )));
    }
    let kt = BOLTZ * temperature;
    let mut stream = NormalStream::new(seed, Purpose::Velocities, 0);
    masses
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            if !(m.is_finite() && m >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "particle {i} has mass {m} amu (must be finite and >= 0)"
                )));
            }
            if m == 0.0 {
                return Ok([0.0; 3]);
            }
            let s = (kt / m).sqrt();
            let z = stream.atom(i);
            Ok([s * z[0], s * z[1], s * z[2]])
        })
        .collect()
}

/// Kinetic energy `½ Σ mᵢ vᵢ²`, kJ/mol (masses amu, velocities nm/ps).
pub fn kinetic_energy(masses: &[f64], velocities: &[[f64; 3]]) -> f64 {
    0.5 * masses
        .iter()
        .zip(velocities)
        .map(|(m, v)| m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]))
        .sum::<f64>()
}

/// Instantaneous temperature (K) of kinetic energy `kinetic` (kJ/mol) spread
/// over `degrees_of_freedom`: `2 KE / (n_dof · BOLTZ)`; 0 when there are none.
pub fn temperature(kinetic: f64, degrees_of_freedom: usize) -> f64 {
    if degrees_of_freedom == 0 {
        0.0
    } else {
        2.0 * kinetic / (degrees_of_freedom as f64 * BOLTZ)
    }
}

/// Remove the centre-of-mass velocity, as OpenMM's `CMMotionRemover`: the
/// mass-weighted mean velocity `Σ mᵢvᵢ / Σ mᵢ` is subtracted from every
/// particle with non-zero mass (massless particles are left alone).
pub fn remove_com_velocity(masses: &[f64], velocities: &mut [[f64; 3]]) {
    let mut p = [0.0; 3];
    let mut total = 0.0;
    for (m, v) in masses.iter().zip(velocities.iter()) {
        for k in 0..3 {
            p[k] += m * v[k];
        }
        total += m;
    }
    if total == 0.0 {
        return;
    }
    let vcm = [p[0] / total, p[1] / total, p[2] / total];
    for (m, v) in masses.iter().zip(velocities.iter_mut()) {
        if *m != 0.0 {
            for k in 0..3 {
                v[k] -= vcm[k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxwell_boltzmann_temperature_and_massless() {
        let n = 30_000;
        let mut masses: Vec<f64> = (0..n).map(|i| 1.0 + (i % 17) as f64).collect();
        masses[3] = 0.0;
        let v = maxwell_boltzmann(&masses, 300.0, 11).unwrap();
        assert_eq!(v[3], [0.0; 3]);
        let dof = 3 * (n - 1);
        let t = temperature(kinetic_energy(&masses, &v), dof);
        // Relative standard error sqrt(2/dof) ≈ 0.5%.
        assert!((t - 300.0).abs() < 300.0 * 0.02, "T = {t}");
        assert_eq!(v, maxwell_boltzmann(&masses, 300.0, 11).unwrap());
        assert_ne!(v, maxwell_boltzmann(&masses, 300.0, 12).unwrap());
    }

    #[test]
    fn bad_temperature_or_mass_is_an_error() {
        assert!(maxwell_boltzmann(&[1.0], -1.0, 0).is_err());
        assert!(maxwell_boltzmann(&[1.0], f64::NAN, 0).is_err());
        assert!(maxwell_boltzmann(&[-1.0], 300.0, 0).is_err());
    }

    #[test]
    fn com_removal_zeroes_momentum() {
        let masses = [1.0, 16.0, 0.0, 3.0];
        let mut v = vec![
            [1.0, 2.0, 3.0],
            [-0.5, 0.1, 0.0],
            [7.0, 7.0, 7.0],
            [0.3, -2.0, 1.0],
        ];
        remove_com_velocity(&masses, &mut v);
        for k in 0..3 {
            let p: f64 = masses.iter().zip(&v).map(|(m, v)| m * v[k]).sum();
            assert!(p.abs() < 1e-12, "{p}");
        }
        assert_eq!(v[2], [7.0, 7.0, 7.0]);
    }
}
