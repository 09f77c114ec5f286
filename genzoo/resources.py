"""What a configuration will cost, estimated before it runs, and the memory a device has free.

A configuration that cannot fit (an IWAE with k = 10^8 importance samples) should be refused in
one line before a run directory exists, not by the allocator minutes later — or by the kernel's
OOM killer, which leaves no message at all. Models estimate their own cost in
:meth:`genzoo.models.base.Model.check_resources`; the helpers here are what they share (and what
evaluation uses for the same question).

No psutil: on Linux the free memory is /proc/meminfo's ``MemAvailable`` (what can be allocated
without swapping), elsewhere ``os.sysconf``; where neither exists the check is skipped rather
than guessed.
"""

from __future__ import annotations

import math
import os

import torch
from torch import nn

from genzoo.errors import GenzooError


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes that can be allocated now on ``device``; None when this platform does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        try:
            free, _ = torch.cuda.mem_get_info(device)
            return int(free)
        except (RuntimeError, AssertionError):  # pragma: no cover - CUDA present but not answering
            return None
    if device.type != "cpu":
        return None  # mps/xpu: no portable query; skip the check
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    try:  # other Unixes: free pages (an underestimate: it ignores reclaimable caches)
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    """1536 → '1.5 KiB'; binary units, three significant figures."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover - loop always returns


def format_seconds(s: float) -> str:
    """A duration for a human: '45 s', '12 min', '3.2 h', '4.1 days'."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


@torch.no_grad()
def activation_bytes(module: nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of every leaf module's output in one forward pass of ``module`` on ``inputs``.

    What autograd keeps for the backward pass is about this much per example, so with a batch of
    one it is a per-example cost that scales linearly. Runs in eval mode (a BatchNorm must not
    update its running statistics for an estimate) and restores the training flags after.
    """
    total = 0

    def count(_: nn.Module, __: object, out: object) -> None:
        nonlocal total
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        module(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return total


def require_memory(need: float, what: str, device: torch.device | str = "cpu", counted: str = "", hint: str = "") -> None:
    """Refuse (one-line :class:`GenzooError`) when ``need`` bytes exceed what ``device`` has free.

    ``what`` names the configuration, ``counted`` says what the estimate counts, ``hint`` how to
    make it fit. Silent when the free memory is unknown: a check that cannot be made is not a
    refusal. Estimates are meant as lower bounds, so a refusal is never wrong.
    """
    free = available_memory(device)
    if free is None or need <= free:
        return
    where = "GPU memory" if torch.device(device).type == "cuda" else "RAM"
    raise GenzooError(f"{what} needs at least {format_bytes(need)}" + (f" ({counted})" if counted else "")
                      + f", more than the {format_bytes(free)} of free {where}" + (f"; {hint}" if hint else ""))


def largest_fitting(need_per_unit: float, fixed: float = 0.0, device: torch.device | str = "cpu") -> int | None:
    """The largest count whose cost ``fixed + count·need_per_unit`` fits in free memory (None: unknown)."""
    free = available_memory(device)
    if free is None or need_per_unit <= 0:
        return None
    return max(0, math.floor((free - fixed) / need_per_unit))


#: Share of the free memory one evaluation step may fill: the process also holds the model, the
#: data and the samples, and `genzoo eval --full` runs its steps one after another.
EVAL_MEMORY_FRACTION: float = 0.25
#: Budget when the platform does not say how much memory is free: modest rather than unbounded.
UNKNOWN_MEMORY_BUDGET: int = 2**30


def memory_budget(device: torch.device | str = "cpu", fraction: float = EVAL_MEMORY_FRACTION) -> int:
    """Bytes one evaluation step may allocate: ``fraction`` of the free memory (1 GiB if unknown)."""
    free = available_memory(device)
    return UNKNOWN_MEMORY_BUDGET if free is None else max(1, int(fraction * free))


def fit_chunk(per_item: float, total: int, what: str, budget: int | None = None, fixed: float = 0.0,
              device: torch.device | str = "cpu", hint: str = "") -> int:
    """Items per chunk so ``fixed + chunk·per_item`` stays within ``budget`` bytes, in [1, total].

    ``budget`` defaults to :func:`memory_budget`. When even one item does not fit in the free
    memory the step is refused up front (one-line :class:`GenzooError` with the estimate, via
    :func:`require_memory`) rather than killed by the OOM killer later; one item over the budget
    but within free memory still runs, one item at a time. Streaming in these chunks must not
    change a result (callers combine chunks exactly; tests compare with the unchunked value).
    """
    if total < 1:
        return 1
    require_memory(fixed + per_item, what, device, counted=f"{format_bytes(per_item)} per chunk item", hint=hint)
    budget = memory_budget(device) if budget is None else budget
    return int(max(1, min(total, (budget - fixed) // max(per_item, 1))))
