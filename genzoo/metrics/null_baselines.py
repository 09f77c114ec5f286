"""Null baselines for 2-D mixture benchmarks: generators that know nothing about the modes.

A mode count means nothing on its own: under the 3σ rule a distribution spread evenly over the
data's square "covers" most grid modes while almost none of its samples is high quality. Every
2-D table therefore shows, scored by exactly the same rule as the trained models
(:func:`genzoo.metrics.evaluate.evaluate`: :func:`~genzoo.metrics.modes.mode_coverage` on n samples
and exact W1 against n fresh data points), these reference distributions:

``data``
    fresh draws from the data distribution itself: the ceiling (≈ 98.9 % high quality in 2-D under
    the Euclidean 3σ rule, since P(χ²₂ < 9) = 1 − e^{−4.5}; W1 > 0 from sampling noise alone).
``gaussian``
    N(m, S) with m and S the mean and covariance of the training points: a one-blob fit.
``uniform-box``
    uniform on the box [min_k μ_k − 3σ, max_k μ_k + 3σ] per coordinate (the means' bounding box
    grown by the high-quality radius): uniform on the data's square.
``uniform-circle``
    only when every mean lies on one circle (the ring): uniform angle on that circle, i.e. uniform
    on the ring's one-dimensional support, with the mixture's radial noise N(0, σ²).

Each null is drawn with its own seeded generator, so a table of nulls over seeds s = 0, 1, 2 has
the same spread as the models' rows over seeds.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.metrics.modes import STANDARD_N_SAMPLES, mode_coverage
from genzoo.metrics.wasserstein import wasserstein1_exact

__all__ = ["NULLS", "null_names", "null_samples", "score_nulls"]

#: The null baselines, in the order tables show them, with a one-line description each.
NULLS: dict[str, str] = {
    "data": "fresh draws from the data distribution (the ceiling)",
    "gaussian": "one Gaussian with the training data's mean and covariance",
    "uniform-box": "uniform on the means' bounding box grown by 3σ",
    "uniform-circle": "uniform angle on the circle through the means, radial noise σ (ring only)",
}


def _ring_radius(means: Tensor) -> float | None:
    """The common radius of 2-D means that all lie on one circle about the origin, else None."""
    if means.shape[1] != 2 or means.shape[0] < 3:
        return None
    r = means.double().norm(dim=1)
    return float(r.mean()) if float(r.max() - r.min()) <= 1e-6 * max(1.0, float(r.mean())) else None


def null_names(dataset: Any) -> list[str]:
    """The nulls that apply to ``dataset`` (a points data set with a known mixture density)."""
    if getattr(dataset, "density", None) is None or not hasattr(dataset.density, "means"):
        raise GenzooError(f"null baselines need a data set with a known Gaussian mixture; {dataset.name!r} has none")
    names = ["data", "gaussian", "uniform-box"]
    if _ring_radius(dataset.density.means) is not None:
        names.append("uniform-circle")
    return names


def null_samples(name: str, dataset: Any, n: int, generator: torch.Generator) -> Tensor:
    """n draws (float32, CPU) from the null baseline ``name`` for ``dataset``."""
    if name not in null_names(dataset):
        raise GenzooError(f"unknown null baseline {name!r} for {dataset.name!r}; valid: {', '.join(null_names(dataset))}")
    means = dataset.density.means.double().cpu()
    sigma = float(torch.as_tensor(dataset.density.std).double().max())
    if name == "data":
        return dataset.fresh(n, generator).float().cpu()
    if name == "gaussian":
        x = dataset.x.double().cpu().reshape(len(dataset.x), -1)
        mean, cov = x.mean(0), torch.cov(x.T)
        chol = torch.linalg.cholesky(cov)
        return (mean + torch.randn(n, x.shape[1], generator=generator, dtype=torch.float64) @ chol.T).float()
    if name == "uniform-box":
        low, high = means.min(0).values - 3 * sigma, means.max(0).values + 3 * sigma
        return (low + (high - low) * torch.rand(n, means.shape[1], generator=generator, dtype=torch.float64)).float()
    radius = _ring_radius(means)  # uniform-circle
    angle = 2 * math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    r = radius + sigma * torch.randn(n, generator=generator, dtype=torch.float64)
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1).float()


def score_nulls(dataset: Any, seeds: list[int], n: int = STANDARD_N_SAMPLES) -> list[dict[str, Any]]:
    """Each null × seed scored like a trained model: modes, hq_share (3σ rule) and exact W1 on n points.

    The reference for W1 is n fresh data points drawn with the same seed (as in ``evaluate``);
    the null's own draw uses an independent generator (seed + 1 000 003), so the ``data`` null's
    W1 is the two-sample distance between independent data sets of size n.
    """
    from genzoo.progress import bar

    rows = []
    for name in bar(null_names(dataset), desc="null baselines", unit="null"):
        for seed in seeds:
            samples = null_samples(name, dataset, n, torch.Generator().manual_seed(seed + 1_000_003))
            reference = dataset.fresh(n, torch.Generator().manual_seed(seed)).float().cpu()
            cov = mode_coverage(samples, dataset.density.means, dataset.density.std)
            rows.append({"null": name, "seed": seed, "modes": float(cov["modes"]), "hq_share": float(cov["hq_share"]),
                         "w1": wasserstein1_exact(samples, reference)})
    return rows
