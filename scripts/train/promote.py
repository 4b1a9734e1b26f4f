#!/usr/bin/env python3
"""Ships a trained candidate under the model's public name: copies <dir>/<candidate>.onnx and its
card to models/<name>.onnx / .json (card `name` and `onnx` rewritten, sampler defaults set from
the validation choice) and its checkpoint to .cache/checkpoints/<name>.pt for evaluate.py.

  /usr/bin/python3 scripts/train/promote.py .cache/candidates/lowdose-ct-sample.json lowdose-ct \
      --sampler ddim --steps 1 [--strength 0.2] [--reason "..."]
"""
import argparse
import json
import os
import shutil

from data import CACHE, REPO


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("card")
    ap.add_argument("name")
    ap.add_argument("--sampler", choices=["ddim", "ddpm", "warm-start"], required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--strength", type=float, default=None)
    ap.add_argument("--reason", default=None, help="why this formulation / sampler (goes into the card)")
    a = ap.parse_args()
    card = json.load(open(a.card))
    src_name = card["name"]
    src_dir = os.path.dirname(os.path.abspath(a.card))
    out_dir = os.path.join(REPO, "models")
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(os.path.join(src_dir, card["onnx"]), os.path.join(out_dir, f"{a.name}.onnx"))
    ck = os.path.join(CACHE, "checkpoints")
    shutil.copyfile(os.path.join(ck, f"{src_name}.pt"), os.path.join(ck, f"{a.name}.pt"))
    card["name"] = a.name
    card["onnx"] = f"{a.name}.onnx"
    sampler = {"default": a.sampler, "steps": a.steps, "eta": 0.0, "spacing": "trailing"}
    if a.sampler == "warm-start":
        sampler["strength"] = a.strength
    card["sampler"] = sampler
    card["training"]["trainedAs"] = src_name
    if a.reason:
        card["training"]["formulationChoice"] = a.reason
    with open(os.path.join(out_dir, f"{a.name}.json"), "w") as f:
        json.dump(card, f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"shipped {src_name} as models/{a.name}.onnx with sampler {sampler}")


if __name__ == "__main__":
    main()
