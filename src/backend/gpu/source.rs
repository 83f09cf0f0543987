//! The kernel sources of `kernels/`, embedded in the crate: one source per
//! kernel family, compiled behind a runtime's prelude and `common.h`.

use crate::error::Error;

/// Kernel families (one source file each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// `bonded.k`: bonds, angles, torsions.
    Bonded,
    /// `nonbonded.k`: LJ + Coulomb pairs and exceptions.
    Nonbonded,
    /// `gbsa.k`: OBC2 generalized Born.
    Gbsa,
    /// `reduce.k`: fixed-order energy sums.
    Reduce,
    /// `integrate.k`: integrator steps and stability checks.
    Integrate,
    /// `constraints.k`: SETTLE, SHAKE and RATTLE.
    Constraints,
    /// `neighbors.k`: the cell neighbour list.
    Neighbors,
}

impl Family {
    /// Every family, in compile order.
    pub const ALL: [Family; 7] = [
        Family::Bonded,
        Family::Nonbonded,
        Family::Gbsa,
        Family::Reduce,
        Family::Integrate,
        Family::Constraints,
        Family::Neighbors,
    ];

    fn body(self) -> &'static str {
        match self {
            Family::Bonded => include_str!("../../../kernels/bonded.k"),
            Family::Nonbonded => include_str!("../../../kernels/nonbonded.k"),
            Family::Gbsa => include_str!("../../../kernels/gbsa.k"),
            Family::Reduce => include_str!("../../../kernels/reduce.k"),
            Family::Integrate => include_str!("../../../kernels/integrate.k"),
            Family::Constraints => include_str!("../../../kernels/constraints.k"),
            Family::Neighbors => include_str!("../../../kernels/neighbors.k"),
        }
    }

    /// The family's file name in `kernels/`.
    pub fn file(self) -> &'static str {
        match self {
            Family::Bonded => "bonded.k",
            Family::Nonbonded => "nonbonded.k",
            Family::Gbsa => "gbsa.k",
            Family::Reduce => "reduce.k",
            Family::Integrate => "integrate.k",
            Family::Constraints => "constraints.k",
            Family::Neighbors => "neighbors.k",
        }
    }
}

impl Family {
    /// `e`, if a device error, with its failing call naming this family's
    /// source file (the one place compile and load errors get it).
    pub fn blame(self, e: Error) -> Error {
        match e {
            Error::Device {
                backend,
                call,
                message,
            } => Error::Device {
                backend,
                call: format!("{call} of kernels/{}", self.file()),
                message,
            },
            other => other,
        }
    }
}

/// `common.h`, shared by every family.
pub const COMMON: &str = include_str!("../../../kernels/common.h");

/// The full source of `family` behind `prelude`.
pub fn assemble(prelude: &str, family: Family) -> String {
    format!("{prelude}\n{COMMON}\n{}", family.body())
}
