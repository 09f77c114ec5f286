"""Name → object registries: models, objectives, datasets and benchmarks are all looked up here.

A registry made with ``package=`` discovers its entries: on its first lookup it imports every
module of that package (:func:`genzoo.discovery.import_submodules`), so a new file that registers
something is found with no other edit — the same rule for every kind of part.
"""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterable, Iterator, TypeVar

from genzoo.discovery import import_submodules
from genzoo.errors import GenzooError

T = TypeVar("T")


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` did you mean 'x'?`` for the closest valid names (case-insensitive), or ``""``."""
    valid = list(valid)
    lower = {v.lower(): v for v in valid}
    key = str(name).lower()
    close = difflib.get_close_matches(key, list(lower), n=2, cutoff=0.6)
    if not close and len(key) >= 2:  # an abbreviation: "bf16" for "bf16-mixed"
        close = [v for v in lower if v.startswith(key)][:2]
    if not close:
        return ""
    return " did you mean " + " or ".join(repr(lower[c]) for c in close) + "?"


class Registry(Generic[T]):
    """A dictionary of named things whose lookup error lists every valid name.

    ``package`` (with ``skip``, module names left out): the package whose modules register the
    entries, imported on the first lookup (``get``, ``in``, iteration, ``items``, ``len``).
    """

    def __init__(self, kind: str, package: str | None = None, skip: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.package, self.skip = package, skip
        self._discovered = package is None
        self._items: dict[str, T] = {}

    def discover(self) -> None:
        """Import the registry's package once (a no-op without one, or after the first call)."""
        if not self._discovered:
            self._discovered = True  # first: a module being imported may itself look names up
            import_submodules(self.package, self.skip)

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return add

    def register_named(self, name: str) -> Callable[[T], T]:
        """Like :meth:`register`, and sets ``obj.name = name`` (classes that know their registered name)."""

        def add(obj: T) -> T:
            obj.name = name  # type: ignore[attr-defined]
            return self.register(name)(obj)

        return add

    def get(self, name: str) -> T:
        self.discover()
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none)"
            hint = did_you_mean(name, self._items)
            raise GenzooError(f"unknown {self.kind} {name!r};{hint} valid: {valid}") from None

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self.discover()
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        self.discover()
        return sorted(self._items.items())

    def __len__(self) -> int:
        self.discover()
        return len(self._items)
