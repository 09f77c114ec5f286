"""Name → object registries: models, objectives, datasets and benchmarks are all looked up here."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from genzoo.errors import GenzooError

T = TypeVar("T")


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

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none)"
            raise GenzooError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __len__(self) -> int:
        return len(self._items)
