"""Unit types of Boltzmann machines: each defines, once, what a layer of its units contributes.

A layer of an RBM (or of the annealing path between two RBMs) is a vector u of units with biases
c and, for Gaussian units, standard deviations σ; the weights see u/σ. With s = Σ W (the other
layer) the input from the other layer, the energy and everything derived from it factorise over
units (Hinton's practical guide 2010, §13; σ = 1 where a layer has no σ):

=================  ==========================  =================================================
                   Bernoulli, u ∈ {0, 1}        Gaussian, u ∈ ℝ
=================  ==========================  =================================================
energy e(u)        −c u                        (u − c)² / (2σ²)
p(u | s)           σ(c + s)                    N(c + σ s, σ²)
E[u | s]           sigmoid(c + s)              c + σ s
log ∫ e^{−e(u) + (u/σ) s} du   softplus(c + s)   c s/σ + s²/2 + log σ + ½ log 2π
∂(−e)/∂c           u                           (u − c)/σ²
∂(−E)/∂log σ       0 (no σ)                    ((u − c)/σ)² − (u/σ) s
=================  ==========================  =================================================

The log-integral row is the layer's contribution to minus the free energy when it is summed out
(F(v) = e_v(v) − Σ_j log ∫ …). The RBM (:mod:`genzoo.models.rbm`) and the AIS path
(:mod:`genzoo.sampling.ais`) hold one unit object per layer and ask it, so the 2×2 visible ×
hidden variants share one code path. ``binary`` marks a finite state space: such a layer can be
enumerated for an exact log Z, has bits to flip (pseudo-likelihood), is summed out by a softplus on
the AIS path and is drawn as u < p from uniforms alone.

``scale`` is the layer's σ as a tensor, or None for a layer without σ (RBM hidden units, unit
variance): the formulas then skip the multiplications by 1, which keeps the arithmetic exactly
that of the hand-written expressions they replaced.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.sampling.gibbs import Uniform, bernoulli

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def binary_rows(x: Tensor, model: str) -> Tensor:
    """x flattened to (N, D); refuses anything but exact zeros and ones, naming a bad value."""
    flat = x.reshape(x.shape[0], -1)
    bad = (flat != 0) & (flat != 1)
    if bool(bad.any()):
        value = float(flat[bad][0])
        raise GenzooError(
            f"model {model!r} has binary (Bernoulli) units but the data contains {value:g}, not 0 or 1; "
            "genzoo does not binarise silently: use binary data (binarized_mnist, binary_digits, bars_stripes) "
            + ("or Gaussian visible units (--set visible=gaussian)" if model == "rbm"
               else "or an RBM with Gaussian visible units (genzoo train rbm --set visible=gaussian)")
        )
    return flat


#: Products with 0/1 states sum rows of the other factor instead of multiplying when at most this
#: fraction of the states are ones (measured on one AVX2 core, 784 × 500 weights, 100 rows: the sum
#: of selected rows costs as much as the GEMM at about a third ones; binarised MNIST has 13 %).
SPARSE_ONES = 0.25


def _ones(u: Tensor) -> tuple[Tensor, Tensor] | None:
    """(column of every one of u in row order, offset of each row's first one) when u (N, n) is 0/1 and
    sparse enough for row sums to beat a dense product; None otherwise (the caller multiplies densely)."""
    if u.device.type != "cpu" or u.dim() != 2 or u.numel() == 0:
        return None
    total = float(u.sum(dtype=torch.float64))  # the number of ones, if u is 0/1
    if total > SPARSE_ONES * u.numel():
        return None
    lo, hi = torch.aminmax(u)
    if float(lo) < 0 or float(hi) > 1:
        return None
    rows, cols = u.bool().nonzero(as_tuple=True)  # on bytes: faster than on floats
    if rows.numel() != total:  # values strictly between 0 and 1 (means, not states): no row sums
        return None
    counts = torch.bincount(rows, minlength=u.shape[0])
    return cols, torch.cumsum(counts, 0) - counts


def _product(u: Tensor, W: Tensor, c: Tensor | None) -> Tensor:
    """c + u @ W with the bias in the product's accumulator (no extra pass)."""
    return u @ W if c is None else torch.addmm(c, u, W)


def _outer_gap(u_neg: Tensor, m_neg: Tensor, u_pos: Tensor, m_pos: Tensor, out: Tensor) -> Tensor:
    """⟨u⁻ m⁻ᵀ⟩ − ⟨u⁰ m⁰ᵀ⟩ written into ``out``: two products into one buffer, the scaling and the
    subtraction by addmm's α/β (no separate passes over the weight-sized result)."""
    torch.mm(u_neg.T, m_neg, out=out)
    return out.addmm_(u_pos.T, m_pos, beta=1.0 / u_neg.shape[0], alpha=-1.0 / u_pos.shape[0])


class Units:
    """One unit type. Methods take the layer's bias c, its σ (``scale``, or None) and the input s or the other layer."""

    name: str
    binary: bool
    #: the guide's learning rate when a layer of this type takes part (the smaller of the two layers' wins)
    default_lr: float

    def rows(self, x: Tensor, model: str) -> Tensor:
        """Data as (N, D) rows this layer can take, refusing values outside its state space."""
        return x.reshape(x.shape[0], -1)

    def scale(self, log_sigma: Tensor) -> Tensor:
        """σ of each unit from the model's log σ parameter (ones where the type has no σ)."""
        raise NotImplementedError

    def scaled(self, u: Tensor, scale: Tensor | None) -> Tensor:
        """u/σ: what the weights see of the layer."""
        raise NotImplementedError

    def energy(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        """Σ_i e(u_i) for rows u (N, n), shape (N,)."""
        raise NotImplementedError

    def product(self, u: Tensor, W: Tensor, c: Tensor | None = None) -> Tensor:
        """c + u @ W for values u of this layer (already divided by σ): the input they give the other layer."""
        return _product(u, W, c)

    def outer_gap(self, u_neg: Tensor, m_neg: Tensor, u_pos: Tensor, m_pos: Tensor, out: Tensor) -> Tensor:
        """⟨u⁻ m⁻ᵀ⟩ − ⟨u⁰ m⁰ᵀ⟩ (row averages) for values u of this layer: the weights' statistics gap."""
        return _outer_gap(u_neg, m_neg, u_pos, m_pos, out)

    def mean(self, c: Tensor, scale: Tensor | None, sender: Units, other: Tensor, W: Tensor) -> Tensor:
        """E[u | other layer] with s = other @ W, the product done by the other layer's unit type ``sender``."""
        raise NotImplementedError

    def sample(self, mean: Tensor, scale: Tensor | None, uniform: Uniform | None = None) -> Tensor:
        """A draw of p(u | s) given its mean (``uniform`` replaces torch's generator for binary units)."""
        raise NotImplementedError

    def log_integral(self, c: Tensor, scale: Tensor | None, s: Tensor) -> Tensor:
        """log Σ_u e^{−e(u) + (u/σ) s} per unit (the layer summed out; input s without the bias)."""
        raise NotImplementedError

    def bias_statistic(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        """∂(−e(u))/∂c per row."""
        raise NotImplementedError

    def scale_statistic(self, u: Tensor, c: Tensor, scale: Tensor, s: Tensor) -> Tensor:
        """∂(−E)/∂log σ per row, s the input from the other layer (its mean)."""
        raise NotImplementedError

    def init_bias(self, u: Tensor) -> Tensor:
        """The guide's initial bias from a batch of data u (N, n)."""
        raise NotImplementedError

    def initial_state(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """An uninformed starting state for Gibbs chains."""
        raise NotImplementedError

    # ---- the annealing path of AIS (Salakhutdinov & Murray 2008) -----------------------------------
    def base_rate(self, total: Tensor, sq: Tensor, n: float) -> tuple[Tensor, Tensor | None]:
        """The base-rate model's (mean, σ or None) from the data's running sum, sum of squares and count."""
        raise NotImplementedError

    def base_layer(self, mean: Tensor, std: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """(bias c_A, σ_A or None) of the base model's independent units matched to ``mean`` (and ``std``), float64."""
        raise NotImplementedError

    def annealed_sample(self, beta: float, base: tuple[Tensor, Tensor | None], c: Tensor, scale: Tensor,
                        drive: Tensor, uniforms: Tensor | None = None) -> Tensor:
        """u ~ p_β(u | h) ∝ exp(−(1−β) e_A(u) − β e_B(u) + β (u/σ) s) with s = ``drive`` = h Wᵀ.

        ``uniforms`` (binary units): the draw's uniforms, shaped like ``drive``; drawn here when None.
        """
        raise NotImplementedError


class BernoulliUnits(Units):
    name, binary, default_lr = "bernoulli", True, 0.1

    def rows(self, x: Tensor, model: str) -> Tensor:
        return binary_rows(x, model)

    def scale(self, log_sigma: Tensor) -> Tensor:
        return torch.ones_like(log_sigma)

    def scaled(self, u: Tensor, scale: Tensor | None) -> Tensor:
        return u

    def energy(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        return -(u @ c)

    def product(self, u: Tensor, W: Tensor, c: Tensor | None = None) -> Tensor:
        # states are 0/1: row n of u @ W is the sum of the rows of W where u_n is 1 (embedding_bag sums
        # them), a fraction of a dense product's work for sparse states; means take the dense product
        ones = _ones(u) if W.is_contiguous() else None
        if ones is None:
            return _product(u, W, c)
        s = F.embedding_bag(ones[0], W, ones[1], mode="sum")
        return s if c is None else s.add_(c)

    def outer_gap(self, u_neg: Tensor, m_neg: Tensor, u_pos: Tensor, m_pos: Tensor, out: Tensor) -> Tensor:
        # for 0/1 states, row i of Σ_n w_n u_nᵀ m_n is the w-weighted sum of the m_n with u_ni = 1: one
        # embedding_bag over the stacked rows, the weights ±1/N folded into m first
        u = torch.cat([u_neg, u_pos])
        ones = _ones(u.T.contiguous())
        if ones is None:
            return _outer_gap(u_neg, m_neg, u_pos, m_pos, out)
        m = torch.cat([m_neg * (1.0 / u_neg.shape[0]), m_pos * (-1.0 / u_pos.shape[0])])
        return F.embedding_bag(ones[0], m, ones[1], mode="sum")

    def mean(self, c: Tensor, scale: Tensor | None, sender: Units, other: Tensor, W: Tensor) -> Tensor:
        return torch.sigmoid_(sender.product(other, W, c))  # the input is ours: sigmoid in place

    def sample(self, mean: Tensor, scale: Tensor | None, uniform: Uniform | None = None) -> Tensor:
        return bernoulli(mean, uniform)

    def log_integral(self, c: Tensor, scale: Tensor | None, s: Tensor) -> Tensor:
        return F.softplus(c + s)

    def bias_statistic(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        return u

    def scale_statistic(self, u: Tensor, c: Tensor, scale: Tensor, s: Tensor) -> Tensor:
        return torch.zeros_like(u)  # no σ in a Bernoulli unit's energy

    def init_bias(self, u: Tensor) -> Tensor:
        p = u.mean(0).clamp(1e-3, 1 - 1e-3)
        return torch.log(p) - torch.log1p(-p)  # the guide's log p̂/(1 − p̂)

    def initial_state(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        return torch.bernoulli(torch.full(shape, 0.5)).to(like)

    def base_rate(self, total: Tensor, sq: Tensor, n: float) -> tuple[Tensor, Tensor | None]:
        return (total + 1) / (n + 2), None  # add-one smoothing keeps the base-rate logits finite

    def base_layer(self, mean: Tensor, std: Tensor | None) -> tuple[Tensor, Tensor | None]:
        p = mean.detach().to(torch.float64).clamp(1e-6, 1 - 1e-6)
        return torch.log(p) - torch.log1p(-p), None

    def annealed_sample(self, beta: float, base: tuple[Tensor, Tensor | None], c: Tensor, scale: Tensor,
                        drive: Tensor, uniforms: Tensor | None = None) -> Tensor:
        p = torch.sigmoid((1 - beta) * base[0] + beta * (c + drive))
        u = torch.rand_like(p) if uniforms is None else uniforms
        return torch.lt(u, p).to(drive.dtype)


class GaussianUnits(Units):
    name, binary, default_lr = "gaussian", False, 0.001  # the guide: one to two orders of magnitude smaller

    def scale(self, log_sigma: Tensor) -> Tensor:
        return log_sigma.exp()

    def scaled(self, u: Tensor, scale: Tensor | None) -> Tensor:
        return u if scale is None else u / scale

    def energy(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        d = u - c if scale is None else (u - c) / scale
        return (d**2).sum(-1) / 2

    def mean(self, c: Tensor, scale: Tensor | None, sender: Units, other: Tensor, W: Tensor) -> Tensor:
        return sender.product(other, W, c) if scale is None else c + scale * sender.product(other, W)

    def sample(self, mean: Tensor, scale: Tensor | None, uniform: Uniform | None = None) -> Tensor:
        noise = torch.randn_like(mean)
        return mean + noise if scale is None else mean + scale * noise

    def log_integral(self, c: Tensor, scale: Tensor | None, s: Tensor) -> Tensor:
        # ∫ exp(−(u − c)²/(2σ²) + (u/σ) s) du = σ √(2π) exp(c s/σ + s²/2)
        if scale is None:
            return c * s + s**2 / 2 + HALF_LOG_2PI
        return c * s / scale + s**2 / 2 + torch.log(scale) + HALF_LOG_2PI

    def bias_statistic(self, u: Tensor, c: Tensor, scale: Tensor | None) -> Tensor:
        return u - c if scale is None else (u - c) / scale**2

    def scale_statistic(self, u: Tensor, c: Tensor, scale: Tensor, s: Tensor) -> Tensor:
        return ((u - c) / scale) ** 2 - (u / scale) * s

    def init_bias(self, u: Tensor) -> Tensor:
        return u.mean(0)

    def initial_state(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        return torch.randn(shape).to(like)

    def base_rate(self, total: Tensor, sq: Tensor, n: float) -> tuple[Tensor, Tensor | None]:
        mean = total / n if n else torch.zeros_like(total)
        var = (sq / n - mean**2).clamp_min(1e-6) if n else torch.ones_like(total)
        return mean, var.sqrt()

    def base_layer(self, mean: Tensor, std: Tensor | None) -> tuple[Tensor, Tensor | None]:
        if std is None:
            raise GenzooError("AIS with gaussian visible units needs base_std")
        return mean.detach().to(torch.float64), std.detach().to(torch.float64).clamp_min(1e-6)

    def annealed_sample(self, beta: float, base: tuple[Tensor, Tensor | None], c: Tensor, scale: Tensor,
                        drive: Tensor, uniforms: Tensor | None = None) -> Tensor:
        # a product of two Gaussians in u: precisions add, means are precision-weighted
        mu, s = base
        assert s is not None
        precision = (1 - beta) / s**2 + beta / scale**2
        mean = ((1 - beta) * mu / s**2 + beta * c / scale**2 + beta * drive / scale) / precision
        return mean + torch.randn_like(mean) / precision.sqrt()


#: Unit types by the name configs use.
UNITS: dict[str, Units] = {u.name: u for u in (BernoulliUnits(), GaussianUnits())}


def units(name: str | Units) -> Units:
    """The unit type named ``name`` (a :class:`Units` passes through); a one-line error for an unknown one."""
    if isinstance(name, Units):
        return name
    if name not in UNITS:
        raise GenzooError(f"invalid value {name!r} for a unit type: valid: {', '.join(UNITS)}")
    return UNITS[name]
