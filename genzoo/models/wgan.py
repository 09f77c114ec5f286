"""Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017) and with gradient
penalty (Gulrajani et al. 2017).

The critic f_w estimates the Kantorovich–Rubinstein dual of the earth mover's distance,

    W1(p, q_θ) = sup_{‖f‖_L ≤ 1} E_{x~p}[f(x)] − E_{z~p(z)}[f(g_θ(z))],

and the generator descends that estimate. WGAN, Algorithm 1 (α = 5e-5, c = 0.01, m = 64,
n_critic = 5):

    while θ has not converged:
        for t = 0, ..., n_critic − 1:
            sample {x_i} ~ p, {z_i} ~ p(z)
            g_w ← ∇_w [1/m Σ f_w(x_i) − 1/m Σ f_w(g_θ(z_i))]
            w ← w + α · RMSProp(w, g_w)
            w ← clip(w, −c, c)                       # a crude Lipschitz constraint
        sample {z_i} ~ p(z)
        g_θ ← −∇_θ 1/m Σ f_w(g_θ(z_i))
        θ ← θ − α · RMSProp(θ, g_θ)

WGAN-GP, Algorithm 1 (λ = 10, n_critic = 5, Adam α = 1e-4, β1 = 0, β2 = 0.9): the same loop
without clipping; the critic's loss gains the gradient penalty on random interpolates

    L = E[f_w(x̃)] − E[f_w(x)] + λ E_x̂[(‖∇_x̂ f_w(x̂)‖₂ − 1)²],   x̂ = ε x + (1 − ε) x̃, ε ~ U[0, 1],

and the critic has no batch normalisation (the penalty is per sample). The objective is any
registered one (``wasserstein`` by default; e.g. ``--set objective=hinge`` with the penalty).
Each step also logs ``critic_gap`` = E f_w(x) − E f_w(x̃) of the last critic batch, the critic's
W1 estimate (up to its Lipschitz constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from genzoo.config import nonnegative, option, positive
from genzoo.losses.adversarial import gradient_penalty
from genzoo.models.adversarial import AdversarialConfig, AdversarialModel, build_discriminator, clip_weights
from genzoo.models.base import DataSpec, register_model


@dataclass
class WGANConfig(AdversarialConfig):
    """Arjovsky et al. 2017, Algorithm 1 defaults."""

    objective: str = "wasserstein"
    d_steps: int = 5  # n_critic
    optimizer: Literal["adam", "rmsprop"] = "rmsprop"  # the paper: momentum-based optimisers destabilise the critic
    lr_g: float | None = 5e-5  # α
    lr_d: float | None = 5e-5
    clip: float | None = option(0.01, positive.saying("must be > 0 (or none to disable clipping)"),
                                "c, the critic's weight clipping; none disables it")
    gp_weight: float = option(0.0, nonnegative, "λ of the gradient penalty (0: off; WGAN-GP uses 10)")
    critic_batch_norm: bool = option(True, None, "batch norm in the critic (the paper's DCGAN critic keeps it; WGAN-GP removes it)")


@dataclass
class WGANGPConfig(WGANConfig):
    """Gulrajani et al. 2017, Algorithm 1 defaults."""

    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr_g: float | None = 1e-4
    lr_d: float | None = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    clip: float | None = None
    gp_weight: float = 10.0  # λ
    critic_batch_norm: bool = False  # "no critic batch normalization"


@register_model("wgan")
class WGAN(AdversarialModel):
    """Wasserstein GAN (Arjovsky et al. 2017): n_critic critic steps, weight clipping, RMSProp."""

    Config = WGANConfig

    def __init__(self, config: WGANConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        self.clip_critic()  # the critic starts inside the clipped set W = [−c, c]^d

    def make_discriminator(self) -> nn.Module:
        return build_discriminator(self.config, self.data, batch_norm=self.config.critic_batch_norm)

    def clip_critic(self) -> None:
        """w ← clip(w, −c, c) for every critic parameter (no-op without ``clip``)."""
        clip_weights([self.D], self.config.clip)

    def critic_penalty(self, x: Tensor, fake: Tensor) -> Tensor:
        """λ E[(‖∇_x̂ f(x̂)‖ − 1)²] (WGAN-GP), or 0 when ``gp_weight`` is 0."""
        if self.config.gp_weight == 0:
            return x.new_zeros(())
        return self.config.gp_weight * gradient_penalty(self.d, x, fake)

    def discriminator_loss(self, x: Tensor, fake: Tensor, c: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """The critic's loss on a real batch and detached fakes, plus E f(x) − E f(x̃) as ``critic_gap``."""
        d_real, d_fake = self.d(x), self.d(fake)
        loss = self.objective(d_real, d_fake).discriminator + self.critic_penalty(x, fake)
        return loss, {"critic_gap": (d_real.mean() - d_fake.mean()).detach()}

    def after_discriminator_update(self) -> None:
        self.clip_critic()  # w ← clip(w, −c, c)

    # step: AdversarialModel.step — n_critic = d_steps critic updates, then θ ← θ − α ∇_θ(−E f_w(g_θ(z)))


@register_model("wgan-gp")
class WGANGP(WGAN):
    """WGAN with gradient penalty (Gulrajani et al. 2017): λ = 10, n_critic = 5, Adam(1e-4, β = (0, 0.9)), no critic BN."""

    Config = WGANGPConfig
