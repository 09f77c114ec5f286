"""Data parallelism without touching model files.

Models own their optimisers, so instead of wrapping networks in DDP the trainer registers a
pre-step hook on each optimiser that averages gradients over the process group (launched with
``torchrun``; backend ``nccl`` on GPUs, ``gloo`` on CPUs). Parameters start identical because
every rank seeds the same way; each rank then reseeds its sampling noise with its rank, and the
:class:`~genzoo.train.stream.BatchStream` gives each rank its own slice of every global batch.
"""

from __future__ import annotations

import os
from typing import Iterable

import torch
import torch.distributed as dist


def is_active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_active() else 0


def world_size() -> int:
    return dist.get_world_size() if is_active() else 1


def init_from_environment() -> None:
    """Join the process group that ``torchrun`` describes in the environment (no-op otherwise)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def _average_gradients(optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def synchronise_gradients(optimizers: Iterable[torch.optim.Optimizer]) -> None:
    """Average gradients across ranks before every ``optimizer.step()`` (no-op on one process)."""
    if not is_active():
        return
    for opt in optimizers:
        opt.register_step_pre_hook(_average_gradients)


def broadcast_object(obj: object) -> object:
    """Rank 0's ``obj`` on every rank (a no-op on one process)."""
    if not is_active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
