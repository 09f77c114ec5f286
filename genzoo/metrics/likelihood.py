"""Test log-likelihood: exact where a model has it, a bound where it has one, importance weighting otherwise.

The protocol (capabilities a model may implement; all in nats, one value per example)
-----------------------------------------------------------------------------------
``log_prob(x) -> Tensor (N,)``
    the exact (or exactly normalised, e.g. by enumeration of log Z) log-density log p_θ(x).
    Reported as ``log_likelihood``.
``elbo(x) -> Tensor (N,)``
    a lower bound on log p_θ(x), e.g. the VAE's E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)).
    Reported as ``elbo`` — a bound, never as a likelihood.
``proposal(x) -> torch.distributions.Distribution``
    the proposal q(z|x) for x of shape (N, ...): ``batch_shape`` (N,), any ``event_shape`` E,
    with ``sample((K,))`` → (K, N, *E) and ``log_prob(z)`` → (K, N). A model whose
    ``encode(x)`` already returns such a ``Distribution`` need not define ``proposal``.
``log_joint(x, z) -> Tensor (K, N)``
    log p_θ(x, z) = log p(z) + log p_θ(x|z) for z of shape (K, N, *E).

With ``proposal`` (or a Distribution-valued ``encode``) and ``log_joint``, the
importance-weighted estimate of Burda et al. (2016, IWAE) is computed generically::

    log p(x) ≈ L_K(x) = logsumexp_{k=1..K} [log p(x, z_k) − log q(z_k|x)] − log K,   z_k ~ q(z|x) i.i.d.

E[L_K] ≤ log p(x) for every K (Jensen), E[L_K] is non-decreasing in K, and L_K → log p(x)
as K → ∞ when p(x, ·)/q(·|x) is bounded; L_1 is the ELBO. Reported as ``log_likelihood_iw``
(with ``iw_k``): a stochastic lower bound.

All values are means over the evaluated examples (nats per example).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo import resources

__all__ = [
    "IW_K",
    "IW_K_FULL",
    "IW_K_TRAIN",
    "has_exact",
    "has_bound",
    "has_iw",
    "iw_log_likelihood",
    "likelihood_metrics",
]

#: Importance samples per example: cheap default (training-time evaluation) and ``full`` evaluation.
#: (Burda et al. report K = 5000; 1000 keeps a CPU evaluation of the 10k MNIST test set feasible.)
IW_K: int = 64
IW_K_FULL: int = 1000
#: K at the end-of-training evaluation (genzoo.metrics.evaluate: tier "final"), sized for the
#: trainer's 20 % evaluation budget on a 300-step MNIST VAE (docs/speed.md); iw_k reports it.
IW_K_TRAIN: int = 8


def has_exact(model: Any) -> bool:
    return callable(getattr(model, "log_prob", None))


def has_bound(model: Any) -> bool:
    return callable(getattr(model, "elbo", None))


def _proposal(model: Any, x: Tensor) -> torch.distributions.Distribution:
    if callable(getattr(model, "proposal", None)):
        q = model.proposal(x)
    else:
        q = model.encode(x)
    if not isinstance(q, torch.distributions.Distribution):
        raise GenzooError(f"{type(model).__name__}.proposal/encode must return a torch Distribution for importance weighting, got {type(q).__name__}")
    if tuple(q.batch_shape) != (x.shape[0],):
        raise GenzooError(f"q(z|x) must have batch_shape ({x.shape[0]},) for {x.shape[0]} examples, got {tuple(q.batch_shape)}")
    return q


def has_iw(model: Any) -> bool:
    """Whether ``model`` has ``log_joint`` and a proposal (``proposal``, or ``encode`` returning a Distribution)."""
    if not callable(getattr(model, "log_joint", None)):
        return False
    return callable(getattr(model, "proposal", None)) or callable(getattr(model, "encode", None))


#: Bytes of intermediates per sub-chunk aimed at for speed: a few tens of MB stay in the allocator's
#: reuse range and out of page-fault churn, where 256 samples × 500 MNIST images (≈ 400 MB per
#: tensor) ran 1.56× slower than these sub-chunks (docs/speed.md).
SPEED_BYTES: int = 64 * 2**20


def _leaf_output_bytes(model: Any, fn) -> tuple[Tensor, int]:
    """(fn(), the bytes of every leaf submodule's output during it): what one call's intermediates can occupy.

    Summing every output over-counts (without autograd most are freed as soon as the next layer
    has run), which is the safe side for a memory budget.
    """
    total = 0

    def hook(_module, _inputs, output) -> None:
        nonlocal total
        for t in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(t, Tensor):
                total += t.numel() * t.element_size()

    modules = [m for m in model.modules() if next(m.children(), None) is None] if isinstance(model, torch.nn.Module) else []
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        out = fn()
    finally:
        for h in handles:
            h.remove()
    return out, total


def iw_log_likelihood(model: Any, x: Tensor, k: int = IW_K, chunk: int = 256, memory: int | None = None) -> Tensor:
    """L_K(x) = logsumexp_k [log p(x, z_k) − log q(z_k|x)] − log K per example → (N,).

    The K samples are drawn in chunks of ``chunk`` (randomness from torch's global generator, so
    the draws — and hence the values for a seed — do not depend on how the work is split below)
    and the chunk-wise logsumexps combined exactly. Within a chunk, ``log_joint`` runs on
    sub-chunks of samples sized to ``memory`` bytes (default: genzoo.resources.memory_budget, a share of the free
    memory, at most ``SPEED_BYTES``), the per-sample size measured on the first sample; the log
    weights fill one (chunk, N) buffer, so the result equals the unsplit computation's whenever
    the model computes each sample's row independently of the batch it sits in (genzoo's MLP
    VAEs do, bit for bit; tests/test_likelihood.py checks it).
    """
    if not has_iw(model):
        raise GenzooError(f"{type(model).__name__} cannot be importance-weighted: it needs log_joint(x, z) and proposal(x) (see genzoo.metrics.likelihood)")
    if k < 1:
        raise GenzooError(f"invalid value k={k}: must be >= 1")
    if chunk < 1:
        raise GenzooError(f"invalid value chunk={chunk}: must be >= 1")
    q = _proposal(model, x)
    n = x.shape[0]

    budget = memory if memory is not None else min(SPEED_BYTES, resources.memory_budget(x.device))
    sub = 0  # samples per log_joint call; set from the first sample's measured size
    parts = []
    for start in range(0, k, chunk):
        z = q.sample((min(chunk, k - start),))  # the same draws, in the same order, as one call per chunk always made
        log_w: Tensor | None = None
        i = 0
        while i < z.shape[0]:
            if sub == 0:
                row, per_sample = _leaf_output_bytes(model, lambda: _log_weights(model, q, x, z[:1]))
                # besides the modules' outputs: log q, the difference, and x-sized terms of log p(x|z)
                per_sample += 4 * x.numel() * x.element_size()
                sub = max(1, min(chunk, budget // max(per_sample, 1)))
            else:
                row = _log_weights(model, q, x, z[i : i + sub])
            if log_w is None:
                log_w = row.new_empty((z.shape[0], n))
            log_w[i : i + row.shape[0]] = row
            i += row.shape[0]
        parts.append(torch.logsumexp(log_w, 0))
    return torch.logsumexp(torch.stack(parts), 0) - math.log(k)


def _log_weights(model: Any, q: torch.distributions.Distribution, x: Tensor, z: Tensor) -> Tensor:
    """log p(x, z) − log q(z|x) for samples z (c, N, *E) → (c, N), shape-checked."""
    log_w = model.log_joint(x, z) - q.log_prob(z)
    if log_w.shape != (z.shape[0], x.shape[0]):
        raise GenzooError(f"log_joint(x, z) − log q(z|x) must have shape (K, N) = {(z.shape[0], x.shape[0])}, got {tuple(log_w.shape)}")
    return log_w


def _batched(fn, x: Tensor, batch: int, desc: str | None = None) -> Tensor:
    from genzoo.progress import bar

    starts = range(0, x.shape[0], batch)
    if desc is not None:  # a bar over the examples (on a terminal, where a command asked for one)
        starts = bar(starts, desc=desc, unit="batch")
    return torch.cat([fn(x[i : i + batch]).reshape(-1).double().cpu() for i in starts])


def likelihood_metrics(model: Any, x: Tensor, k: int = IW_K, batch: int = 500,
                       which: tuple[str, ...] = ("exact", "bound", "iw")) -> dict[str, float]:
    """Mean test log-likelihood of ``x`` under ``model`` with every capability it has (nats per example).

    Keys: ``log_likelihood`` (exact ``log_prob``), ``elbo`` (a bound), ``log_likelihood_iw``,
    ``log_likelihood_iw_se`` (its standard error over the examples) and ``iw_k`` (the IWAE
    estimate with K = ``k``: a stochastic lower bound). Empty when the model has none of them.
    ``which`` limits them to some of "exact", "bound" and "iw" (the evaluation groups score the
    cheap pass and the K-fold IWAE at different times; genzoo.metrics.evaluate).
    """
    if not isinstance(x, Tensor) or x.ndim < 2 or x.shape[0] == 0:
        raise GenzooError(f"x must be a non-empty (N, ...) tensor, got {tuple(getattr(x, 'shape', ()))}")
    if not torch.isfinite(x).all():
        raise GenzooError("x contains non-finite values")
    params = list(model.parameters()) if callable(getattr(model, "parameters", None)) else []
    x = x.to(params[0].device if params else "cpu")
    out: dict[str, float] = {}
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            if has_exact(model) and "exact" in which:
                out["log_likelihood"] = float(_batched(model.log_prob, x, batch).mean())
            if has_bound(model) and "bound" in which:
                out["elbo"] = float(_batched(model.elbo, x, batch).mean())
            if has_iw(model) and "iw" in which:
                iw = _batched(lambda xb: iw_log_likelihood(model, xb, k), x, batch, desc=f"IWAE K={k}")
                out["log_likelihood_iw"] = float(iw.mean())
                # standard error of the mean over the evaluated examples (data spread and Monte Carlo error together)
                out["log_likelihood_iw_se"] = float(iw.std() / math.sqrt(iw.numel())) if iw.numel() > 1 else 0.0
                out["iw_k"] = float(k)
    finally:
        if was_training:
            model.train()
    return out
