"""Entropy of a generator from its batch-norm scales (Kim & Bengio 2016).

The entropy of an implicit generator q_G is intractable. Kim & Bengio approximate it by
treating each batch-normalised unit a of the generator as a Gaussian whose standard
deviation is the unit's learned batch-norm scale γ_a (the normalised pre-activation has unit
variance, so γ_a sets the spread the unit passes on), and summing their entropies:

    H(q_G) ≈ Σ_a H(N(μ_a, γ_a²)) = Σ_a ½ log(2πe γ_a²).

It is a heuristic (Kumar et al. 2019 replace it by a mutual-information estimator), but it is
exact for one layer: x = γ ⊙ BN(h) + β with BN(h) ~ N(0, I) has entropy Σ_a ½ log(2πe γ_a²).
Every ``BatchNorm`` scale entry counts as one unit (a convolutional channel is one unit).
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import Tensor, nn

from genzoo.estimators import register_estimator

#: Keeps log γ² finite when a scale passes through 0 (γ enters only squared).
EPS = 1e-8


def gaussian_entropy(std: Tensor) -> Tensor:
    """Σ ½ log(2πe σ²) over all entries of ``std``: the entropy of N(μ, diag σ²)."""
    return 0.5 * (math.log(2 * math.pi * math.e) + torch.log(std.pow(2) + EPS)).sum()


def batchnorm_scales(module: nn.Module) -> list[Tensor]:
    """The scale parameters γ of every affine batch-norm layer inside ``module``."""
    return [m.weight for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine]


@register_estimator("batchnorm-entropy")
def batchnorm_entropy(source: nn.Module | Iterable[Tensor]) -> Tensor:
    """Kim & Bengio's H(q_G) ≈ Σ_a ½ log(2πe γ_a²) over every batch-norm scale γ of a generator (differentiable)."""
    scales = batchnorm_scales(source) if isinstance(source, nn.Module) else list(source)
    if not scales:
        raise ValueError("batch-norm entropy needs a generator with affine batch-norm layers")
    return sum(gaussian_entropy(g) for g in scales)
