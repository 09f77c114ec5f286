"""Test log-likelihoods of energy models that no exact enumeration normalises: a 2-D energy on a grid, a fully visible BM by AIS.

An energy model defines p(x) = exp(−E(x)) / Z with Z = ∫ exp(−E) unknown. Two cases are cheap
enough to normalise anyway, and both the zoo (:mod:`genzoo.bench.zoo`) and ``genzoo eval`` use
these functions (one implementation, so the two report the same number for the same model):

**Grid normalisation (2-D energies: ebm, ddgm, meg).** Over a box B = [x_lo, x_hi] × [y_lo, y_hi]
cut into N × N cells of area A with centres c_ij,

    log Z_B ≈ logsumexp_ij (−E(c_ij)) + log A,    log p̂(x) = −E(x) − log Z_B,

a midpoint Riemann sum: exact up to the discretisation (O(h²) for a smooth energy, h the cell
side) and the mass of exp(−E) outside B, which is ignored (so an energy that puts mass outside
the box is flattered). The box is the mixture means' bounding box grown by ``BOX_SIGMAS`` = 6σ
(data with a known mixture density), else the data's bounding box grown by a tenth of its span
on every side. Reported as ``log_likelihood_grid`` (an estimate, with the box and N in the row).
The same normalisation applied to the data's exact density is the "data (grid-normalised)"
null, whose gap to the exact −H(p) is the discretisation error at that N
(:func:`null_log_likelihoods`).

**AIS for a fully visible Boltzmann machine** (model ``bm`` with more units than 2^M states can
be enumerated). p(x) = exp(−Φ(x)) / Z on x ∈ {0, 1}^M, Φ(x) = −bᵀx − ½ xᵀWx. Neal's (2001)
annealed importance sampling along the geometric path from a base-rate model p_A(x) ∝ exp(aᵀx)
(independent units matched to the training data's marginals, a_i = logit p̂_i, as Salakhutdinov
& Murray 2008 do for the RBM; log Z_A = Σ_i softplus(a_i)):

    log f_β(x) = (1 − β) aᵀx − β Φ(x),    0 = β_0 < β_1 < … < β_K = 1,
    x_1 ~ p_A;  log w += log f_{β_k}(x_k) − log f_{β_{k−1}}(x_k);  x_{k+1} ~ T_k(· | x_k),

with T_k one sweep of single-site Gibbs sampling at β_k — the BM's own conditional with
W → β_k W and b → β_k b + (1 − β_k) a, which leaves p_k invariant. Over R runs
Ẑ = Z_A · mean(w) is unbiased, so E[log Ẑ] ≤ log Z: the estimate ``log_likelihood_ais`` tends
to be optimistic (reported ± the delta-method standard error of log Ẑ, with S&M's ±3 se range);
``log_likelihood_sandwich_high`` (mean log w: a bound in expectation, Grosse et al. 2015) and
``log_likelihood_certain_upper`` (Z ≥ Σ over the distinct test vectors of e^{−Φ}: certain)
stand beside it, as for the RBM (:mod:`genzoo.metrics.ais`). The schedule is S&M's β spacing
(:func:`genzoo.sampling.ais.sm2008_betas`), 1 000 β × 100 runs by default and 14 500 β with
``full=True``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.metrics.evaluate import N_LIKELIHOOD, N_LIKELIHOOD_FULL, evaluation, n_evaluation_samples

__all__ = ["BOX_SIGMAS", "GRID_BINS", "GRID_BINS_FULL", "box", "grid_log_z", "grid_log_likelihood",
           "null_log_likelihoods", "likelihood_nulls", "is_fully_visible_bm", "bm_ais", "bm_ais_likelihood"]

#: Margin of the box (in σ of the mixture) beyond the means for the grid normalisation and the uniform null.
BOX_SIGMAS = 6.0
#: Margin of the box (share of the data's span) when the data has no known mixture density.
BOX_SPAN_MARGIN = 0.1
#: Cells per side: default ``genzoo eval`` and ``--full`` (the zoo's quick and full budgets).
GRID_BINS = 300
GRID_BINS_FULL = 400
#: AIS schedule of the BM: β and runs by default, and β with ``full=True`` (S&M 2008's 14 500).
BM_AIS_BETAS = 1000
BM_AIS_BETAS_FULL = 14_500
BM_AIS_RUNS = 100


# ---------------------------------------------------------------------------------- 2-D energies on a grid
def box(dataset: Any) -> tuple[Tensor, Tensor]:
    """(low, high) per coordinate (float64): the mixture means' bounding box grown by ``BOX_SIGMAS``·σ, else
    the data's bounding box grown by ``BOX_SPAN_MARGIN`` of its span."""
    density = getattr(dataset, "density", None)
    if density is not None and hasattr(density, "means"):
        means = density.means.double().cpu()
        sigma = float(torch.as_tensor(density.std).double().max())
        return means.min(0).values - BOX_SIGMAS * sigma, means.max(0).values + BOX_SIGMAS * sigma
    x = dataset.x.double().cpu().reshape(len(dataset.x), -1)
    low, high = x.min(0).values, x.max(0).values
    margin = BOX_SPAN_MARGIN * (high - low).clamp_min(1e-6)
    return low - margin, high + margin


def grid_log_z(neg_energy: Callable[[Tensor], Tensor], low: Tensor, high: Tensor, bins: int) -> float:
    """log ∫_box exp(−E) ≈ logsumexp over the cell centres of a bins × bins grid + log(cell area)."""
    if bins < 1:
        raise GenzooError(f"invalid value bins={bins}: must be ≥ 1")
    cx = low[0] + (high[0] - low[0]) * (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
    cy = low[1] + (high[1] - low[1]) * (torch.arange(bins, dtype=torch.float64) + 0.5) / bins
    gx, gy = torch.meshgrid(cx, cy, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    area = float((high[0] - low[0]) * (high[1] - low[1])) / bins**2
    with torch.no_grad():  # 8 192 centres per call: a few MB of activations for genzoo's 2-D MLPs
        values = torch.cat([neg_energy(c.float()).double().reshape(-1).cpu() for c in points.split(8192)])
    return float(torch.logsumexp(values, 0)) + math.log(area)


def _model_device(model: Any) -> torch.device:
    params = list(model.parameters()) if callable(getattr(model, "parameters", None)) else []
    return params[0].device if params else torch.device("cpu")


def grid_log_likelihood(model: Any, x: Tensor, low: Tensor, high: Tensor, bins: int) -> tuple[Tensor, float]:
    """(log p̂(x) per point (N,) float64, log Z_B) for a 2-D energy model normalised on the bins × bins grid."""
    if x.ndim != 2 or x.shape[1] != 2:
        raise GenzooError(f"grid normalisation is for 2-D points, got shape {tuple(x.shape)}")
    device = _model_device(model)
    with torch.no_grad():
        log_z = grid_log_z(lambda y: -model.energy(y.to(device)), low, high, bins)
        values = torch.cat([-model.energy(xb.to(device)).double().reshape(-1).cpu() for xb in x.split(8192)])
    return values - log_z, log_z


def null_log_likelihoods(dataset: Any, x: Tensor, bins: int) -> list[dict[str, Any]]:
    """Log-likelihoods (mean, se over the points) of the nulls on the test points ``x``: the data's exact density
    (−H(p)), a Gaussian fitted to the training data by moments, uniform on :func:`box`; and the grid
    normalisation applied to the exact density, whose gap to the exact value is the discretisation error
    of grid-normalised rows at ``bins``. Needs a data set with a known density."""
    rows = []
    exact = dataset.density.log_prob(x.double())
    rows.append({"null": "data", "ll_kind": "exact", **dict(zip(("ll", "ll_se"), mean_se(exact)))})
    train = dataset.x.double().cpu().reshape(len(dataset.x), -1)
    gauss = torch.distributions.MultivariateNormal(train.mean(0), torch.cov(train.T))
    rows.append({"null": "gaussian", "ll_kind": "exact", **dict(zip(("ll", "ll_se"), mean_se(gauss.log_prob(x.double()))))})
    low, high = box(dataset)
    inside = ((x.double() >= low) & (x.double() <= high)).all(1)
    log_u = -float(torch.log(high - low).sum())
    rows.append({"null": "uniform-box", "ll_kind": "exact", "ll": log_u if bool(inside.all()) else -math.inf,
                 "ll_se": 0.0, "outside": int((~inside).sum())})
    log_z = grid_log_z(lambda y: dataset.density.log_prob(y.double()), low, high, bins)
    rows.append({"null": "data (grid-normalised)", "ll_kind": "grid", "grid_bins": bins,
                 **dict(zip(("ll", "ll_se"), mean_se(exact - log_z)))})
    return rows


#: Likelihood rows a null stands beside in ``genzoo eval``'s table (the grid-normalised data only beside the grid row).
LIKELIHOOD_KEYS = ("log_likelihood", "log_likelihood_ais", "log_likelihood_grid", "log_likelihood_iw", "elbo")


def likelihood_nulls(dataset: Any, metrics: dict[str, float], seed: int = 0, full: bool = False) -> dict[str, dict[str, float]]:
    """The nulls' mean log-likelihoods on ``genzoo eval``'s held-out draw, keyed like its ``nulls``: {null: {key: value}}.

    Only for data with a known mixture density and only for the likelihood keys in ``metrics``; the
    uniform null is on the grid's box (named "uniform (grid box)": the sample-quality "uniform-box"
    null is on a smaller box).
    """
    keys = [k for k in LIKELIHOOD_KEYS if k in metrics]
    density = getattr(dataset, "density", None)
    if not keys or density is None or not hasattr(density, "means") or tuple(dataset.x.shape[1:]) != (2,):
        return {}
    bins = int(metrics.get("grid_bins", GRID_BINS_FULL if full else GRID_BINS))
    out: dict[str, dict[str, float]] = {}
    for row in null_log_likelihoods(dataset, _held_out(dataset, seed, full), bins):
        name = {"uniform-box": "uniform (grid box)"}.get(row["null"], row["null"])
        shown = ["log_likelihood_grid"] if row["ll_kind"] == "grid" else keys
        out[name] = {k: float(row["ll"]) for k in shown if k in keys}
    return {name: values for name, values in out.items() if values}


def mean_se(values: Tensor) -> tuple[float, float]:
    """(mean, standard error of the mean) of per-point values; (−inf, nan) when any is not finite."""
    v = values.double().reshape(-1)
    if not bool(torch.isfinite(v).all()):
        return -math.inf, math.nan
    return float(v.mean()), float(v.std() / math.sqrt(v.numel())) if v.numel() > 1 else math.nan


def _has_other_likelihood(model: Any) -> bool:
    return any(callable(getattr(model, name, None)) for name in ("log_prob", "log_prob_estimate", "elbo", "log_joint"))


def _grid_applies(model: Any, dataset: Any) -> bool:
    """A 2-D energy model with no likelihood of its own (the zoo's rule: exact, AIS and bounds come first)."""
    return (callable(getattr(model, "energy", None)) and not _has_other_likelihood(model)
            and dataset.kind == "points" and tuple(dataset.x.shape[1:]) == (2,))


def _held_out(dataset: Any, seed: int, full: bool) -> Tensor:
    """The likelihoods' held-out draw (the same examples as genzoo.metrics.evaluate's exact likelihood)."""
    n = n_evaluation_samples(dataset, N_LIKELIHOOD_FULL if full else N_LIKELIHOOD)
    return dataset.fresh(n, torch.Generator().manual_seed(seed + 2)).float().cpu()


# one pass over a 300² (400² full) grid of a small MLP: well under a second, scored at the end of training
@evaluation("likelihood-grid", applies=_grid_applies, tier="final")
def grid_likelihood_metrics(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    """``log_likelihood_grid`` ± se over the held-out points, with the box and the cells per side."""
    low, high = box(dataset)
    bins = GRID_BINS_FULL if full else GRID_BINS
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        values, log_z = grid_log_likelihood(model, _held_out(dataset, seed, full), low, high, bins)
    finally:
        if was_training:
            model.train()
    mean, se = mean_se(values)
    return {"log_likelihood_grid": mean, "log_likelihood_grid_se": se, "grid_bins": float(bins), "log_z_grid": log_z,
            "grid_x_low": float(low[0]), "grid_x_high": float(high[0]), "grid_y_low": float(low[1]),
            "grid_y_high": float(high[1])}


# ---------------------------------------------------------------------------------- fully visible BM by AIS
def is_fully_visible_bm(model: Any) -> bool:
    """Pairwise binary energy −Φ(x) = bᵀx + ½ xᵀWx with a square W, an ``energy`` and no exact ``log_prob``."""
    W, b = getattr(model, "W", None), getattr(model, "b", None)
    return (isinstance(W, Tensor) and isinstance(b, Tensor) and W.ndim == 2 and W.shape[0] == W.shape[1] == b.shape[-1]
            and callable(getattr(model, "energy", None)) and not callable(getattr(model, "log_prob_estimate", None)))


def bm_ais(model: Any, base_mean: Tensor, betas: int = BM_AIS_BETAS, runs: int = BM_AIS_RUNS) -> Any:
    """log Ẑ of a fully visible BM by forward AIS from the base-rate model (:class:`genzoo.sampling.ais.AISResult`).

    ``base_mean`` (M,): the training data's marginals p̂_i (clamped to [1e-6, 1 − 1e-6]). Randomness
    from torch's global generator. Log weights in float64; the Gibbs sweeps in the model's dtype.
    """
    from genzoo.progress import bar
    from genzoo.sampling.ais import _summarise, sm2008_betas
    from genzoo.sampling.gibbs import SingleSiteGibbs

    if runs < 2:
        raise GenzooError(f"invalid value runs={runs}: AIS needs ≥ 2 runs for its standard error")
    with torch.no_grad():
        W, b = model.W.detach(), model.b.detach()
        p = base_mean.detach().double().reshape(-1).clamp(1e-6, 1 - 1e-6)
        a64 = torch.log(p) - torch.log1p(-p)
        a = a64.to(dtype=W.dtype, device=W.device)
        log_z_base = float(F.softplus(a64).sum())
        schedule = sm2008_betas(betas).tolist()
        x = (torch.rand(runs, W.shape[0], dtype=W.dtype, device=W.device) < torch.sigmoid(a)).to(W.dtype)
        log_w = torch.zeros(runs, dtype=torch.float64, device=W.device)
        gibbs = SingleSiteGibbs(1)

        def log_ratio(state: Tensor) -> Tensor:  # ∂ log f_β / ∂β = −Φ(x) − aᵀx
            return -model.energy(state).double() - state.double() @ a64.to(W.device)

        for k in bar(range(1, len(schedule)), desc=f"BM AIS {betas} β", unit="β"):
            log_w += (schedule[k] - schedule[k - 1]) * log_ratio(x)
            if k < len(schedule) - 1:  # the last state is not used again
                beta = schedule[k]
                x = gibbs(x, beta * W, beta * b + (1 - beta) * a)
    return _summarise(log_w.cpu(), log_z_base, betas, reverse=False)


def _bm_applies(model: Any, dataset: Any) -> bool:
    return is_fully_visible_bm(model) and not callable(getattr(model, "log_prob", None))


def bm_ais_likelihood(model: Any, x: Tensor, train_x: Tensor, betas: int | None = None, runs: int | None = None,
                      seed: int = 0) -> dict[str, float]:
    """Mean AIS test log-likelihood of ``x`` (nats) under a fully visible BM, the base rate from ``train_x``.

    Keys as the RBM's (:mod:`genzoo.metrics.ais`): ``log_likelihood_ais`` (estimate), ``log_z_std``
    (its ± se), ``log_likelihood_ais_low``/``_high`` (±3 se), ``log_likelihood_sandwich_high``,
    ``log_likelihood_certain_upper``, ``ais_betas``, ``ais_runs``. ``betas``/``runs`` default to
    ``BM_AIS_BETAS``/``BM_AIS_RUNS``. Seeded by ``seed``; torch's
    global random state is restored after, so a training run's stream does not move.
    """
    betas = BM_AIS_BETAS if betas is None else betas
    runs = BM_AIS_RUNS if runs is None else runs
    flat = x.reshape(len(x), -1)
    train = train_x.double().cpu().reshape(len(train_x), -1)
    base = (train.sum(0) + 1.0) / (train.shape[0] + 2.0)  # Laplace-smoothed: no unit is certain under p_A
    rng = torch.get_rng_state()
    torch.manual_seed(seed)
    device = model.W.device
    try:
        with torch.no_grad():
            neg_phi = torch.cat([-model.energy(xb.to(device)).double().cpu() for xb in flat.split(4096)])
            result = bm_ais(model, base, betas, runs)
    finally:
        torch.set_rng_state(rng)
    neg_f = float(neg_phi.mean())
    # Z ≥ Σ over the distinct test vectors of e^{−Φ}: the mean log-likelihood is at most mean(−Φ) − that logsumexp
    _, inverse = torch.unique(flat.cpu(), dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(flat), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(len(flat)), reduce="amin")
    out = {"log_likelihood_ais": neg_f - result.log_z, "log_z_ais": result.log_z, "log_z_std": result.log_z_std,
           "log_likelihood_ais_low": neg_f - result.high, "log_likelihood_ais_high": neg_f - result.low,
           "log_likelihood_sandwich_high": neg_f - result.log_z_bound,
           "log_likelihood_certain_upper": neg_f - float(torch.logsumexp(neg_phi[first], 0)),
           "ais_betas": float(betas), "ais_runs": float(runs)}
    return {k: v for k, v in out.items() if not math.isnan(v)}


# 1 000 β × 100 runs × M single-site updates: seconds for 64 units; once, at the end of training
@evaluation("likelihood-bm-ais", applies=_bm_applies, tier="final")
def bm_ais_metrics(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    """AIS test log-likelihood of a BM too large to enumerate, ± se, with the certain and sandwich bounds."""
    return bm_ais_likelihood(model, _held_out(dataset, seed, full), dataset.x,
                             BM_AIS_BETAS_FULL if full else None, None, seed)
