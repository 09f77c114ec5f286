"""Multi-layer perceptron."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "elu": nn.ELU, "silu": nn.SiLU}


class MLP(nn.Sequential):
    """``in_dim → [Linear → (BatchNorm) → act] × depth → Linear → out_dim``.

    ``batch_norm`` uses PyTorch's default ``eps=1e-5`` (a mistake that shipped in public code: ``BatchNorm1d(n, 0.8)`` silently
    sets eps=0.8). Inputs of any shape ``(N, ...)`` are flattened.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int = 128,
        depth: int = 2,
        activation: str = "relu",
        batch_norm: bool = False,
    ) -> None:
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_dim
        for _ in range(depth):
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(act())
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        super().__init__(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - Sequential semantics
        return super().forward(x)
