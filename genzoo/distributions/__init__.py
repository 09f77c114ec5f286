"""Observation models, encoder heads and priors, all returning ``torch.distributions`` objects.

``log_prob``, ``rsample``, ``entropy`` and the KL registry (``torch.distributions.kl``) then work
everywhere. Observation models (p(x | decoder output)) are registered with
:func:`register_observation` so any decoder-based model takes ``--set observation=NAME``.
Every module of this package is imported on first use: a new observation model is one new file.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from genzoo.registry import Registry

T = TypeVar("T")

OBSERVATIONS: Registry[type] = Registry("observation model")


def register_observation(name: str) -> Callable[[T], T]:
    """Class decorator: register an observation model under ``name`` (sets ``cls.name``)."""

    def add(cls: T) -> T:
        cls.name = name  # type: ignore[attr-defined]
        return OBSERVATIONS.register(name)(cls)

    return add


from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.distributions")

__all__ = ["OBSERVATIONS", "register_observation"]
