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
Cells: one per (k, seed), each trained through genzoo's trainer in its run directory (``runs/<cell>``:
checkpoints every 1 000 updates, so ``--time-limit`` stops a long cell there and the next call
continues it); its record keeps the training loss (−L_k on the minibatch) every 100 updates, drawn
per k against epochs in ``learning_curves.png``. Outputs: ``vae_vs_iwae.csv/json`` (the finished cells' rows, a mean row
per k, the null; ``complete: false`` until every cell has finished).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug, train


def _test_x(o: Options) -> tuple[Any, torch.Tensor]:
    from genzoo import data

    ds = data.load("binarized_mnist", seed=0)
    return ds, ds.test_x[: o.n_test]


@experiment
class VaeVsIwae(Experiment):
    """Claim 12: VAE vs IWAE (k = 5, 50) on binarised MNIST, test log-likelihood by L_K, ≥ 3 seeds."""

    name = "vae-vs-iwae"
    version = 2  # v2: training through the trainer (v1: a private loop drawing batches with replacement)
    options = {"steps": Option(30_000, 1000, "updates"), "seeds": Option(3, 3, "number of seeds (0, 1, …)"),
               "eval_k": Option(5000, 500, "importance samples of the test bound L_K"), "n_test": Option(10_000, 500, "test images"),
               "batch_size": Option(20, 20, "minibatch"), "lr": Option(0.001, 0.001, "Adam learning rate"),
               "ks": Option((1, 5, 50), meaning="k of the trained bounds (k = 1: the vae model)"),
               "device": Option("auto", meaning="auto (CUDA when available), cpu, cuda, cuda:N")}

    def check(self, o: Options, quick: bool) -> None:
        from genzoo.errors import GenzooError
        from genzoo.train.trainer import resolve_device

        if not o.ks or min(o.ks) < 1:
            raise GenzooError(f"invalid value ks={','.join(map(str, o.ks))!r}: every k must be ≥ 1")
        resolve_device(o.device)

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(slug("vae" if k == 1 else "iwae", f"k{k}", f"s{seed}"), {"model": "vae" if k == 1 else "iwae", "k": k},
                     seed=seed, priority=seed, cost=o.steps * k / 1000, gpu=True) for k in o.ks for seed in range(o.seeds)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from genzoo.metrics.likelihood import iw_log_likelihood
        from genzoo.metrics.vae import active_units
        from genzoo import run
        from genzoo.files import METRICS, read_metrics
        from genzoo.train.trainer import resolve_device

        device = torch.device(ctx.device) if o.device == "auto" and ctx.device.startswith("cuda") else resolve_device(o.device)
        ds, test = _test_x(o)
        test, name, k, seed = test.to(device), cell.params["model"], cell.params["k"], cell.seed
        sets = ["arch=mlp", "hidden=200", "depth=2", "activation=tanh", "latent_dim=50", f"lr={o.lr}", *([f"k={k}"] if name == "iwae" else []),
                "data.seed=0", f"train.seed={seed}", f"train.steps={o.steps}", f"train.batch_size={o.batch_size}", f"train.device={device}",
                f"train.threads={ctx.threads}", "train.progress=false", "train.sample_every=0"]
        t = time.perf_counter()
        run_dir, _ = train(ctx, run.resolve(name, "binarized_mnist", sets=sets))
        train_s = time.perf_counter() - t
        model = run.load(run_dir, device=str(device))[0].eval()
        curve = [(r["step"] * o.batch_size / len(ds.x), r["loss"]) for r in read_metrics(run_dir / METRICS)[0] if "loss" in r]
        torch.manual_seed(1000 + seed)
        with torch.no_grad():
            ll = torch.cat([iw_log_likelihood(model, test[i : i + 100], o.eval_k) for i in range(0, test.shape[0], 100)])
            elbo = torch.cat([model.elbo(test[i : i + 500]) for i in range(0, test.shape[0], 500)])
        au, _ = active_units(model, test)
        return {"model": name, "k_train": k, "seed": seed, "log_likelihood_iw": float(ll.mean()),
                "iw_se": float(ll.std() / len(ll) ** 0.5), "eval_k": o.eval_k, "elbo": float(elbo.mean()), "active_units": au,
                "train_seconds": train_s, "steps": o.steps, "epochs": o.steps * o.batch_size / len(ds.x), "device": str(device),
                "curve_epochs": [e for e, _ in curve], "curve_loss": [v for _, v in curve]}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        """The finished rows, a mean row per k with finished seeds, the null: independent pixels at the training marginals."""
        from genzoo.viz import save_curves

        rows = [{k: v for k, v in r["metrics"].items() if not k.startswith("curve_")} for r in records]
        curves = {f"{r['metrics']['model']} k={r['metrics']['k_train']} s{r['seed']}": (r["metrics"]["curve_epochs"], r["metrics"]["curve_loss"])
                  for r in records if r["metrics"].get("curve_epochs")}
        if curves:
            save_curves(curves, out / "learning_curves.png", "epochs", "training loss (−L_k per image, minibatch)",
                        title="VAE vs IWAE on binarised MNIST")
        summary = []
        for k in o.ks:
            done = [r for r in rows if r["k_train"] == k]
            vals = [r["log_likelihood_iw"] for r in done]
            if done:
                summary.append({"model": f"{done[0]['model']} k={k}", "seed": "mean", "log_likelihood_iw": statistics.mean(vals),
                                "iw_sd_over_seeds": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                                "active_units": statistics.mean(r["active_units"] for r in done)})
        ds, test = _test_x(o)
        p = ds.x.mean(0).clamp(1e-4, 1 - 1e-4)
        null = float((test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean())
        summary.append({"model": "null: independent pixels (exact)", "seed": "-", "log_likelihood_iw": null})
        write_results(out, "vae_vs_iwae", rows + summary, options=dict(o), quick=quick,
                      complete=len(records) == len(self.cells(o, quick)), binarisation="static (stochastic, seed 0)",
                      seconds=sum(r["seconds"] for r in records))
