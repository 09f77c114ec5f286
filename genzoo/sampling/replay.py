"""Replay buffer of past negative samples: persistent Langevin chains (Du & Mordatch 2019).

Each training iteration starts its Langevin chains from points drawn uniformly from a buffer
of earlier chains' end points, except that each chain is re-initialised from the noise
distribution with probability ``reinit`` (5 % in the paper), and pushes the chains' new end
points back (first in, first out, ``capacity`` 10 000 in the paper). Until the buffer holds a
point every chain starts from noise.

The buffer's contents and write position are ``nn.Module`` buffers, so a checkpoint of the
model that owns it resumes the chains bit for bit; the random choices use torch's global
generator, which genzoo's checkpoints save too.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.sampling import register_sampler


@register_sampler("replay")
class ReplayBuffer(nn.Module):
    """Replay buffer for persistent chains (Du & Mordatch 2019): draw starts from past negatives, re-initialise 5 % from noise."""

    applies_to = "the starting points of any chain sampler (ebm negatives='replay')"

    def __init__(self, capacity: int, shape: tuple[int, ...], noise: Callable[[int], Tensor], reinit: float = 0.05) -> None:
        super().__init__()
        check(capacity >= 1, "buffer_size", capacity, "must be ≥ 1")
        check(0.0 <= reinit <= 1.0, "reinit", reinit, "must be in [0, 1]")
        self.capacity, self.reinit, self.noise = capacity, reinit, noise
        self.register_buffer("store", torch.zeros(capacity, *shape))
        self.register_buffer("written", torch.zeros((), dtype=torch.long))  # points ever pushed

    def __len__(self) -> int:
        return int(min(int(self.written), self.capacity))

    def draw(self, n: int) -> Tensor:
        """n starting points: uniformly from the buffer, each replaced by noise with probability ``reinit``."""
        fresh = self.noise(n).to(self.store)
        if len(self) == 0:
            return fresh
        idx = torch.randint(0, len(self), (n,), device=self.store.device)
        restart = torch.rand(n, device=self.store.device) < self.reinit
        mask = restart.view(-1, *([1] * (fresh.ndim - 1)))
        return torch.where(mask, fresh, self.store[idx])

    @torch.no_grad()
    def push(self, x: Tensor) -> None:
        """Append a batch (oldest entries overwritten once full)."""
        x = x.detach().to(self.store)[-self.capacity:]
        pos = (int(self.written) + torch.arange(x.shape[0], device=self.store.device)) % self.capacity
        self.store[pos] = x
        self.written += x.shape[0]
