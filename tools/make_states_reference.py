#!/usr/bin/env python3
"""scikit-learn k-means (Lloyd from explicit initial centres) reference for
steermd's ``drive::states::kmeans_from`` (tests/drive_states.rs).

Usage: python3 tools/make_states_reference.py [--out tests/data/states]

Needs numpy and scikit-learn. If the running Python lacks them, the script
re-executes itself with ``tools/.venv`` (git-ignored), creating it first with
``python3 -m venv tools/.venv`` and pip-installing the pinned versions below.

Data: 600 points in 10-d from 8 Gaussian blobs (numpy ``default_rng(2024)``,
centres uniform in [-4, 4]^10, unit standard deviation, so blobs overlap a
little and Lloyd needs several iterations), rounded to float32 as steermd
gets latents. Initial centres: 8 distinct data points drawn with the same
generator (two may share a blob). scikit-learn is given the float32 values
converted to float64 (steermd computes distances and means in f64):
``KMeans(n_clusters=8, init=init, n_init=1, algorithm="lloyd",
max_iter=300, tol=0)``.

A plain numpy Lloyd loop with steermd's rules is run alongside to check that
no cluster ever empties (the two libraries re-seed empty clusters
differently) and that it agrees with scikit-learn; the smallest gap between
a point's nearest and second-nearest final centre is recorded so that
rounding cannot flip a label.

Outputs in ``--out``: points.npy [600, 10] float32, init_centers.npy [8, 10]
float32, labels.npy [600] int64, centers.npy [8, 10] float64 and
reference.json (versions, parameters, n_iter, inertia, margin).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent
PINNED = ["numpy==2.4.6", "scikit-learn==1.9.1"]


def ensure_packages():
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401
        return
    except ImportError:
        pass
    venv = TOOLS_DIR / ".venv"
    py = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        sys.exit("numpy/scikit-learn missing even in tools/.venv")
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(py), "-m", "pip", "install", "-q", *PINNED])
    os.execv(str(py), [str(py), *sys.argv])


def lloyd(x, c, max_iter):
    """steermd's Lloyd loop (f64, ties to the lower index); asserts no empty cluster."""
    import numpy as np

    labels = np.full(len(x), -1)
    for it in range(1, max_iter + 1):
        d = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        new = d.argmin(1)  # first minimum: lower centre index on ties
        if np.array_equal(new, labels):
            return labels, c, it, d
        labels = new
        counts = np.bincount(labels, minlength=len(c))
        assert counts.min() > 0, f"empty cluster at iteration {it}"
        c = np.stack([x[labels == j].mean(0) for j in range(len(c))])
    raise AssertionError("no convergence")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(TOOLS_DIR.parent / "tests/data/states"))
    out = Path(ap.parse_args().out)
    ensure_packages()
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans

    out.mkdir(parents=True, exist_ok=True)
    n, dim, k, max_iter = 600, 10, 8, 300
    rng = np.random.default_rng(2024)
    blob_centres = rng.uniform(-4.0, 4.0, size=(k, dim))
    blob = rng.integers(0, k, size=n)
    points = (blob_centres[blob] + rng.normal(size=(n, dim))).astype(np.float32)
    init_idx = rng.choice(n, size=k, replace=False)
    init = points[init_idx].copy()

    x64 = points.astype(np.float64)
    km = KMeans(n_clusters=k, init=init.astype(np.float64), n_init=1, algorithm="lloyd",
                max_iter=max_iter, tol=0.0).fit(x64)

    labels_np, centres_np, iters_np, d = lloyd(x64, init.astype(np.float64), max_iter)
    assert np.array_equal(labels_np, km.labels_), "numpy Lloyd disagrees with scikit-learn"
    assert iters_np == km.n_iter_, (iters_np, km.n_iter_)
    assert np.allclose(centres_np, km.cluster_centers_, rtol=1e-12, atol=1e-12)
    ds = np.sort(d, axis=1)
    margin = float((ds[:, 1] - ds[:, 0]).min())
    assert margin > 1e-6, f"a point is nearly equidistant from two centres ({margin})"

    np.save(out / "points.npy", points)
    np.save(out / "init_centers.npy", init)
    np.save(out / "labels.npy", km.labels_.astype(np.int64))
    np.save(out / "centers.npy", km.cluster_centers_.astype(np.float64))
    ref = {
        "generator": "tools/make_states_reference.py",
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "sklearn_call": "KMeans(n_clusters=8, init=init_centers (as float64), n_init=1, "
                        "algorithm='lloyd', max_iter=300, tol=0).fit(points as float64)",
        "n": n,
        "dim": dim,
        "k": k,
        "max_iter": max_iter,
        "n_iter": int(km.n_iter_),
        "inertia": float(km.inertia_),
        "min_second_nearest_gap": margin,
        "units": "latent space (dimensionless)",
        "files": {
            "points.npy": "[600, 10] float32 points",
            "init_centers.npy": "[8, 10] float32 initial centres (data points)",
            "labels.npy": "[600] int64 sklearn labels_",
            "centers.npy": "[8, 10] float64 sklearn cluster_centers_",
        },
    }
    (out / "reference.json").write_text(json.dumps(ref, indent=2) + "\n")
    print(f"n_iter={km.n_iter_} inertia={km.inertia_:.6f} min gap={margin:.3g}")


if __name__ == "__main__":
    main()
