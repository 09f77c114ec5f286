"""2-D density estimation with energy-based models: exp(−E) normalised on a grid vs the exact density.

An EBM's log Z is intractable in general but not in 2-D: on a B × B grid over a box holding
the data, with cell area A,

    log p̂(x_ij) = −E(x_ij) − log Σ_kl exp(−E(x_kl)) A,

and the exact mixture density p is normalised the same way on the same grid (so both are
probability vectors over the cells up to the factor A). Reported: KL(p ‖ p̂) (forward: mass of
the data the model misses) and KL(p̂ ‖ p) (reverse: model mass where there is no data), both
in nats, as Riemann sums over the grid. Null baselines scored by the same rule: the energy
network at initialisation, and a single Gaussian fitted to the data by moments (E = the
Gaussian's negative log density). Pictures: the energy landscape and the normalised density
of every model beside the truth.

Cells: the Gaussian null, then model × seed, each trained ``steps`` iterations of batch 256
(``models`` picks some; the figure shows the first seed). Models:

* ``ebm`` short-run (Nijkamp et al. 2019), ``ebm`` replay (Du & Mordatch 2019, tied noise),
  ``ebm`` replay with the *image* defaults' untied noise (η = 0.01, σ = 0.005: the tempered
  chains of the module docstring of :mod:`genzoo.models.ebm`), ``ddgm``, ``meg``.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from genzoo import config, data
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.models import MODELS, DataSpec

#: The configurations compared: (label, model, config overrides).
VARIANTS: list[tuple[str, str, dict]] = [
    ("ebm short-run", "ebm", {"negatives": "short-run"}), ("ebm replay", "ebm", {"negatives": "replay"}),
    ("ebm replay, untied σ=0.005", "ebm", {"negatives": "replay", "negatives.noise": 0.005}),
    ("ddgm", "ddgm", {}), ("meg", "meg", {})]


def grid(lo: float, hi: float, bins: int) -> tuple[Tensor, float]:
    """(bins², 2) cell centres of the square [lo, hi]² and the cell area."""
    step = (hi - lo) / bins
    c = lo + step * (torch.arange(bins, dtype=torch.float64) + 0.5)
    gx, gy = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1), step * step


def grid_log_density(neg_energy: Callable[[Tensor], Tensor], points: Tensor, area: float) -> Tensor:
    """log p̂ on the grid: −E normalised so that Σ exp(log p̂)·area = 1 (float64)."""
    with torch.no_grad():
        values = torch.cat([neg_energy(c).double().reshape(-1) for c in points.float().split(4096)])
    return values - torch.logsumexp(values, 0) - math.log(area)


def grid_kl(log_p: Tensor, log_q: Tensor, area: float) -> tuple[float, float]:
    """(KL(p ‖ q), KL(q ‖ p)) as Riemann sums of two grid-normalised log densities."""
    p, q = log_p.exp() * area, log_q.exp() * area
    return float((p * (log_p - log_q)).sum()), float((q * (log_q - log_p)).sum())


def density_kl(model_energy: Callable[[Tensor], Tensor], log_prob: Callable[[Tensor], Tensor],
               lo: float, hi: float, bins: int = 200) -> tuple[float, float]:
    """KL both ways between the grid-normalised exp(−E) and the exact density on [lo, hi]²."""
    points, area = grid(lo, hi, bins)
    log_q = grid_log_density(lambda x: -model_energy(x), points, area)
    log_p = grid_log_density(lambda x: log_prob(x.double()), points, area)
    return grid_kl(log_p, log_q, area)


def gaussian_fit_energy(x: Tensor) -> Callable[[Tensor], Tensor]:
    """The null model: E = −log N(x; mean, cov) of the data's first two moments."""
    dist = torch.distributions.MultivariateNormal(x.double().mean(0), torch.cov(x.double().T))
    return lambda y: -dist.log_prob(y.double())


def train(name: str, overrides: dict, x: Tensor, steps: int, seed: int, batch: int = 256):
    """A model trained ``steps`` iterations on minibatches of x; returns (model, initial energy copy, seconds)."""
    torch.manual_seed(seed)
    cls = MODELS.get(name)
    model = cls(config.build(cls.Config, dict(overrides)), DataSpec("points", tuple(x.shape[1:])))
    initial = copy.deepcopy(model.E).eval()
    g = torch.Generator().manual_seed(seed + 1)
    start = time.perf_counter()
    for _ in range(steps):
        model.step(x[torch.randint(0, len(x), (batch * model.batches_per_step,), generator=g)])
    return model.eval(), initial, time.perf_counter() - start


def _figure(panels: list[tuple[str, Tensor]], bins: int, lo: float, hi: float, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = len(panels)
    fig = Figure(figsize=(3.0 * cols, 6.0))
    FigureCanvasAgg(fig)
    for i, (title, log_q) in enumerate(panels):
        img = log_q.reshape(bins, bins).T.numpy()
        top = img.max()
        # the lowest 12 nats of the landscape; the top 12 of the log density
        for row, (values, label, clim) in enumerate(((-img, "energy −log p̂", (-top, -top + 12)), (img, "log p̂", (top - 12, top)))):
            ax = fig.add_subplot(2, cols, row * cols + i + 1)
            ax.imshow(values.clip(*clim), origin="lower", extent=(lo, hi, lo, hi), cmap="viridis",
                      vmin=clim[0], vmax=clim[1], interpolation="nearest")
            ax.set_title(f"{title}\n{label}", fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=90)


@experiment
class EBMDensity(Experiment):
    """2-D density estimation: EBM / DDGM / MEG energies normalised on a grid vs the exact density (KL both ways)."""

    name = "ebm-density"
    options = {"data": Option("ring8", meaning="2-D data set"),
               "std": Option(0.15, meaning="component std (ring8, grid25)"),
               "steps": Option(3000, 300, "training iterations of batch 256"),
               "seeds": Option((0, 1, 2), (0,), "one trained model per seed"),
               "bins": Option(200, meaning="grid cells per axis"),
               "models": Option((), meaning="only these models or labels (comma-separated; all when empty)"),
               "threads": Option(1, meaning="torch threads")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        chosen = [i for i, (label, name, _) in enumerate(VARIANTS) if not o.models or name in o.models or label in o.models]
        return [Cell("null_gaussian", {}, priority=-1, cost=0.01, baseline=True),
                *(Cell(slug(VARIANTS[i][0], f"seed{s}"), {"variant": i}, seed=s, priority=s, cost=o.steps)
                  for i in chosen for s in o.seeds)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        torch.set_num_threads(o.threads)
        dataset, _, _, points, area, log_p = _setup(o)
        if not cell.params:
            null = gaussian_fit_energy(dataset.x)
            fwd, rev = grid_kl(log_p, grid_log_density(lambda y: -null(y), points, area), area)
            return {"model": "null: Gaussian fit", "seed": -1, "kl_forward": fwd, "kl_reverse": rev, "seconds": 0.0}
        label, name, overrides = VARIANTS[cell.params["variant"]]
        model, initial, seconds = train(name, overrides, dataset.x, o.steps, cell.seed)
        log_q = grid_log_density(lambda y: -model.energy(y), points, area)
        fwd, rev = grid_kl(log_p, log_q, area)
        fwd0, rev0 = grid_kl(log_p, grid_log_density(lambda y: -initial(y), points, area), area)
        if cell.seed == o.seeds[0]:  # the figure's panel
            ctx.run_dir.mkdir(parents=True, exist_ok=True)
            torch.save(log_q, ctx.run_dir / "log_q.pt")
        return {"model": label, "seed": cell.seed, "kl_forward": fwd, "kl_reverse": rev,
                "kl_forward_init": fwd0, "kl_reverse_init": rev0, "seconds": seconds}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        _, params, (lo, hi), _, _, log_p = _setup(o)
        write_results(out, "ebm_density", [r["metrics"] for r in records], data=o.data, data_params=params, steps=o.steps,
                      seeds=list(o.seeds), bins=o.bins, box=[lo, hi], grid_rule="Riemann sums on a bins×bins grid over [lo, hi]²")
        panels = [(r["metrics"]["model"], torch.load(out / "runs" / r["id"] / "log_q.pt", weights_only=True)) for r in records
                  if r["seed"] == o.seeds[0] and (out / "runs" / r["id"] / "log_q.pt").is_file()]
        _figure([("truth", log_p), *panels], o.bins, lo, hi, out / "ebm_density.png")


def _setup(o: Options) -> tuple[Any, dict[str, Any], tuple[float, float], Tensor, float, Tensor]:
    """The data set, its parameters, the box, the grid (points, cell area) and the exact log density on it."""
    params = {"n": 20000, "std": o.std} if o.data in ("ring8", "grid25") else {"n": 20000}
    dataset = data.load(o.data, **params)
    half = 1.25 * float(dataset.x.abs().max())
    points, area = grid(-half, half, o.bins)
    return dataset, params, (-half, half), points, area, grid_log_density(lambda y: dataset.density.log_prob(y.double()), points, area)
