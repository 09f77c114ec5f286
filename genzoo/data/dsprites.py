"""dSprites-like images rendered procedurally, with the real factor grid and a ground-truth API.

dSprites (Matthey et al. 2017) is the Cartesian product of five generative factors, each image a
64×64 binary sprite. genzoo renders the same grid offline (no download):

=============  =====  ====================================================================
factor         size   values (as in the original ``latents_values``)
=============  =====  ====================================================================
shape          3      1 = square, 2 = ellipse, 3 = heart
scale          6      linspace(0.5, 1, 6)
orientation    40     linspace(0, 2π, 40) radians — **both 0 and 2π are on the grid**
pos_x          32     linspace(0, 1, 32)
pos_y          32     linspace(0, 1, 32)
=============  =====  ====================================================================

3·6·40·32·32 = 737 280 images (the original's constant ``color`` factor of size 1 is dropped, as
disentanglement_lib does). Factor *indices* (N, 5) int64 are the ground truth every metric uses.

**Orientation 0 vs 2π.** The original grid's first and last orientations (index 0 and 39) are the
same rotation, so those images are identical; genzoo keeps the grid exactly as published (40
values, 737 280 images, index 39 renders bit-identically to index 0) so that counts and metrics
match the original's conventions. The smaller CPU grids below use K orientations 2πk/K,
k = 0..K−1, with no duplicate. (Squares are also 4-fold and ellipses 2-fold symmetric, as in the
original: orientation is only partly identifiable from the image.)

**Rendering.** Pixel (i, j) of an S×S image is on iff its centre ((j + ½)/S, (i + ½)/S) lies inside
the sprite; x runs along columns (left→right) and y along rows (top→bottom). The sprite's centre
is (0.2 + 0.6·pos_x, 0.2 + 0.6·pos_y) in unit image coordinates and its outer radius is
r = 0.156·scale (10 pixels at 64×64, scale 1), so every sprite at every position and rotation
stays inside the frame. In the sprite's own frame u = Rot(−θ)(p − c)/r:

* square: max(|u₁|, |u₂|) ≤ 0.7 (half-side 0.7r, corners at 0.99r);
* ellipse: u₁² + (u₂/0.5)² ≤ 1 (semi-axes r and r/2);
* heart: (v₁² + v₂² − 1)³ − v₁² v₂³ ≤ 0 with v = (1.25·u₁, 0.12 − 1.25·u₂) (the classic heart
  curve, tip down, centred and scaled into the unit disc).

These shapes are genzoo's drawings, not the original bitmaps: numbers measured here are for
"dSprites-like" data and are comparable to published dSprites numbers only in kind.

Data sets (``genzoo.data.load``):

* ``dsprites`` — the full grid at 64×64; ``n`` training + ``n_test`` test images (default
  20 000 + 2 000; all 737 280 would take 12 GB as float32) drawn uniformly without replacement from
  the grid; ``ground_truth`` renders any other grid point on demand. With ``path=`` pointing at the
  original ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` the real images are used instead
  (read with ``allow_pickle=False``: only ``imgs`` and ``latents_classes``).
* ``dsprites_small`` — the CPU variant: 3 shapes × 3 scales (0.5, 0.75, 1) × 8 orientations
  (2πk/8) × 8 × 8 positions (linspace(0, 1, 8)) at 32×32 = **4 608 images**, every image once
  (shuffled with ``seed``), 10 % held out as the test split.

Every data set here is a :class:`FactorDataset`: ``factors`` (N, 5) for ``x``, ``test_factors``
and ``ground_truth`` (a :class:`Sprites`) with ``factor_names``, ``factor_sizes``,
``sample_factors(n, rng)`` and ``observations(factors)``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genzoo.config import check
from genzoo.data import DATASETS, Dataset
from genzoo.errors import GenzooError
from genzoo import resources

__all__ = ["FACTOR_NAMES", "SHAPES", "Sprites", "FactorDataset", "dsprites_grid", "small_grid", "load_npz"]

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
SHAPES = ("square", "ellipse", "heart")
#: Outer radius of a scale-1 sprite as a fraction of the image side (10 px at 64×64).
RADIUS = 0.156
NPZ_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"


def _inside(shape: int, u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    if shape == 0:  # square
        return np.maximum(np.abs(u1), np.abs(u2)) <= 0.7
    if shape == 1:  # ellipse
        return u1**2 + (u2 / 0.5) ** 2 <= 1.0
    v1, v2 = 1.25 * u1, -1.25 * u2 + 0.12  # heart: y grows upward in the curve, downward in images
    return (v1**2 + v2**2 - 1) ** 3 - v1**2 * v2**3 <= 0


@dataclass(frozen=True)
class Sprites:
    """A dSprites factor grid and its renderer (or, with ``images``, a lookup table of real images).

    ``values[f]`` holds the real value of every index of factor f; images are ``size``×``size``.
    """

    scales: tuple[float, ...]
    orientations: tuple[float, ...]
    positions: tuple[float, ...]
    size: int = 64
    images: np.ndarray | None = field(default=None, repr=False, compare=False)  # (N, S, S) uint8 in grid order

    factor_names: tuple[str, ...] = FACTOR_NAMES

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return (len(SHAPES), len(self.scales), len(self.orientations), len(self.positions), len(self.positions))

    @property
    def n_images(self) -> int:
        return int(np.prod(self.factor_sizes))

    @property
    def values(self) -> tuple[np.ndarray, ...]:
        pos = np.asarray(self.positions)
        return (np.arange(1, 4, dtype=np.float64), np.asarray(self.scales), np.asarray(self.orientations), pos, pos)

    def _check(self, factors: Any) -> np.ndarray:
        f = np.asarray(factors.cpu() if isinstance(factors, Tensor) else factors)
        if f.ndim != 2 or f.shape[1] != 5:
            raise GenzooError(f"factors must have shape (N, 5) ({', '.join(FACTOR_NAMES)}), got {f.shape}")
        f = f.astype(np.int64)
        sizes = np.asarray(self.factor_sizes)
        bad = (f < 0) | (f >= sizes)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise GenzooError(f"factor {FACTOR_NAMES[col]}={f[row, col]} out of range 0..{sizes[col] - 1}")
        return f

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n factor-index rows (n, 5), each factor uniform and independent."""
        return np.stack([rng.integers(0, s, n) for s in self.factor_sizes], 1).astype(np.int64)

    def all_factors(self) -> np.ndarray:
        """Every grid point (n_images, 5) in index order (pos_y fastest, as the original file)."""
        grids = np.meshgrid(*[np.arange(s) for s in self.factor_sizes], indexing="ij")
        return np.stack([g.reshape(-1) for g in grids], 1).astype(np.int64)

    def index(self, factors: Any) -> np.ndarray:
        """Flat index of each factor row in the grid (the row number in the original file)."""
        f = self._check(factors)
        return np.ravel_multi_index(tuple(f.T), self.factor_sizes).astype(np.int64)

    def observations(self, factors: Any) -> Tensor:
        """Images (N, 1, S, S) float32 in {0, 1} for factor indices (N, 5)."""
        f = self._check(factors)
        if self.images is not None:
            return torch.from_numpy(self.images[self.index(f)].astype(np.float32)).unsqueeze(1)
        out = np.zeros((len(f), self.size, self.size), dtype=np.float32)
        c = (np.arange(self.size) + 0.5) / self.size
        px, py = c[None, None, :], c[None, :, None]  # (1, 1, S) columns, (1, S, 1) rows
        scale, theta, pos = np.asarray(self.scales), np.asarray(self.orientations), np.asarray(self.positions)
        for s in range(len(SHAPES)):
            rows = np.nonzero(f[:, 0] == s)[0]
            for chunk in np.array_split(rows, max(1, len(rows) // 2048)):
                if not len(chunk):
                    continue
                g = f[chunk]
                r = (RADIUS * scale[g[:, 1]])[:, None, None]
                cos, sin = np.cos(theta[g[:, 2]])[:, None, None], np.sin(theta[g[:, 2]])[:, None, None]
                dx = px - (0.2 + 0.6 * pos[g[:, 3]])[:, None, None]
                dy = py - (0.2 + 0.6 * pos[g[:, 4]])[:, None, None]
                # u = Rot(−θ)(p − c)/r  (counter-clockwise rotation by θ in image coordinates)
                u1 = (cos * dx + sin * dy) / r
                u2 = (-sin * dx + cos * dy) / r
                out[chunk] = _inside(s, u1, u2)
        return torch.from_numpy(out).unsqueeze(1)


def dsprites_grid(size: int = 64) -> Sprites:
    """The original dSprites grid: 6 scales, 40 orientations linspace(0, 2π, 40) (0 and 2π both), 32×32 positions."""
    return Sprites(tuple(np.linspace(0.5, 1.0, 6)), tuple(np.linspace(0.0, 2 * math.pi, 40)), tuple(np.linspace(0.0, 1.0, 32)), size)


def small_grid(scales: int = 3, orientations: int = 8, positions: int = 8, size: int = 32) -> Sprites:
    """A coarser grid for CPU work: scales linspace(0.5, 1), orientations 2πk/K (no duplicate), positions linspace(0, 1)."""
    theta = 2 * math.pi * np.arange(orientations) / orientations
    return Sprites(tuple(np.linspace(0.5, 1.0, scales)), tuple(theta), tuple(np.linspace(0.0, 1.0, positions)), size)


def load_npz(path: str | os.PathLike) -> Sprites:
    """The original dSprites file as a lookup-table :class:`Sprites` (checks shapes and the factor order)."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise GenzooError(f"dSprites file not found: {p!r} (expected the original {NPZ_NAME})")
    try:
        with np.load(p, allow_pickle=False) as z:
            imgs, classes = z["imgs"], z["latents_classes"]
    except (KeyError, ValueError, OSError) as e:
        raise GenzooError(f"cannot read dSprites arrays imgs/latents_classes from {p!r}: {e}") from None
    grid = dsprites_grid()
    if imgs.shape != (grid.n_images, 64, 64) or classes.shape != (grid.n_images, 6):
        raise GenzooError(f"{p!r} is not the dSprites grid: imgs {imgs.shape}, latents_classes {classes.shape}")
    if not np.array_equal(classes[:, 1:], grid.all_factors()):
        raise GenzooError(f"{p!r}: latents_classes are not in the expected grid order")
    return Sprites(grid.scales, grid.orientations, grid.positions, 64, images=imgs)


@dataclass
class FactorDataset(Dataset):
    """A :class:`Dataset` whose images have known generative factors.

    ``factors``/``test_factors``: (N, k) int64 factor indices of ``x``/``test_x``;
    ``ground_truth``: the generator (``factor_names``, ``factor_sizes``, ``sample_factors``,
    ``observations``) the disentanglement metrics sample from.
    """

    factors: Tensor | None = None
    test_factors: Tensor | None = None
    ground_truth: Any = None

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(self.ground_truth.factor_names)

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return tuple(self.ground_truth.factor_sizes)


def _split(name: str, gt: Sprites, factors: np.ndarray, n_test: int, **extra: Any) -> FactorDataset:
    x = gt.observations(factors)
    f = torch.from_numpy(factors)
    tr, te = slice(n_test, None), slice(0, n_test)
    return FactorDataset(name, x[tr], "images", test_x=x[te] if n_test else None, factors=f[tr],
                         test_factors=f[te] if n_test else None, ground_truth=gt, **extra)


@DATASETS.register("dsprites")
def dsprites(n: int = 20_000, n_test: int = 2_000, seed: int = 0, path: str | None = None) -> FactorDataset:
    """dSprites-like sprites on the original grid (3×6×40×32×32), (N, 1, 64, 64) binary, with factors.

    ``n`` training and ``n_test`` test images drawn uniformly without replacement from the 737 280
    grid points (seeded); rendered by genzoo, or read from the original ``.npz`` at ``path``.
    """
    gt = load_npz(path) if path else dsprites_grid()
    check(n >= 1 and n + n_test <= gt.n_images, "n", n, f"n + n_test must be between 1 and {gt.n_images}")
    check(n_test >= 0, "n_test", n_test, "must be >= 0")

    # the rendered images are held at once (the whole grid: 737 280 × 64² float32 = 12 GB): refused up front, in one
    # line, where they cannot fit, rather than by the OOM killer
    resources.require_memory((n + n_test) * 64 * 64 * 4, f"dsprites with n={n}, n_test={n_test} (images rendered as "
                             "float32)", hint="a smaller data.n (the metrics render their own grid points in chunks)")
    rng = np.random.default_rng(seed)
    idx = rng.choice(gt.n_images, n + n_test, replace=False)
    return _split("dsprites", gt, gt.all_factors()[idx], n_test)


@DATASETS.register("dsprites_small")
def dsprites_small(seed: int = 0, test_fraction: float = 0.1, scales: int = 3, orientations: int = 8,
                   positions: int = 8, size: int = 32) -> FactorDataset:
    """dSprites-like CPU variant: 3 shapes × 3 scales × 8 orientations × 8×8 positions, 32×32, 4 608 images, with factors.

    Every grid point once, shuffled with ``seed``; ``test_fraction`` of them held out.
    """
    check(0.0 <= test_fraction < 1.0, "test_fraction", test_fraction, "must be in [0, 1)")
    for name, v in (("scales", scales), ("orientations", orientations), ("positions", positions)):
        check(v >= 1, name, v, "must be >= 1")
    check(size >= 8, "size", size, "must be >= 8 pixels")
    gt = small_grid(scales, orientations, positions, size)
    f = gt.all_factors()[np.random.default_rng(seed).permutation(gt.n_images)]
    return _split("dsprites_small", gt, f, int(round(test_fraction * gt.n_images)))
