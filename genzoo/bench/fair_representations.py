"""Fair representations: do VFAE and HSIC-VAE remove a sensitive attribute s from the code while a
downstream task stays predictable? VAE as the baseline.

Protocol:

* data: ``dsprites_fair`` (:mod:`genzoo.data.fairness`): dSprites-like 32×32 sprites, s = the image
  half the sprite lies in (binary), task = shape (3 classes), s ⟂ task; 3 686 train / 922 test images;
* models, one shared network and optimiser (MLP 2 × 128, Bernoulli decoder, 10 latents, Adam
  lr 1e-3, batch 64, ``steps`` iterations: quick 600, full 20 000; seeds 0..``seeds``−1 (3)):
  ``vae`` (sees x only), ``vfae`` (decoder p(x|z, s), λ·MMD between the s-groups, λ = 1000),
  ``hsic-vae`` (decoder p(x|z, s), λ·HSIC(z, s), λ = 1000);
* probes: on the encoder means of the training images, a logistic regression (scikit-learn
  defaults on standardised codes) and a random forest (100 trees, seeded) are fitted to predict s
  and the task; their accuracies on the test images are reported. Chance: s ½, task ⅓;
* null rows scored by the same probes: ``random codes`` (noise independent of x: chance) and
  ``pixels`` (the raw 1 024 pixels: what is predictable from x itself; logistic regression only).

Cells: ``pixels``, then per seed ``random codes`` and each model (trained through genzoo's trainer,
as in ``disentanglement``). Outputs ``fair_representations.csv/.json`` and ``fair_representations_summary.csv`` (mean ± std).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.disentanglement import SHARED, TRAINING, _summary, test_bound, train_model
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.data import load

MODELS_UNDER_TEST: dict[str, tuple[str, dict[str, Any]]] = {
    "vae": ("vae", {}), "vfae": ("vfae", {"lambda_": 1000.0}), "hsic-vae": ("hsic-vae", {"lambda_": 1000.0, "sensitive": True})}
KEYS = ("s_acc_lr", "s_acc_rf", "task_acc_lr", "task_acc_rf")


def probe(train: np.ndarray, test: np.ndarray, ytr: np.ndarray, yte: np.ndarray, seed: int, forest: bool = True) -> tuple[float, float]:
    """Test accuracy of a logistic regression (standardised inputs) and, if ``forest``, a random forest."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train, ytr).score(test, yte)
    rf = RandomForestClassifier(100, random_state=seed).fit(train, ytr).score(test, yte) if forest else float("nan")
    return float(lr), float(rf)


def probes(ztr: np.ndarray, zte: np.ndarray, ds: Any, seed: int, forest: bool = True) -> dict[str, float]:
    (s_lr, s_rf), (t_lr, t_rf) = (probe(ztr, zte, y.numpy(), ty.numpy(), seed, forest) for y, ty in ((ds.y, ds.test_y), (ds.task, ds.test_task)))
    return {"s_acc_lr": s_lr, "s_acc_rf": s_rf, "task_acc_lr": t_lr, "task_acc_rf": t_rf}


@experiment
class FairRepresentations(Experiment):
    """VFAE and HSIC-VAE vs VAE: accuracy of predicting the sensitive s from z (→ chance) and a downstream task (kept)."""

    name = "fair-representations"
    version = 2  # v2: training through the trainer (v1: a private loop drawing batches with replacement)
    options = {**TRAINING,
               "models": Option(tuple(MODELS_UNDER_TEST), meaning="models under test", choices=tuple(MODELS_UNDER_TEST))}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell("pixels", {"model": "pixels"}, seed=0, priority=-1, cost=0.2, baseline=True)] + [
            Cell(slug(label, seed), {"model": label}, seed=seed, priority=seed, cost=0.1 if label == "random codes" else 1,
                 baseline=label == "random codes")
            for seed in range(o.seeds) for label in ("random codes", *o.models)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        from genzoo.metrics.disentanglement import codes_of  # here: genzoo.metrics imports scipy, which `genzoo list` must not pay for

        torch.set_num_threads(o.threads)
        label, seed, ds = cell.params["model"], cell.seed, load("dsprites_fair")
        x, tx = ds.x, ds.test_x
        if label == "pixels":
            return probes(x.flatten(1).numpy(), tx.flatten(1).numpy(), ds, 0, forest=False)
        if label == "random codes":
            g = torch.Generator().manual_seed(seed)
            noise = lambda n: torch.randn(n, SHARED["latent_dim"], generator=g).numpy()  # noqa: E731
            return probes(noise(len(x)), noise(len(tx)), ds, seed)
        name, overrides = MODELS_UNDER_TEST[label]
        t0 = time.perf_counter()
        model = train_model(ctx, name, "dsprites_fair", o, seed, **overrides)
        return {**test_bound(model, tx), "train_seconds": time.perf_counter() - t0,
                **probes(codes_of(model.encode, x), codes_of(model.encode, tx), ds, seed)}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows = [{"model": r["params"]["model"], "seed": r["seed"], **r["metrics"]} for r in records]
        write_results(out, "fair_representations", rows, data="dsprites_fair", steps=o.steps, batch=o.batch, seeds=o.seeds,
                      shared=SHARED, models={k: MODELS_UNDER_TEST[k] for k in o.models},
                      seconds=sum(r["seconds"] for r in records))
        write_results(out, "fair_representations_summary", _summary(rows, KEYS + ("elbo", "rate", "distortion")),
                      steps=o.steps, seeds=o.seeds)
