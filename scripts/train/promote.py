#!/usr/bin/env python3
"""Ships a trained candidate under the model's public name: copies <dir>/<candidate>.onnx and its
card to models/<name>.onnx / .json (card `name` and `onnx` rewritten, sampler defaults set from
the validation choice) and its checkpoint to .cache/checkpoints/<name>.pt for evaluate.py.

  /usr/bin/python3 scripts/train/promote.py .cache/candidates/lowdose-ct-sample.json lowdose-ct \
      --sampler ddim --steps 1 [--strength 0.2] [--reason "..."] [--continues models/lowdose-ct.json]

--continues names the card of the model the candidate was resumed from (train.py --resume): its
`stages` list is kept and this run appended as the next stage, so the shipped card lists every
stage that made the weights; iterations and wall time become the totals. When the candidate was
resumed from another candidate that was never shipped, name that one (and any before it, oldest
first) with --via: each becomes a stage of its own between the shipped model's and this run's.
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
    ap.add_argument("--continues", default=None, help="card of the model this candidate continued (keeps its stages)")
    ap.add_argument("--via", action="append", default=[],
                    help="card of an unshipped candidate between --continues and this one (repeatable, oldest first)")
    ap.add_argument("--pixel-spacing-from", default=None,
                    help="card whose pixelSpacing block to copy (a model trained on the same volumes, e.g. models/lowdose-ct.json)")
    a = ap.parse_args()
    card = json.load(open(a.card))
    previous = json.load(open(a.continues)) if a.continues else None
    if a.via and not previous:
        raise SystemExit("--via needs --continues: the shipped model the chain starts from")
    for via_card in a.via:
        via = json.load(open(via_card))
        chained = with_stages(previous["training"], via["training"], via["name"])
        chained["trainedAs"] = via["name"]
        previous = {**previous, "training": chained}
    src_name = card["name"]
    src_dir = os.path.dirname(os.path.abspath(a.card))
    out_dir = os.path.join(REPO, "models")
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(os.path.join(src_dir, card["onnx"]), os.path.join(out_dir, f"{a.name}.onnx"))
    if card.get("space") == "latent":
        # A latent model's encoder and decoder travel with it, renamed after it (docs/latent.md).
        for part in ("encoder", "decoder"):
            target = f"{a.name}-{part}.onnx"
            shutil.copyfile(os.path.join(src_dir, card["latent"][part]["onnx"]), os.path.join(out_dir, target))
            card["latent"][part]["onnx"] = target
    ck = os.path.join(CACHE, "checkpoints")
    shutil.copyfile(os.path.join(ck, f"{src_name}.pt"), os.path.join(ck, f"{a.name}.pt"))
    card["name"] = a.name
    card["onnx"] = f"{a.name}.onnx"
    sampler = {"default": a.sampler, "steps": a.steps, "eta": 0.0, "spacing": "trailing"}
    if a.sampler == "warm-start":
        sampler["strength"] = a.strength
    if previous and "consistency" in previous.get("sampler", {}):
        # The measurement-consistency defaults (strength, scale, threshold) are a sampler choice
        # measured on the phantoms (models/eval/consistency-*.md); they carry over until re-chosen.
        sampler["consistency"] = previous["sampler"]["consistency"]
    card["sampler"] = sampler
    if previous:
        card["training"] = with_stages(previous["training"], card["training"], src_name)
        # The training pixel sizes behind E_PIXEL_SPACING (models/README.md): kept from the model this
        # candidate continues; widen them here when a stage adds data at other pixel sizes.
        if "pixelSpacing" in previous and "pixelSpacing" not in card:
            card["pixelSpacing"] = previous["pixelSpacing"]
    if a.pixel_spacing_from and "pixelSpacing" not in card:
        card["pixelSpacing"] = json.load(open(a.pixel_spacing_from))["pixelSpacing"]
    card["training"]["trainedAs"] = src_name
    if a.reason:
        card["training"]["formulationChoice"] = a.reason
    with open(os.path.join(out_dir, f"{a.name}.json"), "w") as f:
        json.dump(card, f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"shipped {src_name} as models/{a.name}.onnx with sampler {sampler}")


def with_stages(before: dict, run: dict, run_name: str) -> dict:
    """The candidate's training block with the previous model's stages and this run appended."""
    prior = run.get("resumedFrom", {}).get("iterations")
    if prior != before["iterations"]:
        raise SystemExit(f"the candidate resumed from {prior} iterations, the --continues card has {before['iterations']}")
    stage = {"run": run_name, "iterations": run["iterations"] - prior,
             "wallSeconds": round(run["wallSeconds"] - run["resumedFrom"]["wallSeconds"], 1),
             "loss": run["loss"], "lr": run["lr"], "batch": run["batch"], "patch": run["patch"],
             "hardware": run["hardware"], "date": run["date"]}
    for key in ("sharperKernelAugmentation", "realPairs", "samplerWorkers"):
        if key in run:
            stage[key] = run[key]
    out = dict(run)
    out["stages"] = list(before.get("stages", [])) + [stage]
    out["resumedFrom"] = {**run["resumedFrom"], "note": f"{before.get('trainedAs', 'the previous model')}: the stages above"}
    return out


if __name__ == "__main__":
    main()
