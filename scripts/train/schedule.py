"""train.py's learning-rate schedule, resumable: one warm-up and one cosine decay over a plan that
may be trained in several chunks (sessions) instead of a warm restart per chunk.

A plan is the peak lr, the planned iterations and optional time budgets (wall, CPU), plus how far
the schedule got: its iterations and the wall and CPU seconds spent in it over every chunk so far.
Progress is the larger of iterations / planned iterations and elapsed / budget (a time-boxed plan
still anneals); lr = peak x min(1, (i + 1) / warm-up) x (0.05 + 0.95 x (1 + cos(pi x progress)) / 2),
with warm-up min(200, planned / 10 + 1) iterations. A chunk that stops early (train.py
--chunk-iters / --chunk-minutes) leaves the plan unfinished in the checkpoint, and the raw weights,
the AdamW state and the random streams in <name>.state.pt beside it; `train.py --resume <checkpoint>`
continues it where it stopped.

Self-check (CPU, about a minute on a shared machine): /usr/bin/python3 scripts/train/schedule.py
trains a tiny network on synthetic data with train.py once for 12 iterations and again as chunks
of 5 + 7, with the sampler in-process and in 2 worker processes, and checks that the chunks give
the same lr and loss at every iteration and bit-identical weights, EMA weights, AdamW state and
random streams; that a checkpoint without schedule state restarts the schedule (and says so); and
that an option which would start another schedule, or a missing state file, is refused while a
schedule is unfinished.
"""
from __future__ import annotations

import math

PLAN_VERSION = 1


def new_plan(peak_lr: float, iterations: int, budget_seconds: float | None = None,
             cpu_budget_seconds: float | None = None) -> dict:
    """A schedule from its start: `iterations` planned, optionally ending earlier by wall / CPU time."""
    return {"version": PLAN_VERSION, "peakLr": peak_lr, "plannedIterations": iterations,
            "warmupIterations": min(200, iterations // 10 + 1),
            "budgetSeconds": budget_seconds, "cpuBudgetSeconds": cpu_budget_seconds,
            "iterations": 0, "wallSeconds": 0.0, "cpuSeconds": 0.0, "finished": False}


def progress(plan: dict, i: int, wall: float, cpu: float) -> float:
    """Fraction of the plan reached at iteration i, with `wall` / `cpu` seconds spent in the schedule
    (every chunk so far plus this one's)."""
    p = i / plan["plannedIterations"]
    if plan["budgetSeconds"]:
        p = max(p, wall / plan["budgetSeconds"])
    if plan["cpuBudgetSeconds"]:
        p = max(p, cpu / plan["cpuBudgetSeconds"])
    return min(p, 1.0)


def lr_at(plan: dict, i: int, wall: float, cpu: float) -> float:
    # The expression of train.py before the plan was resumable, operation for operation, so a run
    # in one piece gets exactly the learning rates it got then.
    return plan["peakLr"] * min(1.0, (i + 1) / plan["warmupIterations"]) * (
        0.5 * (1 + math.cos(math.pi * progress(plan, i, wall, cpu))) * 0.95 + 0.05)


def exhausted(plan: dict, i: int, wall: float, cpu: float) -> str | None:
    """Why the plan is over before iteration i runs, or None."""
    if i >= plan["plannedIterations"]:
        return f"the planned {plan['plannedIterations']} iterations are done"
    if plan["budgetSeconds"] and wall > plan["budgetSeconds"]:
        return f"the planned {plan['budgetSeconds'] / 60:g} minutes are spent"
    if plan["cpuBudgetSeconds"] and cpu > plan["cpuBudgetSeconds"]:
        return f"the planned {plan['cpuBudgetSeconds']:g} CPU seconds are spent"
    return None


def advanced(plan: dict, iterations: int, wall: float, cpu: float, finished: bool) -> dict:
    """The plan after a chunk: `iterations` is the schedule position reached, wall / cpu the schedule's
    elapsed seconds (all chunks)."""
    return {**plan, "iterations": iterations, "wallSeconds": wall, "cpuSeconds": cpu, "finished": finished}


def describe(plan: dict) -> str:
    budgets = ([f"{plan['budgetSeconds'] / 60:g} min"] if plan["budgetSeconds"] else []) + \
              ([f"{plan['cpuBudgetSeconds']:g} CPU s"] if plan["cpuBudgetSeconds"] else [])
    return (f"peak lr {plan['peakLr']:g}, {plan['iterations']} of {plan['plannedIterations']} iterations"
            + (f", {plan['wallSeconds'] / 60:.1f} min spent of {' / '.join(budgets)}" if budgets else ""))


def state_path(checkpoint: str) -> str:
    """The training state beside a checkpoint (<name>.state.pt): the raw weights, AdamW state and random
    streams that continuing needs. Kept apart so that the checkpoint (EMA weights and facts) stays the
    size it was (the state is three times that), which matters for what a device call can carry."""
    return (checkpoint[:-3] if checkpoint.endswith(".pt") else checkpoint) + ".state.pt"


def choose(requested: str | None, plan: dict | None, state: dict | None, state_file: str, plan_options: list[str],
           incompatible: str | None) -> tuple[str, str]:
    """Whether a resumed run continues the checkpoint's schedule or starts a new one, and the line that
    says so. requested: --lr-schedule (None: continue an unfinished schedule, else restart); plan: the
    checkpoint's (None for one made before plans were saved); state: its training state file's
    content, None where missing or another run's; plan_options: the flags given that set a new plan
    (--lr, --iters, --minutes, --cpu-seconds); incompatible: why this run cannot continue the optimizer
    state (a grown network, other trained parameters), or None. Raises SystemExit where the request
    cannot be met or is ambiguous."""
    if plan is None:
        if requested == "continue":
            raise SystemExit("--lr-schedule continue: the checkpoint has no learning-rate schedule state (it was made before "
                             "train.py saved it, or by onnx-to-checkpoint.py); only --lr-schedule restart is possible")
        return "restart", ("the checkpoint has no learning-rate schedule state (made before train.py saved it): the schedule "
                           "restarts (warm-up and cosine decay over this run's plan), from its EMA weights with a new optimizer")
    if requested == "restart":
        return "restart", f"--lr-schedule restart: a new schedule from the checkpoint's EMA weights (its own: {describe(plan)})"
    if plan["finished"]:
        if requested == "continue":
            raise SystemExit(f"--lr-schedule continue: the checkpoint's schedule is finished ({describe(plan)}); "
                             "--lr-schedule restart (the default for a finished one) starts a new one")
        return "restart", f"the checkpoint's schedule is finished ({describe(plan)}): a new schedule from its EMA weights"
    unfinished = f"the checkpoint's learning-rate schedule is unfinished ({describe(plan)})"
    restart = "pass --lr-schedule restart to start a new schedule from its EMA weights, or "
    if plan_options:
        raise SystemExit(f"{unfinished} and {', '.join(plan_options)} would set a new plan: {restart}leave those options "
                         "out to continue it (--chunk-iters / --chunk-minutes stop a chunk early)")
    if incompatible:
        raise SystemExit(f"{unfinished} and {incompatible}: {restart}keep the network and trained parameters of its run to continue it")
    if state is None:
        raise SystemExit(f"{unfinished} but its training state {state_file} is missing or belongs to another run: {restart}"
                         "put that file beside the checkpoint to continue it")
    return "continue", f"continuing the checkpoint's learning-rate schedule ({describe(plan)})"


def synthetic_cache(cache: str) -> None:
    """Synthetic CT training volumes in the layout of export-dataset (data.py) under `cache`: smooth
    "anatomy" and two noise components per slice; what matters here is that the data are fixed."""
    import os

    import numpy as np
    rng = np.random.default_rng(0)
    for name in ("lidc-0001-chest", "crlm-1004-abdomen"):
        d = os.path.join(cache, "train", "CT", name)
        os.makedirs(d)
        S, R, C = 3, 80, 80
        yy, xx = np.mgrid[0:R, 0:C]
        clean = np.stack([40 * np.sin(xx / (7 + s)) * np.cos(yy / 9) + 60 * (((xx - 40) ** 2 + (yy - 40) ** 2) < 600)
                          for s in range(S)]).astype("<f4")
        clean.tofile(os.path.join(d, "clean.f32"))
        (20 * rng.standard_normal((S, 2, R, C))).astype("<f4").tofile(os.path.join(d, "unit.f32"))
        with open(os.path.join(d, "meta.json"), "w") as f:
            f.write('{"volume": "%s", "modality": "CT", "rows": %d, "columns": %d, "slices": [0, 1, 2], "anchorDose": 0.05, '
                    '"arrays": {"unit": {"file": "unit.f32", "shape": [2, %d, %d]}}}' % (name, R, C, R, C))


def _self_check():
    import os
    import subprocess
    import sys
    import tempfile

    import torch

    # The pure schedule: one plan chunked at any point gives the lr of the unchunked plan.
    p = new_plan(2e-3, 1000)
    full = [lr_at(p, i, 0.0, 0.0) for i in range(1000)]
    assert full[0] == 2e-3 / 101 and max(full) == full[100] and abs(full[-1] - 2e-3 * 0.05) < 1e-6, (full[0], full[-1])
    q = advanced(p, 400, 12.0, 11.0, finished=False)
    assert [lr_at(q, i, 0.0, 0.0) for i in range(400, 1000)] == full[400:]
    # A time plan keeps its clock across chunks: 10 of 20 minutes spent -> progress 0.5 at any iteration below it.
    t = advanced(new_plan(1e-3, 10 ** 6, budget_seconds=1200.0), 50, 600.0, 500.0, finished=False)
    assert progress(t, 50, t["wallSeconds"], t["cpuSeconds"]) == 0.5
    assert exhausted(t, 51, 1200.5, 0.0) and exhausted(t, 51, 1199.0, 0.0) is None
    assert exhausted(new_plan(1e-3, 12), 12, 0.0, 0.0) == "the planned 12 iterations are done"

    here = os.path.dirname(os.path.abspath(__file__))
    tmp = tempfile.mkdtemp(prefix="lowdose-schedule-")
    cache = os.path.join(tmp, "cache")
    synthetic_cache(cache)
    env = {**os.environ, "LOWDOSE_CACHE": cache}
    base = ["--modality", "CT", "--config", "cpu-tiny", "--prediction", "v", "--seed", "7", "--threads", "1",
            "--log-every", "1", "--out", os.path.join(tmp, "models")]

    def train(*args, ok=True):
        r = subprocess.run([sys.executable, os.path.join(here, "train.py"), *base, *args], env=env,
                           capture_output=True, text=True)
        if ok and r.returncode != 0:
            raise AssertionError(f"train.py {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    def ckpt(name, suffix=".pt"):
        return torch.load(os.path.join(cache, "checkpoints", f"{name}{suffix}"), map_location="cpu", weights_only=False)

    def same_tensors(a, b, where=""):
        if isinstance(a, torch.Tensor):
            assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), f"differs at {where}"
        elif isinstance(a, dict):
            assert a.keys() == b.keys(), f"keys differ at {where}"
            for k in a:
                same_tensors(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b), f"lengths differ at {where}"
            for k, (x, y) in enumerate(zip(a, b)):
                same_tensors(x, y, f"{where}[{k}]")
        else:
            assert a == b, f"{a} != {b} at {where}"

    for workers in ("0", "2"):
        train("--iters", "12", "--workers", workers, "--name", f"one-{workers}")
        first = train("--iters", "12", "--chunk-iters", "5", "--workers", workers, "--name", f"chunks-{workers}")
        assert "stopped at iteration 5 of 12" in first.stdout, first.stdout
        mid = ckpt(f"chunks-{workers}")
        assert mid["lrSchedule"]["iterations"] == 5 and not mid["lrSchedule"]["finished"]
        # The second chunk names no plan (the checkpoint's) and no seed (its streams continue).
        second = train("--resume", os.path.join(cache, "checkpoints", f"chunks-{workers}.pt"), "--workers", workers,
                       "--name", f"chunks-{workers}")
        assert "continuing the checkpoint's learning-rate schedule (peak lr 0.002, 5 of 12 iterations)" in second.stdout, second.stdout
        x, y = ckpt(f"one-{workers}"), ckpt(f"chunks-{workers}")
        # --log-every 1: every iteration's exact lr and its loss (to 6 decimals) in the checkpoint's history.
        for curve in ("lrCurve", "lossCurve"):
            a, b = x["history"][-1][curve], y["history"][-2][curve] + y["history"][-1][curve]
            assert [c[0] for c in a] == list(range(1, 13)) and a == b, (curve, a, b)
        same_tensors(x["state"], y["state"], "EMA weights")
        xs, ys = ckpt(f"one-{workers}", ".state.pt"), ckpt(f"chunks-{workers}", ".state.pt")
        for part in ("model", "optimizer", "streams", "torchGenerator"):
            same_tensors(xs[part], ys[part], part)
        assert x["lrSchedule"]["finished"] and y["lrSchedule"]["finished"] and y["iterations"] == 12
        print(f"workers {workers}: 12 iterations in one run and as 5 + 7 give the same lr and loss at every iteration "
              "and bit-identical weights, EMA weights, AdamW state and random streams")

    # Unfinished schedule + an option that sets a new plan: refused, with what to do.
    mid_path = os.path.join(tmp, "mid.pt")
    train("--iters", "12", "--chunk-iters", "5", "--name", "mid")
    os.replace(os.path.join(cache, "checkpoints", "mid.pt"), mid_path)
    refused = train("--resume", mid_path, "--lr", "1e-3", "--name", "x", ok=False)
    assert refused.returncode != 0 and "--lr would set a new plan: pass --lr-schedule restart" in refused.stderr, refused.stderr
    # ... and so is one whose training state is not beside it (not moved with it here).
    refused = train("--resume", mid_path, "--name", "x", ok=False)
    assert refused.returncode != 0 and f"its training state {state_path(mid_path)} is missing" in refused.stderr, refused.stderr
    # --lr-schedule restart: warm-up again from the EMA weights, over the new plan.
    restarted = train("--resume", mid_path, "--lr-schedule", "restart", "--iters", "12", "--name", "x")
    assert "--lr-schedule restart: a new schedule" in restarted.stdout, restarted.stdout
    fresh = ckpt("x")["history"][-1]["lrCurve"]
    assert fresh == ckpt("one-2")["history"][-1]["lrCurve"], "a restarted schedule runs the lr of a new plan"
    # A checkpoint without a schedule (older train.py, onnx-to-checkpoint.py): today's behaviour, said in the log.
    old = {k: v for k, v in torch.load(mid_path, map_location="cpu", weights_only=False).items() if k != "lrSchedule"}
    torch.save(old, mid_path)
    legacy = train("--resume", mid_path, "--iters", "12", "--name", "x")
    assert "the checkpoint has no learning-rate schedule state" in legacy.stdout, legacy.stdout
    assert ckpt("x")["history"][-1]["lrCurve"] == fresh
    refused = train("--resume", mid_path, "--lr-schedule", "continue", "--name", "x", ok=False)
    assert refused.returncode != 0 and "no learning-rate schedule state" in refused.stderr
    import shutil
    shutil.rmtree(tmp)
    print("schedule.py self-check passed")


if __name__ == "__main__":
    _self_check()
