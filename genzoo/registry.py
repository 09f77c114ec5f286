"""Name → object registries: models, objectives, datasets and benchmarks are all looked up here."""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterable, Iterator, TypeVar

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
    """A dictionary of named things whose lookup error lists every valid name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

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
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none)"
            hint = did_you_mean(name, self._items)
            raise GenzooError(f"unknown {self.kind} {name!r};{hint} valid: {valid}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __len__(self) -> int:
        return len(self._items)
