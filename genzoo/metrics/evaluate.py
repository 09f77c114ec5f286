"""Evaluate a model with every metric that applies to its data and its capabilities.

The rules are fixed so numbers are comparable across models and runs:

* points with a known mixture density: 2 500 samples; modes covered and high-quality share by
  the Euclidean 3σ rule of :func:`~genzoo.metrics.modes.mode_coverage`; exact W1 between the
  2 500 samples and 2 500 fresh data points (optimal assignment);
* other points: exact W1 between 2 500 samples and as many held-out points (fewer if the
  held-out set is smaller);
* images: exact W1 in pixel space (Euclidean distance between flattened images), 500 vs 500.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.metrics.modes import STANDARD_N_SAMPLES, mode_coverage  # noqa: F401 (re-exported)
from genzoo.metrics.wasserstein import wasserstein1_exact

N_IMAGES_W1 = 500


def n_evaluation_samples(dataset: Any, n: int | None = None) -> int:
    """The protocol's sample count for ``dataset`` (or ``n``), capped by the held-out set's size."""
    if n is None:
        n = STANDARD_N_SAMPLES if dataset.kind == "points" else N_IMAGES_W1
    if dataset.density is None:
        held_out = dataset.test_x if dataset.test_x is not None else dataset.x
        n = min(n, held_out.shape[0])
    return n


def evaluate(
    model: Any, dataset: Any, seed: int = 0, samples: torch.Tensor | None = None, n: int | None = None
) -> dict[str, float]:
    """Metrics of ``model`` against ``dataset``; ``samples`` may be passed to reuse a draw."""
    generator = torch.Generator().manual_seed(seed)
    n = n_evaluation_samples(dataset, n)
    if samples is None:
        samples = model.sample(n)
    samples = samples[:n].detach().float().cpu()
    reference = dataset.fresh(samples.shape[0], generator).cpu()
    out: dict[str, float] = {"w1": wasserstein1_exact(samples, reference)}
    if dataset.density is not None:
        cov = mode_coverage(samples, dataset.density.means, dataset.density.std)
        out.update(modes=float(cov["modes"]), hq_share=float(cov["hq_share"]))
    return out
