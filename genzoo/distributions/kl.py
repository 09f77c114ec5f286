"""KL pairs torch does not register, added to ``torch.distributions.kl`` on import.

* KL(N(μ₀, diag σ₀²) ‖ N(μ₁, Σ₁)) and the reverse — a diagonal posterior against a full-covariance
  Gaussian (e.g. the exact posterior or the marginal of a linear-Gaussian model):

      KL(N₀ ‖ N₁) = ½ [tr(Σ₁⁻¹Σ₀) + (μ₁ − μ₀)ᵀ Σ₁⁻¹ (μ₁ − μ₀) − d + log det Σ₁ − log det Σ₀].

Torch registers Independent–Independent (when the bases match) and MultivariateNormal pairs, but
not a mix of the two; ``kl_divergence(Independent(Normal), MultivariateNormal)`` then raised
NotImplementedError.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Independent, MultivariateNormal, Normal, register_kl


def _as_mvn(p: Independent) -> MultivariateNormal:
    if not isinstance(p.base_dist, Normal) or p.reinterpreted_batch_ndims != 1:
        raise NotImplementedError
    return MultivariateNormal(p.base_dist.loc, scale_tril=torch.diag_embed(p.base_dist.scale))


@register_kl(Independent, MultivariateNormal)
def _kl_diag_normal_mvn(p: Independent, q: MultivariateNormal) -> Tensor:
    return torch.distributions.kl_divergence(_as_mvn(p), q)


@register_kl(MultivariateNormal, Independent)
def _kl_mvn_diag_normal(p: MultivariateNormal, q: Independent) -> Tensor:
    return torch.distributions.kl_divergence(p, _as_mvn(q))
