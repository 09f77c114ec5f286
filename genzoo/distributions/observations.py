"""Observation models p(x | decoder output): Bernoulli, Gaussian (fixed / learned σ), discretised logistic, categorical.

An observation model turns a decoder's raw output into a ``torch.distributions`` object over one
example (``event_shape`` = the data's shape) and checks that the data it scores lie in the range
it defines. Decoders output ``n_params`` numbers per data dimension, parameter-major: for data of
shape (C, H, W) either ``(*B, n_params·C, H, W)`` or flat ``(*B, n_params·C·H·W)``; channel
``p·C + c`` is parameter p of channel c.

=================  =========  ======================================  ======================
name               n_params   p(x | out)                              data it accepts
=================  =========  ======================================  ======================
bernoulli          1          ∏ Bernoulli(σ(logit))                   [0, 1] (grey values are
                                                                      scored by the same
                                                                      cross-entropy)
gaussian           1          ∏ N(μ, σ²), σ fixed (``sigma``)         any finite value
gaussian-learned   2 / 1      ∏ N(μ, σ²), log σ from the decoder      any finite value
                              (``sigma="pixel"``) or one learned
                              log σ per dimension (``"shared"``)
logistic           2          discretised logistic, 256 bins on        k/255, k = 0..255
                              [0, 1] (Salimans et al. 2017; Kingma
                              et al. 2016)
categorical        levels     ∏ Categorical(softmax) over ``levels``   k/(levels − 1)
                              grey levels
=================  =========  ======================================  ======================

``log_prob(out, x)`` validates x, then sums over every data dimension: one value per example
(nats). ``mean(out)`` is the decoder's mean image (what ``decode`` returns); ``sample(out)``
draws from p(x | out).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Categorical, Distribution, Independent, Normal, constraints

from genzoo.distributions import OBSERVATIONS, register_observation
from genzoo.errors import GenzooError


class Observation(nn.Module):
    """Base class. Subclasses set ``n_params`` and implement ``distribution`` (and ``check_range``)."""

    name: ClassVar[str] = ""
    #: Decoder outputs per data dimension.
    n_params: ClassVar[int] = 1

    def __init__(self, shape: tuple[int, ...], **options: Any) -> None:
        super().__init__()
        if options:
            raise GenzooError(f"observation {self.name!r} takes no option {sorted(options)[0]!r}")
        self.shape = tuple(int(s) for s in shape)

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    @property
    def out_dim(self) -> int:
        """Decoder outputs per example."""
        return self.n_params * self.dim

    def split(self, out: Tensor) -> Tensor:
        """Decoder output → ``(*B, n_params, *shape)``."""
        lead = (self.n_params * self.shape[0], *self.shape[1:])
        if out.ndim >= len(lead) and tuple(out.shape[out.ndim - len(lead):]) == lead:
            batch = out.shape[: out.ndim - len(lead)]
        elif out.shape[-1] == self.out_dim:
            batch = out.shape[:-1]
        else:
            raise GenzooError(f"observation {self.name!r} expects decoder output (*, {self.out_dim}) or (*, {', '.join(map(str, lead))}) "
                              f"for data of shape {self.shape}, got {tuple(out.shape)}")
        return out.reshape(*batch, self.n_params, *self.shape)

    def distribution(self, out: Tensor) -> Distribution:
        """p(x | out) with ``batch_shape`` = the leading dims and ``event_shape`` = the data's shape."""
        raise NotImplementedError

    def check_range(self, x: Tensor) -> None:
        """Raise :class:`GenzooError` naming the first value outside the accepted range."""
        if not torch.isfinite(x).all():
            raise GenzooError(f"observation {self.name!r}: data contain a non-finite value {x[~torch.isfinite(x)].flatten()[0].item()}")

    def log_prob(self, out: Tensor, x: Tensor) -> Tensor:
        """log p(x | out) summed over data dimensions → ``out``'s batch shape. Validates x first."""
        self.check_range(x)
        return self.distribution(out).log_prob(x)

    def mean(self, out: Tensor) -> Tensor:
        return self.distribution(out).mean

    def sample(self, out: Tensor) -> Tensor:
        return self.distribution(out).sample()

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def _outside(x: Tensor, lo: float, hi: float) -> Tensor | None:
    bad = (x < lo) | (x > hi)
    return x[bad].flatten()[0] if bad.any() else None


@register_observation("bernoulli")
class BernoulliObservation(Observation):
    """∏_i Bernoulli(x_i; σ(ℓ_i)) on logits ℓ; data in [0, 1]."""

    def distribution(self, out: Tensor) -> Distribution:
        return Independent(Bernoulli(logits=_param(self.split(out), self.shape, 0), validate_args=False), len(self.shape))

    def check_range(self, x: Tensor) -> None:
        super().check_range(x)
        bad = _outside(x, 0.0, 1.0)
        if bad is not None:
            raise GenzooError(f"observation 'bernoulli' needs data in [0, 1], got a value {bad.item():.4g} (rescale the data or use observation=gaussian)")

    def mean(self, out: Tensor) -> Tensor:
        return torch.sigmoid(_param(self.split(out), self.shape, 0))


def _param(t: Tensor, shape: tuple[int, ...], p: int) -> Tensor:
    """Parameter p of a split output ``(*B, n_params, *shape)``."""
    return t.select(t.ndim - len(shape) - 1, p)


@register_observation("gaussian")
class GaussianObservation(Observation):
    """∏_i N(x_i; μ_i, σ²) with a fixed σ (option ``sigma``, default 1)."""

    def __init__(self, shape: tuple[int, ...], sigma: float = 1.0) -> None:
        super().__init__(shape)
        if not (sigma > 0 and math.isfinite(sigma)):
            raise GenzooError(f"invalid value sigma={sigma!r}: must be > 0")
        self.sigma = float(sigma)

    def distribution(self, out: Tensor) -> Distribution:
        return Independent(Normal(_param(self.split(out), self.shape, 0), self.sigma), len(self.shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}, sigma={self.sigma}"


#: log σ is bounded below so a learned σ cannot collapse onto a pixel that never varies (density → ∞).
MIN_LOG_SIGMA = math.log(1e-3)


@register_observation("gaussian-learned")
class LearnedGaussianObservation(Observation):
    """∏_i N(x_i; μ_i, σ_i²), σ learned: from the decoder (sigma=pixel) or one per dimension (sigma=shared).

    ``sigma="pixel"``: the decoder outputs log σ beside μ; ``"shared"``: one learned log σ per data
    dimension shared by every example. log σ ≥ log 1e-3.
    """

    def __init__(self, shape: tuple[int, ...], sigma: str = "pixel") -> None:
        super().__init__(shape)
        if sigma not in ("pixel", "shared"):
            raise GenzooError(f"invalid value sigma={sigma!r}: gaussian-learned takes sigma=pixel or sigma=shared")
        self.mode = sigma
        if sigma == "shared":
            self.log_sigma = nn.Parameter(torch.zeros(self.shape))

    @property
    def n_params(self) -> int:  # type: ignore[override]
        return 2 if self.mode == "pixel" else 1

    def distribution(self, out: Tensor) -> Distribution:
        t = self.split(out)
        mu = _param(t, self.shape, 0)
        log_sigma = _param(t, self.shape, 1) if self.mode == "pixel" else self.log_sigma.expand_as(mu)
        return Independent(Normal(mu, log_sigma.clamp_min(MIN_LOG_SIGMA).exp()), len(self.shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}, sigma={self.mode}"


class DiscretizedLogistic(Distribution):
    """A logistic(μ, s) discretised to ``bins`` equal bins on [0, 1] (centres k/(bins − 1)).

    P(x = k/(bins−1)) = F(x + h) − F(x − h), h = 1/(2(bins − 1)), with the two edge bins taking
    the tails: F(h) at x = 0 and 1 − F(1 − h) at x = 1 (Salimans et al. 2017, eq. 2). The
    probabilities of the ``bins`` values sum to one exactly.
    """

    arg_constraints = {"loc": constraints.real, "log_scale": constraints.real}
    support = constraints.unit_interval
    has_rsample = False

    def __init__(self, loc: Tensor, log_scale: Tensor, bins: int = 256, validate_args: bool | None = False) -> None:
        self.loc, self.log_scale = torch.broadcast_tensors(loc, log_scale)
        self.bins = bins
        super().__init__(self.loc.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc.clamp(0, 1)

    def log_prob(self, x: Tensor) -> Tensor:
        half = 0.5 / (self.bins - 1)
        inv_s = torch.exp(-self.log_scale)
        centred = x - self.loc
        upper = inv_s * (centred + half)
        lower = inv_s * (centred - half)
        log_cdf_upper = F.logsigmoid(upper)  # log F(x + h): the mass of the bin at x = 0
        log_sf_lower = F.logsigmoid(-lower)  # log(1 − F(x − h)): the mass of the bin at x = 1
        diff = torch.sigmoid(upper) - torch.sigmoid(lower)
        # log(F(u) − F(l)) computed stably: when the bin is far in a tail the difference underflows,
        # so fall back to the density at the centre times the bin width.
        mid = inv_s * centred
        log_pdf_mid = mid - self.log_scale - 2 * F.softplus(mid) + math.log(2 * half)
        log_mid = torch.where(diff > 1e-5, torch.log(diff.clamp_min(1e-12)), log_pdf_mid)
        return torch.where(x < half, log_cdf_upper, torch.where(x > 1 - half, log_sf_lower, log_mid))

    def sample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            u = torch.rand(shape, device=self.loc.device).clamp(1e-6, 1 - 1e-6)
            y = self.loc.expand(shape) + self.log_scale.exp().expand(shape) * (torch.log(u) - torch.log1p(-u))
            return (y.clamp(0, 1) * (self.bins - 1)).round() / (self.bins - 1)


def _check_grid(name: str, x: Tensor, levels: int) -> None:
    bad = _outside(x, 0.0, 1.0)
    if bad is not None:
        raise GenzooError(f"observation {name!r} needs data in [0, 1], got a value {bad.item():.4g}")
    k = x * (levels - 1)
    off = (k - k.round()).abs() > 1e-3
    if off.any():
        raise GenzooError(f"observation {name!r} needs {levels}-level data k/{levels - 1}, got a value {x[off].flatten()[0].item():.6g} "
                          "(quantise the data or use observation=gaussian)")


@register_observation("logistic")
class LogisticObservation(Observation):
    """Discretised logistic on 8-bit data (``bins`` = 256 values k/255 in [0, 1]); the decoder gives μ and log s."""

    n_params = 2

    def __init__(self, shape: tuple[int, ...], bins: int = 256) -> None:
        super().__init__(shape)
        if bins < 2:
            raise GenzooError(f"invalid value bins={bins!r}: must be ≥ 2")
        self.bins = int(bins)

    def distribution(self, out: Tensor) -> Distribution:
        t = self.split(out)
        # The decoder's μ is centred around 0.5 so a zero output predicts mid-grey.
        return Independent(DiscretizedLogistic(_param(t, self.shape, 0) + 0.5, _param(t, self.shape, 1).clamp_min(-7.0), self.bins),
                           len(self.shape))

    def check_range(self, x: Tensor) -> None:
        super().check_range(x)
        _check_grid("logistic", x, self.bins)


class _GreyCategorical(Distribution):
    """Categorical over ``levels`` grey values k/(levels − 1), scored and sampled in data units."""

    arg_constraints: dict = {}
    support = constraints.unit_interval

    def __init__(self, logits: Tensor) -> None:
        self.cat = Categorical(logits=logits, validate_args=False)
        self.levels = logits.shape[-1]
        super().__init__(self.cat.batch_shape, validate_args=False)

    @property
    def mean(self) -> Tensor:
        grey = torch.linspace(0, 1, self.levels, device=self.cat.logits.device, dtype=self.cat.logits.dtype)
        return (self.cat.probs * grey).sum(-1)

    def log_prob(self, x: Tensor) -> Tensor:
        return self.cat.log_prob((x * (self.levels - 1)).round().long())

    def sample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:
        return self.cat.sample(sample_shape).to(self.cat.logits.dtype) / (self.levels - 1)

    def entropy(self) -> Tensor:
        return self.cat.entropy()


@register_observation("categorical")
class CategoricalObservation(Observation):
    """A softmax over ``levels`` grey values per dimension (256: van den Oord et al. 2016's 8-bit pixels)."""

    def __init__(self, shape: tuple[int, ...], levels: int = 256) -> None:
        super().__init__(shape)
        if levels < 2:
            raise GenzooError(f"invalid value levels={levels!r}: must be ≥ 2")
        self.levels = int(levels)

    @property
    def n_params(self) -> int:  # type: ignore[override]
        return self.levels

    def distribution(self, out: Tensor) -> Distribution:
        t = self.split(out)
        logits = t.movedim(t.ndim - len(self.shape) - 1, -1)  # (*B, *shape, levels)
        return Independent(_GreyCategorical(logits), len(self.shape))

    def check_range(self, x: Tensor) -> None:
        super().check_range(x)
        _check_grid("categorical", x, self.levels)


def observation(name: str, shape: tuple[int, ...], **options: Any) -> Observation:
    """Build the registered observation model ``name`` for data of ``shape`` (options: e.g. ``sigma``)."""
    cls = OBSERVATIONS.get(name)
    try:
        return cls(shape, **options)
    except TypeError as e:
        raise GenzooError(f"observation {name!r}: {e}") from None
