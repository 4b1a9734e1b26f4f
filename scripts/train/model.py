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
import inspect
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


class ContextBlock(nn.Module):
    """A residual block of two dilated 3x3 convolutions (FiLM between them) for the bottleneck: it
    widens the receptive field without another downsampling, so the tiling (`multipleOf`) stays.

    The second convolution starts at exactly zero, so a network grown by these blocks computes
    exactly what it computed before (x + 0): a trained network can be grown and continued
    (train.py --context) without changing its output on the first step.
    """

    def __init__(self, ch: int, hidden: int, dilation: int, emb_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, hidden, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(hidden, ch, 3, padding=dilation, dilation=dilation)
        self.film = nn.Linear(emb_dim, 2 * hidden)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.conv1(x))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = h * (1 + scale) + shift
        return x + self.conv2(F.silu(h))


class CondUNet(nn.Module):
    def __init__(self, channels=(16, 32, 64), cond_channels: int = 1, emb_dim: int = 64,
                 prediction: str = "sample", residual_from_condition: bool = True, sample_channels: int = 1,
                 context: tuple = (), context_hidden: int = 32):
        super().__init__()
        self.channels = tuple(channels)
        # Dilations of the ContextBlocks after the bottleneck block (empty: none, the original network).
        self.context = tuple(int(d) for d in context)
        self.context_hidden = context_hidden
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
        self.ctx = nn.ModuleList(ContextBlock(channels[-1], context_hidden, d, emb_dim) for d in self.context)
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
        for blk in self.ctx:
            h = blk(h, emb)
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


def export_graph(model: nn.Module, example: tuple, path: str) -> None:
    """Writes `model` as the card's ONNX graph (the inputs of the module comment, one `output`, batch
    and image size dynamic), traced on `example`, and checks it: train.py and latent-train.py
    export through it, so both graphs keep the names and axes the card reader expects."""
    names = ["sample", "timestep", "condition", "doseLevel", "conditionMask"]
    dyn = {"sample": {0: "B", 2: "H", 3: "W"}, "timestep": {0: "B"}, "condition": {0: "B", 2: "H", 3: "W"},
           "doseLevel": {0: "B"}, "conditionMask": {0: "B"}, "output": {0: "B", 2: "H", 3: "W"}}
    # Newer torch defaults to the dynamo exporter; the TorchScript one takes dynamic_axes as written.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, example, path, input_names=names, output_names=["output"], dynamic_axes=dyn,
                      opset_version=17, do_constant_folding=True, **legacy)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def receptive_field(model: "CondUNet") -> int:
    """Theoretical receptive field in input pixels (one side to the other) of an output pixel."""
    levels = len(model.channels) - 1
    rf, step = 3, 1  # inp
    for lvl in range(levels):
        rf += 2 * 2 * step  # encoder ResBlock: two 3x3
        rf += 2 * step  # stride-2 3x3
        step *= 2
    rf += 2 * 2 * step  # mid
    rf += sum(2 * 2 * d * step for d in model.context)
    for lvl in reversed(range(levels)):
        step //= 2
        rf += 2 * step  # 3x3 after the (nearest) upsampling
        rf += 2 * 2 * step  # decoder ResBlock
    return rf + 2  # out


def from_checkpoint(st: dict) -> "CondUNet":
    """The network a train.py checkpoint describes (its weights not loaded)."""
    return CondUNet(st["channels"], cond_channels=st.get("condChannels", 1), prediction=st["prediction"],
                    context=tuple(st.get("context", ())), context_hidden=st.get("contextHidden", 32))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _self_check():
    """/usr/bin/python3 scripts/train/model.py: a grown network reproduces the original exactly, and
    receptive_field() equals the extent of an output pixel's gradient (once the blocks are non-zero)."""
    torch.manual_seed(0)
    plain = CondUNet((16, 32, 64), prediction="v").eval()
    for p in plain.parameters():  # trained-looking weights: nothing zero
        p.data.add_(0.05 * torch.randn_like(p))
    grown = CondUNet((16, 32, 64), prediction="v", context=(2, 4, 8)).eval()
    missing, unexpected = grown.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("ctx.") for k in missing), (missing, unexpected)
    args = (torch.randn(2, 1, 96, 80), torch.tensor([999.0, 30.0]), torch.randn(2, 1, 96, 80),
            torch.tensor([0.25, 0.0]), torch.tensor([1.0, 0.0]))
    with torch.no_grad():
        assert torch.equal(grown(*args), plain(*args)), "grown network differs"
    for net in (plain, grown):
        for p in net.parameters():
            if p.abs().max() == 0:
                p.data.add_(0.05 * torch.randn_like(p))
        S = 384
        cond = torch.zeros(1, 1, S, S, requires_grad=True)
        out = net(torch.zeros(1, 1, S, S), torch.tensor([50.0]), cond, torch.tensor([0.25]), torch.tensor([1.0]))
        out[0, 0, S // 2, S // 2].backward()
        cols = torch.nonzero(cond.grad[0, 0].abs().sum(dim=0)).flatten()
        extent = int(cols.max() - cols.min() + 1)
        # Nearest upsampling repeats a coarse pixel, so the extent may exceed the nominal field by a few pixels.
        assert receptive_field(net) <= extent <= receptive_field(net) + 2 ** (len(net.channels) - 1), (receptive_field(net), extent)
        print(f"context {list(net.context)}: receptive field {receptive_field(net)} px, gradient extent {extent} px")
    print("model.py self-check passed")


if __name__ == "__main__":
    _self_check()
