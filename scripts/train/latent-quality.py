#!/usr/bin/env python3
"""Writes a shipped latent model's card `quality` block from the measurements of docs/latent.md, so
the card itself says what the model reaches and where it falls short: per test set and step count,
PSNR / SSIM / soft-tissue noise SD / bias of the model, of the untouched input and of the pixel-space
model trained for the same CPU time, the sets where the model is below the input or below that
pixel model (PSNR, at the card's default steps), and optionally the QA phantom checks and the CPU
speed and memory of both.

  /usr/bin/python3 scripts/train/latent-quality.py models/lowdose-ct-latent.json \
      --eval docs/experiments/latent/eval-latent-s2d-1240.json --pixel docs/experiments/latent/eval-pixel-1240.json \
      [--qa docs/experiments/latent/qa-1240.json] [--bench-latent bench.json --bench-pixel bench.json] [--cpu-seconds 1240]

--eval / --pixel: scripts/train/latent-eval.ts outputs at the card's sampler (the latent / the pixel model
of each file is used, so one file holding both may be given twice; the input rows from --eval);
--sweep-eval / --sweep-pixel: the same at 1, 2, 4, 8 steps (stored as quality.stepSweep);
--qa: `lowdose qa --json` outputs merged by tag (<latent|pixel>-<steps>); --bench-*: `lowdose bench --json`.
"""
import argparse
import json


def one_model(path, space):
    """The one model of that space ("latent" / "pixel") in a latent-eval.ts result."""
    r = json.load(open(path))
    found = [(n, m) for n, m in r["models"].items() if m.get("space", "pixel") == space]
    if len(found) != 1:
        raise SystemExit(f"{path}: expected one {space} model, found {list(r['models'])}")
    (name, m), = found
    return r, name, m


def per_steps(ev, latent, pixel):
    steps = {}
    for s, run in latent["steps"].items():
        steps[s] = {}
        for group, g in run["groups"].items():
            row = {**summary(g), "input": summary(ev["input"][group])}
            p = pixel["steps"].get(s, {}).get("groups", {}).get(group)
            if p:
                row["pixelSameBudget"] = summary(p)
            steps[s][group] = row
    return steps


def summary(g):
    return {"psnr": round(g["psnr"]["hu"], 2), "ssim": round(g["ssim"]["hu"], 4), "noiseSdHu": round(g["roiSd"], 1),
            "biasHu": round(g["bias"]["soft"], 1)}


def qa_values(d):
    c = {x["name"]: x["value"] for x in d["checks"]}
    hu = {k.rsplit("/", 1)[1]: round(v, 1) for k, v in c.items() if k.startswith("acr/dose25/hu-error/") and v is not None}
    pick = lambda k: None if c.get(k) is None else round(c[k], 3)
    return {"acrMtf50Ratio": pick("acr/dose25/mtf50-ratio"), "acrHuErrorHu": hu,
            "acrNoiseReduction": pick("acr/dose25/noise-reduction"), "waterNoiseReduction": pick("water/dose25/noise-reduction"),
            "waterNpsPeakShift": pick("water/dose25/nps-peak-shift")}


def bench_values(path):
    b = json.load(open(path))
    return {"device": b["device"], "size": b["size"], "threads": b.get("threads"),
            "msPerSlice": {str(r["steps"]): r["msPerSlice"] for r in b["runs"] if r["batch"] == 1},
            "peakRssMb": max(r.get("peakRssMb", b["peakRssMb"]) for r in b["runs"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("card")
    ap.add_argument("--eval", required=True)
    ap.add_argument("--pixel", required=True)
    ap.add_argument("--sweep-eval", default=None, help="latent-eval.ts result of the latent model at several step counts (another strength)")
    ap.add_argument("--sweep-pixel", default=None, help="the same for the pixel model")
    ap.add_argument("--qa", default=None)
    ap.add_argument("--bench-latent", default=None)
    ap.add_argument("--bench-pixel", default=None)
    ap.add_argument("--cpu-seconds", type=float, default=None, help="the training budget of both models")
    a = ap.parse_args()
    card = json.load(open(a.card))
    ev, _, latent = one_model(a.eval, "latent")
    _, pixel_name, pixel = one_model(a.pixel, "pixel")
    default_steps = str(card["sampler"]["steps"])
    steps = per_steps(ev, latent, pixel)
    at_default = steps[default_steps]
    below_input = [g for g, r in at_default.items() if r["psnr"] < r["input"]["psnr"]]
    below_pixel = [g for g, r in at_default.items() if "pixelSameBudget" in r and r["psnr"] < r["pixelSameBudget"]["psnr"]]
    budget = f"{a.cpu_seconds:,.0f} CPU seconds" if a.cpu_seconds else "the same CPU time"
    status = (f"Research model, not the default. Trained for {budget} on one thread of a shared 2-core CPU, as was the pixel-space "
              f"model it is compared with ({pixel_name}, same data and loss). At its default ({default_steps} step) it is below the "
              f"untouched input in PSNR on {len(below_input)} of {len(at_default)} test sets"
              + (f" ({', '.join(below_input)})" if below_input else "")
              + f" and below the pixel model of the same budget on {len(below_pixel)} of {len(at_default)}"
              + (f" ({', '.join(below_pixel)})" if below_pixel else "")
              + ". What it offers is speed and memory (docs/latent.md).")
    quality = {
        "status": status,
        "evaluatedOn": list(at_default.keys()),
        "metrics": "PSNR / SSIM in [-1000, 1000] HU, mean over slices; noiseSdHu / biasHu: SD and mean error in soft-tissue ROIs "
                   "placed on the reference (scripts/train/latent-eval.ts); seed 0, dose given, consistency off",
        "command": ev["command"],
        "pixelCommand": json.load(open(a.pixel))["command"],
        "comparedWith": f"{pixel_name}: the pixel-space UNet (train.py, cpu-small) trained for {budget} with the same data and loss",
        "belowInput": below_input,
        "belowPixelSameBudget": below_pixel,
        "steps": steps,
    }
    if a.sweep_eval and a.sweep_pixel:
        sev, _, slat = one_model(a.sweep_eval, "latent")
        _, _, spix = one_model(a.sweep_pixel, "pixel")
        quality["stepSweep"] = {"strength": slat["sampler"].get("strength"), "command": sev["command"],
                                "pixelCommand": json.load(open(a.sweep_pixel))["command"], "steps": per_steps(sev, slat, spix)}
    if a.qa:
        q = json.load(open(a.qa))
        quality["qa"] = {"command": q.get("command"), **{tag: qa_values(d) for tag, d in q.items() if tag != "command"}}
    if a.bench_latent and a.bench_pixel:
        quality["speed"] = {"latent": bench_values(a.bench_latent), "pixelSameBudget": bench_values(a.bench_pixel)}
    # passCost (scripts/bench/pass-cost.ts, read by the server's compute bound) is another script's record: kept.
    if "passCost" in card.get("quality", {}):
        quality["passCost"] = card["quality"]["passCost"]
    card["quality"] = quality
    with open(a.card, "w") as fh:
        json.dump(card, fh, indent=2, allow_nan=False)
        fh.write("\n")
    print(status)


if __name__ == "__main__":
    main()
