#!/usr/bin/env python3
"""Write small Amber NetCDF and GROMACS XTC files from steermd's own
tests/data/villin.pdb + villin.dcd, and what MDAnalysis reads back from
them, for tests/traj_formats.rs.

Usage: /work/traj-venv/bin/python tools/make_traj_formats.py [--out tests/data/traj_formats]
(needs numpy, scipy and MDAnalysis; MDAnalysis writes Amber NetCDF through
scipy.io.netcdf_file when netCDF4 is absent, NetCDF-3 64-bit offset).

Outputs (coordinates in nm float32, boxes in nm, velocities in nm/ps):
  villin5.nc          frames 0, 10, 20, 30, 40 of villin.dcd, a 4 nm cubic
                      box, seeded velocities written with Amber's velocity
                      scale_factor 20.455 (MDAnalysis NCDFWriter)
  villin5.xtc         the same frames and box (MDAnalysis XTCWriter)
  villin5_nobox.xtc   the same frames without a box (XTC stores zeros)
  villin.ncrst        Amber NetCDF restart (Conventions AMBERRESTART, no frame
                      dimension) of frame 40 with box and velocities, written
                      with scipy.io.netcdf_file after the Amber convention
                      (MDAnalysis has no NetCDF restart reader or writer)
  {stem}.xyz_nm.npy   coordinates as MDAnalysis reads them back [frames, atoms, 3]
  {stem}.vel_nmps.npy velocities as read back (nc, ncrst) [frames, atoms, 3]
  reference.json      n_frames, n_atoms, boxes (nm, or null), times (ps) per
                      file, versions
For villin.ncrst, "read back" is scipy.io.netcdf_file times scale_factor, Å→nm.
"""
import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FRAMES = [0, 10, 20, 30, 40]
BOX_A = 40.0  # Å
VEL_SCALE = 20.455


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/data/traj_formats"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    import warnings

    warnings.filterwarnings("ignore")
    import MDAnalysis as mda
    import scipy
    from scipy.io import netcdf_file

    data = ROOT / "tests/data"
    u = mda.Universe(str(data / "villin.pdb"), str(data / "villin.dcd"))
    n = u.atoms.n_atoms
    rng = np.random.default_rng(20261206)
    vel_a = (rng.normal(0.0, 0.3, size=(len(FRAMES), n, 3)) * 10.0).astype(np.float32)  # Å/ps

    def frames(box, vel):
        for k, f in enumerate(FRAMES):
            ts = u.trajectory[f]
            ts.dimensions = [BOX_A, BOX_A, BOX_A, 90, 90, 90] if box else None
            if vel:
                ts.velocities = vel_a[k]
            yield ts

    with mda.Writer(str(out / "villin5.nc"), n, velocities=True, scale_velocities=VEL_SCALE) as w:
        for _ in frames(True, True):
            w.write(u.atoms)
    u.trajectory.ts.has_velocities = False
    with mda.Writer(str(out / "villin5.xtc"), n) as w:
        for _ in frames(True, False):
            w.write(u.atoms)
    with mda.Writer(str(out / "villin5_nobox.xtc"), n) as w:
        for _ in frames(False, False):
            w.write(u.atoms)

    # Amber NetCDF restart: no frame dimension, double precision.
    ts = u.trajectory[FRAMES[-1]]
    with netcdf_file(str(out / "villin.ncrst"), "w", version=2) as nc:
        nc.Conventions = b"AMBERRESTART"
        nc.ConventionsVersion = b"1.0"
        nc.program = b"tools/make_traj_formats.py"
        nc.programVersion = b"1.0"
        nc.title = b"villin frame 40"
        nc.createDimension("spatial", 3)
        nc.createDimension("atom", n)
        nc.createDimension("cell_spatial", 3)
        nc.createDimension("cell_angular", 3)
        nc.createDimension("label", 5)
        nc.createVariable("spatial", "c", ("spatial",))[:] = np.array(list("xyz"), "S1")
        nc.createVariable("cell_spatial", "c", ("cell_spatial",))[:] = np.array(list("abc"), "S1")
        ca = nc.createVariable("cell_angular", "c", ("cell_angular", "label"))
        ca[:] = np.array([list("alpha"), list("beta "), list("gamma")], "S1")
        t = nc.createVariable("time", "d", ())
        t.units = b"picosecond"
        t.data[...] = 80.0
        c = nc.createVariable("coordinates", "d", ("atom", "spatial"))
        c.units = b"angstrom"
        c[:] = ts.positions.astype(np.float64)
        v = nc.createVariable("velocities", "d", ("atom", "spatial"))
        v.units = b"angstrom/picosecond"
        v.scale_factor = VEL_SCALE
        v[:] = vel_a[-1].astype(np.float64) / VEL_SCALE
        cl = nc.createVariable("cell_lengths", "d", ("cell_spatial",))
        cl.units = b"angstrom"
        cl[:] = [BOX_A, BOX_A, BOX_A]
        cg = nc.createVariable("cell_angles", "d", ("cell_angular",))
        cg.units = b"degree"
        cg[:] = [90.0, 90.0, 90.0]

    ref = {
        "generator": "tools/make_traj_formats.py",
        "versions": {"MDAnalysis": mda.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "units": {"xyz": "nm", "boxes": "nm", "velocities": "nm/ps"},
        "files": {},
    }
    for name in ["villin5.nc", "villin5.xtc", "villin5_nobox.xtc"]:
        r = mda.Universe(str(data / "villin.pdb"), str(out / name))
        xyz, boxes, vel, times = [], [], [], []
        for ts in r.trajectory:
            times.append(float(ts.time))
            xyz.append(ts.positions / 10.0)
            boxes.append(None if ts.dimensions is None else [float(a) / 10.0 for a in ts.dimensions[:3]])
            if ts.has_velocities:
                vel.append(ts.velocities / 10.0)
        stem = name.replace(".", "_")
        np.save(out / f"{stem}.xyz_nm.npy", np.asarray(xyz, np.float32))
        if vel:
            np.save(out / f"{stem}.vel_nmps.npy", np.asarray(vel, np.float32))
        ref["files"][name] = {
            "n_frames": len(xyz),
            "n_atoms": n,
            "boxes": None if boxes[0] is None else boxes,
            "velocities": bool(vel),
            "times_ps": times,
        }
    with netcdf_file(str(out / "villin.ncrst"), "r", mmap=False) as nc:
        assert "frame" not in nc.dimensions
        xyz = nc.variables["coordinates"][:] / 10.0
        vel = nc.variables["velocities"][:] * nc.variables["velocities"].scale_factor / 10.0
        box = [float(a) / 10.0 for a in nc.variables["cell_lengths"][:]]
        time = float(nc.variables["time"].getValue())
    np.save(out / "villin_ncrst.xyz_nm.npy", xyz[None].astype(np.float32))
    np.save(out / "villin_ncrst.vel_nmps.npy", vel[None].astype(np.float32))
    ref["files"]["villin.ncrst"] = {"n_frames": 1, "n_atoms": n, "boxes": [box], "velocities": True, "times_ps": [time]}
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    for junk in out.glob(".*_offsets.*"):
        junk.unlink()  # MDAnalysis' XTC offset caches


if __name__ == "__main__":
    main()
