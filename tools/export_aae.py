#!/usr/bin/env python3
"""Export the encoder of an mdlearn ``AAE3d`` (3D point-cloud adversarial AE).

Usage::

    python tools/export_aae.py --config cfg.json --state-dict model.pt --out DIR

``cfg.json`` holds mdlearn's own ``AAE3d`` constructor arguments (``num_points,
num_features, latent_dim, encoder_bias, encoder_relu_slope, encoder_filters,
encoder_kernels, decoder_*, discriminator_*``).  ``model.pt`` is
``torch.save(model.state_dict())`` of the full AAE3d (an mdlearn checkpoint dict
with ``model_state_dict`` is accepted too).

Writes ``DIR/model.safetensors`` (float32, PyTorch layouts, encoder only)::

    conv.{i}.weight  [out, in, k]   (Conv1d)     conv.{i}.bias [out]
    dense.{j}.weight [out, in]                   dense.{j}.bias [out]
    mu.weight        [latent, in]                mu.bias [latent]

and ``DIR/config.json`` describing the forward pass.  mdlearn 1.0.5's
``Conv1dEncoder`` has no BatchNorm layers, so there are no ``bn.*`` tensors; the
exporter refuses an encoder that contains BatchNorm rather than guessing.
If ``encoder_bias`` is False the conv biases are written as zeros.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from export_cvae import load_state_dict, write_model_dir  # shared helpers (tools/ is on sys.path)

FORWARD_AAE = (
    "x: float32 [B, 3+num_features, num_points] (channels = x,y,z[,features]; points along the "
    "last axis, in residue order -- the convolutions slide along the point index). "
    "For each conv layer i: x = conv1d(x, conv.i.weight, conv.i.bias, stride 1, padding 0 "
    "('valid'), dilation 1) giving length L_i = L_{i-1} - kernels[i] + 1; if relu_after[i] "
    "then x = act(x) (act = ReLU, or LeakyReLU(negative_slope) when relu_slope > 0); the "
    "LAST conv has no activation. Then global max over the points axis: h = max_l x[:, :, l] "
    "-> [B, filters[-1]]. Then h = act(h @ dense.0.weight.T + dense.0.bias) "
    "(Linear filters[-1] -> filters[-2]). Finally mu = h @ mu.weight.T + mu.bias (no "
    "activation). No BatchNorm, no dropout. In eval mode the AAE embedding z is exactly mu "
    "(no reparametrization noise); logstd is not exported."
)


def build_model(cfg: dict):
    from mdlearn.nn.models.aae.point_3d_aae import AAE3d

    return AAE3d(**cfg)


def export_aae_model(model, cfg: dict, out_dir) -> tuple[dict, dict]:
    from torch import nn

    model.eval()
    enc = model.encoder  # mdlearn.nn.modules.conv1d_encoder.Conv1dEncoder
    tensors: dict[str, np.ndarray] = {}
    layer_sequence: list[str] = []
    relu_after: list[bool] = []
    kernels, filters = [], []
    act_name, slope = None, None

    def note_act(mod):
        nonlocal act_name, slope
        if isinstance(mod, nn.LeakyReLU):
            name, s = "LeakyReLU", float(mod.negative_slope)
        elif isinstance(mod, nn.ReLU):
            name, s = "ReLU", 0.0
        else:
            return False
        if act_name is not None and (act_name, slope) != (name, s):
            raise ValueError("mixed activations are not supported")
        act_name, slope = name, s
        layer_sequence.append(name if name == "ReLU" else f"LeakyReLU({s})")
        return True

    n_conv = 0
    for mod in enc.conv:
        if isinstance(mod, nn.Conv1d):
            if mod.stride != (1,) or mod.dilation != (1,) or mod.groups != 1 or tuple(mod.padding) != (0,):
                raise ValueError(f"unsupported Conv1d options: {mod}")
            w = mod.weight.detach().cpu().float().numpy()
            b = (mod.bias.detach().cpu().float().numpy() if mod.bias is not None
                 else np.zeros(mod.out_channels, np.float32))
            tensors[f"conv.{n_conv}.weight"] = w
            tensors[f"conv.{n_conv}.bias"] = b
            kernels.append(int(mod.kernel_size[0]))
            filters.append(int(mod.out_channels))
            relu_after.append(False)
            layer_sequence.append(f"Conv1d(in={mod.in_channels}, out={mod.out_channels}, k={mod.kernel_size[0]}, "
                                  f"stride=1, padding=0, bias={mod.bias is not None})")
            n_conv += 1
        elif note_act(mod):
            relu_after[-1] = True
        elif isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            raise NotImplementedError("BatchNorm in the AAE encoder: not present in mdlearn 1.0.5; not supported")
        else:
            raise ValueError(f"unexpected module in Conv1dEncoder.conv: {mod}")
    layer_sequence.append("max over points (dim=2)")
    n_dense = 0
    widths = []
    for mod in enc.fc:
        if isinstance(mod, nn.Linear):
            tensors[f"dense.{n_dense}.weight"] = mod.weight.detach().cpu().float().numpy()
            tensors[f"dense.{n_dense}.bias"] = mod.bias.detach().cpu().float().numpy()
            widths.append(int(mod.out_features))
            layer_sequence.append(f"Linear(in={mod.in_features}, out={mod.out_features})")
            n_dense += 1
        elif note_act(mod):
            pass
        else:
            raise ValueError(f"unexpected module in Conv1dEncoder.fc: {mod}")
    tensors["mu.weight"] = enc.mu.weight.detach().cpu().float().numpy()
    tensors["mu.bias"] = enc.mu.bias.detach().cpu().float().numpy()
    layer_sequence.append(f"mu = Linear(in={enc.mu.in_features}, out={enc.mu.out_features}) [no activation]")

    lengths = [int(enc.num_points)]
    for k in kernels:
        lengths.append(lengths[-1] - k + 1)
    if lengths[-1] < 1:
        raise ValueError(f"num_points {enc.num_points} too small for kernels {kernels}")

    config = {
        "kind": "aae",
        "source": "mdlearn AAE3d (encoder = mdlearn.nn.modules.conv1d_encoder.Conv1dEncoder)",
        "num_points": int(enc.num_points),
        "num_features": int(enc.num_features),
        "in_channels": 3 + int(enc.num_features),
        "filters": filters,
        "kernels": kernels,
        "strides": [1] * n_conv,
        "paddings": [0] * n_conv,
        "relu_after": relu_after,
        "conv_output_lengths": lengths[1:],
        "pooling": "max over the points axis (torch: output.max(dim=2)[0])",
        "affine_widths": widths,
        "activation_after_dense": [True] * n_dense,
        "latent_dim": int(enc.latent_dim),
        "activation": act_name,
        "relu_slope": float(slope if act_name == "LeakyReLU" else 0.0),
        "conv_bias": bool(enc.bias),
        "batchnorm": "none (mdlearn 1.0.5 Conv1dEncoder has no BatchNorm layers; nothing folded)",
        "dropout": "none",
        "eval_mode": True,
        "forward": FORWARD_AAE,
        "layer_sequence": layer_sequence,
        "tensor_names": sorted(tensors),
        "dtype": "float32",
        "input_convention": (
            "DeepDriveMD point_cloud: CA positions in Angstrom, one example = [3, num_points] (x,y,z rows, "
            "residue order along columns). DeepDriveMD stores raw (uncentred) positions; mdlearn's optional "
            "cms_transform subtracts the per-example centroid and then applies a dataset-wide (x - bias) * scale. "
            "The encoder itself applies no preprocessing."),
        "mdlearn_constructor": {k: v for k, v in cfg.items()},
    }
    write_model_dir(out_dir, config, tensors)
    return config, tensors


def export_aae(config_path, state_dict_path, out_dir) -> tuple[dict, dict]:
    with open(config_path) as f:
        cfg = json.load(f)
    model = build_model(cfg)
    model.load_state_dict(load_state_dict(state_dict_path))
    return export_aae_model(model, cfg, out_dir)


def numpy_forward(config: dict, tensors: dict, x: np.ndarray) -> np.ndarray:
    """float64 reference of the forward pass documented in config['forward']."""
    slope = config["relu_slope"] if config["activation"] == "LeakyReLU" else 0.0

    def act(v):
        return np.where(v >= 0, v, v * slope)

    h = x.astype(np.float64)
    for i, k in enumerate(config["kernels"]):
        w = tensors[f"conv.{i}.weight"].astype(np.float64)
        b = tensors[f"conv.{i}.bias"].astype(np.float64)
        lo = h.shape[2] - k + 1
        out = np.zeros((h.shape[0], w.shape[0], lo))
        for t in range(k):
            out += np.einsum("bcl,oc->bol", h[:, :, t:t + lo], w[:, :, t], optimize=True)
        h = out + b[None, :, None]
        if config["relu_after"][i]:
            h = act(h)
    h = h.max(axis=2)
    for j in range(len(config["affine_widths"])):
        h = act(h @ tensors[f"dense.{j}.weight"].astype(np.float64).T + tensors[f"dense.{j}.bias"])
    return h @ tensors["mu.weight"].astype(np.float64).T + tensors["mu.bias"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="mdlearn AAE3d constructor args (JSON)")
    p.add_argument("--state-dict", required=True, help="torch.save(model.state_dict()) of the full AAE3d")
    p.add_argument("--out", required=True, help="output directory")
    a = p.parse_args(argv)
    config, tensors = export_aae(a.config, a.state_dict, a.out)
    print(f"wrote {os.path.join(a.out, 'config.json')} and model.safetensors "
          f"({sum(v.size for v in tensors.values())} params)")


if __name__ == "__main__":
    main()
