"""Adversarial objectives as functions of the discriminator's outputs.

Every GAN objective in genzoo is one function ``f(d_real, d_fake) -> AdversarialLoss`` where
``d_real = d(x)`` and ``d_fake = d(G(z))`` are the discriminator's raw outputs (logits for the
probabilistic objectives, critic values for integral-probability-metric ones). It returns
both players' losses, each to be *minimised*. An adversarial model calls it twice per iteration:

* discriminator phase: with ``G(z)`` detached, minimise ``.discriminator``;
* generator phase: with gradient through ``G``, minimise ``.generator``.

Registering the function with :func:`objective` makes it available to every adversarial model,
the command line (``--set objective=NAME``) and the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.registry import Registry


class AdversarialLoss(NamedTuple):
    discriminator: Tensor
    generator: Tensor


@dataclass(frozen=True)
class Objective:
    name: str
    fn: Callable[[Tensor | None, Tensor], AdversarialLoss]
    summary: str
    #: Whether the generator loss needs d_real; if not, the generator phase skips D on real data.
    generator_uses_real: bool = False

    def __call__(self, d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
        return self.fn(d_real, d_fake)


OBJECTIVES: Registry[Objective] = Registry("objective")


def objective(name: str, generator_uses_real: bool = False) -> Callable:
    """Register ``fn(d_real, d_fake) -> AdversarialLoss``; its docstring's first line is its summary."""

    def add(fn: Callable[[Tensor | None, Tensor], AdversarialLoss]) -> Callable:
        summary = (fn.__doc__ or name).strip().splitlines()[0]
        OBJECTIVES.register(name)(Objective(name, fn, summary, generator_uses_real))
        return fn

    return add


def _zero_if_none(d_real: Tensor | None, d_fake: Tensor) -> Tensor:
    return d_fake.new_zeros(()) if d_real is None else d_real


def discriminator_cross_entropy(d_real: Tensor | None, d_fake: Tensor) -> Tensor:
    """−E_p[log D(x)] − E_q[log(1 − D(G(z)))] with D = sigmoid(d); log σ(d) = −softplus(−d)."""
    real = 0.0 if d_real is None else F.softplus(-d_real).mean()
    return real + F.softplus(d_fake).mean()


@objective("minimax")
def minimax(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Goodfellow et al. 2014: min_G max_D E_p[log D(x)] + E_z[log(1 − D(G(z)))]; G minimises log(1 − D(G(z)))."""
    # log(1 − σ(d)) = −softplus(d): the generator minimises it, i.e. maximises softplus(d_fake).
    return AdversarialLoss(discriminator_cross_entropy(d_real, d_fake), -F.softplus(d_fake).mean())


@objective("nonsaturating")
def nonsaturating(d_real: Tensor | None, d_fake: Tensor) -> AdversarialLoss:
    """Goodfellow et al. 2014, −log D trick: D as in minimax; G maximises E_z[log D(G(z))]."""
    # −log σ(d) = softplus(−d).
    return AdversarialLoss(discriminator_cross_entropy(d_real, d_fake), F.softplus(-d_fake).mean())
