"""Extra training losses (train.py options).

Low-frequency error term (`train.py --lowfreq-weight W --lowfreq-sigma S`): W times the MSE of the
Gaussian-blurred error, mean((G_S * err)^2). On the water phantom the shipped CT model keeps 0.56
to 0.86 of the input's noise amplitude below 0.1 cycles/mm where a full-dose scan keeps sqrt(d)
(docs/diffusion.md, Texture): the plain per-pixel MSE hardly sees that error, because FBP noise has
little power there (its NPS rises with frequency), so leaving slow noise in costs the loss almost
nothing. The blurred error is that part of the error alone; weighting it makes slow noise left in
the output cost as much as the weight says. sigma = 2 px passes below ~0.1 cycles/mm at the training
volumes' 0.7 to 0.8 mm pixels (squared transfer exp(-4 pi^2 sigma^2 f^2): 0.41 at 0.075 cycles/px,
0.03 at 0.15).

SSIM term (`train.py --ssim-weight W --ssim-window abdomen|hu|both`): W times (1 - SSIM) of the
predicted clean image against the target, computed as the CONTRACT's SSIM (docs/contract.md, "Metric
conventions"; src/metrics/ssim.ts): both images in HU clipped to the window, data range = the
window's width, Gaussian window sigma 1.5 (scipy's truncate 3.5: 11 taps), K1 0.01, K2 0.03,
population covariance, mean over the valid region (pixels whose window lies inside the patch), i.e.
scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=R)`. The real-pair target misses on SSIM, mostly in the
abdomen window [-160, 240] HU, where the MSE in [-1100, 3100] HU model units hardly weights the
soft-tissue structure that window shows.

Self-check: /usr/bin/python3 scripts/train/losses.py
"""
import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian weights, radius int(4 sigma + 0.5), summing to 1 (as data.gaussian_blur)."""
    radius = int(4.0 * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return (w / w.sum()).float()


def _pad_symmetric(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Half-sample symmetric padding (numpy "symmetric", scipy.ndimage "reflect"); needs r <= size."""
    n = x.shape[dim]
    head = torch.flip(x.narrow(dim, 0, r), (dim,))
    tail = torch.flip(x.narrow(dim, n - r, r), (dim,))
    return torch.cat([head, x, tail], dim=dim)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W], edges as data.gaussian_blur (differentiable; DC gain 1)."""
    w = gaussian_kernel(sigma).to(x.device, x.dtype)
    r = (w.numel() - 1) // 2
    C = x.shape[1]
    y = F.conv2d(_pad_symmetric(x, r, 3), w.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(_pad_symmetric(y, r, 2), w.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def lowfreq_mse(err: torch.Tensor, sigma: float) -> torch.Tensor:
    """Per-sample mean of the squared low-pass error: [B, C, H, W] -> [B]."""
    return torch.mean(gaussian_blur(err, sigma) ** 2, dim=(1, 2, 3))


SSIM_WINDOWS = {"hu": [(-1000.0, 1000.0)], "abdomen": [(-160.0, 240.0)], "both": [(-1000.0, 1000.0), (-160.0, 240.0)]}


def _ssim_kernel(sigma: float = 1.5, truncate: float = 3.5) -> torch.Tensor:
    """scipy.ndimage's normalised 1-D Gaussian (radius int(truncate sigma + 0.5)), as src/metrics/ssim.ts."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _valid_blur(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable blur of [B, C, H, W] without padding: [B, C, H - 2r, W - 2r] (the valid region)."""
    C = x.shape[1]
    y = F.conv2d(x, w.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(y, w.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def ssim(x: torch.Tensor, y: torch.Tensor, lo: float, hi: float, k1: float = 0.01, k2: float = 0.03,
         sigma: float = 1.5) -> torch.Tensor:
    """Per-sample SSIM of [B, C, H, W] images in modality units, clipped to [lo, hi] with data range
    hi - lo: the CONTRACT's SSIM (scikit-image, gaussian_weights, population covariance), mean over
    the valid region. scikit-image blurs the whole image with reflected edges and then crops the
    window radius from every side, so only windows inside the image count: a valid convolution
    gives the same numbers. Differentiable in x (zero gradient where x is outside the window)."""
    R = hi - lo
    w = _ssim_kernel(sigma).to(x.device, x.dtype)
    # In units of the data range, so C1 = K1^2 and C2 = K2^2 and float32 keeps its precision. Not
    # shifted by lo: the luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) depends on the
    # origin, and the CONTRACT's SSIM is taken on the clipped HU values themselves.
    a = torch.clamp(x, lo, hi) / R
    b = torch.clamp(y, lo, hi) / R
    mu_a, mu_b = _valid_blur(a, w), _valid_blur(b, w)
    vaa = _valid_blur(a * a, w) - mu_a * mu_a
    vbb = _valid_blur(b * b, w) - mu_b * mu_b
    vab = _valid_blur(a * b, w) - mu_a * mu_b
    c1, c2 = k1 * k1, k2 * k2
    s = ((2 * mu_a * mu_b + c1) * (2 * vab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (vaa + vbb + c2))
    return torch.mean(s, dim=(1, 2, 3))


def ssim_loss(x: torch.Tensor, y: torch.Tensor, window: str) -> torch.Tensor:
    """Per-sample 1 - SSIM, averaged over the windows of `window` (SSIM_WINDOWS); x, y in HU."""
    terms = [1.0 - ssim(x, y, lo, hi) for lo, hi in SSIM_WINDOWS[window]]
    return sum(terms) / len(terms)


def _self_check():
    g = torch.Generator().manual_seed(0)
    # DC gain 1: a constant error is all low frequency and passes whole.
    c = torch.full((2, 1, 64, 64), 0.3)
    assert torch.allclose(gaussian_blur(c, 2.0), c, atol=1e-6)
    # Matches the numpy blur the sampler uses (same radius and edge rule).
    import numpy as np
    from data import gaussian_blur as np_blur
    img = torch.randn(1, 1, 40, 56, generator=g)
    ref = torch.from_numpy(np_blur(img[0, 0].numpy(), 2.0))
    assert torch.allclose(gaussian_blur(img, 2.0)[0, 0], ref, atol=1e-5), "differs from data.gaussian_blur"
    # White noise: the blurred power is 1 / (4 pi sigma^2) of the total (continuous limit).
    n = torch.randn(8, 1, 128, 128, generator=g)
    ratio = float(lowfreq_mse(n, 2.0).mean() / n.pow(2).mean())
    assert abs(ratio / (1 / (4 * np.pi * 4.0)) - 1) < 0.1, ratio
    # A slow error (period 64 px) is kept, a fast one (period 4 px) of the same MSE is not (cosines
    # even about the half-sample edges, so the padding continues them exactly).
    yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    slow = torch.cos(2 * np.pi * (xx + 0.5) / 64)[None, None]
    fast = torch.cos(2 * np.pi * (xx + 0.5) / 4)[None, None]
    assert float(lowfreq_mse(slow, 2.0)) > 0.8 * float(slow.pow(2).mean())
    assert float(lowfreq_mse(fast, 2.0)) < 1e-3 * float(fast.pow(2).mean())
    # Differentiable: the gradient of the term is the blur's adjoint applied to the blurred error.
    e = torch.randn(1, 1, 32, 32, generator=g, requires_grad=True)
    lowfreq_mse(e, 1.5).sum().backward()
    assert e.grad is not None and torch.isfinite(e.grad).all()
    # SSIM: the CONTRACT's (scikit-image, Gaussian sigma 1.5, population covariance) on a random
    # HU pair, each window, float32 as training runs it.
    from skimage.metrics import structural_similarity
    rng = np.random.default_rng(3)
    ref = rng.normal(40.0, 120.0, (70, 90)).cumsum(axis=1) / 6 - 200
    test = ref + rng.normal(0.0, 60.0, ref.shape)
    for lo, hi in [(-1000.0, 1000.0), (-160.0, 240.0)]:
        want = structural_similarity(np.clip(ref, lo, hi), np.clip(test, lo, hi), gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=hi - lo)
        got = float(ssim(torch.tensor(test, dtype=torch.float32)[None, None],
                         torch.tensor(ref, dtype=torch.float32)[None, None], lo, hi)[0])
        assert abs(got - want) < 1e-4, (lo, hi, got, want)
        got64 = float(ssim(torch.tensor(test)[None, None], torch.tensor(ref)[None, None], lo, hi)[0])
        assert abs(got64 - want) < 1e-10, (lo, hi, got64, want)
    # Identical images: SSIM 1, loss 0; the term's gradient pulls a noisy image toward the reference.
    t = torch.tensor(ref, dtype=torch.float32)[None, None]
    assert float(ssim_loss(t, t, "both")[0]) < 1e-6
    noisy = torch.tensor(test, dtype=torch.float32)[None, None].requires_grad_(True)
    ssim_loss(noisy, t, "abdomen").sum().backward()
    assert noisy.grad is not None and torch.isfinite(noisy.grad).all()
    outside = (noisy.detach() < -160) | (noisy.detach() > 240)
    step = noisy.detach() - 1e5 * noisy.grad
    assert float(ssim_loss(step, t, "abdomen")[0]) < float(ssim_loss(noisy.detach(), t, "abdomen")[0])
    assert outside.any() and bool((noisy.grad[outside] == 0).all()), "clipped pixels carry no gradient"
    print("losses.py self-check passed")


if __name__ == "__main__":
    _self_check()
