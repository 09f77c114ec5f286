"""Observation models, encoder heads and priors, all returning ``torch.distributions`` objects.

``log_prob``, ``rsample``, ``entropy`` and the KL registry (``torch.distributions.kl``) then work
everywhere. Observation models (p(x | decoder output)) are registered with
:func:`register_observation` so any decoder-based model takes ``--set observation=NAME``.
Every module of this package is imported on first use: a new observation model is one new file.
"""

from __future__ import annotations

from genzoo.registry import Registry

OBSERVATIONS: Registry[type] = Registry("observation model")


#: Class decorator: register an observation model under ``name`` (sets ``cls.name``).
register_observation = OBSERVATIONS.register_named


from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.distributions")

__all__ = ["OBSERVATIONS", "register_observation"]
