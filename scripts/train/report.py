#!/usr/bin/env python3
"""Renders evaluate.py's results JSON as the markdown tables of models/README.md (numbers copied
verbatim, rounded for reading).

  /usr/bin/python3 scripts/train/report.py .cache/eval/CT/results-lowdose-ct.json [--section test|validation]
"""
import argparse
import json


def fmt(v, nd):
    return "" if v is None else f"{v:.{nd}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--section", default="test")
    a = ap.parse_args()
    r = json.load(open(a.results))
    units = "HU" if r["modality"] == "CT" else "SUV"
    rows = r[a.section]
    methods = []
    for k in rows:
        m = k.rsplit("@", 1)[0]
        if m not in methods:
            methods.append(m)
    for d in r["doses"]:
        print(f"\n{a.section}, {int(d * 100)} % {'dose' if r['modality'] == 'CT' else 'counts'}:\n")
        print(f"| method | PSNR dB | SSIM | RMSE {units} | noise {units} | bias {units} |")
        print("| --- | --- | --- | --- | --- | --- |")
        for m in methods:
            x = rows.get(f"{m}@{d}")
            if not x:
                continue
            nd = 1 if units == "HU" else 3
            label = m
            if m == "gaussian":
                label = f"gaussian (sigma {r['gaussianSigmaFromValidation'][str(d)] if str(d) in r['gaussianSigmaFromValidation'] else r['gaussianSigmaFromValidation'].get(d)} px)"
            cl = r.get("classicalFromValidation", {}).get(str(d))
            if cl and m == "bilateral":
                label = f"bilateral (range {cl['bilateralRangeFactor']} x noise SD)"
            if cl and m == "nlm":
                label = f"non-local means (h {cl['nlmHFactor']} x noise SD)"
            print(f"| {label} | {fmt(x.get('psnr'), 2)} | {fmt(x.get('ssim'), 4)} | {fmt(x.get('rmse'), nd)} | {fmt(x.get('noise'), nd)} | {fmt(x.get('bias'), nd)} |")


if __name__ == "__main__":
    main()
