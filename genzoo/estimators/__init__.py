"""Divergence and information estimators with known answers: MMD, HSIC, total correlation,
mutual-information bounds, batch-norm entropy.

Each estimator is a plain function registered with :func:`register_estimator` so that
``genzoo list`` shows it and every model (VAEs, VFAE, InfoGAN, FactorVAE, MEG, …) shares one
implementation. Every module of this package is imported on first use: a new estimator is one
new file.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from genzoo.registry import Registry

T = TypeVar("T")

ESTIMATORS: Registry[Callable] = Registry("estimator")


def register_estimator(name: str) -> Callable[[T], T]:
    """Decorator: register an estimator function (or class) under ``name``."""

    def add(obj: T) -> T:
        return ESTIMATORS.register(name)(obj)

    return add


from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.estimators")

__all__ = ["ESTIMATORS", "register_estimator"]
