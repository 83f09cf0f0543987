#!/usr/bin/env python3
"""Time steermd and its peer tools on the same data, in one run, and print ratios.

    tools/.venv/bin/python tools/bench_peers.py [--threads 2] [--full] [--only contacts,cvae,lof,dbscan,md]

Peers: MDAnalysis ``contact_matrix`` (sparse and dense) for contact maps,
PyTorch (mdlearn ``SymmetricConv2dVAE`` encoder) for CVAE inference,
scikit-learn ``LocalOutlierFactor`` / ``DBSCAN`` for outliers, OpenMM's CPU
platform for molecular dynamics (ns/day, same System XML, same integrator
settings). steermd runs
through ``examples/peer_bench.rs`` (release build) on the very same ``.npy``
files; both sides time only the kernel (best of N repetitions), not file I/O or
process start-up. Use the venv made by ``tools/make_reference.py``.

The numbers for docs/PERFORMANCE.md come from this script.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def best_of(reps, fn):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def steermd(*args) -> dict:
    exe = ROOT / "target" / "release" / "examples" / "peer_bench"
    out = subprocess.run([str(exe), *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(label, peer_s, ours_s, unit_n, unit="frames/s"):
    ratio = peer_s / ours_s
    print(f"| {label} | {unit_n / peer_s:,.0f} | {unit_n / ours_s:,.0f} | {ratio:,.1f}x |", flush=True)
    return ratio


def chain_coords(n_frames, n_atoms, rng):
    """Compact random-walk chains (0.38 nm steps, Å*0.1 = nm), like a protein's Cα trace."""
    steps = rng.normal(size=(n_frames, n_atoms, 3))
    steps *= 0.38 / np.linalg.norm(steps, axis=2, keepdims=True)
    xyz = np.cumsum(steps, axis=1)
    # fold the walk back towards its centre so it is globular, not extended
    xyz -= xyz.mean(axis=1, keepdims=True)
    radius = 0.3 * n_atoms ** (1 / 3)
    norm = np.linalg.norm(xyz, axis=2, keepdims=True)
    xyz *= np.minimum(1.0, radius / np.maximum(norm, 1e-9)) ** 0.5
    return xyz.astype(np.float32)


def bench_contacts(tmp, args, rng):
    from MDAnalysis.analysis.distances import contact_matrix

    print("\n## Contact maps (cutoff 0.8 nm = 8 Å), frames/s\n")
    print("| case | MDAnalysis sparse | steermd COO | ratio |\n|---|---|---|---|")
    dense_rows = []
    for n_atoms, n_frames in [(28, 2000), (35, 2000), (214, 300)]:
        xyz = chain_coords(n_frames, n_atoms, rng)
        path = tmp / f"chain{n_atoms}.npy"
        np.save(path, xyz)
        ang = xyz * 10.0  # MDAnalysis works in Å
        sparse_s = best_of(args.reps, lambda: [contact_matrix(f, cutoff=8.0, returntype="sparse") for f in ang])
        dense_s = best_of(args.reps, lambda: [contact_matrix(f, cutoff=8.0, returntype="numpy") for f in ang])
        ours = steermd("contacts", path, 0.8, args.reps)
        row(f"{n_atoms} atoms x {n_frames} frames", sparse_s, ours["coo_s"], n_frames)
        dense_rows.append((n_atoms, n_frames, dense_s, ours["dense_s"]))
    print("\n| case | MDAnalysis dense | steermd dense u8 | ratio |\n|---|---|---|---|")
    for n_atoms, n_frames, dense_s, ours_s in dense_rows:
        row(f"{n_atoms} atoms x {n_frames} frames", dense_s, ours_s, n_frames)


def bench_cvae(tmp, args, rng):
    import torch
    from export_cvae import build_model, export_cvae_model

    torch.set_num_threads(args.threads)
    print(f"\n## CVAE encoder (4 conv 3x3, 64 filters, strides [1,2,1,1], dense 128, latent 10), batch 256, frames/s\n")
    print("| input | PyTorch (mdlearn encoder) | steermd | ratio |\n|---|---|---|---|")
    for n in (28, 106):
        cfg = dict(input_shape=[1, n, n], filters=[64, 64, 64, 64], kernels=[3, 3, 3, 3], strides=[1, 2, 1, 1],
                   affine_widths=[128], affine_dropouts=[0.0], latent_dim=10, activation="ReLU")
        torch.manual_seed(0)
        model = build_model(cfg).eval()
        d = tmp / f"cvae{n}"
        export_cvae_model(model, cfg, d)
        x = (rng.random((256, 1, n, n)) < 0.15).astype(np.float32)
        np.save(tmp / f"maps{n}.npy", x)
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            model.encoder(xt)  # warm-up
            peer_s = best_of(args.reps, lambda: model.encoder(xt))
            mu_ref = model.encoder(xt)[0][0, 0].item()
        ours = steermd("encoder", d, tmp / f"maps{n}.npy", args.reps)
        row(f"1x{n}x{n}", peer_s, ours["seconds"], 256)
        assert abs(ours["z0"] - mu_ref) <= 1e-4 * max(1.0, abs(mu_ref)), (ours["z0"], mu_ref)


def latent_sets(n, rng):
    uniform = rng.standard_normal((n, 10)).astype(np.float32)
    centres = rng.standard_normal((12, 10)) * 4.0
    which = rng.integers(0, 12, size=n)
    blobs = (centres[which] + rng.standard_normal((n, 10)) * 0.6).astype(np.float32)
    return {"gaussian": uniform, "blobs": blobs}


def bench_outliers(tmp, args, rng, kind):
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import LocalOutlierFactor

    sizes = [10_000, 80_000] + ([200_000] if args.full else [])
    if kind == "lof":
        print("\n## LOF, 20 neighbours, 10-d latent vectors, seconds\n")
        print("| data | n | scikit-learn (auto) | steermd | ratio |\n|---|---|---|---|---|")
    else:
        print("\n## DBSCAN, min_samples 10, 10-d latent vectors, seconds\n")
        print("| data | n | eps | scikit-learn | steermd | ratio | clusters / noise |\n|---|---|---|---|---|---|---|")
    for n in sizes:
        for name, pts in latent_sets(n, rng).items():
            path = tmp / f"{name}{n}.npy"
            np.save(path, pts)
            x64 = pts.astype(np.float64)
            if kind == "lof":
                t = time.perf_counter()
                LocalOutlierFactor(n_neighbors=20, n_jobs=args.threads).fit(x64)
                peer_s = time.perf_counter() - t
                ours = steermd("lof", path, 20, args.reps)
                print(f"| {name} | {n:,} | {peer_s:.2f} | {ours['seconds']:.3f} | {peer_s / ours['seconds']:.1f}x |", flush=True)
            else:
                for eps in (1.0, 2.0):
                    if n > 80_000 and eps > 1.0 and name == "gaussian":
                        continue  # scikit-learn needs > 6 minutes here
                    t = time.perf_counter()
                    labels = DBSCAN(eps=eps, min_samples=10, n_jobs=args.threads).fit(x64).labels_
                    peer_s = time.perf_counter() - t
                    ours = steermd("dbscan", path, eps, 10, args.reps)
                    assert ours["noise"] == int((labels < 0).sum()), (ours, int((labels < 0).sum()))
                    print(f"| {name} | {n:,} | {eps} | {peer_s:.2f} | {ours['seconds']:.3f} | "
                          f"{peer_s / ours['seconds']:.1f}x | {ours['clusters']} / {ours['noise']} |", flush=True)


def bench_md(tmp, args, rng):
    """Langevin MD ns/day: OpenMM CPU platform vs steermd, same System XML and positions."""
    import openmm as mm
    import openmm.unit as u

    print(f"\n## Langevin MD, villin 582 atoms, OBC2, HBonds, 2 fs, 300 K, {args.md_steps} steps, ns/day\n")
    print("| system | OpenMM CPU | steermd | ratio |\n|---|---|---|---|")
    for case, label in [("ildn_obc_nocutoff", "ff99SB-ILDN + OBC, NoCutoff"),
                        ("ildn_obc_cutoff", "ff99SB-ILDN + OBC, cutoff 1.0 nm")]:
        d = ROOT / "tests" / "data" / "ff" / case
        system = mm.XmlSerializer.deserialize((d / "system.xml").read_text())
        pos = np.load(d / "positions.npy")
        integ = mm.LangevinMiddleIntegrator(300 * u.kelvin, 1 / u.picosecond, 0.002 * u.picoseconds)
        integ.setRandomNumberSeed(1)
        plat = mm.Platform.getPlatformByName("CPU")
        ctx = mm.Context(system, integ, plat, {"Threads": str(args.threads)})
        ctx.setPositions(pos)
        ctx.setVelocitiesToTemperature(300 * u.kelvin, 1)
        integ.step(200)  # warm-up (neighbour lists, caches)

        def run():
            integ.step(args.md_steps)
            ctx.getState(getEnergy=True)

        peer_s = best_of(args.reps, run)
        ours = steermd("md", d / "system.xml", d / "positions.npy", args.md_steps, args.reps)
        ns = args.md_steps * 0.002 / 1000.0
        per_day = 86400.0 * ns
        print(f"| {label} | {per_day / peer_s:.1f} | {per_day / ours['seconds']:.1f} | {peer_s / ours['seconds']:.2f}x |",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--full", action="store_true", help="include 200k-point outlier cases (slow peers)")
    ap.add_argument("--only", default="contacts,cvae,lof,dbscan,md")
    ap.add_argument("--md-steps", type=int, default=2000, help="MD steps per timed repetition")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    subprocess.run(["cargo", "build", "--release", "--example", "peer_bench"], cwd=ROOT, check=True)
    versions = []
    for mod in ("MDAnalysis", "torch", "sklearn", "openmm"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    print(f"# steermd vs peers — {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} threads; {', '.join(versions)}")
    rng = np.random.default_rng(2026)
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "contacts" in only:
            bench_contacts(tmp, args, rng)
        if "cvae" in only:
            bench_cvae(tmp, args, rng)
        if "lof" in only:
            bench_outliers(tmp, args, rng, "lof")
        if "dbscan" in only:
            bench_outliers(tmp, args, rng, "dbscan")
        if "md" in only:
            bench_md(tmp, args, rng)


if __name__ == "__main__":
    main()
