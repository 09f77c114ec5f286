"""Claim 1: a trained discriminator matches D*(x) = p(x) / (p(x) + q(x)) on known 1-D densities,
and the GAN value V(D, G) = E_p[log D] + E_q[log(1 − D)] reaches 2·JS(p ‖ q) − log 4, which is
−log 4 when p = q (Goodfellow et al. 2014, Prop. 1 and Thm. 1).

The generator is frozen to x = μ + σz, z ~ N(0, 1), so q = N(μ, σ²) is exact; only the GAN's
discriminator phase runs (``discriminator_step`` in a loop; no generator, so no trainer run). Values
by quadrature with the exact densities. Cells: case × seed, and per case the null D ≡ 1/2 (value −log 4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

from genzoo import config, data
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.models import MODELS, DataSpec


@dataclass(frozen=True)
class Case:
    label: str
    p_means: tuple[float, ...]
    p_std: float
    q_mu: float
    q_sigma: float


CASES = (
    Case("bimodal p, Gaussian q", (-2.0, 2.0), 0.5, 1.5, 0.8),
    Case("shifted Gaussians", (0.0,), 1.0, 1.0, 1.0),
    Case("p = q", (0.0,), 1.0, 0.0, 1.0),
)
UNTRAINED = SimpleNamespace(discriminate=lambda x: torch.full((len(x),), 0.5, dtype=x.dtype))  # the null D ≡ 1/2


def fit_discriminator(case: Case, steps: int = 1500, batch_size: int = 256, seed: int = 0, hidden: int = 64):
    """The GAN's discriminator trained against the frozen generator of ``case``; returns (model, p)."""
    torch.manual_seed(seed)
    p = data.load("mix1d", n=20000, means=case.p_means, std=case.p_std, seed=seed)
    cls = MODELS.get("gan")
    model = cls(config.build(cls.Config, {"hidden": hidden, "depth": 2, "lr_d": 2e-3, "z_dim": 1}), DataSpec.of(p))
    generator = nn.Linear(1, 1)
    with torch.no_grad():
        generator.weight.fill_(case.q_sigma)
        generator.bias.fill_(case.q_mu)
    model.G = generator.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        model.discriminator_step(p.x[torch.randint(0, len(p.x), (batch_size,), generator=g)])
    return model, p


def compare(model, p, case: Case, lo: float = -6.0, hi: float = 6.0, n: int = 4001) -> dict[str, float]:
    """|D − D*| weighted by the mixture (p + q)/2, and V(D̂), V(D*) = 2·JS − log 4, by quadrature."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64).unsqueeze(1)
    dx = (hi - lo) / (n - 1)
    log_p = p.density.log_prob(x).double()
    log_q = torch.distributions.Normal(case.q_mu, case.q_sigma).log_prob(x.squeeze(1)).double()
    p_, q_ = log_p.exp(), log_q.exp()
    d_star = torch.sigmoid(log_p - log_q)
    d_hat = model.discriminate(x.float()).double().clamp(1e-7, 1 - 1e-7)
    m = (p_ + q_) / 2
    value = lambda d: float(((p_ * d.log() + q_ * (1 - d).log()) * dx).sum())
    js = 0.5 * float(((p_ * (log_p - m.log()) + q_ * (log_q - m.log())) * dx).sum())
    return {
        "mean_abs_error": float(((d_hat - d_star).abs() * m * dx).sum()),
        "max_abs_error_in_bulk": float((d_hat - d_star).abs()[m > 0.05].max()),
        "value_trained_d": value(d_hat),
        "value_optimal_d": value(d_star.clamp(1e-12, 1 - 1e-12)),
        "two_js_minus_log4": 2 * js - math.log(4),
        "x": x.squeeze(1)[::40].tolist(), "d_hat": d_hat[::40].tolist(), "d_star": d_star[::40].tolist(),
    }


@experiment
class OptimalD(Experiment):
    """Claim 1: trained D vs D* = p/(p+q) on known 1-D densities; GAN value vs 2·JS − log 4."""

    name = "optimal-d"
    options = {"steps": Option(3000, 300, "discriminator steps per cell"),
               "seeds": Option((0, 1, 2), (0,), "seeds (the null uses the first one's data)")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        grid = []
        for i, case in enumerate(CASES):
            grid += [Cell(slug(case.label, s), {"case": i}, seed=s, priority=k) for k, s in enumerate(o.seeds)]
            grid.append(Cell(slug(case.label, "null"), {"case": i, "null": True}, seed=o.seeds[0], cost=0.01, baseline=True))
        return grid

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        case = CASES[cell.params["case"]]
        if cell.params.get("null"):
            return compare(UNTRAINED, data.load("mix1d", n=20000, means=case.p_means, std=case.p_std, seed=cell.seed), case)
        return compare(*fit_discriminator(case, steps=o.steps, seed=cell.seed), case)

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        from genzoo.viz import save_curves

        rows = []
        for r in records:
            case, m = CASES[r["params"]["case"]], r["metrics"]
            if r["seed"] == o.seeds[0] and not r["params"].get("null"):
                name = case.label.replace(" ", "_").replace(",", "").replace("=", "eq")
                save_curves({"trained D": (m["x"], m["d_hat"]), "D* = p/(p+q)": (m["x"], m["d_star"])},
                            out / f"d_vs_dstar_{name}.png", "x", "D(x)", title=case.label)
            seed = "null: D = 1/2" if r["params"].get("null") else r["seed"]
            rows.append({"case": case.label, "seed": seed, **{k: v for k, v in m.items() if not isinstance(v, list)}})
        write_results(out, "optimal_d", rows, steps=o.steps, seconds=sum(r["seconds"] for r in records))
