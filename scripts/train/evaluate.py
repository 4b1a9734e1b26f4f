#!/usr/bin/env python3
"""Measure a trained model on held-out volumes (written by export-dataset.ts into .cache/eval).

  /usr/bin/python3 scripts/train/evaluate.py --modality CT [--stride 2] [--write-card]

Metrics follow ../shared/CONTRACT.md: PSNR and SSIM in modality units clipped to CT [-1000, 1000] HU
or PET [0, max of the reference volume] SUV with data_range = the range's width; SSIM is
scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False);
RMSE in modality units (unclipped). Noise std = median 7x7 local standard deviation of the image
inside flat regions of the reference; bias = mean(image - reference) inside the same regions.

Methods: the low-dose input, a Gaussian filter whose sigma is tuned (best PSNR) on the validation
volume at each dose, and the model with several samplers / step counts (seed 0). Writes
.cache/eval/<MOD>/results.json and, with --write-card, the `quality` block of models/<name>.json.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from scipy import ndimage
from skimage.metrics import structural_similarity

from data import CACHE, REPO, from_model_units, load_volume, to_model_units
from diffusion import Schedule, sample
from model import CondUNet

DOSES = [0.25, 0.10]


def flat_mask(ref: np.ndarray, modality: str) -> np.ndarray:
    sm = ndimage.gaussian_filter(ref, 1.5)
    m = ndimage.uniform_filter(sm, 7)
    sd = np.sqrt(np.maximum(ndimage.uniform_filter(sm * sm, 7) - m * m, 0))
    if modality == "CT":
        mask = (sd < 8) & (m > -150) & (m < 250)
    else:
        mask = (sd < 0.08 * m) & (m > 0.5)
    return ndimage.binary_erosion(mask, iterations=3)


def local_std(img: np.ndarray) -> np.ndarray:
    m = ndimage.uniform_filter(img, 7)
    return np.sqrt(np.maximum(ndimage.uniform_filter(img * img, 7) - m * m, 0))


def slice_metrics(img, ref, rng_lo, rng_hi, mask):
    a = np.clip(img, rng_lo, rng_hi).astype(np.float64)
    b = np.clip(ref, rng_lo, rng_hi).astype(np.float64)
    R = rng_hi - rng_lo
    mse = np.mean((a - b) ** 2)
    psnr = 10 * np.log10(R * R / mse) if mse > 0 else float("inf")
    ssim = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=R)
    rmse = float(np.sqrt(np.mean((img.astype(np.float64) - ref) ** 2)))
    out = {"psnr": psnr, "ssim": ssim, "rmse": rmse}
    if mask.sum() > 50:
        out["noise"] = float(np.median(local_std(img)[mask]))
        out["bias"] = float(np.mean((img - ref)[mask]))
        out["flatPixels"] = int(mask.sum())
    return out


def summarise(rows):
    keys = ["psnr", "ssim", "rmse", "noise", "bias"]
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r]
        if vals:
            out[k] = float(np.mean(vals))
    out["slices"] = len(rows)
    return out


def load_eval(modality, name, stride):
    vol = load_volume(os.path.join(CACHE, "eval", modality, name))
    sel = slice(None, None, stride)
    f = vol["meta"].get("suvFactor", 1.0)
    res = {"name": name, "ref": vol["clean"][sel] * f, "low": {}}
    for d in DOSES:
        res["low"][d] = vol[f"low{int(round(d * 100)):03d}"][sel] * f
    return res


def model_fn(ckpt, norm, modality):
    st = torch.load(ckpt)
    model = CondUNet(st["channels"], prediction=st["prediction"]).eval()
    model.load_state_dict(st["state"])
    sched = Schedule(st["schedule"], 1000)

    def run(low, dose, mode, steps, strength=1.0, seed=0, dose_known=True):
        x = torch.from_numpy(to_model_units(low.astype(np.float32), norm))[:, None].float()
        d = torch.full((x.shape[0],), dose if dose_known else 0.0)
        with torch.no_grad():
            y = sample(model, sched, x, d, st["prediction"], steps, mode=mode, strength=strength, seed=seed)
        return from_model_units(y[:, 0].numpy(), norm)
    return run, st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=["CT", "PT"], required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--stride", type=int, default=1, help="use every n-th exported slice (speed)")
    ap.add_argument("--configs", default="noise:1,noise:2,noise:4,warm0.3:1,warm0.3:2,warm0.5:2,warm0.5:4")
    ap.add_argument("--write-card", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    name = a.name or ("lowdose-ct" if a.modality == "CT" else "lowdose-pet")
    ckpt = os.path.join(CACHE, "checkpoints", f"{name}.pt")
    card_path = os.path.join(REPO, "models", f"{name}.json")
    card = json.load(open(card_path))
    split = card["training"]["split"]
    norm = card["normalization"]
    run, st = model_fn(ckpt, norm, a.modality)
    t_start = time.time()

    def rng_of(ref):
        return (-1000.0, 1000.0) if a.modality == "CT" else (0.0, float(ref.max()))

    # 1. Gaussian sigma tuned on validation, per dose.
    val = [load_eval(a.modality, n, a.stride) for n in split["validation"]]
    sigmas = {}
    for d in DOSES:
        best = None
        for s in [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]:
            ps = []
            for v in val:
                lo, hi = rng_of(v["ref"])
                for i in range(len(v["ref"])):
                    f = ndimage.gaussian_filter(v["low"][d][i], s)
                    ps.append(slice_metrics(f, v["ref"][i], lo, hi, np.zeros((1, 1), bool))["psnr"])
            m = float(np.mean(ps))
            if best is None or m > best[1]:
                best = (s, m)
        sigmas[d] = best[0]
    print("gaussian sigma (val):", sigmas, flush=True)

    configs = []
    for c in a.configs.split(","):
        mode, steps = c.split(":")
        strength = 1.0
        if mode.startswith("warm"):
            strength = float(mode[4:])
            mode = "warm"
        configs.append((c, mode, int(steps), strength))

    # 2. Validation table for the sampler choice (model only).
    val_rows = {}
    for c, mode, steps, strength in configs + [("noise:1-unknown-dose", "noise", 1, 1.0)]:
        for d in DOSES:
            rows = []
            for v in val:
                lo, hi = rng_of(v["ref"])
                out = run(v["low"][d], d, mode, steps, strength, dose_known=not c.endswith("unknown-dose"))
                for i in range(len(v["ref"])):
                    rows.append(slice_metrics(out[i], v["ref"][i], lo, hi, np.zeros((1, 1), bool)))
            val_rows[f"{c}@{d}"] = summarise(rows)
            print("val", c, d, val_rows[f"{c}@{d}"], flush=True)

    # 3. Test table.
    test = [load_eval(a.modality, n, a.stride) for n in split["test"]]
    methods = [("input", None), ("gaussian", None)] + [(c, cfg) for c, *cfg in
                                                      [(c[0], c[1], c[2], c[3]) for c in configs]]
    methods.append(("noise:1-unknown-dose", ("noise", 1, 1.0)))
    table = {}
    for mname, cfg in methods:
        for d in DOSES:
            rows = []
            for v in test:
                lo, hi = rng_of(v["ref"])
                mask = [flat_mask(v["ref"][i], a.modality) for i in range(len(v["ref"]))]
                if mname == "input":
                    out = v["low"][d]
                elif mname == "gaussian":
                    out = np.stack([ndimage.gaussian_filter(x, sigmas[d]) for x in v["low"][d]])
                else:
                    mode, steps, strength = cfg
                    out = run(v["low"][d], d, mode, steps, strength, dose_known=not mname.endswith("unknown-dose"))
                for i in range(len(v["ref"])):
                    rows.append(slice_metrics(out[i], v["ref"][i], lo, hi, mask[i]))
            table[f"{mname}@{d}"] = summarise(rows)
            print("test", mname, d, table[f"{mname}@{d}"], flush=True)
    ref_noise = summarise([slice_metrics(v["ref"][i], v["ref"][i], *rng_of(v["ref"]), flat_mask(v["ref"][i], a.modality))
                           for v in test for i in range(len(v["ref"]))]).get("noise")
    result = {"modality": a.modality, "model": name, "doses": DOSES, "gaussianSigmaFromValidation": sigmas,
              "validation": val_rows, "test": table, "referenceNoise": ref_noise,
              "testVolumes": split["test"], "validationVolumes": split["validation"],
              "sliceStride": a.stride, "seconds": round(time.time() - t_start, 1)}
    out_path = os.path.join(CACHE, "eval", a.modality, "results.json")
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", out_path)
    if a.write_card:
        card["quality"] = {"evaluatedOn": split["test"], "doses": DOSES, "sliceStride": a.stride,
                           "seed": 0, "metrics": "CONTRACT conventions; see models/README.md",
                           "test": table, "gaussianSigmaFromValidation": sigmas, "referenceNoise": ref_noise}
        with open(card_path, "w") as f:
            json.dump(card, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
