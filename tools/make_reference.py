#!/usr/bin/env python3
"""Generate steermd's reference test data with the real peer tools.

Usage::

    python3 tools/make_reference.py [--venv PATH] [--out tests/data] [--reuse-md]

If the running Python lacks the required packages, a virtual environment is
created (default ``tools/.venv``; pass ``--venv /path/to/venv`` to reuse an
existing one), the packages are pip-installed into it (openmm, MDAnalysis,
mdtraj, torch (CPU build preferred), scikit-learn, safetensors, mdlearn with
``--no-deps`` plus the small dependencies it imports) and the script re-executes
itself with that venv's Python.

Everything is seeded; OpenMM runs on the CPU platform with one thread so the
trajectory is bit-reproducible on a given machine/OpenMM build.

Outputs (all listed, with shapes/dtypes/units, in ``<out>/MANIFEST.json``):

* villin trajectory (OpenMM): villin.pdb, villin_ref.pdb, villin.dcd and
  coordinates in nm as .npy
* contact maps (MDAnalysis ``contact_matrix(..., returntype="sparse")``),
  dense and DeepDriveMD COO layout, plus a periodic synthetic case
* RMSD (mdtraj) on CA and heavy atoms
* mdlearn SymmetricConv2dVAE encoders (random A/B, trained A) exported with
  tools/export_cvae.py, with expected mu
* mdlearn AAE3d encoder exported with tools/export_aae.py, with expected mu
* scikit-learn LocalOutlierFactor / kneighbors / DBSCAN references
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent

# Versions used to produce the committed data (pins keep regeneration faithful).
PINNED = [
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "openmm==8.6.1",
    "MDAnalysis==2.11.0",
    "mdtraj==1.11.1.post2",
    "safetensors==0.8.0",
]
TORCH_PIN = "torch==2.15.0"
MDLEARN_PIN = "mdlearn==1.0.5"
# mdlearn is installed with --no-deps (its [torch] extra drags in wandb); these
# are the small packages its modules import.
MDLEARN_SMALL_DEPS = ["pyyaml", "pydantic", "h5py", "tqdm", "pandas", "plotly", "typer"]
REQUIRED_MODULES = ["numpy", "scipy", "sklearn", "openmm", "MDAnalysis", "mdtraj", "safetensors",
                    "torch", "mdlearn.nn.models.vae.symmetric_conv2d_vae",
                    "mdlearn.nn.models.aae.point_3d_aae"]

SEED_MD = 2024
SEED_PBC = 11
SEED_CVAE_A = 0
SEED_CVAE_B = 1
SEED_CVAE_TRAIN = 2
SEED_AAE = 3
SEED_BLOBS = 4

T_COLD_K = 300.0
T_HOT_K = 500.0
REPORT_STEPS = 500  # 1 ps at 2 fs
CONTACT_CUTOFF_A = 8.0


# ---------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------
def _missing_modules(python=None):
    code = ("import importlib,sys\nmiss=[]\n"
            f"for m in {REQUIRED_MODULES!r}:\n"
            "    try: importlib.import_module(m)\n"
            "    except Exception: miss.append(m)\n"
            "print(','.join(miss))\n")
    if python is None:
        ns: dict = {}
        import contextlib, io
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(code, ns)
        out = buf.getvalue().strip()
    else:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def _pip(python, *args):
    cmd = [python, "-m", "pip", "install", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.check_call(cmd)


def _install_into(python):
    _pip(python, "--upgrade", "pip")
    _pip(python, *PINNED)
    # Prefer the CPU-only torch wheel; fall back to PyPI's default build.
    try:
        _pip(python, TORCH_PIN, "--index-url", "https://download.pytorch.org/whl/cpu")
    except subprocess.CalledProcessError:
        _pip(python, TORCH_PIN)
    _pip(python, *MDLEARN_SMALL_DEPS)
    _pip(python, "--no-deps", MDLEARN_PIN)


def bootstrap(venv_arg):
    if not _missing_modules():
        return
    venv = Path(venv_arg).resolve() if venv_arg else TOOLS_DIR / ".venv"
    vpy = venv / "bin" / "python"
    if os.environ.get("STEERMD_REF_BOOTSTRAPPED"):
        sys.exit(f"still missing {_missing_modules()} inside {sys.executable}; giving up")
    if not vpy.exists():
        print(f"creating venv {venv}", flush=True)
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    missing = _missing_modules(str(vpy))
    if missing:
        print(f"venv {venv} lacks {missing}; installing", flush=True)
        _install_into(str(vpy))
    env = dict(os.environ, STEERMD_REF_BOOTSTRAPPED="1")
    os.execve(str(vpy), [str(vpy), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def log(*a):
    print("[make_reference]", *a, flush=True)


def save_npy(out: Path, rel: str, arr, dtype):
    import numpy as np

    p = out / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    a = np.ascontiguousarray(arr, dtype=dtype)
    np.save(p, a)
    return a


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------
# 1. trajectory
# ---------------------------------------------------------------------------
def run_md(out: Path, n_cold: int, n_hot: int):
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    src = Path(app.__file__).parent / "data" / "test.pdb"
    pdb = app.PDBFile(str(src))
    mod = app.Modeller(pdb.topology, pdb.positions)
    non_protein = [r for r in mod.topology.residues() if r.name in ("HOH", "WAT", "Cl", "CL", "Cl-", "Na", "NA", "Na+")]
    mod.delete(non_protein)
    mod.topology.setPeriodicBoxVectors(None)  # implicit solvent, non-periodic
    ff = app.ForceField("amber99sbildn.xml", "amber99_obc.xml")
    n_before = mod.topology.getNumAtoms()
    mod.addHydrogens(ff)
    n_added_h = mod.topology.getNumAtoms() - n_before
    with open(out / "villin.pdb", "w") as f:
        app.PDBFile.writeFile(mod.topology, mod.positions, f)

    system = ff.createSystem(mod.topology, nonbondedMethod=app.CutoffNonPeriodic,
                             nonbondedCutoff=1.0 * u.nanometer, constraints=app.HBonds)
    integ = mm.LangevinMiddleIntegrator(T_COLD_K * u.kelvin, 1.0 / u.picosecond, 0.002 * u.picoseconds)
    integ.setRandomNumberSeed(SEED_MD)
    platform = mm.Platform.getPlatformByName("CPU")
    sim = app.Simulation(mod.topology, system, integ, platform, {"Threads": "1"})
    sim.context.setPositions(mod.positions)
    sim.minimizeEnergy()
    state = sim.context.getState(getPositions=True, getEnergy=True)
    with open(out / "villin_ref.pdb", "w") as f:
        app.PDBFile.writeFile(mod.topology, state.getPositions(), f)
    e_min = state.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    log(f"minimized: E = {e_min:.1f} kJ/mol; running {n_cold} ps @ {T_COLD_K} K + {n_hot} ps @ {T_HOT_K} K")
    sim.context.setVelocitiesToTemperature(T_COLD_K * u.kelvin, SEED_MD)
    sim.reporters.append(app.DCDReporter(str(out / "villin.dcd"), REPORT_STEPS))
    sim.reporters.append(app.StateDataReporter(sys.stdout, 25 * REPORT_STEPS, step=True, time=True,
                                               potentialEnergy=True, temperature=True, speed=True))
    sim.step(n_cold * REPORT_STEPS)
    integ.setTemperature(T_HOT_K * u.kelvin)
    sim.step(n_hot * REPORT_STEPS)
    del sim
    info = {
        "source_pdb": "openmm/app/data/test.pdb (villin headpiece N68H, solvated); water and Cl- removed",
        "hydrogens_added_by_modeller": n_added_h,
        "forcefield": ["amber99sbildn.xml", "amber99_obc.xml"],
        "nonbonded": "CutoffNonPeriodic, 1.0 nm", "constraints": "HBonds",
        "integrator": "LangevinMiddleIntegrator, friction 1/ps, dt 2 fs",
        "platform": "CPU, Threads=1 (deterministic)",
        "seed": SEED_MD,
        "minimization": "Simulation.minimizeEnergy() defaults (tolerance 10 kJ/mol/nm, unlimited iterations)",
        "minimized_potential_kJ_mol": e_min,
        "schedule": (f"velocities drawn at {T_COLD_K} K; frames 0..{n_cold - 1} at {T_COLD_K} K, then integrator "
                     f"temperature set to {T_HOT_K} K for frames {n_cold}..{n_cold + n_hot - 1} (heating for "
                     "conformational diversity / partial unfolding)"),
        "frame_interval_ps": 1.0,
        "first_frame_time_ps": 1.0,
        "n_frames": n_cold + n_hot,
        "n_frames_cold": n_cold,
        "n_frames_hot": n_hot,
    }
    write_json(out / "villin_md.json", info)
    return info


# ---------------------------------------------------------------------------
# 2. contact maps, coordinates, RMSD
# ---------------------------------------------------------------------------
def trajectory_analysis(out: Path, manifest: dict):
    import numpy as np
    import MDAnalysis as mda
    from MDAnalysis.analysis.distances import contact_matrix
    import mdtraj

    uni = mda.Universe(str(out / "villin.pdb"), str(out / "villin.dcd"))
    ca = uni.select_atoms("name CA")
    n_ca = len(ca)
    dense, coo_chunks, ca_pos_A = [], [], []
    for ts in uni.trajectory:
        pos = np.ascontiguousarray(ca.positions, dtype=np.float32)  # Angstrom
        ca_pos_A.append(pos.copy())
        cm = contact_matrix(pos, cutoff=CONTACT_CUTOFF_A, returntype="sparse")
        coo = cm.tocoo()
        coo_chunks.append(np.concatenate([coo.row.astype("int16"), coo.col.astype("int16")]))
        d = cm.toarray().astype(np.uint8)
        # cross-check with the dense (numpy) code path (same except exact ties)
        d2 = contact_matrix(pos, cutoff=CONTACT_CUTOFF_A, returntype="numpy").astype(np.uint8)
        assert (d == d2).all(), "sparse and numpy contact_matrix disagree"
        dense.append(d)
    dense = np.stack(dense)
    ca_pos_A = np.stack(ca_pos_A)
    n_frames = dense.shape[0]
    assert (dense == dense.transpose(0, 2, 1)).all(), "contact maps not symmetric"
    assert (dense[:, np.arange(n_ca), np.arange(n_ca)] == 1).all(), "contact-map diagonal not set"
    offsets = np.zeros(n_frames + 1, np.int64)
    offsets[1:] = np.cumsum([len(c) for c in coo_chunks])
    coo_data = np.concatenate(coo_chunks).astype(np.int16)
    save_npy(out, "villin_contacts_dense.npy", dense, np.uint8)
    save_npy(out, "villin_contacts_coo_data.npy", coo_data, np.int16)
    save_npy(out, "villin_contacts_coo_offsets.npy", offsets, np.int64)

    # coordinates as read by mdtraj (nm), used for RMSD
    traj = mdtraj.load_dcd(str(out / "villin.dcd"), top=str(out / "villin.pdb"))
    ref = mdtraj.load(str(out / "villin_ref.pdb"))
    top = traj.topology
    ca_idx = np.array([a.index for a in top.atoms if a.name == "CA"], np.int64)
    heavy_idx = np.array([a.index for a in top.atoms if a.element.symbol != "H"], np.int64)
    assert (ca_idx == ca.indices).all(), "mdtraj/MDAnalysis CA selections differ"
    assert traj.n_frames == n_frames
    assert np.abs(traj.xyz[:, ca_idx] * 10.0 - ca_pos_A).max() < 1e-4
    rmsd_ca = mdtraj.rmsd(traj, ref, 0, atom_indices=ca_idx).astype(np.float32)
    rmsd_heavy = mdtraj.rmsd(traj, ref, 0, atom_indices=heavy_idx).astype(np.float32)
    save_npy(out, "villin_coords.npy", traj.xyz, np.float32)
    save_npy(out, "villin_ref_coords.npy", ref.xyz[0], np.float32)
    save_npy(out, "villin_ca_indices.npy", ca_idx, np.int64)
    save_npy(out, "villin_heavy_indices.npy", heavy_idx, np.int64)
    save_npy(out, "villin_rmsd_ca.npy", rmsd_ca, np.float32)
    save_npy(out, "villin_rmsd_heavy.npy", rmsd_heavy, np.float32)
    assert (rmsd_ca > 0).all() and (rmsd_heavy > 0).all()

    # distance margin to the cutoff (nm, float64 from the nm coordinates)
    x = traj.xyz[:, ca_idx].astype(np.float64)
    dd = np.sqrt(((x[:, :, None, :] - x[:, None, :, :]) ** 2).sum(-1))
    iu = np.triu_indices(n_ca, 1)
    margin = float(np.abs(dd[:, iu[0], iu[1]] - CONTACT_CUTOFF_A / 10).min())
    stats = {
        "n_atoms": int(traj.n_atoms), "n_residues": int(top.n_residues), "n_ca": int(n_ca),
        "n_heavy": int(len(heavy_idx)), "n_frames": int(n_frames),
        "contacts_per_frame_min_max": [int(dense.sum((1, 2)).min()), int(dense.sum((1, 2)).max())],
        "min_abs_ca_distance_minus_cutoff_nm": margin,
        "rmsd_ca_nm_first_last_min_max": [float(rmsd_ca[0]), float(rmsd_ca[-1]), float(rmsd_ca.min()), float(rmsd_ca.max())],
        "rmsd_heavy_nm_first_last_min_max": [float(rmsd_heavy[0]), float(rmsd_heavy[-1]),
                                             float(rmsd_heavy.min()), float(rmsd_heavy.max())],
    }
    log("trajectory stats", json.dumps(stats))
    return dense, coo_chunks, ca_pos_A, stats


def pbc_case(out: Path):
    import numpy as np
    from MDAnalysis.analysis.distances import contact_matrix

    rng = np.random.default_rng(SEED_PBC)
    n_points, n_frames = 60, 6
    cutoff_nm = CONTACT_CUTOFF_A / 10
    base = np.array([2.5, 3.0, 3.5])
    coords, boxes, dense, n_cross = [], [], [], []
    f = 0
    attempts = 0
    while f < n_frames:
        attempts += 1
        box = (base * (1.0 + 0.03 * f)).astype(np.float32)
        x = rng.uniform(0.0, 1.0, size=(n_points, 3)) * box
        # ~10% of the points are shifted by one box length along a random axis
        # (unwrapped input, exercises the minimum image with |dx| up to ~2L)
        sel = rng.choice(n_points, size=n_points // 10, replace=False)
        for i in sel:
            ax = rng.integers(3)
            x[i, ax] += rng.choice([-1.0, 1.0]) * box[ax]
        x = x.astype(np.float32)
        # reject frames with any minimum-image distance within 1e-4 nm of the cutoff
        b64 = box.astype(np.float64)
        dx = x[:, None, :].astype(np.float64) - x[None, :, :]
        dmic = np.sqrt(((dx - b64 * np.round(dx / b64)) ** 2).sum(-1))
        ddir = np.sqrt((dx ** 2).sum(-1))
        iu = np.triu_indices(n_points, 1)
        if np.abs(dmic[iu] - cutoff_nm).min() < 1e-4:
            continue
        cross = int(((dmic[iu] < cutoff_nm) & (ddir[iu] >= cutoff_nm)).sum())
        if cross < 5:
            continue
        xa = np.ascontiguousarray(x * np.float32(10.0), dtype=np.float32)  # Angstrom for MDAnalysis
        box_a = np.array([box[0] * 10, box[1] * 10, box[2] * 10, 90, 90, 90], dtype=np.float32)
        cm = contact_matrix(xa, cutoff=CONTACT_CUTOFF_A, returntype="sparse", box=box_a)
        d = cm.toarray().astype(np.uint8)
        expect = (dmic < cutoff_nm).astype(np.uint8)
        assert (d == expect).all(), "MDAnalysis PBC contacts disagree with minimum-image check"
        coords.append(x)
        boxes.append(box)
        dense.append(d)
        n_cross.append(cross)
        f += 1
    save_npy(out, "pbc_coords.npy", np.stack(coords), np.float32)
    save_npy(out, "pbc_boxes.npy", np.stack(boxes), np.float32)
    save_npy(out, "pbc_contacts_dense.npy", np.stack(dense), np.uint8)
    info = {"n_points": n_points, "n_frames": n_frames, "cross_boundary_contact_pairs_per_frame": n_cross,
            "rejected_draws": attempts - n_frames,
            "contacts_per_frame": [int(d.sum()) for d in dense]}
    log("pbc", json.dumps(info))
    return info


# ---------------------------------------------------------------------------
# 3. CVAE
# ---------------------------------------------------------------------------
def _check_export(config, tensors, mu_ref, x, numpy_forward, name):
    import numpy as np

    ref64 = numpy_forward(config, tensors, x)
    err = float(np.abs(ref64 - mu_ref).max())
    scale = float(np.abs(mu_ref).max())
    log(f"{name}: mu |max| {scale:.4g}, mean|mu| {float(np.abs(mu_ref).mean()):.4g}, "
        f"numpy-vs-mdlearn max abs err {err:.3g}")
    assert err < 1e-4 * max(1.0, scale), f"{name}: exported config/tensors do not reproduce mdlearn mu"
    assert scale > 1e-3 and np.unique(np.round(mu_ref, 6), axis=0).shape[0] > 1, f"{name}: degenerate mu"
    return err


def cvae_models(out: Path, dense, coo_chunks, tmp: Path):
    import numpy as np
    import torch
    from mdlearn.data.datasets.contact_map import ContactMapDataset
    from mdlearn.nn.models.vae.symmetric_conv2d_vae import SymmetricConv2dVAETrainer
    import export_cvae

    n = dense.shape[1]
    x = dense.astype(np.float32)[:, None, :, :]
    save_npy(out, "cvae_input.npy", x, np.float32)
    ds = ContactMapDataset(coo_chunks, (1, n, n))
    for i in range(len(ds)):
        assert torch.equal(ds[i]["X"], torch.from_numpy(x[i])), "mdlearn COO decode differs from dense map"
    xt = torch.from_numpy(x)
    results = {}

    def finish(name, cfg, model, extra=None):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        cfg_path, pt_path = tmp / f"{name}_cfg.json", tmp / f"{name}_model.pt"
        write_json(cfg_path, cfg)
        write_json(d / "mdlearn_config.json", cfg)
        torch.save(model.state_dict(), pt_path)
        config, tensors = export_cvae.export_cvae(cfg_path, pt_path, d)  # the CLI code path
        # expected mu from a fresh mdlearn model loaded from the saved state_dict
        m2 = export_cvae.build_model(cfg)
        m2.load_state_dict(torch.load(pt_path, map_location="cpu"))
        m2.eval()
        with torch.no_grad():
            mu, _ = m2.encoder(xt)
            z = m2.encode(xt)  # eval-mode VAE embedding == mu
        assert torch.equal(mu, z)
        mu = mu.numpy().astype(np.float32)
        save_npy(d, "expected_mu.npy", mu, np.float32)
        from safetensors.numpy import load_file
        err = _check_export(config, load_file(str(d / "model.safetensors")), mu, x, export_cvae.numpy_forward, name)
        results[name] = {"config": config, "numpy_check_max_abs_err": err,
                         "mu_abs_max": float(np.abs(mu).max()), "mu_abs_mean": float(np.abs(mu).mean()),
                         "n_params": int(sum(v.size for v in tensors.values())), **(extra or {})}
        return mu

    def random_model(cfg, seed):
        torch.manual_seed(seed)
        model = export_cvae.build_model(cfg)
        # mdlearn's _init_weights sets every dense bias to the constant 0.01; re-draw them so
        # the reference also exercises per-unit bias indexing.
        g = torch.Generator().manual_seed(seed + 1000)
        with torch.no_grad():
            for mod in model.encoder.encoder:
                if isinstance(mod, torch.nn.Linear):
                    mod.bias.copy_(torch.empty_like(mod.bias).uniform_(-0.1, 0.1, generator=g))
        return model.eval()

    cfg_a = {"input_shape": [1, n, n], "filters": [64, 64, 64, 64], "kernels": [3, 3, 3, 3],
             "strides": [1, 2, 1, 1], "affine_widths": [128], "affine_dropouts": [0.0], "latent_dim": 10,
             "activation": "ReLU"}
    cfg_b = {"input_shape": [1, n, n], "filters": [100, 100, 100, 100], "kernels": [5, 5, 5, 5],
             "strides": [1, 2, 1, 2], "affine_widths": [128, 64], "affine_dropouts": [0.0, 0.0], "latent_dim": 10,
             "activation": "ReLU"}
    finish("cvae_a", cfg_a, random_model(cfg_a, SEED_CVAE_A),
           {"weights": f"random: torch.manual_seed({SEED_CVAE_A}) + mdlearn init; dense biases re-drawn U(-0.1,0.1)"})
    finish("cvae_b", cfg_b, random_model(cfg_b, SEED_CVAE_B),
           {"weights": f"random: torch.manual_seed({SEED_CVAE_B}) + mdlearn init; dense biases re-drawn U(-0.1,0.1)"})

    # trained model: mdlearn's own trainer on the DeepDriveMD COO contact maps
    train_kw = dict(seed=SEED_CVAE_TRAIN, epochs=30, batch_size=min(16, int(0.2 * len(coo_chunks))), inference_batch_size=256, split_pct=0.8,
                    split_method="random", optimizer_name="RMSprop",
                    optimizer_hparams={"lr": 0.001, "weight_decay": 0.00001}, lambda_rec=1.0,
                    checkpoint_log_every=10 ** 6, plot_method=None, prefetch_factor=None, verbose=True, device="cpu")
    trainer = SymmetricConv2dVAETrainer(input_shape=(1, n, n), **{k: v for k, v in cfg_a.items() if k != "input_shape"},
                                        **train_kw)
    coo_obj = np.empty(len(coo_chunks), dtype=object)
    for i, c in enumerate(coo_chunks):
        coo_obj[i] = c
    trainer.fit(X=coo_obj, output_path=str(tmp / "cvae_train"))
    model = trainer.model.eval()
    mu = finish("cvae_trained", cfg_a, model,
                {"weights": "trained with mdlearn SymmetricConv2dVAETrainer",
                 "training": {**train_kw, "data": "all villin contact maps (COO, DeepDriveMD layout)",
                              "loss": "lambda_rec * BCE(sum) + KL (mdlearn)",
                              "final_train_loss": trainer.loss_curve_["train_loss"][-1],
                              "final_valid_loss": trainer.loss_curve_["valid_loss"][-1]}})
    z_pred, *_ = trainer.predict(coo_obj)
    assert np.allclose(z_pred, mu, atol=1e-5), "trainer.predict differs from encoder mu"
    save_npy(out / "cvae_trained", "latent.npy", mu, np.float32)
    return results, mu


# ---------------------------------------------------------------------------
# 4. AAE
# ---------------------------------------------------------------------------
def aae_model(out: Path, ca_pos_A, tmp: Path):
    import numpy as np
    import torch
    import export_aae

    n_ca = ca_pos_A.shape[1]
    cent = ca_pos_A.astype(np.float64)
    cent = cent - cent.mean(axis=1, keepdims=True)
    x = np.ascontiguousarray(cent.transpose(0, 2, 1), dtype=np.float32)  # [B, 3, nCA], Angstrom, centered
    d = out / "aae_a"
    d.mkdir(parents=True, exist_ok=True)
    save_npy(d, "input.npy", x, np.float32)
    cfg = {"num_points": n_ca, "num_features": 0, "latent_dim": 10, "encoder_bias": True,
           "encoder_relu_slope": 0.0, "encoder_filters": [64, 128, 256, 256, 512],
           "encoder_kernels": [5, 5, 3, 1, 1], "decoder_bias": True, "decoder_relu_slope": 0.0,
           "decoder_affine_widths": [64, 128, 512, 1024], "discriminator_bias": True,
           "discriminator_relu_slope": 0.0, "discriminator_affine_widths": [512, 128, 64]}
    torch.manual_seed(SEED_AAE)
    model = export_aae.build_model(cfg).eval()
    cfg_path, pt_path = tmp / "aae_cfg.json", tmp / "aae_model.pt"
    write_json(cfg_path, cfg)
    write_json(d / "mdlearn_config.json", cfg)
    torch.save(model.state_dict(), pt_path)
    config, tensors = export_aae.export_aae(cfg_path, pt_path, d)
    m2 = export_aae.build_model(cfg)
    m2.load_state_dict(torch.load(pt_path, map_location="cpu"))
    m2.eval()
    with torch.no_grad():
        mu, _ = m2.encoder(torch.from_numpy(x.copy()))
        z = m2.encode(torch.from_numpy(x.copy()))
    assert torch.equal(mu, z)
    mu = mu.numpy().astype(np.float32)
    save_npy(d, "expected_mu.npy", mu, np.float32)
    from safetensors.numpy import load_file
    err = _check_export(config, load_file(str(d / "model.safetensors")), mu, x, export_aae.numpy_forward, "aae_a")
    # record the test input's preprocessing next to the exported architecture
    config["reference_input"] = ("aae_a/input.npy: villin CA positions (MDAnalysis, Angstrom, float32) of every "
                                 "frame, centred per frame on the unweighted CA centroid (float64 mean), no "
                                 "bias/scale normalisation, transposed to [B, 3, num_points]")
    write_json(d / "config.json", config)
    return {"config": config, "numpy_check_max_abs_err": err, "mu_abs_max": float(np.abs(mu).max()),
            "mu_abs_mean": float(np.abs(mu).mean()), "n_params": int(sum(v.size for v in tensors.values())),
            "weights": f"random: torch.manual_seed({SEED_AAE}) then AAE3d(**cfg) (PyTorch default init)"}


# ---------------------------------------------------------------------------
# 5. outliers
# ---------------------------------------------------------------------------
def make_blobs():
    import numpy as np

    rng = np.random.default_rng(SEED_BLOBS)
    dim = 10
    sizes = [800, 600, 500, 450, 350, 300]
    spreads = [0.15, 0.3, 0.5, 0.8, 0.25, 1.2]
    centers = rng.uniform(-8.0, 8.0, size=(len(sizes), dim))
    pts = [c + s * rng.standard_normal((m, dim)) for c, s, m in zip(centers, spreads, sizes)]
    pts.append(rng.uniform(-12.0, 12.0, size=(60, dim)))
    x = np.concatenate(pts)
    x = x[rng.permutation(len(x))]
    return x.astype(np.float32), {"n_points": int(len(x)), "dim": dim, "blob_sizes": sizes,
                                  "blob_std": spreads, "centers_range": [-8, 8],
                                  "background": "60 points uniform in [-12,12]^10", "shuffled": True,
                                  "seed": SEED_BLOBS}


def _dbscan_stats(x64, dist, eps, ms):
    import numpy as np
    from sklearn.cluster import DBSCAN

    db = DBSCAN(eps=eps, min_samples=ms, metric="euclidean").fit(x64)
    lab = db.labels_.astype(np.int64)
    core = np.zeros(len(lab), bool)
    core[db.core_sample_indices_] = True
    border = (lab >= 0) & ~core
    nb = dist <= eps
    amb = 0
    for i in np.flatnonzero(border):
        cl = set(lab[nb[i] & core].tolist())
        amb += len(cl) > 1
    return lab, {"eps": float(eps), "min_samples": int(ms), "n_clusters": int(lab.max() + 1),
                 "n_noise": int((lab == -1).sum()), "n_core": int(core.sum()), "n_border": int(border.sum()),
                 "n_border_reachable_from_multiple_clusters": int(amb),
                 "min_abs_pair_distance_minus_eps": float(np.abs(dist[np.triu_indices(len(lab), 1)] - eps).min())}


def choose_dbscan_cases(x64, n_cases=3):
    """Pick (eps, min_samples) pairs giving several clusters, border points and noise.

    eps candidates are 3-significant-digit roundings of quantiles of the
    min_samples-th neighbour distance (self included, as DBSCAN counts it); a
    candidate is rejected if any pair distance lies within 1e-6 of eps.
    """
    import numpy as np
    from scipy.spatial.distance import cdist
    from sklearn.neighbors import NearestNeighbors

    dist = cdist(x64, x64)
    n = len(x64)
    cases = []
    for ms in (5, 10, 20):
        kd = NearestNeighbors(n_neighbors=ms).fit(x64).kneighbors(x64)[0][:, -1]  # includes self
        best = None
        for q in np.arange(0.05, 0.951, 0.05):
            eps = float(f"{np.quantile(kd, q):.3g}")
            lab, st = _dbscan_stats(x64, dist, eps, ms)
            if not (st["n_clusters"] >= 2 and 0 < st["n_noise"] <= 0.3 * n and st["n_border"] > 0
                    and st["min_abs_pair_distance_minus_eps"] > 1e-6):
                continue
            key = (min(st["n_clusters"], 10), st["n_border"] + st["n_noise"])
            if best is None or key > best[0]:
                best = (key, lab, st)
        if best is not None:
            cases.append((best[1], best[2]))
        if len(cases) >= n_cases:
            break
    return cases


def outliers(out: Path, latent):
    import numpy as np
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    import shutil

    od = out / "outliers"
    shutil.rmtree(od, ignore_errors=True)  # drop stale label files from earlier runs
    od.mkdir(parents=True, exist_ok=True)
    blobs, blob_info = make_blobs()
    save_npy(od, "blobs.npy", blobs, np.float32)
    # Contact maps are binary, so identical maps (common at 300 K) give identical
    # latent vectors. Exact duplicates make kNN order / LOF tie-dependent, so the
    # reference uses the unique rows of latent.npy (first occurrence, frame order).
    _, first = np.unique(latent, axis=0, return_index=True)
    frames = np.sort(first).astype(np.int64)
    latent_set = latent[frames]
    save_npy(od, "latent_set.npy", latent_set, np.float32)
    save_npy(od, "latent_set_frames.npy", frames, np.int64)
    sets = {"latent": ("outliers/latent_set.npy", latent_set), "blobs": ("outliers/blobs.npy", blobs)}
    summary = {"lof": {"n_neighbors": 20, "metric": "euclidean", "fit_on": "float64 copy of the float32 data",
                       "kneighbors": "lof.kneighbors() with X=None: training set, self excluded, k=20"},
               "latent_set": {"source": "cvae_trained/latent.npy", "n_frames": int(len(latent)),
                              "n_unique": int(len(frames)),
                              "note": "unique rows (first occurrence, in frame order); duplicates come from "
                                      "identical binary contact maps"},
               "blobs_generation": blob_info, "sets": {}, "cases": []}
    for name, (src, x32) in sets.items():
        x64 = np.asarray(x32, dtype=np.float32).astype(np.float64)
        lof = LocalOutlierFactor(n_neighbors=20, metric="euclidean").fit(x64)
        dist, idx = lof.kneighbors()
        save_npy(od, f"{name}_lof_nof.npy", lof.negative_outlier_factor_, np.float64)
        save_npy(od, f"{name}_knn_dist.npy", dist, np.float64)
        save_npy(od, f"{name}_knn_idx.npy", idx, np.int64)
        # tie safety: smallest gap between consecutive neighbour distances (ranks 1..21, self excluded)
        d22 = NearestNeighbors(n_neighbors=22).fit(x64).kneighbors(x64)[0]
        gaps = np.diff(d22[:, 1:], axis=1)
        summary["sets"][name] = {"data": src, "n": int(len(x64)), "dim": int(x64.shape[1]),
                                 "lof_nof_min_max": [float(lof.negative_outlier_factor_.min()),
                                                     float(lof.negative_outlier_factor_.max())],
                                 "min_gap_between_consecutive_neighbour_distances_rank1_to_21": float(gaps.min())}
        for ci, (lab, st) in enumerate(choose_dbscan_cases(x64)):
            fn = f"outliers/{name}_dbscan_{ci}.npy"
            save_npy(out, fn, lab, np.int64)
            summary["cases"].append({"case": f"{name}_{ci}", "set": name, "data": src, "labels": fn, **st})
            log("dbscan", name, ci, json.dumps(st))
        log("lof", name, json.dumps(summary["sets"][name]))
    summary["dbscan_note"] = ("sklearn DBSCAN(eps, min_samples, metric='euclidean') on the float64 copy; "
                              "neighbourhood is dist <= eps and includes the point itself (min_samples counts "
                              "self); clusters are numbered in order of their lowest-index core point; a border "
                              "point reachable from several clusters gets the label of the cluster expanded first.")
    write_json(od / "dbscan_cases.json", {"cases": summary["cases"], "note": summary["dbscan_note"]})
    return summary


# ---------------------------------------------------------------------------
# MANIFEST
# ---------------------------------------------------------------------------
DESCRIPTIONS = {
    "villin.pdb": ("Villin headpiece (OpenMM test.pdb) protein only, starting structure; topology for villin.dcd", "Angstrom (PDB)"),
    "villin_ref.pdb": ("Energy-minimized villin; RMSD reference", "Angstrom (PDB)"),
    "villin.dcd": ("OpenMM DCDReporter trajectory, 1 ps/frame, first frame at t=1 ps, no unit cell", "Angstrom (DCD)"),
    "villin_md.json": ("OpenMM simulation settings and schedule used to produce villin.dcd", "-"),
    "villin_coords.npy": ("All-atom coordinates of every frame as read by mdtraj from villin.dcd", "nm"),
    "villin_ref_coords.npy": ("Coordinates of villin_ref.pdb as read by mdtraj", "nm"),
    "villin_ca_indices.npy": ("0-based indices of the CA atoms (selection 'name CA') in villin.pdb", "index"),
    "villin_heavy_indices.npy": ("0-based indices of all non-hydrogen atoms in villin.pdb", "index"),
    "villin_contacts_dense.npy": ("MDAnalysis contact_matrix(CA positions in A, cutoff=8.0, returntype='sparse').toarray() per frame; diagonal set", "boolean 0/1 (cutoff 8 A = 0.8 nm, strict d < cutoff)"),
    "villin_contacts_coo_data.npy": ("DeepDriveMD COO layout: per frame concat(int16 coo.row, int16 coo.col) of the scipy lil->tocoo() matrix (row-major order), all frames concatenated", "index"),
    "villin_contacts_coo_offsets.npy": ("Start offsets of each frame's segment in villin_contacts_coo_data.npy (frames+1 entries; segment length = 2*nnz)", "element offset"),
    "villin_rmsd_ca.npy": ("mdtraj.rmsd(traj, villin_ref.pdb, atom_indices=CA) (optimal superposition on CA)", "nm"),
    "villin_rmsd_heavy.npy": ("mdtraj.rmsd(traj, villin_ref.pdb, atom_indices=heavy) (optimal superposition on heavy atoms)", "nm"),
    "pbc_coords.npy": ("Synthetic points in an orthorhombic box, ~10% shifted by one box length (unwrapped)", "nm"),
    "pbc_boxes.npy": ("Box edge lengths a,b,c per frame (angles 90)", "nm"),
    "pbc_contacts_dense.npy": ("MDAnalysis contact_matrix(coords*10, cutoff=8.0, box=[10a,10b,10c,90,90,90], returntype='sparse').toarray()", "boolean 0/1 (cutoff 0.8 nm, minimum image)"),
    "cvae_input.npy": ("Real villin contact maps as float32 [B,1,nCA,nCA] (input to all CVAE models; equals mdlearn ContactMapDataset decoding of the COO data)", "0/1"),
    "aae_a/input.npy": ("Villin CA point clouds [B,3,nCA], per-frame centred on the unweighted CA centroid, no scaling", "Angstrom"),
    "outliers/blobs.npy": ("Synthetic 10-d clustered set: 6 Gaussian blobs of different spread + 60 uniform background points, shuffled", "arbitrary"),
    "outliers/latent_set.npy": ("Unique rows of cvae_trained/latent.npy (first occurrence, frame order): the real latent set for the outlier references", "latent (dimensionless)"),
    "outliers/latent_set_frames.npy": ("Frame index (into latent.npy / the trajectory) of each row of outliers/latent_set.npy", "index"),
    "outliers/dbscan_cases.json": ("DBSCAN parameter cases with label files, cluster/noise/border counts", "-"),
}


def describe(rel: str):
    import re
    if rel in DESCRIPTIONS:
        return DESCRIPTIONS[rel]
    m = re.match(r"(cvae_a|cvae_b|cvae_trained|aae_a)/(.*)", rel)
    if m:
        model, f = m.groups()
        return {
            "config.json": (f"{model}: exported encoder config (export_{'aae' if model == 'aae_a' else 'cvae'}.py)", "-"),
            "model.safetensors": (f"{model}: exported encoder tensors (f32, PyTorch layouts)", "-"),
            "mdlearn_config.json": (f"{model}: mdlearn constructor arguments (the cfg.json given to the exporter)", "-"),
            "expected_mu.npy": (f"{model}: mdlearn encoder mu for the model's input (eval mode)",
                                "latent (dimensionless)"),
            "latent.npy": ("cvae_trained: mu for every villin frame (the real latent set)", "latent (dimensionless)"),
        }[f]
    m = re.match(r"outliers/(latent|blobs)_(.*)\.npy", rel)
    if m:
        s, what = m.groups()
        src = "outliers/latent_set.npy" if s == "latent" else "outliers/blobs.npy"
        if what == "lof_nof":
            return (f"LocalOutlierFactor(n_neighbors=20).fit(float64({src})).negative_outlier_factor_", "-")
        if what == "knn_dist":
            return (f"lof.kneighbors() distances on {src} (self excluded, k=20, ascending)", "same as data")
        if what == "knn_idx":
            return (f"lof.kneighbors() indices on {src} (self excluded, k=20)", "index")
        if what.startswith("dbscan_"):
            return (f"DBSCAN labels on {src}, case {what[7:]} (params in outliers/dbscan_cases.json; -1 = noise)", "label")
    raise KeyError(rel)


def write_manifest(out: Path, info: dict):
    import numpy as np

    files = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file() or p.name.startswith(".") or p.name == "MANIFEST.json":
            continue
        rel = p.relative_to(out).as_posix()
        desc, units = describe(rel)
        e = {"description": desc, "units": units, "bytes": p.stat().st_size}
        if p.suffix == ".npy":
            a = np.load(p, mmap_mode="r")
            e["shape"] = list(a.shape)
            e["dtype"] = str(a.dtype)
        files[rel] = e
    total = sum(e["bytes"] for e in files.values())
    manifest = {"generator": "tools/make_reference.py (uses tools/export_cvae.py, tools/export_aae.py)",
                "versions": info["versions"], "units": {
                    "coordinates_npy": "nm (float32)", "pdb_dcd": "Angstrom (file formats)",
                    "rmsd": "nm", "contact_cutoff": "0.8 nm (MDAnalysis called with 8.0 Angstrom)",
                    "aae_input": "Angstrom, centred", "latent": "dimensionless"},
                "total_bytes": total, "files": files, "details": info["details"]}
    write_json(out / "MANIFEST.json", manifest)
    log(f"MANIFEST: {len(files)} files, {total / 1e6:.2f} MB")


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=None, help="venv to create/reuse when packages are missing (default tools/.venv)")
    ap.add_argument("--out", default=str(REPO_ROOT / "tests" / "data"), help="output directory (default tests/data)")
    ap.add_argument("--reuse-md", action="store_true", help="reuse villin.pdb/villin_ref.pdb/villin.dcd already in --out")
    ap.add_argument("--cold-frames", type=int, default=100, help="frames (ps) at 300 K")
    ap.add_argument("--hot-frames", type=int, default=150, help="frames (ps) at 500 K")
    args = ap.parse_args()
    bootstrap(args.venv)

    import tempfile
    import numpy as np
    import torch

    sys.path.insert(0, str(TOOLS_DIR))
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    md_files = [out / f for f in ("villin.pdb", "villin_ref.pdb", "villin.dcd")]
    if args.reuse_md and all(p.exists() for p in md_files) and (out / "villin_md.json").exists():
        log("reusing existing trajectory")
        md_info = json.loads((out / "villin_md.json").read_text())
    else:
        md_info = run_md(out, args.cold_frames, args.hot_frames)

    dense, coo_chunks, ca_pos_A, traj_stats = trajectory_analysis(out, {})
    pbc_info = pbc_case(out)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        cvae_info, latent = cvae_models(out, dense, coo_chunks, tmp)
        aae_info = aae_model(out, ca_pos_A, tmp)
    out_info = outliers(out, latent)

    import scipy, sklearn, openmm, MDAnalysis, mdtraj, safetensors
    from importlib.metadata import version
    versions = {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                "scikit-learn": sklearn.__version__, "openmm": openmm.__version__,
                "MDAnalysis": MDAnalysis.__version__, "mdtraj": mdtraj.__version__, "torch": torch.__version__,
                "safetensors": safetensors.__version__, "mdlearn": version("mdlearn")}
    for k in cvae_info:
        cvae_info[k].pop("config", None)
    aae_info.pop("config", None)
    details = {"trajectory": {**md_info, **traj_stats}, "pbc": pbc_info, "cvae": cvae_info, "aae_a": aae_info,
               "outliers": out_info}
    write_manifest(out, {"versions": versions, "details": details})
    log("done")


if __name__ == "__main__":
    main()
