"""Files written whole or not at all (the one atomic writer), and the one reader of ``metrics.jsonl``.

A run directory, a benchmark cell and the data cache are read by other processes (a resumed run,
a report, a second job) and survive kills. So every file that must never be seen half-written —
configs, checkpoints, cell results, cached data — is written to a temporary file in the same
directory and renamed over the target (``os.replace``, atomic on POSIX and Windows): a reader
sees the old file or the new one, never a part. A writer killed mid-write leaves only
``<name>.*.tmp`` (see :func:`genzoo.train.checkpoint.remove_stale_temporaries`).

A run's ``metrics.jsonl`` is the exception: the trainer appends one JSON record per logged step
(``{"step": ..., "loss": ..., ...}``), so a kill can leave a half-written last line. Everything
that reads it back — resume, ``genzoo train``'s summary, benchmark cells, reports — goes through
:func:`read_metrics`, which skips such lines and says how many it skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


def _file_mode() -> int:
    """0666 minus the process umask: what ``open(path, "w")`` would give (mkstemp gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block succeeds.

    The parent directory is created if needed; on an exception (or a kill inside Python) the
    temporary file is removed and ``path`` is untouched. The file gets the permissions a plain
    ``open(path, "w")`` would.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new one, never half."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, obj: Any, **dumps: Any) -> None:
    """Write ``obj`` as indented JSON and a final newline, atomically (``dumps``: extra ``json.dumps`` options)."""
    write_text_atomic(path, json.dumps(obj, indent=2, **dumps) + "\n")


#: The name of a run's log of training records, one JSON object per line.
METRICS = "metrics.jsonl"


def read_metrics(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a ``metrics.jsonl`` and how many lines were unreadable (e.g. half-written by a kill)."""
    path = Path(path)
    if not path.is_file():
        return [], 0
    records, bad = [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            int(record["step"])
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        records.append(record)
    return records, bad


def last_metrics(path: str | Path) -> dict[str, Any]:
    """The latest value of every quantity in a ``metrics.jsonl`` (the losses of the last logged
    window, each evaluation at the last step it ran); what the trainer returns, also after a resume."""
    out: dict[str, Any] = {}
    for record in read_metrics(path)[0]:
        out.update({k: v for k, v in record.items() if k != "step"})
    return out


def metric_curves(path: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every numeric quantity of a ``metrics.jsonl`` as its (step, value) points, in file order."""
    out: dict[str, list[tuple[int, float]]] = {}
    for record in read_metrics(path)[0]:
        for k, v in record.items():
            if k != "step" and isinstance(v, (int, float)):
                out.setdefault(k, []).append((int(record["step"]), float(v)))
    return out
