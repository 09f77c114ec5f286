"""Rate, distortion and active units of latent-variable models (``genzoo eval`` and training-time evaluation).

* ``rate`` R = E_x KL(q(z|x) ‖ p(z)) and ``distortion`` D = E_x E_{q(z|x)}[−log p(x|z)] in nats
  per example (Alemi et al. 2018), for models with ``rate_distortion(x) -> (rate (N,), distortion (N,))``
  (every VAE in genzoo). R + D = −ELBO for the β = 1 bound, whatever objective the model trained.
  With the data's entropy H (exactly known for a discrete source), H − D ≤ R holds for every
  model: R ≥ I(x; z) ≥ H − D.
* ``active_units`` (Burda et al. 2016, §5.2): latent u is active when
  A_u = Cov_x(E_{u ~ q(u|x)}[u]) > 10⁻², for models whose ``encode(x)`` returns a Distribution.

Held-out examples: 500 by default, the whole test set (at most 10 000) with ``full``.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.metrics.evaluate import N_LIKELIHOOD, N_LIKELIHOOD_FULL, evaluation, n_evaluation_samples

#: Burda et al.'s activity threshold on Cov_x(E_q[u]).
ACTIVITY_THRESHOLD = 1e-2


def _held_out(model: Any, dataset: Any, seed: int, full: bool) -> torch.Tensor:
    n = n_evaluation_samples(dataset, N_LIKELIHOOD_FULL if full else N_LIKELIHOOD)
    x = dataset.fresh(n, torch.Generator().manual_seed(seed + 3))
    return x.to(next(model.parameters()).device)


def _has_rd(model: Any, dataset: Any) -> bool:
    return callable(getattr(model, "rate_distortion", None))


@torch.no_grad()
def rate_distortion(model: Any, x: torch.Tensor, batch: int = 500) -> dict[str, float]:
    """Mean rate and distortion (nats per example) of ``x`` under ``model``."""
    was = model.training
    model.eval()
    try:
        parts = [model.rate_distortion(x[i : i + batch]) for i in range(0, x.shape[0], batch)]
    finally:
        model.train(was)
    rate = torch.cat([p[0].reshape(-1) for p in parts]).double()
    distortion = torch.cat([p[1].reshape(-1) for p in parts]).double()
    return {"rate": float(rate.mean()), "distortion": float(distortion.mean())}


@evaluation("rate-distortion", applies=_has_rd, tier="periodic")  # one encoder/decoder pass over 500 examples
def _rate_distortion(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    return rate_distortion(model, _held_out(model, dataset, seed, full))


@torch.no_grad()
def active_units(model: Any, x: torch.Tensor, threshold: float = ACTIVITY_THRESHOLD, batch: int = 500) -> tuple[int, torch.Tensor]:
    """(number of active units, A_u per unit) with A_u = Cov_x(E_q[u|x])."""
    was = model.training
    model.eval()
    try:
        means = torch.cat([model.encode(x[i : i + batch]).mean for i in range(0, x.shape[0], batch)]).double()
    finally:
        model.train(was)
    activity = means.reshape(means.shape[0], -1).var(0, unbiased=True)
    return int((activity > threshold).sum()), activity


def _encodes_distribution(model: Any, dataset: Any) -> bool:
    # A Distribution-valued encode is declared by models that also give a proposal for importance weighting.
    return callable(getattr(model, "encode", None)) and callable(getattr(model, "proposal", None))


@evaluation("active-units", applies=_encodes_distribution, tier="periodic")  # one encoder pass
def _active_units(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    x = _held_out(model, dataset, seed, full)
    q = model.encode(x[:2])
    if not isinstance(q, torch.distributions.Distribution):
        return {}
    n, _ = active_units(model, x)
    return {"active_units": float(n)}
