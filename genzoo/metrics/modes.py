"""Mode coverage of samples from a known Gaussian mixture (ring of 8, grid of 25, ...).

Protocol (one pinned rule, stated, because papers differ: Euclidean < 3σ vs a per-coordinate box, ≈ 27 % larger)
-------------------------------------------------------------------------
Given N samples x_n ∈ R^D and the K component means μ_k with scales σ_k:

1. **Assignment.** Every sample is assigned to its nearest mean in Euclidean distance,
   k(n) = argmin_k ‖x_n − μ_k‖₂ (ties go to the lowest index).
2. **High quality.** With ``rule="euclidean"`` (default) the sample is high quality iff
   ‖x_n − μ_{k(n)}‖₂ < threshold · σ_{k(n)}. With ``rule="box"`` it is high quality iff every
   coordinate satisfies |x_{n,d} − μ_{k(n),d}| < threshold · σ_{k(n)} (a per-coordinate box,
   about 27 % larger in area than the disc in 2-D). The assignment of step 1 is Euclidean for
   both rules.
3. **Modes covered** = number of components k that are the nearest mean of at least one
   high-quality sample.
4. **hq_share** = (number of high-quality samples) / N.
5. **kl_to_uniform** = KL(p̂ ‖ U_K) = Σ_k p̂_k log((p̂_k + ε) · K), where p̂_k = c_k / Σ_j c_j is
   the distribution of the high-quality samples over the modes (c_k = ``counts[k]``) and
   ε = 1e-10 (``KL_EPS``) only guards log 0: empty modes contribute exactly 0 (0 log 0 = 0),
   and the value differs from the exact KL by at most ~ε·K. It is 0 for a perfectly even
   spread and log K when every high-quality sample sits in one mode. It is undefined (NaN)
   when there is no high-quality sample.

The standard protocol draws ``STANDARD_N_SAMPLES = 2500`` samples with threshold 3 (3σ).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genzoo.errors import GenzooError

__all__ = ["STANDARD_N_SAMPLES", "KL_EPS", "RULES", "mode_coverage"]

#: Number of generated samples in the standard mode-coverage protocol.
STANDARD_N_SAMPLES: int = 2500
#: Epsilon inside the logarithm of ``kl_to_uniform`` (guards log 0 only).
KL_EPS: float = 1e-10
#: Accepted high-quality rules.
RULES: tuple[str, ...] = ("euclidean", "box")


def _as_float64(name: str, value: Tensor) -> Tensor:
    if not isinstance(value, Tensor):
        try:
            value = torch.as_tensor(value)
        except Exception as exc:  # noqa: BLE001 - reported as bad input
            raise GenzooError(f"{name} must be a tensor, got {type(value).__name__}") from exc
    if value.is_complex() or value.dtype == torch.bool:
        raise GenzooError(f"{name} must be real-valued, got dtype {value.dtype}")
    return value.detach().to(device="cpu", dtype=torch.float64)


def mode_coverage(
    samples: Tensor,
    means: Tensor,
    std: Tensor | float,
    threshold: float = 3.0,
    rule: str = "euclidean",
    *,
    eps: float = KL_EPS,
) -> dict:
    """Modes covered, share of high-quality samples and KL to uniform for a Gaussian mixture.

    Protocol: each sample is assigned to its nearest mean (Euclidean). It is *high quality* if
    its distance to that mean is < ``threshold``·σ_k (``rule="euclidean"``), or, with
    ``rule="box"``, if every coordinate satisfies |Δ_d| < ``threshold``·σ_k. Modes covered =
    number of components that are nearest to at least one high-quality sample.
    ``kl_to_uniform`` = Σ_k p̂_k log((p̂_k + ε)·K) with p̂ the distribution of high-quality
    samples over the modes (ε = ``eps`` = 1e-10 guards log 0 only; NaN when no sample is high
    quality). The standard protocol uses ``STANDARD_N_SAMPLES`` = 2 500 samples and threshold 3.
    See the module docstring for the full statement.

    Args:
        samples: (N, D) generated samples.
        means: (K, D) component means.
        std: the components' scale σ: a float, a 0-d tensor, or a (K,) tensor (one σ_k per
            component; isotropic components).
        threshold: multiple of σ_k that defines "high quality" (> 0).
        rule: ``"euclidean"`` or ``"box"``.
        eps: epsilon inside the log of ``kl_to_uniform``.

    Returns:
        dict with ``modes`` (int), ``n_modes`` (K), ``hq_share`` (float in [0, 1]),
        ``counts`` (list of K ints: high-quality samples per mode), ``kl_to_uniform`` (float),
        ``n_samples`` (N), ``n_hq`` (int), ``rule`` and ``threshold`` (the protocol used).

    Raises:
        GenzooError: bad shapes, non-finite values, non-positive σ or threshold, unknown rule.
    """
    if rule not in RULES:
        raise GenzooError(f"unknown rule {rule!r}; expected one of {list(RULES)}")
    try:
        threshold = float(threshold)
    except (TypeError, ValueError) as exc:
        raise GenzooError(f"threshold must be a number, got {threshold!r}") from exc
    if not (math.isfinite(threshold) and threshold > 0):
        raise GenzooError(f"threshold must be finite and > 0, got {threshold}")
    if not (math.isfinite(eps) and eps >= 0):
        raise GenzooError(f"eps must be finite and >= 0, got {eps}")

    x = _as_float64("samples", samples)
    mu = _as_float64("means", means)
    if x.dim() != 2:
        raise GenzooError(f"samples must have shape (N, D), got {tuple(x.shape)}")
    if mu.dim() != 2:
        raise GenzooError(f"means must have shape (K, D), got {tuple(mu.shape)}")
    if x.shape[1] != mu.shape[1]:
        raise GenzooError(
            f"samples {tuple(x.shape)} and means {tuple(mu.shape)} differ in dimension D"
        )
    n, k_modes = x.shape[0], mu.shape[0]
    if n == 0:
        raise GenzooError(f"samples is empty: shape {tuple(x.shape)}")
    if k_modes == 0:
        raise GenzooError(f"means is empty: shape {tuple(mu.shape)}")
    if x.shape[1] == 0:
        raise GenzooError(f"samples have zero dimensions: shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise GenzooError(f"samples contain non-finite values ({int((~torch.isfinite(x)).sum())} entries)")
    if not torch.isfinite(mu).all():
        raise GenzooError("means contain non-finite values")

    sigma = _as_float64("std", std)
    if sigma.numel() == 1:
        sigma = sigma.reshape(1).expand(k_modes)
    elif sigma.shape != (k_modes,):
        raise GenzooError(
            f"std must be a scalar or have shape ({k_modes},) (one per mean), got {tuple(sigma.shape)}"
        )
    if not (torch.isfinite(sigma).all() and (sigma > 0).all()):
        raise GenzooError(f"std must be finite and > 0, got {sigma.tolist()}")

    # Exact pairwise distances (no matmul shortcut: decisions near the threshold must be exact).
    dist = torch.cdist(x, mu, compute_mode="donot_use_mm_for_euclid_dist")  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,), (N,)
    radius = threshold * sigma[nearest]  # (N,)
    if rule == "euclidean":
        hq = nearest_dist < radius
    else:  # box
        hq = ((x - mu[nearest]).abs() < radius.unsqueeze(1)).all(dim=1)

    counts = torch.bincount(nearest[hq], minlength=k_modes)  # (K,)
    n_hq = int(counts.sum())
    if n_hq > 0:
        p = counts.to(torch.float64) / n_hq
        kl = float((p * torch.log((p + eps) * k_modes)).sum())
    else:
        kl = float("nan")

    return {
        "modes": int((counts > 0).sum()),
        "n_modes": int(k_modes),
        "hq_share": n_hq / n,
        "counts": [int(c) for c in counts.tolist()],
        "kl_to_uniform": kl,
        "n_samples": int(n),
        "n_hq": n_hq,
        "rule": rule,
        "threshold": threshold,
    }
