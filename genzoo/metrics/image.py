"""Sample-quality metrics on feature embeddings: FID, KID, precision/recall, density/coverage, classifier score.

All of them compare a set of real features {φ(x_i)}_{i=1..N} with generated ones {φ(y_j)}_{j=1..M},
where φ is genzoo's own MNIST feature network (:mod:`genzoo.metrics.features`, 128-d per
channel) or, where the user supplies the weights, Inception-v3 pool3
(:mod:`genzoo.metrics.inception`). Numbers from different feature networks are not comparable:
every result names the network it used.

**FID** (Heusel et al., 2017). Fit Gaussians N(μ_r, Σ_r), N(μ_g, Σ_g) to the two feature sets
(Σ with the unbiased 1/(N−1) normalisation) and take their Fréchet (2-Wasserstein) distance::

    FID = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2})

Tr((Σ_r Σ_g)^{1/2}) is computed as Σ_i √λ_i with λ_i the eigenvalues of the symmetric PSD matrix
Σ_r^{1/2} Σ_g Σ_r^{1/2} (similar to Σ_r Σ_g, hence the same eigenvalues), in float64 with both
eigen-decompositions symmetric (``eigh``) and rounding negatives clipped at 0: no complex
``sqrtm`` residue to discard.

**KID** (Bińkowski et al., 2018). The unbiased estimate of the squared MMD with the cubic
polynomial kernel k(a, b) = (aᵀb/d + 1)³, on m samples from each side::

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/m² Σ_{i,j} k(x_i, y_j)

averaged over ``n_subsets`` = 100 random subsets of size m = 1000 drawn without replacement (as
in the authors' code; m is capped by the smaller set). Unbiased: E[MMD²_u] = 0 when both sides
come from one distribution, so small values can be negative.

**Precision / recall** (Kynkäänniemi et al., 2019). The manifold of a feature set Φ is the union
of balls B(φ, NND_k(φ)), NND_k = distance to the k-th nearest neighbour within Φ (k = 3)::

    precision = (1/M) Σ_j 1[φ(y_j) ∈ manifold(Φ_r)],   recall = (1/N) Σ_i 1[φ(x_i) ∈ manifold(Φ_g)]

**Density / coverage** (Naeem et al., 2020), with the real balls only (k = 5)::

    density  = 1/(kM) Σ_j Σ_i 1[φ(y_j) ∈ B(φ(x_i), NND_k(φ(x_i)))]
    coverage = 1/N Σ_i 1[∃ j: φ(y_j) ∈ B(φ(x_i), NND_k(φ(x_i)))]

**Classifier score**, the Inception Score of Salimans et al. (2016) with genzoo's classifier::

    CS = exp( E_y KL(p(c|y) ‖ p(c)) ),   p(c) = E_y p(c|y)

It ranges from 1 (every sample gives the same class distribution) to the number of classes
(confident and balanced: ≈ 10 on real MNIST).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genzoo.errors import GenzooError

__all__ = [
    "KID_SUBSETS",
    "KID_SUBSET_SIZE",
    "PR_K",
    "DC_K",
    "gaussian_stats",
    "frechet_distance",
    "fid",
    "polynomial_kernel",
    "mmd2_unbiased",
    "kid_estimates",
    "kid",
    "knn_radii",
    "manifold_metrics",
    "precision_recall",
    "density_coverage",
    "classifier_score",
    "image_metrics",
]

#: KID protocol of Bińkowski et al.: 100 subsets of 1000 samples.
KID_SUBSETS: int = 100
KID_SUBSET_SIZE: int = 1000
#: Neighbourhood sizes: k = 3 for precision/recall (Kynkäänniemi et al.), k = 5 for density/coverage (Naeem et al.).
PR_K: int = 3
DC_K: int = 5
#: Query rows per distance block at most (speed: larger blocks gain nothing); fewer when the
#: memory budget (genzoo.resources.memory_budget) says so, see :func:`distance_rows`.
_ROWS = 1024
#: KID subsets per batched kernel evaluation at most (the former fixed chunk of 10⁷ kernel entries).
_KID_ENTRIES = 10_000_000


def distance_rows(n_cols: int, n_rows: int, budget: int | None = None) -> int:
    """Query rows per block of an (rows, n_cols) distance matrix within the memory budget.

    Per row: the float32 distances, the matmul they come from, the norms' broadcast sum, and
    up to three boolean masks (ball tests) of the same width — 16 bytes per column, a bound.
    """
    from genzoo import resources

    rows = resources.fit_chunk(16 * n_cols, n_rows, f"pairwise feature distances ({n_rows} × {n_cols})", budget)
    return min(_ROWS, rows)


def kid_chunk(m: int, d: int, n_subsets: int, budget: int | None = None) -> int:
    """KID subsets evaluated together: three (m, m) float64 kernels and two (m, d) subsets each."""
    from genzoo import resources

    per_subset = 3 * m * m * 8 + 2 * m * d * 8
    chunk = resources.fit_chunk(per_subset, n_subsets, f"KID on subsets of {m}", budget)
    return min(chunk, max(1, _KID_ENTRIES // (m * m)))


def feature_batch(net: Any, n: int, budget: int | None = None) -> int:
    """Images per batch of the feature network within the memory budget (at most its default batch).

    The per-image cost is measured once per network (every leaf module's output for one image:
    without autograd most are freed as soon as the next layer has run, so this over-counts).
    """
    from genzoo.metrics.features import BATCH, IMAGE_SIZE
    from genzoo import resources

    per_image = getattr(net, "_genzoo_bytes_per_image", None)
    if per_image is None:
        param = next(net.parameters())
        one = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE, device=param.device, dtype=param.dtype)
        per_image = resources.activation_bytes(net, one) + one.numel() * one.element_size()
        net._genzoo_bytes_per_image = per_image
    return min(BATCH, resources.fit_chunk(per_image, n, f"image features of {n} images", budget))


def _features(name: str, f: Any, min_rows: int = 1) -> Tensor:
    """(N, d) finite features → float64 tensor."""
    if isinstance(f, np.ndarray):
        f = torch.from_numpy(f)
    if not isinstance(f, Tensor):
        raise GenzooError(f"{name} must be a (N, d) tensor of features, got {type(f).__name__}")
    if f.ndim != 2:
        raise GenzooError(f"{name} must have shape (N, d), got {tuple(f.shape)}")
    if f.shape[0] < min_rows:
        raise GenzooError(f"{name} needs at least {min_rows} rows, got {f.shape[0]}")
    if f.shape[1] == 0:
        raise GenzooError(f"{name} has zero feature dimensions: shape {tuple(f.shape)}")
    f = f.detach().to(device="cpu", dtype=torch.float64)
    if not torch.isfinite(f).all():
        raise GenzooError(f"{name} contains non-finite values ({int((~torch.isfinite(f)).sum())} entries)")
    return f


def _same_dim(a: Tensor, b: Tensor) -> None:
    if a.shape[1] != b.shape[1]:
        raise GenzooError(f"feature dimensions differ: {a.shape[1]} and {b.shape[1]}")


# ----------------------------------------------------------------------------- FID


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean μ (d,) and unbiased covariance Σ = 1/(N−1) Σ_i (f_i − μ)(f_i − μ)ᵀ (d, d), float64."""
    f = _features("features", features, min_rows=2)
    mu = f.mean(0)
    c = f - mu
    return mu, c.T @ c / (f.shape[0] - 1)


def _psd_sqrt(s: Tensor) -> Tensor:
    lam, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * lam.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^{1/2}) between N(μ1, Σ1) and N(μ2, Σ2) (float64).

    Tr((Σ1Σ2)^{1/2}) = Σ √eig(Σ1^{1/2} Σ2 Σ1^{1/2}), both roots by symmetric eigen-decomposition.
    """
    mu1, mu2 = (torch.as_tensor(m, dtype=torch.float64).reshape(-1) for m in (mu1, mu2))
    s1, s2 = (torch.as_tensor(s, dtype=torch.float64) for s in (sigma1, sigma2))
    d = mu1.shape[0]
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if s.shape != (d, d):
            raise GenzooError(f"{name} must have shape ({d}, {d}) to match the means, got {tuple(s.shape)}")
    if mu2.shape != (d,):
        raise GenzooError(f"mu1 and mu2 differ in dimension: {d} and {mu2.shape[0]}")
    for name, t in (("mu1", mu1), ("mu2", mu2), ("sigma1", s1), ("sigma2", s2)):
        if not torch.isfinite(t).all():
            raise GenzooError(f"{name} contains non-finite values")
    root1 = _psd_sqrt(s1)
    m = root1 @ s2 @ root1
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_sqrt)


def fid(features_real: Tensor, features_fake: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two (N, d) feature sets (see module docstring)."""
    a, b = _features("features_real", features_real, 2), _features("features_fake", features_fake, 2)
    _same_dim(a, b)
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


# ----------------------------------------------------------------------------- KID


def polynomial_kernel(a: Tensor, b: Tensor) -> Tensor:
    """k(a, b) = (aᵀb/d + 1)³ for all pairs: (..., n, d), (..., m, d) → (..., n, m)."""
    k = a @ b.transpose(-1, -2)
    return k.div_(a.shape[-1]).add_(1).pow_(3)


def mmd2_unbiased(x: Tensor, y: Tensor) -> Tensor:
    """Unbiased MMD² with the cubic polynomial kernel for (..., m, d) sets x, y of equal size m ≥ 2.

    1/(m(m−1)) Σ_{i≠j} [k(x_i, x_j) + k(y_i, y_j)] − 2/m² Σ_{i,j} k(x_i, y_j); batched over leading dims.
    """
    from genzoo.estimators.mmd import mmd2  # the shared estimator (genzoo.estimators.mmd)

    return mmd2(x, y, kernel=polynomial_kernel, unbiased=True)


def kid_estimates(
    features_real: Tensor,
    features_fake: Tensor,
    n_subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> Tensor:
    """MMD²_u on ``n_subsets`` pairs of random subsets (without replacement) of size m = min(subset_size, N, M) → (n_subsets,).

    When m = N = M every subset is the whole of both sets, so a single estimate is returned.
    """
    a, b = _features("features_real", features_real, 2), _features("features_fake", features_fake, 2)
    _same_dim(a, b)
    if n_subsets < 1:
        raise GenzooError(f"invalid value n_subsets={n_subsets}: must be >= 1")
    if subset_size < 2:
        raise GenzooError(f"invalid value subset_size={subset_size}: must be >= 2")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m == a.shape[0] == b.shape[0]:
        n_subsets = 1  # every "subset" is the whole of both sets and MMD²_u is permutation-invariant
    g = torch.Generator().manual_seed(seed)
    ia = torch.rand(n_subsets, a.shape[0], generator=g).argsort(1)[:, :m]  # uniform subsets, no replacement
    ib = torch.rand(n_subsets, b.shape[0], generator=g).argsort(1)[:, :m]
    chunk = kid_chunk(m, a.shape[1], n_subsets)  # subsets are independent: chunking leaves each estimate as it was
    return torch.cat([mmd2_unbiased(a[ia[s : s + chunk]], b[ib[s : s + chunk]]) for s in range(0, n_subsets, chunk)])


def kid(
    features_real: Tensor,
    features_fake: Tensor,
    n_subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> float:
    """KID: the mean of :func:`kid_estimates` (unbiased MMD², cubic kernel, 100 subsets of 1000)."""
    return float(kid_estimates(features_real, features_fake, n_subsets, subset_size, seed).mean())


# ----------------------------------------------------------------------------- k-NN manifolds


def _sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances between rows, clamped at 0 against rounding."""
    return ((a * a).sum(1, keepdim=True) + (b * b).sum(1) - 2 * a @ b.T).clamp_min(0)


def _knn_sq(f: Tensor, ks: set[int]) -> dict[int, Tensor]:
    """{k: squared distance from each row to its k-th nearest other row} from one pass of top-(max k + 1)."""
    # the row itself is its own 0-th neighbour (distance 0), so the k-th other one is at index k
    rows = distance_rows(f.shape[0], f.shape[0])
    top = torch.cat([_sq_dist(f[i : i + rows], f).topk(max(ks) + 1, dim=1, largest=False).values for i in range(0, f.shape[0], rows)])
    return {k: top[:, k] for k in ks}


def _centred32(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Both sets shifted by the real mean (distances unchanged, cancellation in ‖a‖² + ‖b‖² − 2aᵀb reduced), float32 for speed."""
    mu = a.mean(0)
    return (a - mu).float(), (b - mu).float()


def knn_radii(features: Tensor, k: int) -> Tensor:
    """NND_k: distance from each row to its k-th nearest neighbour among the other rows, (N,)."""
    if k < 1:
        raise GenzooError(f"invalid value k={k}: must be >= 1")
    f = _features("features", features, min_rows=k + 1)
    centred, _ = _centred32(f, f)
    return _knn_sq(centred, {k})[k].sqrt()


def manifold_metrics(features_real: Tensor, features_fake: Tensor, k_pr: int | None = PR_K, k_dc: int | None = DC_K) -> dict[str, float]:
    """Precision/recall (k-NN balls, k = ``k_pr``) and density/coverage (real balls, k = ``k_dc``) from one pass over the distances.

    Either part is skipped when its k is None. Distances are computed in float32 on centred features.
    """
    for name, k in (("k_pr", k_pr), ("k_dc", k_dc)):
        if k is not None and k < 1:
            raise GenzooError(f"invalid value {name}={k}: must be >= 1")
    ks = {k for k in (k_pr, k_dc) if k is not None}
    a = _features("features_real", features_real, max(ks) + 1)
    b = _features("features_fake", features_fake, (k_pr or 0) + 1)
    _same_dim(a, b)
    a, b = _centred32(a, b)
    r_real = _knn_sq(a, ks)
    r_fake = _knn_sq(b, {k_pr})[k_pr] if k_pr is not None else None
    in_real, density_counts = [], []
    covered = torch.zeros(a.shape[0], dtype=torch.bool)  # real ball B(x_i, NND_kdc) holds some fake
    recalled = torch.zeros(a.shape[0], dtype=torch.bool)  # real x_i lies in some fake ball
    rows = distance_rows(a.shape[0], b.shape[0])
    for i in range(0, b.shape[0], rows):
        d = _sq_dist(b[i : i + rows], a)  # (fakes in chunk, N)
        if k_pr is not None:
            in_real.append((d <= r_real[k_pr]).any(1))
            recalled |= (d <= r_fake[i : i + rows, None]).any(0)
        if k_dc is not None:
            inside = d <= r_real[k_dc]
            density_counts.append(inside.sum(1))
            covered |= inside.any(0)
    out: dict[str, float] = {}
    if k_pr is not None:
        out.update(precision=float(torch.cat(in_real).double().mean()), recall=float(recalled.double().mean()))
    if k_dc is not None:
        out.update(density=float(torch.cat(density_counts).double().sum() / (k_dc * b.shape[0])), coverage=float(covered.double().mean()))
    return out


def precision_recall(features_real: Tensor, features_fake: Tensor, k: int = PR_K) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) with k-NN balls (k = 3)."""
    return manifold_metrics(features_real, features_fake, k_pr=k, k_dc=None)


def density_coverage(features_real: Tensor, features_fake: Tensor, k: int = DC_K) -> dict[str, float]:
    """Density and coverage (Naeem et al., 2020) with the real k-NN balls (k = 5)."""
    return manifold_metrics(features_real, features_fake, k_pr=None, k_dc=k)


# ----------------------------------------------------------------------------- classifier score


def classifier_score(probs: Tensor, splits: int = 1) -> float:
    """exp(E_y KL(p(c|y) ‖ p(c))) with p(c) the mean of ``probs`` (N, K); the mean over ``splits`` equal parts."""
    if not isinstance(probs, Tensor) or probs.ndim != 2:
        raise GenzooError(f"probs must be a (N, K) tensor of class probabilities, got {getattr(probs, 'shape', type(probs).__name__)}")
    p = probs.detach().to(dtype=torch.float64, device="cpu")
    if not torch.isfinite(p).all() or (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=torch.float64), atol=1e-4):
        raise GenzooError("probs must be finite, non-negative rows that sum to 1")
    if not 1 <= splits <= p.shape[0]:
        raise GenzooError(f"invalid value splits={splits}: must be between 1 and N={p.shape[0]}")
    scores = []
    for part in p.tensor_split(splits):
        marginal = part.mean(0, keepdim=True)
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores))


# ----------------------------------------------------------------------------- everything at once


def image_metrics(
    real: Tensor,
    fake: Tensor,
    *,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
    net: Any = None,
) -> dict[str, float]:
    """FID, KID, precision/recall, density/coverage (and the classifier score of 1-channel fakes) of MNIST-family images.

    ``real``/``fake``: (N, C, 28, 28) images in [0, 1]; features by genzoo's classifier (``net``
    defaults to the shipped one), channels concatenated.
    """
    from genzoo.metrics.features import channel_features, embed, load_classifier, probabilities

    net = net or load_classifier()
    fake_channels = channel_features(fake, net, feature_batch(net, fake.shape[0] * fake.shape[1]))  # (M, C, 128): one pass for both
    fr, ff = embed(real, net, feature_batch(net, real.shape[0] * real.shape[1])), fake_channels.flatten(1)
    out = {"fid": fid(fr, ff), "kid": kid(fr, ff, kid_subsets, kid_subset_size, seed)}
    out.update(manifold_metrics(fr, ff))
    if fake_channels.shape[1] == 1:
        out["classifier_score"] = classifier_score(probabilities(fake_channels[:, 0], net))
    return out
