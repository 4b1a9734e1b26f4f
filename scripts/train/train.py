#!/usr/bin/env python3
"""Train a lowdose conditional diffusion denoiser from scratch and write models/<name>.onnx + its card.

  /usr/bin/python3 scripts/train/train.py --modality CT --config cpu-small
  /usr/bin/python3 scripts/train/train.py --modality PT --config cpu-small
  python3 scripts/train/train.py --modality CT --config gpu        # CUDA, ~8 min on an H100 (untested here)

Needs the exported data in .cache/train (scripts/train/export-dataset.ts). Fixed seed: the same
command on the same machine gives the same weights (CPU; CUDA convolutions are not bit-deterministic).

Training in chunks (sessions): --chunk-iters N / --chunk-minutes M stop a run early without shaping
its learning-rate schedule, and --resume <its checkpoint> continues the schedule, the optimizer and
the random streams where it stopped (schedule.py; on CPU, with the same threads, the chunks give the
weights of the run in one piece bit for bit: /usr/bin/python3 scripts/train/schedule.py).
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import platform
import time

import numpy as np
import torch

from data import CACHE, FAINT_DISK_CONTRAST_HU, FAINT_DISK_RADIUS_PX, REPO, SHARPEN_AMOUNT, SHARPEN_SIGMA, PatchSampler, is_real_pair, volumes_in
from diffusion import Schedule
from losses import SSIM_WINDOWS, lowfreq_mse, ssim_loss
from model import CondUNet, count_params, export_graph, receptive_field
import schedule as lr_schedule

SPLITS = {
    # Whole volumes only; both kernels of lungdx-a0001 (one patient) stay together in test.
    "CT": {"train": ["lidc-0001-chest", "crlm-1004-abdomen"], "validation": ["lidc-0314-chest"],
           "test": ["lungdx-a0001-chest-kernelB", "lungdx-a0001-chest-kernelL", "crlm-1006-abdomen"]},
    # Two PET patients only: train on qin-hn-0139 (slices outside the validation block), test on sts-001.
    "PT": {"train": ["qin-hn-0139-pet"], "validation": ["qin-hn-0139-pet:val"], "test": ["sts-001-pet"]},
}

NORMALIZATION = {
    "CT": {"units": "HU", "transform": "linear", "offset": 0.0, "scale": 1000.0, "clip": [-1100.0, 3100.0]},
    # SUVbw / 4: linear (not log) so that the mean of the prediction stays unbiased in SUV.
    "PT": {"units": "SUVbw", "transform": "linear", "offset": 0.0, "scale": 4.0, "clip": [-5.0, 100.0]},
}

# Written into the card exactly as src/diffusion/schedules.ts reads them (its defaults).
SCHEDULE_PARAMS = {"cosine": {"s": 0.008}, "linear": {"betaStart": 1e-4, "betaEnd": 0.02},
                   "aggressive": {"midpoint": 0.2, "steepness": 12}}

CONFIGS = {
    "cpu-small": dict(channels=(16, 32, 64), patch=96, batch=8, iters=6000, lr=2e-3, device="cpu"),
    "cpu-tiny": dict(channels=(16, 32, 64), patch=64, batch=4, iters=60, lr=2e-3, device="cpu"),
    # Twice the widths of cpu-small (776 k parameters): after 3,000 equal iterations on CPU it beat
    # the 16-32-64 network by 0.43 / 0.17 dB on validation and 0.46 / 0.20 dB on test at 25 / 10 %
    # dose (docs/training.md, session 3); a 512x512 CT pass takes ~310 ms on 2 CPU cores, inside the 1.5 s target at up to
    # 4 steps. lr 1e-3: at 2e-3 this normalisation-free network diverged. Its GPU speed is not
    # measured yet (bash scripts/device/train.sh reports iterations per second).
    "gpu": dict(channels=(32, 64, 128), patch=128, batch=64, iters=20000, lr=1e-3, device="cuda"),
}


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=["CT", "PT"], required=True)
    ap.add_argument("--config", choices=list(CONFIGS), default="cpu-small")
    ap.add_argument("--prediction", choices=["sample", "epsilon", "v"], default="sample")
    ap.add_argument("--schedule", choices=["cosine", "linear", "aggressive"], default="cosine")
    ap.add_argument("--iters", type=int, default=None, help="override the config's iteration count")
    ap.add_argument("--lr", type=float, default=None, help="override the config's peak learning rate")
    ap.add_argument("--extra-train", default=None,
                    help="extra training volumes in .cache/train/<MODALITY>/, comma-separated (e.g. body-phantoms from export-dataset ct-phantoms)")
    ap.add_argument("--sharpen", type=float, default=0.0,
                    help="CT: fraction of patches re-rendered as a sharper reconstruction kernel (clean and low-dose alike; data.py)")
    ap.add_argument("--faint-disks", type=float, default=0.0,
                    help="CT: fraction of patches that get 1 to 3 faint (3-20 HU) soft-edged disks added to clean and "
                         "low-dose alike, so a wide receptive field learns that slow faint structure exists (data.py)")
    ap.add_argument("--real-weight", type=float, default=1.0,
                    help="draw the slices of real-pair volumes (--extra-train mayo-L143-B30f,...) this many times as often")
    ap.add_argument("--neighbours", action="store_true",
                    help="2.5-D: condition on the slices below and above too (CT; needs export-dataset ct-neighbours train)")
    ap.add_argument("--channels", default=None, help="override the config's UNet widths, e.g. 32,64,128")
    ap.add_argument("--patch", type=int, default=None, help="override the config's patch size (px)")
    ap.add_argument("--batch", type=int, default=None, help="override the config's batch size")
    ap.add_argument("--context", default=None,
                    help="dilations of zero-initialised ContextBlocks after the bottleneck (model.py), e.g. 2,4,8: widens "
                         "the receptive field; with --resume from a network without them it grows that network, whose "
                         "output it reproduces exactly at the start (checked)")
    ap.add_argument("--context-hidden", type=int, default=32, help="hidden width of each ContextBlock")
    ap.add_argument("--train-only", default=None,
                    help="train only the parameters under these module names, comma-separated (e.g. ctx): the rest "
                         "stay as resumed (a grown network keeps the trained one's weights and adds what it could not see)")
    ap.add_argument("--uncond-weight", type=float, default=0.1,
                    help="loss weight of condition-dropped samples (their x0 error is ~10x the conditional one and would dominate)")
    ap.add_argument("--t-focus", type=float, default=0.5,
                    help="fraction of samples at t = T-1, the timestep of the 1-step sampler (rest uniform in 0..T-1)")
    ap.add_argument("--t-low-fraction", type=float, default=0.0,
                    help="fraction of samples with t uniform in 0..--t-low-max: the timesteps a warm start uses")
    ap.add_argument("--t-low-max", type=int, default=150)
    ap.add_argument("--warm-fraction", type=float, default=0.0,
                    help="of the samples in the 0..--t-low-max band, the fraction whose x_t is made from the LOW-DOSE "
                         "image (sqrt(abar) x_low + sqrt(1 - abar) eps), as the warm-start sampler makes it; loss on x0 (v only)")
    ap.add_argument("--lesion-weight", type=float, default=0.0,
                    help="PET: extra per-pixel loss weight on the inserted lesions (1 + this x coverage; lesion.f32 of "
                         "`export-dataset pet-lesions`): the hot spheres are ~1 %% of the pixels and the network shrank them")
    ap.add_argument("--lesion-mean-weight", type=float, default=0.0,
                    help="PET: add this x the squared error of the coverage-weighted mean over each patch's lesions "
                         "(the SUVmean error, model units), so a bias that the pixel MSE hardly sees is penalised")
    ap.add_argument("--lowfreq-weight", type=float, default=0.0,
                    help="add this times the MSE of the Gaussian-blurred error (the same error the loss uses: v, or x0 "
                         "for warm samples): weights the slow noise a model leaves in (losses.py; docs/training.md)")
    ap.add_argument("--lowfreq-sigma", type=float, default=2.0, help="the blur's sigma in pixels for --lowfreq-weight")
    ap.add_argument("--ssim-weight", type=float, default=0.0,
                    help="CT: add this times 1 - SSIM (the CONTRACT's: HU clipped to --ssim-window, data range its width, "
                         "Gaussian sigma 1.5) of the predicted clean image against the target, on the warm-start samples "
                         "with the condition (what the default sampler runs; needs --warm-fraction; losses.py, docs/training.md)")
    ap.add_argument("--ssim-window", choices=sorted(SSIM_WINDOWS), default="both",
                    help="the --ssim-weight window: hu [-1000, 1000], abdomen [-160, 240] HU, or both (mean of the two)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="stop after this wall time, the lr decay following it (a plan: over every chunk of a continued "
                         "schedule; to stop one chunk early, --chunk-minutes)")
    ap.add_argument("--cpu-seconds", type=float, default=None,
                    help="stop after this much CPU time of this process (a budget that does not depend on what else the "
                         "machine runs; docs/latent.md compares models at equal CPU time); the lr decay then follows it")
    ap.add_argument("--chunk-iters", type=int, default=None,
                    help="stop this run after N iterations without shaping the lr schedule: the checkpoint keeps the "
                         "unfinished schedule, and --resume <it> continues it (training in chunks across sessions)")
    ap.add_argument("--chunk-minutes", type=float, default=None,
                    help="stop this run after M minutes of wall time without shaping the lr schedule (as --chunk-iters)")
    ap.add_argument("--lr-schedule", choices=["continue", "restart"], default=None,
                    help="with --resume: continue the checkpoint's unfinished schedule (its plan, position, AdamW state "
                         "and random streams; the default when it has one) or restart (warm-up and cosine decay over "
                         "this run's plan from its EMA weights, a new optimizer: the default for a finished schedule or "
                         "a checkpoint without schedule state)")
    ap.add_argument("--log-every", type=int, default=100, help="print and record the loss and lr every N iterations")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default 1234; a continued schedule keeps its own streams)")
    ap.add_argument("--name", default=None, help="model name (default lowdose-<ct|pet>)")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0,
                    help="patch-sampling worker processes (GPU runs: the CT sampler, ~40 ms per batch of 64 on one "
                         "core, is slower than a training step there); each has its own seeded generator, and batches "
                         "are taken from them in turn, so a run stays reproducible for a given count")
    ap.add_argument("--resume", default=None,
                    help="start from this checkpoint and add its iterations to the card: continues its unfinished lr "
                         "schedule, else starts a new one from its EMA weights (--lr-schedule)")
    return ap.parse_args()


class _SampledBatches(torch.utils.data.IterableDataset):
    def __init__(self, sampler: PatchSampler, batch: int, states: list, first: int):
        self.sampler, self.batch, self.states, self.first = sampler, batch, states, first

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        # Each worker (a forked copy of the sampler, volumes shared) draws from its own stream. The
        # DataLoader reads worker 0 first, so worker i plays stream (first + i) mod n: a resumed run
        # starts with the stream whose turn it was.
        stream = (self.first + info.id) % info.num_workers
        rng = np.random.default_rng()
        rng.bit_generator.state = self.states[stream]
        self.sampler.rng = rng
        while True:
            # With each batch, its stream's state after drawing it: what a checkpoint records.
            yield self.sampler.batch(self.batch), stream, rng.bit_generator.state


class BatchStreams:
    """Endless (clean, low, dose[, lesion]) batches: drawn here (workers = 0, the sampler's own
    generator) or by worker processes that the DataLoader reads in a fixed round-robin order, each
    with its own seeded stream, so a run is reproducible for a given worker count. state() is where
    every stream stands after the batches taken so far (not those prefetched), which a resumed run
    restores to draw exactly the batches the run in one piece would have drawn next."""

    def __init__(self, sampler: PatchSampler, batch: int, workers: int, seed: int, saved: dict | None = None,
                 reseed_at: int = 0):
        self.sampler, self.workers = sampler, workers
        if saved is not None and saved["workers"] == workers:
            states, self.next = list(saved["states"]), saved["next"]
        else:
            # A new run: the streams of before (the sampler's own generator; worker i: [seed, i]). A run
            # that continues with another worker count cannot continue the streams: new ones, keyed by
            # the schedule position so that they differ from the first ones.
            key = [seed] if reseed_at == 0 else [seed, reseed_at]
            states = ([np.random.default_rng(seed if reseed_at == 0 else key).bit_generator.state] if workers == 0
                      else [np.random.default_rng(key + [i]).bit_generator.state for i in range(workers)])
            self.next = 0
        self.states = states
        if workers == 0:
            sampler.rng = np.random.default_rng()
            sampler.rng.bit_generator.state = states[0]
        self.batch, self.it = batch, None

    def __next__(self):
        if self.workers == 0:
            return self.sampler.batch(self.batch)
        if self.it is None:
            # Made at the first batch, as before the streams were resumable: starting the loader draws
            # its base seed from torch's global generator, which must not shift the network's initial weights.
            loader = torch.utils.data.DataLoader(_SampledBatches(self.sampler, self.batch, self.states, self.next),
                                                 batch_size=None, num_workers=self.workers, prefetch_factor=4,
                                                 persistent_workers=True)
            self.it = iter(loader)
        batch, stream, state = next(self.it)
        assert stream == self.next, (stream, self.next)
        self.states[stream] = state
        self.next = (stream + 1) % self.workers
        return batch

    def state(self) -> dict:
        states = [self.sampler.rng.bit_generator.state] if self.workers == 0 else list(self.states)
        return {"workers": self.workers, "states": states, "next": self.next}


def main():
    a = parse()
    cfg = dict(CONFIGS[a.config])
    if a.warm_fraction > 0 and a.prediction != "v":
        raise SystemExit("--warm-fraction needs --prediction v")
    if a.ssim_weight > 0 and (a.modality != "CT" or a.warm_fraction <= 0):
        raise SystemExit("--ssim-weight scores the warm-start samples' clean image in HU: it needs --modality CT and --warm-fraction")
    if (a.lesion_weight > 0 or a.lesion_mean_weight > 0) and a.prediction != "sample":
        raise SystemExit("--lesion-weight / --lesion-mean-weight compare clean images: they need --prediction sample")
    if a.iters:
        cfg["iters"] = a.iters
    if a.lr:
        cfg["lr"] = a.lr
    if a.channels:
        cfg["channels"] = tuple(int(c) for c in a.channels.split(","))
    if a.patch:
        cfg["patch"] = a.patch
    if a.batch:
        cfg["batch"] = a.batch
    context = tuple(int(d) for d in a.context.split(",")) if a.context else ()
    seed = 1234 if a.seed is None else a.seed

    # Resuming: continue the checkpoint's learning-rate schedule (with its optimizer state and random
    # streams), or start a new one from its EMA weights (schedule.py decides, and says which).
    previous = torch.load(a.resume, map_location="cpu", weights_only=False) if a.resume else None
    mode, state = "new", None
    if previous is not None:
        plan = previous.get("lrSchedule")
        state_file = lr_schedule.state_path(a.resume)
        if plan is not None and not plan["finished"] and os.path.exists(state_file):
            state = torch.load(state_file, map_location="cpu", weights_only=False)
            if state.get("token") != plan.get("stateToken"):
                state = None  # written by another run of the same name since
        grows = not previous.get("context") and bool(context)
        train_only_before = state["trainOnly"] if state else a.train_only
        incompatible = ("--context grows the network (new parameters, no optimizer state for them)" if grows
                        else f"--train-only {a.train_only or '(none: all)'} trains other parameters than its run "
                             f"({train_only_before or 'all'})"
                        if a.train_only != train_only_before else None)
        plan_options = [flag for flag, value in (("--lr", a.lr), ("--iters", a.iters), ("--minutes", a.minutes),
                                                 ("--cpu-seconds", a.cpu_seconds)) if value]
        mode, why = lr_schedule.choose(a.lr_schedule, plan, state, state_file, plan_options, incompatible)
        print(why, flush=True)
    elif a.lr_schedule == "continue":
        raise SystemExit("--lr-schedule continue needs --resume <checkpoint>")
    if mode == "continue":
        plan = {k: v for k, v in previous["lrSchedule"].items() if k not in ("stateFile", "stateToken")}
        cfg["lr"], cfg["iters"] = plan["peakLr"], plan["plannedIterations"]
        if a.seed is not None and a.seed != state["seed"]:
            print(f"--seed {a.seed}: the schedule's random streams (seed {state['seed']}) continue where they stopped", flush=True)
        seed = state["seed"]
    else:
        state = None
        plan = lr_schedule.new_plan(cfg["lr"], cfg["iters"], a.minutes * 60 if a.minutes else None, a.cpu_seconds)
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(a.threads)
    # Near-zero weights (zero-initialised output layers) produce denormals, which are ~100x slower on x86.
    torch.set_flush_denormal(True)
    dev = torch.device(cfg["device"] if cfg["device"] != "cuda" or torch.cuda.is_available() else "cpu")
    if dev.type == "cuda":
        # Fixed patch and batch shapes: let cuDNN pick the fastest convolution once.
        torch.backends.cudnn.benchmark = True
    name = a.name or ("lowdose-ct" if a.modality == "CT" else "lowdose-pet")
    norm = NORMALIZATION[a.modality]
    split = dict(SPLITS[a.modality])
    if a.extra_train:
        split["train"] = split["train"] + a.extra_train.split(",")

    vols = volumes_in("train", a.modality, split["train"])
    lesion_loss = a.lesion_weight > 0 or a.lesion_mean_weight > 0
    if lesion_loss and not any("lesion" in v for v in vols):
        raise SystemExit("--lesion-weight / --lesion-mean-weight need a volume with lesion masks (--extra-train pet-lesions, "
                         "exported by export-dataset pet-lesions)")
    sampler = PatchSampler(vols, a.modality, norm, cfg["patch"], np.random.default_rng(seed),
                           neighbours=a.neighbours, sharpen=a.sharpen, real_weight=a.real_weight, lesion_masks=lesion_loss,
                           faint_disks=a.faint_disks)
    # What shapes the training beyond the plan: recorded, and compared when a schedule is continued.
    options = {**{k: getattr(a, k) for k in (
        "modality", "config", "prediction", "schedule", "extra_train", "sharpen", "real_weight", "neighbours", "context",
        "context_hidden", "train_only", "uncond_weight", "t_focus", "t_low_fraction", "t_low_max", "warm_fraction",
        "lesion_weight", "lesion_mean_weight", "lowfreq_weight", "lowfreq_sigma", "ssim_weight", "ssim_window", "workers",
        "threads")},
        "patch": cfg["patch"], "batch": cfg["batch"],
        # Recorded only when on, so checkpoints from before the option compare equal without it.
        **({"faint_disks": a.faint_disks} if a.faint_disks > 0 else {})}
    saved_streams = state["streams"] if state else None
    if state:
        changed = [f"{k} {state['options'].get(k)} -> {v}" for k, v in options.items()
                   if k != "workers" and state["options"].get(k) != v]
        if changed:
            print(f"options changed since the checkpoint's run (the run in one piece would differ): {', '.join(changed)}", flush=True)
        if saved_streams["workers"] != a.workers:
            print(f"--workers {a.workers} (the checkpoint's run had {saved_streams['workers']}): the sampling streams "
                  f"cannot continue; new ones, seeded by {seed} and iteration {plan['iterations']}", flush=True)
    batches = BatchStreams(sampler, cfg["batch"], a.workers, seed, saved=saved_streams,
                           reseed_at=plan["iterations"] if state else 0)
    cond_channels = 3 if a.neighbours else 1
    sched = Schedule(a.schedule, 1000)
    net_args = dict(cond_channels=cond_channels, prediction=a.prediction, context=context, context_hidden=a.context_hidden)
    model = CondUNet(cfg["channels"], **net_args).to(dev)
    ema = CondUNet(cfg["channels"], **net_args).to(dev)
    grown = False
    if previous is not None:
        if (previous["prediction"] != a.prediction or tuple(previous["channels"]) != tuple(cfg["channels"])
                or previous.get("condChannels", 1) != cond_channels):
            raise SystemExit(f"{a.resume} is a {previous['prediction']} model with channels {previous['channels']} "
                             f"and {previous.get('condChannels', 1)} condition channels")
        before = tuple(previous.get("context", ()))
        if before == context and (not context or previous.get("contextHidden", 32) == a.context_hidden):
            # Continued: the weights being trained as they were (the checkpoint's "state" is their EMA).
            model.load_state_dict(state["model"] if state else previous["state"])
        elif not before and context:
            grow(model, previous, net_args, cfg["channels"])
            grown = True
        else:
            raise SystemExit(f"{a.resume} has context {list(before)} (hidden {previous.get('contextHidden', 32)}); "
                             f"asked for {list(context)} (hidden {a.context_hidden})")
    ema.load_state_dict(previous["state"] if state else model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    trained = list(model.parameters())
    if a.train_only:
        keep = tuple(a.train_only.split(","))
        for n, p in model.named_parameters():
            p.requires_grad_(n.split(".")[0] in keep)
        trained = [p for p in model.parameters() if p.requires_grad]
        if not trained:
            raise SystemExit(f"--train-only {a.train_only}: no parameter under those names")
        print(f"training {sum(p.numel() for p in trained)} of {count_params(model)} parameters ({a.train_only})", flush=True)
    opt = torch.optim.AdamW(trained, lr=cfg["lr"], weight_decay=0.0)
    if state:
        opt.load_state_dict(state["optimizer"])
    total = plan["plannedIterations"]
    start = plan["iterations"]

    # Seconds spent in the schedule: its earlier chunks' and this run's. With --minutes (or
    # --cpu-seconds) the cosine decay follows them, so a time-boxed run still anneals.
    def elapsed():
        return plan["wallSeconds"] + time.time() - t0, plan["cpuSeconds"] + time.process_time() - c0

    def lr_at(i):
        return lr_schedule.lr_at(plan, i, *elapsed())

    gen = torch.Generator().manual_seed(seed)
    if state:
        gen.set_state(state["torchGenerator"])
    p_drop_cond, p_unknown_dose = 0.1, 0.3
    # Warm samples' x0 loss is weighted like the v loss at the band's top (v error = x0 error / (1 - abar)).
    band_weight = 1.0 / (1.0 - float(sched.abar[a.t_low_max]))
    t0, c0 = time.time(), time.process_time()
    curve, lr_curve = [], []
    ema_params, model_params = list(ema.parameters()), list(model.parameters())
    loss_sum, loss_count = torch.zeros((), device=dev), 0
    position = start
    chunk_stop = None
    for it in range(start, total):
        if lr_schedule.exhausted(plan, it, *elapsed()):
            break
        if a.chunk_iters and it - start >= a.chunk_iters:
            chunk_stop = f"--chunk-iters {a.chunk_iters}"
            break
        if a.chunk_minutes and time.time() - t0 > a.chunk_minutes * 60:
            chunk_stop = f"--chunk-minutes {a.chunk_minutes:g}"
            break
        x0, xl, d, *lesion = next(batches)
        B = x0.shape[0]
        t = torch.randint(0, sched.T, (B,), generator=gen)
        u = torch.rand(B, generator=gen)
        t = torch.where(u < a.t_focus, torch.full_like(t, sched.T - 1), t)
        in_band = (u >= a.t_focus) & (u < a.t_focus + a.t_low_fraction)
        if a.t_low_fraction > 0:
            t_low = torch.randint(0, a.t_low_max + 1, (B,), generator=gen)
            t = torch.where(in_band, t_low, t)
        eps = torch.randn(x0.shape, generator=gen)
        mask = (torch.rand(B, generator=gen) >= p_drop_cond).float()
        dose = torch.where(torch.rand(B, generator=gen) < p_unknown_dose, torch.zeros(B), d)
        x_t = sched.q_sample(x0, t, eps)
        target = sched.target(a.prediction, x0, eps, t)
        from_low = torch.zeros(B, dtype=torch.bool)
        if a.warm_fraction > 0:
            # Warm start at inference noises the low-dose image, not a clean one: at small t the dose
            # noise dominates x_t there, which plain training never shows the network.
            from_low = in_band & (torch.rand(B, generator=gen) < a.warm_fraction)
            centre = xl[:, cond_channels // 2: cond_channels // 2 + 1]
            x_t = torch.where(from_low[:, None, None, None], sched.q_sample(centre, t, eps), x_t)
        x_t, xl, dose, mask, target, tt, x0d, from_low_d = (v.to(dev) for v in (x_t, xl, dose, mask, target, t.float(), x0, from_low))
        out = model(x_t, tt, xl, dose, mask)
        w = mask + (1 - mask) * a.uncond_weight
        if lesion_loss:
            # Sample prediction: out and target are both the clean image, so these are errors in SUV / 4.
            les = lesion[0].to(dev)
            per_sample = torch.mean((1 + a.lesion_weight * les) * (out - target) ** 2, dim=(1, 2, 3))
            cover = les.sum(dim=(1, 2, 3))
            mean_err = ((out - target) * les).sum(dim=(1, 2, 3)) / cover.clamp_min(1.0)
            per_sample = per_sample + a.lesion_mean_weight * torch.where(cover >= 1.0, mean_err ** 2, torch.zeros_like(cover))
        else:
            per_sample = torch.mean((out - target) ** 2, dim=(1, 2, 3))
        if a.warm_fraction > 0:
            ab = sched.ab(t).to(dev)[:, None, None, None]
            x0_pred = ab.sqrt() * x_t - (1 - ab).sqrt() * out
            per_sample = torch.where(from_low_d, band_weight * torch.mean((x0_pred - x0d) ** 2, dim=(1, 2, 3)), per_sample)
        if a.lowfreq_weight > 0:
            # The same error as above (so the two terms share their per-sample weights), low-passed.
            err = out - target
            if a.warm_fraction > 0:
                err = torch.where(from_low_d[:, None, None, None], math.sqrt(band_weight) * (x0_pred - x0d), err)
            per_sample = per_sample + a.lowfreq_weight * lowfreq_mse(err, a.lowfreq_sigma)
        if a.ssim_weight > 0:
            # The clean image the warm-start sampler returns, scored as the metrics score it (HU, the
            # CONTRACT's SSIM); only where it is that sampler's input and the condition is given.
            hu = lambda m: m * norm["scale"] + norm["offset"]
            scored = from_low_d & (mask > 0)
            term = ssim_loss(hu(x0_pred), hu(x0d), a.ssim_window)
            per_sample = per_sample + a.ssim_weight * torch.where(scored, term, torch.zeros_like(term))
        loss = torch.sum(w * per_sample) / w.sum()
        lr = lr_at(it)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(0.999, (1 + it) / (10 + it))
            # One fused call per operation instead of two small kernels per tensor (GPU: launch-bound).
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, model_params, alpha=1 - decay)
            # Summed on the device and read every --log-every iterations: a .item() per step would make the
            # CPU wait for the GPU each iteration.
            loss_sum += loss.detach()
        loss_count += 1
        position = it + 1
        if position % a.log_every == 0 or position == total:
            m = loss_sum.item() / loss_count
            loss_sum.zero_()
            loss_count = 0
            curve.append([position, round(m, 6)])
            lr_curve.append([position, lr])
            el = time.time() - t0
            print(f"iter {position}/{total} loss {m:.5f} lr {lr:.2e} {el:.0f}s", flush=True)
    wall = time.time() - t0
    cpu = time.process_time() - c0
    done = position - start
    # Finished when the plan ran out (iterations or its time budget), not when a chunk limit stopped it.
    finished = chunk_stop is None
    plan_after = lr_schedule.advanced(plan, position, plan["wallSeconds"] + wall, plan["cpuSeconds"] + cpu, finished)

    os.makedirs(a.out, exist_ok=True)
    ema = ema.cpu().eval()
    ckpt = os.path.join(CACHE, "checkpoints", f"{name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    # What --resume needs to continue the schedule exactly (schedule.py), beside the checkpoint; the
    # token pairs the two files, so a state file left by another run of this name is not taken.
    state_file, token = lr_schedule.state_path(ckpt), os.urandom(8).hex()
    torch.save({"token": token, "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": opt.state_dict(), "torchGenerator": gen.get_state(), "streams": batches.state(),
                "seed": seed, "trainOnly": a.train_only, "options": options}, state_file)
    prior_iters = previous.get("iterations", 0) if previous else 0
    prior_wall = previous.get("wallSeconds", 0.0) if previous else 0.0
    prior_cpu = previous.get("cpuSeconds", 0.0) if previous else 0.0
    torch.save({"state": ema.state_dict(), "channels": cfg["channels"], "prediction": a.prediction, "condChannels": cond_channels,
                **({"context": list(context), "contextHidden": a.context_hidden} if context else {}),
                "schedule": a.schedule, "normalization": norm, "iterations": prior_iters + done,
                "wallSeconds": prior_wall + wall, "cpuSeconds": prior_cpu + cpu, "history": (previous.get("history", []) if previous else []) + [
                    {"iterations": done, "wallSeconds": round(wall, 1), "cpuSeconds": round(cpu, 1), "lossCurve": curve,
                     "lrCurve": lr_curve, "lrSchedule": {"mode": mode, "from": start, "to": position, "plannedIterations": total}}],
                # The plan and where it got; what continuing it needs besides is in the state file.
                "lrSchedule": {**plan_after, "stateFile": os.path.basename(state_file), "stateToken": token}}, ckpt)
    if chunk_stop:
        print(f"stopped at iteration {position} of {total} ({chunk_stop}); the schedule continues with --resume {ckpt}", flush=True)
    onnx_path = os.path.join(a.out, f"{name}.onnx")
    try:
        export_onnx(ema, onnx_path)
    except Exception as e:  # noqa: BLE001 - the checkpoint is saved; the ONNX file can be made from it later
        print(f"ONNX export failed ({type(e).__name__}: {e}); the checkpoint {ckpt} is saved: "
              f"/usr/bin/python3 scripts/train/export-onnx.py {ckpt} {onnx_path}", flush=True)
    card = {
        "format": "lowdose-model-card/1",
        "name": name,
        "description": f"Conditional diffusion denoiser for low-dose {'CT' if a.modality == 'CT' else 'PET'} "
                       f"(compact UNet, {count_params(ema)} parameters)",
        "modalities": ["CT"] if a.modality == "CT" else ["PT"],
        "onnx": f"{name}.onnx",
        "inputs": {
            "sample": {"name": "sample", "shape": ["B", 1, "H", "W"]},
            "timestep": {"name": "timestep", "shape": ["B"]},
            "condition": {"name": "condition", "shape": ["B", cond_channels, "H", "W"]},
            "doseLevel": {"name": "doseLevel", "shape": ["B"]},
            "conditionMask": {"name": "conditionMask", "shape": ["B"]},
        },
        "output": {"name": "output", "shape": ["B", 1, "H", "W"]},
        "neighbours": 1 if a.neighbours else 0,
        "prediction": a.prediction,
        "schedule": {"kind": a.schedule, "trainSteps": sched.T, **SCHEDULE_PARAMS[a.schedule]},
        "normalization": norm,
        "tile": {"multipleOf": ema.multiple_of, "overlap": 32},
        "sampler": {"default": "ddim", "steps": 1, "eta": 0.0},
        "guidance": {"conditionDropout": p_drop_cond, "default": 1.0},
        # The dose --texture full-dose assumes when the input's is not given (docs/diffusion.md, Texture).
        "texture": {"defaultDose": 0.25},
        "training": {
            "config": a.config, "seed": seed, "iterations": prior_iters + done, "plannedIterations": total,
            "lrSchedule": {"iterations": position, "finished": finished, **({"continuedFrom": start} if mode == "continue" else {}),
                           **({"budgetMinutes": plan["budgetSeconds"] / 60} if plan["budgetSeconds"] else {}),
                           **({"cpuBudgetSeconds": plan["cpuBudgetSeconds"]} if plan["cpuBudgetSeconds"] else {})},
            **({"resumedFrom": {"checkpoint": os.path.relpath(a.resume, REPO), "iterations": prior_iters,
                                "wallSeconds": round(prior_wall, 1)}} if previous else {}),
            "batch": cfg["batch"], "patch": cfg["patch"], **({"samplerWorkers": a.workers} if a.workers else {}), "lr": cfg["lr"], "optimizer": "AdamW, cosine decay, EMA 0.999",
            "loss": f"MSE on the {a.prediction} target; t = {sched.T - 1} for a fraction {a.t_focus} of samples, "
                    + (f"uniform in 0..{a.t_low_max} for a fraction {a.t_low_fraction}, " if a.t_low_fraction > 0 else "")
                    + (f"of which {a.warm_fraction} with x_t made from the low-dose image (warm-start consistent, x0 loss x 1/(1 - abar_{a.t_low_max})), " if a.warm_fraction > 0 else "")
                    + f"else uniform in 0..{sched.T - 1}; condition-dropped samples weighted {a.uncond_weight}"
                    + (f"; pixel weight 1 + {a.lesion_weight} x lesion coverage" if a.lesion_weight > 0 else "")
                    + (f"; + {a.lesion_mean_weight} x squared error of the lesion-coverage-weighted mean" if a.lesion_mean_weight > 0 else "")
                    + (f"; plus {a.lowfreq_weight} x MSE of the error blurred with a {a.lowfreq_sigma} px Gaussian (low-frequency term)"
                       if a.lowfreq_weight > 0 else "")
                    + (f"; plus {a.ssim_weight} x (1 - SSIM) of the predicted clean image in HU, window {a.ssim_window} "
                       f"({', '.join(f'[{lo:g}, {hi:g}]' for lo, hi in SSIM_WINDOWS[a.ssim_window])}), on the conditioned "
                       "warm-start samples" if a.ssim_weight > 0 else ""),
            "unknownDoseFraction": p_unknown_dose,
            "doseRange": [0.05, 0.5],
            **({"sharperKernelAugmentation": {"fraction": a.sharpen, "amount": list(SHARPEN_AMOUNT), "sigmaPx": list(SHARPEN_SIGMA),
                                              "filter": "x + amount * (x - gaussian(x, sigma)) on the clean and low-dose patch alike"}}
               if a.sharpen > 0 else {}),
            **({"faintDiskAugmentation": {"fraction": a.faint_disks, "radiusPx": list(FAINT_DISK_RADIUS_PX),
                                          "contrastHu": list(FAINT_DISK_CONTRAST_HU),
                                          "what": "1 to 3 soft-edged disks centred in soft tissue, added to the clean and low-dose patch alike"}}
               if a.faint_disks > 0 else {}),
            "wallSeconds": round(prior_wall + wall, 1),
            "cpuSeconds": round(prior_cpu + cpu, 1),
            "hardware": f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads (shared 2-core VM), torch {torch.__version__}"
                        if dev.type == "cpu" else f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}",
            "lossCurve": curve[:: max(1, len(curve) // 20)] + ([curve[-1]] if curve else []),
            "finalLoss": curve[-1][1] if curve else None,
            "split": split,
            **({"realPairs": {"volumes": [v["meta"]["volume"] for v in vols if is_real_pair(v)], "weight": a.real_weight,
                              "source": "../shared/ldct-mayo (AAPM-Mayo LDCT Grand Challenge), scripts/train/export-real-pairs.ts"}}
               if any(is_real_pair(v) for v in vols) else {}),
            "lowDoseSource": "src/simulate (projection-domain noise insertion for CT, count reduction + OSEM for PET) via scripts/train/export-dataset.ts",
            "parameters": count_params(ema),
            "channels": list(cfg["channels"]),
            "receptiveFieldPx": receptive_field(ema),
            **({"context": {"dilations": list(context), "hidden": a.context_hidden,
                            "block": "residual, two dilated 3x3 convolutions with FiLM between, after the bottleneck block; "
                                     "second convolution zero-initialised (scripts/train/model.py ContextBlock)",
                            **({"grownFrom": os.path.relpath(a.resume, REPO)} if grown else {})}} if context else {}),
            **({"trainedOnly": a.train_only.split(",")} if a.train_only else {}),
            "date": datetime.date.today().isoformat(),
        },
        "quality": {"status": "not yet evaluated: run scripts/train/evaluate.py"},
    }
    card_path = os.path.join(a.out, f"{name}.json")
    if os.path.exists(card_path):
        # Keep measured quality and sampler choices from an earlier evaluation only if it was of these weights: it is not.
        pass
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2, allow_nan=False)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes) and {card_path}; {done} iters in {wall:.0f}s ({cpu:.0f} s CPU)")


def grow(model, previous, net_args, channels):
    """Loads a network without ContextBlocks into `model`, which has them: every other weight must be
    there, and the grown network must give the original's output exactly (the blocks add x + 0)."""
    missing, unexpected = model.load_state_dict(previous["state"], strict=False)
    if unexpected or any(not k.startswith("ctx.") for k in missing):
        raise SystemExit(f"cannot grow: missing {missing}, unexpected {unexpected}")
    plain = CondUNet(channels, **{**net_args, "context": ()})
    plain.load_state_dict(previous["state"])
    g = torch.Generator().manual_seed(0)
    C = net_args["cond_channels"]
    args = (torch.randn(2, 1, 64, 48, generator=g), torch.tensor([999.0, 20.0]), torch.randn(2, C, 64, 48, generator=g),
            torch.tensor([0.25, 0.0]), torch.tensor([1.0, 0.0]))
    with torch.no_grad():
        same = torch.equal(copy.deepcopy(model).cpu().eval()(*args), plain.eval()(*args))
    if not same:
        raise SystemExit("the grown network does not reproduce the original's output")
    print(f"grown by context blocks {list(net_args['context'])}: output identical to the resumed network's", flush=True)


def export_onnx(model, path):
    B, H, W = 1, 64, 64
    args = (torch.zeros(B, 1, H, W), torch.zeros(B), torch.zeros(B, model.cond_channels, H, W), torch.zeros(B), torch.ones(B))
    export_graph(model, args, path)


if __name__ == "__main__":
    main()
