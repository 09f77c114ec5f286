"""β-VAE (Higgins et al. 2017, "β-VAE: Learning Basic Visual Concepts with a Constrained Variational
Framework") and its capacity-annealed form (Burgess et al. 2018, "Understanding disentangling in β-VAE").

Higgins et al., eq. 4 — the VAE bound with the KL weighted by β > 1:

    L(θ, φ; x, β) = E_{q_φ(z|x)}[log p_θ(x|z)] − β·KL(q_φ(z|x) ‖ p(z)),   p(z) = N(0, I)

A stronger pull toward the factorised prior limits the channel capacity of z, which the paper
argues favours codes aligned with independent generative factors. Its dSprites setting: β = 4,
10 latents (Higgins et al., Appendix A.4).

Burgess et al., eq. 8 — replace the fixed weight by a target capacity C that grows during training:

    L = E_{q(z|x)}[log p(x|z)] − γ·|KL(q(z|x) ‖ p(z)) − C|

with C increased linearly from 0 to C_max; their dSprites setting: γ = 1000, C: 0 → 25 nats over
100 000 iterations. Set ``capacity_max`` to switch to this objective (``beta`` is then unused).

Defaults vs the papers: β = 4 and 10 latents as Higgins et al.'s dSprites run; the networks and
observation model (Bernoulli for binary images) are the VAE family's; the optimiser is Adam with
lr 1e-4 (genzoo's choice, shared by the disentangling family; Higgins et al. report Adagrad).
``capacity_steps`` defaults to Burgess et al.'s 100 000 — set it to the run length. Either way each
step also reports the β = 1 ``elbo``, ``rate`` and ``distortion``; the loss is not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genzoo.config import at_least, nonnegative, option
from genzoo.models.base import DataSpec, register_model
from genzoo.models.vae import VAE, Terms, VAEConfig


@dataclass
class BetaVAEConfig(VAEConfig):
    latent_dim: int | None = 10
    beta: float = 4.0  # Higgins et al.'s dSprites β
    lr: float = 1e-4
    capacity_max: float | None = option(None, nonnegative.saying("must be ≥ 0 nats"),
                                        "Burgess et al.'s C_max (nats); none: Higgins et al.'s fixed β")
    capacity_gamma: float = option(1000.0, nonnegative, "Burgess et al.'s γ, the weight of |KL − C|")
    capacity_steps: int = option(100_000, at_least(1), "iterations over which C grows linearly from 0 to C_max")


@register_model("beta-vae")
class BetaVAE(VAE):
    """β-VAE (Higgins et al. 2017): KL weighted by β = 4; optional annealed capacity C (Burgess et al. 2018)."""

    Config = BetaVAEConfig
    contract_overrides = {**VAE.contract_overrides, "lr": 1e-3}

    def __init__(self, config: BetaVAEConfig, data: DataSpec) -> None:
        super().__init__(config, data)
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))

    def capacity(self) -> float:
        """C at the current iteration: C_max · min(1, t / capacity_steps)."""
        c = self.config
        return float(c.capacity_max) * min(1.0, float(self.iteration) / c.capacity_steps)

    def rate_penalty(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """β·KL (Higgins), or γ·|KL − C(t)| (Burgess) with ``capacity_max``."""
        if self.config.capacity_max is None:
            return super().rate_penalty(terms)
        return self.config.capacity_gamma * (terms.kl.mean() - self.capacity()).abs(), {}

    def after_update(self, batch: Tensor | tuple[Tensor, Tensor], terms: Terms) -> dict[str, Tensor]:
        self.iteration += 1
        return {"capacity": torch.tensor(self.capacity())} if self.config.capacity_max is not None else {}
