"""Two-domain image data for unpaired translation (DualGAN): domain A ↔ domain B, never paired.

Representation (what the trainer's stream serves, unchanged): one image tensor ``x`` holding the
images of both domains, with ``y`` = the **domain index** (0 = A, 1 = B), so ``n_classes`` = 2.
A model that translates (``uses_labels = True``) splits each batch by ``y``. The digit labels
are kept for evaluation only, in the extra attributes ``digit`` / ``test_digit`` (aligned with
``x`` / ``test_x``); no model ever sees them. ``domains`` names the two domains.

Built from MNIST (or scikit-learn's 8×8 digits for tests), offline and seeded:

* a seeded permutation splits the source images into two **disjoint** halves; half 1 becomes
  domain A (the original images), half 2 becomes domain B (the same transform applied to every
  image). No image appears in both domains, so there is no pairing to leak — the translation
  must be learnt from two unrelated sets. Test images are split the same way.
* ``pair`` chooses the transform T of domain B (:data:`PAIRS`):

  - ``invert``  — T(x) = 1 − x (colour inversion: white digit on black ↔ black on white);
  - ``rotate``  — T(x) = x rotated by 90° counter-clockwise (``torch.rot90``, exact, no
    interpolation; T⁻¹ rotates back);
  - ``thicken`` — T(x) = 3×3 grey-scale dilation (max over each pixel's 3×3 neighbourhood):
    strokes about 2 px thicker; not invertible.

  :func:`to_domain` applies T (or T⁻¹ for ``invert``/``rotate``), so benchmarks can map a
  translated image back to the original domain before asking genzoo's MNIST classifier
  (``genzoo.metrics.features``) which digit it shows.

The user's own domains: ``load("two_domain_folders", a="dirA", b="dirB")`` reads two directories
of PNG/JPG images (every image inside one directory of one size, as :mod:`genzoo.data.files`
requires). Grey and colour domains are both converted to RGB. Domains whose image sizes
differ are **refused** with a message naming both sizes, unless ``resize=true``: then B is resized
to A's size (bilinear, antialiased). Each domain holds out ``test_fraction`` of its images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.config import check
from genzoo.data import DATASETS, Dataset
from genzoo.errors import GenzooError

__all__ = ["PAIRS", "TwoDomainDataset", "to_domain", "split_domains", "two_domain"]

#: Transforms that define domain B from domain A's kind of image.
PAIRS = ("invert", "rotate", "thicken")
#: Domain indices in ``y``.
A, B = 0, 1


@dataclass
class TwoDomainDataset(Dataset):
    """A :class:`Dataset` whose ``y`` is the domain (0 = A, 1 = B); digit labels ride along for evaluation."""

    digit: Tensor | None = None  # (N,) digit of each train image, or None (user folders)
    test_digit: Tensor | None = None
    domains: tuple[str, str] = ("A", "B")
    pair: str = ""  # the transform of B, or "" for user data

    def domain(self, index: int, test: bool = False) -> tuple[Tensor, Tensor | None]:
        """(images, digits or None) of domain ``index`` in the train (or test) split."""
        x, y, d = (self.test_x, self.test_y, self.test_digit) if test else (self.x, self.y, self.digit)
        if x is None:
            raise GenzooError("this two-domain data set has no test split")
        keep = y == index
        return x[keep], (d[keep] if d is not None else None)


def to_domain(x: Tensor, pair: str, inverse: bool = False) -> Tensor:
    """T(x) for ``pair`` (or T⁻¹(x) with ``inverse``; ``thicken`` has none). x: (N, C, H, W) in [0, 1]."""
    if pair not in PAIRS:
        raise GenzooError(f"unknown domain pair {pair!r}; valid: {', '.join(PAIRS)}")
    if pair == "invert":
        return 1.0 - x
    if pair == "rotate":
        if x.shape[-1] != x.shape[-2]:
            raise GenzooError(f"rotate needs square images, got {tuple(x.shape[-2:])}")
        return torch.rot90(x, -1 if inverse else 1, dims=(-2, -1))
    if inverse:
        raise GenzooError("thicken (grey-scale dilation) has no inverse")
    return F.max_pool2d(x, 3, stride=1, padding=1)


def split_domains(x: Tensor, digits: Tensor, pair: str, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Disjoint halves: the first (seeded) half stays as A, the second becomes T(x) as B.

    Returns (images, domain index, digit), A's images first. With an odd count A gets the extra one.
    """
    perm = torch.randperm(x.shape[0], generator=generator)
    half = (x.shape[0] + 1) // 2
    ia, ib = perm[:half].sort().values, perm[half:].sort().values
    images = torch.cat([x[ia], to_domain(x[ib], pair)])
    domain = torch.cat([torch.full((len(ia),), A), torch.full((len(ib),), B)]).long()
    return images.contiguous(), domain, torch.cat([digits[ia], digits[ib]]).long()


def two_domain(name: str, base: Dataset, pair: str, seed: int, params: dict) -> TwoDomainDataset:
    """Turn a labelled MNIST-family data set into an unpaired two-domain one (see the module docstring)."""
    check(pair in PAIRS, "pair", pair, f"must be one of {', '.join(PAIRS)}")
    if base.y is None or base.test_x is None or base.test_y is None:
        raise GenzooError(f"{base.name!r} needs labels and a test split to become two-domain data")
    g = torch.Generator().manual_seed(seed + 7_919)
    x, y, d = split_domains(base.x, base.y, pair, g)
    tx, ty, td = split_domains(base.test_x, base.test_y, pair, g)
    return TwoDomainDataset(name, x, "images", y, tx, ty, params=params, digit=d, test_digit=td,
                            domains=("original", pair), pair=pair)


@DATASETS.register("two_domain_mnist")
def two_domain_mnist(pair: str = "invert", n: int | None = None, seed: int = 0, root: str | None = None) -> TwoDomainDataset:
    """Unpaired two-domain MNIST, (N, 1, 28, 28): originals (A) ↔ pair=invert|rotate|thicken (B); y = domain.

    Built from the 50k MNIST training images (``n`` subsets them first, seeded) and the 10k test
    images, each split into two disjoint halves: A = originals, B = transformed. Digit labels are
    in ``.digit`` / ``.test_digit`` for evaluation only.
    """
    from genzoo.data.mnist import mnist

    check(pair in PAIRS, "pair", pair, f"must be one of {', '.join(PAIRS)}")
    base = mnist(n=n, seed=seed, root=root)
    return two_domain("two_domain_mnist", base, pair, seed, {"n": len(base.x)})


@DATASETS.register("two_domain_digits")
def two_domain_digits(pair: str = "invert", n: int | None = None, seed: int = 0) -> TwoDomainDataset:
    """Tiny unpaired two-domain digits from scikit-learn's 8×8 set, (N, 1, 8, 8): for tests; y = domain.

    The 1797 images (20 % held out as test, seeded) are split into originals (A) and
    pair=invert|rotate|thicken (B), disjoint halves; digit labels in ``.digit`` for evaluation only.
    """
    from genzoo.data.mnist import digits

    check(pair in PAIRS, "pair", pair, f"must be one of {', '.join(PAIRS)}")
    base = digits(n=n, seed=seed)
    return two_domain("two_domain_digits", base, pair, seed, {"n": len(base.x)})


def _read_domain(path: str, what: str) -> Tensor:
    from genzoo.data.files import load_path

    p = Path(path).expanduser()
    if not p.is_dir():
        raise GenzooError(f"domain {what} must be a directory of .png/.jpg images; not a directory: {path!r}")
    ds = load_path(p, test_fraction=0.0)
    if ds.kind != "images":  # pragma: no cover - a directory always reads as images
        raise GenzooError(f"domain {what} ({path!r}) does not hold images")
    return ds.x


@DATASETS.register("two_domain_folders")
def two_domain_folders(a: str = "", b: str = "", resize: bool = False, seed: int = 0, test_fraction: float = 0.1) -> TwoDomainDataset:
    """The user's own domains: a=DIR_A b=DIR_B, two directories of PNG/JPG images; y = domain.

    Both domains become RGB if either is colour. Different image sizes are refused unless
    ``resize=true`` (B is then resized to A's size, bilinear with antialiasing). Each domain
    holds out a seeded ``test_fraction`` of its images. No digit labels.
    """
    check(0.0 <= test_fraction < 1.0, "test_fraction", test_fraction, "must be in [0, 1)")
    if not a or not b:
        raise GenzooError("two_domain_folders needs both domains: a=DIR_A and b=DIR_B (got "
                          f"a={a!r}, b={b!r}); a translation model cannot learn from one domain")
    xa, xb = _read_domain(a, "a"), _read_domain(b, "b")
    if xa.shape[1] != xb.shape[1]:  # grey + colour: both RGB
        xa, xb = (t.expand(-1, 3, -1, -1).clone() if t.shape[1] == 1 else t for t in (xa, xb))
    if xa.shape[2:] != xb.shape[2:]:
        if not resize:
            raise GenzooError(
                f"domains differ in image size: a={a!r} is {xa.shape[3]}x{xa.shape[2]}, b={b!r} is "
                f"{xb.shape[3]}x{xb.shape[2]}; resize them, or pass resize=true to resize B to A's size")
        xb = F.interpolate(xb, size=tuple(xa.shape[2:]), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    g = torch.Generator().manual_seed(seed)
    parts = {"train": [], "test": []}
    for index, x in ((A, xa), (B, xb)):
        perm = torch.randperm(len(x), generator=g)
        n_test = int(round(test_fraction * len(x)))
        if test_fraction > 0 and len(x) >= 2:
            n_test = min(max(n_test, 1), len(x) - 1)
        for split, idx in (("test", perm[:n_test]), ("train", perm[n_test:])):
            parts[split].append((x[idx], torch.full((len(idx),), index, dtype=torch.long)))
    tr_x = torch.cat([p[0] for p in parts["train"]])
    tr_y = torch.cat([p[1] for p in parts["train"]])
    te_x = torch.cat([p[0] for p in parts["test"]])
    te_y = torch.cat([p[1] for p in parts["test"]])
    has_test = len(te_x) > 0
    return TwoDomainDataset(
        "two_domain_folders", tr_x, "images", tr_y, te_x if has_test else None, te_y if has_test else None,
        params={"a": str(Path(a).expanduser().resolve()), "b": str(Path(b).expanduser().resolve())},
        domains=(Path(a).name or "A", Path(b).name or "B"),
    )
