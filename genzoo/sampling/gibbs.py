"""Gibbs sampling for Boltzmann machines: single-site (fully visible BM) and block (RBM).

Fully visible Boltzmann machine on x ∈ {0, 1}^M (Ackley, Hinton & Sejnowski 1985),

    p(x) = exp(−Φ(x)) / Z,   Φ(x) = −Σ_i b_i x_i − Σ_{i<j} W_ij x_i x_j = −bᵀx − ½ xᵀWx,

with W symmetric and zero on the diagonal (each pair counted once, which is what the slide's
conditional needs). Resampling one unit given all the others,

    p(x_i = 1 | x_{∖i}) = σ(b_i + Σ_j W_ij x_j),

and sweeping i = 1..M in order leaves p invariant; T sweeps from any start converge to p.

Restricted Boltzmann machine: no visible–visible or hidden–hidden edges, so all hidden units
are conditionally independent given v and all visible units given h, and one Gibbs step is two
*block* updates, h ~ p(h | v) then v ~ p(v | h). The conditionals are the model's business
(:class:`BlockGibbs` takes them as functions), so one sampler serves Bernoulli and Gaussian
units alike.

Randomness comes from torch's global generator (saved in genzoo checkpoints). Every Bernoulli
draw is ``u < p`` with ``u`` uniform, and ``uniform`` may be replaced by another source of the
same uniforms — the test against scikit-learn's BernoulliRBM feeds both the same numbers.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.sampling import register_sampler

Uniform = Callable[[tuple[int, ...], Tensor], Tensor]


def torch_uniform(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """U[0, 1) draws of ``shape`` from torch's global generator, with ``like``'s dtype and device."""
    return torch.rand(shape, dtype=like.dtype, device=like.device)


def bernoulli(p: Tensor, uniform: Uniform | None = None) -> Tensor:
    """x ~ Bernoulli(p) elementwise as 1[u < p] (``uniform`` supplies fresh u, which the result overwrites; torch's generator by default)."""
    u = (uniform or torch_uniform)(tuple(p.shape), p).to(p)
    return u.lt_(p)  # in place: the 0/1 result in p's dtype without a boolean tensor and its conversion


@register_sampler("gibbs-single-site")
class SingleSiteGibbs:
    """Single-site Gibbs sampling of a fully visible Boltzmann machine: x_i ~ σ(b_i + Σ_j W_ij x_j), i = 1..M in turn."""

    applies_to = "fully visible Boltzmann machine (model bm)"

    def __init__(self, sweeps: int = 1) -> None:
        check(sweeps >= 1, "sweeps", sweeps, "must be ≥ 1")
        self.sweeps = sweeps

    @staticmethod
    def check_weights(W: Tensor, b: Tensor) -> None:
        check(W.ndim == 2 and W.shape[0] == W.shape[1] == b.shape[-1], "W.shape", tuple(W.shape), f"must be ({b.shape[-1]}, {b.shape[-1]})")

    @torch.no_grad()
    def __call__(self, x: Tensor, W: Tensor, b: Tensor, sweeps: int | None = None, uniform: Uniform | None = None) -> Tensor:
        """Run ``sweeps`` full sweeps on the chains x (N, M) in {0, 1}; returns the new states (a copy).

        W must be symmetric with a zero diagonal (the diagonal would otherwise feed x_i back into
        its own conditional, which the model excludes).
        """
        self.check_weights(W, b)
        x = x.clone()
        for _ in range(sweeps or self.sweeps):
            u = (uniform or torch_uniform)(tuple(x.shape), x)
            for i in range(x.shape[1]):
                p = torch.sigmoid(b[i] + x @ W[:, i])  # W_ii = 0: x_i's old value does not enter
                x[:, i] = (u[:, i] < p).to(x.dtype)
        return x


@register_sampler("gibbs-block")
class BlockGibbs:
    """Block Gibbs sampling of an RBM: h ~ p(h | v), then v ~ p(v | h), k times (the negative phase of CD-k)."""

    applies_to = "RBM (any unit types; the model supplies p(h|v) and p(v|h))"

    def __init__(self, sample_h: Callable[[Tensor], tuple[Tensor, Tensor]], sample_v: Callable[[Tensor], tuple[Tensor, Tensor]]) -> None:
        """``sample_h(v) -> (h, E[h|v])`` and ``sample_v(h) -> (v, E[v|h])`` draw from the two conditionals."""
        self.sample_h, self.sample_v = sample_h, sample_v

    @torch.no_grad()
    def from_hidden(self, h: Tensor, k: int, last_hidden: bool = True) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """k steps h → v → h starting from hidden states h; returns (v_k, E[v_k|h_{k−1}], h_k, E[h_k|v_k]).

        ``last_hidden=False`` skips the final h draw (CD-k's statistics do not use it) and returns
        None for h_k and its mean.
        """
        check(k >= 1, "k", k, "must be ≥ 1")
        h_mean: Tensor | None = None
        for i in range(k):
            v, v_mean = self.sample_v(h)
            if i < k - 1 or last_hidden:
                h, h_mean = self.sample_h(v)
        return v, v_mean, (h if last_hidden else None), h_mean

    @torch.no_grad()
    def from_visible(self, v: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """h_0 ~ p(h|v), then k steps as :meth:`from_hidden`."""
        h, _ = self.sample_h(v)
        return self.from_hidden(h, k)
