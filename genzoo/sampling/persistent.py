"""Persistent Markov chains (Tieleman 2008): the negative phase continues last step's chains.

Persistent contrastive divergence keeps a fixed set of "fantasy particles" whose state survives
from one parameter update to the next, so with small learning rates the chains stay close to
the model distribution instead of restarting at the data as CD does. The state lives in an
``nn.Module`` buffer: it is part of the owning model's ``state_dict`` and therefore of every
checkpoint, so a resumed run continues the very same chains bit for bit.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from genzoo.config import check
from genzoo.sampling import register_sampler


@register_sampler("persistent")
class PersistentChains(nn.Module):
    """Persistent chains (Tieleman 2008): n fantasy particles whose state is carried across updates in a buffer."""

    applies_to = "any Markov transition (RBM/BM Gibbs in pcd training, long sampling chains)"

    def __init__(self, n_chains: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        check(n_chains >= 1, "n_chains", n_chains, "must be ≥ 1")
        self.register_buffer("state", torch.zeros(n_chains, *shape))
        self.register_buffer("started", torch.zeros((), dtype=torch.bool))

    @property
    def n_chains(self) -> int:
        return int(self.state.shape[0])

    @torch.no_grad()
    def start(self, init: Tensor) -> None:
        """Set every chain's state (shape (n_chains, *shape)); called once before the first advance."""
        check(tuple(init.shape) == tuple(self.state.shape), "init.shape", tuple(init.shape), f"must be {tuple(self.state.shape)}")
        self.state.copy_(init)
        self.started.fill_(True)

    @torch.no_grad()
    def advance(self, transition: Callable[[Tensor], Tensor], init: Callable[[int], Tensor] | None = None) -> Tensor:
        """state ← transition(state) (started with ``init(n)`` on the first call); returns the new state."""
        if not bool(self.started):
            if init is None:
                raise RuntimeError("persistent chains used before start(): pass init")
            self.start(init(self.n_chains).to(self.state))
        self.state.copy_(transition(self.state))
        return self.state.clone()
