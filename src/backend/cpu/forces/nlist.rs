//! Verlet neighbour lists of atom–cluster pairs with a skin, built on a cell
//! grid.
//!
//! Entry (i, c) says that some atom j > i of cluster c (atoms `cW..cW+W`)
//! was within `r_c + skin` of atom i when the list was built. The list is
//! rebuilt when the box changes or any atom has moved more than `skin/2`
//! since the last build, so every pair within `r_c` now is in the list.
//! Kernels mask lanes by the current distance, so the list only decides
//! how much work is done, never the result (see [`super::pairs`]).

use super::lanes::W;
use crate::forcefield::terms::{min_image, sub, Vec3};
use crate::forcefield::BoxVectors;
use rayon::prelude::*;

/// Skin added to the cutoff (nm).
pub(super) const SKIN: f64 = 0.1;

/// Clusters visited by each atom (CSR, increasing within a row).
#[derive(Default)]
pub(super) struct ClusterList {
    start: Vec<u32>,
    clusters: Vec<u32>,
}

impl ClusterList {
    /// Clusters of atom i.
    pub fn row(&self, i: usize) -> &[u32] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.clusters[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A neighbour list and the state that decides when to rebuild it.
pub(super) struct NeighborList {
    /// Interaction cutoff (nm).
    pub cutoff: f64,
    /// Whether distances use the minimum image.
    pub periodic: bool,
    /// The current list.
    pub list: ClusterList,
    ref_positions: Vec<Vec3>,
    ref_box: Option<BoxVectors>,
    built: bool,
    /// Number of builds so far (diagnostics).
    pub builds: usize,
}

impl NeighborList {
    pub fn new(cutoff: f64, periodic: bool) -> Self {
        NeighborList {
            cutoff,
            periodic,
            list: ClusterList::default(),
            ref_positions: Vec::new(),
            ref_box: None,
            built: false,
            builds: 0,
        }
    }

    /// Rebuild if needed for `positions` in `pbox` (the box is used only
    /// when the list is periodic). Returns whether it rebuilt.
    pub fn update(&mut self, positions: &[Vec3], pbox: Option<&BoxVectors>) -> bool {
        let pbox = if self.periodic { pbox.copied() } else { None };
        let half_skin2 = 0.25 * SKIN * SKIN;
        let stale = !self.built
            || self.ref_box != pbox
            || self.ref_positions.len() != positions.len()
            || positions.par_iter().zip(&self.ref_positions).any(|(p, q)| {
                let d = sub(*p, *q);
                let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                d2 > half_skin2 || d2.is_nan()
            });
        if stale {
            self.list = build(positions, self.cutoff + SKIN, pbox.as_ref());
            self.ref_positions.clear();
            self.ref_positions.extend_from_slice(positions);
            self.ref_box = pbox;
            self.built = true;
            self.builds += 1;
        }
        stale
    }
}

/// Atoms binned into a grid of cells at least `rl/2` wide.
struct Grid {
    dims: [usize; 3],
    /// Per cell, its atoms (CSR, increasing index).
    start: Vec<u32>,
    atoms: Vec<u32>,
    cell_of: Vec<[usize; 3]>,
    periodic: bool,
}

impl Grid {
    fn new(positions: &[Vec3], rl: f64, pbox: Option<&BoxVectors>) -> Self {
        let n = positions.len();
        let (origin, extent) = match pbox {
            Some(b) => ([0.0; 3], [b[0][0], b[1][1], b[2][2]]),
            None => {
                let mut lo = [f64::INFINITY; 3];
                let mut hi = [f64::NEG_INFINITY; 3];
                for p in positions {
                    for k in 0..3 {
                        lo[k] = lo[k].min(p[k]);
                        hi[k] = hi[k].max(p[k]);
                    }
                }
                (lo, [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]])
            }
        };
        let mut dims = [1usize; 3];
        for k in 0..3 {
            dims[k] = ((extent[k] / (0.5 * rl)).floor() as usize).clamp(1, 1 << 20);
        }
        // A sparse, huge extent: coarser cells (still at least rl/2 wide).
        while dims.iter().product::<usize>() > 4 * n + 64 {
            let k = (0..3).max_by_key(|&k| dims[k]).unwrap_or(0);
            dims[k] = dims[k].div_ceil(2);
        }
        let cell_of: Vec<[usize; 3]> = positions
            .iter()
            .map(|p| {
                let mut c = [0usize; 3];
                for k in 0..3 {
                    let mut f = if extent[k] > 0.0 {
                        (p[k] - origin[k]) / extent[k]
                    } else {
                        0.0
                    };
                    if pbox.is_some() {
                        f -= f.floor();
                    }
                    c[k] = ((f * dims[k] as f64) as usize).min(dims[k] - 1);
                }
                c
            })
            .collect();
        let index = |c: &[usize; 3]| (c[0] * dims[1] + c[1]) * dims[2] + c[2];
        let n_cells = dims[0] * dims[1] * dims[2];
        let mut start = vec![0u32; n_cells + 1];
        for c in &cell_of {
            start[index(c) + 1] += 1;
        }
        for k in 0..n_cells {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut atoms = vec![0u32; n];
        for (i, c) in cell_of.iter().enumerate() {
            let slot = &mut fill[index(c)];
            atoms[*slot as usize] = i as u32;
            *slot += 1;
        }
        Grid {
            dims,
            start,
            atoms,
            cell_of,
            periodic: pbox.is_some(),
        }
    }

    /// Distinct cells within two cells of `c` along each axis.
    fn neighbor_cells(&self, c: [usize; 3]) -> Vec<usize> {
        let mut axes: [Vec<usize>; 3] = Default::default();
        for k in 0..3 {
            let d = self.dims[k] as isize;
            for o in -2isize..=2 {
                let v = c[k] as isize + o;
                let v = if self.periodic {
                    v.rem_euclid(d)
                } else if v < 0 || v >= d {
                    continue;
                } else {
                    v
                };
                if !axes[k].contains(&(v as usize)) {
                    axes[k].push(v as usize);
                }
            }
        }
        let mut cells = Vec::with_capacity(axes[0].len() * axes[1].len() * axes[2].len());
        for &a in &axes[0] {
            for &b in &axes[1] {
                for &d in &axes[2] {
                    cells.push((a * self.dims[1] + b) * self.dims[2] + d);
                }
            }
        }
        cells
    }
}

/// Whether a periodic box is rectangular (the cell grid needs it).
fn rectangular(b: &BoxVectors) -> bool {
    b[1][0] == 0.0 && b[2][0] == 0.0 && b[2][1] == 0.0
}

/// Build the atom–cluster list for list radius `rl` (nm).
fn build(positions: &[Vec3], rl: f64, pbox: Option<&BoxVectors>) -> ClusterList {
    let n = positions.len();
    let rl2 = rl * rl;
    let close = |i: usize, j: usize| {
        let d = sub(positions[j], positions[i]);
        let d = match pbox {
            Some(b) => min_image(d, b),
            None => d,
        };
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rl2
    };
    let rows: Vec<Vec<u32>> = match pbox {
        Some(b) if !rectangular(b) => (0..n)
            .into_par_iter()
            .map(|i| {
                let mut row: Vec<u32> = Vec::new();
                for j in i + 1..n {
                    let c = (j / W) as u32;
                    if row.last() != Some(&c) && close(i, j) {
                        row.push(c);
                    }
                }
                row
            })
            .collect(),
        _ => {
            let grid = Grid::new(positions, rl, pbox);
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let mut row: Vec<u32> = Vec::new();
                    for cell in grid.neighbor_cells(grid.cell_of[i]) {
                        let a = grid.start[cell] as usize;
                        let b = grid.start[cell + 1] as usize;
                        for &j in &grid.atoms[a..b] {
                            let j = j as usize;
                            if j > i && close(i, j) {
                                row.push((j / W) as u32);
                            }
                        }
                    }
                    row.sort_unstable();
                    row.dedup();
                    row
                })
                .collect()
        }
    };
    let mut start = Vec::with_capacity(n + 1);
    start.push(0u32);
    let mut clusters = Vec::with_capacity(rows.iter().map(Vec::len).sum());
    for row in rows {
        clusters.extend_from_slice(&row);
        start.push(clusters.len() as u32);
    }
    ClusterList { start, clusters }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Every pair within the list radius has its cluster in the list, for
    /// free, rectangular-periodic and triclinic-periodic geometries.
    #[test]
    fn lists_contain_every_close_pair() {
        let mut seed = 7;
        let n = 300;
        let pos: Vec<Vec3> = (0..n)
            .map(|_| {
                [
                    4.0 * lcg(&mut seed) - 1.0,
                    3.0 * lcg(&mut seed),
                    3.5 * lcg(&mut seed) + 0.5,
                ]
            })
            .collect();
        let rect = [[3.1, 0.0, 0.0], [0.0, 2.9, 0.0], [0.0, 0.0, 3.3]];
        let tric = [[3.1, 0.0, 0.0], [0.9, 2.9, 0.0], [-0.7, 1.1, 3.3]];
        for pbox in [None, Some(&rect), Some(&tric)] {
            for rl in [0.6, 1.1, 1.45] {
                let list = build(&pos, rl, pbox);
                for i in 0..n {
                    for j in i + 1..n {
                        let d = sub(pos[j], pos[i]);
                        let d = pbox.map_or(d, |b| min_image(d, b));
                        if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rl * rl {
                            assert!(list.row(i).contains(&((j / W) as u32)), "{i}-{j} rl={rl}");
                        }
                    }
                    assert!(list.row(i).windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }

    #[test]
    fn rebuilds_only_when_needed() {
        let mut nl = NeighborList::new(1.0, false);
        let mut pos = vec![[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [2.0, 0.0, 0.0]];
        assert!(nl.update(&pos, None));
        pos[1][0] += 0.49 * SKIN;
        assert!(!nl.update(&pos, None));
        pos[1][0] += 0.02 * SKIN;
        assert!(nl.update(&pos, None));
        assert_eq!(nl.builds, 2);
        let mut pl = NeighborList::new(1.0, true);
        let b = [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]];
        assert!(pl.update(&pos, Some(&b)));
        assert!(!pl.update(&pos, Some(&b)));
        let mut b2 = b;
        b2[2][2] = 3.0001;
        assert!(pl.update(&pos, Some(&b2)));
    }
}
