"""Data sets: synthetic mixtures with exact densities, the MNIST family, and the user's own files.

>>> ds = load("ring8", n="5000", std="0.02")     # strings from the command line are coerced
>>> ds.x.shape, ds.kind, ds.density.log_prob(ds.x[:3]).shape
(torch.Size([5000, 2]), 'points', torch.Size([3]))
>>> load("ring8", **ds.params).x.equal(ds.x)     # params rebuild the same data
True

``load(name_or_path, **params)`` accepts a registered name (see :func:`describe`) or a path to
``.npy``/``.npz``/``.csv``/``.txt`` data or a directory of PNG/JPG images (see
:mod:`genzoo.data.files`).
"""

from __future__ import annotations

import inspect
import json
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor

from genzoo.config import _coerce
from genzoo.errors import GenzooError
from genzoo.registry import Registry

if typing.TYPE_CHECKING:
    from genzoo.data.synthetic import GaussianMixture

__all__ = ["DATASETS", "Dataset", "load", "describe", "GaussianMixture"]

#: name -> builder(**params) -> Dataset. Each builder's docstring starts with a one-line description.
DATASETS: Registry[Callable[..., "Dataset"]] = Registry("dataset")

KINDS = ("points", "images")


@dataclass
class Dataset:
    """A train set ``x`` (and optional labels/test split/exact density) plus the params that rebuild it.

    ``x`` is float32: (N, D) for kind "points", (N, C, H, W) with values in [0, 1] for "images".
    ``y``/``test_y`` are int64 labels (N,). ``density`` is the exact data density for synthetic sets.
    ``params`` holds the resolved, JSON-serialisable parameters: ``load(name, **params)`` rebuilds it.
    """

    name: str
    x: Tensor
    kind: str
    y: Tensor | None = None
    test_x: Tensor | None = None
    test_y: Tensor | None = None
    density: "GaussianMixture | None" = None
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise GenzooError(f"unknown data kind {self.kind!r}; valid: {', '.join(KINDS)}")
        want = 2 if self.kind == "points" else 4
        if self.x.ndim != want:
            raise GenzooError(f"{self.kind} data must have {want} dimensions, got shape {tuple(self.x.shape)}")
        check_float32_range(self.name, self.x)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one data point, ``x.shape[1:]``."""
        return tuple(self.x.shape[1:])

    @property
    def n_classes(self) -> int:
        """1 + the largest label in y/test_y, or 0 without labels."""
        ys = [t for t in (self.y, self.test_y) if t is not None and t.numel()]
        return int(max(int(t.max()) for t in ys)) + 1 if ys else 0

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def fresh(self, n: int, generator: torch.Generator) -> Tensor:
        """n fresh data points: from ``density`` when known, else a random subset (without replacement when possible) of test_x (or x)."""
        n = int(n)
        if n < 0:
            raise GenzooError(f"invalid value n={n}: must be >= 0")
        if self.density is not None:
            return self.density.sample(n, generator)
        pool = self.test_x if self.test_x is not None and len(self.test_x) else self.x
        m = pool.shape[0]
        if n <= m:
            idx = torch.randperm(m, generator=generator)[:n]
        else:
            idx = torch.randint(m, (n,), generator=generator)
        return pool[idx]


#: Largest |x| for which squared distances over D coordinates stay finite in float32.
def float32_limit(dim: int) -> float:
    """sqrt(float32 max / (4·D)): every model and metric squares differences of data values, and a
    squared distance of two points within this bound cannot overflow (|a − b|² ≤ 4·D·max|x|²)."""
    import math

    return math.sqrt(torch.finfo(torch.float32).max / (4 * max(dim, 1)))


def check_float32_range(name: str, x: Tensor) -> None:
    """Reject data that is not finite in float32, or so large that its squares overflow float32.

    Training such data would end in a NaN "divergence" of the first step; this says what is wrong.
    """
    if not x.is_floating_point() or x.numel() == 0:
        return
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise GenzooError(f"data {name!r} has {bad} values that are NaN/Inf in float32 "
                          f"(float32 holds magnitudes up to {torch.finfo(torch.float32).max:.3g}); rescale the data")
    dim = int(x[0].numel())
    biggest = float(x.abs().max())
    if biggest > float32_limit(dim):
        raise GenzooError(f"data {name!r} has values up to {biggest:.3g}: their squares overflow float32 "
                          f"(limit {float32_limit(dim):.3g} for {dim} dimensions); rescale the data")


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params))


def call_builder(what: str, fn: Callable[..., Dataset], params: dict[str, Any], first: tuple[Any, ...] = ()) -> Dataset:
    """Call ``fn(*first, **params)`` after rejecting unknown params and coercing values to the annotated types.

    The returned dataset's ``params`` are the full resolved set (defaults filled in, values the
    builder resolved itself — e.g. ``n=None`` -> the actual size — taking precedence).
    """
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    names = [p.name for p in list(sig.parameters.values())[len(first):]]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise GenzooError(f"unknown parameter {unknown[0]!r} for {what}; valid: {', '.join(names)}")
    resolved: dict[str, Any] = {}
    for p in list(sig.parameters.values())[len(first):]:
        if p.name in params:
            resolved[p.name] = _coerce(p.name, params[p.name], hints.get(p.name, Any))
        else:
            resolved[p.name] = p.default
    ds = fn(*first, **resolved)
    ds.params = _json_params({**resolved, **ds.params})
    return ds


def _looks_like_path(s: str) -> bool:
    from genzoo.data.files import EXTENSIONS

    return os.sep in s or "/" in s or s.lower().endswith(EXTENSIONS)


def load(name_or_path: str, **params: Any) -> Dataset:
    """Load a registered data set by name, or the user's own data from a path.

    A registered name gets ``params`` passed to its builder (values may be strings, coerced via the
    builder's annotations; unknown params raise :class:`GenzooError` naming them and listing the
    valid ones). A string containing a path separator, ending in a known extension (.npy, .npz,
    .csv, .txt, .tsv) or naming an existing file/directory is loaded by :func:`genzoo.data.files.load_path`.
    """

    if not isinstance(name_or_path, (str, os.PathLike)):
        raise GenzooError(f"invalid data set {name_or_path!r}: expected a name or a path")
    s = os.fspath(name_or_path)
    if not _looks_like_path(s) and s not in DATASETS and not os.path.exists(s):
        s = {name.lower(): name for name in DATASETS}.get(s.lower(), s)  # MNIST, Ring8, … name the same sets
    if not _looks_like_path(s) and s in DATASETS:
        return call_builder(f"dataset {s!r}", DATASETS.get(s), params)
    if _looks_like_path(s) or os.path.exists(s):
        return call_builder(f"data file {s!r}", files.load_path, params, first=(s,))
    DATASETS.get(s)  # raises: unknown dataset 'foo'; did you mean …? valid: ...
    raise AssertionError  # pragma: no cover


def describe() -> list[tuple[str, str]]:
    """(name, one-line description) of every registered data set, sorted by name."""
    out = []
    for name, fn in DATASETS.items():
        doc = inspect.getdoc(fn) or ""
        out.append((name, doc.strip().splitlines()[0] if doc.strip() else ""))
    return out


# Builders register themselves on import (they import DATASETS/Dataset from this module);
# every module of this package is imported, so a new data set is one new file.
from genzoo.data import files  # noqa: E402
from genzoo.discovery import import_submodules  # noqa: E402

import_submodules("genzoo.data")
from genzoo.data.synthetic import GaussianMixture  # noqa: E402,F811
