"""Small binary data sets for Boltzmann machines: thresholded 8×8 digits and bars-and-stripes.

Both are tiny enough that a Boltzmann machine on them has an exactly computable partition
function, which is what the tests and the contract test of ``bm``/``rbm`` need.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.config import check
from genzoo.data import DATASETS, Dataset


@DATASETS.register("binary_digits")
def binary_digits(n: int | None = None, seed: int = 0, size: int = 8, threshold: float = 0.5, test_fraction: float = 0.2) -> Dataset:
    """scikit-learn's 8×8 digits binarised, (N, 1, size, size) in {0, 1}: x = 1[pixel/16 > threshold].

    ``size`` 8 keeps the images; 4 averages 2×2 blocks first (16 pixels: small enough for a
    fully visible Boltzmann machine's exact log Z). Splits as for ``digits``.
    """
    from genzoo.data.mnist import digits

    check(size in (4, 8), "size", size, "must be 4 or 8")
    check(0.0 <= threshold < 1.0, "threshold", threshold, "must be in [0, 1)")
    base = digits(n=n, seed=seed, test_fraction=test_fraction)

    def binarise(x: torch.Tensor | None) -> torch.Tensor | None:
        if x is None:
            return None
        if size == 4:
            x = F.avg_pool2d(x, 2)
        return (x > threshold).float()

    return Dataset("binary_digits", binarise(base.x), "images", base.y, binarise(base.test_x), base.test_y, params=base.params)


def bars_and_stripes_patterns(side: int) -> torch.Tensor:
    """All 2^(side+1) − 2 distinct side×side bars-and-stripes patterns, flattened: (P, side²)."""
    rows = ((torch.arange(2**side).unsqueeze(1) >> torch.arange(side)) & 1).float()  # (2^side, side)
    stripes = rows.unsqueeze(2).expand(-1, side, side)  # pattern constant along each row
    bars = rows.unsqueeze(1).expand(-1, side, side)  # constant along each column
    patterns = torch.cat([stripes, bars]).reshape(-1, side * side)
    return torch.unique(patterns, dim=0)


@DATASETS.register("bars_stripes")
def bars_stripes(n: int = 1000, n_test: int = 500, side: int = 3, seed: int = 0) -> Dataset:
    """Bars and stripes (MacKay 2003), points in {0, 1}^(side²): a uniform draw from the 2^(side+1) − 2 patterns.

    Each pattern is a side×side image whose rows are all on or off (stripes) or whose columns
    are (bars); all-off and all-on are counted once. Train and test are drawn from one generator.
    """
    check(2 <= side <= 4, "side", side, "must be 2, 3 or 4 (side² binary units)")
    check(n >= 1, "n", n, "must be ≥ 1")
    check(n_test >= 0, "n_test", n_test, "must be ≥ 0")
    patterns = bars_and_stripes_patterns(side)
    g = torch.Generator().manual_seed(seed)
    x = patterns[torch.randint(len(patterns), (n,), generator=g)]
    tx = patterns[torch.randint(len(patterns), (n_test,), generator=g)] if n_test else None
    return Dataset("bars_stripes", x, "points", None, tx, None)
