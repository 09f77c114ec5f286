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

Options besides the budget: ``ks`` (the k of the trained bounds, default ``1,5,50``; k = 1 is the
``vae`` model) and ``device`` (``auto``: CUDA when available; ``cpu``, ``cuda``, ``cuda:N``).

Burda et al.'s Table 1 is not copied here: compare only at the paper's training budget.
Outputs: ``vae_vs_iwae.csv/json``, rewritten after every trained model (``complete: false`` until
the last), so an interrupted run keeps the models it finished.
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
    "ks": ("1,5,50", "1,5,50"),
    "device": ("auto", "auto"),
}


@benchmark("vae-vs-iwae")
def vae_vs_iwae(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """Claim 12: VAE vs IWAE (k = 5, 50) on binarised MNIST, test log-likelihood by L_K, ≥ 3 seeds."""
    from genzoo import data
    from genzoo.errors import GenzooError
    from genzoo.metrics.likelihood import iw_log_likelihood
    from genzoo.metrics.vae import active_units
    from genzoo.models import DataSpec
    from genzoo.train.trainer import resolve_device

    opts = resolve_options(DEFAULTS, quick, options)
    device = resolve_device(opts["device"])
    try:
        ks = [int(v) for v in opts["ks"].split(",") if v.strip()]
    except ValueError:
        raise GenzooError(f"invalid value ks={opts['ks']!r}: expected comma-separated integers like 1,5,50") from None
    if not ks or min(ks) < 1:
        raise GenzooError(f"invalid value ks={opts['ks']!r}: every k must be ≥ 1")
    variants = [("vae", 1) if k == 1 else ("iwae", k) for k in ks]
    start = time.perf_counter()
    ds = data.load("binarized_mnist", seed=0)
    test = ds.test_x[: int(opts["n_test"])].to(device)
    train_x = ds.x.to(device)
    spec = DataSpec.of(ds)
    rows: list[dict[str, Any]] = []

    def save(rows: list[dict[str, Any]], complete: bool) -> None:
        _save(out, ds, test, variants, rows, options=opts, quick=quick, complete=complete,
              binarisation="static (stochastic, seed 0)", seconds=time.perf_counter() - start)

    for name, k in variants:
        for seed in range(int(opts["seeds"])):
            torch.manual_seed(seed)
            extra = {"k": k} if name == "iwae" else {}
            model = new_model(name, spec, arch="mlp", hidden=200, depth=2, activation="tanh", latent_dim=50, lr=float(opts["lr"]), **extra)
            model.to(device)
            t = time.perf_counter()
            fit(model, train_x, int(opts["steps"]), batch=int(opts["batch_size"]), seed=seed)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            train_s = time.perf_counter() - t
            model.eval()
            torch.manual_seed(1000 + seed)
            with torch.no_grad():
                ll = torch.cat([iw_log_likelihood(model, test[i : i + 100], int(opts["eval_k"])) for i in range(0, test.shape[0], 100)])
                elbo = torch.cat([model.elbo(test[i : i + 500]) for i in range(0, test.shape[0], 500)])
            au, _ = active_units(model, test)
            rows.append({"model": name, "k_train": k, "seed": seed, "log_likelihood_iw": float(ll.mean()),
                         "iw_se": float(ll.std() / len(ll) ** 0.5), "eval_k": int(opts["eval_k"]), "elbo": float(elbo.mean()),
                         "active_units": au, "train_seconds": train_s, "steps": int(opts["steps"]),
                         "epochs": int(opts["steps"]) * int(opts["batch_size"]) / len(ds.x), "device": str(device)})
            save(rows, complete=False)
    save(rows, complete=True)
    return out


def _save(out: Path, ds: Any, test: torch.Tensor, variants: list[tuple[str, int]], rows: list[dict[str, Any]], **meta: Any) -> None:
    """The table: the rows so far, a mean row per variant with finished seeds, the null baseline."""
    summary = []
    for name, k in variants:
        done = [r for r in rows if r["model"] == name and r["k_train"] == k]
        if not done:
            continue
        vals = [r["log_likelihood_iw"] for r in done]
        summary.append({"model": f"{name} k={k}", "seed": "mean", "log_likelihood_iw": statistics.mean(vals),
                        "iw_sd_over_seeds": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                        "active_units": statistics.mean(r["active_units"] for r in done)})
    test = test.cpu()
    p = ds.x.mean(0).clamp(1e-4, 1 - 1e-4)
    null = float((test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean())
    summary.append({"model": "null: independent pixels (exact)", "seed": "-", "log_likelihood_iw": null})
    write_results(out, "vae_vs_iwae", rows + summary, **meta)
