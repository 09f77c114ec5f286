"""Divergence and information estimators with known answers: MMD, HSIC, total correlation,
mutual-information bounds, batch-norm entropy.

Each estimator is a plain function registered with :func:`register_estimator` so that
``genzoo list`` shows it and every model (VAEs, VFAE, InfoGAN, FactorVAE, MEG, …) shares one
implementation. Every module of this package is imported on first use: a new estimator is one
new file.
"""

from __future__ import annotations

from typing import Callable

from genzoo.registry import Registry

ESTIMATORS: Registry[Callable] = Registry("estimator")


#: Decorator: register an estimator function (or class) under ``name``.
register_estimator = ESTIMATORS.register


from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.estimators")

__all__ = ["ESTIMATORS", "register_estimator"]
