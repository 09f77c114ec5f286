"""Encoder and decoder networks for the VAE family: MLPs for points (and flat images), small
convolutional nets for images.

Both kinds take an optional ``extra`` input (a one-hot label y, a discrete code c) concatenated
to the flattened features, which is how M2's q(z|x, y) and p(x|y, z) and JointVAE's decoder are
built. Decoders return flat ``(N, out_dim)`` (MLP) or ``(N, out_channels, H, W)`` (conv) — the
layouts :class:`genzoo.distributions.observations.Observation` accepts.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.nn.mlp import ACTIVATIONS, MLP


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise GenzooError(f"invalid value activation={name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLPEncoder(nn.Module):
    """x (any shape, flattened) [, extra] → MLP → ``out_dim`` outputs."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, depth: int, activation: str = "relu", extra: int = 0) -> None:
        super().__init__()
        _activation(activation)
        self.net = MLP(in_dim + extra, out_dim, hidden, depth, activation)

    def forward(self, x: Tensor, extra: Tensor | None = None) -> Tensor:
        h = x.flatten(1)
        if extra is not None:
            h = torch.cat([h, extra.to(h.dtype)], 1)
        return self.net(h)


def _halvings(size: int, floor: int = 4) -> list[int]:
    """Spatial sizes of a stride-2 (kernel 3, padding 1) conv stack: 28 → 14 → 7 → 4; 8 → 4."""
    sizes = [size]
    while sizes[-1] > floor:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class ConvEncoder(nn.Module):
    """Conv(3×3, stride 2) → act per halving down to ≤ 4×4, channels width·2^i; flatten [+ extra] → MLP head."""

    def __init__(self, shape: tuple[int, int, int], out_dim: int, width: int = 32, hidden: int = 256, activation: str = "relu", extra: int = 0) -> None:
        super().__init__()
        c, h, w = shape
        hs, ws = _halvings(h), _halvings(w)
        n = max(len(hs), len(ws)) - 1
        hs += [hs[-1]] * (n + 1 - len(hs))
        ws += [ws[-1]] * (n + 1 - len(ws))
        layers: list[nn.Module] = []
        ch = c
        for i in range(n):
            out = width * 2**i
            stride = (2 if hs[i + 1] < hs[i] else 1, 2 if ws[i + 1] < ws[i] else 1)
            layers += [nn.Conv2d(ch, out, 3, stride, 1), _activation(activation)]
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = MLP(ch * hs[-1] * ws[-1] + extra, out_dim, hidden, 1, activation)

    def forward(self, x: Tensor, extra: Tensor | None = None) -> Tensor:
        h = self.features(x).flatten(1)
        if extra is not None:
            h = torch.cat([h, extra.to(h.dtype)], 1)
        return self.head(h)


class ConvDecoder(nn.Module):
    """z → Linear → (C, h₀, w₀) → [nearest upsample to the next size → Conv 3×3 → act]* → Conv 3×3 → out_channels.

    The upsampling sizes mirror :class:`ConvEncoder`'s halvings, so any H × W is reproduced exactly.
    """

    def __init__(self, in_dim: int, shape: tuple[int, int, int], out_channels: int, width: int = 32, hidden: int = 256, activation: str = "relu") -> None:
        super().__init__()
        _, h, w = shape
        hs, ws = _halvings(h), _halvings(w)
        n = max(len(hs), len(ws)) - 1
        hs += [hs[-1]] * (n + 1 - len(hs))
        ws += [ws[-1]] * (n + 1 - len(ws))
        ch = width * 2 ** max(n - 1, 0)
        self.start = (ch, hs[-1], ws[-1])
        self.fc = nn.Sequential(nn.Linear(in_dim, hidden), _activation(activation), nn.Linear(hidden, math.prod(self.start)), _activation(activation))
        layers: list[nn.Module] = []
        for i in reversed(range(n)):
            out = width * 2 ** max(i - 1, 0)
            layers += [nn.Upsample(size=(hs[i], ws[i]), mode="nearest"), nn.Conv2d(ch, out, 3, 1, 1), _activation(activation)]
            ch = out
        layers.append(nn.Conv2d(ch, out_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.fc(z).reshape(z.shape[0], *self.start))


def build_encoder(arch: str, shape: tuple[int, ...], out_dim: int, hidden: int, depth: int, width: int,
                  activation: str, extra: int = 0) -> nn.Module:
    """The encoder for ``arch`` ("mlp" or "conv"); conv needs (C, H, W) data."""
    if arch == "conv":
        if len(shape) != 3:
            raise GenzooError(f"arch=conv needs image data (C, H, W), got shape {shape}")
        return ConvEncoder(shape, out_dim, width, hidden, activation, extra)  # type: ignore[arg-type]
    return MLPEncoder(math.prod(shape), out_dim, hidden, depth, activation, extra)


def build_decoder(arch: str, in_dim: int, shape: tuple[int, ...], n_params: int, hidden: int, depth: int, width: int,
                  activation: str) -> nn.Module:
    """The decoder for ``arch`` producing ``n_params`` numbers per data dimension."""
    if arch == "conv":
        if len(shape) != 3:
            raise GenzooError(f"arch=conv needs image data (C, H, W), got shape {shape}")
        return ConvDecoder(in_dim, shape, n_params * shape[0], width, hidden, activation)  # type: ignore[arg-type]
    _activation(activation)
    return MLP(in_dim, n_params * math.prod(shape), hidden, depth, activation)


class ResBlock(nn.Module):
    """x + Conv1×1(act(Conv3×3(act(x)))) — the VQ-VAE paper's residual block."""

    def __init__(self, ch: int, activation: str = "relu") -> None:
        super().__init__()
        self.net = nn.Sequential(_activation(activation), nn.Conv2d(ch, ch, 3, 1, 1), _activation(activation), nn.Conv2d(ch, ch, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


def _sizes(size: int, downsample: int) -> list[int]:
    sizes = [size]
    for _ in range(downsample):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class ConvMapEncoder(nn.Module):
    """Image → a spatial map of ``dim``-vectors: ``downsample`` stride-2 convs, a residual block, 1×1 conv."""

    def __init__(self, shape: tuple[int, int, int], dim: int, width: int = 32, downsample: int = 2, activation: str = "relu") -> None:
        super().__init__()
        c = shape[0]
        layers: list[nn.Module] = []
        ch = c
        for i in range(downsample):
            layers += [nn.Conv2d(ch, width, 3, 2, 1), _activation(activation)]
            ch = width
        layers += [nn.Conv2d(ch, width, 3, 1, 1), ResBlock(width, activation), _activation(activation), nn.Conv2d(width, dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvMapDecoder(nn.Module):
    """A ``dim``-vector map → image parameters: 1×1 conv, a residual block, nearest-upsample + conv ×
    ``downsample`` back to H × W exactly, 3×3 conv to ``out_channels``."""

    def __init__(self, dim: int, shape: tuple[int, int, int], out_channels: int, width: int = 32, downsample: int = 2,
                 activation: str = "relu") -> None:
        super().__init__()
        _, h, w = shape
        hs, ws = _sizes(h, downsample), _sizes(w, downsample)
        layers: list[nn.Module] = [nn.Conv2d(dim, width, 3, 1, 1), ResBlock(width, activation)]
        for i in reversed(range(downsample)):
            layers += [nn.Upsample(size=(hs[i], ws[i]), mode="nearest"), nn.Conv2d(width, width, 3, 1, 1), _activation(activation)]
        layers.append(nn.Conv2d(width, out_channels, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)
