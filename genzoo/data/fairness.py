"""A data set with a sensitive attribute, for fair representations (VFAE, HSIC-VAE).

``dsprites_fair`` is ``dsprites_small`` (3 shapes × 3 scales × 8 orientations × 8×8 positions,
32×32, 4 608 images; :mod:`genzoo.data.dsprites`) with two labels read off the known factors:

* the **sensitive attribute** s = 1[pos_x ≥ half of the grid] — which half of the image the
  sprite lies in (binary, balanced: 2 304 images each). It is ``y``, so a model with
  ``uses_labels`` (VFAE, HSIC-VAE with ``sensitive=true``) receives (x, s) batches;
* the **downstream task** t = shape (square, ellipse, heart; balanced, chance 1/3), in
  ``task``/``test_task``.

s and t are independent by construction (the grid is a full product), so a representation can
drop s without losing t: predicting s from z should fall to chance (½) while t stays predictable
— the test of ``genzoo bench fair-representations``. s is written in every image (the sprite's
side), so a plain VAE's code carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genzoo.data import DATASETS
from genzoo.data.dsprites import FactorDataset, dsprites_small

__all__ = ["FairDataset", "dsprites_fair"]


@dataclass
class FairDataset(FactorDataset):
    """A :class:`FactorDataset` whose ``y`` is the sensitive attribute s and ``task``/``test_task`` a downstream label."""

    task: Tensor | None = None
    test_task: Tensor | None = None


@DATASETS.register("dsprites_fair")
def dsprites_fair(seed: int = 0, test_fraction: float = 0.2) -> FairDataset:
    """dSprites-like 32×32 sprites with a sensitive attribute: y = s = sprite in the right half, task = shape."""
    base = dsprites_small(seed=seed, test_fraction=test_fraction)
    half = base.factor_sizes[3] // 2
    s = lambda f: (f[:, 3] >= half).long()  # noqa: E731
    t = lambda f: f[:, 0].clone()  # noqa: E731
    has_test = base.test_factors is not None
    return FairDataset("dsprites_fair", base.x, "images", y=s(base.factors), test_x=base.test_x,
                       test_y=s(base.test_factors) if has_test else None, factors=base.factors,
                       test_factors=base.test_factors, ground_truth=base.ground_truth,
                       task=t(base.factors), test_task=t(base.test_factors) if has_test else None)
