#!/usr/bin/env python3
"""Does averaging an ensemble of warm-start samples help? Scores the mean of K = 1, 2, 4 samples
(independent warm-start noise, seeds 0, 1000, 2000, 3000) of a CT checkpoint on the validation and
test volumes, with evaluate.py's metrics (CONTRACT conventions).

  /usr/bin/python3 scripts/train/ensemble-eval.py [--name lowdose-ct] [--configs warm0.1:1,warm0.2:2] [--threads 2]

Prints one line per volume set, dose, configuration and K (about 10 minutes per configuration at
1 thread beside another job; the model card's numbers are --configs warm0.1:1 --threads 1).
"""
import argparse

import numpy as np

import evaluate as E


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="lowdose-ct")
    ap.add_argument("--configs", default="warm0.1:1")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    card, run = E.shipped_model(a.name, a.threads)
    split = card["training"]["split"]
    for part in ["validation", "test"]:
        vols = [E.load_eval("CT", n, 1) for n in split[part]]
        for d in E.DOSES:
            for label, mode, steps, strength in E.parse_configs(a.configs):
                outs = [[run(v["low"][d], d, mode, steps, strength, seed=1000 * s) for v in vols] for s in range(4)]
                for K in [1, 2, 4]:
                    mean = [np.mean([outs[s][i] for s in range(K)], axis=0) for i in range(len(vols))]
                    m = E.score(mean, vols, d, "CT", part == "test")
                    print(part, d, label, "K", K, {k: (None if x is None else round(x, 4)) for k, x in m.items()}, flush=True)


if __name__ == "__main__":
    main()
