"""Boundary Equilibrium GAN (Berthelot, Schumm & Metz 2017).

The discriminator is an autoencoder; its loss on a sample is the reconstruction error

    L(v) = |v − D(v)|^η        (per sample, averaged over coordinates; η = 1 in the paper)

and the game matches the *distributions of reconstruction losses* of real and generated data,
holding them at the equilibrium E[L(G(z))] = γ E[L(x)] with a proportional controller k_t
(the paper's eq. 4):

    L_D = L(x) − k_t · L(G(z_D))                 for θ_D
    L_G = L(G(z_G))                              for θ_G
    k_{t+1} = k_t + λ_k (γ L(x) − L(G(z_G))),    clipped to [0, 1], k_0 = 0

Both players are updated from the same iteration's losses (one evaluation, as in the paper's
update box), then k moves. γ ∈ [0, 1] (diversity ratio) trades diversity for quality. The
global convergence measure, logged as ``M`` with ``k``, is

    M_global = L(x) + |γ L(x) − L(G(z_G))|.

Defaults: γ = 0.5, λ_k = 0.001, η = 1, Adam lr 1e-4 on images (the paper; on points genzoo's
MLP default 1e-3, a CPU-budget choice), code size h = 64 for images, ELU and no batch norm in
the autoencoder (the paper's architecture). On points the code has dim(x) − 1 coordinates: an
autoencoder as wide as the data learns the identity, reconstructs every point equally well and
gives the generator no signal (the image AE's bottleneck plays this role in the paper).
BEGAN matches only the *mean* reconstruction losses, so on multi-modal points it readily
collapses onto one mode (a real mode reconstructs well, and with k < 1 D will not give it up). Deviation: the generator is the shared DCGAN/MLP
generator rather than a copy of the decoder, and the paper's learning-rate decay when M stalls is
not applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from genzoo.config import at_least, check, nonnegative, one_of, option, unit_interval
from genzoo.losses.adversarial import began_losses
from genzoo.models.adversarial import AdversarialModel, TwoPlayerConfig
from genzoo.models.base import DataSpec, register_model
from genzoo.nn.autoencoder import autoencoder


@dataclass
class BEGANConfig(TwoPlayerConfig):
    gamma: float = option(0.5, unit_interval, "γ, the diversity ratio E[L(G(z))] / E[L(x)] at equilibrium")
    lambda_k: float = option(0.001, nonnegative, "λ_k, the proportional gain of k")
    k0: float = option(0.0, unit_interval, "k_0, the initial weight of the fakes' loss in D's")
    eta: int = option(1, one_of(1, 2), "η of the autoencoder loss L(v) = |v − D(v)|^η")
    code_dim: int | None = option(None, at_least(1), "h; none: 64 for images (the paper), dim − 1 for points (a bottleneck)")
    ae_batch_norm: bool = option(False, None, "batch norm in the autoencoder (the paper's has none)")
    ae_activation: Literal["relu", "leaky_relu", "elu"] = option("elu", None, "the autoencoder's activation")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.d_steps == 1, "d_steps", self.d_steps, "BEGAN updates both players once per iteration")


@register_model("began")
class BEGAN(AdversarialModel):
    """Boundary equilibrium GAN (Berthelot et al. 2017): AE discriminator, k_t controller, convergence measure M."""

    Config = BEGANConfig

    def __init__(self, config: BEGANConfig, data: DataSpec) -> None:
        if config.code_dim is None:  # points: narrower than the data, or the AE reconstructs everything
            config.code_dim = 64 if data.kind == "images" else max(1, data.dim - 1)
        if data.kind == "images":  # the paper's learning rate
            config.lr_g = 1e-4 if config.lr_g is None else config.lr_g
            config.lr_d = 1e-4 if config.lr_d is None else config.lr_d
        super().__init__(config, data)
        self.register_buffer("k", torch.tensor(float(config.k0)))

    def make_discriminator(self) -> nn.Module:
        c = self.config
        return autoencoder(self.data.kind, self.data.shape, c.code_dim, c.hidden, c.depth, c.width,
                           c.ae_batch_norm, c.ae_activation)

    def reconstruction_loss(self, v: Tensor) -> Tensor:
        """L(v) = |v − D(v)|^η averaged over coordinates, one value per sample."""
        return ((v - self.D(v)).abs() ** self.config.eta).flatten(1).mean(1)

    def d(self, x: Tensor) -> Tensor:
        """The discriminator's output: the reconstruction loss L(x) (low on data)."""
        return self.reconstruction_loss(x)

    def discriminator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L_D = L(x) − k_t L(G(z_D))."""
        loss_fake = self.reconstruction_loss(fake).mean()
        return began_losses(self.reconstruction_loss(x).mean(), loss_fake, loss_fake, self.k)[0], {}

    def generator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """L_G = L(G(z_G))."""
        return self.reconstruction_loss(fake).mean(), {}

    def step(self, batch: Tensor) -> dict[str, Tensor]:
        """The paper's simultaneous update (the alternating phases above serve callers that need one player)."""
        x, n = batch, batch.shape[0]
        loss_real = self.reconstruction_loss(x).mean()  # L(x)
        loss_fake_d = self.reconstruction_loss(self.G(self.prior(n)).detach()).mean()  # L(G(z_D))
        loss_fake_g = self.reconstruction_loss(self.G(self.prior(n))).mean()  # L(G(z_G))
        loss_d, loss_g = began_losses(loss_real, loss_fake_d, loss_fake_g, self.k)
        self.simultaneous_step(loss_d, loss_g)  # θ_D ← θ_D − ∇L_D,  θ_G ← θ_G − ∇L_G
        with torch.no_grad():
            balance = self.config.gamma * loss_real - loss_fake_g  # γ L(x) − L(G(z_G))
            self.k.copy_((self.k + self.config.lambda_k * balance).clamp(0.0, 1.0))
            convergence = loss_real + balance.abs()  # M_global
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "k": self.k.clone(), "M": convergence}
