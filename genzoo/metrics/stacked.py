"""Stacked-MNIST mode counting (Metz et al., 2017; Srivastava et al., 2017 — VEEGAN).

Protocol (one pinned rule: uniform target over the 1000 classes, never a skewed training set)
-------------------------------------------------------
1. Draw ``STACKED_N_SAMPLES`` = 26 000 samples y_n ∈ [0, 1]^{3×28×28} from the model.
2. Classify each channel c with genzoo's MNIST classifier (:mod:`genzoo.metrics.features`):
   d_c = argmax_k p(k | y_{n,c}); the sample's class is 100·d₀ + 10·d₁ + d₂ ∈ 0..999 (the same
   convention as the ``stacked_mnist`` data set's labels).
3. **Modes covered** = number of the 1000 classes that receive at least one sample.
4. **KL to uniform** = KL(p̂ ‖ U₁₀₀₀) = Σ_k p̂_k log(1000 · p̂_k) with p̂_k = (count of class k)/N,
   and 0 log 0 = 0. The reference is the *uniform* distribution over the 1000 classes, never a
   (possibly skewed) training set. It is 0 for an exactly even spread and log 1000 ≈ 6.908 when
   every sample falls into one class.

Finite-sample floor: even a perfect generator does not reach KL = 0. With N samples drawn
uniformly over K bins, 2N·KL(p̂ ‖ U) is asymptotically χ²_{K−1} (the G-statistic), so
E[KL] ≈ (K − 1)/(2N) = 999/52 000 ≈ 0.019 with standard deviation √(2(K−1))/(2N) ≈ 0.0009
at N = 26 000, and the expected number of empty classes is K(1 − 1/K)^N ≈ 1000·e^{−26} ≈ 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genzoo.errors import GenzooError

__all__ = ["STACKED_N_SAMPLES", "STACKED_MODES", "kl_floor", "stacked_classes", "count_modes", "stacked_mnist_modes"]

#: Samples in the standard protocol.
STACKED_N_SAMPLES: int = 26_000
#: Number of Stacked-MNIST classes (10³).
STACKED_MODES: int = 1000


def kl_floor(n: int, k: int = STACKED_MODES) -> float:
    """Expected KL(p̂ ‖ U_k) of n samples drawn exactly uniformly over k bins, ≈ (k − 1)/(2n)."""
    return (k - 1) / (2 * n)


def stacked_classes(images: Tensor, net=None) -> Tensor:
    """Class 100·d₀ + 10·d₁ + d₂ of each (N, 3, 28, 28) image, d_c the classifier's digit for channel c → (N,) int64."""
    from genzoo.metrics.features import classify, load_classifier
    from genzoo.metrics.image import feature_batch

    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise GenzooError(f"Stacked-MNIST images must have shape (N, 3, 28, 28), got {tuple(getattr(images, 'shape', ()))}")
    net = net or load_classifier()
    digits = classify(images, net, feature_batch(net, 3 * images.shape[0])).argmax(-1)  # (N, 3); batches within the memory budget
    return digits @ torch.tensor([100, 10, 1])


def count_modes(classes: Tensor, n_modes: int = STACKED_MODES) -> dict:
    """Modes covered and KL(p̂ ‖ uniform) of integer class labels in 0..n_modes−1 (see module docstring)."""
    if not isinstance(classes, Tensor) or classes.ndim != 1 or classes.numel() == 0:
        raise GenzooError(f"classes must be a non-empty 1-D tensor of labels, got {getattr(classes, 'shape', type(classes).__name__)}")
    if classes.is_floating_point() or classes.is_complex():
        raise GenzooError(f"classes must be integer labels, got dtype {classes.dtype}")
    c = classes.long().cpu()
    if int(c.min()) < 0 or int(c.max()) >= n_modes:
        raise GenzooError(f"classes must lie in 0..{n_modes - 1}, got range {int(c.min())}..{int(c.max())}")
    counts = torch.bincount(c, minlength=n_modes)
    p = counts.double() / c.numel()
    kl = float(torch.xlogy(p, p * n_modes).sum())  # xlogy: 0·log 0 = 0
    return {
        "modes": int((counts > 0).sum()),
        "kl_to_uniform": kl,
        "n_samples": int(c.numel()),
        "n_modes": n_modes,
        "kl_floor": kl_floor(c.numel(), n_modes),
        "counts": counts.tolist(),
    }


def stacked_mnist_modes(images: Tensor, net=None) -> dict:
    """Classify each channel of (N, 3, 28, 28) samples and count modes / KL to uniform over the 1000 classes.

    The standard protocol uses N = ``STACKED_N_SAMPLES`` = 26 000; other N are accepted (the KL
    floor ``kl_floor(N)`` is reported alongside).
    """
    return count_modes(stacked_classes(images, net))
