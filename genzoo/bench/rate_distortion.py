"""Claim 10: rate–distortion of VAEs (Alemi et al. 2018, "Fixing a Broken ELBO").

For any encoder q(z|x), decoder p(x|z) and prior p(z), with data entropy H = −E log p*(x),

    H − D ≤ I_q(x; z) ≤ R,      D = E_x E_q[−log p(x|z)],   R = E_x KL(q(z|x) ‖ p(z)),

so every trained model sits on or above the line R = H − D in the (D, R) plane, and −ELBO = R + D.
Target-rate training, min D + |σ − R|, moves a VAE along that plane. The penalty's slope is 1 on
either side of σ, the same as the ELBO's, so it can raise the rate above the ELBO's optimum but
only lower it where the decoder gains less than one nat of distortion per nat of rate; the sweep
therefore uses σ for the high-rate points and β > 1 (min D + βR) for the low-rate ones.

Protocol (pinned; ``--set KEY=VALUE`` changes it):

(a) ``bits16``: a discrete source defined here with exactly known entropy. Four fair bits b are
    spread into a 12-bit codeword c(b) = [b, b ⊕ roll(b, 1), b ⊕ roll(b, 2)] (injective: it contains
    b) and four independent noise bits n_j ~ Bernoulli(0.2) follow: x = [c(b), n] ∈ {0, 1}^16, so
    H = 4 log 2 + 4 h(0.2) = 4.7743 nats exactly (h the binary entropy in nats). A ``vae`` (MLP,
    Bernoulli decoder, 2 hidden layers of 128, latent 8) is trained for each σ in ``rates`` and each
    β in ``betas``; R and D are measured on 5 000 fresh draws (D averaged over 8 draws of z per
    example, with its standard error) and ``H − D ≤ R`` is checked for every point (with a 3-standard-
    error allowance for the Monte Carlo D). Null baseline: the best factorised model without a
    latent (R = 0) has D = Σ_i H(x_i) = 16 log 2 − ... computed from the exact marginals.
(b) binarised MNIST (``binarized_mnist``, stochastic binarisation fixed by the seed): σ in
    ``mnist_rates``, MLP VAE (hidden 500, latent 32); R and D on 1 000 test images. H is unknown
    there; the plot shows the points with the −ELBO contours R + D = const.

Outputs: ``rate_distortion.csv/json`` (one row per model), ``rate_distortion_bits16.png``,
``rate_distortion_mnist.png``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import benchmark, write_results
from genzoo.errors import GenzooError

#: option → (full value, --quick value)
DEFAULTS: dict[str, tuple[str, str]] = {
    "rates": ("4,5,6,8", "5,6"),
    "betas": ("0.5,1,1.5,2,4,8", "1,2,4"),
    "steps": ("4000", "1500"),
    "mnist_rates": ("0,5,10,20,40,80", "5,20,60"),
    "mnist_steps": ("5000", "600"),
    "seed": ("0", "0"),
}

NOISE_P = 0.2


def binary_entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def bits16_entropy() -> float:
    """H of the bits16 source in nats: 4 log 2 + 4 h(0.2)."""
    return 4 * math.log(2) + 4 * binary_entropy(NOISE_P)


def bits16(n: int, generator: torch.Generator) -> torch.Tensor:
    """n draws of the bits16 source, (n, 16) in {0, 1}."""
    b = torch.randint(0, 2, (n, 4), generator=generator)
    code = torch.cat([b, b ^ b.roll(1, 1), b ^ b.roll(2, 1)], 1)
    noise = (torch.rand(n, 4, generator=generator) < NOISE_P).long()
    return torch.cat([code, noise], 1).float()


def bits16_marginal_distortion() -> float:
    """Distortion of the best latent-free factorised Bernoulli model: Σ_i H(x_i) (exact marginals)."""
    # every code bit is a fair coin (b_i, or the XOR of two fair independent bits); noise bits are Bernoulli(0.2)
    return 12 * math.log(2) + 4 * binary_entropy(NOISE_P)


def resolve_options(defaults: dict[str, tuple[str, str]], quick: bool, given: dict[str, str] | None) -> dict[str, str]:
    opts = {k: v[1 if quick else 0] for k, v in defaults.items()}
    for k in (given or {}):
        if k not in opts:
            raise GenzooError(f"unknown option {k!r}; valid: {', '.join(opts)}")
    opts.update(given or {})
    return opts


def floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GenzooError(f"invalid value {name}={text!r}: expected comma-separated numbers") from None


def new_model(name: str, spec: Any, **overrides: Any) -> Any:
    from genzoo.config import build
    from genzoo.models import MODELS

    cls = MODELS.get(name)
    return cls(build(cls.Config, overrides), spec)


def fit(model: Any, x: torch.Tensor, steps: int, batch: int = 64, seed: int = 0, y: torch.Tensor | None = None) -> dict[str, float]:
    """``steps`` model steps on minibatches of x drawn with a seeded generator; returns the last step's outputs."""
    g = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {}
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        out = model.step((x[idx], y[idx]) if y is not None else x[idx])
    return {k: float(v) for k, v in out.items()}


@torch.no_grad()
def measure(model: Any, x: torch.Tensor, draws: int = 8, batch: int = 1000) -> dict[str, float]:
    """R (closed form per example) and D averaged over ``draws`` z per example, with D's standard error."""
    model.eval()
    rates, dists = [], []
    for i in range(0, x.shape[0], batch):
        xb = x[i : i + batch]
        parts = [model.rate_distortion(xb) for _ in range(draws)]
        rates.append(torch.stack([p[0] for p in parts]).mean(0))
        dists.append(torch.stack([p[1] for p in parts]).mean(0))
    r, d = torch.cat(rates).double(), torch.cat(dists).double()
    return {"rate": float(r.mean()), "distortion": float(d.mean()), "distortion_se": float(d.std() / math.sqrt(d.numel())),
            "rate_se": float(r.std() / math.sqrt(r.numel()))}


def _plot(rows: list[dict[str, Any]], path: Path, title: str, entropy: float | None) -> None:
    from genzoo.viz.plots import _new_figure, _save

    fig = _new_figure((5.5, 4.5))
    ax = fig.add_subplot()
    d = [r["distortion"] for r in rows]
    rr = [r["rate"] for r in rows]
    top = max(max(d), max(rr), entropy or 0) * 1.1
    if entropy is not None:
        ax.plot([0, entropy], [entropy, 0], "k-", label=f"R = H − D (H = {entropy:.3f} nats)")
        ax.fill_between([0, entropy], [entropy, 0], [0, 0], color="0.9", label="infeasible: R < H − D")
    for r in rows:
        ax.annotate(r["label"], (r["distortion"], r["rate"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(d, rr, c="C0", zorder=3, label="trained VAEs")
    elbo_best = min(a + b for a, b in zip(d, rr))
    ax.plot([0, elbo_best], [elbo_best, 0], "C1--", lw=0.8, label=f"best −ELBO = R + D = {elbo_best:.2f}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("distortion D (nats)")
    ax.set_ylabel("rate R (nats)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    _save(fig, path)


@benchmark("rate-distortion")
def rate_distortion(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """Claim 10: VAE rate–distortion sweep (target rate σ, β) on a 16-bit source of exact entropy and on binarised MNIST."""
    from genzoo import data
    from genzoo.models import DataSpec

    opts = resolve_options(DEFAULTS, quick, options)
    seed = int(opts["seed"])
    start = time.perf_counter()
    H = bits16_entropy()
    g = torch.Generator().manual_seed(seed)
    train_x, test_x = bits16(20_000, g), bits16(5_000, g)
    spec = DataSpec("points", (16,))
    rows: list[dict[str, Any]] = []
    settings = [("target_rate", s) for s in floats(opts["rates"], "rates")] + [("beta", b) for b in floats(opts["betas"], "betas")]
    for kind, value in settings:
        torch.manual_seed(seed)
        model = new_model("vae", spec, arch="mlp", hidden=128, depth=2, latent_dim=8, observation="bernoulli", lr=1e-3,
                          **({"target_rate": value} if kind == "target_rate" else {"beta": value}))
        fit(model, train_x, int(opts["steps"]), batch=128, seed=seed)
        m = measure(model, test_x)
        slack = m["rate"] - (H - m["distortion"])
        rows.append({"data": "bits16", "setting": kind, "value": value, "label": f"{'σ' if kind == 'target_rate' else 'β'}={value:g}",
                     **m, "elbo": -(m["rate"] + m["distortion"]), "entropy": H, "R_minus_H_plus_D": slack,
                     "bound_holds": bool(slack >= -3 * m["distortion_se"])})
    null_d = bits16_marginal_distortion()
    rows.append({"data": "bits16", "setting": "null: factorised marginals, no latent", "value": 0.0, "label": "null",
                 "rate": 0.0, "distortion": null_d, "distortion_se": 0.0, "rate_se": 0.0, "elbo": -null_d, "entropy": H,
                 "R_minus_H_plus_D": null_d - H, "bound_holds": True})
    _plot([r for r in rows if r["data"] == "bits16"], out / "rate_distortion_bits16.png", "bits16 (exact H)", H)

    mnist_rows: list[dict[str, Any]] = []
    mnist_rates = floats(opts["mnist_rates"], "mnist_rates")
    if mnist_rates:
        ds = data.load("binarized_mnist", seed=seed)
        test = ds.test_x[:1000]
        mspec = DataSpec.of(ds)
        for sigma in mnist_rates:
            torch.manual_seed(seed)
            model = new_model("vae", mspec, arch="mlp", hidden=500, depth=1, latent_dim=32, target_rate=sigma)
            fit(model, ds.x, int(opts["mnist_steps"]), batch=100, seed=seed)
            m = measure(model, test, draws=2)
            mnist_rows.append({"data": "binarized_mnist", "setting": "target_rate", "value": sigma, "label": f"σ={sigma:g}", **m,
                               "elbo": -(m["rate"] + m["distortion"])})
        p = ds.x.mean(0).clamp(1e-4, 1 - 1e-4)
        null_d = float(-(test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean())
        mnist_rows.append({"data": "binarized_mnist", "setting": "null: pixel marginals, no latent", "value": 0.0, "label": "null",
                           "rate": 0.0, "distortion": null_d, "distortion_se": 0.0, "rate_se": 0.0, "elbo": -null_d})
        _plot(mnist_rows, out / "rate_distortion_mnist.png", "binarised MNIST (1 000 test images)", None)
    rows += mnist_rows
    write_results(out, "rate_distortion", rows, entropy_bits16=H, options=opts, quick=quick,
                  all_bounds_hold=all(r.get("bound_holds", True) for r in rows), seconds=time.perf_counter() - start)
    return out
