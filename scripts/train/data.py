"""Training and evaluation data written by scripts/train/export-dataset.ts into .cache/.

Layout (one folder per volume, all arrays little-endian float32, slices in DICOM row/column order):
  .cache/train/<MODALITY>/<volume>/meta.json
  clean.f32   [S, rows, cols]      normal-dose slices in modality units (HU; PET in Bq/ml)
  CT:  unit.f32 [S, 2, rows, cols]  two projection-domain insertion-noise images per slice:
                                    M at the anchor dose 0.05 (quantum + electronic noise) and Q,
                                    quantum-only with (1/d - 1) = 1; extra noise at dose d is
                                    sqrt(a) M + sqrt(b) Q (ct_mix; exact in distribution, see
                                    export-dataset.ts and docs/training.md)
  PET: low.f32, full.f32 [S, D, rows, cols]  reduced-count reconstructions at meta.doses and the
                                    full-count ones from the same events (the training target)
  PET pet-lesions: lesion.f32 [S, rows, cols]  each pixel's coverage (0..1) by the inserted lesions
  .cache/eval/<MODALITY>/<volume>/  clean.f32 and low-<dose>.f32 [S, rows, cols] made by direct
                                    simulator calls at the evaluation doses (no scaling trick)
  CT real pairs (`scripts/train/export-real-pairs.ts`, meta kind 'ct-real-pair'): low.f32 [S, rows, cols],
                                    the scanner's quarter-dose reconstruction of the same slice as
                                    clean.f32 (full dose), at the fixed dose meta.dose
  2.5-D (CT, `export-dataset ct-neighbours`): training folders also hold nbclean [S, 2, rows, cols]
  and nbunit [S, 2, 2, rows, cols] (the slices below and above, with their noise components),
  evaluation folders nblow<dose> [S, 2, rows, cols].
"""
import json
import math
import os

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# LOWDOSE_CACHE: only for plumbing tests on throwaway data; shipped models use the default.
CACHE = os.environ.get("LOWDOSE_CACHE", os.path.join(REPO, ".cache"))


def load_volume(folder: str) -> dict:
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    S, R, C = len(meta["slices"]), meta["rows"], meta["columns"]
    vol = {"meta": meta, "clean": np.fromfile(os.path.join(folder, "clean.f32"), dtype="<f4").reshape(S, R, C)}
    for name, arr in meta.get("arrays", {}).items():
        shape = [S] + arr["shape"]
        vol[name] = np.fromfile(os.path.join(folder, arr["file"]), dtype="<f4").reshape(shape)
    return vol


def to_model_units(v, norm: dict, suv_factor: float = 1.0):
    """Modality units -> model units exactly as src/diffusion/normalization.ts: clip in modality units,
    y = (v - offset) / scale, then T(y) (identity, or sign(y) log1p(|y|))."""
    v = v * suv_factor
    lo, hi = norm.get("clip", (-np.inf, np.inf))
    v = np.clip(v, lo, hi) if isinstance(v, np.ndarray) else v.clamp(lo, hi)
    y = (v - norm["offset"]) / norm["scale"]
    if norm["transform"] == "log1p":
        y = np.sign(y) * np.log1p(np.abs(y)) if isinstance(y, np.ndarray) else torch.sign(y) * torch.log1p(y.abs())
    return y


def from_model_units(x, norm: dict):
    if norm["transform"] == "log1p":
        x = np.sign(x) * np.expm1(np.abs(x)) if isinstance(x, np.ndarray) else torch.sign(x) * torch.expm1(x.abs())
    v = x * norm["scale"] + norm["offset"]
    lo, hi = norm.get("clip", (-np.inf, np.inf))
    return np.clip(v, lo, hi) if isinstance(v, np.ndarray) else v.clamp(lo, hi)


def ct_mix(d: float, anchor: float) -> tuple[float, float]:
    """Weights (a, b) of M (anchor-dose noise) and Q (quantum unit noise) for dose d >= anchor."""
    A = 1 / d - 1
    B = 1 / (d * d) - 1
    a = B / (1 / (anchor * anchor) - 1)
    return a, max(A - a * (1 / anchor - 1), 0.0)


# Sharper-kernel augmentation: the training volumes are all standard-kernel reconstructions, and
# on a sharp lung kernel (the test set's Philips L) the model removed the kernel's own texture and
# scored below its input. FBP is linear in the filter, so a sharper kernel is, to first order, the
# standard image times a high-frequency boost H(f); applied to both images of a pair it keeps
# low = clean + noise exact (noise reconstructed with the same sharper kernel). H here is an
# unsharp mask 1 + amount * (1 - G_sigma): DC gain 1 (HU kept), up to (1 + amount) at high
# frequency. These ranges raise the flat-region noise of the training volumes' normal-dose images
# 1.5 to 5.4 times (scripts/train/train.py --sharpen, docs/training.md); the lung kernel of one
# public scan has about 6 times the noise of its standard kernel (../shared/ct/README.md volumes).
SHARPEN_AMOUNT = (1.0, 5.0)
SHARPEN_SIGMA = (0.7, 1.5)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """scipy.ndimage.gaussian_filter(img, sigma, mode="reflect") in numpy (the GPU machine's Python
    has no SciPy): separable, radius int(4 sigma + 0.5), half-sample symmetric edges."""
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    w /= w.sum()
    out = np.asarray(img, dtype=np.float64)
    for axis in (-2, -1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        n = out.shape[axis]
        out = sum(wk * np.take(padded, np.arange(k, k + n), axis=axis) for k, wk in enumerate(w))
    return out.astype(np.float32)


def sharpen_kernel(img: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """img + amount * (img - gaussian(img, sigma)): a sharper reconstruction kernel, to first order."""
    img = np.asarray(img, dtype=np.float32)
    return img + amount * (img - gaussian_blur(img, sigma))


# Faint compact structure inserted into CT training patches (--faint-disks): radius in pixels
# (about 3 to 12 mm at the training volumes' 0.7 to 0.8 mm pixels), |contrast| in HU, log-uniform.
# Why: a network with a wide receptive field learns that slow, faint variations are noise, because
# the training anatomy has few faint compact lesions, and flattens QA's 15 mm -5 HU disk with the
# slow noise (docs/training.md, "Growing stage 10, longer"). Disks of both signs at 3 to 20 HU teach
# the prior that such structure exists; they avoid QA's exact sizes and contrasts only by chance,
# which is why QA's lcd disks are not in the training data and these are random.
FAINT_DISK_RADIUS_PX = (4.0, 16.0)
FAINT_DISK_CONTRAST_HU = (3.0, 20.0)


def insert_faint_disks(clean: np.ndarray, low: np.ndarray, rng: np.random.Generator):
    """1 to 3 soft-edged disks added to a CT patch pair in HU, the same to both (the pair's noise
    low - clean stays exact: at 3 to 20 HU the noise's own change is negligible). Centres in soft
    tissue (clean in [-150, 250] HU) only; a patch without soft tissue is returned unchanged."""
    R, C = clean.shape[-2:]
    yy, xx = np.mgrid[0:R, 0:C].astype(np.float32)
    added = np.zeros((R, C), dtype=np.float32)
    centre_slice = clean if clean.ndim == 2 else clean[0]
    for _ in range(int(rng.integers(1, 4))):
        for _try in range(10):
            cy, cx = rng.uniform(0, R), rng.uniform(0, C)
            if -150 <= centre_slice[int(cy), int(cx)] <= 250:
                break
        else:
            continue
        radius = rng.uniform(*FAINT_DISK_RADIUS_PX)
        contrast = math.exp(rng.uniform(math.log(FAINT_DISK_CONTRAST_HU[0]), math.log(FAINT_DISK_CONTRAST_HU[1])))
        contrast *= 1.0 if rng.random() < 0.5 else -1.0
        # A 1 px linear edge: a reconstruction's blur, not a hard step.
        profile = np.clip(radius - np.hypot(yy - cy, xx - cx) + 0.5, 0.0, 1.0)
        added += np.float32(contrast) * profile
    return clean + added, low + added


class PatchSampler:
    """Random patches: (clean, low, dose) in model units, with random flips / transposes.

    CT low dose = clean + sqrt(a) M + sqrt(b) Q with (a, b) = ct_mix(d): the simulator's noise at
    dose d in distribution (checked against direct simulator calls, docs/training.md). d is drawn
    log-uniformly from [dmin, dmax]. PET low dose = one of the simulated count levels.

    sharpen > 0 (CT): that fraction of patches is re-rendered as if reconstructed with a sharper
    kernel (see sharpen_kernel): both the clean and the low-dose patch, so the pair stays exact.

    Real pairs (meta kind 'ct-real-pair') give their own low-dose slice at their own dose; real_weight
    multiplies their slices' share of the draws (they are few: 11 slices against ~100 simulated).

    faint_disks > 0 (CT): that fraction of patches gets 1 to 3 faint soft-edged disks added to clean
    and low-dose alike (insert_faint_disks).

    lesion_masks: batch() also returns each patch's lesion coverage (lesion.f32 of the pet-lesions
    export; zeros for volumes without one), flipped with the patch, for a lesion-weighted loss.
    """

    def __init__(self, volumes: list[dict], modality: str, norm: dict, patch: int, rng: np.random.Generator,
                 dose_range=(0.05, 0.5), neighbours: bool = False, sharpen: float = 0.0, real_weight: float = 1.0,
                 lesion_masks: bool = False, faint_disks: float = 0.0):
        self.v, self.mod, self.norm, self.p, self.rng = volumes, modality, norm, patch, rng
        if faint_disks > 0 and modality != "CT":
            raise SystemExit("--faint-disks is for CT")
        self.faint_disks = faint_disks
        self.lesion_masks = lesion_masks
        self.sharpen = sharpen
        # 2.5-D: the condition is [below, slice, above], each with its own noise at the same dose.
        self.neighbours = neighbours
        if neighbours and (modality != "CT" or any("nbclean" not in v for v in volumes)):
            raise SystemExit("neighbours need CT volumes exported with `export-dataset ct-neighbours train`")
        self.dmin, self.dmax = dose_range
        # Weight volumes by slice count so every slice is equally likely.
        n = np.array([len(v["meta"]["slices"]) * (real_weight if is_real_pair(v) else 1.0) for v in volumes], dtype=float)
        self.vol_p = n / n.sum()

    def _one(self):
        rng = self.rng
        for _attempt in range(20):
            vi = rng.choice(len(self.v), p=self.vol_p)
            vol = self.v[vi]
            S, R, C = vol["clean"].shape
            s = rng.integers(S)
            r, c = rng.integers(0, R - self.p + 1), rng.integers(0, C - self.p + 1)
            clean = vol["clean"][s, r:r + self.p, c:c + self.p]
            # Reject mostly-background patches (air outside the body, empty PET field) most of the time.
            if self.mod == "CT":
                body = (clean > -900).mean()
            else:
                body = (clean * vol["meta"].get("suvFactor", 1.0) > 0.1).mean()
            if body > 0.25 or rng.random() < 0.1:
                break
        f = vol["meta"].get("suvFactor", 1.0)
        if self.mod == "CT" and is_real_pair(vol):
            if self.neighbours:
                raise SystemExit("real pairs have no neighbour slices (their slices are tens of mm apart)")
            d = vol["meta"]["dose"]
            low = vol["low"][s, r:r + self.p, c:c + self.p]
            if self.sharpen > 0 and rng.random() < self.sharpen:
                amount, sigma = rng.uniform(*SHARPEN_AMOUNT), rng.uniform(*SHARPEN_SIGMA)
                clean, low = sharpen_kernel(clean, amount, sigma), sharpen_kernel(low, amount, sigma)
        elif self.mod == "CT":
            d = math.exp(rng.uniform(math.log(self.dmin), math.log(self.dmax)))
            a, b = ct_mix(d, vol["meta"]["anchorDose"])
            u = vol["unit"][s, :, r:r + self.p, c:c + self.p]
            low = clean + math.sqrt(a) * u[0] + math.sqrt(b) * u[1]
            if self.neighbours:
                nc = vol["nbclean"][s, :, r:r + self.p, c:c + self.p]
                nu = vol["nbunit"][s, :, :, r:r + self.p, c:c + self.p]
                below, above = (nc[j] + math.sqrt(a) * nu[j, 0] + math.sqrt(b) * nu[j, 1] for j in (0, 1))
                # Either order: series sort direction differs between scanners and conventions.
                low = np.stack([below, low, above] if rng.random() < 0.5 else [above, low, below])
            # (rng drawn only when enabled, so runs without it sample exactly as before)
            if self.sharpen > 0 and rng.random() < self.sharpen:
                amount, sigma = rng.uniform(*SHARPEN_AMOUNT), rng.uniform(*SHARPEN_SIGMA)
                clean = sharpen_kernel(clean, amount, sigma)
                low = np.stack([sharpen_kernel(x, amount, sigma) for x in low]) if low.ndim == 3 \
                    else sharpen_kernel(low, amount, sigma)
        else:
            # Target: the full-count reconstruction from the same events (matched resolution).
            doses = vol["meta"]["doses"]
            j = rng.integers(len(doses))
            d = doses[j]
            low = vol["low"][s, j, r:r + self.p, c:c + self.p]
            clean = vol["full"][s, j, r:r + self.p, c:c + self.p]
        # (rng drawn only when enabled, so runs without it sample exactly as before)
        if self.faint_disks > 0 and rng.random() < self.faint_disks:
            clean, low = insert_faint_disks(clean, low, rng)
        x0 = to_model_units(clean, self.norm, f)
        xl = to_model_units(low, self.norm, f)
        les = (vol["lesion"][s, r:r + self.p, c:c + self.p] if "lesion" in vol
               else np.zeros((self.p, self.p), dtype=np.float32))
        # Flips and transposes of the image axes (the last two; xl may have a channel axis first).
        if rng.random() < 0.5:
            x0, xl, les = x0[..., ::-1], xl[..., ::-1], les[..., ::-1]
        if rng.random() < 0.5:
            x0, xl, les = x0[..., ::-1, :], xl[..., ::-1, :], les[..., ::-1, :]
        if rng.random() < 0.5:
            x0, xl, les = np.swapaxes(x0, -1, -2), np.swapaxes(xl, -1, -2), np.swapaxes(les, -1, -2)
        return np.ascontiguousarray(x0), np.ascontiguousarray(xl), d, np.ascontiguousarray(les)

    def batch(self, B: int):
        items = [self._one() for _ in range(B)]
        x0 = torch.from_numpy(np.stack([i[0] for i in items])[:, None]).float()
        xl = np.stack([i[1] for i in items])
        xl = torch.from_numpy(xl if xl.ndim == 4 else xl[:, None]).float()
        d = torch.tensor([i[2] for i in items], dtype=torch.float32)
        if self.lesion_masks:
            return x0, xl, d, torch.from_numpy(np.stack([i[3] for i in items])[:, None]).float()
        return x0, xl, d


def is_real_pair(vol: dict) -> bool:
    return vol["meta"].get("kind") == "ct-real-pair"


def volumes_in(kind: str, modality: str, names: list[str]) -> list[dict]:
    out = []
    for n in names:
        folder = os.path.join(CACHE, kind, modality, n)
        if not os.path.exists(os.path.join(folder, "meta.json")):
            raise FileNotFoundError(f"{folder}/meta.json missing: run scripts/train/export-dataset first")
        out.append(load_volume(folder))
    return out


if __name__ == "__main__":
    # Self-check of insert_faint_disks: the pair's noise is untouched, disks sit in soft tissue only
    # and have the drawn contrasts' size.
    rng = np.random.default_rng(5)
    clean = np.full((96, 96), 40.0, dtype=np.float32)
    clean[:, :30] = -1000.0  # air on the left
    low = clean + rng.normal(0, 30, clean.shape).astype(np.float32)
    seen = 0
    for _ in range(200):
        c2, l2 = insert_faint_disks(clean, low, rng)
        assert np.allclose(l2 - c2, low - clean, atol=1e-4), "the pair's noise changed"
        added = c2 - clean
        peak = float(np.abs(added).max())
        assert peak <= 3 * FAINT_DISK_CONTRAST_HU[1] + 1e-3, peak
        if peak > 0:
            seen += 1
            ys, xs = np.nonzero(np.abs(added) > 0.5 * FAINT_DISK_CONTRAST_HU[0])
            assert xs.min() >= 30 - FAINT_DISK_RADIUS_PX[1] - 1, "a disk centred in air"
    assert seen == 200, seen
    empty = np.full((64, 64), -1000.0, dtype=np.float32)
    c3, l3 = insert_faint_disks(empty, empty.copy(), rng)
    assert np.array_equal(c3, empty), "a patch without soft tissue got a disk"
    print("data.py insert_faint_disks: ok")
