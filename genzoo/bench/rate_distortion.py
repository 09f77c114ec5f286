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

Cells: one per trained model (bits16 first), plus the MNIST pixel-marginal null; each trains in
its own loop (:func:`fit`, kept: the committed numbers come from its batch stream). Outputs:
``rate_distortion.csv/json`` (one row per model), ``rate_distortion_bits16.png``, ``rate_distortion_mnist.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug

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


@experiment
class RateDistortion(Experiment):
    """Claim 10: VAE rate–distortion sweep (target rate σ, β) on a 16-bit source of exact entropy and on binarised MNIST."""

    name = "rate-distortion"
    options = {"rates": Option((4.0, 5.0, 6.0, 8.0), (5.0, 6.0), "bits16 target rates σ"),
               "betas": Option((0.5, 1.0, 1.5, 2.0, 4.0, 8.0), (1.0, 2.0, 4.0), "bits16 β values"),
               "steps": Option(4000, 1500, "bits16 training steps"),
               "mnist_rates": Option((0.0, 5.0, 10.0, 20.0, 40.0, 80.0), (5.0, 20.0, 60.0), "MNIST target rates (empty: none)"),
               "mnist_steps": Option(5000, 600, "MNIST training steps"), "seed": Option(0, meaning="seed")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        bits = [("target_rate", v) for v in o.rates] + [("beta", v) for v in o.betas]
        grid = [Cell(slug("bits16", k, f"{v:g}"), {"data": "bits16", "setting": k, "value": v}, o.seed, 0, o.steps)
                for k, v in bits]
        grid += [Cell(slug("mnist", f"{v:g}"), {"data": "binarized_mnist", "setting": "target_rate", "value": v}, o.seed, 1,
                      10 * o.mnist_steps) for v in o.mnist_rates]
        if o.mnist_rates:
            grid.append(Cell("mnist__null", {"data": "binarized_mnist", "setting": "null"}, o.seed, 1, 1, baseline=True))
        return grid

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        from genzoo import data
        from genzoo.models import DataSpec

        k, value, seed = cell.params["setting"], cell.params.get("value"), cell.seed
        if cell.params["data"] == "bits16":
            g = torch.Generator().manual_seed(seed)
            train_x, test_x = bits16(20_000, g), bits16(5_000, g)
            torch.manual_seed(seed)
            model = new_model("vae", DataSpec("points", (16,)), arch="mlp", hidden=128, depth=2, latent_dim=8,
                              observation="bernoulli", lr=1e-3, **{k: value})
            fit(model, train_x, o.steps, batch=128, seed=seed)
            return measure(model, test_x)
        ds = data.load("binarized_mnist", seed=seed)
        test = ds.test_x[:1000]
        if k == "null":  # the best latent-free factorised model: the training set's pixel marginals
            p = ds.x.mean(0).clamp(1e-4, 1 - 1e-4)
            return {"distortion": float(-(test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean())}
        torch.manual_seed(seed)
        model = new_model("vae", DataSpec.of(ds), arch="mlp", hidden=500, depth=1, latent_dim=32, target_rate=value)
        fit(model, ds.x, o.mnist_steps, batch=100, seed=seed)
        return measure(model, test, draws=2)

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        H, rows = bits16_entropy(), {"bits16": [], "binarized_mnist": []}
        for r in records:
            p, m = r["params"], r["metrics"]
            if p["setting"] == "null":
                rows[p["data"]].append({"data": p["data"], "setting": "null: pixel marginals, no latent", "value": 0.0,
                                        "label": "null", "rate": 0.0, "distortion": m["distortion"], "distortion_se": 0.0,
                                        "rate_se": 0.0, "elbo": -m["distortion"]})
                continue
            row = {"data": p["data"], "setting": p["setting"], "value": p["value"],
                   "label": f"{'σ' if p['setting'] == 'target_rate' else 'β'}={p['value']:g}", **m,
                   "elbo": -(m["rate"] + m["distortion"])}
            if p["data"] == "bits16":
                slack = m["rate"] - (H - m["distortion"])
                row.update(entropy=H, R_minus_H_plus_D=slack, bound_holds=bool(slack >= -3 * m["distortion_se"]))
            rows[p["data"]].append(row)
        null_d = bits16_marginal_distortion()
        rows["bits16"].append({"data": "bits16", "setting": "null: factorised marginals, no latent", "value": 0.0,
                               "label": "null", "rate": 0.0, "distortion": null_d, "distortion_se": 0.0, "rate_se": 0.0,
                               "elbo": -null_d, "entropy": H, "R_minus_H_plus_D": null_d - H, "bound_holds": True})
        _plot(rows["bits16"], out / "rate_distortion_bits16.png", "bits16 (exact H)", H)
        if rows["binarized_mnist"]:
            _plot(rows["binarized_mnist"], out / "rate_distortion_mnist.png", "binarised MNIST (1 000 test images)", None)
        opts = {k: ",".join(f"{x:g}" for x in v) if isinstance(v, (list, tuple)) else str(v) for k, v in o.items()}
        rows = rows["bits16"] + rows["binarized_mnist"]
        write_results(out, "rate_distortion", rows, entropy_bits16=H, options=opts, quick=quick,
                      all_bounds_hold=all(r.get("bound_holds", True) for r in rows), seconds=sum(r["seconds"] for r in records))
