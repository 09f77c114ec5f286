"""Exact sums over all 2^n binary states, chunked, for partition functions of small Boltzmann machines.

Not a sampler: the exact counterpart the samplers are tested against. ``log_sum_states`` computes
log Σ_{s ∈ {0,1}^n} exp(g(s)) in float64, 2^``chunk_bits`` states at a time, so memory stays
bounded (a few MiB) for any n a model allows (``max_enumeration_bits`` ≤ 30).

Time does not stay bounded: it doubles with every unit, and 2^30 states of a 64-pixel RBM take
about a quarter of an hour on one CPU core. :func:`check_enumeration_time` measures one chunk on
the model's device and refuses, before training, an enumeration that one evaluation could not
finish within :data:`ENUMERATION_SECONDS_LIMIT`.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import torch
from torch import Tensor

from genzoo.errors import GenzooError

#: Largest layer enumerated by default (2^20 ≈ 10^6 states: seconds on a CPU).
MAX_ENUMERATION_BITS = 20
#: States per chunk: one (2^12, n) table and its (2^12, D) products stay well under a MiB per unit.
CHUNK_BITS = 12
#: The longest the enumerations of one evaluation may take (training evaluates every
#: ``sample_every`` steps and at the end, so this is paid again and again).
ENUMERATION_SECONDS_LIMIT = 300.0
#: Partial sums kept before they are folded into one, so even 2^30 states keep O(1) memory.
_FOLD = 1024


def binary_states(n: int, start: int = 0, stop: int | None = None, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """Rows start..stop−1 of the (2^n, n) table of binary states (row r = bits of r, unit 0 the least significant)."""
    stop = 2**n if stop is None else stop
    r = torch.arange(start, stop, device=device, dtype=torch.int64)
    return ((r.unsqueeze(1) >> torch.arange(n, device=device)) & 1).to(dtype)


#: What an RBM's refusal advises; a model without AIS (the fully visible BM) passes its own advice.
AIS_ADVICE = "use the AIS estimate instead (log_prob_estimate, genzoo eval → log_likelihood_ais)"


def check_feasible(n: int, what: str, limit: int = MAX_ENUMERATION_BITS, advice: str = AIS_ADVICE) -> None:
    """Refuse to enumerate 2^n states beyond 2^limit, naming the size and what to do instead (``advice``)."""
    if n > limit:
        raise GenzooError(
            f"exact log Z needs a sum over 2^{n} states of the {n} {what}, more than the feasible 2^{limit}; {advice}"
        )


def log_sum_states(n: int, g: Callable[[Tensor], Tensor], dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                   chunk_bits: int = 12) -> Tensor:
    """log Σ_{s ∈ {0,1}^n} exp(g(s)) as a float64 scalar; ``g`` maps (m, n) states to (m,) float64 values."""
    total = 2**n
    step = 2 ** min(n, chunk_bits)
    parts: list[Tensor] = []
    for start in range(0, total, step):
        states = binary_states(n, start, min(total, start + step), dtype=dtype, device=device)
        parts.append(torch.logsumexp(g(states).to(torch.float64), 0))
        if len(parts) == _FOLD:  # fold, so 2^30 states do not keep 2^18 partial sums alive
            parts = [torch.logsumexp(torch.stack(parts), 0)]
    return torch.logsumexp(torch.stack(parts), 0)


def seconds_per_state(n: int, g: Callable[[Tensor], Tensor], dtype: torch.dtype = torch.float32,
                      device: torch.device | str = "cpu", chunk_bits: int = CHUNK_BITS) -> float:
    """Measured cost of ``g`` per state: one chunk of 2^``chunk_bits`` states, best of three after a warm-up."""
    states = binary_states(n, 0, 2 ** min(n, chunk_bits), dtype=dtype, device=device)
    best = math.inf
    with torch.no_grad():
        for i in range(4):
            t0 = time.perf_counter()
            torch.logsumexp(g(states).to(torch.float64), 0).item()  # .item(): wait for an asynchronous device
            if i:  # the first call pays for allocation and kernel selection
                best = min(best, time.perf_counter() - t0)
    return best / states.shape[0]


def check_enumeration_time(what: str, enumerations: Sequence[tuple[int, Callable[[Tensor], Tensor]]],
                           dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                           limit: float | None = None, width: int = 0, hint: str = "") -> None:
    """Refuse (one line) enumerations of 2^n states each (``(n, g)`` pairs, run once per evaluation)
    whose measured total time exceeds ``limit`` seconds (default :data:`ENUMERATION_SECONDS_LIMIT`,
    read at call time). Memory is not the issue: chunks bound it (``width``: the widest per-state
    intermediate of ``g``, e.g. the other layer's units, for the memory the message states)."""
    from genzoo.resources import format_bytes, format_seconds

    limit = ENUMERATION_SECONDS_LIMIT if limit is None else limit

    big = [(n, g) for n, g in enumerations if n > CHUNK_BITS]  # one chunk or less: milliseconds
    if not big:
        return
    rates = [seconds_per_state(n, g, dtype, device) for n, g in big]
    seconds = sum(rate * 2**n for rate, (n, _) in zip(rates, big))
    if seconds <= limit:
        return
    largest = max(n for n, _ in big)
    fits = math.floor(math.log2(max(limit / sum(rates), 1.0)))
    # one chunk's state table and g's intermediates (float64 at worst, twice for temporaries), plus folded partial sums
    memory = 2**CHUNK_BITS * (largest + width) * 8 * 2 + _FOLD * 8
    raise GenzooError(
        f"{what}: exact enumeration of 2^{largest} states would take about {format_seconds(seconds)} per evaluation "
        f"on this machine (measured on 2^{CHUNK_BITS} states; memory stays near {format_bytes(memory)}, streamed in chunks), "
        f"more than the {format_seconds(limit)} allowed; about 2^{fits} states fit"
        + (f" — {hint}" if hint else "")
    )
