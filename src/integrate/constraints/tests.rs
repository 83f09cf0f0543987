use super::*;
use crate::forcefield::{Constraint, System};

/// SplitMix64 uniforms in [-1, 1).
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    fn v3(&mut self, s: f64) -> [f64; 3] {
        [s * self.next(), s * self.next(), s * self.next()]
    }
}

fn c(i: usize, j: usize, distance: f64) -> Constraint {
    Constraint { i, j, distance }
}

/// A TIP3P-like water (O at origin) plus a methyl-like C–H₃ cluster with a
/// heavy neighbour constrained to C (4 constraints).
fn system() -> (System, Vec<[f64; 3]>) {
    let (d_oh, d_hh): (f64, f64) = (0.09572, 0.15139);
    let half = 0.5 * d_hh;
    let h = (d_oh * d_oh - half * half).sqrt();
    let mut x = vec![[0.0, 0.0, 0.0], [half, -h, 0.0], [-half, -h, 0.0]];
    let d_ch = 0.109;
    let d_cc = 0.153;
    let base = [1.0, 0.2, -0.3];
    x.push(base); // C (3)
    let t = (109.47f64).to_radians();
    for k in 0..3 {
        let phi = k as f64 * std::f64::consts::TAU / 3.0;
        x.push([
            base[0] + d_ch * t.sin() * phi.cos(),
            base[1] + d_ch * t.sin() * phi.sin(),
            base[2] + d_ch * t.cos(),
        ]);
    }
    x.push([base[0], base[1], base[2] + d_cc]); // C' (7)
    let system = System {
        masses: vec![15.9994, 1.008, 1.008, 12.01, 1.008, 1.008, 1.008, 12.01],
        constraints: vec![
            c(0, 1, d_oh),
            c(0, 2, d_oh),
            c(1, 2, d_hh),
            c(3, 4, d_ch),
            c(5, 3, d_ch),
            c(3, 6, d_ch),
            c(7, 3, d_cc),
        ],
        ..Default::default()
    };
    (system, x)
}

fn perturbed(x: &[[f64; 3]], scale: f64, seed: u64) -> Vec<[f64; 3]> {
    let mut n = Noise(seed);
    x.iter()
        .map(|p| {
            let d = n.v3(scale);
            [p[0] + d[0], p[1] + d[1], p[2] + d[2]]
        })
        .collect()
}

fn momentum_shift(m: &[f64], a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    (0..3)
        .map(|k| {
            m.iter()
                .zip(a.iter().zip(b))
                .map(|(m, (a, b))| m * (a[k] - b[k]))
                .sum::<f64>()
                .abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn clusters_and_settle_detection() {
    let (sys, _) = system();
    let cons = Constraints::new(&sys).unwrap();
    assert_eq!(cons.n_clusters(), 2);
    assert_eq!(cons.n_settle(), 1);
    assert_eq!(cons.largest_cluster(), 4);

    // Unequal outer masses: no SETTLE.
    let mut s2 = sys.clone();
    s2.masses[2] = 2.0;
    assert_eq!(Constraints::new(&s2).unwrap().n_settle(), 0);
    // Constraints between two massless particles are ignored.
    let mut s3 = sys.clone();
    s3.masses.extend([0.0, 0.0]);
    s3.constraints.push(c(8, 9, 0.1));
    assert_eq!(Constraints::new(&s3).unwrap().n_clusters(), 2);
    // Invalid constraints are refused.
    let mut s4 = sys;
    s4.constraints.push(c(0, 42, 0.1));
    assert!(Constraints::new(&s4).is_err());
}

#[test]
fn settle_equals_iterative_shake_solution() {
    let (sys, x0) = system();
    let tol = 1e-12;
    let mut settle = Constraints::new(&sys).unwrap();
    let mut newton = Constraints::new(&sys).unwrap().without_settle();
    for seed in 0..20 {
        let unc = perturbed(&x0, 0.01, seed);
        let mut a = unc.clone();
        let mut b = unc.clone();
        settle.apply_positions(&x0, &mut a, tol).unwrap();
        newton.apply_positions(&x0, &mut b, tol).unwrap();
        let (e, _) = settle.max_relative_error(&a);
        assert!(e < 1e-12, "SETTLE error {e}");
        for i in 0..3 {
            for k in 0..3 {
                assert!(
                    (a[i][k] - b[i][k]).abs() < 1e-11,
                    "seed {seed} atom {i}: {a:?} vs {b:?}"
                );
            }
        }
        // Internal forces: total momentum of the correction is zero.
        assert!(momentum_shift(&sys.masses, &a, &unc) < 1e-13);
    }
}

#[test]
fn newton_and_gauss_seidel_agree_within_tolerance() {
    let (sys, x0) = system();
    let tol = 1e-10;
    let mut dense = Constraints::new(&sys).unwrap();
    let mut gs = Constraints::new(&sys).unwrap();
    gs.dense_limit = 0;
    for seed in 0..20 {
        let unc = perturbed(&x0, 0.005, 100 + seed);
        let mut a = unc.clone();
        let mut b = unc.clone();
        dense.apply_positions(&x0, &mut a, tol).unwrap();
        gs.apply_positions(&x0, &mut b, tol).unwrap();
        assert!(dense.max_relative_error(&a).0 <= tol);
        assert!(gs.max_relative_error(&b).0 <= tol);
        for i in 0..a.len() {
            for k in 0..3 {
                assert!(
                    (a[i][k] - b[i][k]).abs() < 1e-9,
                    "{i}: {:?} {:?}",
                    a[i],
                    b[i]
                );
            }
        }
        assert!(momentum_shift(&sys.masses, &a, &unc) < 1e-13);
    }
}

#[test]
fn velocity_constraints_remove_bond_components() {
    let (sys, x0) = system();
    let tol = 1e-10;
    for dense_limit in [DEFAULT_DENSE_LIMIT, 0] {
        let mut cons = Constraints::new(&sys).unwrap();
        cons.dense_limit = dense_limit;
        let mut n = Noise(7);
        let v0: Vec<[f64; 3]> = (0..x0.len()).map(|_| n.v3(2.0)).collect();
        let mut v = v0.clone();
        cons.apply_velocities(&x0, &mut v, tol).unwrap();
        assert!(cons.max_velocity_error(&x0, &v) <= tol);
        assert!(momentum_shift(&sys.masses, &v, &v0) < 1e-12);
        // Projection: applying again changes nothing (beyond rounding).
        let mut v2 = v.clone();
        cons.apply_velocities(&x0, &mut v2, tol).unwrap();
        assert_eq!(v, v2);
    }
}

#[test]
fn massless_particle_stays_put() {
    let sys = System {
        masses: vec![0.0, 2.0],
        constraints: vec![c(0, 1, 0.1)],
        ..Default::default()
    };
    let x0 = vec![[0.0; 3], [0.1, 0.0, 0.0]];
    let mut x = vec![[0.0; 3], [0.12, 0.01, 0.0]];
    let mut cons = Constraints::new(&sys).unwrap();
    cons.apply_positions(&x0, &mut x, 1e-10).unwrap();
    assert_eq!(x[0], [0.0; 3]);
    assert!(cons.max_relative_error(&x).0 <= 1e-10);
}

#[test]
fn failures_name_the_constraint() {
    let (sys, x0) = system();
    // Few iterations and a large displacement: no convergence.
    let mut cons = Constraints::new(&sys).unwrap();
    cons.max_iterations = 1;
    let mut x = perturbed(&x0, 0.03, 5);
    let err = cons.apply_positions(&x0, &mut x, 1e-12).unwrap_err();
    assert!(err.constraint >= 3, "{err}");
    assert!(err.to_string().contains("did not converge"), "{err}");
    let e = err.at_step(17).to_string();
    assert!(
        e.contains("step 17") && e.contains(&format!("constraint {}", err.constraint)),
        "{e}"
    );

    // A bond rotated by 90 degrees cannot be corrected along its old direction.
    let sys = System {
        masses: vec![1.0, 1.0],
        constraints: vec![c(0, 1, 0.1)],
        ..Default::default()
    };
    let x0 = vec![[0.0; 3], [0.1, 0.0, 0.0]];
    for dense_limit in [DEFAULT_DENSE_LIMIT, 0] {
        let mut cons = Constraints::new(&sys).unwrap();
        cons.dense_limit = dense_limit;
        let mut x = vec![[0.0; 3], [0.0, 0.2, 0.0]];
        let err = cons.apply_positions(&x0, &mut x, 1e-8).unwrap_err();
        assert_eq!(err.constraint, 0, "{err}");
    }

    // A water whose atoms jumped by more than a bond length: SETTLE fails.
    let (sys, x0) = system();
    let mut cons = Constraints::new(&sys).unwrap();
    let mut x = x0.clone();
    x[0][2] += 0.5;
    let err = cons.apply_positions(&x0, &mut x, 1e-8).unwrap_err();
    assert!(err.constraint < 3, "{err}");
}

#[test]
fn tolerance_validation() {
    assert!(check_tolerance(1e-5).is_ok());
    for bad in [0.0, -1.0, f64::NAN, 1.0] {
        assert!(check_tolerance(bad).is_err());
    }
}
