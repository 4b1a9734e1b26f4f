#!/usr/bin/env python3
"""Measure a trained model on held-out volumes (written by export-dataset.ts into .cache/eval).

  /usr/bin/python3 scripts/train/evaluate.py --modality CT [--stride 2] [--write-card]

Metrics follow docs/contract.md: PSNR and SSIM in modality units clipped to CT [-1000, 1000] HU
or PET [0, max of the reference volume] SUV with data_range = the range's width; SSIM is
scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False);
RMSE in modality units (unclipped). Noise std = median 7x7 local standard deviation of the image
inside flat regions of the reference; bias = mean(image - reference) inside the same regions.

Methods: the low-dose input, a Gaussian filter whose sigma is tuned (best PSNR) on the validation
volume at each dose, the toolkit's bilateral and non-local-means filters when their outputs exist
(scripts/train/classical-eval.ts, strength tuned on the same validation volume), the shipped model
at its card's default through the toolkit when its outputs exist (`card default`:
scripts/train/card-outputs.ts, measurement consistency included), and the network with several
samplers / step counts (seed 0; this sampler has no consistency step). Writes
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
from model import from_checkpoint

DOSES = [0.25, 0.10]
CLASSICAL = ["bilateral", "nlm"]
# The shipped model at its card's default through the toolkit (scripts/train/card-outputs.ts): the
# card's sampler with its measurement-consistency step, which the PyTorch sampler below lacks.
CARD_DEFAULT = ("card", "card default")
# `quality` blocks that other scripts write (see --write-card).
KEPT_QUALITY_BLOCKS = ("lesionRecovery", "fullDoseTexture", "passCost")


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
        if not any(k in r for r in rows):
            continue
        vals = [r[k] for r in rows if k in r and np.isfinite(r[k])]
        # JSON has no Infinity: identical images (PSNR = inf) count as null, as in CONTRACT's metrics.
        out[k] = float(np.mean(vals)) if vals else None
    out["slices"] = len(rows)
    return out


def load_eval(modality, name, stride):
    vol = load_volume(os.path.join(CACHE, "eval", modality, name))
    sel = slice(None, None, stride)
    f = vol["meta"].get("suvFactor", 1.0)
    res = {"name": name, "low": {}, "refs": {}}
    for d in DOSES:
        k = f"{int(round(d * 100)):03d}"
        res["low"][d] = vol[f"low{k}"][sel] * f
        # PET: the matched full-count reconstruction of the same events; CT: the normal-dose image.
        res["refs"][d] = vol[f"ref{k}"][sel] * f if f"ref{k}" in vol else vol["clean"][sel] * f
        if f"nblow{k}" in vol:
            nb = vol[f"nblow{k}"][sel] * f
            res.setdefault("stack", {})[d] = np.stack([nb[:, 0], res["low"][d], nb[:, 1]], axis=1)
        for method in CLASSICAL + [CARD_DEFAULT[0]]:
            # Written by classical-eval.ts / card-outputs.ts in the stored units, all exported slices.
            file = os.path.join(CACHE, "eval", modality, name, f"{method}{k}.f32")
            if os.path.exists(file):
                arr = np.fromfile(file, dtype="<f4").reshape(vol["clean"].shape)
                res.setdefault("classical", {}).setdefault(method, {})[d] = arr[sel] * f
    return res


def model_fn(ckpt, norm):
    st = torch.load(ckpt)
    model = from_checkpoint(st).eval()
    model.load_state_dict(st["state"])
    sched = Schedule(st["schedule"], 1000)

    def run(low, dose, mode, steps, strength=1.0, seed=0, dose_known=True, chunk=4):
        outs = []
        for i in range(0, len(low), chunk):
            # low: [S, H, W], or [S, 3, H, W] (below, slice, above) for a 2.5-D model.
            x = torch.from_numpy(np.ascontiguousarray(to_model_units(low[i:i + chunk].astype(np.float32), norm))).float()
            x = x if x.dim() == 4 else x[:, None]
            H, W = x.shape[-2:]
            m = model.multiple_of
            # Like the engine's untiled path: reflect-pad up to a multiple of the network's stride.
            x = torch.nn.functional.pad(x, (0, (-W) % m, 0, (-H) % m), mode="reflect")
            d = torch.full((x.shape[0],), dose if dose_known else 0.0)
            with torch.no_grad():
                y = sample(model, sched, x, d, st["prediction"], steps, mode=mode, strength=strength, seed=seed + i)
            outs.append(from_model_units(y[:, 0, :H, :W].numpy(), norm))
        return np.concatenate(outs)
    return run, st


def shipped_model(name, threads):
    """The card models/<name>.json and a sampler over its checkpoint .cache/checkpoints/<name>.pt,
    with torch set to `threads` threads and denormals flushed (see main)."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    card = json.load(open(os.path.join(REPO, "models", f"{name}.json")))
    run, _ = model_fn(os.path.join(CACHE, "checkpoints", f"{name}.pt"), card["normalization"])
    return card, run


def parse_configs(text):
    """"noise:2" = DDIM from pure noise, 2 steps; "warm0.3:2" = warm start at strength 0.3, 2 steps."""
    out = []
    for c in text.split(","):
        mode, steps = c.split(":")
        strength = 1.0
        if mode.startswith("warm"):
            strength, mode = float(mode[4:]), "warm"
        out.append((c, mode, int(steps), strength))
    return out


def score(method_out, vols, d, modality, with_masks):
    rows = []
    for v, out in zip(vols, method_out):
        ref = v["refs"][d]
        lo, hi = (-1000.0, 1000.0) if modality == "CT" else (0.0, float(ref.max()))
        for i in range(len(ref)):
            mask = flat_mask(ref[i], modality) if with_masks else np.zeros((1, 1), bool)
            rows.append(slice_metrics(out[i], ref[i], lo, hi, mask))
    return summarise(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=["CT", "PT"], required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--card", default=None, help="card to read (default models/<name>.json)")
    ap.add_argument("--ckpt", default=None, help="checkpoint (default .cache/checkpoints/<name>.pt)")
    ap.add_argument("--stride", type=int, default=1, help="use every n-th exported slice (speed)")
    ap.add_argument("--configs", default="noise:1,noise:2,noise:4,warm0.2:1,warm0.4:2")
    ap.add_argument("--skip-test", action="store_true", help="validation only (sampler / formulation choice)")
    ap.add_argument("--write-card", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    # Near-zero weights (zero-initialised output layers) produce denormals, which are ~100x slower on x86.
    torch.set_flush_denormal(True)
    name = a.name or ("lowdose-ct" if a.modality == "CT" else "lowdose-pet")
    ckpt = a.ckpt or os.path.join(CACHE, "checkpoints", f"{name}.pt")
    card_path = a.card or os.path.join(REPO, "models", f"{name}.json")
    card = json.load(open(card_path))
    split = card["training"]["split"]
    norm = card["normalization"]
    run, st = model_fn(ckpt, norm)
    configs = parse_configs(a.configs)

    def condition(v, d):
        """The model's condition: the low-dose slice, or [below, slice, above] for a 2.5-D model."""
        if st.get("condChannels", 1) == 1:
            return v["low"][d]
        if "stack" not in v:
            raise SystemExit(f"{v['name']}: no neighbour slices; run export-dataset ct-neighbours eval")
        return v["stack"][d]
    t_start = time.time()

    def score_methods(vols, d, sigma, with_masks, label):
        """Rows for the input, the Gaussian at `sigma`, the toolkit filters (when exported) and every sampler configuration."""
        rows = {f"input@{d}": score([v["low"][d] for v in vols], vols, d, a.modality, with_masks),
                f"gaussian@{d}": score([np.stack([ndimage.gaussian_filter(x, sigma) for x in v["low"][d]]) for v in vols], vols, d, a.modality, with_masks)}
        for method in CLASSICAL:
            if all(method in v.get("classical", {}) for v in vols):
                rows[f"{method}@{d}"] = score([v["classical"][method][d] for v in vols], vols, d, a.modality, with_masks)
        card_file, card_label = CARD_DEFAULT
        if all(card_file in v.get("classical", {}) for v in vols):
            rows[f"{card_label}@{d}"] = score([v["classical"][card_file][d] for v in vols], vols, d, a.modality, with_masks)
        for c, mode, steps, strength in configs:
            rows[f"{c}@{d}"] = score([run(condition(v, d), d, mode, steps, strength) for v in vols], vols, d, a.modality, with_masks)
            print(label, c, d, {k: (None if x is None else round(x, 4)) for k, x in rows[f"{c}@{d}"].items()}, flush=True)
        return rows

    # 1. Validation: Gaussian sigma per dose, and every sampler configuration.
    val = [load_eval(a.modality, n, a.stride) for n in split["validation"]]
    sigmas, val_rows = {}, {}
    for d in DOSES:
        best = None
        for sg in [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0]:
            m = score([np.stack([ndimage.gaussian_filter(x, sg) for x in v["low"][d]]) for v in val], val, d, a.modality, False)
            if best is None or m["psnr"] > best[1]:
                best = (sg, m["psnr"])
        sigmas[d] = best[0]
        val_rows.update(score_methods(val, d, sigmas[d], False, "val"))
    print("gaussian sigma (val):", sigmas, flush=True)
    result = {"modality": a.modality, "model": name, "prediction": st["prediction"], "doses": DOSES,
              "gaussianSigmaFromValidation": sigmas, "validation": val_rows,
              "validationVolumes": split["validation"], "sliceStride": a.stride}
    classical_file = os.path.join(CACHE, "eval", a.modality, "classical.json")
    if os.path.exists(classical_file):
        tuned = json.load(open(classical_file))["tuned"]
        result["classicalFromValidation"] = {
            d: {"bilateralRangeFactor": t["bilateral"]["best"], "nlmHFactor": t["nlm"]["best"]} for d, t in tuned.items()}

    # 2. Test: input, Gaussian (validation sigma), every configuration, and unknown dose.
    if not a.skip_test:
        test = [load_eval(a.modality, n, a.stride) for n in split["test"]]
        table = {}
        for d in DOSES:
            table.update(score_methods(test, d, sigmas[d], True, "test"))
            c, mode, steps, strength = configs[0]
            table[f"{c} unknown dose@{d}"] = score([run(condition(v, d), d, mode, steps, strength, dose_known=False) for v in test], test, d, a.modality, True)
            table[f"reference@{d}"] = score([v["refs"][d] for v in test], test, d, a.modality, True)
        result.update({"test": table, "testVolumes": split["test"]})
    result["seconds"] = round(time.time() - t_start, 1)
    out_path = a.out or os.path.join(CACHE, "eval", a.modality, f"results-{name}.json")
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2, allow_nan=False)
    print("wrote", out_path)
    if a.write_card and not a.skip_test:
        # Re-read: the run takes many minutes, and the card may have been edited meanwhile (session 5
        # lost a hand-merged training block to the copy read at the start).
        card = json.load(open(card_path))
        # Blocks other scripts write into `quality` (lesionRecovery: scripts/evaluate/lesion-recovery-card.ts;
        # fullDoseTexture: scripts/experiments/texture-transfer.ts; passCost: scripts/bench/pass-cost.ts,
        # which the server's compute bound reads) are kept, not this run's to drop.
        kept = {k: v for k, v in card.get("quality", {}).items() if k in KEPT_QUALITY_BLOCKS}
        card["quality"] = {"evaluatedOn": split["test"], "doses": DOSES, "sliceStride": a.stride, "seed": 0,
                           "metrics": "CONTRACT conventions (PSNR/SSIM clipped CT [-1000,1000] HU, PET [0, max ref]); noise = median 7x7 local std in flat regions; bias = mean(out - ref) there",
                           "command": f"/usr/bin/python3 scripts/train/evaluate.py --modality {a.modality} --stride {a.stride} --configs {a.configs} --write-card"
                                      + (f" (the `{CARD_DEFAULT[1]}` rows: npx tsx scripts/train/card-outputs.ts {a.modality} first)" if any(k.startswith(CARD_DEFAULT[1] + "@") for k in result["test"]) else "")
                                      + " (all of it: scripts/evaluate/run.sh)",
                           "test": result["test"], "gaussianSigmaFromValidation": sigmas,
                           **({"classicalFromValidation": result["classicalFromValidation"]} if "classicalFromValidation" in result else {}),
                           **kept}
        with open(card_path, "w") as f:
            json.dump(card, f, indent=2, allow_nan=False)
            f.write("\n")


if __name__ == "__main__":
    main()
