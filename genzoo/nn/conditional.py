"""Label-conditioned networks G(z, y) and D(x, y) for points and images, and a trunk/head split.

Conditioning, as in the conditional GAN (Mirza & Osindero, 2014), feeds the label y ∈ {0..K−1}
to both players as a one-hot vector e_y:

* generator: G(z, y) = G₀([z, e_y]), the one-hot concatenated to the noise (points and images);
* discriminator, ``mode="concat"``: for points d(x, y) = D₀([x, e_y]); for images e_y is
  broadcast to K constant H×W planes stacked onto the C image channels, d(x, y) = D₀([x; e_y ⊗ 1]);
* discriminator, ``mode="projection"`` (Miyato & Koyama, 2018): with D₀'s penultimate features
  φ(x) and output layer ψ, d(x, y) = ψ(φ(x)) + ⟨E e_y, φ(x)⟩ with a learned class embedding E.

:func:`features_and_head` splits a discriminator into (φ, ψ); InfoGAN's Q head shares φ too.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.nn.dcgan import DCGANDiscriminator

__all__ = ["features_and_head", "ConditionalGenerator", "ConditionalDiscriminator", "one_hot"]


def one_hot(y: Tensor, n_classes: int, like: Tensor) -> Tensor:
    """e_y as rows of float one-hot vectors (N, K) in ``like``'s dtype and device; labels are checked."""
    if y.ndim != 1:
        raise GenzooError(f"labels must have shape (N,), got {tuple(y.shape)}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise GenzooError(f"labels must lie in 0..{n_classes - 1}, got values in {int(y.min())}..{int(y.max())}")
    return F.one_hot(y.long(), n_classes).to(dtype=like.dtype, device=like.device)


def features_and_head(discriminator: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """(φ, ψ) with discriminator(x) = ψ(φ(x)): the body and the output layer.

    Works for :class:`~genzoo.nn.DCGANDiscriminator` (``body``/``head``) and for any
    ``nn.Sequential`` ending in an ``nn.Linear`` (the :class:`~genzoo.nn.MLP`); φ shares the
    discriminator's modules, so training either trains both.
    """
    if isinstance(discriminator, DCGANDiscriminator):
        return discriminator.body, discriminator.head
    if isinstance(discriminator, nn.Sequential) and isinstance(discriminator[-1], nn.Linear):
        return nn.Sequential(*list(discriminator)[:-1]), discriminator[-1]
    raise GenzooError(f"cannot split {type(discriminator).__name__} into features and head")


class ConditionalGenerator(nn.Module):
    """G(z, y) = G₀([z, e_y]); ``base`` must accept z_dim + n_classes inputs."""

    def __init__(self, base: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.base, self.n_classes = base, n_classes

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        return self.base(torch.cat([z, one_hot(y, self.n_classes, z)], 1))


class ConditionalDiscriminator(nn.Module):
    """d(x, y) by concatenation (``base`` built for D + K inputs or C + K channels) or projection.

    Args:
        base: the unconditional network D₀. For ``concat`` it must take the augmented input
            (points: D + K features; images: C + K channels); for ``projection`` the plain input.
        n_classes: K.
        kind: "points" or "images" (how e_y is attached for ``concat``).
        mode: "concat" or "projection".
    """

    def __init__(self, base: nn.Module, n_classes: int, kind: str, mode: Literal["concat", "projection"] = "concat") -> None:
        super().__init__()
        if mode not in ("concat", "projection"):
            raise GenzooError(f"invalid value conditioning={mode!r}; valid: concat, projection")
        self.base, self.n_classes, self.kind, self.mode = base, n_classes, kind, mode
        if mode == "projection":
            self.features, self.head = features_and_head(base)
            self.embed = nn.Embedding(n_classes, self.head.in_features)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        e = one_hot(y, self.n_classes, x)
        if self.mode == "projection":
            phi = self.features(x)
            return self.head(phi) + (e @ self.embed.weight * phi).sum(1, keepdim=True)
        if self.kind == "images":
            planes = e[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
            return self.base(torch.cat([x, planes], 1))
        return self.base(torch.cat([x.flatten(1), e], 1))
