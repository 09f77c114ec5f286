"""Hilbert–Schmidt independence criterion (Gretton et al. 2005), the dependence measure of HSIC-VAE.

For kernels k on X and l on Y, HSIC(X, Y) is the squared Hilbert–Schmidt norm of the
cross-covariance operator between their feature maps; with characteristic kernels it is zero
iff X and Y are independent. On paired samples (x_i, y_i), i = 1..n, with Gram matrices
K_ij = k(x_i, x_j), L_ij = l(y_i, y_j) and the centring matrix H = I − 11ᵀ/n:

* biased (Gretton et al. 2005, Theorem 1)::

      HSIC_b = tr(K H L H) / (n − 1)²

  ≥ 0, biased upward by O(1/n) — the estimator Lopez et al. (2018) add to the VAE loss;
* unbiased (Song et al. 2012, eq. 5), with K̃, L̃ the Gram matrices with zeroed diagonals::

      HSIC_u = [tr(K̃L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2) · 1ᵀK̃L̃1] / (n(n−3))

  E[HSIC_u] = HSIC, so it is ≈ 0 (either sign) under independence; needs n ≥ 4.

Kernels come from :data:`genzoo.estimators.mmd.KERNELS`; the default is the Gaussian RBF with
the median-heuristic bandwidth on each side (Gretton et al. 2005), which makes HSIC invariant to
rescaling either variable.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.estimators import register_estimator
from genzoo.estimators.mmd import kernel_matrix, median_bandwidth

__all__ = ["hsic"]


def _as2d(name: str, t: Tensor) -> Tensor:
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise GenzooError(f"hsic: {name} must have shape (n,) or (n, d), got {tuple(t.shape)}")
    return t


@register_estimator("hsic")
def hsic(
    x: Tensor,
    y: Tensor,
    kernel_x: str | Callable[..., Tensor] = "rbf",
    kernel_y: str | Callable[..., Tensor] = "rbf",
    unbiased: bool = False,
    params_x: dict | None = None,
    params_y: dict | None = None,
) -> Tensor:
    """HSIC between paired samples x (n, dx) and y (n, dy) — biased (default) or unbiased; a 0-d tensor.

    ``params_x``/``params_y`` go to the kernels; the default for RBF is ``{"bandwidth": "median"}``.
    Differentiable in x and y (the median bandwidth is detached).
    """
    x, y = _as2d("x", x), _as2d("y", y)
    n = x.shape[0]
    if y.shape[0] != n:
        raise GenzooError(f"hsic needs paired samples: x has {n} rows, y has {y.shape[0]}")
    if n < (4 if unbiased else 2):
        raise GenzooError(f"hsic needs at least {4 if unbiased else 2} samples, got {n}")
    px = params_x if params_x is not None else ({"bandwidth": "median"} if kernel_x == "rbf" else {})
    py = params_y if params_y is not None else ({"bandwidth": "median"} if kernel_y == "rbf" else {})
    if px.get("bandwidth") == "median":
        px = {**px, "bandwidth": median_bandwidth(x)}
    if py.get("bandwidth") == "median":
        py = {**py, "bandwidth": median_bandwidth(y)}
    k = kernel_matrix(x, x, kernel_x, **px)
    lm = kernel_matrix(y, y, kernel_y, **py)
    if not unbiased:
        kc = k - k.mean(0, keepdim=True) - k.mean(1, keepdim=True) + k.mean()  # H K H
        return (kc * lm).sum() / (n - 1) ** 2  # tr(HKH L) = Σ_ij (HKH)_ij L_ij (both symmetric)
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    kt, lt = k.masked_fill(eye, 0), lm.masked_fill(eye, 0)
    term1 = (kt * lt).sum()
    term2 = kt.sum() * lt.sum() / ((n - 1) * (n - 2))
    term3 = 2 * (kt.sum(0) @ lt.sum(1)) / (n - 2)
    return (term1 + term2 - term3) / (n * (n - 3))
