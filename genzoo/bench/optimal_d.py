"""Claim 1: a trained discriminator matches D*(x) = p(x) / (p(x) + q(x)) on known 1-D densities,
and the GAN value V(D, G) = E_p[log D] + E_q[log(1 − D)] reaches 2·JS(p ‖ q) − log 4, which is
−log 4 when p = q (Goodfellow et al. 2014, Prop. 1 and Thm. 1).

The generator is frozen to an affine map x = μ + σz, z ~ N(0, 1), so q = N(μ, σ²) is known
exactly; only the GAN's discriminator phase runs (``AdversarialModel.discriminator_step``).
Values are computed by quadrature on a fine grid with the exact densities.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from genzoo import config, data
from genzoo.bench import benchmark, write_results
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


class _Untrained:
    """The null discriminator D ≡ 1/2."""

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x),), 0.5, dtype=x.dtype)


@benchmark("optimal-d")
def optimal_d(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """Claim 1: trained D vs D* = p/(p+q) on known 1-D densities; GAN value vs 2·JS − log 4."""
    from genzoo.viz import save_curves

    options = dict(options or {})
    steps = int(options.get("steps", 300 if quick else 3000))
    seeds = [int(s) for s in options.get("seeds", "0" if quick else "0,1,2").split(",")]
    start = time.perf_counter()
    rows = []
    for case in CASES:
        for seed in seeds:
            model, p = fit_discriminator(case, steps=steps, seed=seed)
            r = compare(model, p, case)
            if seed == seeds[0]:
                slug = case.label.replace(" ", "_").replace(",", "").replace("=", "eq")
                save_curves({"trained D": (r["x"], r["d_hat"]), "D* = p/(p+q)": (r["x"], r["d_star"])},
                            out / f"d_vs_dstar_{slug}.png", "x", "D(x)", title=case.label)
            rows.append({"case": case.label, "seed": seed, **{k: v for k, v in r.items() if not isinstance(v, list)}})
        # the null, scored by the same rule: a discriminator that has learned nothing, D ≡ 1/2
        # (its value is exactly −log 4 whatever p and q are, so only p = q cannot tell them apart)
        r = compare(_Untrained(), data.load("mix1d", n=20000, means=case.p_means, std=case.p_std, seed=seeds[0]), case)
        rows.append({"case": case.label, "seed": "null: D = 1/2", **{k: v for k, v in r.items() if not isinstance(v, list)}})
    elapsed = time.perf_counter() - start
    write_results(out, "optimal_d", rows, steps=steps, seconds=elapsed)
    keys = ["mean_abs_error", "max_abs_error_in_bulk", "value_trained_d", "value_optimal_d", "two_js_minus_log4"]
    print(f"{'case':<24}{'seed':>5}" + "".join(f"{k:>22}" for k in keys))
    for r in rows:
        print(f"{r['case']:<24}{r['seed']:>5}" + "".join(f"{r[k]:>22.4f}" for k in keys))
    print(f"−log 4 = {-math.log(4):.4f}; wall-clock {elapsed:.1f} s")
    return out
