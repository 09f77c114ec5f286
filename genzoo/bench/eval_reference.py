"""Plain reference implementations of the evaluation loops that genzoo streamlines for speed.

Kept as the code was before it was optimised, for two uses: the tests assert that the fast
versions give the same values bit for bit (tests/test_likelihood.py, tests/test_ais.py), and
``genzoo bench metrics-timing --set part=evaluation`` times both side by side.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from genzoo.sampling.ais import RBMPath

__all__ = ["plain_iw_log_likelihood", "plain_ais_log_w"]


def plain_iw_log_likelihood(model: Any, x: Tensor, k: int, chunk: int = 256) -> Tensor:
    """The straightforward estimator: each chunk's K samples drawn at once and pushed through log_joint together."""
    q = model.proposal(x)
    parts = []
    for start in range(0, k, chunk):
        z = q.sample((min(chunk, k - start),))
        parts.append(torch.logsumexp(model.log_joint(x, z) - q.log_prob(z), 0))
    return torch.logsumexp(torch.stack(parts), 0) - math.log(k)


def plain_ais_log_w(path: RBMPath, schedule: Tensor, v: Tensor, reverse: bool = False) -> Tensor:
    """S&M's loop written plainly: casts at every β, one rand_like per Gibbs half-step (the pre-optimisation code)."""
    betas = schedule.tolist()
    base_c, base_s = path.base  # Bernoulli: (logits a_A, None); Gaussian: (means μ_A, standard deviations s_A)

    def log_ratio(v, b0, b1):
        v64 = v.to(torch.float64)
        if path.visible == "bernoulli":
            base, target = v64 @ base_c, v64 @ path.a.to(torch.float64)
        else:
            base = -(((v64 - base_c) / base_s) ** 2).sum(-1) / 2
            target = -(((v64 - path.a.to(torch.float64)) / path.sigma.to(torch.float64)) ** 2).sum(-1) / 2
        x = path.b + (v / path.sigma) @ path.W
        hidden = torch.log1p(torch.sigmoid(b0 * x) * torch.expm1((b1 - b0) * x))
        return (b1 - b0) * (target - base) + hidden.to(torch.float64).sum(-1), x

    def transition(v, beta, x):
        p_h = torch.sigmoid(beta * x)
        h = (torch.rand_like(p_h) < p_h).to(v.dtype)
        drive = h @ path.W.T
        if path.visible == "bernoulli":
            p_v = torch.sigmoid((1 - beta) * base_c.to(v.dtype) + beta * (path.a + drive))
            return (torch.rand_like(p_v) < p_v).to(v.dtype)
        mu, s = base_c.to(v.dtype), base_s.to(v.dtype)
        precision = (1 - beta) / s**2 + beta / path.sigma**2
        mean = ((1 - beta) * mu / s**2 + beta * path.a / path.sigma**2 + beta * drive / path.sigma) / precision
        return mean + torch.randn_like(mean) / precision.sqrt()

    log_w = torch.zeros(v.shape[0], dtype=torch.float64)
    steps = range(len(betas) - 1, 0, -1) if reverse else range(1, len(betas))
    for k in steps:
        b0, b1, last = (betas[k], betas[k - 1], k == 1) if reverse else (betas[k - 1], betas[k], k == len(betas) - 1)
        lr, x = log_ratio(v, b0, b1)
        log_w += lr
        if not last:
            v = transition(v, b1, x)
    return log_w
