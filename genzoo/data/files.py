"""The user's own data: .npy/.npz arrays, .csv/.txt/.tsv tables, or a directory of PNG/JPG images.

Array shapes decide the kind:

* (N,) or (N, D)                          -> points (a 1-D array is N one-dimensional points);
* (N, H, W)                               -> images with C = 1;
* (N, C, H, W) or (N, H, W, C), C ∈ {1, 3} -> images (channels-first preferred when both fit).

Images whose maximum exceeds 1 are taken as 0..255 and divided by 255; images must end up in
[0, 1]. ``.npz`` files hold the data under key ``x`` and optional integer labels under ``y``;
both are read with ``allow_pickle=False``. Text tables are numeric, comma- or
whitespace-separated, with an optional non-numeric header row that is skipped.

A directory of images (all of one size) gives images; if it holds no images but sub-directories
of images, each sub-directory is a class (labels 0.. in sorted name order). Greyscale files give
C = 1 unless some file is colour, then all are converted to RGB (C = 3).

A seeded random ``test_fraction`` (default 10 %) of the rows is held out as ``test_x``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from genzoo.config import check
from genzoo.data import Dataset
from genzoo.errors import GenzooError

__all__ = ["EXTENSIONS", "IMAGE_EXTENSIONS", "load_path", "read_array"]

EXTENSIONS = (".npy", ".npz", ".csv", ".txt", ".tsv")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _read_table(p: Path) -> np.ndarray:
    try:
        lines = [ln for ln in p.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        raise GenzooError(f"cannot read {str(p)!r}: {e}") from None
    if not lines:
        raise GenzooError(f"{str(p)!r} contains no data")
    delimiter = "," if "," in lines[0] or (len(lines) > 1 and "," in lines[1]) else None

    def numeric(line: str) -> bool:
        try:
            [float(v) for v in (line.split(delimiter) if delimiter else line.split())]
            return True
        except ValueError:
            return False

    first = 1 if not numeric(lines[0]) else 0
    if len(lines) == first:
        raise GenzooError(f"{str(p)!r} contains no data (only a header row)")
    try:
        arr = np.loadtxt(lines[first:], delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError as e:
        msg = " ".join(str(e).split())
        raise GenzooError(f"cannot parse {str(p)!r} as a numeric table: {msg}") from None
    return arr


def read_array(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read (x, y or None) from a .npy/.npz/.csv/.txt/.tsv file without any shape interpretation."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        return _read_table(p), None
    try:
        if ext == ".npy":
            with open(p, "rb") as f:  # NumPy's own message for text named .npy speaks of pickled objects
                magic = f.read(6)
            if magic != b"\x93NUMPY":
                raise GenzooError(f"{str(p)!r} is not a NumPy .npy file (it lacks the .npy header); "
                                  "save arrays with numpy.save, or name a text table .csv/.txt")
            return np.load(p, allow_pickle=False), None
        with np.load(p, allow_pickle=False) as f:
            if "x" not in f.files:
                raise GenzooError(f"{str(p)!r} has no array 'x'; it has: {', '.join(f.files) or '(none)'}")
            return f["x"], (f["y"] if "y" in f.files else None)
    except GenzooError:
        raise
    except Exception as e:  # ValueError (pickled objects), OSError, BadZipFile, ...
        msg = " ".join(str(e).split())
        raise GenzooError(f"cannot read {str(p)!r}: {msg}") from None


def _read_image_dir(p: Path) -> tuple[np.ndarray, np.ndarray | None]:
    from PIL import Image, UnidentifiedImageError

    def images_in(d: Path) -> list[Path]:
        return sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)

    files = images_in(p)
    labels: list[int] | None = None
    if not files:
        classes = sorted(d for d in p.iterdir() if d.is_dir() and images_in(d))
        if not classes:
            raise GenzooError(f"directory {str(p)!r} contains no .png/.jpg images")
        labels = []
        for i, d in enumerate(classes):
            fs = images_in(d)
            files += fs
            labels += [i] * len(fs)
    imgs = []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                imgs.append(im.copy())
        except (OSError, UnidentifiedImageError) as e:
            raise GenzooError(f"cannot read image {str(f)!r}: {e}") from None
    size = imgs[0].size
    for f, im in zip(files, imgs):
        if im.size != size:
            raise GenzooError(
                f"images differ in size: {str(f)!r} is {im.size[0]}x{im.size[1]} but {str(files[0])!r} is {size[0]}x{size[1]}"
            )
    grey = all(im.mode in ("1", "L", "LA", "I", "I;16", "F") for im in imgs)
    if grey:
        arr = np.stack([np.asarray(im.convert("L"), dtype=np.uint8) for im in imgs])  # (N, H, W)
    else:
        arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in imgs]).transpose(0, 3, 1, 2)
    return arr, (np.asarray(labels, dtype=np.int64) if labels is not None else None)


def _check_finite(path: str, x: np.ndarray) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise GenzooError(f"{path!r} has {int(bad.sum())} NaN/Inf values; first at index {first}")


def _interpret(path: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    """(N, ...) array -> float64 data in the library's layout, and its kind."""
    if x.dtype == bool:
        x = x.astype(np.uint8)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise GenzooError(f"{path!r} holds {x.dtype} data; expected numbers")
    if x.size == 0 or x.ndim == 0:
        raise GenzooError(f"{path!r} contains no data (shape {x.shape})")
    x = x.astype(np.float64)
    _check_finite(path, x)
    big = float(np.abs(x).max())
    if big > float(np.finfo(np.float32).max):
        raise GenzooError(f"{path!r} has values up to {big:.3g}, beyond float32 (max {float(np.finfo(np.float32).max):.3g}); "
                          "genzoo trains in float32: rescale the data")
    if x.ndim == 1:
        return x[:, None], "points"
    if x.ndim == 2:
        return x, "points"
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        if x.shape[1] not in (1, 3):
            if x.shape[3] in (1, 3):
                x = x.transpose(0, 3, 1, 2)
            else:
                raise GenzooError(f"{path!r} has shape {x.shape}: 4-D images need 1 or 3 channels, as (N, C, H, W) or (N, H, W, C)")
    else:
        raise GenzooError(f"{path!r} has shape {x.shape}: expected (N, D) points or (N, H, W) / (N, C, H, W) / (N, H, W, C) images")
    lo, hi = float(x.min()), float(x.max())
    if hi > 1.0:
        if hi > 255.0:
            raise GenzooError(f"{path!r} images have maximum {hi:g}: expected values in [0, 1] or [0, 255]")
        x = x / 255.0
    if lo < 0.0:
        raise GenzooError(f"{path!r} images have minimum {lo:g}: expected values in [0, 1] or [0, 255]")
    return x, "images"


def load_path(path: str | os.PathLike, n: int | None = None, seed: int = 0, test_fraction: float = 0.1) -> Dataset:
    """Load the user's data from ``path`` (file or image directory) into a :class:`Dataset`.

    A seeded permutation holds out round(test_fraction·N) rows (at least 1 when test_fraction > 0
    and N ≥ 2) as test_x/test_y; ``n`` optionally takes the first n of the remaining shuffled rows.
    The dataset's name is the absolute path, so ``load(ds.name, **ds.params)`` rebuilds it.
    """
    check(0.0 <= test_fraction < 1.0, "test_fraction", test_fraction, "must be in [0, 1)")
    p = Path(path).expanduser()
    shown = str(path)
    if not p.exists():
        raise GenzooError(f"data file not found: {shown!r}")
    if p.is_dir():
        raw, y = _read_image_dir(p)
    elif p.suffix.lower() in EXTENSIONS:
        raw, y = read_array(p)
    else:
        raise GenzooError(
            f"unsupported file extension {p.suffix or '(none)'!r} for {shown!r}; "
            f"supported: {', '.join(EXTENSIONS)}, or a directory of .png/.jpg images"
        )
    arr, kind = _interpret(shown, np.asarray(raw))
    total = arr.shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.shape != (total,):
            raise GenzooError(f"{shown!r}: labels y have shape {y.shape}, expected ({total},) to match x")
        if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)))):
            raise GenzooError(f"{shown!r}: labels y must be integers, got {y.dtype}")
        if y.min() < 0:
            raise GenzooError(f"{shown!r}: labels y must be >= 0, got {int(y.min())}")
        y = y.astype(np.int64)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(total, generator=g).numpy()
    n_test = int(round(test_fraction * total))
    if test_fraction > 0 and total >= 2:
        n_test = min(max(n_test, 1), total - 1)
    test, train = perm[:n_test], perm[n_test:]
    if n is not None:
        check(1 <= n <= len(train), "n", n, f"must be between 1 and {len(train)} (the training rows of {shown!r})")
        train = train[:n]
    xt = torch.from_numpy(arr.astype(np.float32))
    yt = torch.from_numpy(y) if y is not None else None
    ds = Dataset(
        name=str(p.resolve()),
        x=xt[train],
        kind=kind,
        y=yt[train] if yt is not None else None,
        test_x=xt[test] if n_test else None,
        test_y=yt[test] if (yt is not None and n_test) else None,
        params={"n": len(train)},
    )
    return ds
