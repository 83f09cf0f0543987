#!/usr/bin/env python3
"""Open an Amber NetCDF file written by steermd with MDAnalysis and compare
what MDAnalysis reads with the committed references of villin5.nc
(tests/data/traj_formats, tools/make_traj_formats.py), which are what
MDAnalysis reads from its own file of the same frames, box, velocities and
times. Prints the largest differences and exits non-zero on disagreement.

Make the file with the Rust test that writes it, keeping a copy:
  STEERMD_KEEP_NETCDF=/tmp/villin5_steermd.nc \
      cargo test --test traj_formats netcdf_written_by_steermd_matches_mdanalysis_reference
  /work/traj-venv/bin/python tools/check_netcdf_writer.py /tmp/villin5_steermd.nc
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "tests/data/traj_formats"


def main():
    path = sys.argv[1]
    warnings.filterwarnings("ignore")
    import MDAnalysis as mda

    u = mda.Universe(str(ROOT / "tests/data/villin.pdb"), path, format="NCDF")
    ref = json.loads((REF / "reference.json").read_text())["files"]["villin5.nc"]
    want_xyz = np.load(REF / "villin5_nc.xyz_nm.npy")
    want_vel = np.load(REF / "villin5_nc.vel_nmps.npy")
    xyz, vel, boxes, times = [], [], [], []
    for ts in u.trajectory:
        xyz.append(ts.positions / 10.0)
        vel.append(ts.velocities / 10.0)
        boxes.append(ts.dimensions.tolist())
        times.append(float(ts.time))
    xyz, vel = np.array(xyz), np.array(vel)
    d_xyz = float(np.abs(xyz - want_xyz).max())
    d_vel = float(np.abs(vel - want_vel).max())
    d_box = max(abs(b[k] / 10.0 - w[k]) for b, w in zip(boxes, ref["boxes"]) for k in range(3))
    angles_ok = all(abs(b[k] - 90.0) < 1e-9 for b in boxes for k in range(3, 6))
    d_t = max(abs(a - b) for a, b in zip(times, ref["times_ps"]))
    attrs = u.trajectory.trjfile._attributes if hasattr(u.trajectory.trjfile, "_attributes") else {}
    print(f"MDAnalysis {mda.__version__} read {len(xyz)} frames x {xyz.shape[1]} atoms from {path}")
    print(f"Conventions={attrs.get('Conventions')!r} program={attrs.get('program')!r}")
    print(f"max |xyz - ref| = {d_xyz:.3g} nm, |vel - ref| = {d_vel:.3g} nm/ps, "
          f"|box - ref| = {d_box:.3g} nm, angles 90: {angles_ok}, |time - ref| = {d_t:.3g} ps")
    ok = (len(xyz) == ref["n_frames"] and d_xyz <= 1e-6 and d_vel <= 1e-6
          and d_box <= 1e-6 and angles_ok and d_t <= 1e-4)
    print("agreement" if ok else "DISAGREEMENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
