"""Energy-Based GAN (Zhao, Mathieu & LeCun 2017): an autoencoder discriminator with a margin.

The discriminator is an energy function, the autoencoder's reconstruction error

    D(x) = ‖Dec(Enc(x)) − x‖²  / dim(x)        (mean squared error per sample, as in the paper's experiments)

low on data and high elsewhere. With a margin m > 0 the two losses are (eqs. 1–2)

    L_D(x, z) = D(x) + [m − D(G(z))]⁺
    L_G(z)    = D(G(z)) + λ_PT · f_PT(Enc(G(z)))                  (EBGAN-PT, λ_PT = 0.1)

where the pulling-away term (eq. 5) repels the generated batch's codes s_i = Enc(G(z_i)):

    f_PT(S) = 1/(N(N−1)) Σ_i Σ_{j≠i} (s_iᵀ s_j / (‖s_i‖ ‖s_j‖))²    — the cosine is SQUARED.

Each iteration: ``d_steps`` updates of D on real batches and detached fakes, then one update of G
(as in the GAN's alternation).

The margin must live on the energy's scale: D(G(z)) is only pushed up to m, so a margin far
below the typical reconstruction error makes the hinge inactive, and one far above it makes D
push fakes without bound. ``margin=None`` (default) sets m once, from the first real batch, to
the mean per-coordinate variance of the data, m = (1/dim) E‖x − E x‖² — the energy of an
autoencoder that has learned nothing and reconstructs every x by the data mean (e.g. ≈ 8 on
grid25, ≈ 0.5 on ring8, ≈ 0.1 on MNIST). The paper tunes m per data set by grid search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.config import at_least, nonnegative, option, positive
from genzoo.losses.adversarial import ebgan_margin, pulling_away
from genzoo.models.adversarial import AdversarialModel, TwoPlayerConfig
from genzoo.models.base import DataSpec, register_model
from genzoo.nn.autoencoder import autoencoder


@dataclass
class EBGANConfig(TwoPlayerConfig):
    margin: float | None = option(None, positive.saying("must be > 0 (or none: from the data)"),
                                  "m; none: the data's mean per-coordinate variance (see module docstring)")
    pt_weight: float = option(0.1, nonnegative, "λ_PT of EBGAN-PT (0 disables the pulling-away term)")
    code_dim: int | None = option(None, at_least(1), "the encoder's code size; none: 64 for images, 16 for points")
    ae_batch_norm: bool = option(True, None, "batch norm in the autoencoder (the paper's conv one uses it)")
    ae_activation: Literal["relu", "leaky_relu", "elu"] = option("leaky_relu", None, "the autoencoder's activation")


@register_model("ebgan")
class EBGAN(AdversarialModel):
    """Energy-based GAN (Zhao et al. 2017): autoencoder discriminator, margin hinge, pulling-away term."""

    Config = EBGANConfig

    def __init__(self, config: EBGANConfig, data: DataSpec) -> None:
        if config.code_dim is None:
            config.code_dim = 64 if data.kind == "images" else 16
        super().__init__(config, data)
        self.register_buffer("margin", torch.tensor(-1.0 if config.margin is None else float(config.margin)))
        self._margin_ready = False

    def make_discriminator(self) -> nn.Module:
        c = self.config
        return autoencoder(self.data.kind, self.data.shape, c.code_dim, c.hidden, c.depth, c.width,
                           c.ae_batch_norm, c.ae_activation)

    def reconstruction_energy(self, x: Tensor, codes: Tensor | None = None) -> Tensor:
        """D(x) = ‖Dec(Enc(x)) − x‖² / dim, one energy per sample (``codes``: Enc(x) if already computed)."""
        s = self.D.encode(x) if codes is None else codes
        return ((self.D.decode(s, tuple(x.shape[1:])) - x) ** 2).flatten(1).mean(1)

    def d(self, x: Tensor) -> Tensor:
        """The discriminator's output: the energy D(x) (low on data)."""
        return self.reconstruction_energy(x)

    def discriminator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L_D = D(x) + [m − D(G(z))]⁺ (eq. 1)."""
        return ebgan_margin(self.d(x), self.d(fake), self.margin).discriminator, {}

    def generator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L_G = D(G(z)) + λ_PT f_PT(Enc(G(z))) (eq. 2 with the pulling-away term, eq. 5)."""
        codes = self.D.encode(fake)
        pt = pulling_away(codes)
        return self.reconstruction_energy(fake, codes).mean() + self.config.pt_weight * pt, {"pt": pt.detach()}

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        if not self._margin_ready:  # margin=None: fix m from the data's scale on the first batch
            if self.margin < 0:
                self.margin.copy_(batch.flatten(1).var(0).mean())
            self._margin_ready = True
        return super().step(batch)  # d_steps updates of L_D, then one of L_G
