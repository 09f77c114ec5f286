"""Claim 12: VAE vs IWAE on binarised MNIST (Burda, Grosse & Salakhutdinov 2016, §5).

Protocol (pinned; ``--set KEY=VALUE`` changes it): ``binarized_mnist`` (stochastic binarisation,
each pixel ~ Bernoulli(intensity), drawn once from the seed: a *static* binarisation of train and
test); one stochastic layer of 50 units, two deterministic layers of 200 tanh units in encoder and
decoder (the paper's MNIST architecture), Bernoulli decoder; Adam lr 1e-3, batch 20 (the paper
anneals lr over 3 280 passes — far beyond this CPU budget, so our numbers are those of short runs);
models ``vae`` (k = 1) and ``iwae`` with k = 5 and k = 50, ``seeds`` seeds each. Test
log-likelihood: the importance-weighted bound L_K with ``eval_k`` samples (the paper: K = 5000)
on the first ``n_test`` test images, a stochastic lower bound, reported with the ELBO, the active
units (Burda et al.'s A_u > 10⁻²) and the spread over seeds. Null baseline: independent Bernoulli
pixels at the training marginals (an exact log-likelihood).

Burda et al.'s Table 1 is not copied here: compare only at the paper's training budget.
Outputs: ``vae_vs_iwae.csv/json``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import benchmark, write_results
from genzoo.bench.rate_distortion import fit, new_model, resolve_options

DEFAULTS: dict[str, tuple[str, str]] = {
    "steps": ("30000", "1000"),
    "seeds": ("3", "3"),
    "eval_k": ("5000", "500"),
    "n_test": ("10000", "500"),
    "batch_size": ("20", "20"),
    "lr": ("0.001", "0.001"),
}


@benchmark("vae-vs-iwae")
def vae_vs_iwae(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """Claim 12: VAE vs IWAE (k = 5, 50) on binarised MNIST, test log-likelihood by L_K, ≥ 3 seeds."""
    from genzoo import data
    from genzoo.metrics.likelihood import iw_log_likelihood
    from genzoo.metrics.vae import active_units
    from genzoo.models import DataSpec

    opts = resolve_options(DEFAULTS, quick, options)
    start = time.perf_counter()
    ds = data.load("binarized_mnist", seed=0)
    test = ds.test_x[: int(opts["n_test"])]
    spec = DataSpec.of(ds)
    rows: list[dict[str, Any]] = []
    for name, k in (("vae", 1), ("iwae", 5), ("iwae", 50)):
        for seed in range(int(opts["seeds"])):
            torch.manual_seed(seed)
            extra = {"k": k} if name == "iwae" else {}
            model = new_model(name, spec, arch="mlp", hidden=200, depth=2, activation="tanh", latent_dim=50, lr=float(opts["lr"]), **extra)
            t = time.perf_counter()
            fit(model, ds.x, int(opts["steps"]), batch=int(opts["batch_size"]), seed=seed)
            train_s = time.perf_counter() - t
            model.eval()
            torch.manual_seed(1000 + seed)
            with torch.no_grad():
                ll = torch.cat([iw_log_likelihood(model, test[i : i + 100], int(opts["eval_k"])) for i in range(0, test.shape[0], 100)])
                elbo = torch.cat([model.elbo(test[i : i + 500]) for i in range(0, test.shape[0], 500)])
            au, _ = active_units(model, test)
            rows.append({"model": name, "k_train": k, "seed": seed, "log_likelihood_iw": float(ll.mean()),
                         "iw_se": float(ll.std() / len(ll) ** 0.5), "eval_k": int(opts["eval_k"]), "elbo": float(elbo.mean()),
                         "active_units": au, "train_seconds": train_s})
    summary = []
    for name, k in (("vae", 1), ("iwae", 5), ("iwae", 50)):
        vals = [r["log_likelihood_iw"] for r in rows if r["model"] == name and r["k_train"] == k]
        summary.append({"model": f"{name} k={k}", "seed": "mean", "log_likelihood_iw": statistics.mean(vals),
                        "iw_sd_over_seeds": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                        "active_units": statistics.mean(r["active_units"] for r in rows if r["model"] == name and r["k_train"] == k)})
    p = ds.x.mean(0).clamp(1e-4, 1 - 1e-4)
    null = float((test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean())
    summary.append({"model": "null: independent pixels (exact)", "seed": "-", "log_likelihood_iw": null})
    write_results(out, "vae_vs_iwae", rows + summary, options=opts, quick=quick, binarisation="static (stochastic, seed 0)",
                  seconds=time.perf_counter() - start)
    return out
