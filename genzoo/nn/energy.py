"""Energy networks E(x) (one scalar per example) and the extra networks of generator-based EBMs.

* :class:`EnergyNet` — a feature network φ (an MLP on points, a small convolutional net on
  images; smooth SiLU activations, because Langevin dynamics follows ∇_x E and a ReLU energy
  has a piecewise-constant gradient) followed by one of two heads:

  - ``linear``: E(x) = wᵀφ(x) + c (Du & Mordatch 2019; Nijkamp et al. 2019);
  - ``kim-bengio``: the product-of-experts form of Kim & Bengio (2016, eq. 6),

        E(x) = (1/σ²) xᵀx − bᵀx − Σ_i log(1 + exp(w_iᵀ φ(x) + c_i)),

    a Gaussian term that keeps exp(−E) normalisable plus one softplus "expert" per feature.

* :func:`bn_generator` — a generator whose hidden units are batch-normalised (Kim & Bengio's
  entropy estimate reads their scales): MLP with BatchNorm on points, DCGAN on images.
* :class:`StatisticsNetwork` — T(x, z) for the Deep InfoMax estimator of I(z; G(z)) (MEG).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.nn.dcgan import DCGANGenerator
from genzoo.nn.mlp import MLP


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class ConvFeatures(nn.Module):
    """image → Conv3×3 → [Conv 4×4 stride 2 → SiLU] × 2 → flatten → features (N, out_dim)."""

    def __init__(self, channels: int, size: int, width: int = 32, out_dim: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1), nn.SiLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.SiLU(),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.SiLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.net(torch.zeros(1, channels, size, size)).shape[1]
        self.net.append(nn.Linear(flat, out_dim))
        self.net.append(nn.SiLU())
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EnergyNet(nn.Module):
    """E(x): feature network φ plus a ``linear`` or ``kim-bengio`` head; returns shape (N,)."""

    def __init__(
        self,
        shape: tuple[int, ...],
        arch: Literal["mlp", "conv"] = "mlp",
        hidden: int = 128,
        depth: int = 3,
        width: int = 32,
        head: Literal["linear", "kim-bengio"] = "linear",
        sigma: float = 1.0,
    ) -> None:
        super().__init__()
        self.shape, self.head_kind, self.sigma = tuple(shape), head, sigma
        if arch == "conv":
            self.features: nn.Module = ConvFeatures(shape[0], shape[1], width, hidden)
        else:  # MLP whose last hidden layer is the feature vector
            self.features = nn.Sequential(MLP(_numel(shape), hidden, hidden, depth - 1, activation="silu"), nn.SiLU())
        if head == "linear":
            self.out = nn.Linear(hidden, 1)
        else:
            self.experts = nn.Linear(hidden, hidden)  # w_i, c_i
            self.b = nn.Parameter(torch.zeros(_numel(shape)))

    def forward(self, x: Tensor) -> Tensor:
        phi = self.features(x)
        if self.head_kind == "linear":
            return self.out(phi).squeeze(-1)
        flat = x.flatten(1)
        return ((flat * flat).sum(1) / self.sigma**2 - flat @ self.b
                - nn.functional.softplus(self.experts(phi)).sum(1))


def bn_generator(z_dim: int, shape: tuple[int, ...], kind: str, hidden: int = 128, depth: int = 2,
                 width: int = 64) -> nn.Module:
    """A generator with batch-normalised hidden units: MLP (points) or DCGAN (images, sigmoid output)."""
    if kind == "images":
        return DCGANGenerator(z_dim, shape[0], shape[1], width)
    return nn.Sequential(MLP(z_dim, _numel(shape), hidden, depth, batch_norm=True), nn.Unflatten(1, shape))


class StatisticsNetwork(nn.Module):
    """T(x, z) = MLP([flatten(x), z]) → one score per pair (the Deep InfoMax critic of MEG)."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, hidden: int = 128, depth: int = 2) -> None:
        super().__init__()
        self.net = MLP(_numel(shape) + z_dim, 1, hidden, depth, activation="leaky_relu")

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.net(torch.cat([x.flatten(1), z], 1)).squeeze(-1)
