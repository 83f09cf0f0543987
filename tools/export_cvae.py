#!/usr/bin/env python3
"""Export the encoder of an mdlearn ``SymmetricConv2dVAE`` for steermd.

Usage::

    python tools/export_cvae.py --config cfg.json --state-dict model.pt --out DIR

``cfg.json`` holds mdlearn's own ``SymmetricConv2dVAE`` constructor arguments
(``input_shape, filters, kernels, strides, affine_widths, affine_dropouts,
latent_dim, activation`` and optionally ``output_activation``).  ``model.pt`` is
``torch.save(model.state_dict())`` of the full VAE (an mdlearn training
checkpoint dict with a ``model_state_dict`` entry is accepted too).

Writes

* ``DIR/model.safetensors`` -- only the tensors needed to compute ``mu``
  (float32, PyTorch layouts)::

      conv.{i}.weight  [out, in, kh, kw]    conv.{i}.bias  [out]
      dense.{j}.weight [out, in]            dense.{j}.bias [out]
      mu.weight        [latent, in]         mu.bias        [latent]

* ``DIR/config.json`` -- architecture, including the exact per-layer padding
  that mdlearn computes (``mdlearn.nn.utils.same_padding``) and a description
  of the forward pass.

The model is rebuilt with mdlearn itself, so the layer structure, padding and
shapes recorded here are the ones mdlearn actually uses, not a re-derivation.
Requires torch, safetensors and mdlearn (use the venv made by
tools/make_reference.py, e.g. ``tools/.venv/bin/python tools/export_cvae.py``).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

FORWARD_CVAE = (
    "x: float32 [B, C, H, W] (contact map, C=input_shape[0]=1, values 0/1). "
    "For each conv layer i: x = act(conv2d(x, conv.i.weight, conv.i.bias, "
    "stride=strides[i], padding=paddings[i] zeros on all four sides (symmetric), "
    "dilation 1, groups 1)); note act is applied after EVERY conv layer, including "
    "the last. Then flatten in PyTorch NCHW order: feature index = c*H*W + h*W + w "
    "of the last conv output [B, filters[-1], H', W'] -> [B, flatten_dim]. For each "
    "dense layer j: x = act(x @ dense.j.weight.T + dense.j.bias) (act after every "
    "dense layer; dropout layers, if any, are identity in eval mode). Finally "
    "mu = x @ mu.weight.T + mu.bias (no activation). In eval mode the VAE's "
    "embedding z is exactly mu (no reparametrization noise); logstd is not exported."
)


def load_state_dict(path):
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict):
        raise TypeError(f"{path}: expected a state_dict, got {type(obj)}")
    return obj


def write_model_dir(out_dir, config: dict, tensors: dict) -> None:
    """Write ``config.json`` and ``model.safetensors`` (float32) into ``out_dir``."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    with open(out / "config.json", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def build_model(cfg: dict):
    """Construct mdlearn's SymmetricConv2dVAE from constructor args ``cfg``."""
    from mdlearn.nn.models.vae.symmetric_conv2d_vae import SymmetricConv2dVAE

    kw = dict(cfg)
    kw["input_shape"] = tuple(int(v) for v in kw["input_shape"])
    kw.pop("init_weights", None)
    return SymmetricConv2dVAE(**kw)


def _activation_info(mod):
    from torch import nn

    if isinstance(mod, nn.LeakyReLU):
        return {"activation": "LeakyReLU", "negative_slope": float(mod.negative_slope)}
    if isinstance(mod, nn.ReLU):
        return {"activation": "ReLU"}
    if isinstance(mod, nn.Sigmoid):
        return {"activation": "Sigmoid"}
    if isinstance(mod, nn.Tanh):
        return {"activation": "Tanh"}
    if isinstance(mod, nn.Identity):
        return {"activation": "None"}
    return None


def export_cvae_model(model, cfg: dict, out_dir) -> tuple[dict, dict]:
    """Export an already-built (and loaded) mdlearn SymmetricConv2dVAE.

    Returns (config_dict, {name: float32 numpy array}) and writes them to
    ``out_dir`` (config.json, model.safetensors).
    """
    from torch import nn

    model.eval()
    enc = model.encoder  # mdlearn.nn.modules.conv2d_encoder.Conv2dEncoder
    tensors: dict[str, np.ndarray] = {}
    layer_sequence: list[str] = []
    paddings_hw, conv_shapes = [], []
    n_conv = n_dense = 0
    act_info = None
    dropouts = []
    seen_flatten = False
    for mod in enc.encoder:
        a = _activation_info(mod)
        if isinstance(mod, nn.Conv2d):
            if seen_flatten:
                raise ValueError("Conv2d after Flatten: unexpected mdlearn encoder layout")
            if mod.groups != 1 or tuple(mod.dilation) != (1, 1) or mod.padding_mode != "zeros":
                raise ValueError(f"unsupported Conv2d options: {mod}")
            if mod.stride[0] != mod.stride[1] or mod.kernel_size[0] != mod.kernel_size[1]:
                raise ValueError(f"non-square conv: {mod}")
            tensors[f"conv.{n_conv}.weight"] = mod.weight.detach().cpu().float().numpy()
            b = mod.bias.detach().cpu().float().numpy() if mod.bias is not None else np.zeros(mod.out_channels, np.float32)
            tensors[f"conv.{n_conv}.bias"] = b
            paddings_hw.append([int(mod.padding[0]), int(mod.padding[1])])
            layer_sequence.append(
                f"Conv2d(in={mod.in_channels}, out={mod.out_channels}, k={mod.kernel_size[0]}, "
                f"stride={mod.stride[0]}, padding={tuple(int(p) for p in mod.padding)})"
            )
            n_conv += 1
        elif isinstance(mod, nn.Flatten):
            if (mod.start_dim, mod.end_dim) != (1, -1):
                raise ValueError(f"unexpected Flatten {mod}")
            seen_flatten = True
            layer_sequence.append("Flatten(start_dim=1) [NCHW row-major]")
        elif isinstance(mod, nn.Linear):
            tensors[f"dense.{n_dense}.weight"] = mod.weight.detach().cpu().float().numpy()
            tensors[f"dense.{n_dense}.bias"] = mod.bias.detach().cpu().float().numpy()
            layer_sequence.append(f"Linear(in={mod.in_features}, out={mod.out_features})")
            n_dense += 1
        elif isinstance(mod, nn.Dropout):
            dropouts.append(float(mod.p))
            layer_sequence.append(f"Dropout(p={mod.p}) [identity in eval]")
        elif a is not None:
            if act_info is None:
                act_info = a
            elif act_info != a:
                raise ValueError("mixed activations are not supported")
            layer_sequence.append(a["activation"])
        elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            raise ValueError("BatchNorm in Conv2dEncoder is not expected for mdlearn SymmetricConv2dVAE")
        else:
            raise ValueError(f"unexpected module in mdlearn Conv2dEncoder: {mod}")
    tensors["mu.weight"] = enc.mu.weight.detach().cpu().float().numpy()
    tensors["mu.bias"] = enc.mu.bias.detach().cpu().float().numpy()
    layer_sequence.append(f"mu = Linear(in={enc.mu.in_features}, out={enc.mu.out_features}) [no activation]")

    shapes = [list(int(v) for v in s) for s in enc.shapes]  # (C,H,W) input then after each conv
    square = all(p[0] == p[1] for p in paddings_hw)
    paddings = [p[0] for p in paddings_hw] if square else paddings_hw
    flatten_dim = int(np.prod(shapes[-1]))
    assert tensors["dense.0.weight"].shape[1] == flatten_dim if n_dense else True

    config = {
        "kind": "cvae",
        "source": "mdlearn SymmetricConv2dVAE",
        "input_shape": [int(v) for v in cfg["input_shape"]],
        "filters": [int(v) for v in cfg["filters"]],
        "kernels": [int(v) for v in cfg["kernels"]],
        "strides": [int(v) for v in cfg["strides"]],
        "paddings": paddings,
        "paddings_hw": paddings_hw,
        "conv_output_shapes": shapes[1:],
        "flatten_dim": flatten_dim,
        "flatten_order": "NCHW: index = c*H*W + h*W + w (torch.nn.Flatten(start_dim=1))",
        "affine_widths": [int(v) for v in cfg["affine_widths"]],
        "affine_dropouts": [float(v) for v in cfg.get("affine_dropouts", [0.0] * len(cfg["affine_widths"]))],
        "latent_dim": int(cfg["latent_dim"]),
        "activation": (act_info or {"activation": cfg.get("activation", "ReLU")})["activation"],
        "activation_after_last_conv": True,
        "activation_after_last_dense": True,
        "batchnorm": "none (mdlearn Conv2dEncoder has no BatchNorm layers)",
        "dropout": "nn.Dropout after the activation of each dense layer whose dropout p != 0; identity in eval mode",
        "eval_mode": True,
        "padding_rule": (
            "mdlearn.nn.utils.same_padding per spatial dim n (input size of that layer): "
            "stride 1 -> (k-1)//2; stride s>1 -> n - (k + i*s) for the largest i with k + i*s <= n, "
            "i.e. (n-k) mod s; applied symmetrically on both sides (nn.Conv2d padding=p). "
            "Output size = (n + 2p - k)//s + 1."
        ),
        "input_convention": ("binary contact map as float32 0/1, shape input_shape (DeepDriveMD: "
                             "MDAnalysis contact_matrix of CA atoms, cutoff 8 A, diagonal set)"),
        "forward": FORWARD_CVAE,
        "layer_sequence": layer_sequence,
        "tensor_names": sorted(tensors),
        "dtype": "float32",
    }
    if act_info and "negative_slope" in act_info:
        config["negative_slope"] = act_info["negative_slope"]

    write_model_dir(out_dir, config, tensors)
    return config, tensors


def export_cvae(config_path, state_dict_path, out_dir) -> tuple[dict, dict]:
    """CLI entry: build mdlearn model from cfg.json, load state dict, export."""
    with open(config_path) as f:
        cfg = json.load(f)
    model = build_model(cfg)
    model.load_state_dict(load_state_dict(state_dict_path))
    return export_cvae_model(model, cfg, out_dir)


# ---------------------------------------------------------------------------
# Independent NumPy implementation of the documented forward pass, used by
# make_reference.py to check that config.json + model.safetensors describe
# mdlearn's computation exactly (padding, flatten order, activations).
# ---------------------------------------------------------------------------
def _act(x, config):
    a = config["activation"]
    if a == "ReLU":
        return np.maximum(x, 0)
    if a == "LeakyReLU":
        return np.where(x >= 0, x, x * config.get("negative_slope", 0.01))
    if a == "Sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if a == "Tanh":
        return np.tanh(x)
    if a == "None":
        return x
    raise ValueError(a)


def _conv2d(x, w, b, stride, ph, pw):
    bsz, cin, h, wd = x.shape
    cout, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - kh) // stride + 1
    wo = (wd + 2 * pw - kw) // stride + 1
    out = np.zeros((bsz, cout, ho, wo), dtype=np.float64)
    for di in range(kh):
        for dj in range(kw):
            patch = xp[:, :, di:di + stride * (ho - 1) + 1:stride, dj:dj + stride * (wo - 1) + 1:stride]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, di, dj], optimize=True)
    return out + b[None, :, None, None]


def numpy_forward(config: dict, tensors: dict, x: np.ndarray) -> np.ndarray:
    """float64 reference of the forward pass documented in config['forward']."""
    h = x.astype(np.float64)
    for i, s in enumerate(config["strides"]):
        ph, pw = config["paddings_hw"][i]
        h = _act(_conv2d(h, tensors[f"conv.{i}.weight"].astype(np.float64),
                         tensors[f"conv.{i}.bias"].astype(np.float64), s, ph, pw), config)
    h = h.reshape(h.shape[0], -1)
    for j in range(len(config["affine_widths"])):
        h = _act(h @ tensors[f"dense.{j}.weight"].astype(np.float64).T + tensors[f"dense.{j}.bias"], config)
    return h @ tensors["mu.weight"].astype(np.float64).T + tensors["mu.bias"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="mdlearn SymmetricConv2dVAE constructor args (JSON)")
    p.add_argument("--state-dict", required=True, help="torch.save(model.state_dict()) of the full VAE")
    p.add_argument("--out", required=True, help="output directory")
    a = p.parse_args(argv)
    config, tensors = export_cvae(a.config, a.state_dict, a.out)
    print(f"wrote {os.path.join(a.out, 'config.json')} and model.safetensors "
          f"({sum(v.size for v in tensors.values())} params; paddings {config['paddings']})")


if __name__ == "__main__":
    main()
