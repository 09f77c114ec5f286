"""The small protocol every model follows, and the model registry.

A model is an ``nn.Module`` that owns its networks *and* its optimisers, so that its
``step(batch)`` can read like the algorithm box of its paper: the update schedule (critic steps,
unrolling, CD-k) lives in the model, not in the trainer. The trainer knows only:

* ``Config`` — a dataclass whose defaults reproduce the paper;
* ``step(batch) -> dict[str, Tensor]`` — one training iteration, returning detached scalars;
* ``sample(n) -> Tensor`` — n samples in data space;
* ``optimizers() -> dict[str, Optimizer]`` — checkpointed with the weights;
* ``batches_per_step`` — how many data batches one ``step`` consumes (they arrive concatenated).

Optional capabilities (``log_prob``, ``elbo``, ``energy``, ``encode``, ``decode``,
``translate``) are detected by :func:`capabilities` and used by the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.registry import Registry

OPTIONAL_CAPABILITIES = ("log_prob", "elbo", "energy", "encode", "decode", "translate")


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its data to build its networks."""

    kind: str  # "points" | "images"
    shape: tuple[int, ...]  # one sample's shape: (D,) or (C, H, W)
    n_classes: int = 0  # 0 when unlabelled

    @classmethod
    def of(cls, dataset: Any) -> "DataSpec":
        n_classes = int(dataset.y.max().item()) + 1 if getattr(dataset, "y", None) is not None else 0
        return cls(dataset.kind, tuple(int(s) for s in dataset.x.shape[1:]), n_classes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataSpec":
        return cls(d["kind"], tuple(d["shape"]), int(d.get("n_classes", 0)))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "n_classes": self.n_classes}

    @property
    def dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


class Model(nn.Module):
    """Base class; subclasses set ``Config`` and implement ``step`` and ``sample``."""

    name: ClassVar[str] = ""
    Config: ClassVar[type]
    #: Whether step() wants (x, y) batches instead of x alone.
    uses_labels: ClassVar[bool] = False
    #: Data kinds this model can be trained on.
    supports: ClassVar[tuple[str, ...]] = ("points", "images")

    def __init__(self, config: Any, data: DataSpec) -> None:
        super().__init__()
        if data.kind not in self.supports:
            raise GenzooError(f"model {self.name!r} does not support {data.kind} data; it supports {', '.join(self.supports)}")
        if self.uses_labels and data.n_classes == 0:
            raise GenzooError(f"model {self.name!r} needs labelled data")
        self.config = config
        self.data = data

    @property
    def batches_per_step(self) -> int:
        return 1

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def step(self, batch: Tensor | tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int) -> Tensor:
        raise NotImplementedError


MODELS: Registry[type[Model]] = Registry("model")


def register_model(name: str):
    """Class decorator: register a :class:`Model` subclass under ``name``."""

    def add(cls: type[Model]) -> type[Model]:
        cls.name = name
        return MODELS.register(name)(cls)

    return add


def capabilities(model: type[Model] | Model) -> list[str]:
    """``sample`` plus each optional capability the model implements."""
    cls = model if isinstance(model, type) else type(model)
    return ["sample"] + [c for c in OPTIONAL_CAPABILITIES if callable(getattr(cls, c, None))]


def summary(cls: type[Model]) -> str:
    return (cls.__doc__ or cls.name).strip().splitlines()[0]
