"""Claim 2 (f-GAN, Nowozin et al. 2016, §4 "approximating a mixture of Gaussians"): fit ONE
Gaussian q = N(μ, σ²) to a 1-D Gaussian mixture p under every f-divergence of the table, once
exactly and once adversarially, and see mode-seeking against mode-covering.

* Exact: (μ*, σ*) = argmin D_f(p ‖ q_{μ,σ}), with D_f = ∫ q f(p/q) dx by the trapezoidal rule on
  a fine grid (same f as the f-GAN objective: :mod:`genzoo.losses.fgan`), minimised by
  ``scipy.optimize.minimize`` (Nelder–Mead over (μ, log σ), several starts, best kept).
* Adversarial: the ``fgan`` model with the paper's linear generator G(z) = μ + σz, z ~ N(0, 1)
  (a 2-parameter ``nn.Linear(1, 1)``: weight σ, bias μ, started at μ = 0, σ = 1) and the paper's
  critic V_ω, an MLP with two hidden layers of 64 tanh units; the single-step algorithm
  (Algorithm 1), Adam with step size 0.01 and β1 = 0.5 for both players, batches of 1024
  (``--quick``: 1500 steps of 256 instead of 3000 of 1024). The generator minimises the
  saddle-point objective F itself (``generator_loss="saddle"``): with a model family that cannot
  reach p, only that loss has the divergence minimiser as its fixed point (the §3.2 alternative
  has another one). Reported (μ̂, σ̂): the mean over the last quarter of the iterations (the
  single-step iterates circle the saddle point); σ̂ = |weight|. The exact fit is global (several
  starts); the adversarial one is local: gradient play from (0, 1) can stop in a local minimum of
  D_f (JS and GAN: the mode-covering one, while the global minimum seeks a mode — the table's
  D columns show the gap) or stall where the critic saturates (total variation: T = ½ tanh v).

For KL the exact answer is closed form — moment matching: μ* = E_p[x], σ*² = Var_p[x] — which the
tests use. Expected picture: KL and Pearson χ² cover both modes (σ large, μ between the modes);
reverse KL sits on the heavier mode (σ ≈ the component's std); with this mixture the global
minimisers of JS, GAN and TV seek the mode too, squared Hellinger covers.

Cells: one per divergence (exact and adversarial fit), all on the same seed.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from genzoo import config, data
from genzoo.bench import experiment
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.losses.fgan import DIVERGENCES, Divergence
from genzoo.models import MODELS, DataSpec
from genzoo.nn import MLP

ALL = tuple(DIVERGENCES)  # every registered row of the table
#: The mixture p: two components 6 standard deviations apart, unequal weights so that the
#: mode-seeking fit has a unique answer (the heavier mode).
P_MEANS, P_STD, P_WEIGHTS = (-1.5, 1.5), 0.5, (0.7, 0.3)


def mixture(means=P_MEANS, std: float = P_STD, weights=P_WEIGHTS, n: int = 50_000, seed: int = 0) -> data.Dataset:
    """p as a genzoo data set (``mix1d``) with its exact density."""
    return data.load("mix1d", n=n, means=tuple(means), std=std, weights=tuple(weights), seed=seed)


def moments(density) -> tuple[float, float]:
    """(mean, std) of a 1-D Gaussian mixture: μ = Σ w m, σ² = Σ w (s² + m²) − μ²."""
    w, m, s = density.weights.double(), density.means.double()[:, 0], density.std.double()
    mean = float((w * m).sum())
    return mean, math.sqrt(float((w * (s**2 + m**2)).sum()) - mean**2)


class Grid:
    """A fine grid x over p's support (± 12 standard deviations) with log p(x) precomputed, float64."""

    def __init__(self, density, width: float = 12.0, points_per_std: int = 50) -> None:
        mean, std = moments(density)
        step = float(density.std.min()) / points_per_std
        n = int(2 * width * std / step) + 1
        self.x = torch.linspace(mean - width * std, mean + width * std, n, dtype=torch.float64)
        self.log_p = density.log_prob(self.x[:, None]).double()
        self.sigma_range = (step * 5, width * std / 3)  # q keeps its mass on the grid

    def log_q(self, mu: float, sigma: float) -> Tensor:
        return -0.5 * ((self.x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)

    def divergence(self, div: Divergence, mu: float, sigma: float) -> float:
        """D_f(p ‖ N(μ, σ²)) by the trapezoidal rule."""
        return float(div.divergence(self.log_p, self.log_q(mu, sigma), self.x))


def exact_minimiser(div: Divergence, density, grid: Grid | None = None) -> dict[str, float]:
    """argmin_{μ,σ} D_f(p ‖ N(μ, σ²)) by Nelder–Mead over (μ, log σ) from several starts."""
    grid = grid or Grid(density)
    lo, hi = grid.sigma_range

    def objective(theta: np.ndarray) -> float:
        sigma = float(np.clip(np.exp(theta[1]), lo, hi))
        value = grid.divergence(div, float(theta[0]), sigma)
        return value if math.isfinite(value) else 1e300

    mean, std = moments(density)
    comp_std = float(density.std.max())
    starts = [(mean, math.log(std))] + [(float(m), math.log(comp_std)) for m in density.means[:, 0]]
    import scipy.optimize  # here, not at module level: ~0.65 s that `genzoo list` (which imports this module) never needs

    best = None
    for start in starts:
        res = scipy.optimize.minimize(objective, np.array(start), method="Nelder-Mead",
                                      options={"xatol": 1e-5, "fatol": 1e-10, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    mu, sigma = float(best.x[0]), float(np.clip(np.exp(best.x[1]), lo, hi))
    return {"mu": mu, "sigma": sigma, "divergence": grid.divergence(div, mu, sigma)}


def adversarial_fit(divergence: str, dataset: data.Dataset, steps: int = 3000, batch: int = 1024, lr: float = 1e-2,
                    seed: int = 0, average_last: float = 0.25) -> dict[str, Any]:
    """f-GAN with G(z) = μ + σz and a 64-64 tanh critic, single-step algorithm, saddle-point generator loss."""
    torch.manual_seed(seed)
    cls = MODELS.get("fgan")
    cfg = config.build(cls.Config, {"divergence": divergence, "algorithm": "single-step", "generator_loss": "saddle",
                                    "z_dim": 1, "lr_g": lr, "lr_d": lr, "beta1": 0.5})
    model = cls(cfg, DataSpec.of(dataset))
    G = nn.Linear(1, 1)  # x = σ z + μ
    with torch.no_grad():
        G.weight.fill_(1.0)
        G.bias.fill_(0.0)
    model.replace_networks(G=G, D=MLP(1, 1, hidden=64, depth=2, activation="tanh"))
    g = torch.Generator().manual_seed(seed)
    trace = torch.empty(steps, 2)
    for t in range(steps):
        model.step(dataset.x[torch.randint(0, len(dataset.x), (batch,), generator=g)])
        trace[t, 0], trace[t, 1] = G.bias.detach()[0], G.weight.detach().abs()[0, 0]
    tail = trace[int(steps * (1 - average_last)):]
    mu, sigma = tail.mean(0).tolist()
    return {"mu": mu, "sigma": sigma, "trace": trace}


def _figure(rows: list[dict[str, Any]], dataset: data.Dataset, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    grid = Grid(dataset.density)
    mean, std = moments(dataset.density)
    keep = (grid.x > mean - 4 * std) & (grid.x < mean + 4 * std)
    x, p = grid.x[keep], grid.log_p[keep].exp()
    cols = 4
    nrows = math.ceil(len(rows) / cols)
    fig = Figure(figsize=(4 * cols, 3 * nrows))
    FigureCanvasAgg(fig)
    for i, r in enumerate(rows):
        ax = fig.add_subplot(nrows, cols, i + 1)
        ax.fill_between(x.numpy(), p.numpy(), color="0.85", label="p (mixture)")
        for key, style, label in (("exact", "--", "exact argmin D_f"), ("fgan", "-", "f-GAN")):
            q = grid.log_q(r[f"mu_{key}"], r[f"sigma_{key}"])[keep].exp()
            ax.plot(x.numpy(), q.numpy(), style, label=f"{label}: μ={r[f'mu_{key}']:.2f}, σ={r[f'sigma_{key}']:.2f}")
        ax.set_title(DIVERGENCES.get(r["divergence"]).title, fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


COLUMNS = ("divergence", "mu_exact", "sigma_exact", "D_exact", "mu_fgan", "sigma_fgan", "D_fgan")


@experiment
class FGAN1D(Experiment):
    """Claim 2: one Gaussian fitted to a 1-D mixture under every f-divergence, exact argmin vs f-GAN."""

    name = "fgan-1d"
    options = {"divergences": Option(ALL, meaning="f-divergences, one cell each"),
               "steps": Option(3000, 1500, "f-GAN steps"), "batch": Option(1024, 256, "batch size"),
               "lr": Option(1e-2, meaning="Adam step size of both players"), "seed": Option(0, meaning="seed"),
               "means": Option(P_MEANS, meaning="mixture means"), "std": Option(P_STD, meaning="component std"),
               "weights": Option(P_WEIGHTS, meaning="mixture weights"),
               "threads": Option(1, meaning="torch CPU threads per cell (64-unit networks: one is fastest)")}

    def check(self, o: Options, quick: bool) -> None:
        for name in o.divergences:
            DIVERGENCES.get(name)

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(slug(name), {"divergence": name}, seed=o.seed) for name in o.divergences]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        torch.set_num_threads(o.threads)
        name, dataset = cell.params["divergence"], mixture(o.means, o.std, o.weights, seed=cell.seed)
        grid, div = Grid(dataset.density), DIVERGENCES.get(name)
        exact = exact_minimiser(div, dataset.density, grid)
        adv = adversarial_fit(name, dataset, o.steps, o.batch, o.lr, cell.seed)
        return {"mu_exact": exact["mu"], "sigma_exact": exact["sigma"], "D_exact": exact["divergence"],
                "mu_fgan": adv["mu"], "sigma_fgan": adv["sigma"], "D_fgan": grid.divergence(div, adv["mu"], adv["sigma"])}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows = [{"divergence": r["params"]["divergence"], **{k: r["metrics"][k] for k in COLUMNS[1:]}} for r in records]
        dataset = mixture(o.means, o.std, o.weights, seed=o.seed)
        mean, sd = moments(dataset.density)
        with open(out / "fgan1d.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows([r["divergence"]] + [f"{r[k]:.5f}" for k in COLUMNS[1:]] for r in rows)
        settings = {k: o[k] for k in ("divergences", "steps", "batch", "lr", "seed", "means", "std", "weights")}
        result = {"settings": settings, "p_mean": mean, "p_std": sd, "seconds": sum(r["seconds"] for r in records),
                  "rows": rows}
        (out / "fgan1d.json").write_text(json.dumps(result, indent=2) + "\n")
        _figure(rows, dataset, out / "fgan1d.png")
