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

Before anything is copied, the QA part of the promotion rule (docs/training.md, "Promotion rule":
no QA check lost) is run: scripts/train/qa-gate.ts on the card as it will ship (sampler defaults
and all, written for the run beside the candidate's weights) against the shipped model of its
modality, with --qa-gate-args passed on (e.g. "--threads 1 --baseline-json models/eval/qa-ct.json").
A lost check refuses the promotion unless --accept-qa-loss "<reason>" is given; the gate's result
(baseline, command, lost, lost-not-firm and gained checks, and the reason when one was accepted)
goes into the card as training.qaGate. A gate that cannot compare (exit 2) always refuses.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import tempfile

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
    ap.add_argument("--accept-qa-loss", default=None, metavar="REASON",
                    help="ship even though the QA gate lost checks; the reason and the lost checks go into the card (training.qaGate)")
    ap.add_argument("--qa-gate-args", default="",
                    help='further options for scripts/train/qa-gate.ts, e.g. "--threads 1 --baseline-json models/eval/qa-ct.json"')
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
    # The card's settings as they will ship come first, so that the QA gate runs the model as shipped;
    # the files are copied only once it has passed (or its loss was accepted).
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
    card["training"]["qaGate"] = qa_gate(card, src_dir, a)
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
    with open(os.path.join(out_dir, f"{a.name}.json"), "w") as f:
        json.dump(card, f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"shipped {src_name} as models/{a.name}.onnx with sampler {sampler}")
    if "passCost" not in card.get("quality", {}):
        # The server's compute bound (serve --max-job-passes) weighs a network by quality.passCost and
        # counts a card without it at 16 lowdose-ct pixels a pixel (src/pipeline/compute-budget.ts):
        # safe, but jobs on this model are refused long before they cost what the bound allows.
        print(f"quality.passCost not measured for {a.name}: the server's compute bound counts each of its pixels as 16; "
              f"measure it with `npx tsx scripts/bench/pass-cost.ts --model {a.name}` (on a quiet machine) and put the printed block into models/{a.name}.json")


def qa_gate(card: dict, src_dir: str, a) -> dict:
    """Runs scripts/train/qa-gate.ts on `card` as it will ship; returns the card's training.qaGate
    block, or exits when a check is lost without --accept-qa-loss or the gate cannot compare."""
    extra = shlex.split(a.qa_gate_args)
    # The card as it will ship, beside the candidate's weights (its onnx paths are relative to it).
    fd, gate_card = tempfile.mkstemp(prefix=f".{card['name']}-qa-gate-", suffix=".json", dir=src_dir)
    fd_json, gate_json = tempfile.mkstemp(prefix="qa-gate-", suffix=".json")
    os.close(fd_json)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(card, f, indent=2, allow_nan=False)
        tsx = os.path.join(REPO, "node_modules", ".bin", "tsx")
        rc = subprocess.call([tsx, os.path.join("scripts", "train", "qa-gate.ts"), "--model", gate_card, *extra, "--json", gate_json], cwd=REPO)
        if rc not in (0, 1):
            raise SystemExit(f"the QA gate could not compare the candidate with the baseline (exit {rc}); nothing was promoted")
        result = json.load(open(gate_json))
    finally:
        os.remove(gate_card)
        os.remove(gate_json)
    baseline = result["baselineSource"]
    block = {"baseline": os.path.relpath(baseline, REPO) if baseline.startswith(REPO + os.sep) else baseline,
             "command": " ".join(["npx tsx scripts/train/qa-gate.ts --model", shlex.quote(os.path.relpath(os.path.abspath(a.card), REPO)), *map(shlex.quote, extra)]),
             "lost": result["lost"], "lostNotFirm": result["lostNotFirm"], "gained": result["gained"]}
    if result["lost"]:
        if not a.accept_qa_loss:
            raise SystemExit(f"QA gate: the candidate loses {len(result['lost'])} check(s) the shipped model passes: "
                             f"{', '.join(result['lost'])}; nothing was promoted (ship anyway with --accept-qa-loss \"<reason>\")")
        block["reason"] = a.accept_qa_loss
        print(f"QA gate: {len(result['lost'])} lost check(s) accepted: {a.accept_qa_loss}")
    elif a.accept_qa_loss:
        print("QA gate: no check lost, so --accept-qa-loss is not recorded")
    return block


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
