"""Disentanglement metrics on data with known factors, each protocol pinned and named.

Two kinds of input:

* ``mig(codes, factors)``, ``dci(codes, factors)``, ``sap(codes, factors)`` score any
  representation from arrays: codes (N, d) float, factors (N, k) discrete (integer indices or any
  values, read as categories);
* ``beta_vae_score(encoder, ground_truth)`` and ``factor_vae_score(encoder, ground_truth)`` need
  to *generate* data with chosen factors, so they take an encoder (x → codes, or x → a
  Distribution whose mean is used) and a ground truth with ``factor_sizes``,
  ``sample_factors(n, rng)`` and ``observations(factors)`` (e.g. ``dataset.ground_truth`` of
  ``dsprites``/``dsprites_small``).

The protocols follow disentanglement_lib (Locatello et al. 2019), whose constants are the defaults:

**β-VAE score** (Higgins et al. 2017, §3): a vote = pick a factor k uniformly; draw L = 64 pairs
(x₁, x₂) whose factors agree on k and are otherwise independent; z_diff = mean_l |z(x₁ˡ) − z(x₂ˡ)|.
A logistic regression (scikit-learn defaults) is fitted on 10 000 votes (z_diff → k); the score is
its accuracy on 5 000 new votes. Chance = 1/k.

**FactorVAE score** (Kim & Mnih 2018, §4): codes are divided by their standard deviation over
10 000 random images; dimensions with std < 0.05 are dropped (collapsed). A vote = pick k; draw
L = 64 images with factor k fixed; vote (argmin_d Var_l[z_d/s_d], k). The majority-vote classifier
(each d ↦ its most common k) is built from 10 000 votes and scored on 5 000. No active dimension:
score 0.

**MIG** (Chen et al. 2018, §5), the *discrete 20-bin histogram* variant of disentanglement_lib:
each code dimension is binned with ``np.histogram``'s 20 equal-width bins over its range; the
mutual information I(z_d; v_k) of the discrete pair is computed from counts (natural log; genzoo's
own code, so no dependence on a scikit-learn version), and

    MIG = 1/K Σ_k [I(z_(1); v_k) − I(z_(2); v_k)] / H(v_k)

with z_(1), z_(2) the two code dimensions most informative about v_k. Discretisation makes MIG
depend on the bin count; genzoo's default 10 000 points (disentanglement_lib: 10 000).

**DCI** (Eastwood & Williams 2018), disentanglement_lib's variant: for each factor a
gradient-boosted classifier (scikit-learn ``GradientBoostingClassifier``, defaults, seeded) predicts
v_k from the codes; its ``feature_importances_`` form column k of R (d × K).
P_dk = R_dk / Σ_k R_dk; disentanglement = Σ_d ρ_d (1 − H_K(P_d·)), ρ_d = Σ_k R_dk / Σ R;
completeness = 1/K Σ_k (1 − H_d(P̃_·k)), P̃_dk = R_dk / Σ_d R_dk (entropies in base K and d);
informativeness = mean test accuracy of the K classifiers. 10 000 train / 5 000 test points.
``model="forest"`` uses random forests (Eastwood & Williams' second choice).

**SAP** (Kumar et al. 2018, §3): S_dk = test accuracy of a linear SVM (``LinearSVC(C=0.01,
class_weight="balanced")``) predicting v_k from z_d alone (disentanglement_lib's discrete-factor
variant); SAP = 1/K Σ_k (top-1 − top-2 of S_·k). A 1-D linear classifier cannot single out a
middle value of a factor, so even a perfect code scores well below 1 on multi-valued factors.

``genzoo eval`` reports all five (``dis_*``) for any model with ``encode`` trained on a data set
with ``ground_truth``: with the constants above under ``--full``; by default with a cheap budget
for training-time evaluation (β-VAE/FactorVAE 300 train / 200 eval votes, 2 000 points for the
FactorVAE variances and for MIG, DCI and SAP on 600 points split 400 / 200) — noisy, for
monitoring only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.metrics.evaluate import evaluation
from genzoo import resources

__all__ = [
    "codes_of",
    "codes_of_factors",
    "render_chunk",
    "discretize",
    "discrete_mutual_info",
    "discrete_entropy",
    "mig",
    "dci",
    "sap",
    "beta_vae_score",
    "factor_vae_score",
    "Budget",
    "DEFAULT_BUDGET",
    "FULL_BUDGET",
    "disentanglement_metrics",
]

Encoder = Callable[[Tensor], Any]


# ----------------------------------------------------------------------------- inputs


def _codes(name: str, a: Any) -> np.ndarray:
    a = np.asarray(a.detach().cpu() if isinstance(a, Tensor) else a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise GenzooError(f"{name} must have shape (N, d) with N ≥ 2, got {a.shape}")
    if not np.isfinite(a).all():
        raise GenzooError(f"{name} contains non-finite values")
    return a


def _factors(a: Any, n: int) -> np.ndarray:
    f = np.asarray(a.detach().cpu() if isinstance(a, Tensor) else a)
    if f.ndim == 1:
        f = f[:, None]
    if f.ndim != 2 or f.shape[0] != n:
        raise GenzooError(f"factors must have shape ({n}, k) to match the codes, got {f.shape}")
    return np.stack([np.unique(f[:, j], return_inverse=True)[1].reshape(-1) for j in range(f.shape[1])], 1)


@torch.no_grad()
def codes_of(encoder: Encoder, x: Tensor, batch: int = 512) -> np.ndarray:
    """Codes (N, d) of x: ``encoder(x)`` in batches; a returned Distribution gives its mean (float64)."""
    module = encoder if isinstance(encoder, torch.nn.Module) else getattr(encoder, "__self__", None)
    ctx = contextlib.nullcontext()
    if isinstance(module, torch.nn.Module):
        from genzoo.nn.context import evaluating

        ctx = evaluating(module)
    out = []
    with ctx:
        device = next(module.parameters()).device if isinstance(module, torch.nn.Module) and any(True for _ in module.parameters()) else x.device
        for s in range(0, len(x), batch):
            c = encoder(x[s : s + batch].to(device))
            if isinstance(c, torch.distributions.Distribution):
                c = c.mean
            out.append(c.reshape(c.shape[0], -1).double().cpu())
    return torch.cat(out).numpy()


def _deterministic(encoder: Encoder) -> bool:
    """Whether ``encoder`` is an nn.Module or its bound method: run in eval mode by :func:`codes_of`, its codes are a function of the image."""
    module = encoder if isinstance(encoder, torch.nn.Module) else getattr(encoder, "__self__", None)
    return isinstance(module, torch.nn.Module)


def render_chunk(ground_truth: Any, unique: np.ndarray, budget: int | None = None) -> int:
    """Distinct factor rows rendered at once: as many images as fit the memory budget (all when they do).

    The full dSprites grid is 737 280 images of 64 × 64 float32 (12 GB at once), and a full β-VAE
    score's votes reach most of it; one image's bytes are measured by rendering the first row, and
    twice that is counted per image (the rendered batch and its copy on the way into the encoder).
    An image that cannot fit in the free memory at all is refused in one line
    (:func:`genzoo.resources.fit_chunk`).
    """

    if len(unique) == 0:
        return 1
    one = ground_truth.observations(unique[:1])
    per_image = 2 * one.numel() * one.element_size()
    return resources.fit_chunk(per_image, len(unique), "rendering the ground truth's images for the disentanglement "
                               "metrics", budget=budget, hint="free memory, or evaluate without --full")


def codes_of_factors(encoder: Encoder, ground_truth: Any, *factors: np.ndarray, batch: int = 512,
                     budget: int | None = None) -> list[np.ndarray]:
    """``codes_of(encoder, ground_truth.observations(f))`` for each factor array f, with the same values, cheaper.

    The votes repeat grid points many times over (15 000 × 64 β-VAE pairs on a grid of a few
    thousand images), so each distinct factor row is rendered once — observations are a function
    of the factors, as genzoo's ground truths render them. A deterministic encoder (an nn.Module,
    evaluated in eval mode) also encodes each distinct image once, in large batches: its rows do
    not depend on the batch they sit in. Any other callable (e.g. random codes, which must stay
    independent of the image) is called exactly as before: per array, in batches of ``batch``
    rows, in order, so its random draws are unchanged.

    Memory: the distinct images are rendered in chunks of :func:`render_chunk` rows (``budget``
    bytes; default a share of the free memory), so the full dSprites grid streams instead of
    filling 12 GB. Rendering is deterministic, so chunking changes no code (tests compare).
    """
    arrays = [np.asarray(f) for f in factors]
    unique, inverse = np.unique(np.concatenate(arrays), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    bounds = np.cumsum([0] + [len(f) for f in arrays])
    chunk = render_chunk(ground_truth, unique, budget)
    if _deterministic(encoder):
        if chunk >= 4096:  # whole encoder batches per chunk: the same 4096-row calls as one unchunked pass
            chunk -= chunk % 4096
        codes = np.concatenate([codes_of(encoder, ground_truth.observations(unique[s : s + chunk]), batch=4096)
                                for s in range(0, len(unique), chunk)])  # fewer, larger calls: same rows, less overhead
        return [codes[inverse[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]
    images = ground_truth.observations(unique) if chunk >= len(unique) else None  # else: each batch rendered as needed
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        idx = torch.from_numpy(inverse[a:b])
        parts = []
        for s in range(0, b - a, batch):
            rows = idx[s : s + batch]
            x = images[rows] if images is not None else ground_truth.observations(unique[rows.numpy()])
            parts.append(codes_of(encoder, x, batch=batch))
        out.append(np.concatenate(parts))
    return out


# ----------------------------------------------------------------------------- information


def discretize(codes: np.ndarray, bins: int = 20) -> np.ndarray:
    """Per dimension: ``np.digitize`` against the left edges of ``np.histogram``'s equal-width bins (1..bins)."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram(codes[:, d], bins)[1]
        out[:, d] = np.digitize(codes[:, d], edges[:-1])
    return out


def discrete_entropy(a: np.ndarray) -> float:
    """H(a) in nats of a discrete sample (N,)."""
    p = np.unique(a, return_counts=True)[1] / len(a)
    return float(-(p * np.log(p)).sum())


def discrete_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats from the joint counts of two discrete samples (N,)."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    joint = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(joint, (ia.reshape(-1), ib.reshape(-1)), 1)
    p = joint / len(a)
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float(max(0.0, (p[nz] * np.log(p[nz] / (pa @ pb)[nz])).sum()))


def mig(codes: Any, factors: Any, bins: int = 20) -> dict[str, Any]:
    """Mutual information gap (discrete, ``bins``-bin histogram): {"mig", "per_factor" (K,), "mi" (d, K)}."""
    z = _codes("codes", codes)
    v = _factors(factors, len(z))
    zd = discretize(z, bins)
    mi = np.array([[discrete_mutual_info(zd[:, d], v[:, k]) for k in range(v.shape[1])] for d in range(z.shape[1])])
    h = np.array([discrete_entropy(v[:, k]) for k in range(v.shape[1])])
    top = np.sort(mi, 0)[::-1]
    second = top[1] if z.shape[1] > 1 else np.zeros_like(top[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(h > 0, (top[0] - second) / h, 0.0)
    return {"mig": float(per.mean()), "per_factor": per, "mi": mi}


# ----------------------------------------------------------------------------- predictor-based


def _split(z: np.ndarray, v: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    n = len(z)
    n_test = max(1, int(round(test_fraction * n)))
    perm = np.random.default_rng(seed).permutation(n)
    te, tr = perm[:n_test], perm[n_test:]
    return z[tr], v[tr], z[te], v[te]


def _entropy_rows(p: np.ndarray, base: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p), 0.0)
    return -t.sum(1) / np.log(base) if base > 1 else np.zeros(len(p))


def dci(codes: Any, factors: Any, test_fraction: float = 1 / 3, model: str = "gbt", seed: int = 0) -> dict[str, Any]:
    """DCI disentanglement / completeness / informativeness (Eastwood & Williams), importance matrix by GBT or forest.

    Points are split ``1 − test_fraction`` / ``test_fraction`` (disentanglement_lib: 10 000 / 5 000).
    """
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    z = _codes("codes", codes)
    v = _factors(factors, len(z))
    ztr, vtr, zte, vte = _split(z, v, test_fraction, seed)
    d, k = z.shape[1], v.shape[1]
    r = np.zeros((d, k))
    acc = np.zeros(k)
    for j in range(k):
        if model == "gbt":
            clf = GradientBoostingClassifier(random_state=seed)
        elif model == "forest":
            clf = RandomForestClassifier(n_estimators=100, random_state=seed)
        else:
            raise GenzooError(f"unknown DCI model {model!r}; valid: gbt, forest")
        if len(np.unique(vtr[:, j])) < 2:  # a constant factor carries no information
            acc[j] = 1.0
            continue
        clf.fit(ztr, vtr[:, j])
        r[:, j] = np.abs(clf.feature_importances_)
        acc[j] = float((clf.predict(zte) == vte[:, j]).mean())
    total = r.sum()
    if total <= 0:
        return {"disentanglement": 0.0, "completeness": 0.0, "informativeness": float(acc.mean()), "importance": r}
    rho = r.sum(1) / total
    p_code = r / np.maximum(r.sum(1, keepdims=True), 1e-12)
    p_fac = (r / np.maximum(r.sum(0, keepdims=True), 1e-12)).T
    dis = float((rho * (1 - _entropy_rows(p_code, k))).sum())
    used = r.sum(0) > 0
    comp = float((1 - _entropy_rows(p_fac, d))[used].mean()) if used.any() else 0.0
    return {"disentanglement": dis, "completeness": comp, "informativeness": float(acc.mean()), "importance": r}


def sap(codes: Any, factors: Any, test_fraction: float = 1 / 3, seed: int = 0) -> dict[str, Any]:
    """Separated attribute predictability (Kumar et al.), discrete factors: {"sap", "scores" (d, K)}."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    z = _codes("codes", codes)
    v = _factors(factors, len(z))
    ztr, vtr, zte, vte = _split(z, v, test_fraction, seed)
    s = np.zeros((z.shape[1], v.shape[1]))
    for j in range(v.shape[1]):
        if len(np.unique(vtr[:, j])) < 2:
            continue
        for i in range(z.shape[1]):
            clf = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(ztr[:, i : i + 1], vtr[:, j])
            s[i, j] = float((clf.predict(zte[:, i : i + 1]) == vte[:, j]).mean())
    top = np.sort(s, 0)[::-1]
    gap = top[0] - (top[1] if z.shape[1] > 1 else 0.0)
    return {"sap": float(gap.mean()), "scores": s}


# ----------------------------------------------------------------------------- generative protocols


def _check_gt(gt: Any) -> tuple[int, ...]:
    for attr in ("factor_sizes", "sample_factors", "observations"):
        if not hasattr(gt, attr):
            raise GenzooError(f"the ground truth must have {attr} (factor_sizes, sample_factors(n, rng), observations(factors)); got {type(gt).__name__}")
    return tuple(int(s) for s in gt.factor_sizes)


def _beta_vae_votes(encoder: Encoder, gt: Any, n: int, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    sizes = _check_gt(gt)
    ks = rng.integers(0, len(sizes), n)
    f1 = gt.sample_factors(n * batch, rng)
    f2 = gt.sample_factors(n * batch, rng)
    kk = np.repeat(ks, batch)
    f2[np.arange(n * batch), kk] = f1[np.arange(n * batch), kk]
    z1, z2 = codes_of_factors(encoder, gt, f1, f2)
    diff = np.abs(z1 - z2).reshape(n, batch, -1).mean(1)
    return diff, ks


def beta_vae_score(encoder: Encoder, ground_truth: Any, n_train: int = 10_000, n_eval: int = 5_000, batch: int = 64,
                   seed: int = 0) -> dict[str, float]:
    """Higgins et al.'s β-VAE score: accuracy of a logistic regression on |z₁ − z₂| votes (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    xtr, ytr = _beta_vae_votes(encoder, ground_truth, n_train, batch, rng)
    xte, yte = _beta_vae_votes(encoder, ground_truth, n_eval, batch, rng)
    clf = LogisticRegression(max_iter=1000, random_state=seed)
    clf.fit(xtr, ytr)
    return {"train_accuracy": float(clf.score(xtr, ytr)), "eval_accuracy": float(clf.score(xte, yte))}


def _factor_vae_votes(encoder: Encoder, gt: Any, scale: np.ndarray, active: np.ndarray, n: int, batch: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    sizes = _check_gt(gt)
    ks = rng.integers(0, len(sizes), n)
    f = gt.sample_factors(n * batch, rng)
    kk = np.repeat(ks, batch)
    fixed = gt.sample_factors(n, rng)
    f[np.arange(n * batch), kk] = np.repeat(fixed[np.arange(n), ks], batch)
    z = codes_of_factors(encoder, gt, f)[0][:, active] / scale[active]
    var = z.reshape(n, batch, -1).var(1, ddof=1)
    return np.nonzero(active)[0][var.argmin(1)], ks


def factor_vae_score(encoder: Encoder, ground_truth: Any, n_train: int = 10_000, n_eval: int = 5_000, batch: int = 64,
                     n_variance: int = 10_000, prune: float = 0.05, seed: int = 0) -> dict[str, float]:
    """Kim & Mnih's FactorVAE score: majority-vote accuracy of argmin-variance votes (see module docstring)."""
    sizes = _check_gt(ground_truth)
    rng = np.random.default_rng(seed)
    z = codes_of_factors(encoder, ground_truth, ground_truth.sample_factors(n_variance, rng))[0]
    scale = z.std(0, ddof=1)
    active = scale >= prune
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "active_dims": 0.0}
    dtr, ktr = _factor_vae_votes(encoder, ground_truth, scale, active, n_train, batch, rng)
    dte, kte = _factor_vae_votes(encoder, ground_truth, scale, active, n_eval, batch, rng)
    table = np.zeros((z.shape[1], len(sizes)), dtype=np.int64)
    np.add.at(table, (dtr, ktr), 1)
    best = table.argmax(1)
    return {"train_accuracy": float(table.max(1).sum() / n_train), "eval_accuracy": float((best[dte] == kte).mean()),
            "active_dims": float(active.sum())}


# ----------------------------------------------------------------------------- evaluation group


@dataclass(frozen=True)
class Budget:
    """Sample sizes of one evaluation of all five metrics."""

    votes_train: int
    votes_eval: int
    mig_points: int
    predictor_points: int  # DCI and SAP: split 2/3 train, 1/3 test
    variance_points: int


DEFAULT_BUDGET = Budget(300, 200, 2_000, 600, 2_000)
FULL_BUDGET = Budget(10_000, 5_000, 10_000, 15_000, 10_000)


def disentanglement_metrics(encoder: Encoder, ground_truth: Any, budget: Budget = FULL_BUDGET, seed: int = 0,
                            dci_model: str = "gbt") -> dict[str, float]:
    """All five metrics for an encoder on a ground truth: beta_vae, factor_vae, mig, dci_*, sap (DCI by ``dci_model``)."""
    from genzoo.progress import bar

    rng = np.random.default_rng(seed + 7)
    with bar(total=5, desc="disentanglement", unit="metric") as progress:
        progress.set_postfix_str("beta_vae")
        out = {"beta_vae": beta_vae_score(encoder, ground_truth, budget.votes_train, budget.votes_eval,
                                          seed=seed)["eval_accuracy"]}
        progress.update()
        progress.set_postfix_str("factor_vae")
        out["factor_vae"] = factor_vae_score(encoder, ground_truth, budget.votes_train, budget.votes_eval,
                                             n_variance=budget.variance_points, seed=seed)["eval_accuracy"]
        progress.update()
        progress.set_postfix_str("mig")
        f = ground_truth.sample_factors(budget.mig_points, rng)
        out["mig"] = mig(codes_of_factors(encoder, ground_truth, f)[0], f)["mig"]
        progress.update()
        progress.set_postfix_str("dci")
        f = ground_truth.sample_factors(budget.predictor_points, rng)
        z = codes_of_factors(encoder, ground_truth, f)[0]
        d = dci(z, f, model=dci_model, seed=seed)
        out.update(dci_disentanglement=d["disentanglement"], dci_completeness=d["completeness"],
                   dci_informativeness=d["informativeness"])
        progress.update()
        progress.set_postfix_str("sap")
        out["sap"] = sap(z, f, seed=seed)["sap"]
        progress.update()
    return out


def _applies(model: Any, dataset: Any) -> bool:
    return callable(getattr(model, "encode", None)) and getattr(dataset, "ground_truth", None) is not None


# thousands of encoder calls and boosted trees (12 s after a 100-step VFAE's 60 s of training): genzoo eval only
@evaluation("disentanglement", applies=_applies, tier="eval")
def _evaluate(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    scores = disentanglement_metrics(model.encode, dataset.ground_truth, FULL_BUDGET if full else DEFAULT_BUDGET, seed)
    return {f"dis_{k}": float(v) for k, v in scores.items()}
