"""Variational lower bounds on the mutual information I(X; Z), each with its known tight point.

All three take the outputs of a critic (a decoder q, a statistics network T, a score matrix)
and return a scalar to *maximise* jointly over the critic; each is ≤ I(X; Z) in expectation
for every critic (the JSD objective via :func:`jsd_mi_bound`), with equality at the optimum.

* **Barber–Agakov** (Barber & Agakov 2003; InfoGAN's L_I, Chen et al. 2016):

      I(X; Z) = H(Z) − H(Z | X) ≥ H(Z) + E_{p(x,z)}[log q(z | x)],

  tight when q(z | x) = p(z | x). InfoGAN's codes have a fixed prior, so H(Z) is a constant.

* **Jensen–Shannon / Deep InfoMax** (Hjelm et al. 2019; MEG's entropy term, Kumar et al. 2019):

      Î_JSD(T) = E_{p(x,z)}[−sp(−T(x, z))] − E_{p(x)p(z)}[sp(T(x, z))],    sp = softplus,

  the GAN discriminator's objective between joint and product of marginals; it is maximised at
  T* = log p(x, z)/(p(x)p(z)). Î_JSD is not itself a bound on I (it is ≤ 2·JS − log 4 ≤ 0);
  :func:`jsd_mi_bound` plugs the same critic into the Nguyen–Wainwright–Jordan bound,
  I ≥ E_p[1 + T] − E_{p(x)p(z)}[e^{T}], which equals I at T* (Poole et al. 2019, "I_JS").

* **InfoNCE** (van den Oord et al. 2018): with a score matrix s_ij = f(x_i, z_j) over a batch
  of N joint pairs,

      I(X; Z) ≥ (1/N) Σ_i [s_ii − log Σ_j e^{s_ij}] + log N,

  never above log N (a low-variance, high-bias bound).

Samples from p(x)p(z) come from shuffling z across the batch (:func:`shuffle`) or from drawing
z afresh from its prior (MEG).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.estimators import register_estimator


@register_estimator("barber-agakov")
def barber_agakov(log_q: Tensor, entropy_z: Tensor | float) -> Tensor:
    """H(Z) + mean log q(z | x) ≤ I(X; Z): ``log_q`` (N,) log-likelihoods of the true codes under the decoder."""
    return log_q.mean() + entropy_z


@register_estimator("jsd-mi")
def jsd_mi(t_joint: Tensor, t_marginal: Tensor) -> Tensor:
    """Deep InfoMax's Jensen–Shannon objective E_p[−sp(−T)] − E_{p×p}[sp(T)] (maximise; not a bound on I)."""
    return -F.softplus(-t_joint).mean() - F.softplus(t_marginal).mean()


@register_estimator("jsd-mi-bound")
def jsd_mi_bound(t_joint: Tensor, t_marginal: Tensor) -> Tensor:
    """The NWJ lower bound E_p[1 + T] − E_{p×p}[e^T] ≤ I(X; Z) at a (JSD-trained) critic T."""
    return 1.0 + t_joint.mean() - t_marginal.exp().mean()


@register_estimator("infonce")
def infonce(scores: Tensor) -> Tensor:
    """InfoNCE: mean_i [s_ii − logsumexp_j s_ij] + log N ≤ I(X; Z); ``scores`` (N, N), row i = x_i against every z_j."""
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"infonce needs a square (N, N) score matrix, got {tuple(scores.shape)}")
    n = scores.shape[0]
    return (scores.diagonal() - scores.logsumexp(1)).mean() + math.log(n)


def shuffle(z: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z permuted across the batch: paired with an unshuffled x it is a sample of p(x)p(z)."""
    return z[torch.randperm(z.shape[0], generator=generator, device=z.device)]
