"""Priors p(z): the standard normal, the uniform categorical, and a learned Gaussian mixture.

Each returns a ``torch.distributions`` object with ``event_shape`` (d,) (or (K,) one-hot), so
``kl_divergence(q, p)`` is closed form where torch (or :mod:`genzoo.distributions.kl`) knows
the pair and a Monte Carlo estimate E_q[log q − log p] is needed otherwise (the mixture).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal, OneHotCategorical

from genzoo.errors import GenzooError


def standard_normal(dim: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Independent:
    """p(z) = N(0, I_dim)."""
    if dim < 1:
        raise GenzooError(f"invalid value latent size={dim!r}: must be ≥ 1")
    zero = torch.zeros(dim, device=device, dtype=dtype)
    return Independent(Normal(zero, torch.ones_like(zero)), 1)


def uniform_categorical(k: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> OneHotCategorical:
    """p(c) = 1/k for each of k one-hot values."""
    if k < 1:
        raise GenzooError(f"invalid value categories={k!r}: must be ≥ 1")
    return OneHotCategorical(probs=torch.full((k,), 1.0 / k, device=device, dtype=dtype))


class MixturePrior(nn.Module):
    """A learned mixture of ``components`` diagonal Gaussians in R^dim: p(z) = Σ_k π_k N(z; μ_k, diag σ_k²).

    Means start spread as N(0, I) draws, scales at 1 and weights uniform; all three are trained
    with the model (e.g. the VampPrior's simpler cousin; Dilokthanakul et al. 2016's GMVAE prior).
    """

    def __init__(self, dim: int, components: int = 10, seed: int = 0) -> None:
        super().__init__()
        if dim < 1:
            raise GenzooError(f"invalid value latent size={dim!r}: must be ≥ 1")
        if components < 1:
            raise GenzooError(f"invalid value components={components!r}: must be ≥ 1")
        g = torch.Generator().manual_seed(seed)
        self.means = nn.Parameter(torch.randn(components, dim, generator=g))
        self.log_scales = nn.Parameter(torch.zeros(components, dim))
        self.logits = nn.Parameter(torch.zeros(components))

    def forward(self) -> Distribution:
        comp = Independent(Normal(self.means, self.log_scales.exp()), 1)
        return MixtureSameFamily(Categorical(logits=self.logits), comp)

    def log_prob(self, z: Tensor) -> Tensor:
        return self().log_prob(z)

    def extra_repr(self) -> str:
        k, d = self.means.shape
        return f"dim={d}, components={k}"


def kl_or_monte_carlo(q: Distribution, p: Distribution, z: Tensor | None = None) -> Tensor:
    """KL(q ‖ p) in closed form where registered; otherwise the one-sample estimate log q(z) − log p(z)
    at ``z`` (drawn from q when not given). Unbiased either way; the closed form has no variance."""
    try:
        return torch.distributions.kl_divergence(q, p)
    except NotImplementedError:
        if z is None:
            z = q.rsample() if q.has_rsample else q.sample()
        return q.log_prob(z) - p.log_prob(z)

