"""The small protocol every model follows, and the model registry.

A model is an ``nn.Module`` that owns its networks *and* its optimisers, so that its
``step(batch)`` can read like the algorithm box of its paper: the update schedule (critic steps,
unrolling, CD-k) lives in the model, not in the trainer. The trainer knows only:

* ``Config`` — a dataclass whose defaults reproduce the paper;
* ``step(batch) -> dict[str, Tensor]`` — one training iteration, returning detached scalars;
* ``sample(n) -> Tensor`` — n samples in data space;
* ``optimizers() -> dict[str, Optimizer]`` — checkpointed with the weights;
* ``batches_per_step`` — how many data batches one ``step`` consumes (they arrive concatenated).

Optional capabilities are declared protocols (:data:`CAPABILITIES`): a model has one by
defining the method; :func:`register_model` checks its signature, :func:`capabilities` lists
them (``genzoo list`` shows them) and the metrics use them — a metric knows models only through
capabilities. One contract test (``tests/test_contract.py``) runs every registered model through
this protocol; ``contract_overrides`` makes a model small enough for it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from genzoo.errors import GenzooError
from genzoo.registry import Registry



@dataclass(frozen=True)
class Capability:
    """An optional method with a fixed meaning: its name, required positional arguments, what it returns."""

    name: str
    args: tuple[str, ...]
    returns: str


#: The declared protocols (N examples x of the data's shape; K importance samples).
CAPABILITIES: dict[str, Capability] = {c.name: c for c in (
    Capability("log_prob", ("x",), "exact log p(x) in nats, shape (N,)"),
    Capability("log_prob_estimate", ("x",), "stochastic estimate of log p(x) (e.g. AIS): (values (N,), standard error)"),
    Capability("elbo", ("x",), "a lower bound on log p(x) (the β = 1 ELBO), shape (N,)"),
    Capability("energy", ("x",), "energy E(x) with p(x) ∝ exp(−E(x)), shape (N,)"),
    Capability("encode", ("x",), "a code (N, d) or a Distribution over codes with batch shape (N,)"),
    Capability("decode", ("z",), "data-space means (N, *shape) for codes z"),
    Capability("log_joint", ("x", "z"), "log p(x, z) for z of shape (K, N, *E), shape (K, N)"),
    Capability("proposal", ("x",), "the proposal q(z|x): a Distribution with batch shape (N,)"),
    Capability("translate", ("x", "direction"), "x mapped to the other domain ('a2b' or 'b2a')"),
)}
OPTIONAL_CAPABILITIES = tuple(CAPABILITIES)


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
    #: Config overrides that make the model small and fast for the contract test (tests/test_contract.py).
    contract_overrides: ClassVar[dict[str, Any]] = {}
    #: Whether this step's logs will be read. The trainer sets it before every step (True only on the
    #: steps that close a logging window) and averages each logged value over the steps that returned
    #: it, so a step may leave out monitors that cost real work (the RBM's reconstruction error) when
    #: False. Stays True outside the trainer.
    will_log: bool = True

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

    def check_resources(self, batch_size: int) -> None:
        """Refuse (a one-line :class:`GenzooError`) a configuration this machine cannot train in memory or
        in sensible time, estimated on the model's current device before any file is written.

        Called by ``genzoo train`` after the model is on its device and before the run directory
        exists. The default checks nothing; a model whose cost a config knob can blow up
        (IWAE's k, an RBM's enumerated states) estimates it with :mod:`genzoo.resources`.
        """

    def check_data(self, x: Tensor, y: Tensor | None = None) -> None:
        """Refuse (a one-line :class:`GenzooError`) data values this model cannot train on.

        ``genzoo train`` calls it on every training and held-out example (in chunks) before the run
        directory exists, so data the model's ``step`` or evaluation would refuse (non-binary data
        for Bernoulli units, values outside an observation model's range) is refused before anything
        is written, and never mid-run on an unlucky batch. The default applies the range check of the
        model's observation model ``self.obs`` (the check its step applies to each batch); a model with
        other constraints on its data overrides it with the same validator its ``step`` uses.
        """
        check_range = getattr(getattr(self, "obs", None), "check_range", None)
        if callable(check_range):
            check_range(x)

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
        check_capabilities(cls)
        return MODELS.register(name)(cls)

    return add


def check_capabilities(cls: type[Model]) -> None:
    """Each capability a model defines must accept the protocol's positional arguments."""
    if not hasattr(cls, "Config"):
        raise TypeError(f"model {cls.name!r} has no Config dataclass")
    for cap in CAPABILITIES.values():
        method = getattr(cls, cap.name, None)
        if method is None:
            continue
        if not callable(method):
            raise TypeError(f"model {cls.name!r}: capability {cap.name} must be a method")
        params = list(inspect.signature(method).parameters.values())[1:]  # drop self
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = [p for p in positional if p.default is p.empty]
        if len(positional) < len(cap.args) or len(required) > len(cap.args):
            raise TypeError(f"model {cls.name!r}: {cap.name}{inspect.signature(method)} does not match "
                            f"the protocol {cap.name}({', '.join(cap.args)}) -> {cap.returns}")


def capabilities(model: type[Model] | Model) -> list[str]:
    """``sample`` plus each optional capability the model implements.

    Given an instance, what that instance offers: a model may switch a capability off for a
    configuration that cannot have it by setting the attribute to ``None`` (an RBM too large to
    enumerate has no exact ``log_prob``).
    """
    return ["sample"] + [c for c in OPTIONAL_CAPABILITIES if callable(getattr(model, c, None))]


def summary(cls: type[Model]) -> str:
    return (cls.__doc__ or cls.name).strip().splitlines()[0]
