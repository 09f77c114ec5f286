"""Typed, validated configs built from dataclasses.

Every model and the trainer declare a ``@dataclass`` config whose defaults reproduce the paper.
Values arrive from TOML files and ``--set key=value`` strings; :func:`build` converts each to the
field's declared type and rejects unknown keys and ill-typed values with a message naming them.
Range checks live in each config's ``__post_init__`` using :func:`check`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

from genzoo.errors import GenzooError
from genzoo.registry import did_you_mean

C = TypeVar("C")


def check(condition: bool, name: str, value: Any, requirement: str) -> None:
    """Raise a :class:`GenzooError` naming ``name=value`` unless ``condition`` holds."""
    if not condition:
        raise GenzooError(f"invalid value {name}={value!r}: {requirement}")


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _coerce(name: str, value: Any, tp: Any) -> Any:
    """Convert ``value`` (possibly a string from the command line) to type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except GenzooError:
                pass
        raise GenzooError(f"invalid value {name}={value!r}: expected {tp}")
    if origin is typing.Literal:
        if value in args:
            return value
        if not isinstance(value, str) and str(value) in args:  # TOML's precision = 32 for "32"
            return str(value)
        hint = did_you_mean(str(value), map(str, args))
        raise GenzooError(f"invalid value {name}={value!r};{hint} valid: {', '.join(map(str, args))}")
    if origin in (tuple, list):
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text if text.startswith("[") else f"[{text}]")
            except json.JSONDecodeError:
                raise GenzooError(f"invalid value {name}={value!r}: expected a list like 1,2,3") from None
        if not isinstance(value, (list, tuple)):
            raise GenzooError(f"invalid value {name}={value!r}: expected a list")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise GenzooError(f"invalid value {name}={value!r}: expected {len(args)} items")
            return tuple(_coerce(name, v, a) for v, a in zip(value, args))
        inner = args[0] if args else Any
        items = [_coerce(name, v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise GenzooError(f"invalid value {name}={value!r}: expected true or false")
    if tp is int:
        if isinstance(value, bool):
            raise GenzooError(f"invalid value {name}={value!r}: expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                f = float(value)
            except ValueError:
                raise GenzooError(f"invalid value {name}={value!r}: expected an integer") from None
            if f.is_integer():
                return int(f)
        raise GenzooError(f"invalid value {name}={value!r}: expected an integer")
    if tp is float:
        if isinstance(value, bool):
            raise GenzooError(f"invalid value {name}={value!r}: expected a number")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise GenzooError(f"invalid value {name}={value!r}: expected a number") from None
        if not math.isfinite(f):
            raise GenzooError(f"invalid value {name}={value!r}: must be finite")
        return f
    if tp is str:
        if not isinstance(value, str):
            raise GenzooError(f"invalid value {name}={value!r}: expected a string")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise GenzooError(f"invalid value {name}={value!r}: expected a table")
        return build(tp, value, prefix=f"{name}.")
    return value


def build(cls: type[C], values: Mapping[str, Any] | None = None, prefix: str = "") -> C:
    """Instantiate config dataclass ``cls`` from ``values``, coercing and validating each one."""
    values = dict(values or {})
    types = _field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        hint = did_you_mean(prefix + unknown[0], [prefix + k for k in types])
        raise GenzooError(
            f"unknown config key {prefix + unknown[0]!r};{hint} valid: {', '.join(prefix + k for k in types)}"
        )
    kwargs = {k: _coerce(prefix + k, v, types[k]) for k, v in values.items()}
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """Turn ``["a.b=1", "c=x"]`` into ``{"a.b": "1", "c": "x"}``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise GenzooError(f"invalid --set {pair!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise GenzooError(f"config file not found: {str(p)!r}")
    try:
        return tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise GenzooError(f"config file {str(p)!r} is not valid TOML: {e}") from None
