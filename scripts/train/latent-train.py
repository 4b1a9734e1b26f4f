#!/usr/bin/env python3
"""Train a conditional latent diffusion denoiser on a frozen CT autoencoder (scripts/train/autoencoder.py)
and write <out>/<name>.onnx (the latent denoiser), <name>-encoder.onnx, <name>-decoder.onnx and the
card <name>.json (`space: "latent"`, docs/diffusion.md and docs/latent.md).

  /usr/bin/python3 scripts/train/latent-train.py --autoencoder .cache/checkpoints/lowdose-ct-ae-f4.pt \
      --minutes 8 --name lowdose-ct-latent --out .cache/candidates [--resume .cache/checkpoints/lowdose-ct-latent.pt]

The network is train.py's CondUNet with latent channels in and out; the condition is the encoded
low-dose slice (same latent grid), so the toolkit's samplers run on the latent exactly as on pixels
(warm start starts from the encoded low-dose slice). The loss is train.py's warm-start-consistent v
loss with the shipped CT model's settings (--t-focus 0.1 --t-low-fraction 0.7 --t-low-max 100
--warm-fraction 0.7 --sharpen 0.3, real pairs drawn 12x), in latent space.
"""
import argparse
import datetime
import json
import math
import os
import platform
import time

import numpy as np
import torch

from autoencoder import NORM, load_autoencoder
from data import CACHE, REPO, SHARPEN_AMOUNT, SHARPEN_SIGMA, PatchSampler, volumes_in
from diffusion import Schedule
from model import CondUNet, count_params, export_graph

TRAIN = ["lidc-0001-chest", "crlm-1004-abdomen", "mayo-L143-B30f", "mayo-L143-D45f"]
SPLIT = {"train": TRAIN, "validation": ["lidc-0314-chest", "mayo-L192 (real pairs)"],
         "test": ["lungdx-a0001-chest-kernelB", "lungdx-a0001-chest-kernelL", "crlm-1006-abdomen"]}


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autoencoder", required=True)
    ap.add_argument("--name", default="lowdose-ct-latent")
    ap.add_argument("--out", default=os.path.join(REPO, ".cache", "candidates"))
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--cpu-seconds", type=float, default=None, help="also stop after this much CPU time of this process")
    ap.add_argument("--iters", type=int, default=10 ** 9)
    ap.add_argument("--channels", default="16,32,64")
    ap.add_argument("--patch", type=int, default=96, help="pixel patch (the latent patch is patch / factor)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (a GPU session: scripts/device/latent.sh)")
    ap.add_argument("--t-focus", type=float, default=0.1)
    ap.add_argument("--t-low-fraction", type=float, default=0.7)
    ap.add_argument("--t-low-max", type=int, default=100)
    ap.add_argument("--warm-fraction", type=float, default=0.7)
    ap.add_argument("--uncond-weight", type=float, default=0.1)
    ap.add_argument("--sharpen", type=float, default=0.3)
    ap.add_argument("--real-weight", type=float, default=12.0)
    ap.add_argument("--strength", type=float, default=0.1, help="the card's default warm-start strength")
    return ap.parse_args()


def main():
    a = parse()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    dev = torch.device(a.device if a.device != "cuda" or torch.cuda.is_available() else "cpu")
    enc, dec, ae = load_autoencoder(a.autoencoder)
    for p in list(enc.parameters()) + list(dec.parameters()):
        p.requires_grad_(False)
    C, f = ae["channels"], ae["factor"]
    channels = tuple(int(c) for c in a.channels.split(","))
    vols = volumes_in("train", "CT", TRAIN)
    sampler = PatchSampler(vols, "CT", NORM, a.patch, np.random.default_rng(a.seed), sharpen=a.sharpen, real_weight=a.real_weight)
    sched = Schedule("cosine", 1000)
    model = CondUNet(channels, cond_channels=C, prediction="v", sample_channels=C)
    ema = CondUNet(channels, cond_channels=C, prediction="v", sample_channels=C)
    prior = None
    if a.resume:
        prior = torch.load(a.resume, map_location="cpu")
        model.load_state_dict(prior["state"])
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    enc, model, ema = enc.to(dev), model.to(dev), ema.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(a.seed)
    band_weight = 1.0 / (1.0 - float(sched.abar[a.t_low_max]))
    budget = a.minutes * 60

    def spent():
        # The larger share of either budget: wall minutes, or CPU seconds of this process (--cpu-seconds).
        w = (time.time() - t0) / budget
        return max(w, (time.process_time() - c0) / a.cpu_seconds) if a.cpu_seconds else w
    t0, c0 = time.time(), time.process_time()
    curve, loss_sum, loss_n, it = [], 0.0, 0, 0
    while spent() < 1.0 and it < a.iters:
        x0p, xlp, d = sampler.batch(a.batch)
        with torch.no_grad():
            z = enc(torch.cat([x0p, xlp]).to(dev)).cpu()
        x0, xl = z[: a.batch], z[a.batch:]
        B = a.batch
        t = torch.randint(0, sched.T, (B,), generator=gen)
        u = torch.rand(B, generator=gen)
        t = torch.where(u < a.t_focus, torch.full_like(t, sched.T - 1), t)
        in_band = (u >= a.t_focus) & (u < a.t_focus + a.t_low_fraction)
        t = torch.where(in_band, torch.randint(0, a.t_low_max + 1, (B,), generator=gen), t)
        eps = torch.randn(x0.shape, generator=gen)
        mask = (torch.rand(B, generator=gen) >= 0.1).float()
        dose = torch.where(torch.rand(B, generator=gen) < 0.3, torch.zeros(B), d)
        x_t = sched.q_sample(x0, t, eps)
        target = sched.target("v", x0, eps, t)
        # Warm start at inference noises the encoded low-dose slice: show the network that x_t too.
        from_low = in_band & (torch.rand(B, generator=gen) < a.warm_fraction)
        x_t = torch.where(from_low[:, None, None, None], sched.q_sample(xl, t, eps), x_t)
        x_t, xl_d, dose, mask, target, tt, x0_d, from_low_d = (v.to(dev) for v in (x_t, xl, dose, mask, target, t.float(), x0, from_low))
        out = model(x_t, tt, xl_d, dose, mask)
        per_sample = torch.mean((out - target) ** 2, dim=(1, 2, 3))
        ab = sched.ab(t).to(dev)[:, None, None, None]
        x0_pred = ab.sqrt() * x_t - (1 - ab).sqrt() * out
        per_sample = torch.where(from_low_d, band_weight * torch.mean((x0_pred - x0_d) ** 2, dim=(1, 2, 3)), per_sample)
        w = mask + (1 - mask) * a.uncond_weight
        loss = torch.sum(w * per_sample) / w.sum()
        p = min(1.0, spent())
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, (it + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(0.999, (1 + it) / (10 + it))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm, alpha=1 - decay)
        loss_sum += float(loss)
        loss_n += 1
        it += 1
        if it % 100 == 0:
            curve.append([it, round(loss_sum / loss_n, 6)])
            print(f"iter {it} loss {loss_sum / loss_n:.5f} {time.time() - t0:.0f}s", flush=True)
            loss_sum, loss_n = 0.0, 0
    wall, cpu = time.time() - t0, time.process_time() - c0
    enc, ema = enc.cpu(), ema.cpu().eval()
    history = (prior.get("history", []) if prior else []) + [
        {"iterations": it, "wallSeconds": round(wall, 1), "cpuSeconds": round(cpu, 1), "threads": a.threads, "lossCurve": curve}]
    iters = sum(h["iterations"] for h in history)
    ckpt = os.path.join(CACHE, "checkpoints", f"{a.name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    torch.save({"state": ema.state_dict(), "channels": channels, "prediction": "v", "latentChannels": C, "factor": f,
                "autoencoder": os.path.relpath(a.autoencoder, REPO), "iterations": iters, "history": history,
                "wallSeconds": round(sum(h["wallSeconds"] for h in history), 1),
                "cpuSeconds": round(sum(h["cpuSeconds"] for h in history), 1)}, ckpt)
    os.makedirs(a.out, exist_ok=True)
    prefix = os.path.join(a.out, a.name)
    export_latent_unet(ema, C, f"{prefix}.onnx")
    kind = ae.get("kind", "learned")
    export_codec(enc, dec, C, f, prefix, kind)
    card = {
        "format": "lowdose-model-card/1",
        "name": a.name,
        "description": (f"Conditional latent diffusion denoiser for low-dose CT: a lossless {f}x pixel-unshuffle codec ({C} latent channels) "
                        f"and a compact UNet on its latent ({count_params(ema)} parameters)" if kind == "unshuffle" else
                        f"Conditional latent diffusion denoiser for low-dose CT: a {f}x autoencoder ({C} latent channels) "
                        f"and a compact UNet on its latent ({count_params(ema)} + {count_params(enc) + count_params(dec)} parameters)"),
        "modalities": ["CT"],
        "onnx": f"{a.name}.onnx",
        "space": "latent",
        "latent": {
            "factor": f, "channels": C,
            "encoder": {"onnx": f"{a.name}-encoder.onnx", "input": {"name": "image", "shape": ["B", 1, "H", "W"]},
                        "output": {"name": "latent", "shape": ["B", C, "h", "w"]}},
            "decoder": {"onnx": f"{a.name}-decoder.onnx", "input": {"name": "latent", "shape": ["B", C, "h", "w"]},
                        "output": {"name": "image", "shape": ["B", 1, "H", "W"]}},
            "scale": [round(float(s), 6) for s in enc.scale],
            "kind": kind,
            "note": ("pixel unshuffle: channel k holds pixel k of each f x f block (exact inverse in the decoder)" if kind == "unshuffle" else
                     "channel 0 is the f x f block mean of the image") + "; scale (per channel, folded into both graphs) makes the latents about unit variance",
        },
        "inputs": {
            "sample": {"name": "sample", "shape": ["B", C, "H", "W"]},
            "timestep": {"name": "timestep", "shape": ["B"]},
            "condition": {"name": "condition", "shape": ["B", C, "H", "W"]},
            "doseLevel": {"name": "doseLevel", "shape": ["B"]},
            "conditionMask": {"name": "conditionMask", "shape": ["B"]},
        },
        "output": {"name": "output", "shape": ["B", C, "H", "W"]},
        "neighbours": 0,
        "prediction": "v",
        "schedule": {"kind": "cosine", "trainSteps": 1000, "s": 0.008},
        "normalization": NORM,
        "tile": {"multipleOf": ema.multiple_of, "overlap": 8},
        "sampler": {"default": "warm-start", "steps": 1, "eta": 0.0, "spacing": "trailing", "strength": a.strength},
        "guidance": {"conditionDropout": 0.1, "default": 1.0},
        "texture": {"defaultDose": 0.25},
        "training": {
            "config": "latent, cpu", "seed": a.seed, "iterations": iters, "batch": a.batch, "patch": a.patch,
            "latentPatch": a.patch // f, "lr": a.lr, "optimizer": "AdamW, 100-iteration warm-up, cosine decay over the budget (the larger share of wall minutes or --cpu-seconds), restarted each stage, EMA 0.999",
            "loss": f"MSE on the v target in latent space; t = 999 for a fraction {a.t_focus}, uniform in 0..{a.t_low_max} for a fraction "
                    f"{a.t_low_fraction}, of which {a.warm_fraction} with x_t made from the encoded low-dose slice (x0 loss x 1/(1 - abar_{a.t_low_max})), "
                    f"else uniform in 0..999; condition-dropped samples weighted {a.uncond_weight}",
            "unknownDoseFraction": 0.3, "doseRange": [0.05, 0.5],
            "sharperKernelAugmentation": {"fraction": a.sharpen, "amount": list(SHARPEN_AMOUNT), "sigmaPx": list(SHARPEN_SIGMA)},
            "realPairs": {"volumes": ["mayo-L143-B30f", "mayo-L143-D45f"], "weight": a.real_weight},
            "wallSeconds": round(sum(h["wallSeconds"] for h in history), 1),
            "cpuSeconds": round(sum(h["cpuSeconds"] for h in history), 1),
            # Each resumed stage restarts the warm-up and the cosine decay: the stages say how the total was reached.
            "stages": [{"iterations": h["iterations"], "cpuSeconds": h.get("cpuSeconds"), "wallSeconds": h["wallSeconds"]} for h in history],
            "autoencoder": {"checkpoint": os.path.relpath(a.autoencoder, REPO), "iterations": ae["iterations"],
                            "wallSeconds": ae["wallSeconds"], "cpuSeconds": ae.get("cpuSeconds"), "loss": ae["loss"],
                            "batch": ae["batch"], "patch": ae["patch"]},
            "hardware": (f"{platform.machine()} CPU, {a.threads} thread(s) (shared 2-core VM)" if dev.type == "cpu"
                         else torch.cuda.get_device_name(0)) + f", torch {torch.__version__}",
            "lossCurve": curve[:: max(1, len(curve) // 20)] + ([curve[-1]] if curve else []),
            "split": SPLIT,
            "lowDoseSource": "src/simulate (projection-domain noise insertion) via scripts/train/export-dataset.ts; real L143 pairs via export-real-pairs.ts",
            "parameters": {"denoiser": count_params(ema), "encoder": count_params(enc), "decoder": count_params(dec)},
            "channels": list(channels),
            "date": datetime.date.today().isoformat(),
        },
        "quality": {"status": "see docs/latent.md"},
    }
    with open(f"{prefix}.json", "w") as fh:
        json.dump(card, fh, indent=2, allow_nan=False)
        fh.write("\n")
    print(f"wrote {prefix}.json / .onnx / -encoder.onnx / -decoder.onnx and {ckpt}: {it} iterations in {wall:.0f} s ({cpu:.0f} s CPU)")


def export_latent_unet(model, C, path):
    h = w = 16
    args = (torch.zeros(1, C, h, w), torch.zeros(1), torch.zeros(1, C, h, w), torch.zeros(1), torch.ones(1))
    export_graph(model, args, path)


def export_codec(enc, dec, C, f, prefix, kind):
    from autoencoder import export as export_ae

    class A:
        pass
    # Reuse autoencoder.py's export through a temporary checkpoint of exactly these weights.
    tmp = f"{prefix}.ae.tmp.pt"
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "factor": f, "channels": C, "kind": kind}, tmp)
    args = A()
    args.checkpoint, args.prefix = tmp, prefix
    try:
        export_ae(args)
    finally:
        os.remove(tmp)


if __name__ == "__main__":
    main()
