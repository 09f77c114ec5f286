"""An endless, seeded, resumable stream of minibatches drawn from tensors in memory.

Each epoch is a fresh permutation from the stream's own generator; the last incomplete batch
of an epoch is dropped. With ``world_size > 1`` every rank takes its own slice of each global
batch, so data-parallel ranks see disjoint data without any change to the models.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genzoo.errors import GenzooError


class BatchStream:
    def __init__(
        self,
        x: Tensor,
        y: Tensor | None,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        n = x.shape[0]
        global_batch = batch_size * world_size
        if global_batch > n:
            raise GenzooError(f"invalid value batch_size={batch_size}: larger than the data set ({n} samples)")
        self.x, self.y = x, y
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position = 0, 0
        self.permutation = torch.randperm(n, generator=self.generator)

    def next(self, n_batches: int = 1) -> Tensor | tuple[Tensor, Tensor]:
        """``n_batches`` consecutive batches, concatenated (models with k inner updates split them)."""
        size = self.batch_size * self.world_size
        parts = []
        for _ in range(n_batches):
            if self.position + size > self.permutation.numel():
                self.permutation = torch.randperm(self.x.shape[0], generator=self.generator)
                self.position = 0
                self.epoch += 1
            start = self.position + self.rank * self.batch_size
            parts.append(self.permutation[start : start + self.batch_size])
            self.position += size
        index = (parts[0] if n_batches == 1 else torch.cat(parts)).to(self.x.device)
        if self.y is None:
            return self.x[index]
        return self.x[index], self.y[index]

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.get_state(),
            "permutation": self.permutation,
            "epoch": self.epoch,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.permutation = state["permutation"].clone()
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
