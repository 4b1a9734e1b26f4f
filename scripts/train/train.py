#!/usr/bin/env python3
"""Train a lowdose conditional diffusion denoiser from scratch and write models/<name>.onnx + its card.

  /usr/bin/python3 scripts/train/train.py --modality CT --config cpu-small
  /usr/bin/python3 scripts/train/train.py --modality PT --config cpu-small
  python3 scripts/train/train.py --modality CT --config gpu        # CUDA, ~8 min on an H100 (untested here)

Needs the exported data in .cache/train (scripts/train/export-dataset.ts). Fixed seed: the same
command on the same machine gives the same weights (CPU; CUDA convolutions are not bit-deterministic).
"""
import argparse
import copy
import datetime
import inspect
import json
import math
import os
import platform
import time

import numpy as np
import torch

from data import CACHE, REPO, SHARPEN_AMOUNT, SHARPEN_SIGMA, PatchSampler, is_real_pair, volumes_in
from diffusion import Schedule
from losses import lowfreq_mse
from model import CondUNet, count_params, receptive_field

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
    ap.add_argument("--minutes", type=float, default=None, help="stop after this wall time (recorded)")
    ap.add_argument("--cpu-seconds", type=float, default=None,
                    help="stop after this much CPU time of this process (a budget that does not depend on what else the "
                         "machine runs; docs/latent.md compares models at equal CPU time); the lr decay then follows it")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--name", default=None, help="model name (default lowdose-<ct|pet>)")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0,
                    help="patch-sampling worker processes (GPU runs: the CT sampler, ~40 ms per batch of 64 on one "
                         "core, is slower than a training step there); each has its own seeded generator, and batches "
                         "are taken from them in turn, so a run stays reproducible for a given count")
    ap.add_argument("--resume", default=None, help="start from this checkpoint's (EMA) weights and add its iterations to the card")
    return ap.parse_args()


class _SampledBatches(torch.utils.data.IterableDataset):
    def __init__(self, sampler: PatchSampler, batch: int, seed: int):
        self.sampler, self.batch, self.seed = sampler, batch, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        # Each worker (a forked copy of the sampler, volumes shared) draws from its own stream.
        self.sampler.rng = np.random.default_rng([self.seed, info.id])
        while True:
            yield self.sampler.batch(self.batch)


def sampled_batches(sampler: PatchSampler, batch: int, workers: int, seed: int):
    """Endless (clean, low, dose) batches: drawn here (workers = 0, the sampler's own generator) or by
    worker processes that the DataLoader reads in a fixed round-robin order."""
    if workers == 0:
        while True:
            yield sampler.batch(batch)
    loader = torch.utils.data.DataLoader(_SampledBatches(sampler, batch, seed), batch_size=None,
                                         num_workers=workers, prefetch_factor=4, persistent_workers=True)
    yield from loader


def main():
    a = parse()
    cfg = dict(CONFIGS[a.config])
    if a.warm_fraction > 0 and a.prediction != "v":
        raise SystemExit("--warm-fraction needs --prediction v")
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
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
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
    sampler = PatchSampler(vols, a.modality, norm, cfg["patch"], np.random.default_rng(a.seed),
                           neighbours=a.neighbours, sharpen=a.sharpen, real_weight=a.real_weight, lesion_masks=lesion_loss)
    batches = sampled_batches(sampler, cfg["batch"], a.workers, a.seed)
    cond_channels = 3 if a.neighbours else 1
    sched = Schedule(a.schedule, 1000)
    net_args = dict(cond_channels=cond_channels, prediction=a.prediction, context=context, context_hidden=a.context_hidden)
    model = CondUNet(cfg["channels"], **net_args).to(dev)
    ema = CondUNet(cfg["channels"], **net_args).to(dev)
    previous = None
    grown = False
    if a.resume:
        previous = torch.load(a.resume, map_location="cpu", weights_only=False)
        if (previous["prediction"] != a.prediction or tuple(previous["channels"]) != tuple(cfg["channels"])
                or previous.get("condChannels", 1) != cond_channels):
            raise SystemExit(f"{a.resume} is a {previous['prediction']} model with channels {previous['channels']} "
                             f"and {previous.get('condChannels', 1)} condition channels")
        before = tuple(previous.get("context", ()))
        if before == context and (not context or previous.get("contextHidden", 32) == a.context_hidden):
            model.load_state_dict(previous["state"])
        elif not before and context:
            grow(model, previous, net_args, cfg["channels"])
            grown = True
        else:
            raise SystemExit(f"{a.resume} has context {list(before)} (hidden {previous.get('contextHidden', 32)}); "
                             f"asked for {list(context)} (hidden {a.context_hidden})")
    ema.load_state_dict(model.state_dict())
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
    total = cfg["iters"]
    warm = min(200, total // 10 + 1)

    budget = a.minutes * 60 if a.minutes else None

    def progress(i):
        # With --minutes the cosine decay follows wall time, so a time-boxed run still anneals.
        p = i / total
        if budget:
            p = max(p, (time.time() - t0) / budget)
        if a.cpu_seconds:
            p = max(p, (time.process_time() - c0) / a.cpu_seconds)
        return min(p, 1.0)

    def lr_at(i):
        return cfg["lr"] * min(1.0, (i + 1) / warm) * (0.5 * (1 + math.cos(math.pi * progress(i))) * 0.95 + 0.05)

    gen = torch.Generator().manual_seed(a.seed)
    p_drop_cond, p_unknown_dose = 0.1, 0.3
    # Warm samples' x0 loss is weighted like the v loss at the band's top (v error = x0 error / (1 - abar)).
    band_weight = 1.0 / (1.0 - float(sched.abar[a.t_low_max]))
    t0, c0 = time.time(), time.process_time()
    curve = []
    ema_params, model_params = list(ema.parameters()), list(model.parameters())
    loss_sum, loss_count = torch.zeros((), device=dev), 0
    done = 0
    for it in range(total):
        if budget and time.time() - t0 > budget:
            break
        if a.cpu_seconds and time.process_time() - c0 > a.cpu_seconds:
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
        loss = torch.sum(w * per_sample) / w.sum()
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(0.999, (1 + it) / (10 + it))
            # One fused call per operation instead of two small kernels per tensor (GPU: launch-bound).
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, model_params, alpha=1 - decay)
            # Summed on the device and read every 100 iterations: a .item() per step would make the
            # CPU wait for the GPU each iteration.
            loss_sum += loss.detach()
        loss_count += 1
        done = it + 1
        if done % 100 == 0 or done == total:
            m = loss_sum.item() / loss_count
            loss_sum.zero_()
            loss_count = 0
            curve.append([done, round(m, 6)])
            el = time.time() - t0
            print(f"iter {done}/{total} loss {m:.5f} lr {lr_at(it):.2e} {el:.0f}s", flush=True)
    wall = time.time() - t0
    cpu = time.process_time() - c0

    os.makedirs(a.out, exist_ok=True)
    ema = ema.cpu().eval()
    ckpt = os.path.join(CACHE, "checkpoints", f"{name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    prior_iters = previous.get("iterations", 0) if previous else 0
    prior_wall = previous.get("wallSeconds", 0.0) if previous else 0.0
    prior_cpu = previous.get("cpuSeconds", 0.0) if previous else 0.0
    torch.save({"state": ema.state_dict(), "channels": cfg["channels"], "prediction": a.prediction, "condChannels": cond_channels,
                **({"context": list(context), "contextHidden": a.context_hidden} if context else {}),
                "schedule": a.schedule, "normalization": norm, "iterations": prior_iters + done,
                "wallSeconds": prior_wall + wall, "cpuSeconds": prior_cpu + cpu, "history": (previous.get("history", []) if previous else []) + [
                    {"iterations": done, "wallSeconds": round(wall, 1), "cpuSeconds": round(cpu, 1), "lossCurve": curve}]}, ckpt)
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
            "config": a.config, "seed": a.seed, "iterations": prior_iters + done, "plannedIterations": total,
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
                       if a.lowfreq_weight > 0 else ""),
            "unknownDoseFraction": p_unknown_dose,
            "doseRange": [0.05, 0.5],
            **({"sharperKernelAugmentation": {"fraction": a.sharpen, "amount": list(SHARPEN_AMOUNT), "sigmaPx": list(SHARPEN_SIGMA),
                                              "filter": "x + amount * (x - gaussian(x, sigma)) on the clean and low-dose patch alike"}}
               if a.sharpen > 0 else {}),
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
    names = ["sample", "timestep", "condition", "doseLevel", "conditionMask"]
    dyn = {"sample": {0: "B", 2: "H", 3: "W"}, "timestep": {0: "B"}, "condition": {0: "B", 2: "H", 3: "W"},
           "doseLevel": {0: "B"}, "conditionMask": {0: "B"}, "output": {0: "B", 2: "H", 3: "W"}}
    # Newer torch defaults to the dynamo exporter; the TorchScript one takes dynamic_axes as written.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, args, path, input_names=names, output_names=["output"], dynamic_axes=dyn,
                      opset_version=17, do_constant_folding=True, **legacy)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)


if __name__ == "__main__":
    main()
