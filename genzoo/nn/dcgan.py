"""DCGAN networks (Radford et al., 2016) for square images of 28, 32, 64 px (any base·2^k).

Architecture guidelines of the paper: strided convolutions instead of pooling, batch norm in
both G and D (not on G's output nor D's input layer), ReLU in G, LeakyReLU(0.2) in D.
The generator ends in a sigmoid because genzoo keeps images in [0, 1]; this is the paper's tanh
on [−1, 1] data up to the affine map tanh(a) = 2·sigmoid(2a) − 1.
"""

from __future__ import annotations

import torch
from torch import nn

from genzoo.errors import GenzooError


def dcgan_base_size(size: int) -> tuple[int, int]:
    """Return (base, n_upsamplings) with base·2^n = size and base in {4, 7} (28 = 7·2², 64 = 4·2⁴)."""
    for base in (4, 7, 3, 5):
        n, s = 0, size
        while s > base and s % 2 == 0:
            s //= 2
            n += 1
        if s == base and n >= 1:
            return base, n
    raise GenzooError(f"invalid image size {size}: DCGAN needs size = b·2^k with b in (3, 4, 5, 7), k ≥ 1 (e.g. 28, 32, 64)")


def _init_dcgan(module: nn.Module) -> None:
    """Weights ~ N(0, 0.02), BN scale ~ N(1, 0.02) as in the DCGAN paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, z_dim) → fc → (width·2^(n−1), base, base) → [ConvT 4×4 stride 2 → BN → ReLU] → image (N, C, size, size)."""

    def __init__(self, z_dim: int, channels: int, size: int, width: int = 64, output: str = "sigmoid") -> None:
        super().__init__()
        base, n_up = dcgan_base_size(size)
        top = width * 2 ** (n_up - 1)
        self.z_dim, self.shape = z_dim, (channels, size, size)
        self.project = nn.Sequential(
            nn.Linear(z_dim, top * base * base, bias=False), nn.BatchNorm1d(top * base * base), nn.ReLU(True)
        )
        self.base, self.top = base, top
        layers: list[nn.Module] = []
        c = top
        for i in range(n_up - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers.append(nn.ConvTranspose2d(c, channels, 4, 2, 1))
        if output == "sigmoid":
            layers.append(nn.Sigmoid())
        elif output == "tanh":
            layers.append(nn.Tanh())
        self.deconv = nn.Sequential(*layers)
        self.apply(_init_dcgan)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.top, self.base, self.base)
        return self.deconv(h)


class DCGANDiscriminator(nn.Module):
    """image → [Conv 4×4 stride 2 → (BN) → LeakyReLU(0.2)] → flatten → linear → ``out_dim`` logits.

    ``batch_norm=False`` drops BN everywhere (needed by WGAN-GP, whose penalty is per sample).
    ``features(x)`` returns the penultimate features (feature matching, InfoGAN's Q head).
    """

    def __init__(self, channels: int, size: int, width: int = 64, out_dim: int = 1, batch_norm: bool = True) -> None:
        super().__init__()
        base, n_down = dcgan_base_size(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for i in range(n_down):
            layers.append(nn.Conv2d(c_in, c, 4, 2, 1, bias=not (batch_norm and i > 0)))
            if batch_norm and i > 0:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2))  # not in place: Unrolled GAN differentiates through D twice
            c_in, c = c, c * 2
        layers.append(nn.Flatten())
        self.body = nn.Sequential(*layers)
        self.feature_dim = c_in * base * base
        self.head = nn.Linear(self.feature_dim, out_dim)
        self.apply(_init_dcgan)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
