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
    print("losses.py self-check passed")


if __name__ == "__main__":
    _self_check()
