//! The device neighbour list of the cutoff row kernels (kernels/neighbors.k):
//! cells plus a skin, rebuilt on the device when an atom has moved more
//! than [`TRIGGER`] of the skin since the last build, so a device-resident
//! integrator never waits for the host.
//!
//! Each atom's list holds, in ascending index order, every atom within
//! `cutoff + skin` at the build. The row kernels walk it instead of every
//! atom and skip pairs beyond their cutoff as before, so they sum the same
//! pairs in the same order: forces and energies are bitwise those of the
//! all-pairs walk, however often the list is rebuilt. Builds can therefore
//! be forced whenever convenient (at every batch, after every upload).
//!
//! Capacity: lists have a fixed length per atom. A build that finds more
//! neighbours for some atom flags an overflow and stops a device integrator
//! at that step (its status word); the host then grows the capacity to the
//! largest count plus a margin and evaluates again.

use super::runtime::{Arg, DeviceVec, Runtime};
use super::source::Family;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::forcefield::BoxVectors;

/// How the device neighbour list is built.
#[derive(Clone, Copy, Debug)]
pub struct NeighborSettings {
    /// Whether cutoff forces use a list at all (without one, every row walks
    /// every atom).
    pub enabled: bool,
    /// Distance added to the largest cutoff (nm).
    pub skin: f64,
    /// Neighbours per atom the list starts with.
    pub initial_capacity: usize,
    /// Entries added above the largest count when the list grows.
    pub margin: usize,
}

impl Default for NeighborSettings {
    fn default() -> Self {
        NeighborSettings {
            enabled: true,
            skin: 0.1,
            initial_capacity: 64,
            margin: 32,
        }
    }
}

/// A rebuild is due once an atom has moved this fraction of the skin. Below
/// one half (the exact bound), so that mixed precision's rounding of pair
/// distances at the cutoff never matters.
pub const TRIGGER: f64 = 0.45;

/// Cells along one direction at most (more only cost memory).
const MAX_CELLS_PER_AXIS: usize = 256;

/// Which status word the build kernels obey and set on overflow.
pub(super) enum Stop<'a, R: Runtime> {
    /// A standalone evaluation: the list's own status word.
    Own,
    /// A device integrator's status word and the 1-based step it is on.
    Step(&'a DeviceVec<R, i32>, i32),
}

/// Cell grid: counts per axis and, without a box, the hashed cell edge (nm).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Grid {
    cells: [usize; 3],
    width: f64,
}

impl Grid {
    fn total(&self) -> usize {
        self.cells.iter().product()
    }
}

fn int(value: usize) -> Result<i32> {
    i32::try_from(value)
        .map_err(|_| Error::InvalidArgument(format!("neighbour list size {value} exceeds i32")))
}

/// Cells per axis whose planes are at least `rlist` apart in the reduced
/// box `b` (nm): plane spacing along a is V/|b×c|, and so on.
fn periodic_grid(b: &BoxVectors, rlist: f64) -> Grid {
    let cross = |u: &[f64; 3], v: &[f64; 3]| {
        let c = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt()
    };
    let volume = b[0][0] * b[1][1] * b[2][2];
    let spacing = [
        volume / cross(&b[1], &b[2]),
        volume / cross(&b[2], &b[0]),
        volume / cross(&b[0], &b[1]),
    ];
    // A hair above rlist, so rounding at a cell face never hides a pair.
    let edge = rlist * (1.0 + 1e-9);
    Grid {
        cells: spacing.map(|s| ((s / edge).floor() as usize).clamp(1, MAX_CELLS_PER_AXIS)),
        width: edge,
    }
}

/// A hashed grid of cubes of edge a hair above `rlist` covering the extent
/// of `positions` (nm); atoms outside it fold back in, which costs only
/// distance tests.
fn open_grid(positions: &[[f64; 3]], rlist: f64) -> Grid {
    let edge = rlist * (1.0 + 1e-9);
    let mut cells = [1; 3];
    for (k, c) in cells.iter_mut().enumerate() {
        let (lo, hi) = positions
            .iter()
            .map(|p| p[k])
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        if hi > lo {
            *c = (((hi - lo) / edge).ceil() as usize).clamp(1, MAX_CELLS_PER_AXIS);
        }
    }
    Grid { cells, width: edge }
}

/// A neighbour list on one device.
pub(super) struct NeighborList<R: Runtime> {
    n: usize,
    rlist: f64,
    skin: f64,
    margin: usize,
    periodic: bool,
    grid: Grid,
    cap: usize,
    /// [build due, overflow].
    flags: DeviceVec<R, i32>,
    /// The status word of standalone evaluations.
    own_status: DeviceVec<R, i32>,
    reference: DeviceVec<R, f64>,
    atom_cell: DeviceVec<R, i32>,
    cell_count: DeviceVec<R, i64>,
    cursor: DeviceVec<R, i64>,
    cell_start: DeviceVec<R, i32>,
    cell_atoms: DeviceVec<R, i32>,
    list: DeviceVec<R, i32>,
    count: DeviceVec<R, i32>,
}

impl<R: Runtime> NeighborList<R> {
    /// A list for `n` atoms and pairs within `cutoff` (nm), with minimum
    /// images when `periodic`.
    pub fn new(
        rt: &R,
        n: usize,
        cutoff: f64,
        periodic: bool,
        settings: &NeighborSettings,
    ) -> Result<Self> {
        let cap = settings.initial_capacity.clamp(1, n.max(1));
        int(n * cap)?;
        let grid = Grid {
            cells: [1; 3],
            width: cutoff + settings.skin,
        };
        Ok(NeighborList {
            n,
            rlist: cutoff + settings.skin,
            skin: settings.skin,
            margin: settings.margin,
            periodic,
            grid,
            cap,
            flags: DeviceVec::from_slice(rt, &[1, 0])?,
            own_status: DeviceVec::zeroed(rt, 1)?,
            reference: DeviceVec::zeroed(rt, 3 * n)?,
            atom_cell: DeviceVec::zeroed(rt, n)?,
            cell_count: DeviceVec::zeroed(rt, 1)?,
            cursor: DeviceVec::zeroed(rt, 1)?,
            cell_start: DeviceVec::zeroed(rt, 2)?,
            cell_atoms: DeviceVec::zeroed(rt, n)?,
            list: DeviceVec::zeroed(rt, n * cap)?,
            count: DeviceVec::zeroed(rt, n)?,
        })
    }

    /// Neighbours per atom the list holds now.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    fn set_grid(&mut self, rt: &R, grid: Grid) -> Result<()> {
        if grid.total() + 1 > self.cell_start.len() {
            self.cell_count = DeviceVec::zeroed(rt, grid.total())?;
            self.cursor = DeviceVec::zeroed(rt, grid.total())?;
            self.cell_start = DeviceVec::zeroed(rt, grid.total() + 1)?;
        }
        self.grid = grid;
        Ok(())
    }

    /// Fit the cells to the periodic box `b` (nm), if the list is periodic.
    pub fn fit_box(&mut self, rt: &R, b: &BoxVectors) -> Result<()> {
        if !self.periodic {
            return Ok(());
        }
        self.set_grid(rt, periodic_grid(b, self.rlist))
    }

    /// Fit the hashed cells to the extent of `positions` (nm), if the list
    /// is not periodic.
    pub fn fit_positions(&mut self, rt: &R, positions: &[[f64; 3]]) -> Result<()> {
        if self.periodic {
            return Ok(());
        }
        self.set_grid(rt, open_grid(positions, self.rlist))
    }

    /// The list as the row kernels' `nl_list, nl_count, nl_cap` arguments.
    pub fn row_args(&self) -> [Arg<'_, R::Buffer>; 3] {
        [self.list.arg(), self.count.arg(), Arg::Int(self.cap as i32)]
    }

    fn status<'a>(&'a self, stop: &Stop<'a, R>) -> (&'a DeviceVec<R, i32>, i32) {
        match *stop {
            Stop::Own => (&self.own_status, 1),
            Stop::Step(status, tag) => (status, tag),
        }
    }

    /// Queue a forced build at the next [`NeighborList::queue`] (and, for
    /// [`Stop::Own`], clear the list's own status word).
    pub fn force_build(&self, backend: &GpuBackend<R>, stop: &Stop<'_, R>) -> Result<()> {
        let (status, _) = self.status(stop);
        let reset = i32::from(matches!(stop, Stop::Own));
        launch(
            backend,
            "nl_start",
            1,
            &[self.flags.arg(), status.arg(), Arg::Int(reset)],
        )
    }

    /// Queue the displacement test and, when it finds a build due, the
    /// build at positions `x` (device, 3n nm) in `box_vectors` (device, 9
    /// nm).
    pub fn queue(
        &self,
        backend: &GpuBackend<R>,
        x: &DeviceVec<R, f64>,
        box_vectors: &DeviceVec<R, f64>,
        stop: &Stop<'_, R>,
    ) -> Result<()> {
        let (status, tag) = self.status(stop);
        let n = int(self.n)?;
        let cells = self.grid.total();
        let [nx, ny, nz] = self.grid.cells.map(|c| Arg::Int(c as i32));
        let trigger = TRIGGER * self.skin;
        let periodic = Arg::Int(i32::from(self.periodic));
        let guard = [Arg::Int(n), status.arg(), self.flags.arg()];
        let grid = [x.arg(), box_vectors.arg(), periodic, nx, ny, nz];
        let displaced = [
            Arg::Int(n),
            status.arg(),
            x.arg(),
            self.reference.arg(),
            Arg::Mixed(trigger * trigger),
            self.flags.arg(),
        ];
        launch(backend, "nl_displaced", self.n, &displaced)?;
        let count = [
            &guard[..],
            &grid[..],
            &[
                Arg::Mixed(self.grid.width),
                self.atom_cell.arg(),
                self.cell_count.arg(),
            ],
        ]
        .concat();
        launch(backend, "nl_count", self.n, &count)?;
        let cell_guard = [Arg::Int(int(cells)?), status.arg(), self.flags.arg()];
        let scan = [
            &cell_guard[..],
            &[
                self.cell_count.arg(),
                self.cell_start.arg(),
                self.cursor.arg(),
            ],
        ]
        .concat();
        launch(backend, "nl_scan", 1, &scan)?;
        let fill = [
            &guard[..],
            &[
                self.atom_cell.arg(),
                self.cursor.arg(),
                self.cell_atoms.arg(),
            ],
        ]
        .concat();
        launch(backend, "nl_fill", self.n, &fill)?;
        let sort = [
            &cell_guard[..],
            &[self.cell_start.arg(), self.cell_atoms.arg()],
        ]
        .concat();
        launch(backend, "nl_sort", cells, &sort)?;
        let rows = [
            &guard[..],
            &grid[..],
            &[
                Arg::Mixed(self.rlist * self.rlist),
                self.atom_cell.arg(),
                self.cell_start.arg(),
                self.cell_atoms.arg(),
                Arg::Int(int(self.cap)?),
                self.list.arg(),
                self.count.arg(),
                self.reference.arg(),
            ],
        ]
        .concat();
        launch(backend, "nl_rows", self.n, &rows)?;
        launch(
            backend,
            "nl_done",
            1,
            &[status.arg(), Arg::Int(tag), self.flags.arg()],
        )
    }

    /// Whether a build since the last [`NeighborList::force_build`] found
    /// more neighbours than the capacity.
    pub fn overflowed(&self, rt: &R) -> Result<bool> {
        let mut flags = [0i32; 2];
        self.flags.download(rt, &mut flags)?;
        Ok(flags[1] != 0)
    }

    /// After an overflow: grow the capacity to the largest count of the
    /// last build plus the margin.
    pub fn grow(&mut self, rt: &R) -> Result<()> {
        let mut count = vec![0i32; self.n];
        self.count.download(rt, &mut count)?;
        let largest = count.iter().copied().max().unwrap_or(0).max(0) as usize;
        let cap = (largest + self.margin).max(self.cap + 1).min(self.n.max(1));
        int(self.n * cap)?;
        self.list = DeviceVec::zeroed(rt, self.n * cap)?;
        self.cap = cap;
        Ok(())
    }
}

fn launch<R: Runtime>(
    backend: &GpuBackend<R>,
    name: &str,
    items: usize,
    args: &[Arg<'_, R::Buffer>],
) -> Result<()> {
    let module = backend.module(Family::Neighbors)?;
    backend.runtime().launch(&module, name, items, args)
}
