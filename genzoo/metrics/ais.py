"""Test log-likelihood by annealed importance sampling, with its error and a conservative counterpart.

For a model with ``log_prob_estimate`` (an RBM: log p(v) = −F(v) − log Z with log Z estimated by
AIS, :mod:`genzoo.sampling.ais`), on held-out data (the same draw as the exact likelihood):

* ``log_likelihood_ais`` — mean of −F(v) − log Ẑ (forward AIS, S&M 2008's base-rate path). An
  *estimate*: AIS underestimates log Z on average, so this tends to be optimistic.
* ``log_z_ais``, ``log_z_std`` — log Ẑ and its standard error (delta method over the runs);
  ``log_likelihood_ais_low`` / ``_high`` — the log-likelihood at log(Ẑ ± 3 se(Ẑ)), S&M's ±3σ.
* ``log_likelihood_conservative`` — mean of −F(v) − log Ẑ_rev with Ẑ_rev from reverse AIS
  (models with ``reverse_ais``), which overestimates log Z on average when its starting samples
  are exact. The true log-likelihood is therefore bracketed by the two only in expectation
  (E[``log_likelihood_conservative``] ≤ true ≤ E[``log_likelihood_ais``]): both are stochastic
  bounds, and a single evaluation can put both on the same side of the true value.
  ``conservative_exact_start`` = 1 when the start samples were exact (hidden layer enumerated),
  0 when they came from long Gibbs chains (then even the bracket in expectation holds only as
  far as those chains mixed).
* ``log_likelihood_certain_upper`` (Bernoulli visibles) — a deterministic upper bound: Z is at
  least the sum of e^{−F(v)} over the distinct evaluated examples, so the mean log-likelihood is at
  most mean(−F) − logsumexp(−F); an AIS estimate above it is certainly wrong.
* ``log_likelihood_sandwich_low`` / ``_high`` — the same with the mean-log-weight bounds
  (log Z_A ± mean log w), which lie on their side of log Z run by run in expectation.

Schedule: the model's own (S&M: 14 500 β, 100 runs) with ``full=True``; during training and in
a default ``genzoo eval`` a cheaper 1 000 β × 100 runs (reported as ``ais_betas``/``ais_runs``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from genzoo.metrics.evaluate import N_LIKELIHOOD, N_LIKELIHOOD_FULL, evaluation, n_evaluation_samples

#: β and runs for the cheap (non-full) evaluation.
AIS_BETAS_CHEAP = 1000
AIS_RUNS_CHEAP = 100


def _applies(model: Any, dataset: Any) -> bool:
    return callable(getattr(model, "log_prob_estimate", None))


# forward and reverse AIS (1 000 β × 100 runs when not full): once, at the end of training
@evaluation("log_likelihood_ais", applies=_applies, tier="final")
def ais_log_likelihood(model: Any, dataset: Any, seed: int = 0, full: bool = False) -> dict[str, float]:
    """AIS log-likelihood (estimate ± error) and the reverse-AIS conservative value on held-out data."""
    n = n_evaluation_samples(dataset, N_LIKELIHOOD_FULL if full else N_LIKELIHOOD)
    x = dataset.fresh(n, torch.Generator().manual_seed(seed + 2))
    config = getattr(model, "config", None)
    betas = getattr(config, "ais_betas", AIS_BETAS_CHEAP)
    runs = getattr(config, "ais_runs", AIS_RUNS_CHEAP)
    if not full:
        betas, runs = min(betas, AIS_BETAS_CHEAP), min(runs, AIS_RUNS_CHEAP)
    params = list(model.parameters()) if callable(getattr(model, "parameters", None)) else []
    x = x.to(params[0].device if params else "cpu")
    rng = torch.get_rng_state()  # evaluation must not shift the training run's random stream
    torch.manual_seed(seed)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with torch.no_grad():
            out: dict[str, float] = {"ais_betas": float(betas), "ais_runs": float(runs)}
            if callable(getattr(model, "ais", None)) and callable(getattr(model, "energy", None)):
                neg_fs = torch.cat([-model.energy(x[i : i + 500]).double().cpu() for i in range(0, len(x), 500)])
                neg_f = neg_fs.mean().item()
                if getattr(config, "visible", None) == "bernoulli":  # discrete v: Z ≥ Σ_{distinct v} e^{−F(v)}
                    flat = x.reshape(len(x), -1).cpu()
                    _, inverse = torch.unique(flat, dim=0, return_inverse=True)
                    first = torch.full((int(inverse.max()) + 1,), len(x), dtype=torch.long)
                    first.scatter_reduce_(0, inverse, torch.arange(len(x)), reduce="amin")
                    out["log_likelihood_certain_upper"] = neg_f - torch.logsumexp(neg_fs[first], 0).item()
                fwd = model.ais(betas, runs)
                out.update(
                    log_likelihood_ais=neg_f - fwd.log_z,
                    log_z_ais=fwd.log_z,
                    log_z_std=fwd.log_z_std,
                    log_likelihood_ais_low=neg_f - fwd.high,
                    log_likelihood_ais_high=neg_f - fwd.low,
                    log_likelihood_sandwich_high=neg_f - fwd.log_z_bound,
                )
                if callable(getattr(model, "reverse_ais", None)):
                    rev, exact_start = model.reverse_ais(betas, runs)
                    out.update(
                        log_likelihood_conservative=neg_f - rev.log_z,
                        log_z_reverse=rev.log_z,
                        log_z_reverse_std=rev.log_z_std,
                        log_likelihood_sandwich_low=neg_f - rev.log_z_bound,
                        conservative_exact_start=float(exact_start),
                    )
            else:
                values, std = model.log_prob_estimate(x)
                out.update(log_likelihood_ais=float(values.double().mean()), log_z_std=float(std))
    finally:
        torch.set_rng_state(rng)
        if was_training:
            model.train()
    return {k: v for k, v in out.items() if not (isinstance(v, float) and math.isnan(v))}
