"""Noise schedules, forward process and the few-step samplers used to train and measure the models.

The schedule formulas match diffusers (and the lowdose TypeScript engine, src/diffusion):
- linear: betas = linspace(betaStart, betaEnd, T)
- cosine: Nichol & Dhariwal 2021, alpha_bar(t) = cos^2(((t/T) + s) / (1 + s) * pi/2), betas from
  consecutive ratios clipped at 0.999 (diffusers `betas_for_alpha_bar`)
- aggressive: alpha_bar(u) = (sig(k(1-m)) - sig(k(u-m))) / (sig(k(1-m)) - sig(-k m)), m = 0.2, k = 12
  (src/diffusion/schedules.ts `aggressiveAlphaBar`), betas as for cosine
alphas_cumprod = cumprod(1 - betas); timestep index t = 0..T-1 is the model's `timestep` input.
"""
import math

import torch


def make_betas(kind: str, T: int, beta_start: float = 1e-4, beta_end: float = 0.02, s: float = 0.008,
               midpoint: float = 0.2, steepness: float = 12.0) -> torch.Tensor:
    if kind == "linear":
        return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    if kind == "cosine":
        def abar(u):
            return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    elif kind == "aggressive":
        def sig(z):
            return 1 / (1 + math.exp(-z))
        hi, lo = sig(steepness * (1 - midpoint)), sig(-steepness * midpoint)

        def abar(u):
            return (hi - sig(steepness * (u - midpoint))) / (hi - lo)
    else:
        raise ValueError(f"unknown schedule kind {kind!r}")
    return torch.tensor([min(1 - abar((i + 1) / T) / abar(i / T), 0.999) for i in range(T)], dtype=torch.float64)


class Schedule:
    def __init__(self, kind: str = "cosine", T: int = 1000, **kw):
        self.kind, self.T = kind, T
        self.betas = make_betas(kind, T, **kw)
        self.abar = torch.cumprod(1 - self.betas, 0)  # float64

    def ab(self, t: torch.Tensor) -> torch.Tensor:
        return self.abar[t.long()].float()

    def q_sample(self, x0, t, eps):
        ab = self.ab(t)[:, None, None, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    def target(self, prediction: str, x0, eps, t):
        if prediction == "sample":
            return x0
        if prediction == "epsilon":
            return eps
        if prediction == "v":
            ab = self.ab(t)[:, None, None, None]
            return ab.sqrt() * eps - (1 - ab).sqrt() * x0
        raise ValueError(prediction)

    def to_x0_eps(self, prediction: str, out, x_t, t):
        ab = self.ab(t)[:, None, None, None]
        a, b = ab.sqrt(), (1 - ab).sqrt()
        if prediction == "sample":
            x0 = out
            eps = (x_t - a * x0) / b.clamp(min=1e-8)
        elif prediction == "epsilon":
            eps = out
            x0 = (x_t - b * eps) / a
        else:  # v
            x0 = a * x_t - b * out
            eps = b * x_t + a * out
        return x0, eps

    def ddim_timesteps(self, steps: int, t_start: int | None = None) -> list[int]:
        """Evenly spaced from t_start (default T-1) down, "trailing" spacing: the first step is t_start."""
        t0 = self.T - 1 if t_start is None else t_start
        return [int(round(t0 - i * (t0 + 1) / steps)) for i in range(steps)]


@torch.no_grad()
def sample(model, sched: Schedule, cond, dose, prediction: str, steps: int, mode: str = "noise",
           strength: float = 1.0, seed: int = 0, eta: float = 0.0, guidance: float = 1.0):
    """DDIM (eta) sampling. mode="noise": start from pure noise at t = T-1; mode="warm": start from the
    low-dose image noised to t_start = round(strength * T) - 1 (SDEdit-style warm start, as
    src/diffusion/warm-start.ts).
    Guidance: out = uncond + g * (cond - uncond) when g != 1 (classifier-free)."""
    g = torch.Generator().manual_seed(seed)
    B = cond.shape[0]
    centre = cond[:, cond.shape[1] // 2: cond.shape[1] // 2 + 1]
    if mode == "warm":
        t_start = min(sched.T - 1, max(0, int(round(strength * sched.T)) - 1))
        noise = torch.randn(centre.shape, generator=g)
        x = sched.q_sample(centre, torch.full((B,), t_start), noise)
    else:
        t_start = sched.T - 1
        x = torch.randn(centre.shape, generator=g)
    ts = sched.ddim_timesteps(steps, t_start)
    ones = torch.ones(B)
    x0 = x
    for i, t in enumerate(ts):
        tt = torch.full((B,), float(t))
        out = model(x, tt, cond, dose, ones)
        if guidance != 1.0:
            out_u = model(x, tt, cond, dose, torch.zeros(B))
            out = out_u + guidance * (out - out_u)
        x0, eps = sched.to_x0_eps(prediction, out, x, tt.long())
        t_next = ts[i + 1] if i + 1 < len(ts) else -1
        if t_next < 0:
            x = x0
            break
        ab_t = sched.abar[t].item()
        ab_n = sched.abar[t_next].item()
        sigma = eta * math.sqrt((1 - ab_n) / (1 - ab_t) * (1 - ab_t / ab_n))
        dir_coef = math.sqrt(max(1 - ab_n - sigma ** 2, 0.0))
        x = math.sqrt(ab_n) * x0 + dir_coef * eps
        if sigma > 0:
            x = x + sigma * torch.randn(x.shape, generator=g)
    return x
