"""Checkpoints as a single safetensors file: tensors in the body, structure as JSON metadata.

Nothing is unpickled on load, so a checkpoint cannot execute code. Any nesting of dicts (with
str or int keys), lists, tuples, tensors, numbers, strings, booleans and None round-trips
exactly — enough for model and optimiser ``state_dict()``s, RNG states and trainer state.
Writes are atomic: a temporary file in the same directory is renamed over the target, with the
permissions of an ordinary file (0644 under the usual umask, like the run's other outputs). A
damaged file — torn bytes, an edited structure, a tensor key that is missing — is reported as one
:class:`~genzoo.errors.GenzooError`, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from genzoo.errors import GenzooError
from genzoo.files import atomic_path

_STRUCTURE_KEY = "genzoo.structure"


def _encode(obj: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = path or "."
        # clone: safetensors refuses tensors that share storage (tied weights, views)
        tensors[key] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"checkpoint keys must be str or int, got {k!r}")
            items.append([k, _encode(v, f"{path}/{k}", tensors)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and obj != obj:
            return {"__float__": "nan"}
        if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
            return {"__float__": "inf" if obj > 0 else "-inf"}
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {path!r} in a checkpoint")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {k: _decode(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
    return obj


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Atomically write ``state`` (nested dicts of tensors and plain values) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    structure = _encode(state, "", tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_STRUCTURE_KEY: json.dumps(structure)})


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (no code is executed)."""
    path = Path(path)
    if not path.is_file():
        raise GenzooError(f"checkpoint not found: {str(path)!r}")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:  # one read: tensors and metadata
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise GenzooError(f"cannot read checkpoint {str(path)!r}: {e}") from None
    if _STRUCTURE_KEY not in metadata:
        raise GenzooError(f"{str(path)!r} is a safetensors file but not a genzoo checkpoint")
    try:
        return _decode(json.loads(metadata[_STRUCTURE_KEY]), tensors)
    except (ValueError, KeyError, TypeError, AttributeError) as e:  # JSONDecodeError is a ValueError
        raise GenzooError(f"checkpoint {str(path)!r} is damaged: its structure cannot be read ({type(e).__name__}: {e})") from None


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete ``<path>.*.tmp`` left by a writer that was killed mid-write; returns what was removed.

    Call it only while holding the run's lock, so no live writer's file is taken.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(path.name + ".*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:
            pass
    return removed
