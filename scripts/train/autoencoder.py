#!/usr/bin/env python3
"""A CT slice autoencoder for latent diffusion: 4x or 8x downsampling, a reconstruction loss that keeps HU.

  # train (fixed seed; --minutes stops early, the cosine lr then follows wall time; --resume continues)
  /usr/bin/python3 scripts/train/autoencoder.py train --factor 4 --channels 4 --minutes 8 --name lowdose-ct-ae-f4
  # reconstruction PSNR / SSIM / max HU error on the test volumes and the real full-dose slices
  /usr/bin/python3 scripts/train/autoencoder.py eval .cache/checkpoints/lowdose-ct-ae-f4.pt --out models/eval/latent-ae-f4.json
  # encoder and decoder as ONNX (latent scale folded in)
  /usr/bin/python3 scripts/train/autoencoder.py export .cache/checkpoints/lowdose-ct-ae-f4.pt models/lowdose-ct-latent

Design (docs/latent.md):
- Latent channel 0 is fixed, not learned: the f x f block mean of the image (model units, HU / 1000).
  The decoder adds its bilinear upsampling to what it decodes from all channels, so the local mean
  HU passes through the latent by construction and the learned channels carry only the detail.
- Loss, in model units: L1 + 4 x |f x f block mean of the error| + 1e-4 x mean(z^2) (keeps the learned
  channels' scale bounded). The block-mean term is what "keeps HU": a flat region decodes to its mean.
- Trained on clean and low-dose patches alike (half each): the low-dose slice is encoded as the
  diffusion model's condition, so the encoder must represent it too.
- No normalisation layers (as the denoiser, scripts/train/model.py): fully convolutional, so a
  512 x 512 slice and a 64 px training patch go through the same arithmetic.
- Export divides each latent channel by its standard deviation over training patches (`scale` in
  the checkpoint), so the diffusion model sees latents of about unit variance; the decoder undoes it.
"""
import argparse
import datetime
import glob
import inspect
import json
import math
import os
import platform
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from data import CACHE, REPO, PatchSampler, from_model_units, load_volume, to_model_units, volumes_in

NORM = {"units": "HU", "transform": "linear", "offset": 0.0, "scale": 1000.0, "clip": [-1100.0, 3100.0]}
TRAIN = ["lidc-0001-chest", "crlm-1004-abdomen", "mayo-L143-B30f", "mayo-L143-D45f"]
TEST = ["lungdx-a0001-chest-kernelB", "lungdx-a0001-chest-kernelL", "crlm-1006-abdomen"]
WIDTHS = {4: (16, 32, 64), 8: (16, 32, 64, 64)}


class Res(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1)
        self.c2 = nn.Conv2d(c, c, 3, padding=1)
        nn.init.normal_(self.c2.weight, std=1e-3)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x):
        return x + self.c2(F.silu(self.c1(F.silu(x))))


class Encoder(nn.Module):
    """[B,1,H,W] model units -> [B,C,H/f,W/f]: channel 0 the block mean, 1.. learned; divided by `scale`."""

    def __init__(self, factor: int, channels: int, widths):
        super().__init__()
        self.factor = factor
        self.inp = nn.Conv2d(1, widths[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Sequential(Res(widths[i]), nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1))
                                  for i in range(len(widths) - 1))
        self.mid = Res(widths[-1])
        self.out = nn.Conv2d(widths[-1], channels - 1, 3, padding=1)
        self.register_buffer("scale", torch.ones(channels))

    def forward(self, x):
        h = self.inp(x)
        for d in self.down:
            h = d(h)
        z = torch.cat([F.avg_pool2d(x, self.factor), self.out(F.silu(self.mid(h)))], dim=1)
        return z / self.scale[None, :, None, None]


class Decoder(nn.Module):
    def __init__(self, factor: int, channels: int, widths):
        super().__init__()
        self.factor = factor
        self.inp = nn.Conv2d(channels, widths[-1], 3, padding=1)
        self.mid = Res(widths[-1])
        self.up = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i], 3, padding=1) for i in reversed(range(len(widths) - 1)))
        self.res = nn.ModuleList(Res(widths[i]) for i in reversed(range(len(widths) - 1)))
        self.out = nn.Conv2d(widths[0], 1, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("scale", torch.ones(channels))

    def forward(self, z):
        z = z * self.scale[None, :, None, None]
        base = F.interpolate(z[:, :1], scale_factor=float(self.factor), mode="bilinear", align_corners=False)
        h = self.mid(self.inp(z))
        for up, res in zip(self.up, self.res):
            h = res(up(F.interpolate(h, scale_factor=2.0, mode="nearest")))
        return base + self.out(F.silu(h))


class Unshuffle(nn.Module):
    """The lossless codec: the f x f block of each latent pixel as f^2 channels (pixel unshuffle), / scale."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor
        self.register_buffer("scale", torch.ones(factor * factor))

    def forward(self, x):
        return F.pixel_unshuffle(x, self.factor) / self.scale[None, :, None, None]


class Shuffle(nn.Module):
    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor
        self.register_buffer("scale", torch.ones(factor * factor))

    def forward(self, z):
        return F.pixel_shuffle(z * self.scale[None, :, None, None], self.factor)


def build(factor: int, channels: int, kind: str = "learned"):
    if kind == "unshuffle":
        return Unshuffle(factor), Shuffle(factor)
    w = WIDTHS[factor]
    return Encoder(factor, channels, w), Decoder(factor, channels, w)


def unshuffle(a):
    """Writes the lossless codec's checkpoint (no training: its scale is the latent SD over training patches)."""
    torch.manual_seed(a.seed)
    vols = volumes_in("train", "CT", TRAIN)
    sampler = PatchSampler(vols, "CT", NORM, 64, np.random.default_rng(a.seed), sharpen=0.3, real_weight=4.0)
    enc, dec = build(a.factor, a.factor * a.factor, "unshuffle")
    with torch.no_grad():
        zs = [enc(torch.cat(sampler.batch(8)[:2])) for _ in range(16)]
        scale = torch.cat(zs).transpose(0, 1).reshape(a.factor * a.factor, -1).std(dim=1).clamp(min=1e-3)
    enc.scale.copy_(scale)
    dec.scale.copy_(scale)
    ckpt = os.path.join(CACHE, "checkpoints", f"{a.name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "factor": a.factor, "channels": a.factor * a.factor,
                "kind": "unshuffle", "normalization": NORM, "iterations": 0, "wallSeconds": 0.0, "cpuSeconds": 0.0, "history": [],
                "batch": 0, "patch": 0, "lr": 0, "seed": a.seed, "train": TRAIN,
                "loss": "none: pixel unshuffle (f x f block -> f^2 channels) and its inverse, exact up to float rounding",
                "date": datetime.date.today().isoformat()}, ckpt)
    print(f"wrote {ckpt}: lossless f{a.factor} codec, {a.factor * a.factor} channels, scale {[round(float(v), 4) for v in scale]}")


def load_autoencoder(path: str):
    st = torch.load(path, map_location="cpu")
    enc, dec = build(st["factor"], st["channels"], st.get("kind", "learned"))
    enc.load_state_dict(st["encoder"])
    dec.load_state_dict(st["decoder"])
    return enc.eval(), dec.eval(), st


def count(m):
    return sum(p.numel() for p in m.parameters())


# ---- train --------------------------------------------------------------------------------------

def train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    vols = volumes_in("train", "CT", TRAIN)
    sampler = PatchSampler(vols, "CT", NORM, a.patch, np.random.default_rng(a.seed), sharpen=0.3, real_weight=4.0)
    dev = torch.device(a.device if a.device != "cuda" or torch.cuda.is_available() else "cpu")
    enc, dec = build(a.factor, a.channels)
    prior = None
    if a.resume:
        prior = torch.load(a.resume, map_location="cpu")
        if prior["factor"] != a.factor or prior["channels"] != a.channels:
            raise SystemExit(f"{a.resume} is f{prior['factor']} c{prior['channels']}")
        enc.load_state_dict(prior["encoder"])
        dec.load_state_dict(prior["decoder"])
        enc.scale.fill_(1.0)
        dec.scale.fill_(1.0)
    enc, dec = enc.to(dev), dec.to(dev)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(a.seed)
    t0, c0 = time.time(), time.process_time()
    budget = a.minutes * 60

    def spent():
        # The larger share of either budget: wall minutes, or CPU seconds of this process (--cpu-seconds).
        w = (time.time() - t0) / budget
        return max(w, (time.process_time() - c0) / a.cpu_seconds) if a.cpu_seconds else w
    curve, run_sum, run_n, it = [], 0.0, 0, 0
    while spent() < 1.0 and it < a.iters:
        x0, xl, _ = sampler.batch(a.batch)
        x = torch.where((torch.rand(a.batch, generator=gen) < 0.5)[:, None, None, None], x0, xl).to(dev)
        z = enc(x)
        y = dec(z)
        err = y - x
        loss = err.abs().mean() + 4.0 * F.avg_pool2d(err, a.factor).abs().mean() + 1e-4 * (z[:, 1:] ** 2).mean()
        p = min(1.0, spent())
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, (it + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        run_sum += float(err.abs().mean()) * 1000
        run_n += 1
        it += 1
        if it % 50 == 0:
            curve.append([it, round(run_sum / run_n, 3)])
            print(f"iter {it} L1 {run_sum / run_n:.2f} HU {time.time() - t0:.0f}s", flush=True)
            run_sum, run_n = 0.0, 0
    wall, cpu = time.time() - t0, time.process_time() - c0
    # Per-channel latent scale over fresh patches (clean and low-dose): unit variance for the diffusion model.
    with torch.no_grad():
        zs = []
        for _ in range(16):
            x0, xl, _ = sampler.batch(a.batch)
            zs.append(enc(torch.cat([x0, xl]).to(dev)).cpu())
        scale = torch.cat(zs).transpose(0, 1).reshape(a.channels, -1).std(dim=1).clamp(min=1e-3)
    enc, dec = enc.cpu(), dec.cpu()
    enc.scale.copy_(scale)
    dec.scale.copy_(scale)
    ckpt = os.path.join(CACHE, "checkpoints", f"{a.name}.pt")
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    history = (prior.get("history", []) if prior else []) + [
        {"iterations": it, "wallSeconds": round(wall, 1), "cpuSeconds": round(cpu, 1), "threads": a.threads, "lossCurve": curve}]
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "factor": a.factor, "channels": a.channels,
                "normalization": NORM, "iterations": sum(h["iterations"] for h in history),
                "wallSeconds": round(sum(h["wallSeconds"] for h in history), 1),
                "cpuSeconds": round(sum(h["cpuSeconds"] for h in history), 1), "history": history,
                "batch": a.batch, "patch": a.patch, "lr": a.lr, "seed": a.seed, "train": TRAIN,
                "loss": "L1 + 4 x |f x f block mean of the error| + 1e-4 mean(z_learned^2), model units (HU/1000); half clean, half low-dose patches",
                "hardware": (f"{platform.machine()} CPU, {a.threads} thread(s) (shared 2-core VM)" if dev.type == "cpu"
                             else torch.cuda.get_device_name(0)) + f", torch {torch.__version__}",
                "date": datetime.date.today().isoformat()}, ckpt)
    print(f"wrote {ckpt}: {it} iterations, {wall:.0f} s wall, {cpu:.0f} s CPU; encoder {count(enc)} + decoder {count(dec)} parameters; "
          f"latent scale {[round(float(s), 4) for s in scale]}")


# ---- evaluate -----------------------------------------------------------------------------------

def read_dicom_series(folder: str) -> np.ndarray:
    import pydicom
    out = []
    for f in sorted(glob.glob(os.path.join(folder, "*"))):
        ds = pydicom.dcmread(f)
        out.append(ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept))
    return np.stack(out)


def field_mask(img: np.ndarray) -> np.ndarray:
    """Pixels inside the scan field: not the border-connected region at the image minimum (the
    -1024 HU corners outside the 500 mm field of the Mayo slices; scripts/evaluate/real-pairs.ts)."""
    from scipy import ndimage
    low = img <= img.min() + 0.5
    lab, _ = ndimage.label(low)
    border = set(np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))) - {0}
    return ~np.isin(lab, list(border))


def reconstruct(enc, dec, slices: np.ndarray, chunk: int = 2) -> np.ndarray:
    m = enc.factor * 4
    out = []
    for i in range(0, len(slices), chunk):
        x = torch.from_numpy(to_model_units(slices[i:i + chunk].astype(np.float32), NORM))[:, None]
        H, W = x.shape[-2:]
        # As the toolkit does (src/models/latent.ts): edge-pad to a multiple of 4 latent pixels, crop after.
        x = F.pad(x, (0, (-W) % m, 0, (-H) % m), mode="replicate")
        with torch.no_grad():
            y = dec(enc(x))
        out.append(from_model_units(y[:, 0, :H, :W].numpy(), NORM))
    return np.concatenate(out)


def scores(ref: np.ndarray, rec: np.ndarray, valid: np.ndarray | None = None) -> dict:
    from skimage.metrics import structural_similarity
    rows = []
    for k in range(len(ref)):
        a = np.clip(rec[k], -1000, 1000).astype(np.float64)
        b = np.clip(ref[k], -1000, 1000).astype(np.float64)
        v = valid[k] if valid is not None else np.ones(a.shape, bool)
        mse = np.mean((a - b)[v] ** 2)
        _, smap = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2000, full=True)
        # Max error in HU inside the field, over tissue and air alike, and over soft tissue alone (-160..240 HU).
        e = np.abs(rec[k].astype(np.float64) - ref[k])[v]
        soft = v & (ref[k] > -160) & (ref[k] < 240)
        rows.append({"psnr": 10 * np.log10(2000 ** 2 / mse), "ssim": float(smap[v].mean()), "maxAbsHu": float(e.max()),
                     "p999AbsHu": float(np.percentile(e, 99.9)), "maxAbsHuSoftTissue": float(np.abs(rec[k] - ref[k])[soft].max()),
                     "meanErrorHu": float((rec[k].astype(np.float64) - ref[k])[v].mean())})
    return {"slices": len(rows), "psnr": float(np.mean([r["psnr"] for r in rows])), "ssim": float(np.mean([r["ssim"] for r in rows])),
            "maxAbsHu": float(max(r["maxAbsHu"] for r in rows)), "p999AbsHu": float(np.mean([r["p999AbsHu"] for r in rows])),
            "maxAbsHuSoftTissue": float(max(r["maxAbsHuSoftTissue"] for r in rows)),
            "meanErrorHu": float(np.mean([r["meanErrorHu"] for r in rows]))}


def evaluate(a):
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    enc, dec, st = load_autoencoder(a.checkpoint)
    res = {"checkpoint": os.path.relpath(a.checkpoint, REPO), "factor": st["factor"], "channels": st["channels"],
           "iterations": st["iterations"], "wallSeconds": st["wallSeconds"], "cpuSeconds": st.get("cpuSeconds"),
           "window": [-1000, 1000], "test": {}, "real": {}}
    for name in TEST:
        vol = load_volume(os.path.join(CACHE, "eval", "CT", name))
        clean = vol["clean"][:: a.stride]
        res["test"][name] = {"fullDose": scores(clean, reconstruct(enc, dec, clean))}
        low = vol["low025"][:: a.stride]
        res["test"][name]["lowDose25"] = scores(low, reconstruct(enc, dec, low))
        print(name, json.dumps(res["test"][name]["fullDose"]), flush=True)
    for patient in ("L192", "L143"):
        for kernel in ("B30f", "D45f"):
            full = read_dicom_series(os.path.join(REPO, "..", "shared", "ldct-mayo", patient, kernel, "full"))
            valid = np.stack([field_mask(s) for s in full])
            entry = scores(full, reconstruct(enc, dec, full), valid)
            entry["role"] = "validation patient (never trained on)" if patient == "L192" else "in the autoencoder's training data"
            res["real"][f"{patient}/{kernel}"] = entry
            print(patient, kernel, json.dumps(entry), flush=True)
    res["command"] = f"/usr/bin/python3 scripts/train/autoencoder.py eval {os.path.relpath(a.checkpoint, REPO)} --stride {a.stride}"
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(f"wrote {a.out}")


# ---- export -------------------------------------------------------------------------------------

def export(a):
    enc, dec, st = load_autoencoder(a.checkpoint)
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    C, f = st["channels"], st["factor"]
    x = torch.zeros(1, 1, 64, 64)
    enc, dec = enc.eval(), dec.eval()
    torch.onnx.export(enc, (x,), f"{a.prefix}-encoder.onnx", input_names=["image"], output_names=["latent"],
                      dynamic_axes={"image": {0: "B", 2: "H", 3: "W"}, "latent": {0: "B", 2: "h", 3: "w"}},
                      opset_version=17, do_constant_folding=True, **legacy)
    z = torch.zeros(1, C, 64 // f, 64 // f)
    torch.onnx.export(dec, (z,), f"{a.prefix}-decoder.onnx", input_names=["latent"], output_names=["image"],
                      dynamic_axes={"latent": {0: "B", 2: "h", 3: "w"}, "image": {0: "B", 2: "H", 3: "W"}},
                      opset_version=17, do_constant_folding=True, **legacy)
    import onnx
    for part in ("encoder", "decoder"):
        onnx.checker.check_model(onnx.load(f"{a.prefix}-{part}.onnx"))
    print(f"wrote {a.prefix}-encoder.onnx ({os.path.getsize(a.prefix + '-encoder.onnx')} bytes) and -decoder.onnx "
          f"({os.path.getsize(a.prefix + '-decoder.onnx')} bytes); f{f}, {C} channels, scale {[round(float(s), 4) for s in enc.scale]}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--factor", type=int, choices=[4, 8], required=True)
    t.add_argument("--channels", type=int, default=4)
    t.add_argument("--minutes", type=float, default=8)
    t.add_argument("--cpu-seconds", type=float, default=None, help="also stop after this much CPU time of this process")
    t.add_argument("--iters", type=int, default=10 ** 9)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--patch", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--resume", default=None)
    t.add_argument("--device", default="cpu", help="cpu or cuda (a GPU session: scripts/device/latent.sh)")
    t.add_argument("--name", required=True)
    e = sub.add_parser("eval")
    e.add_argument("checkpoint")
    e.add_argument("--stride", type=int, default=2, help="every n-th exported test slice (2: the 23 slices of models/README.md)")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--out", default=None)
    u = sub.add_parser("unshuffle", help="the lossless pixel-unshuffle codec (no training)")
    u.add_argument("--factor", type=int, choices=[4, 8], required=True)
    u.add_argument("--seed", type=int, default=1234)
    u.add_argument("--name", required=True)
    x = sub.add_parser("export")
    x.add_argument("checkpoint")
    x.add_argument("prefix", help="writes <prefix>-encoder.onnx and <prefix>-decoder.onnx")
    a = ap.parse_args()
    {"train": train, "eval": evaluate, "export": export, "unshuffle": unshuffle}[a.cmd](a)


if __name__ == "__main__":
    main()
