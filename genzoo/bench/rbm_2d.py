"""A Gaussian–Bernoulli RBM on the 2-D mixtures, scored by the same mode metrics as the GANs.

Its marginal is itself a mixture of 2^H isotropic Gaussians,

    p(v) = Σ_h p(h) N(v; a + σ W h, σ² I),   p(h) ∝ exp(bᵀh + Σ_i (a_i d_i/σ + d_i²/2)),  d = W h,

so the ring and grid are within its reach — if CD finds hidden configurations for every mode and
gives the rest little mass. Protocol (the GAN suite's rules, :func:`genzoo.metrics.evaluate.evaluate`):
2 500 samples from ``sample(n)`` (block Gibbs, 1 000 steps from the data's Gaussian marginals), modes
covered and high-quality share by the Euclidean 3σ rule, exact W1 against 2 500 fresh data points,
and the exact test log-likelihood (2^H hidden states enumerated) beside the data's own.

Settings (our compromise, not a paper's): H = 16, visible σ fixed at 5 × the data's std (0.05
ring8, 0.25 grid25) — a much larger σ blurs every mode, one near the data's std makes p(h|v) nearly
deterministic and CD's chains stop mixing (ring8, CD-1, 2 000 updates: σ = 0.03 → high-quality
share 0.34 but test log-likelihood −10.8; σ = 0.1 → 0.044 and +0.53); CD-1 and PCD-1, η = 1e-3
falling linearly to 0 over 6 000 updates (``--quick``: 2 000) of minibatch 100, 2 seeds (1). Cells:
one per (data, method, seed), one per data set for the nulls (same rule): the data itself and a
uniform distribution on its bounding square (~22/25 grid modes are "covered" by uniform noise).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from genzoo import data
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.models import MODELS, DataSpec

SIGMA = {"ring8": 0.05, "grid25": 0.25}  # 5 × the data's std


def train_and_score(data_name: str, training: str, updates: int, seed: int, out: Path) -> dict:
    from genzoo.metrics.modes import mode_coverage  # not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for
    from genzoo.metrics.wasserstein import wasserstein1_exact
    ds = data.load(data_name, seed=seed)
    torch.manual_seed(seed)
    RBM = MODELS.get("rbm")
    model = RBM(RBM.Config(n_hidden=16, visible="gaussian", hidden="bernoulli", training=training, sigma=SIGMA[data_name],
                           lr=1e-3, lr_decay_steps=updates, momentum_switch=updates // 10, n_chains=100, negative_visible="sample"),
                DataSpec.of(ds))
    g = torch.Generator().manual_seed(seed)
    start = time.time()
    for _ in range(updates):  # a private loop (not the trainer): its batch stream made the committed numbers
        model.step(ds.x[torch.randint(len(ds.x), (100,), generator=g)])
    seconds = time.time() - start
    torch.manual_seed(10_000 + seed)
    samples = model.sample(2500)
    cov = mode_coverage(samples, ds.density.means, ds.density.std)
    if seed == 0:
        from genzoo.viz.plots import save_samples
        save_samples(samples, out / f"{data_name}_{training}.png", log_prob=ds.density.log_prob,
                     reference=ds.fresh(2500, torch.Generator().manual_seed(0)), title=f"G-B RBM {training.upper()}-1 · {data_name}")
    return {"data": data_name, "method": f"{training.upper()}-1", "seed": seed, "updates": updates,
            "modes": float(cov["modes"]), "hq_share": float(cov["hq_share"]),
            "w1": wasserstein1_exact(samples, ds.fresh(2500, torch.Generator().manual_seed(seed))),
            "test_ll_exact": float(model.log_prob(ds.test_x).mean()),
            "data_log_likelihood": float(ds.density.log_prob(ds.test_x).double().mean()), "train_s": seconds}


def null_rows(data_name: str) -> list[dict]:
    from genzoo.metrics.modes import mode_coverage

    ds, g = data.load(data_name), torch.Generator().manual_seed(0)
    lo, hi = ds.x.min(0).values, ds.x.max(0).values
    nulls = {"data itself": ds.fresh(2500, g), "uniform on the square": lo + (hi - lo) * torch.rand(2500, 2, generator=g)}
    return [{"data": data_name, "method": f"null: {k}", "seed": 0, "modes": float(c["modes"]), "hq_share": float(c["hq_share"])}
            for k, pts in nulls.items() for c in [mode_coverage(pts, ds.density.means, ds.density.std)]]


@experiment
class Rbm2d(Experiment):
    """Gaussian–Bernoulli RBM (CD-1, PCD-1) on ring8/grid25 with the GANs' mode metrics and exact log-likelihood."""

    name = "rbm-2d"
    options = {"updates": Option(6000, 2000, "CD updates of minibatch 100 (η decays to 0 over them)"),
               "seeds": Option(2, 1, "number of seeds (0, 1, …)"),
               "data": Option(("ring8", "grid25"), meaning="data sets", choices=tuple(SIGMA)),
               "threads": Option(1, meaning="torch threads per cell")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        grid = []
        for d in o.data:  # grid order = the table's row order: per data set its nulls, then CD, then PCD
            grid.append(Cell(slug(d, "nulls"), {"data": d, "null": True}, seed=0, cost=0.01, baseline=True))
            grid += [Cell(slug(d, t, f"s{s}"), {"data": d, "training": t}, seed=s, priority=s, cost=o.updates / 1000)
                     for t in ("cd", "pcd") for s in range(o.seeds)]
        return grid

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        torch.set_num_threads(o.threads)
        p = cell.params
        return {"rows": null_rows(p["data"])} if p.get("null") else train_and_score(p["data"], p["training"], o.updates, cell.seed, ctx.out)

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows = [row for r in records for row in r["metrics"].get("rows", [r["metrics"]])]
        write_results(out, "rbm_2d", rows, quick=quick, sigma=SIGMA, rule="Euclidean 3σ, 2 500 samples")
