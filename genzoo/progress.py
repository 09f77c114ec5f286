"""Progress bars for evaluation steps that can take more than a few seconds (AIS, IW likelihoods, FID features, …).

Bars go to stderr through tqdm and show only where a command asked for them (:func:`shown`, which
``genzoo eval`` uses unless ``--no-progress`` or the run's ``train.progress=false``) *and* stderr
is a terminal (tqdm's ``disable=None``), like the trainer's bar. Off by default: the library's
other callers (the trainer's sample steps under its own bar, suite workers writing logs) would
get bars interleaved with theirs.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator

_SHOWN: ContextVar[bool] = ContextVar("genzoo_progress", default=False)


@contextmanager
def shown(flag: bool = True) -> Iterator[None]:
    """Within the block, :func:`bar` draws bars (on a terminal) when ``flag`` is true."""
    token = _SHOWN.set(flag)
    try:
        yield
    finally:
        _SHOWN.reset(token)


def enabled() -> bool:
    """Whether bars were asked for here (they still hide when stderr is not a terminal)."""
    return _SHOWN.get()


def bar(iterable: Iterable[Any] | None = None, *, desc: str, total: int | None = None, unit: str = "it",
        leave: bool = False, file: Any = None) -> Any:
    """A tqdm bar on stderr, disabled unless :func:`shown` and a terminal; ``leave=False``: it vanishes when done."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, file=file or sys.stderr,
                disable=None if _SHOWN.get() else True, dynamic_ncols=True)
