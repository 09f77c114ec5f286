"""Conditional GAN (Mirza & Osindero, 2014): both players see the label y.

The minimax game of the GAN with every density conditioned on y:

    min_G max_D  E_{(x,y)~p}[log D(x | y)] + E_{z~p(z), y~p(y)}[log(1 − D(G(z | y) | y))]

Each training iteration (labelled batch {(x_i, y_i)}):

    for k steps (config.d_steps):                       # as in GAN's Algorithm 1
        fakes x̃_i = G(z_i, y_i), z_i ~ N(0, I), y_i the batch's own labels (so y ~ p(y))
        descend the objective's discriminator loss of d(x_i, y_i), d(x̃_i, y_i)
    descend the objective's generator loss of d(G(z_i, y_i), y_i)

Conditioning (``genzoo.nn.conditional``): G(z, y) = G₀([z, e_y]) with e_y the one-hot label;
D concatenates e_y to the point, or as K constant planes to the image channels
(``conditioning="concat"``, the paper's input-level joining), or uses the projection
discriminator (``conditioning="projection"``, Miyato & Koyama 2018).

Deviation: the paper used maxout MLPs trained by SGD with momentum on MNIST; genzoo uses the
shared adversarial core (MLP on points, DCGAN on images, Adam as in DCGAN; any registered
``objective``) so the conditional
model differs from ``gan`` only by the labels.

``sample(n)`` draws labels uniformly from 0..K−1; ``sample(n, y=labels)`` conditions on given ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import one_of, option
from genzoo.errors import GenzooError
from genzoo.models.adversarial import AdversarialConfig, AdversarialModel, build_discriminator, build_generator
from genzoo.models.base import DataSpec, register_model
from genzoo.nn.conditional import ConditionalDiscriminator, ConditionalGenerator
from genzoo.nn.context import evaluating


@dataclass
class CGANConfig(AdversarialConfig):
    conditioning: Literal["concat", "projection"] = option(
        "concat", one_of("concat", "projection"), "how D sees the label; concat: the paper's joint input")


def augmented_spec(data: DataSpec, n_classes: int) -> DataSpec:
    """The data spec D₀ sees under concatenation: D + K features, or C + K channels."""
    if data.kind == "images":
        c, h, w = data.shape
        return replace(data, shape=(c + n_classes, h, w))
    return replace(data, shape=(data.dim + n_classes,))


@register_model("cgan")
class CGAN(AdversarialModel):
    """Conditional GAN (Mirza & Osindero 2014): G(z, y), D(x, y) with one-hot labels."""

    Config = CGANConfig
    uses_labels = True

    def __init__(self, config: CGANConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        k = self.n_classes = data.n_classes
        d_spec = augmented_spec(data, k) if config.conditioning == "concat" else data
        self.replace_networks(
            G=ConditionalGenerator(build_generator(config, data, z_dim=config.z_dim + k), k),
            D=ConditionalDiscriminator(build_discriminator(config, d_spec), k, data.kind, config.conditioning),
        )

    def d(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """d(x, y), one scalar per sample; the label is required."""
        if y is None:
            raise GenzooError("the conditional GAN's discriminator needs labels: d(x, y)")
        return self.D(x, y).squeeze(-1)

    def labels(self, n: int) -> Tensor:
        """y ~ Uniform{0..K−1}."""
        return torch.randint(self.n_classes, (n,), device=self.device)

    def fakes(self, n: int, y: Tensor | None = None) -> Tensor:
        """G(z, y) for the batch's own labels y (so y ~ p(y)); uniform labels when none are given."""
        return self.G(self.prior(n), self.labels(n) if y is None else y)

    # step: AdversarialModel.step with c = y — real pairs (x, y) against fakes (G(z, y), y)

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None) -> Tensor:
        """n samples G(z, y); y uniform over the classes unless given (shape (n,))."""
        if y is None:
            y = self.labels(n)
        elif y.shape != (n,):
            raise GenzooError(f"labels y must have shape ({n},), got {tuple(y.shape)}")
        with evaluating(self):
            return self.fakes(n, y.to(self.device))
