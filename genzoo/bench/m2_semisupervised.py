"""M2 with 100 labels on MNIST (Kingma, Rezende, Mohamed & Welling 2014, §4.1).

Protocol (pinned; ``--set KEY=VALUE`` changes it): ``mnist`` grey images in [0, 1] scored by the
Bernoulli cross-entropy (genzoo's choice of decoder); ``labels`` = 100 labelled training images, 10 per class, drawn with the seed; every
other training image unlabelled (its label hidden as −1). Each step takes ``labelled_batch``
labelled and ``batch_size`` unlabelled images. M2: MLP with 500 hidden units, z ∈ R^50, α = 0.1
per example (the paper's α = 0.1·N for a summed objective) unless ``alpha`` is set. The optimised
objective is the paper's J^α divided by N: the labelled bound weighs N_l/N (100/50 000), the
unlabelled bound N_u/N, whatever the batch's make-up (``labelled_share``, genzoo.models.m2) —
the labelled half of each batch only lowers the variance of that term's estimate. Metric: test
error of argmax q(y|x) on the 10 000 test images, ``seeds`` seeds. Null baseline: the same
classifier network trained by cross-entropy on the 100 labels only, same steps and seeds.

Kingma et al. 2014, Table 1 (N = 100 labels): M2 11.97 % (± 1.71), M1+M2 3.33 % (± 0.14) test
error — after full training, far beyond this CPU budget.
Outputs: ``m2_semisupervised.csv/json``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genzoo.bench import benchmark, write_results
from genzoo.bench.rate_distortion import new_model, resolve_options
from genzoo.optim import descend

DEFAULTS: dict[str, tuple[str, str]] = {
    "steps": ("20000", "600"),
    "labels": ("100", "100"),
    "seeds": ("3", "2"),
    "seed_list": ("", ""),  # e.g. "1,2": exactly those seeds (one campaign split over processes)
    "batch_size": ("100", "50"),
    "labelled_batch": ("50", "25"),
    "alpha": ("0.1", "0.1"),
    "hidden": ("500", "500"),
    "latent_dim": ("50", "50"),
}

#: Kingma et al. 2014, Table 1, MNIST test error (%) with 100 labels.
PUBLISHED = {"M2 (Kingma et al. 2014, Table 1)": "11.97 (± 1.71)", "M1+M2 (Kingma et al. 2014, Table 1)": "3.33 (± 0.14)"}


def balanced_labels(y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of n labelled examples, n/10 per class."""
    classes = int(y.max()) + 1
    per = n // classes
    idx = [torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=generator)[:per]] for c in range(classes)]
    return torch.cat(idx)


@torch.no_grad()
def test_error(classify, x: torch.Tensor, y: torch.Tensor) -> float:
    pred = torch.cat([classify(x[i : i + 1000]).argmax(-1) for i in range(0, x.shape[0], 1000)])
    return float((pred != y).float().mean())


@benchmark("m2-semisupervised")
def m2_semisupervised(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """M2 test error with 100 labels on MNIST, beside a labels-only classifier and Kingma et al. 2014 Table 1."""
    from genzoo import data
    from genzoo.models import DataSpec
    from genzoo.optim import adam

    opts = resolve_options(DEFAULTS, quick, options)
    start = time.perf_counter()
    ds = data.load("mnist")
    spec = DataSpec.of(ds)
    steps, nb, nl = int(opts["steps"]), int(opts["batch_size"]), int(opts["labelled_batch"])
    rows: list[dict[str, Any]] = []
    seed_ids = [int(v) for v in opts["seed_list"].split(",") if v.strip()] or list(range(int(opts["seeds"])))
    for seed in seed_ids:
        g = torch.Generator().manual_seed(seed)
        lab = balanced_labels(ds.y, int(opts["labels"]), g)
        xl, yl = ds.x[lab], ds.y[lab]
        torch.manual_seed(seed)
        model = new_model("m2", spec, hidden=int(opts["hidden"]), latent_dim=int(opts["latent_dim"]), alpha=float(opts["alpha"]),
                          labelled_share=len(lab) / ds.x.shape[0])
        baseline = new_model("m2", spec, hidden=int(opts["hidden"]), latent_dim=int(opts["latent_dim"])).classifier
        opt_b = adam(baseline.parameters(), lr=1e-3)
        t = time.perf_counter()
        for _ in range(steps):
            li = torch.randint(0, xl.shape[0], (nl,), generator=g)
            ui = torch.randint(0, ds.x.shape[0], (nb,), generator=g)
            x = torch.cat([xl[li], ds.x[ui]])
            y = torch.cat([yl[li], torch.full((nb,), -1, dtype=torch.long)])
            model.step((x, y))
            loss = F.cross_entropy(baseline(xl[li]), yl[li])
            descend(opt_b, loss)
        model.eval()
        baseline.eval()
        rows.append({"model": "m2", "seed": seed, "labels": len(lab), "test_error": test_error(model.classify, ds.test_x, ds.test_y),
                     "train_seconds": time.perf_counter() - t})
        rows.append({"model": "null: classifier on the labels only", "seed": seed, "labels": len(lab),
                     "test_error": test_error(baseline, ds.test_x, ds.test_y)})
    for name in ("m2", "null: classifier on the labels only"):
        vals = [r["test_error"] for r in rows if r["model"] == name and isinstance(r["seed"], int)]
        rows.append({"model": name, "seed": "mean", "test_error": statistics.mean(vals),
                     "sd_over_seeds": statistics.stdev(vals) if len(vals) > 1 else 0.0})
    write_results(out, "m2_semisupervised", rows, options=opts, quick=quick, published_test_error_percent=PUBLISHED,
                  seconds=time.perf_counter() - start)
    return out
