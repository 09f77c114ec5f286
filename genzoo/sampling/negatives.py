"""Negative samplers: where an energy-based model's negatives come from.

Contrastive divergence pushes the energy of data down and the energy of *negatives* up,

    ∇_θ E_data[−log p_θ(x)] = E_data[∇_θ E_θ(x)] − E_{x⁻~p_θ}[∇_θ E_θ(x⁻)],

and the sampler that supplies x⁻ is the only difference between an EBM trained with Langevin
chains (Nijkamp et al. 2019; Du & Mordatch 2019), one trained with a generator (Kim & Bengio
2016; Kumar et al. 2019) and, read the other way, a GAN with the −log D trick. A negative
sampler is a registered sampler (:data:`genzoo.sampling.SAMPLERS`) that subclasses
:class:`NegativeSampler`; ``genzoo train ebm --set negatives=NAME`` accepts any of them, and
``--set negatives.OPTION=value`` sets a field of its ``Config``. A new file in this package with
one such class is a new kind of negatives, with no other edit.

A negative sampler sees only what :class:`EnergyTarget` gives it (the energy E_θ, the model's
noise distribution for chain starts, the data's shape and kind, the energy's optimiser
settings), never the model class.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar

import torch
from torch import Tensor, nn

from genzoo import config as cfg
from genzoo.errors import GenzooError
from genzoo.registry import did_you_mean
from genzoo.sampling import SAMPLERS


@dataclass
class EnergyTarget:
    """What a negative sampler may use of the model it serves (not registered as a submodule of the sampler)."""

    energy: nn.Module  # E_θ: (N, ...) → (N,); p_θ(x) ∝ exp(−E_θ(x))
    noise: Callable[[int], Tensor]  # the model's noise distribution: chain starts in data space
    shape: tuple[int, ...]  # one example's shape
    kind: str  # "points" or "images": options left None resolve by it
    lr: float  # the energy's optimiser settings: the defaults of a sampler's own optimiser
    betas: tuple[float, float]


class NegativeSampler(nn.Module):
    """Base of the negative samplers: ``forward(n)`` gives x⁻ for one energy update.

    State that must survive a checkpoint (a replay buffer, a generator and its optimiser) lives in
    ``nn.Module`` buffers and parameters, and in :meth:`optimizers`.
    """

    #: the dataclass of this sampler's options (``--set negatives.OPTION=value``)
    Config: ClassVar[type]
    #: small options that make it cheap enough for the contract test (a few seconds on a CPU)
    contract_options: ClassVar[dict[str, Any]] = {}
    #: the one-line role shown by ``genzoo list``
    applies_to = "an energy E(x): ebm --set negatives=NAME"

    def __init__(self, config: Any, target: EnergyTarget) -> None:
        super().__init__()
        self.config, self.target = config, target

    @staticmethod
    def resolve(config: Any, target: EnergyTarget) -> None:
        """Fill the options left ``None`` in place (by data kind, or from the energy's optimiser), so the saved config states what ran."""

    def forward(self, n: int) -> Tensor:
        """n negatives x⁻ for one energy update, detached (may advance the sampler's own state)."""
        raise NotImplementedError

    def sample(self, n: int) -> Tensor:
        """n draws for ``Model.sample``: the model's samples, without writing the sampler's state."""
        raise NotImplementedError

    def update(self, n: int) -> dict[str, Tensor]:
        """The sampler's own learning step after the energy's (a generator's); logs to merge."""
        return {}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}


def negative_samplers() -> dict[str, type[NegativeSampler]]:
    """The registered samplers that serve as an EBM's negatives, by name (``genzoo list`` marks them)."""
    return {name: cls for name, cls in SAMPLERS.items() if isinstance(cls, type) and issubclass(cls, NegativeSampler)}


def negative_sampler(name: str) -> type[NegativeSampler]:
    found = negative_samplers()
    if name not in found:
        raise GenzooError(f"invalid value negatives={name!r};{did_you_mean(name, found)} valid: {', '.join(found)}")
    return found[name]


def negatives_config(part: cfg.Part, prefix: str = "negatives.") -> tuple[type[NegativeSampler], Any]:
    """(sampler class, its ``Config`` built from the part's options): a bad option fails here, in one line naming it."""
    cls = negative_sampler(part.name)
    try:
        return cls, cfg.build(cls.Config, part.options, prefix=prefix)
    except GenzooError as e:  # a range check inside the sampler's config names the bare field: say whose it is
        text = str(e)
        if text.startswith("invalid value ") and not text.startswith("invalid value " + prefix):
            text = text.replace("invalid value ", "invalid value " + prefix, 1)
        raise GenzooError(text) from None


def as_part(name: str, config: Any) -> cfg.Part:
    """The part written to ``config.json``: the sampler's name and every option's value."""
    return cfg.Part(name=name, **{f.name: getattr(config, f.name) for f in fields(config)})


def checked_part(part: cfg.Part) -> cfg.Part:
    """``part`` with its options checked and typed, every option of the sampler listed (for a model config)."""
    return as_part(part.name, negatives_config(part)[1])


def make_negatives(part: cfg.Part, target: EnergyTarget) -> tuple[NegativeSampler, cfg.Part]:
    """The sampler ``part`` names, built for ``target`` with its options resolved; and the resolved part."""
    cls, config = negatives_config(part)
    cls.resolve(config, target)
    return cls(config, target), as_part(part.name, config)
