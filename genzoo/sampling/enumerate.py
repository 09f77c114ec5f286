"""Exact sums over all 2^n binary states, chunked, for partition functions of small Boltzmann machines.

Not a sampler: the exact counterpart the samplers are tested against. ``log_sum_states`` computes
log Σ_{s ∈ {0,1}^n} exp(g(s)) in float64, 2^``chunk_bits`` states at a time, so memory stays
bounded while n goes up to :data:`MAX_ENUMERATION_BITS`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from genzoo.errors import GenzooError

#: Largest layer enumerated by default (2^20 ≈ 10^6 states: seconds on a CPU).
MAX_ENUMERATION_BITS = 20


def binary_states(n: int, start: int = 0, stop: int | None = None, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """Rows start..stop−1 of the (2^n, n) table of binary states (row r = bits of r, unit 0 the least significant)."""
    stop = 2**n if stop is None else stop
    r = torch.arange(start, stop, device=device, dtype=torch.int64)
    return ((r.unsqueeze(1) >> torch.arange(n, device=device)) & 1).to(dtype)


def check_feasible(n: int, what: str, limit: int = MAX_ENUMERATION_BITS) -> None:
    """Refuse to enumerate 2^n states beyond 2^limit, naming the size and pointing to AIS."""
    if n > limit:
        raise GenzooError(
            f"exact log Z needs a sum over 2^{n} states of the {n} {what}, more than the feasible 2^{limit}; "
            "use the AIS estimate instead (log_prob_estimate, genzoo eval → log_likelihood_ais)"
        )


def log_sum_states(n: int, g: Callable[[Tensor], Tensor], dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                   chunk_bits: int = 12) -> Tensor:
    """log Σ_{s ∈ {0,1}^n} exp(g(s)) as a float64 scalar; ``g`` maps (m, n) states to (m,) float64 values."""
    total = 2**n
    step = 2 ** min(n, chunk_bits)
    parts = []
    for start in range(0, total, step):
        states = binary_states(n, start, min(total, start + step), dtype=dtype, device=device)
        parts.append(torch.logsumexp(g(states).to(torch.float64), 0))
    return torch.logsumexp(torch.stack(parts), 0)
