//! C ABI: the seeds `steermd drive` derives from its campaign seed, so a
//! code that drives steermd's own engine through `steermd_simulation`
//! handles can reproduce a drive campaign step for step (the steering
//! examples do, to check their restart choices against `steermd drive`).

use crate::drive::seeds::{derive, Stream};

/// The random streams of a campaign (`steermd_drive_seed`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum steermd_seed_stream {
    /// Langevin noise of simulation `s` (`steermd_integrator_options.seed`;
    /// drive uses iteration 0 for the whole campaign).
    STEERMD_SEED_NOISE = 1,
    /// Maxwell–Boltzmann velocities: iteration 0 at the start, iteration
    /// `i + 1` for a restart after iteration `i` that draws new ones.
    STEERMD_SEED_VELOCITIES = 2,
    /// The copy-or-redraw velocity coin of a restart (drawn by the steering).
    STEERMD_SEED_VELOCITY_COIN = 3,
    /// k-means initialisation of the state count.
    STEERMD_SEED_STATES = 4,
}

impl steermd_seed_stream {
    const ALL: [Self; 4] = [
        Self::STEERMD_SEED_NOISE,
        Self::STEERMD_SEED_VELOCITIES,
        Self::STEERMD_SEED_VELOCITY_COIN,
        Self::STEERMD_SEED_STATES,
    ];
}

impl From<steermd_seed_stream> for Stream {
    fn from(s: steermd_seed_stream) -> Self {
        match s {
            steermd_seed_stream::STEERMD_SEED_NOISE => Stream::Noise,
            steermd_seed_stream::STEERMD_SEED_VELOCITIES => Stream::Velocities,
            steermd_seed_stream::STEERMD_SEED_VELOCITY_COIN => Stream::VelocityCoin,
            steermd_seed_stream::STEERMD_SEED_STATES => Stream::States,
        }
    }
}

/// The seed `steermd drive` uses for `stream` at (`iteration`,
/// `simulation`) under campaign seed `seed` (`[md] seed`); it depends on
/// nothing else, so it is the same on every rank. An unknown `stream`
/// value (not one of `steermd_seed_stream`) gives 0.
#[no_mangle]
pub extern "C" fn steermd_drive_seed(
    seed: u64,
    stream: i32,
    iteration: u64,
    simulation: u64,
) -> u64 {
    let Some(&s) = steermd_seed_stream::ALL
        .iter()
        .find(|&&s| s as i32 == stream)
    else {
        return 0;
    };
    derive(seed, s.into(), iteration, simulation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_gives_drives_seed() {
        for s in steermd_seed_stream::ALL {
            assert_eq!(
                steermd_drive_seed(2026, s as i32, 3, 4),
                derive(2026, Stream::from(s), 3, 4)
            );
            assert_eq!(s as u64, Stream::from(s) as u64, "{s:?}");
        }
        assert_eq!(steermd_drive_seed(2026, 9, 0, 0), 0);
    }
}
