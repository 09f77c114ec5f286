"""Claim 6: do β-VAE, FactorVAE, β-TCVAE, DIP-VAE and InfoVAE disentangle better than a VAE?

Protocol:

* data: ``dsprites_small`` (3 shapes × 3 scales × 8 orientations × 8×8 positions, 32×32 binary,
  4 147 train / 461 test images), whose ground truth renders any factor combination for the
  metrics;
* models (one shared network and optimiser for all, so only the regulariser differs): MLP encoder
  and decoder (2 hidden layers of 128 ReLU units), Bernoulli decoder, 10 latents, Adam lr 1e-3,
  batch 64, ``steps`` iterations (quick 600, full 20 000), seeds 0..``seeds``−1 (3);
  each model at its paper/genzoo default weight: VAE (β = 1), β-VAE (β = 4), FactorVAE (γ = 35;
  its discriminator 6 layers × 256 units instead of the paper's 1 000 to fit the CPU budget),
  β-TCVAE (β = 6, MSS with N = 4 147), DIP-VAE-I (λ_od = 10, λ_d = 100), DIP-VAE-II
  (λ_od = λ_d = 10), InfoVAE (α = 0, λ = 1000);
* null baselines scored by the same rules: ``random codes`` (Gaussian noise independent of the
  image) and ``untrained encoder`` (the VAE's encoder at initialisation), scored at seed 0;
* metrics (:mod:`genzoo.metrics.disentanglement`, encoder means): β-VAE score, FactorVAE score,
  MIG (20-bin), DCI disentanglement / completeness / informativeness (GBT; ``--quick``: random
  forests, ``--set dci=gbt`` to override — cheaper, and lower on every model), SAP — quick budget
  200 / 100 votes, 2 000 MIG points, 450 DCI/SAP points, 2 000 variance points; full budget =
  disentanglement_lib's
  (10 000 / 5 000 votes, 10 000 MIG points, 15 000 DCI/SAP points); plus the test-set β = 1 ELBO,
  rate and distortion (nats per image);
* pictures: latent traversals of seed 0 of each model (``traversal_<model>.png``: one row per
  latent dimension sorted by its rate, 9 values in [−2.5, 2.5], around the code of one test image).

Cells: the two nulls, then seed × model, each trained through genzoo's trainer in its own run
directory (``runs/<cell>``: the trainer's batch stream, checkpoints every 1 000 steps, divergence
guard, and at most a fifth of the wall-clock on evaluation), so ``--time-limit`` stops a cell at a
checkpoint and the next call continues it; ``--shard`` splits a campaign over processes. Outputs ``disentanglement.csv/.json`` (every run) and
``disentanglement_summary.csv`` (mean ± std over seeds). No published numbers are placed beside these:
the data are dSprites-*like* (genzoo's renderer, a coarser grid, MLP networks, short training) and
not comparable to papers' dSprites runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug, train
from genzoo.data import load
from genzoo.models import MODELS, DataSpec

QUICK_BUDGET = (200, 100, 2_000, 450, 2_000)  # metrics.disentanglement.Budget's fields, built when run
SHARED = {"arch": "mlp", "hidden": 128, "depth": 2, "latent_dim": 10, "observation": "bernoulli", "lr": 1e-3}
#: label → (registered model, config overrides beyond SHARED)
MODELS_UNDER_TEST: dict[str, tuple[str, dict[str, Any]]] = {
    "vae": ("vae", {}),
    "beta-vae": ("beta-vae", {"beta": 4.0}),
    "factorvae": ("factorvae", {"gamma": 35.0, "disc_hidden": 256}),
    "beta-tcvae": ("beta-tcvae", {"beta": 6.0, "estimator": "mss"}),
    "dip-vae-i": ("dip-vae", {"dip_type": "i", "lambda_od": 10.0}),
    "dip-vae-ii": ("dip-vae", {"dip_type": "ii", "lambda_od": 10.0}),
    "infovae": ("infovae", {"alpha": 0.0, "lambda_": 1000.0}),
}
NULLS = ("random codes", "untrained encoder")  # scored at seed 0 by the same rules
METRICS = ("beta_vae", "factor_vae", "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness", "sap")


def train_model(ctx: CellContext, name: str, data: str, o: Options, seed: int, **overrides: Any) -> Any:
    """Model ``name`` (SHARED + ``overrides``) trained on ``data`` through the trainer, in the cell's
    run directory (a time limit stops it at a checkpoint; the next call continues); in eval mode."""
    from genzoo import run

    sets = [f"model.{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in {**SHARED, **overrides}.items()]
    sets += [f"train.seed={seed}", f"train.steps={o.steps}", f"train.batch_size={o.batch}", f"train.threads={o.threads}",
             "train.progress=false", "train.sample_every=0"]
    run_dir, _ = train(ctx, run.resolve(name, data, sets=sets))
    return run.load(run_dir)[0].eval()


def build(name: str, data: DataSpec, seed: int, **overrides: Any) -> Any:
    """Model ``name`` (SHARED + ``overrides``) at its seed-``seed`` initialisation, untrained."""
    cls = MODELS.get(name)
    torch.manual_seed(seed)
    return cls(cls.Config(**{**SHARED, **overrides}), data)


@torch.no_grad()
def test_bound(model: Any, x: torch.Tensor) -> dict[str, float]:
    """Mean β = 1 ELBO, rate and distortion on x (nats per image), one posterior sample each."""
    torch.manual_seed(123)
    terms = model.terms(x)
    return {"elbo": float(terms.elbo.mean()), "rate": float(terms.rate.mean()), "distortion": float(terms.distortion.mean())}


@torch.no_grad()
def traversal(model: Any, x0: torch.Tensor, path: Path, values: int = 9, span: float = 2.5,
              rates: np.ndarray | None = None) -> None:
    """Decode the code of x0 (one image) with one latent dimension swept over [−span, span]; rows sorted by rate."""
    from genzoo.metrics.disentanglement import codes_of  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for
    from genzoo.viz.images import save_image_grid

    z0 = torch.as_tensor(codes_of(model.encode, x0.unsqueeze(0)), dtype=torch.float32)[0]
    order = np.argsort(-rates) if rates is not None else np.arange(z0.shape[0])
    grid = []
    for j in order:
        z = z0.repeat(values, 1)
        z[:, j] = torch.linspace(-span, span, values)
        grid.append(model.decode(z).reshape(values, *x0.shape))
    save_image_grid(torch.cat(grid), path, nrow=values)


@torch.no_grad()
def per_dim_rate(model: Any, x: torch.Tensor) -> np.ndarray:
    """Mean KL(q(z_j|x) ‖ N(0, 1)) of each latent dimension on x."""
    q = model.encode(x).base_dist
    kl = 0.5 * (q.loc**2 + q.variance - q.variance.log() - 1)
    return kl.mean(0).cpu().numpy()


class _RandomCodes:
    def __init__(self, dim: int, seed: int) -> None:
        self.g = torch.Generator().manual_seed(seed)
        self.dim = dim

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x.shape[0], self.dim, generator=self.g)


def _summary(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for label in dict.fromkeys(r["model"] for r in rows):
        group = [r for r in rows if r["model"] == label]
        row: dict[str, Any] = {"model": label, "seeds": len(group)}
        for k in keys:
            vals = np.array([r[k] for r in group if k in r], dtype=float)
            if len(vals):
                row[k] = float(vals.mean())
                row[f"{k}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        out.append(row)
    return out


#: the training budget shared with fair-representations (same fit, same networks)
TRAINING = {"steps": Option(20_000, 600, "training iterations per model"),
            "seeds": Option(3, meaning="seeds 0..seeds-1"),
            "batch": Option(64, meaning="batch size"),
            "threads": Option(1, meaning="torch threads per cell")}


@experiment
class Disentanglement(Experiment):
    """Claim 6: VAE vs β-VAE, FactorVAE, β-TCVAE, DIP-VAE-I/II, InfoVAE on dSprites-like data — every metric, mean ± std over seeds."""

    name = "disentanglement"
    version = 2  # v2: training through the trainer (v1: a private loop drawing batches with replacement)
    options = {**TRAINING,
               "models": Option(tuple(MODELS_UNDER_TEST), meaning="models under test", choices=tuple(MODELS_UNDER_TEST)),
               "dci": Option("gbt", "forest", "DCI's regressor", choices=("gbt", "forest"))}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        nulls = [Cell(slug(null), {"model": null}, seed=0, priority=-1, cost=0.2, baseline=True) for null in NULLS if o.seeds > 0]
        return nulls + [Cell(slug(label, seed), {"model": label}, seed=seed, priority=seed)
                        for seed in range(o.seeds) for label in o.models]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        from genzoo.metrics.disentanglement import FULL_BUDGET, Budget, disentanglement_metrics  # here: genzoo.metrics imports scipy, which `genzoo list` must not pay for

        torch.set_num_threads(o.threads)
        budget, label, seed = Budget(*QUICK_BUDGET) if ctx.quick else FULL_BUDGET, cell.params["model"], cell.seed
        ds = load("dsprites_small")
        if label in NULLS:
            g = torch.Generator().manual_seed(0)
            enc = build("vae", DataSpec.of(ds), 0).encode if label == "untrained encoder" else (
                lambda x: torch.randn(x.shape[0], SHARED["latent_dim"], generator=g))
            return disentanglement_metrics(enc, ds.ground_truth, budget, 0, o.dci)
        name, overrides = MODELS_UNDER_TEST[label]
        if name == "beta-tcvae":
            overrides = {**overrides, "dataset_size": len(ds.x)}
        t0 = time.perf_counter()
        model = train_model(ctx, name, "dsprites_small", o, seed, **overrides)
        train_s = time.perf_counter() - t0
        if seed == 0:
            traversal(model, ds.test_x[0], ctx.out / f"traversal_{label}.png", rates=per_dim_rate(model, ds.test_x[:500]))
        return {**test_bound(model, ds.test_x), **disentanglement_metrics(model.encode, ds.ground_truth, budget, seed, o.dci),
                "train_seconds": train_s}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        from genzoo.metrics.disentanglement import FULL_BUDGET, Budget

        rows = [{"model": r["params"]["model"], "seed": r["seed"], **r["metrics"]} for r in records]
        write_results(out, "disentanglement", rows, seeds=list(range(o.seeds)), seconds=sum(r["seconds"] for r in records),
                      data="dsprites_small", steps=o.steps, batch=o.batch, shared=SHARED,
                      models={k: MODELS_UNDER_TEST[k] for k in o.models},
                      budget=(Budget(*QUICK_BUDGET) if quick else FULL_BUDGET).__dict__, dci_model=o.dci)
        write_results(out, "disentanglement_summary", _summary(rows, METRICS + ("elbo", "rate", "distortion")))

