"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising").

The VAE bound plus a penalty on the total correlation of the aggregate posterior q(z) (eq. 2):

    (1/N) Σ_i [ E_{q(z|x_i)}[log p(x_i|z)] − KL(q(z|x_i) ‖ p(z)) ] − γ·KL(q(z) ‖ q̄(z)),
    q̄(z) = Π_j q(z_j)

The TC is estimated by the density-ratio trick: a discriminator D(z) tells samples of q(z) from
samples of q̄(z), obtained by shuffling each dimension independently across a batch
(``permute_dims``), and TC ≈ E_{q(z)}[log D(z)/(1 − D(z))] (:mod:`genzoo.estimators.total_correlation`).

Algorithm 2 of the paper, one iteration (``batches_per_step = 2``: two batches arrive together):

    x, x' ← two minibatches
    z ~ q(z|x)
    θ, φ ← Adam step on  −ELBO(x) + γ·mean[logit₀ − logit₁](D(z))           # D frozen here
    z' ~ q(z|x');  z̃ ← permute_dims(z')
    ψ ← Adam step on  −½ mean[log D(z)] − ½ mean[log(1 − D(z̃))]              # z, z' detached

The discriminator's step uses detached codes, so it never moves the encoder (a well-known
library lets its gradient reach the encoder); while the VAE's loss reads D, D is frozen so its
parameters collect no gradient from it.

Defaults (the paper's dSprites setup, Appendix): 10 latents, batch 64 (the trainer's setting),
VAE Adam lr 1e-4, β = (0.9, 0.999); discriminator an MLP of 6 hidden layers × 1000 units with
LeakyReLU(0.2), Adam lr 1e-4, β = (0.5, 0.9). γ = 35 is genzoo's default (the paper sweeps γ; the
large study of Locatello et al. 2019 uses γ ∈ {10, 20, 30, 40, 50, 100}). Networks and the
observation model are the VAE family's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genzoo.config import at_least, half_open_unit_interval, nonnegative, option, positive
from genzoo.estimators.total_correlation import TCDiscriminator, density_ratio_tc, permute_dims, tc_discriminator_loss
from genzoo.models.base import DataSpec, register_model
from genzoo.models.vae import VAE, Terms, VAEConfig
from genzoo.nn.context import frozen
from genzoo.optim import adam, descend


@dataclass
class FactorVAEConfig(VAEConfig):
    latent_dim: int | None = 10
    gamma: float = option(35.0, nonnegative, "weight of the TC penalty")
    lr: float = 1e-4
    disc_hidden: int = option(1000, at_least(1), "units per hidden layer of the TC discriminator")
    disc_layers: int = option(6, at_least(1), "hidden layers of disc_hidden units before the 2-logit output")
    disc_lr: float = option(1e-4, positive, "Adam learning rate of the discriminator")
    disc_beta1: float = option(0.5, half_open_unit_interval, "Adam β1 of the discriminator")
    disc_beta2: float = option(0.9, half_open_unit_interval, "Adam β2 of the discriminator")


@register_model("factorvae")
class FactorVAE(VAE):
    """FactorVAE (Kim & Mnih 2018): VAE + γ·TC(q(z)) by a permute-dims density-ratio discriminator, γ = 35."""

    Config = FactorVAEConfig
    contract_overrides = {**VAE.contract_overrides, "disc_hidden": 16, "disc_layers": 2, "lr": 1e-3}

    def __init__(self, config: FactorVAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)  # the VAE's optimiser holds the encoder and decoder only
        self.discriminator = TCDiscriminator(self.latent_dim, config.disc_hidden, config.disc_layers)
        self.opt_d = adam(self.discriminator.parameters(), lr=config.disc_lr, betas=(config.disc_beta1, config.disc_beta2))

    @property
    def batches_per_step(self) -> int:
        return 2

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "discriminator": self.opt_d}

    @staticmethod
    def halves(batch: Tensor | tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The step's two batches (x, x'): x trains the VAE, x' gives the discriminator its permuted codes."""
        x = VAE.inputs(batch)
        half = max(1, x.shape[0] // 2)
        return x[:half], (x[half:] if x.shape[0] > 1 else x)

    def inputs(self, batch: Tensor | tuple[Tensor, Tensor]) -> Tensor:  # type: ignore[override]
        """The first of the two batches trains the VAE."""
        return self.halves(batch)[0]

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """γ·TC(z) with TC ≈ mean log D(z)/(1 − D(z)); D frozen so only θ, φ receive this gradient."""
        with frozen(self.discriminator):
            tc = density_ratio_tc(self.discriminator(terms.z))
        return self.config.gamma * tc, {"tc": tc}

    def discriminator_loss(self, z: Tensor, z_other: Tensor) -> Tensor:
        """D's cross-entropy on detached codes: z ~ q(z) (class 0) vs permute_dims(z_other) (class 1)."""
        z, z_other = z.detach(), z_other.detach()
        return tc_discriminator_loss(self.discriminator(z), self.discriminator(permute_dims(z_other)))

    def after_update(self, batch: Tensor | tuple[Tensor, Tensor], terms: Terms) -> dict[str, Tensor]:
        """The discriminator's step: codes of x (this step's, detached) vs permuted codes of x'."""
        with torch.no_grad():
            z_other = self.encode(self.halves(batch)[1]).sample()
        loss = self.discriminator_loss(terms.z, z_other)
        descend(self.opt_d, loss)
        return {"d_loss": loss.detach()}
