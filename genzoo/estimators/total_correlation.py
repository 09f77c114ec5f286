"""Total correlation of an aggregate posterior: β-TCVAE's minibatch estimators and FactorVAE's density ratio.

The total correlation of a code z ∈ R^D with aggregate posterior q(z) = E_{p(x)} q(z|x) is

    TC(z) = KL(q(z) ‖ Π_d q(z_d)) = E_{q(z)}[log q(z) − Σ_d log q(z_d)],

which for a Gaussian with correlation matrix R is exactly −½ log det R (the known answer the
tests use). q(z) is a mixture over the whole data set, so it is estimated from a minibatch.

**Minibatch estimators** (Chen et al. 2018, §3 and Appendix C). The batch holds M codes
z_i ~ q(z|x_i) with Gaussian posteriors N(μ_j, diag σ_j²), from a data set of size N, and every
log-density of the aggregate is a weighted log-sum-exp over the batch's posteriors::

    log q(z_i) ≈ log Σ_j w_ij q(z_i | x_j),     log q(z_id) ≈ log Σ_j w_ij q(z_id | x_j)

* minibatch-weighted sampling (MWS), the paper's estimator as printed: w_ij = 1/(NM) for all j.
  Where the batch covers q(z) (a consistent regime, e.g. M = N) the consistent weight is 1/M, so
  MWS returns TC + (D − 1)·log N there — a constant in the parameters, which leaves β-TCVAE's
  gradients unchanged; ``mws_offset(D, N)`` gives it for readers who want the TC value;
* minibatch-stratified sampling (MSS): the sample's own posterior is one stratum of weight 1/N
  and the other M − 1 batch members a uniform sample of the remaining N − 1 points, so
  w_ii = 1/N, w_ij = (N − 1)/(N(M − 1)) for j ≠ i — an unbiased estimate of q(z_i) (genzoo uses
  this symmetric form; Chen et al.'s code moves the stratum weights onto one fixed pair per row).

**Density-ratio estimator** (Kim & Mnih 2018, §3). A discriminator D is trained to tell codes
z ~ q(z) (class 0) from codes whose dimensions were shuffled independently across the batch
(``permute_dims``, class 1: a sample of Π_d q(z_d)). At its optimum D(z) = q(z)/(q(z) + Π q(z_d)),
so

    TC ≈ E_{q(z)}[log D(z)/(1 − D(z))] = E[logit_0(z) − logit_1(z)].

``permute_dims`` shuffles *each dimension separately* — shuffling whole rows would keep the
dependence, and permuting the dimensions themselves would not sample the product of marginals.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.estimators import register_estimator

__all__ = [
    "gaussian_log_density",
    "aggregate_log_densities",
    "total_correlation",
    "mws_offset",
    "permute_dims",
    "TCDiscriminator",
    "density_ratio_tc",
    "tc_discriminator_loss",
]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise log N(z; μ, exp(logvar)) (broadcasting)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar))


def _check(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int) -> None:
    if z.ndim != 2 or mu.shape != z.shape or logvar.shape != z.shape:
        raise GenzooError(f"total correlation needs z, mu, logvar of one shape (M, D), got {tuple(z.shape)}, {tuple(mu.shape)}, {tuple(logvar.shape)}")
    if z.shape[0] < 2:
        raise GenzooError(f"total correlation needs a batch of at least 2 codes, got {z.shape[0]}")
    if dataset_size < z.shape[0]:
        raise GenzooError(f"invalid value dataset_size={dataset_size}: must be >= the batch size {z.shape[0]}")


def _log_weights(m: int, n: int, method: str, device: torch.device, dtype: torch.dtype) -> Tensor:
    if method == "mws":
        return torch.full((m, m), -math.log(n * m), device=device, dtype=dtype)
    if method == "mss":
        w = torch.full((m, m), math.log(n - 1) - math.log(n * (m - 1)), device=device, dtype=dtype)
        return w.fill_diagonal_(-math.log(n))
    raise GenzooError(f"unknown total-correlation method {method!r}; valid: mws, mss")


def aggregate_log_densities(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int,
                            method: Literal["mws", "mss"] = "mss") -> tuple[Tensor, Tensor]:
    """(log q(z_i) (M,), log q(z_id) (M, D)) from the batch's Gaussian posteriors by MWS or MSS."""
    _check(z, mu, logvar, dataset_size)
    m = z.shape[0]
    pair = gaussian_log_density(z[:, None, :], mu[None], logvar[None])  # (i, j, d): log q(z_id | x_j)
    logw = _log_weights(m, dataset_size, method, z.device, z.dtype)
    log_qz = torch.logsumexp(logw + pair.sum(2), dim=1)
    log_qz_dims = torch.logsumexp(logw[:, :, None] + pair, dim=1)
    return log_qz, log_qz_dims


@register_estimator("total-correlation")
def total_correlation(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int,
                      method: Literal["mws", "mss"] = "mss") -> Tensor:
    """E_batch[log q(z) − Σ_d log q(z_d)] by minibatch-weighted (``mws``) or -stratified (``mss``) sampling."""
    log_qz, log_qz_dims = aggregate_log_densities(z, mu, logvar, dataset_size, method)
    return (log_qz - log_qz_dims.sum(1)).mean()


def mws_offset(dim: int, dataset_size: int) -> float:
    """(D − 1)·log N: what MWS adds to the TC where the batch covers q(z) (see the module docstring)."""
    return (dim - 1) * math.log(dataset_size)


@register_estimator("permute-dims")
def permute_dims(z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """A sample of Π_d q(z_d): each column of z (M, D) shuffled by its own random permutation of the rows."""
    if z.ndim != 2:
        raise GenzooError(f"permute_dims needs codes of shape (M, D), got {tuple(z.shape)}")
    m, d = z.shape
    idx = torch.rand(m, d, generator=generator, device="cpu").argsort(0).to(z.device)
    return torch.gather(z, 0, idx)


class TCDiscriminator(nn.Module):
    """FactorVAE's discriminator: MLP z (D) → 2 logits (class 0: q(z), class 1: Π q(z_d)).

    Kim & Mnih (2018, Appendix): [FC 1000, LeakyReLU(0.2)] × 6, then FC 2 — ``layers`` hidden
    layers before the output layer.
    """

    def __init__(self, dim: int, hidden: int = 1000, layers: int = 6) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        width = dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@register_estimator("density-ratio-tc")
def density_ratio_tc(logits: Tensor) -> Tensor:
    """TC ≈ mean of log D/(1 − D) = logit_0 − logit_1 over discriminator outputs (M, 2) on codes from q(z)."""
    return (logits[:, 0] - logits[:, 1]).mean()


def tc_discriminator_loss(logits_joint: Tensor, logits_permuted: Tensor) -> Tensor:
    """Cross-entropy of D: codes from q(z) are class 0, permuted codes class 1 (Kim & Mnih, Algorithm 2)."""
    zeros = torch.zeros(logits_joint.shape[0], dtype=torch.long, device=logits_joint.device)
    ones = torch.ones(logits_permuted.shape[0], dtype=torch.long, device=logits_permuted.device)
    return 0.5 * (F.cross_entropy(logits_joint, zeros) + F.cross_entropy(logits_permuted, ones))
