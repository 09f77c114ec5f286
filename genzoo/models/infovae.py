"""InfoVAE (Zhao, Song & Ermon 2017/2019, "InfoVAE: Balancing Learning and Inference in Variational
Autoencoders"), with the MMD divergence (the "MMD-VAE").

InfoVAE adds a divergence between the aggregate posterior q(z) = E_{p(x)} q(z|x) and the prior,
and a weight on the mutual information I_q(x; z). Its objective (eq. 6), after the rewriting
that makes it tractable (eq. 7):

    L = E_{p(x)} E_{q(z|x)}[log p(x|z)] − (1 − α)·E_{p(x)} KL(q(z|x) ‖ p(z)) − (α + λ − 1)·D(q(z) ‖ p(z))

With D = MMD (the paper's recommended, likelihood-free choice) the last term is estimated on the
batch: codes z_i ~ q(z|x_i) against as many draws from p(z) = N(0, I), with the unbiased MMD²
of :mod:`genzoo.estimators.mmd`. α = 0 keeps the ELBO's per-example KL and adds the MMD term;
α = 1 drops the KL entirely (the pure MMD-VAE).

Defaults: α = 0, λ = 1000 and the Gaussian RBF kernel k(z, z') = exp(−‖z − z'‖²/(2d)) for
d-dimensional codes (bandwidth √d, the scale of ‖z − z'‖ under the prior) are genzoo's choices;
``kernel=imq`` uses the inverse multiquadratic with C = 2d (Tolstikhin et al.'s WAE choice).
10 latents, Adam lr 1e-4 as the rest of the disentangling family. Each step reports the β = 1
``elbo``; the loss is not a bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import at_most, check, option
from genzoo.estimators.mmd import mmd2
from genzoo.models.base import register_model
from genzoo.models.vae import VAE, Terms, VAEConfig


@dataclass
class InfoVAEConfig(VAEConfig):
    latent_dim: int | None = 10
    alpha: float = option(0.0, at_most(1).saying("must be ≤ 1 (1 − α weights a KL)"), "α: 1 − α weights the per-example KL")
    lambda_: float = option(1000.0, None, "λ: α + λ − 1 weights MMD(q(z), p(z))")
    kernel: Literal["rbf", "imq"] = option("rbf", None, "MMD kernel")
    lr: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.prior == "normal", "prior", self.prior, "InfoVAE's MMD term compares q(z) with N(0, I)")
        check(self.alpha + self.lambda_ - 1 >= 0, "lambda_", self.lambda_, "α + λ − 1 must be ≥ 0")


@register_model("infovae")
class InfoVAE(VAE):
    """InfoVAE / MMD-VAE (Zhao et al. 2017): ELBO plus (α + λ − 1)·MMD(q(z), p(z)), α = 0, λ = 1000."""

    Config = InfoVAEConfig
    contract_overrides = {**VAE.contract_overrides, "lr": 1e-3}

    def kernel_params(self) -> dict:
        d = self.latent_dim
        return {"bandwidth": math.sqrt(d)} if self.config.kernel == "rbf" else {"scale": 2.0 * d}

    def rate_penalty(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """(1 − α)·KL instead of β·KL."""
        return (1 - self.config.alpha) * terms.kl.mean(), {}

    def regularizer(self, x: Tensor, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """(α + λ − 1)·MMD²_u(q(z), p(z)) with as many prior draws as codes."""
        prior = torch.randn_like(terms.z)
        mmd = mmd2(terms.z, prior, self.config.kernel, unbiased=True, **self.kernel_params())
        c = self.config
        return (c.alpha + c.lambda_ - 1) * mmd, {"mmd": mmd}
