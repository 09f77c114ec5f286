"""MCMC and other negative samplers shared by Boltzmann machines, EBMs and DDLS.

Each sampler is a small class registered with :func:`register_sampler`; a sampler that keeps
state across calls (persistent chains, a replay buffer) keeps it in ``nn.Module`` buffers so a
checkpoint resumes it bit for bit. Samplers that follow gradients never run under ``no_grad``.
Every module of this package is imported on first use: a new sampler is one new file.

A registered class carries two class attributes shown by ``genzoo list``: its docstring's first
line, and ``applies_to`` — what it samples (``"energy E(x)"``, ``"RBM"``, ``"GAN run"``, …).
"""

from __future__ import annotations

from genzoo.registry import Registry

SAMPLERS: Registry[type] = Registry("sampler")


#: Class decorator: register a sampler under ``name`` (sets ``cls.name``).
register_sampler = SAMPLERS.register_named


from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.sampling")

__all__ = ["SAMPLERS", "register_sampler"]
