#!/usr/bin/env python3
"""Contact maps from MDAnalysis on chains whose consecutive points lie within
1e-6 nm of the cutoff, for steermd's bit-exactness test (tests/analysis_backends.rs).

Usage: python3 tools/make_contact_borderline.py [--out tests/data/contact_borderline]
(needs numpy and MDAnalysis, e.g. the venv of tools/make_reference.py).

Outputs (nm float32 coordinates, as steermd gets them; MDAnalysis is given
``x * np.float32(10)`` as its nm readers do):
coords.npy [F, N, 3], boxes.npy [F, 3] (nm), dense.npy [F, N, N] uint8 without box,
dense_pbc.npy [F, N, N] uint8 with the box (points wrapped by whole boxes).
"""
import argparse
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "tests/data/contact_borderline"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    from MDAnalysis.analysis.distances import contact_matrix

    rng = np.random.default_rng(8)
    n_frames, n, cutoff_nm = 8, 48, 0.8
    coords, boxes, dense, dense_pbc = [], [], [], []
    for f in range(n_frames):
        box = np.array([2.6, 3.1, 2.9], np.float32) * np.float32(1 + 0.02 * f)
        x = np.zeros((n, 3))
        x[0] = rng.uniform(0, 2.5, 3)
        for i in range(1, n):
            u = rng.normal(size=3)
            u /= np.linalg.norm(u)
            x[i] = x[i - 1] + u * (cutoff_nm + rng.uniform(-1e-6, 1e-6))
        # unwrap some points by whole boxes (exercises the minimum image)
        shift = rng.integers(-1, 2, size=(n, 3)) * (rng.uniform(size=(n, 1)) < 0.3)
        x = (x + shift * box.astype(np.float64)).astype(np.float32)
        xa = np.ascontiguousarray(x * np.float32(10))
        dense.append(contact_matrix(xa, cutoff=cutoff_nm * 10, returntype="sparse").toarray().astype(np.uint8))
        box_a = np.array([*(box * np.float32(10)), 90, 90, 90], np.float32)
        dense_pbc.append(contact_matrix(xa, cutoff=cutoff_nm * 10, returntype="sparse", box=box_a)
                         .toarray().astype(np.uint8))
        coords.append(x)
        boxes.append(box)
    np.save(out / "coords.npy", np.stack(coords))
    np.save(out / "boxes.npy", np.stack(boxes))
    np.save(out / "dense.npy", np.stack(dense))
    np.save(out / "dense_pbc.npy", np.stack(dense_pbc))
    c = np.stack(coords).astype(np.float64)
    d = np.sqrt(((c[:, 1:] - c[:, :-1]) ** 2).sum(-1))
    print("consecutive pairs within 1e-6 nm of the cutoff:", int((np.abs(d - cutoff_nm) < 1e-6).sum()),
          "contacts among them (no box):", int(sum(dense[f][i, i + 1] for f in range(n_frames) for i in range(n - 1))))


if __name__ == "__main__":
    main()
