"""Image-to-image networks: a small U-Net translator and a patch critic (after pix2pix, used by DualGAN).

DualGAN (Yi et al. 2017) takes its networks from pix2pix (Isola et al. 2017): a U-Net generator
whose decoder sees the encoder's features through skip connections (so fine detail need not
pass the bottleneck), with dropout as the only noise, and a PatchGAN discriminator that scores
local patches. genzoo's versions are two levels deep, for images whose side is a multiple of 4
(MNIST's 28, scikit-learn's 8)::

    U-Net    x (C, H, W) → Conv4s2 → LReLU ─────────────────────────────┐ skip (w, H/2)
                        → Conv4s2 → BN → LReLU ───────────────┐ skip     │
                        → Conv3s1 → BN → ReLU                 │ (2w, H/4)│
                        → [·, skip] ConvT4s2 → BN → Dropout → ReLU       │
                        → [·, skip] ConvT4s2 → sigmoid  → x′ (C, H, W) in [0, 1]

    Patch    x → Conv4s2 → LReLU → Conv4s2 → BN → LReLU → Conv3s1 → one score per H/4×W/4 patch,
             averaged to one critic value per image.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genzoo.errors import GenzooError

__all__ = ["UNetTranslator", "PatchCritic", "check_translatable"]


def check_translatable(shape: tuple[int, ...]) -> None:
    """Images (C, H, W) with H and W multiples of 4, as the two-level U-Net needs."""
    if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
        raise GenzooError(f"translation networks need images (C, H, W) with H and W multiples of 4, got {tuple(shape)}")


class UNetTranslator(nn.Module):
    """x (N, C, H, W) → x′ (N, C_out, H, W) in [0, 1]; ``dropout`` on the decoder is the noise z of pix2pix."""

    def __init__(self, channels: int, width: int = 64, dropout: float = 0.5, out_channels: int | None = None) -> None:
        super().__init__()
        w, out = width, out_channels or channels
        self.enc1 = nn.Sequential(nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2))
        self.enc2 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2))
        self.mid = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU())
        self.dec2 = nn.Sequential(nn.ConvTranspose2d(4 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.Dropout(dropout), nn.ReLU())
        self.dec1 = nn.Sequential(nn.ConvTranspose2d(2 * w, out, 4, 2, 1), nn.Sigmoid())
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        h = self.dec2(torch.cat([self.mid(e2), e2], 1))
        return self.dec1(torch.cat([h, e1], 1))


class PatchCritic(nn.Module):
    """Patch scores averaged per image: x (N, C, H, W) → (N,). ``patches(x)`` keeps the (N, H/4, W/4) map."""

    def __init__(self, channels: int, width: int = 64, batch_norm: bool = True) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=not batch_norm), nn.BatchNorm2d(2 * w) if batch_norm else nn.Identity(), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 1, 3, 1, 1),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias) if m.bias is not None else None

    def patches(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)

    def forward(self, x: Tensor) -> Tensor:
        return self.patches(x).flatten(1).mean(1)
