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
Cells: one per seed (M2 and its null share the seed's batch stream). Outputs: ``m2_semisupervised.csv/json``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.bench.rate_distortion import new_model
from genzoo.optim import descend

#: Kingma et al. 2014, Table 1, MNIST test error (%) with 100 labels.
PUBLISHED = {"M2 (Kingma et al. 2014, Table 1)": "11.97 (± 1.71)", "M1+M2 (Kingma et al. 2014, Table 1)": "3.33 (± 0.14)"}
NULL = "null: classifier on the labels only"


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


@experiment
class M2Semisupervised(Experiment):
    """M2 test error with 100 labels on MNIST, beside a labels-only classifier and Kingma et al. 2014 Table 1."""

    name = "m2-semisupervised"
    options = {"steps": Option(20_000, 600, "updates"), "labels": Option(100, 100, "labelled training images (10 per class)"),
               "seeds": Option(3, 2, "number of seeds (0, 1, …)"),
               "seed_list": Option("", "", "e.g. 1,2: exactly those seeds instead of 0 … seeds−1"),
               "batch_size": Option(100, 50, "unlabelled images per step"), "labelled_batch": Option(50, 25, "labelled images per step"),
               "alpha": Option(0.1, 0.1, "classification weight α per example"), "hidden": Option(500, 500, "MLP width"),
               "latent_dim": Option(50, 50, "z dimension")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        seeds = [int(v) for v in o.seed_list.split(",") if v.strip()] or list(range(o.seeds))
        return [Cell(slug(f"s{seed}"), {}, seed=seed, priority=seed, cost=o.steps / 100) for seed in seeds]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from genzoo import data
        from genzoo.models import DataSpec
        from genzoo.optim import adam

        ds, seed = data.load("mnist"), cell.seed
        spec, nb, nl = DataSpec.of(ds), o.batch_size, o.labelled_batch
        g = torch.Generator().manual_seed(seed)
        lab = balanced_labels(ds.y, o.labels, g)
        xl, yl = ds.x[lab], ds.y[lab]
        torch.manual_seed(seed)
        model = new_model("m2", spec, hidden=o.hidden, latent_dim=o.latent_dim, alpha=o.alpha, labelled_share=len(lab) / ds.x.shape[0])
        baseline = new_model("m2", spec, hidden=o.hidden, latent_dim=o.latent_dim).classifier
        opt_b = adam(baseline.parameters(), lr=1e-3)
        t = time.perf_counter()
        for _ in range(o.steps):  # a private loop (M2 and the null share one batch stream): it made the committed numbers
            li = torch.randint(0, xl.shape[0], (nl,), generator=g)
            ui = torch.randint(0, ds.x.shape[0], (nb,), generator=g)
            model.step((torch.cat([xl[li], ds.x[ui]]), torch.cat([yl[li], torch.full((nb,), -1, dtype=torch.long)])))
            descend(opt_b, F.cross_entropy(baseline(xl[li]), yl[li]))
        model.eval()
        baseline.eval()
        train_seconds = time.perf_counter() - t
        return {"m2": test_error(model.classify, ds.test_x, ds.test_y), "null": test_error(baseline, ds.test_x, ds.test_y),
                "labels": len(lab), "train_seconds": train_seconds}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows = [row for r in records for m in [r["metrics"]] for row in (
            {"model": "m2", "seed": r["seed"], "labels": m["labels"], "test_error": m["m2"], "train_seconds": m["train_seconds"]},
            {"model": NULL, "seed": r["seed"], "labels": m["labels"], "test_error": m["null"]})]
        for name in ("m2", NULL):
            vals = [r["test_error"] for r in rows if r["model"] == name]
            rows.append({"model": name, "seed": "mean", "test_error": statistics.mean(vals),
                         "sd_over_seeds": statistics.stdev(vals) if len(vals) > 1 else 0.0})
        write_results(out, "m2_semisupervised", rows, options=dict(o), quick=quick, published_test_error_percent=PUBLISHED,
                      seconds=sum(r["seconds"] for r in records))
