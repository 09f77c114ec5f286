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

Models (each trained ``steps`` iterations of batch 256, one thread):

* ``ebm`` short-run (Nijkamp et al. 2019), ``ebm`` replay (Du & Mordatch 2019, tied noise),
  ``ebm`` replay with the *image* defaults' untied noise (η = 0.01, σ = 0.005: the tempered
  chains of the module docstring of :mod:`genzoo.models.ebm`), ``ddgm``, ``meg``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from genzoo import config, data
from genzoo.bench import benchmark, write_results
from genzoo.models import MODELS, DataSpec

#: The configurations compared: (label, model, config overrides).
VARIANTS: list[tuple[str, str, dict]] = [
    ("ebm short-run", "ebm", {"negatives": "short-run"}),
    ("ebm replay", "ebm", {"negatives": "replay"}),
    ("ebm replay, untied σ=0.005", "ebm", {"negatives": "replay", "negatives.noise": 0.005}),
    ("ddgm", "ddgm", {}),
    ("meg", "meg", {}),
]


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
    forward = float((p * (log_p - log_q)).sum())
    reverse = float((q * (log_q - log_p)).sum())
    return forward, reverse


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
    import copy

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
        for row, (values, label, clim) in enumerate((
            (-img, "energy −log p̂", (-top, -top + 12)),  # the lowest 12 nats of the landscape
            (img, "log p̂", (top - 12, top)),
        )):
            ax = fig.add_subplot(2, cols, row * cols + i + 1)
            ax.imshow(values.clip(*clim), origin="lower", extent=(lo, hi, lo, hi), cmap="viridis",
                      vmin=clim[0], vmax=clim[1], interpolation="nearest")
            ax.set_title(f"{title}\n{label}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=90)


@benchmark("ebm-density")
def ebm_density(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """2-D density estimation: EBM / DDGM / MEG energies normalised on a grid vs the exact density (KL both ways)."""
    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads", 1)))
    data_name = options.get("data", "ring8")
    params = {"n": 20000, "std": float(options.get("std", 0.15))} if data_name in ("ring8", "grid25") else {"n": 20000}
    steps = int(options.get("steps", 300 if quick else 3000))
    seeds = [int(s) for s in str(options.get("seeds", "0" if quick else "0,1,2")).split(",")]
    bins = int(options.get("bins", 200))
    only = options.get("models")
    dataset = data.load(data_name, **params)
    x = dataset.x
    half = 1.25 * float(x.abs().max())
    lo, hi = -half, half
    points, area = grid(lo, hi, bins)
    log_p = grid_log_density(lambda y: dataset.density.log_prob(y.double()), points, area)
    rows = []
    null = gaussian_fit_energy(x)
    rows.append({"model": "null: Gaussian fit", "seed": -1, **dict(zip(("kl_forward", "kl_reverse"),
                grid_kl(log_p, grid_log_density(lambda y: -null(y), points, area), area))), "seconds": 0.0})
    panels = [("truth", log_p)]
    for label, name, overrides in VARIANTS:
        if only and name not in only.split(",") and label not in only.split(","):
            continue
        for seed in seeds:
            model, initial, seconds = train(name, overrides, x, steps, seed)
            log_q = grid_log_density(lambda y: -model.energy(y), points, area)
            log_q0 = grid_log_density(lambda y: -initial(y), points, area)
            fwd, rev = grid_kl(log_p, log_q, area)
            fwd0, rev0 = grid_kl(log_p, log_q0, area)
            rows.append({"model": label, "seed": seed, "kl_forward": fwd, "kl_reverse": rev,
                         "kl_forward_init": fwd0, "kl_reverse_init": rev0, "seconds": seconds})
            print(f"{label:<28} seed {seed}: KL(p‖p̂) {fwd:7.3f} (init {fwd0:.3f})  KL(p̂‖p) {rev:7.3f} "
                  f"(init {rev0:.3f})  {seconds:.0f} s", flush=True)
            if seed == seeds[0]:
                panels.append((label, log_q))
    write_results(out, "ebm_density", rows, data=data_name, data_params=params, steps=steps, seeds=seeds,
                  bins=bins, box=[lo, hi], grid_rule="Riemann sums on a bins×bins grid over [lo, hi]²")
    _figure(panels, bins, lo, hi, out / "ebm_density.png")
    print(f"{'model':<28}{'KL(p‖p̂)':>12}{'KL(p̂‖p)':>12}")
    for label in dict.fromkeys(r["model"] for r in rows):
        sel = [r for r in rows if r["model"] == label]
        f = sum(r["kl_forward"] for r in sel) / len(sel)
        r_ = sum(r["kl_reverse"] for r in sel) / len(sel)
        print(f"{label:<28}{f:>12.3f}{r_:>12.3f}   (mean of {len(sel)})")
    return out
