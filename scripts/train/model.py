"""Compact conditional UNet for low-dose CT / PET diffusion denoising.

The graph takes exactly the inputs of the lowdose model card (format lowdose-model-card/1):
  sample        [B,1,H,W]  x_t in model units
  timestep      [B]        training timestep index 0..T-1 (float32)
  condition     [B,C,H,W]  low-dose slice in model units (C = 1, or 3 with neighbours)
  doseLevel     [B]        dose / count fraction, 0 = unknown
  conditionMask [B]        1 = condition given, 0 = dropped (classifier-free guidance)
and returns one [B,1,H,W] tensor whose meaning is the card's `prediction`.

No normalisation layers: statistics over a 96-pixel training patch differ from those over a whole
512x512 slice or an inference tile, and a per-tile statistic would make tiled and untiled output
differ. Without them the network is a pure convolution stack: tile-consistent and cheaper on CPU.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_features(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal timestep features (Ho et al. 2020 / diffusers `get_timestep_embedding`)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """conv-SiLU-conv with FiLM (scale, shift) from the embedding between the convolutions."""

    def __init__(self, cin: int, cout: int, emb_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        # Start as (almost) identity-modulated blocks; FiLM learns from zero.
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        nn.init.normal_(self.conv2.weight, std=1e-3)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.conv1(x))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = h * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class CondUNet(nn.Module):
    def __init__(self, channels=(16, 32, 64), cond_channels: int = 1, emb_dim: int = 64,
                 prediction: str = "sample", residual_from_condition: bool = True, sample_channels: int = 1):
        super().__init__()
        self.channels = tuple(channels)
        self.cond_channels = cond_channels
        # > 1 for a latent-space model (scripts/train/latent_train.py): sample, condition and output
        # are autoencoder latents of this many channels.
        self.sample_channels = sample_channels
        self.prediction = prediction
        # For clean-image prediction the output is condition + correction: the network only has to
        # learn the (small) noise to remove. Only meaningful when predicting the sample.
        self.residual = residual_from_condition and prediction == "sample"
        self.emb_dim = emb_dim
        self.t_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # Dose features: [known, d, sqrt d, log d] (zeros when unknown) so that "unknown" is its own state.
        self.dose_mlp = nn.Sequential(nn.Linear(4, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.mask_emb = nn.Parameter(torch.zeros(emb_dim))
        c0 = channels[0]
        self.inp = nn.Conv2d(sample_channels + cond_channels, c0, 3, padding=1)
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        for i, c in enumerate(channels[:-1]):
            self.enc.append(ResBlock(c, c, emb_dim))
            self.down.append(nn.Conv2d(c, channels[i + 1], 3, stride=2, padding=1))
        self.mid = ResBlock(channels[-1], channels[-1], emb_dim)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(len(channels) - 1)):
            self.up.append(nn.Conv2d(channels[i + 1], channels[i], 3, padding=1))
            self.dec.append(ResBlock(2 * channels[i], channels[i], emb_dim))
        self.out = nn.Conv2d(c0, sample_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def multiple_of(self) -> int:
        return 2 ** (len(self.channels) - 1)

    def forward(self, sample, timestep, condition, doseLevel, conditionMask):
        m = conditionMask.float()
        cond = condition * m[:, None, None, None]
        d = doseLevel.float().clamp(0.0, 1.0)
        known = (d > 0).float()
        dose_feat = torch.stack([known, d, torch.sqrt(d), torch.log(d.clamp(min=1e-3)) * known / 3.0], dim=1)
        emb = self.t_mlp(timestep_features(timestep, self.emb_dim))
        emb = emb + self.dose_mlp(dose_feat) + m[:, None] * self.mask_emb[None, :]
        emb = F.silu(emb)

        h = self.inp(torch.cat([sample, cond], dim=1))
        skips = []
        for blk, down in zip(self.enc, self.down):
            h = blk(h, emb)
            skips.append(h)
            h = down(h)
        h = self.mid(h, emb)
        for up, blk in zip(self.up, self.dec):
            s = skips.pop()
            h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
            h = blk(torch.cat([h, s], dim=1), emb)
        out = self.out(F.silu(h))
        if self.residual:
            # Centre channel of the condition is the slice itself (neighbours around it).
            centre = cond[:, self.cond_channels // 2: self.cond_channels // 2 + 1]
            out = out + centre
        return out


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
