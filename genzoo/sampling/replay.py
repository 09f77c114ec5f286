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

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.sampling import register_sampler
from genzoo.sampling.langevin import ChainConfig, ShortRunLangevin
from genzoo.sampling.negatives import EnergyTarget


class ReplayBuffer(nn.Module):
    """Replay buffer for persistent chains (Du & Mordatch 2019): draw starts from past negatives, re-initialise 5 % from noise."""

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


@dataclass
class ReplayConfig(ChainConfig):
    """Options of replay-buffer negatives: the Langevin chain's, and the buffer's."""

    buffer_size: int = 10_000  # points kept (first in, first out; the paper's 10 000)
    reinit: float = 0.05  # share of chains restarted from noise (the paper's 5 %)

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.buffer_size >= 1, "buffer_size", self.buffer_size, "must be ≥ 1")
        check(0 <= self.reinit <= 1, "reinit", self.reinit, "must be in [0, 1]")


@register_sampler("replay")
class ReplayLangevin(ShortRunLangevin):
    """Langevin negatives from a replay buffer (Du & Mordatch 2019): K steps from past negatives, 5 % restarted from noise."""

    applies_to = "an energy E(x): ebm --set negatives=replay (the ebm default)"
    Config = ReplayConfig
    contract_options = {"steps": 3, "buffer_size": 64}

    def __init__(self, config: ReplayConfig, target: EnergyTarget) -> None:
        super().__init__(config, target)
        self.buffer = ReplayBuffer(config.buffer_size, target.shape, target.noise, config.reinit)

    def forward(self, n: int) -> Tensor:
        x = self.chain(self.buffer.draw(n), self.config.steps)
        self.buffer.push(x)
        return x

    def sample(self, n: int) -> Tensor:
        """Chains from the buffer's points (read, never written), ``sample_steps`` long."""
        return self.chain(self.buffer.draw(n), self.config.sample_steps)
