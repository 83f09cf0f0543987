//! Dynamics: integrators, constraints, minimization, reporters.
