"""Encoder heads: raw network outputs → posterior distributions q(·|x).

* :func:`diagonal_gaussian` — q(z|x) = N(μ, diag σ²) from ``(μ, log σ²)``; ``rsample`` is the
  reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I) (Kingma & Welling 2014, §2.4).
* :func:`categorical` — q(c|x) = Cat(softmax(ℓ)) as a one-hot distribution.
* :func:`gumbel_softmax` — the relaxed one-hot (Concrete / Gumbel-softmax, Jang et al. 2017;
  Maddison et al. 2017) at temperature τ: y = softmax((ℓ + g)/τ), g ~ Gumbel(0, 1). As τ → 0 a
  draw becomes the one-hot of argmax(ℓ + g), i.e. an exact categorical sample; as τ → ∞ it
  becomes the uniform vector 1/K. ``hard=True`` returns the one-hot in the forward pass with the
  relaxed sample's gradient (straight-through).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Independent, Normal, OneHotCategorical, RelaxedOneHotCategorical

from genzoo.errors import GenzooError

#: log σ² is clamped to this range so an untrained encoder cannot produce σ = 0 or ∞.
LOGVAR_RANGE = (-30.0, 20.0)


def diagonal_gaussian(params: Tensor) -> Independent:
    """q = N(μ, diag exp(log σ²)) with batch shape ``params.shape[:-1]`` and event (d,), from
    ``params = [μ, log σ²]`` concatenated on the last dimension (size 2d)."""
    if params.shape[-1] % 2:
        raise GenzooError(f"a diagonal Gaussian head needs an even number of outputs (μ and log σ²), got {params.shape[-1]}")
    mu, logvar = params.chunk(2, dim=-1)
    return Independent(Normal(mu, torch.exp(0.5 * logvar.clamp(*LOGVAR_RANGE))), 1)


def categorical(logits: Tensor) -> OneHotCategorical:
    """q(c|x) = Cat(softmax(logits)) over the last dimension, as one-hot vectors."""
    return OneHotCategorical(logits=logits)


def gumbel_softmax(logits: Tensor, temperature: float) -> RelaxedOneHotCategorical:
    """The relaxed one-hot distribution at ``temperature`` τ > 0 (reparameterised ``rsample``)."""
    if not temperature > 0:
        raise GenzooError(f"invalid value temperature={temperature!r}: must be > 0")
    return RelaxedOneHotCategorical(torch.as_tensor(temperature, dtype=logits.dtype, device=logits.device), logits=logits)


def gumbel_softmax_sample(logits: Tensor, temperature: float, hard: bool = False) -> Tensor:
    """One relaxed one-hot draw y = softmax((ℓ + g)/τ); ``hard``: one-hot forward, relaxed gradient."""
    y = gumbel_softmax(logits, temperature).rsample()
    if not hard:
        return y
    one_hot = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
    return one_hot + (y - y.detach())  # exactly one-hot forward (y − y is 0 on every numeric path), ∂y backward
