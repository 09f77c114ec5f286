"""Exception-safe switches on modules: freeze parameters, or run in evaluation mode, for one block.

Every two-player update needs "G's step through a frozen D" and every sampler needs "G in eval
mode"; written by hand (``requires_grad_(False)`` … ``requires_grad_(True)``) an exception in
between leaves the network frozen for the rest of the run. These restore the previous state on
any exit, and restore it per parameter / per module, so nesting is safe.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Within the block, no parameter of ``modules`` requires gradient (inputs still get one)."""
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Within the block, ``modules`` are in eval mode (batch norm uses running statistics, no dropout)."""
    submodules = [s for m in modules for s in m.modules()]
    before = [s.training for s in submodules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for s, flag in zip(submodules, before):
            s.training = flag
