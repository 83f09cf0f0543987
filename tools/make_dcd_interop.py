#!/usr/bin/env python3
"""Write small DCD files with MDAnalysis, mdtraj and OpenMM for steermd's DCD
reader tests (tests/io_formats.rs).

Usage: python3 tools/make_dcd_interop.py [--out tests/data/dcd_interop]
(needs numpy, MDAnalysis, mdtraj and openmm, e.g. the venv that
tools/make_reference.py creates).

Outputs: x_nm.npy (float32 [4, 7, 3], nm), boxes_nm.npy (float32 [4, 3], nm)
and mdanalysis.dcd, mdtraj.dcd, openmm.dcd holding those frames and
orthorhombic boxes (OpenMM: firstStep=100, interval=10, dt=0.002 ps).

Header/file disagreements as CHARMM, NAMD and killed runs leave them: copies
of mdanalysis.dcd and openmm.dcd whose header frame count (NSET) is altered
to 9 and to 2 ({tool}_nset9.dcd, {tool}_nset2.dcd), and copies cut inside
the last frame ({tool}_cut.dcd); for each, what MDAnalysis reads from it is
saved as {stem}.mda_nm.npy (float32 [frames, 7, 3], nm).
"""
import argparse
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/data/dcd_interop"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    import MDAnalysis as mda
    from MDAnalysis.coordinates.DCD import DCDWriter
    import mdtraj
    import openmm
    import openmm.app as app
    import openmm.unit as unit

    rng = np.random.default_rng(20261121)
    n, nf = 7, 4
    x = rng.uniform(0, 3, size=(nf, n, 3)).astype(np.float32)
    boxes = np.array([[3.0 + 0.1 * f, 3.5, 4.0] for f in range(nf)], np.float32)
    np.save(out / "x_nm.npy", x)
    np.save(out / "boxes_nm.npy", boxes)

    u = mda.Universe.empty(n, trajectory=True)
    with DCDWriter(str(out / "mdanalysis.dcd"), n) as w:
        for f in range(nf):
            u.atoms.positions = x[f] * 10
            u.dimensions = [*(boxes[f] * 10), 90, 90, 90]
            w.write(u.atoms)

    top = mdtraj.Topology()
    chain = top.add_chain()
    for _ in range(n):
        top.add_atom("CA", mdtraj.element.carbon, top.add_residue("ALA", chain))
    mdtraj.Trajectory(x, top, unitcell_lengths=boxes, unitcell_angles=np.full((nf, 3), 90.0)).save_dcd(
        str(out / "mdtraj.dcd"))

    otop = app.Topology()
    chain = otop.addChain()
    for _ in range(n):
        otop.addAtom("CA", app.element.carbon, otop.addResidue("ALA", chain))
    b0 = [float(v) for v in boxes[0]]
    otop.setPeriodicBoxVectors([openmm.Vec3(b0[0], 0, 0), openmm.Vec3(0, b0[1], 0), openmm.Vec3(0, 0, b0[2])])
    with open(out / "openmm.dcd", "wb") as fh:
        dcd = app.DCDFile(fh, otop, 0.002 * unit.picoseconds, firstStep=100, interval=10)
        for f in range(nf):
            b = [float(v) for v in boxes[f]]
            vecs = [openmm.Vec3(b[0], 0, 0), openmm.Vec3(0, b[1], 0), openmm.Vec3(0, 0, b[2])]
            dcd.writeModel(x[f].astype(np.float64) * unit.nanometers, periodicBoxVectors=vecs)
    write_disagreeing_copies(out, mda)
    print("wrote", ", ".join(sorted(p.name for p in out.iterdir())))


def write_disagreeing_copies(out, mda):
    import struct
    from MDAnalysis.coordinates.DCD import DCDReader

    for tool in ("mdanalysis", "openmm"):
        clean = (out / f"{tool}.dcd").read_bytes()
        # Bytes 8..12: the first control word (NSET) after the 4-byte record
        # marker and "CORD"; both writers are little-endian.
        variants = {f"{tool}_nset{n}": clean[:8] + struct.pack("<i", n) + clean[12:] for n in (9, 2)}
        variants[f"{tool}_cut"] = clean[:-30]
        for stem, data in variants.items():
            path = out / f"{stem}.dcd"
            path.write_bytes(data)
            r = DCDReader(str(path))
            frames = np.array([ts.positions / 10 for ts in r], np.float32)
            np.save(out / f"{stem}.mda_nm.npy", frames)


if __name__ == "__main__":
    main()
