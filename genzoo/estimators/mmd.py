"""Maximum mean discrepancy with a registry of kernels (Gretton et al. 2012).

For a positive-definite kernel k with feature map φ into its RKHS H,

    MMD²(p, q) = ‖E_p φ(x) − E_q φ(y)‖²_H = E k(x, x') + E k(y, y') − 2 E k(x, y),

zero iff p = q for a characteristic kernel (RBF, inverse multiquadratic). On samples
x_1..x_n ~ p and y_1..y_m ~ q:

* unbiased (the U-statistic, Gretton et al. 2012 eq. 3)::

      MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/(nm) Σ_{i,j} k(x_i, y_j)

  E[MMD²_u] = MMD², so it is ≈ 0 (and may be negative) when p = q;
* biased (the V-statistic, eq. 5): the same with the diagonals kept and 1/n², 1/m² — always ≥ 0,
  biased upward by O(1/n). InfoVAE's and WAE's training losses use either.

Kernels (:data:`KERNELS`, one function ``k(a, b, **params) -> (…, n, m)`` each):

* ``rbf``: k(a, b) = Σ_s exp(−‖a − b‖² / (2σ_s²)) over one or several bandwidths σ_s
  (``bandwidth`` a float, a list of floats, or ``"median"``: the median pairwise distance of the
  pooled sample, detached — the median heuristic of Gretton et al.);
* ``imq``: inverse multiquadratic k(a, b) = Σ_s C_s / (C_s + ‖a − b‖²), the kernel WAE-MMD
  uses with C = 2·d·σ_z² (Tolstikhin et al. 2018); ``scale`` = C or a list of C's; its heavy tails
  keep gradients alive for far-apart samples;
* ``polynomial``: k(a, b) = (aᵀb/d + 1)³ — the kernel of KID (Bińkowski et al. 2018); not
  characteristic, it compares the first three moments.

Every function is batched over leading dimensions: x (…, n, d), y (…, m, d) → (…).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.estimators import register_estimator
from genzoo.registry import Registry

__all__ = ["KERNELS", "register_kernel", "sq_dists", "rbf_kernel", "imq_kernel", "polynomial_kernel", "kernel_matrix", "mmd2"]

#: name → k(a, b, **params): (…, n, d), (…, m, d) → (…, n, m).
KERNELS: Registry[Callable[..., Tensor]] = Registry("kernel")


def register_kernel(name: str) -> Callable:
    """Decorator: add a kernel function ``k(a, b, **params) -> (…, n, m)`` to :data:`KERNELS`."""
    return KERNELS.register(name)


def sq_dists(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise squared Euclidean distances (…, n, m), clamped at 0 (the expansion can round below)."""
    d = (a * a).sum(-1, keepdim=True) - 2 * a @ b.transpose(-1, -2) + (b * b).sum(-1).unsqueeze(-2)
    return d.clamp_min(0)


def _widths(name: str, value: float | Sequence[float]) -> list[float]:
    vals = [float(value)] if isinstance(value, (int, float)) else [float(v) for v in value]
    if not vals or any(not v > 0 for v in vals):
        raise GenzooError(f"invalid value {name}={value!r}: must be a positive number or a non-empty list of them")
    return vals


def median_bandwidth(*samples: Tensor) -> Tensor:
    """Median pairwise distance of the pooled samples, per leading batch index: (…, 1, 1), detached, ≥ 1e-6.

    A bandwidth read off the data makes MMD²_u slightly biased (it is then not a fixed kernel).
    """
    z = torch.cat([s.detach() for s in samples], -2)
    d = sq_dists(z, z)
    n = z.shape[-2]
    off = d[..., ~torch.eye(n, dtype=torch.bool, device=z.device)]  # (…, n(n−1))
    return off.median(-1).values.sqrt().clamp_min(1e-6)[..., None, None]


@register_kernel("rbf")
def rbf_kernel(a: Tensor, b: Tensor, bandwidth: float | Sequence[float] | str | Tensor = 1.0) -> Tensor:
    """Σ_s exp(−‖a − b‖²/(2σ_s²)); ``bandwidth`` σ: a float, a list, a tensor (…, 1, 1) or ``"median"``.

    ``"median"`` here pools a and b; :func:`mmd2` and :func:`~genzoo.estimators.hsic.hsic` resolve it
    once per sample so that all Gram matrices share one bandwidth.
    """
    d = sq_dists(a, b)
    if isinstance(bandwidth, Tensor):
        return torch.exp(-d / (2 * bandwidth**2))
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise GenzooError(f"invalid value bandwidth={bandwidth!r}: a number, a list of numbers, or 'median'")
        return torch.exp(-d / (2 * median_bandwidth(a, b) ** 2))
    return sum(torch.exp(-d / (2 * s * s)) for s in _widths("bandwidth", bandwidth))  # type: ignore[return-value]


@register_kernel("imq")
def imq_kernel(a: Tensor, b: Tensor, scale: float | Sequence[float] = 1.0) -> Tensor:
    """Inverse multiquadratic Σ_s C_s/(C_s + ‖a − b‖²); WAE's choice is C = 2·d·σ_z²."""
    d = sq_dists(a, b)
    return sum(c / (c + d) for c in _widths("scale", scale))  # type: ignore[return-value]


@register_kernel("polynomial")
def polynomial_kernel(a: Tensor, b: Tensor) -> Tensor:
    """KID's cubic kernel (aᵀb/d + 1)³."""
    return (a @ b.transpose(-1, -2) / a.shape[-1] + 1) ** 3


def kernel_matrix(a: Tensor, b: Tensor, kernel: str | Callable[..., Tensor] = "rbf", **params: object) -> Tensor:
    """k(a_i, b_j) for a registered kernel name or a callable."""
    fn = KERNELS.get(kernel) if isinstance(kernel, str) else kernel
    return fn(a, b, **params)


def _check(x: Tensor, y: Tensor, unbiased: bool) -> None:
    if x.ndim < 2 or y.ndim < 2:
        raise GenzooError(f"mmd2 needs samples of shape (…, n, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[-1] != y.shape[-1]:
        raise GenzooError(f"mmd2: sample dimensions differ: {x.shape[-1]} and {y.shape[-1]}")
    least = 2 if unbiased else 1
    if x.shape[-2] < least or y.shape[-2] < least:
        raise GenzooError(f"mmd2 needs at least {least} samples per side, got {x.shape[-2]} and {y.shape[-2]}")


@register_estimator("mmd")
def mmd2(x: Tensor, y: Tensor, kernel: str | Callable[..., Tensor] = "rbf", unbiased: bool = True, **params: object) -> Tensor:
    """Squared MMD between samples x (…, n, d) and y (…, m, d): unbiased U- or biased V-statistic (…).

    ``kernel`` names a kernel of :data:`KERNELS` (``rbf``, ``imq``, ``polynomial``) or is a
    callable ``k(a, b)``; ``params`` go to the kernel (``bandwidth=``, ``scale=``). Differentiable.
    """
    _check(x, y, unbiased)
    n, m = x.shape[-2], y.shape[-2]
    if params.get("bandwidth") == "median":  # one bandwidth for the three Gram matrices
        params = {**params, "bandwidth": median_bandwidth(x, y)}
    kxx, kyy, kxy = (kernel_matrix(a, b, kernel, **params) for a, b in ((x, x), (y, y), (x, y)))
    if not unbiased:
        return kxx.mean((-1, -2)) + kyy.mean((-1, -2)) - 2 * kxy.mean((-1, -2))
    off = lambda k: k.sum((-1, -2)) - k.diagonal(dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    if n == m:  # one division, so KID's numbers do not move by a rounding
        return (off(kxx) + off(kyy)) / (n * (n - 1)) - 2 * kxy.sum((-1, -2)) / n**2
    return off(kxx) / (n * (n - 1)) + off(kyy) / (m * (m - 1)) - 2 * kxy.sum((-1, -2)) / (n * m)
