#!/usr/bin/env python3
"""Markdown tables of docs/latent.md from the JSON files of its measurements.

  python3 scripts/train/latent-report.py docs/experiments/latent/eval-*.json [--qa .cache/latent-qa]
  python3 scripts/train/latent-report.py --curve 40=curve-40.json 160=curve-160.json 400=eval-latent-s2d.json,eval-pixel.json

Reads latent-eval.ts results (one or more files; models merged, the input row from the first) and,
with --qa, the `lowdose qa --json` outputs named <tag>-<steps>.json in that folder.
--curve: 1-step PSNR of each model (space pixel / latent) against its training CPU seconds, one file per
budget (comma-separated files of one budget are merged), and where the last two budgets of a model are below the input, the budget at which a straight
line in log(CPU seconds) through them would reach the input (an extrapolation, not a measurement).
"""
import glob
import json
import math
import os
import sys


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def cell(groups, names, key, window="hu", digits=2):
    picked = [groups[g] for g in names if g in groups]
    if not picked:
        return "-"
    if key in ("psnr", "ssim"):
        v = mean([p[key][window] for p in picked])
        return f"{v:.{digits if key == 'psnr' else 4}f}"
    if key == "noise":
        return f"{mean([p['roiSd'] for p in picked]):.1f}"
    if key == "bias":
        return f"{mean([p['bias']['soft'] for p in picked]):+.1f}"
    raise KeyError(key)


def curve(specs):
    points = []
    for spec in specs:
        cpu, paths = spec.split("=", 1)
        merged = None
        for path in paths.split(","):  # several files of one budget: their models merged
            r = json.load(open(path))
            if merged is None:
                merged = r
            else:
                merged["models"].update(r["models"])
        points.append((float(cpu), merged))
    points.sort(key=lambda p: p[0])
    first = points[0][1]
    groups = list(first["input"].keys())
    cols = [("simulated test, 25 %", [g for g in groups if g.endswith(" 25 %") and "real" not in g]),
            ("simulated test, 10 %", [g for g in groups if g.endswith(" 10 %") and "real" not in g]),
            ("L192 B30f, real 25 %", [g for g in groups if g.startswith("L192/B30f")]),
            ("L192 D45f, real 25 %", [g for g in groups if g.startswith("L192/D45f")])]
    inp = [float(cell(first["input"], n, "psnr")) for _, n in cols]
    print("| model | training CPU s | " + " | ".join(c for c, _ in cols) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in cols) + " |")
    print("| input | | " + " | ".join(f"{v:.2f}" for v in inp) + " |")
    series = {}
    for cpu, r in points:
        for name, m in r["models"].items():
            if "(strength" in name:
                continue
            space = m.get("space", "pixel")
            g = m["steps"]["1"]["groups"]
            series.setdefault(space, []).append((cpu, [float(cell(g, n, "psnr")) for _, n in cols]))
    for space, rows in series.items():
        for cpu, vals in rows:
            print(f"| {space} | {cpu:.0f} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    print()
    for space, rows in series.items():
        if len(rows) < 2:
            continue
        (c0, v0), (c1, v1) = rows[-2], rows[-1]
        out = []
        for (label, _), a, b, target in zip(cols, v0, v1, inp):
            if b >= target:
                out.append(f"{label}: above the input at {c1:.0f} s")
                continue
            slope = (b - a) / math.log10(c1 / c0)
            if slope <= 0:
                out.append(f"{label}: not rising ({slope:+.2f} dB per decade)")
                continue
            decades = (target - b) / slope
            if decades > 2:  # a flat stretch: any crossing it implies is beyond what this line can say
                out.append(f"{label}: {slope:+.2f} dB per decade of CPU time, flat: no crossing within 100 times {c1:.0f} s on this line")
                continue
            need = c1 * 10 ** decades
            out.append(f"{label}: {slope:+.2f} dB per decade of CPU time, input reached near {need:,.0f} CPU s ({need / 3600:.1f} h)")
        print(f"- {space}: " + "; ".join(out))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--curve":
        curve(args[1:])
        return
    qa_dir = None
    if "--qa" in args:
        i = args.index("--qa")
        qa_dir = args[i + 1]
        args = args[:i] + args[i + 2:]
    results = [json.load(open(f)) for f in args]
    models = {}
    for r in results:
        models.update(r["models"])
    groups = list(results[0]["input"].keys())
    sim = lambda dose: [g for g in groups if g.endswith(f" {dose} %") and "real" not in g]
    cols = [("simulated test, 25 %", sim(25)), ("simulated test, 10 %", sim(10)),
            ("sharp lung kernel L, 25 %", [g for g in groups if "kernelL 25 %" in g]),
            ("L192 B30f, real 25 %", [g for g in groups if g.startswith("L192/B30f")]),
            ("L192 D45f, real 25 %", [g for g in groups if g.startswith("L192/D45f")])]
    print("| model, steps | " + " | ".join(c for c, _ in cols) + " | ms / slice |")
    print("| --- | " + " | ".join("---" for _ in cols) + " | --- |")
    print("| input | " + " | ".join(f"{cell(results[0]['input'], n, 'psnr')} / {cell(results[0]['input'], n, 'ssim')}" for _, n in cols) + " | |")
    for name, m in models.items():
        for steps, s in m["steps"].items():
            g = s["groups"]
            print(f"| {name}, {steps} | " + " | ".join(f"{cell(g, n, 'psnr')} / {cell(g, n, 'ssim')}" for _, n in cols) + f" | {s['msPerSliceMedian']} |")
    print()
    print("| model, steps | simulated 25 %: noise SD / bias (HU) | simulated 10 % | L192 B30f real | L192 D45f real |")
    print("| --- | --- | --- | --- | --- |")
    ncols = [cols[0], cols[1], cols[3], cols[4]]
    print("| input | " + " | ".join(f"{cell(results[0]['input'], n, 'noise')} / {cell(results[0]['input'], n, 'bias')}" for _, n in ncols) + " |")
    for name, m in models.items():
        for steps, s in m["steps"].items():
            g = s["groups"]
            print(f"| {name}, {steps} | " + " | ".join(f"{cell(g, n, 'noise')} / {cell(g, n, 'bias')}" for _, n in ncols) + " |")
    if qa_dir:
        print()
        print("| model, steps | ACR MTF50 ratio | worst ACR insert HU error | ACR noise reduction | water noise reduction | water NPS peak shift |")
        print("| --- | --- | --- | --- | --- | --- |")
        for f in sorted(glob.glob(os.path.join(qa_dir, "*-*.json"))):
            try:
                d = json.load(open(f))
            except json.JSONDecodeError:
                continue
            c = {x["name"]: x for x in d["checks"]}
            hu = [x["value"] for k, x in c.items() if k.startswith("acr/dose25/hu-error/")]
            worst = max(hu, key=abs) if hu else None
            get = lambda k: f"{c[k]['value']:.3f}" if k in c and c[k].get("value") is not None else "-"
            nps = [k for k in c if k.startswith("water/dose25/nps")]
            print(f"| {os.path.basename(f)[:-5]} | {get('acr/dose25/mtf50-ratio')} | {worst:+.1f} | {get('acr/dose25/noise-reduction')} | "
                  f"{get('water/dose25/noise-reduction')} | {get(nps[0]) if nps else '-'} |")


if __name__ == "__main__":
    main()
