"""Fair representations: do VFAE and HSIC-VAE remove a sensitive attribute s from the code while a
downstream task stays predictable? VAE as the baseline.

Protocol (pinned; ``genzoo bench fair-representations [--quick] [--set key=value]``):

* data: ``dsprites_fair`` (:mod:`genzoo.data.fairness`): dSprites-like 32×32 sprites, s = which
  half of the image the sprite lies in (binary, balanced), task = shape (3 classes, balanced),
  s ⟂ task by construction; 3 686 train / 922 test images;
* models, one shared network and optimiser (MLP 2 × 128, Bernoulli decoder, 10 latents, Adam
  lr 1e-3, batch 64, ``steps`` iterations: quick 600, full 20 000; seeds 0..``seeds``−1 (3)):
  ``vae`` (sees x only), ``vfae`` (decoder p(x|z, s), λ·MMD between the s-groups, λ = 1000),
  ``hsic-vae`` (decoder p(x|z, s), λ·HSIC(z, s), λ = 1000);
* probes: on the encoder means of the training images, a logistic regression (scikit-learn
  defaults on standardised codes) and a random forest (100 trees, seeded) are fitted to predict s
  and the task; their accuracies on the test images are reported. Chance: s ½, task ⅓;
* null rows scored by the same probes: ``random codes`` (noise independent of x: chance) and
  ``pixels`` (the raw 1 024 pixels: what is predictable from x itself; logistic regression only).

Outputs ``fair_representations.csv/.json`` and ``fair_representations_summary.csv`` (mean ± std).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.bench import benchmark, write_results
from genzoo.bench.disentanglement import SHARED, _summary, build, fit, test_bound
from genzoo.data import load
from genzoo.models import DataSpec

MODELS_UNDER_TEST: dict[str, tuple[str, dict[str, Any]]] = {
    "vae": ("vae", {}),
    "vfae": ("vfae", {"lambda_": 1000.0}),
    "hsic-vae": ("hsic-vae", {"lambda_": 1000.0, "sensitive": True}),
}
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
    s_lr, s_rf = probe(ztr, zte, ds.y.numpy(), ds.test_y.numpy(), seed, forest)
    t_lr, t_rf = probe(ztr, zte, ds.task.numpy(), ds.test_task.numpy(), seed, forest)
    return {"s_acc_lr": s_lr, "s_acc_rf": s_rf, "task_acc_lr": t_lr, "task_acc_rf": t_rf}


@benchmark("fair-representations")
def fair_representations(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """VFAE and HSIC-VAE vs VAE: accuracy of predicting the sensitive s from z (→ chance) and a downstream task (kept)."""
    from genzoo.metrics.disentanglement import codes_of  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for

    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads", 1)))
    steps = int(options.get("steps", 600 if quick else 20_000))
    n_seeds = int(options.get("seeds", 3))
    batch = int(options.get("batch", 64))
    labels = options.get("models", ",".join(MODELS_UNDER_TEST)).split(",")
    ds = load("dsprites_fair")
    x, tx = ds.x.flatten(1), ds.test_x.flatten(1)
    s = ds.y
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    pix = probes(x.numpy(), tx.numpy(), ds, 0, forest=False)
    rows.append({"model": "pixels", "seed": 0, **pix})
    for seed in range(n_seeds):
        g = torch.Generator().manual_seed(seed)
        noise = lambda n: torch.randn(n, SHARED["latent_dim"], generator=g).numpy()  # noqa: E731
        rows.append({"model": "random codes", "seed": seed, **probes(noise(len(x)), noise(len(tx)), ds, seed)})
        for label in labels:
            name, overrides = MODELS_UNDER_TEST[label]
            sensitive = name != "vae"
            spec = DataSpec("images", (x.shape[1],), 2 if sensitive else 0)
            t0 = time.perf_counter()
            model = build(name, spec, seed, **overrides)
            fit(model, x, steps, batch, seed, s=s if sensitive else None)
            model.eval()
            row = {"model": label, "seed": seed, **test_bound(model, tx), "train_seconds": time.perf_counter() - t0,
                   **probes(codes_of(model.encode, x), codes_of(model.encode, tx), ds, seed)}
            rows.append(row)
            print(f"{label:<10} seed {seed}: " + " ".join(f"{k}={row[k]:.3f}" for k in KEYS + ("elbo",)), flush=True)
    elapsed = time.perf_counter() - start
    summary = _summary(rows, KEYS + ("elbo", "rate", "distortion"))
    write_results(out, "fair_representations", rows, data="dsprites_fair", steps=steps, batch=batch, seeds=n_seeds,
                  shared=SHARED, models={k: MODELS_UNDER_TEST[k] for k in labels}, seconds=elapsed)
    write_results(out, "fair_representations_summary", summary, steps=steps, seeds=n_seeds)
    print(f"{'model':<14}" + "".join(f"{k:>16}" for k in KEYS + ("elbo",)))
    for r in summary:
        print(f"{r['model']:<14}" + "".join(f"{r[k]:>9.3f}±{r[k + '_std']:<6.3f}" if k in r and np.isfinite(r[k]) else f"{'—':>16}"
                                          for k in KEYS + ("elbo",)))
    print(f"dsprites_fair, {steps} steps × batch {batch}, {n_seeds} seeds; wall-clock {elapsed:.0f} s")
    return out
