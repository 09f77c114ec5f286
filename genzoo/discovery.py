"""Automatic discovery: every module of a package is imported once, so one new file is one new registration."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_submodules(package: str, skip: tuple[str, ...] = ()) -> list[ModuleType]:
    """Import every direct submodule of ``package`` (not starting with ``_``) except ``skip``; returns them."""
    pkg = importlib.import_module(package)
    modules = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in skip:
            continue
        modules.append(importlib.import_module(f"{package}.{info.name}"))
    return modules
