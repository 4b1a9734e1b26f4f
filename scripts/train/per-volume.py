#!/usr/bin/env python3
"""The test table of evaluate.py split by held-out volume, with each volume's reconstruction kernel:
a pooled mean can hide a volume on which a method is worse than doing nothing.

  /usr/bin/python3 scripts/train/per-volume.py --modality CT [--stride 2] [--threads 2] \
      [--out models/eval/ct-per-volume.json] > models/eval/ct-per-volume.md

Methods: the low-dose input, the toolkit's bilateral and NLM (classical-eval.ts outputs, tuned on
validation), and the model with its card's default sampler (seed 0). Metrics as evaluate.py
(CONTRACT conventions; noise / bias in the reference's flat regions). The validation volume is
listed too (stride 1), marked as such.
"""
import argparse
import json
import os

from data import CACHE, REPO
from evaluate import CLASSICAL, DOSES, load_eval, score, shipped_model

SHARED = os.environ.get("LOWDOSE_SHARED", os.path.join(REPO, "..", "shared"))


def sidecar(modality, name):
    """Acquisition facts of a shared volume (kernel, manufacturer), or {} when absent."""
    folder = "ct" if modality == "CT" else "pet"
    for candidate in (name, name + "-pet"):
        path = os.path.join(SHARED, folder, f"{candidate}.json")
        if os.path.exists(path):
            return json.load(open(path))
    return {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=["CT", "PT"], default="CT")
    ap.add_argument("--name", default=None)
    ap.add_argument("--stride", type=int, default=2, help="test slice stride (as run.sh's evaluate.py)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    name = a.name or ("lowdose-ct" if a.modality == "CT" else "lowdose-pet")
    card, run = shipped_model(name, a.threads)
    s = card["sampler"]
    mode = "warm" if s["default"] == "warm-start" else "noise"
    strength = s.get("strength", 1.0) if mode == "warm" else 1.0
    default = f"model ({s['default']}{f' {strength}' if mode == 'warm' else ''} x {s['steps']})"
    split = card["training"]["split"]
    rows = []
    for part, stride in (("validation", 1), ("test", a.stride)):
        for vol in split[part]:
            v = load_eval(a.modality, vol, stride)
            facts = sidecar(a.modality, vol)
            kernel = f"{facts.get('Manufacturer', '?')} {facts.get('ConvolutionKernel', 'kernel not recorded')}"
            for d in DOSES:
                methods = {"input": v["low"][d]}
                for m in CLASSICAL:
                    if m in v.get("classical", {}):
                        methods[m] = v["classical"][m][d]
                methods[default] = run(v["low"][d], d, mode, s["steps"], strength)
                methods["reference"] = v["refs"][d]
                for m, img in methods.items():
                    r = score([img], [v], d, a.modality, True)
                    rows.append({"volume": vol, "part": part, "kernel": kernel, "dose": d, "method": m, **r})
    out = a.out or os.path.join(CACHE, "eval", a.modality, f"per-volume-{name}.json")
    with open(out, "w") as f:
        json.dump({"model": name, "sampler": s, "testStride": a.stride, "rows": rows}, f, indent=2, allow_nan=False)
        f.write("\n")
    units = "HU" if a.modality == "CT" else "SUV"
    nd = 1 if units == "HU" else 3
    print(f"Per held-out volume, PSNR dB / SSIM / noise {units} (flat regions of the reference); "
          f"`/usr/bin/python3 scripts/train/per-volume.py --modality {a.modality} --stride {a.stride}`\n")
    for d in DOSES:
        print(f"\n{int(d * 100)} % {'dose' if a.modality == 'CT' else 'counts'}:\n")
        names = list(dict.fromkeys(r["method"] for r in rows))
        print("| volume (kernel) | " + " | ".join(names) + " |")
        print("| --- |" + " --- |" * len(names))
        for vol in dict.fromkeys(r["volume"] for r in rows):
            cells = []
            first = None
            for m in names:
                r = next(x for x in rows if x["volume"] == vol and x["dose"] == d and x["method"] == m)
                first = first or r
                psnr = "" if r["psnr"] is None else f"{r['psnr']:.2f}"
                cells.append(f"{psnr} / {r['ssim']:.3f} / {r['noise']:.{nd}f}")
            label = f"{vol} ({first['kernel']}){' (validation)' if first['part'] == 'validation' else ''}"
            print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
