"""Typed, validated configs built from dataclasses.

Every model and the trainer declare a ``@dataclass`` config whose defaults reproduce the paper.
Values arrive from TOML files and ``--set key=value`` strings; :func:`build` converts each to the
field's declared type and rejects unknown keys and ill-typed values with a message naming them.

Range rules are declared beside the fields, in the spirit of ``torch.distributions.constraints``::

    @dataclass
    class VAEConfig(Config):
        lr: float = option(1e-3, positive, "Adam learning rate")

and checked in one place, :meth:`Config.__post_init__`, when a config is built; ``None`` (a value
resolved later by data kind) is never checked. A subclass that redeclares a field only to change
its default keeps the parent's constraint and meaning. Rules that relate several fields
(``a ≠ b``) or that forbid an inherited option stay hand-written in a ``__post_init__`` that calls
``super().__post_init__()`` first, using :func:`check`. ``genzoo list MODEL`` prints every option
with its default, constraint and meaning (:func:`describe`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from genzoo.errors import GenzooError
from genzoo.registry import did_you_mean

C = TypeVar("C")


def check(condition: bool, name: str, value: Any, requirement: str) -> None:
    """Raise a :class:`GenzooError` naming ``name=value`` unless ``condition`` holds."""
    if not condition:
        raise GenzooError(f"invalid value {name}={value!r}: {requirement}")


class Constraint:
    """A rule a config value must obey, with the words that state it (in errors and in ``genzoo list MODEL``)."""

    def __init__(self, holds: Callable[[Any], bool], description: str | Callable[[], str]) -> None:
        self.holds = holds
        self._description = description  # a callable for rules whose words change (a registry's names)

    @property
    def description(self) -> str:
        """"must be > 0": the error reads "invalid value lr=-1.0: must be > 0"."""
        return self._description() if callable(self._description) else self._description

    def check(self, name: str, value: Any) -> None:
        check(self.holds(value), name, value, self.description)

    def saying(self, description: str) -> Constraint:
        """The same rule, stated in other words (a unit, what ``none`` means)."""
        return Constraint(self.holds, description)

    @property
    def brief(self) -> str:
        """The rule for a table: "> 0", "in [0, 1)", "one of a, b"."""
        text = self.description.removeprefix("must be ")
        return "one of " + text.removeprefix("valid: ") if text.startswith("valid: ") else text

    def __repr__(self) -> str:
        return f"Constraint({self.description!r})"


def at_least(bound: float) -> Constraint:
    return Constraint(lambda v: v >= bound, f"must be ≥ {bound}")


def integer_at_least(bound: int) -> Constraint:
    """An ``int`` instance (not a float that compares like one) ≥ ``bound``."""
    return Constraint(lambda v: isinstance(v, int) and v >= bound, f"must be an integer ≥ {bound}")


def at_most(bound: float) -> Constraint:
    return Constraint(lambda v: v <= bound, f"must be ≤ {bound}")


def integer_interval(low: int, high: int) -> Constraint:
    return Constraint(lambda v: low <= v <= high, f"must be in {low}..{high}")


def one_of(*choices: Any) -> Constraint:
    text = f"must be {choices[0]} or {choices[1]}" if len(choices) == 2 else f"valid: {', '.join(map(str, choices))}"
    return Constraint(lambda v: v in choices, text)


class _Registered(Constraint):
    """A name in a registry (looked up when checked, so names registered later count)."""

    def __init__(self, registry: Any, also: tuple[str, ...]) -> None:
        names = lambda: ", ".join(registry)  # noqa: E731
        words = (lambda: f"must be {' or '.join(also)} or one of {names()}") if also else (lambda: f"valid: {names()}")
        super().__init__(lambda v: v in also or v in registry, words)
        self.registry, self.also = registry, also

    def check(self, name: str, value: Any) -> None:
        if not self.also:
            self.registry.get(value)  # the registry's own error: "unknown objective 'x'; did you mean …"
        super().check(name, value)

    @property
    def brief(self) -> str:
        return " or ".join([*self.also, f"a registered {self.registry.kind}"])


def registered(registry: Any, *also: str) -> Constraint:
    """A registered name (or one of ``also``, e.g. "auto"); the error lists the valid names."""
    return _Registered(registry, also)


positive = Constraint(lambda v: v > 0 and v < math.inf, "must be > 0")
nonnegative = at_least(0)
unit_interval = Constraint(lambda v: 0 <= v <= 1, "must be in [0, 1]")
half_open_unit_interval = Constraint(lambda v: 0 <= v < 1, "must be in [0, 1)")
open_unit_interval = Constraint(lambda v: 0 < v < 1, "must be in (0, 1)")


@dataclasses.dataclass(frozen=True)
class Option:
    """What a field declares besides its type and default: its rule and its one-line meaning."""

    constraint: Constraint | None
    help: str
    optional: bool = False  # the type admits None ("resolved later"), which is then not checked


def option(default: Any, constraint: Constraint | None = None, help: str = "") -> Any:
    """A config field with a ``constraint`` checked when the config is built and a one-line ``help``."""
    meta = {"genzoo": Option(constraint, help)}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: copy.copy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@functools.cache
def options(cls: type) -> dict[str, Option]:
    """Each field's :class:`Option`; a field redeclared without one (a new default) keeps its parent's."""
    out: dict[str, Option] = {}
    for name, tp in _field_types(cls).items():
        found = Option(None, "")
        for k in cls.__mro__:
            own = k.__dict__.get("__dataclass_fields__", {}).get(name)
            if own is not None and "genzoo" in own.metadata:
                found = own.metadata["genzoo"]
                break
        out[name] = dataclasses.replace(found, optional=type(None) in typing.get_args(tp))
    return out


@dataclasses.dataclass
class Config:
    """Base of the model configs: every field's declared constraint is checked here, once."""

    def __post_init__(self) -> None:
        for name, opt in options(type(self)).items():
            value = getattr(self, name)
            if opt.constraint is not None and not (value is None and opt.optional):
                opt.constraint.check(name, value)


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " | ".join(map(str, args))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join("none" if a is type(None) else _type_name(a) for a in args)
    if origin in (tuple, list):
        return f"list of {_type_name(args[0])}" if args else "list"
    return getattr(tp, "__name__", str(tp))


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):  # a named part with options: "generator (entropy=batchnorm)"
        rest = ", ".join(f"{k}={_shown(v)}" for k, v in value.items() if k != "name")
        return f"{value.get('name', '')}{f' ({rest})' if rest else ''}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(_shown, value))
    return str(value)


def describe(cls: type) -> list[tuple[str, str, str, str, str]]:
    """(name, type, default, constraint, meaning) of every option of config class ``cls``."""
    types = _field_types(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.name not in types:
            continue
        opt = options(cls)[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append((f.name, _type_name(types[f.name]), _shown(default),
                     opt.constraint.brief if opt.constraint else "", opt.help))
    return rows


def options_table(cls: type) -> str:
    """:func:`describe` as an aligned plain-text table (``genzoo list MODEL``)."""
    rows = [("option", "type", "default", "constraint", "meaning"), *describe(cls)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows)


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


class Part(dict):
    """A registered part chosen by name, with that part's own options: an EBM's ``negatives``.

    A dict ``{"name": NAME, OPTION: value, ...}`` (so ``config.json`` shows it flat). Written
    ``--set negatives=replay --set negatives.steps=30``, or in TOML ``negatives = "replay"`` /
    ``[model.negatives]`` with ``name = "replay"``. Options given without a name refine the
    default part; a new name starts from that part's own defaults. The options are checked by
    whoever owns the registry (the model's config), not here.
    """

    @property
    def name(self) -> str:
        return self["name"]

    @property
    def options(self) -> dict[str, Any]:
        return {k: v for k, v in self.items() if k != "name"}

    @classmethod
    def coerce(cls, name: str, value: Any, default: Any = None) -> "Part":
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, Mapping) or not isinstance(value.get("name", ""), str):
            raise GenzooError(f"invalid value {name}={value!r}: expected a name, or a table with a name and options")
        base = dict(default) if isinstance(default, Mapping) else {}
        if "name" in value and value["name"] != base.get("name"):
            base = {}  # another part: the default's options belong to the default part
        part = cls({**base, **value})
        if "name" not in part:
            raise GenzooError(f"invalid value {name}={dict(value)!r}: options need a name ({name}=NAME)")
        return part


def _nest(values: Mapping[str, Any], types: Mapping[str, Any]) -> dict[str, Any]:
    """``{"g": "x", "g.a": 1}`` → ``{"g": {"name": "x", "a": 1}}``: ``group.key`` sets a key of a nested table or part."""
    out: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if dot and head in types:
            nested.setdefault(head, {})[rest] = value
        else:
            out[key] = value
    for head, table in nested.items():
        base = out.get(head)
        out[head] = {**({"name": base} if isinstance(base, str) else dict(base or {})), **table}
    return out


def build(cls: type[C], values: Mapping[str, Any] | None = None, prefix: str = "") -> C:
    """Instantiate config dataclass ``cls`` from ``values``, coercing and validating each one."""
    types = _field_types(cls)
    values = _nest(values or {}, types)
    unknown = sorted(set(values) - set(types))
    if unknown:
        hint = did_you_mean(prefix + unknown[0], [prefix + k for k in types])
        raise GenzooError(
            f"unknown config key {prefix + unknown[0]!r};{hint} valid: {', '.join(prefix + k for k in types)}"
        )
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                for f in dataclasses.fields(cls) if types.get(f.name) is Part}  # type: ignore[misc]
    kwargs = {k: Part.coerce(prefix + k, v, defaults[k]) if k in defaults else _coerce(prefix + k, v, types[k])
              for k, v in values.items()}
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
