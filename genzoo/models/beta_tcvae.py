"""β-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in Variational Autoencoders").

The ELBO's rate, averaged over the data, decomposes (eq. 2, the "ELBO TC-decomposition") into

    E_{p(n)}[KL(q(z|n) ‖ p(z))] = I_q(z; n) + KL(q(z) ‖ Π_j q(z_j)) + Σ_j KL(q(z_j) ‖ p(z_j))
                                  index-code MI   total correlation      dimension-wise KL

and β-TCVAE weights the three terms separately (eq. 4):

    L = E_q[log p(n|z)] − α·I_q(z; n) − β·TC(z) − γ·Σ_j KL(q(z_j) ‖ p(z_j)),   α = γ = 1.

Every term needs log q(z) and log q(z_j) at the batch's codes, estimated from the minibatch's
Gaussian posteriors (:mod:`genzoo.estimators.total_correlation`):

    MI   ≈ mean_i [log q(z_i|n_i) − log q(z_i)]
    TC   ≈ mean_i [log q(z_i) − Σ_j log q(z_ij)]
    dwKL ≈ mean_i [Σ_j log q(z_ij) − log p(z_i)]

by minibatch-weighted sampling (``estimator="mws"``, the paper's main estimator, its eq. in §4.1)
or minibatch-stratified sampling (``"mss"``, Appendix C.2). Both need the data-set size N
(``dataset_size``; None = the batch size, i.e. the batch treated as the data set). With α = β = γ
= 1 the three terms telescope to the one-sample rate log q(z|n) − log p(z) whatever the
estimator; each part alone carries the estimator's bias (MWS shifts TC by about (D − 1)·log N and
MI, dwKL by constants too — constants in the parameters, harmless to the gradient, but read the
logged ``tc`` with ``estimator=mss`` when its value matters).

Defaults: α = γ = 1 as in the paper; β = 6 (genzoo's default; Locatello et al. 2019 sweep
β ∈ {1, 2, 4, 6, 8, 10}); 10 latents; Adam lr 1e-4; MWS. Networks and the observation model are
the VAE family's. Each step still reports the closed-form β = 1 ``elbo``, ``rate`` and
``distortion``; the loss uses the estimated decomposition instead of the closed-form KL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from genzoo.config import at_least, check, nonnegative, option
from genzoo.estimators.total_correlation import aggregate_log_densities, gaussian_log_density
from genzoo.models.base import register_model
from genzoo.models.vae import VAE, Terms, VAEConfig


@dataclass
class BetaTCVAEConfig(VAEConfig):
    latent_dim: int | None = 10
    alpha: float = option(1.0, nonnegative, "weight of the index-code mutual information")
    beta: float = option(6.0, nonnegative, "weight of the total correlation")
    gamma: float = option(1.0, nonnegative, "weight of the dimension-wise KL")
    estimator: Literal["mws", "mss"] = option("mws", None, "minibatch weighted / stratified sampling estimator of q(z)")
    dataset_size: int | None = option(None, at_least(2), "N of the estimators; none: the batch size")
    lr: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.prior == "normal", "prior", self.prior, "β-TCVAE's decomposition uses the factorised normal prior")


@register_model("beta-tcvae")
class BetaTCVAE(VAE):
    """β-TCVAE (Chen et al. 2018): rate split into MI + TC + dimension-wise KL, TC weighted by β = 6 (minibatch estimators)."""

    Config = BetaTCVAEConfig
    contract_overrides = {**VAE.contract_overrides, "lr": 1e-3}

    def decomposition(self, terms: Terms) -> dict[str, Tensor]:
        """Batch estimates of the index-code MI, the TC and the dimension-wise KL."""
        q = terms.q.base_dist
        mu, logvar, z = q.loc, 2 * q.scale.log(), terms.z
        n = max(self.config.dataset_size or z.shape[0], z.shape[0])
        log_qz, log_qz_dims = aggregate_log_densities(z, mu, logvar, n, self.config.estimator)
        log_qz_x = gaussian_log_density(z, mu, logvar).sum(1)
        log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)
        return {"mi": (log_qz_x - log_qz).mean(), "tc": (log_qz - log_qz_dims.sum(1)).mean(),
                "dw_kl": (log_qz_dims.sum(1) - log_pz).mean()}

    def rate_penalty(self, terms: Terms) -> tuple[Tensor, dict[str, Tensor]]:
        """α·MI + β·TC + γ·dimension-wise KL in place of β·KL; the three parts are logged."""
        parts = self.decomposition(terms)
        c = self.config
        return c.alpha * parts["mi"] + c.beta * parts["tc"] + c.gamma * parts["dw_kl"], parts
