"""Synthetic 1-D and 2-D data sets whose density is known exactly.

Every set here is a finite mixture of isotropic Gaussians,

    p(x) = Σ_k w_k N(x; μ_k, σ_k² I),    Σ_k w_k = 1,

so ``Dataset.density.log_prob`` is exact and ``Dataset.fresh`` draws new, independent points.
Curves (spiral, moons) are smoothed by placing many small equal-weight components along
the curve; the mixture *is* the definition of the data distribution, not an approximation of it.

Train and test sets are drawn from one ``torch.Generator`` seeded with ``seed``: first the
``n`` training points, then the ``n_test`` test points (independent of the training points).
Labels ``y`` are the index of the component each point was drawn from (the moon index for
``moons``; none for ``spiral``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from genzoo.config import check
from genzoo.data import DATASETS, Dataset
from genzoo.errors import GenzooError

__all__ = ["GaussianMixture", "ring_means", "grid_means", "spiral_means", "moons_means"]


def _as_tensor(name: str, value: Tensor | Sequence | float) -> Tensor:
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise GenzooError(f"invalid value {name}={value!r}: expected numbers") from None
    if not bool(torch.isfinite(t).all()):
        raise GenzooError(f"invalid value {name}={value!r}: must be finite")
    return t


_CHUNK = 1 << 20  # (rows × components) entries of the float64 work matrix per chunk


class GaussianMixture:
    """A mixture of isotropic Gaussians p(x) = Σ_k w_k N(x; μ_k, σ_k² I) in D dimensions.

    Args:
        means: (K, D) component means μ_k.
        std: (K,) per-component standard deviations σ_k, or one float shared by all.
        weights: (K,) non-negative mixing weights (normalised to sum to 1); ``None`` = uniform.

    Attributes ``means`` (K, D), ``std`` (K,) and ``weights`` (K,) are float32 CPU tensors.
    """

    def __init__(self, means: Tensor | Sequence, std: Tensor | Sequence | float, weights: Tensor | Sequence | None = None) -> None:
        m = _as_tensor("means", means)
        if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] == 0:
            raise GenzooError(f"invalid value means with shape {tuple(m.shape)}: expected (K, D) with K, D >= 1")
        k = m.shape[0]
        s = _as_tensor("std", std)
        if s.ndim == 0:
            s = s.expand(k).clone()
        if s.shape != (k,):
            raise GenzooError(f"invalid value std with shape {tuple(s.shape)}: expected a float or ({k},)")
        if not bool((s > 0).all()):
            raise GenzooError(f"invalid value std={s.tolist()}: must be > 0")
        if weights is None:
            w = torch.full((k,), 1.0 / k, dtype=torch.float64)
        else:
            w = _as_tensor("weights", weights)
            if w.shape != (k,):
                raise GenzooError(f"invalid value weights with shape {tuple(w.shape)}: expected ({k},) to match means")
            if bool((w < 0).any()) or float(w.sum()) <= 0:
                raise GenzooError(f"invalid value weights={w.tolist()}: must be >= 0 with a positive sum")
            w = w / w.sum()
        self._means64, self._std64, self._weights64 = m, s, w
        self.means: Tensor = m.float()
        self.std: Tensor = s.float()
        self.weights: Tensor = w.float()

    @property
    def dim(self) -> int:
        """D, the dimension of x."""
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        """K, the number of components."""
        return int(self.means.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None, return_components: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Draw n points (float32, (n, D), CPU): k ~ Categorical(w), x = μ_k + σ_k ε, ε ~ N(0, I).

        With ``return_components=True`` also returns the (n,) int64 component indices k.
        """
        n = int(n)
        if n < 0:
            raise GenzooError(f"invalid value n={n}: must be >= 0")
        k = torch.multinomial(self._weights64, n, replacement=True, generator=generator) if n else torch.zeros(0, dtype=torch.long)
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        x = (self._means64[k] + self._std64[k, None] * eps).float()
        return (x, k) if return_components else x

    def component_log_prob(self, x: Tensor) -> Tensor:
        """(N, K) matrix log w_k + log N(x_n; μ_k, σ_k² I), computed in float64 (differentiable in x)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise GenzooError(f"x with shape {tuple(x.shape)} does not match the mixture: expected (N, {self.dim})")
        x64 = x.to(torch.float64)
        m = self._means64.to(x.device)
        s2 = self._std64.to(x.device) ** 2
        logw = self._weights64.to(x.device).log()
        # ‖x − μ‖² = ‖x‖² − 2 x·μ + ‖μ‖², exact to ~1e-16 relative in float64; (N, K) memory only.
        sq = (x64 * x64).sum(1, keepdim=True) - 2.0 * x64 @ m.T + (m * m).sum(1)
        sq = sq.clamp_min(0.0)
        return logw - 0.5 * self.dim * torch.log(2 * math.pi * s2) - sq / (2 * s2)

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log p(x) = logsumexp_k [log w_k + log N(x; μ_k, σ_k² I)], shape (N,), in x's dtype.

        Computed in float64, in chunks of rows so that the (rows, K) work matrix stays ≤ 2²⁰ entries.
        """
        rows = max(1, _CHUNK // self.n_components)
        if x.ndim == 2 and x.shape[0] > rows:
            out = torch.cat([torch.logsumexp(self.component_log_prob(c), dim=1) for c in x.split(rows)])
        else:
            out = torch.logsumexp(self.component_log_prob(x), dim=1)
        return out.to(x.dtype) if x.is_floating_point() else out

    def nearest(self, x: Tensor) -> Tensor:
        """(N,) index of the nearest mean (Euclidean) to each point."""
        return torch.cdist(x.to(torch.float64), self._means64.to(x.device)).argmin(1)

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.n_components}, D={self.dim})"


# ----------------------------------------------------------------------------- geometries


def ring_means(modes: int, radius: float) -> Tensor:
    """(K, 2) means at angles θ_k = 2πk/K, k = 0..K−1, on a circle of the given radius.

    (Not ``linspace(0, 2π, K)``: that repeats θ = 0 at 2π and leaves only K−1 distinct modes.)
    """
    theta = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return radius * torch.stack([theta.cos(), theta.sin()], 1)


def grid_means(side: int, spacing: float) -> Tensor:
    """(side², 2) means on a square grid centred at 0: coordinates (i − (side−1)/2)·spacing, i = 0..side−1."""
    c = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    gx, gy = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


#: The spiral's curve parameter runs over [t0, t1] = [1.5π, 4.5π] and is scaled down by 7.5.
SPIRAL_T = (1.5 * math.pi, 4.5 * math.pi)
SPIRAL_SCALE = 7.5


def spiral_means(components: int) -> Tensor:
    """(K, 2) means μ_k = (t_k cos t_k, t_k sin t_k)/7.5 with t_k = 1.5π(1 + 2k/(K−1)), k = 0..K−1."""
    t0, t1 = SPIRAL_T
    t = t0 + (t1 - t0) * torch.arange(components, dtype=torch.float64) / max(components - 1, 1)
    return torch.stack([t * t.cos(), t * t.sin()], 1) / SPIRAL_SCALE


def moons_means(components: int) -> Tensor:
    """(2K, 2) means: K on the upper moon (cos θ_k, sin θ_k), then K on the lower (1 − cos θ_k, 0.5 − sin θ_k).

    θ_k = πk/(K−1), k = 0..K−1 — scikit-learn's ``make_moons`` geometry.
    """
    th = math.pi * torch.arange(components, dtype=torch.float64) / max(components - 1, 1)
    upper = torch.stack([th.cos(), th.sin()], 1)
    lower = torch.stack([1 - th.cos(), 0.5 - th.sin()], 1)
    return torch.cat([upper, lower], 0)


# ----------------------------------------------------------------------------- data sets


def _from_mixture(name: str, gm: GaussianMixture, n: int, n_test: int, seed: int, labels: Tensor | None | bool = True) -> Dataset:
    """Train then test draws from one generator; ``labels``: True = component index, a (K,) map, or None."""
    check(n >= 1, "n", n, "must be >= 1")
    check(n_test >= 0, "n_test", n_test, "must be >= 0")
    g = torch.Generator().manual_seed(seed)
    x, k = gm.sample(n, g, return_components=True)
    tx, tk = gm.sample(n_test, g, return_components=True)
    if labels is True:
        y, ty = k, tk
    elif isinstance(labels, Tensor):
        y, ty = labels[k], labels[tk]
    else:
        y = ty = None
    return Dataset(name=name, x=x, kind="points", y=y, test_x=tx if n_test else None,
                   test_y=ty if n_test else None, density=gm)


@DATASETS.register("ring8")
def ring8(n: int = 50_000, modes: int = 8, radius: float = 1.0, std: float = 0.01, n_test: int = 10_000, seed: int = 0) -> Dataset:
    """K = 8 Gaussians on a circle (radius 1, std 0.01): the mode-collapse benchmark.

    Mixture of ``modes`` equal-weight isotropic 2-D Gaussians with means
    μ_k = radius·(cos 2πk/K, sin 2πk/K), k = 0..K−1 (K distinct angles) and std σ = ``std``.
    y = component index k.
    """
    check(modes >= 1, "modes", modes, "must be >= 1")
    check(radius > 0, "radius", radius, "must be > 0")
    check(std > 0, "std", std, "must be > 0")
    return _from_mixture("ring8", GaussianMixture(ring_means(modes, radius), std), n, n_test, seed)


@DATASETS.register("grid25")
def grid25(n: int = 50_000, side: int = 5, spacing: float = 2.0, std: float = 0.05, n_test: int = 10_000, seed: int = 0) -> Dataset:
    """25 Gaussians on a 5×5 grid {−4,−2,0,2,4}² (std 0.05): the mode-collapse benchmark.

    Mixture of side² equal-weight isotropic 2-D Gaussians with means ((i − (side−1)/2)·spacing,
    (j − (side−1)/2)·spacing), i, j = 0..side−1 (centred at 0), std σ = ``std``.
    Component k = side·i + j; y = k.
    """
    check(side >= 1, "side", side, "must be >= 1")
    check(spacing > 0, "spacing", spacing, "must be > 0")
    check(std > 0, "std", std, "must be > 0")
    return _from_mixture("grid25", GaussianMixture(grid_means(side, spacing), std), n, n_test, seed)


@DATASETS.register("mix1d")
def mix1d(
    n: int = 50_000,
    means: tuple[float, ...] = (-2.0, 2.0),
    std: float = 0.5,
    weights: tuple[float, ...] | None = None,
    n_test: int = 10_000,
    seed: int = 0,
) -> Dataset:
    """1-D Gaussian mixture (default: bimodal, means −2 and 2, std 0.5, equal weights).

    p(x) = Σ_k w_k N(x; m_k, σ²) with m = ``means``, σ = ``std`` shared by all components and
    w = ``weights`` (normalised; default uniform). x has shape (N, 1); y = component index.
    """
    check(len(means) >= 1, "means", list(means), "must list at least one mean")
    check(std > 0, "std", std, "must be > 0")
    gm = GaussianMixture(torch.tensor(means, dtype=torch.float64)[:, None], std, None if weights is None else list(weights))
    return _from_mixture("mix1d", gm, n, n_test, seed)


@DATASETS.register("spiral")
def spiral(n: int = 50_000, components: int = 400, noise: float = 0.05, n_test: int = 10_000, seed: int = 0) -> Dataset:
    """2-D spiral (swiss roll) of 400 small Gaussians, exact density by construction.

    Curve: c(t) = (t cos t, t sin t)/7.5 for t ∈ [1.5π, 4.5π] (one and a half turns, radius
    0.63 → 1.88). The distribution is the equal-weight mixture of K = ``components`` isotropic
    Gaussians with std ``noise`` centred at c(t_k), t_k = 1.5π(1 + 2k/(K−1)), k = 0..K−1 (equally
    spaced in t). Its log-density is therefore exact. No labels.
    """
    check(components >= 2, "components", components, "must be >= 2")
    check(noise > 0, "noise", noise, "must be > 0")
    return _from_mixture("spiral", GaussianMixture(spiral_means(components), noise), n, n_test, seed, labels=None)


@DATASETS.register("moons")
def moons(n: int = 50_000, components: int = 200, noise: float = 0.05, n_test: int = 10_000, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's make_moons geometry), exact density by construction.

    Upper moon: (cos θ, sin θ); lower moon: (1 − cos θ, 0.5 − sin θ); θ ∈ [0, π]. The distribution is
    the equal-weight mixture of 2K isotropic Gaussians with std ``noise``, K = ``components`` per
    moon, centred at θ_k = πk/(K−1), k = 0..K−1, on each moon. Its log-density is therefore exact.
    y = moon index (0 upper, 1 lower).
    """
    check(components >= 2, "components", components, "must be >= 2")
    check(noise > 0, "noise", noise, "must be > 0")
    moon_of = torch.arange(2).repeat_interleave(components)
    return _from_mixture("moons", GaussianMixture(moons_means(components), noise), n, n_test, seed, labels=moon_of)
