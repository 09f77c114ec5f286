"""Claim 9: the WGAN critic's estimate tracks the true Wasserstein distance during training.

The critic's value gap  Ŵ = E_{x~p}[f_w(x)] − E_z[f_w(G(z))]  is the Kantorovich–Rubinstein
dual of W1 evaluated at the current critic; for a K-Lipschitz critic Ŵ ≤ K·W1. With weight
clipping K is unknown (it scales with the clip c), so the claim is about *tracking*: Ŵ and the
exact W1 between samples and data should move together (Arjovsky et al. 2017, §4.2, Fig. 3–4).
With the gradient penalty K ≈ 1, so Ŵ should also be close to W1 in value.

Protocol: train on a 2-D mixture; every ``every`` generator steps record the critic's training
estimate Ŵ — the value gap of the critic batches right after the critic's updates (the model's
``critic_gap``), averaged over the last ``every`` iterations, as the WGAN paper plots it — and the
exact W1 between 2 500 fresh samples and 2 500 fresh data points (network simplex). Report the
Pearson and Spearman correlations over the trajectory. (Measuring the critic *after* the
generator's step instead reads a critic the generator has just exploited, and the gap can be
negative.) Cells: one trajectory per model (seed 0), in its own loop. Design 2: see below.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genzoo import config, data
from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.models import MODELS, DataSpec
from genzoo.optim import descend

#: Learning rates: WGAN-GP keeps its paper's 1e-4; WGAN's 5e-5 is raised to 1e-3 (a CPU-budget
#: deviation) so that a few thousand generator steps cover most of the way to the data.
LEARNING_RATES = {"wgan": 1e-3, "wgan-gp": 1e-4}


@torch.no_grad()
def critic_estimate(model, x: torch.Tensor, fake: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    gap = (model.d(x).mean() - model.d(fake).mean()).item()
    model.train(was_training)
    return gap


def trajectory(model_name: str, data_name: str, steps: int, every: int, seed: int = 0,
               batch_size: int = 256, n_eval: int = 2500) -> list[dict[str, float]]:
    """Train ``model_name`` and record (step, critic estimate, exact W1) every ``every`` steps."""
    from genzoo.metrics import wasserstein1_exact  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for

    torch.manual_seed(seed)
    dataset = data.load(data_name, n=50000, seed=seed)
    cls = MODELS.get(model_name)
    lr = LEARNING_RATES.get(model_name, 1e-3)
    model = cls(config.build(cls.Config, {"lr_g": lr, "lr_d": lr}), DataSpec.of(dataset))
    g = torch.Generator().manual_seed(seed + 1)
    k = model.batches_per_step
    rows, gaps = [], []
    for step in range(steps + 1):
        if step % every == 0 and step > 0:
            with torch.random.fork_rng():
                torch.manual_seed(10_000 + step)
                fake = model.sample(n_eval)
            real = dataset.fresh(n_eval, g)
            rows.append({"step": step, "critic": torch.stack(gaps).mean().item(), "w1": wasserstein1_exact(fake, real),
                         "critic_after_generator_step": critic_estimate(model, real, fake)})
            gaps = []
        if step < steps:
            out = model.step(dataset.x[torch.randint(0, len(dataset.x), (batch_size * k,), generator=g)])
            gaps.append(out["critic_gap"])
    return rows


def correlations(rows: list[dict[str, float]]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    critic, w1 = [r["critic"] for r in rows], [r["w1"] for r in rows]
    return {"pearson": float(pearsonr(critic, w1)[0]), "spearman": float(spearmanr(critic, w1)[0])}


def _figure(results: dict[str, list[dict[str, float]]], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5 * len(results), 4.0))
    FigureCanvasAgg(fig)
    for i, (name, rows) in enumerate(results.items()):
        ax = fig.add_subplot(1, len(results), i + 1)
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r["w1"] for r in rows], color="tab:blue", label="exact W1 (samples vs data)")
        ax.set_xlabel("generator step")
        ax.set_ylabel("exact W1", color="tab:blue")
        twin = ax.twinx()
        twin.plot(steps, [r["critic"] for r in rows], color="tab:red", label="critic estimate")
        twin.set_ylabel("critic estimate E f(x) − E f(G(z)) (training)", color="tab:red")
        c = correlations(rows)
        ax.set_title(f"{name}: Pearson {c['pearson']:.3f}, Spearman {c['spearman']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


@experiment
class CriticW1(Experiment):
    """Claim 9: WGAN / WGAN-GP critic estimate vs exact W1 over training (correlation)."""

    name = "wgan-critic-w1"
    options = {"threads": Option(1, meaning="torch CPU threads"), "data": Option("grid25", meaning="2-D data set"),
               "steps": Option(3000, 200, "generator steps"), "models": Option(("wgan", "wgan-gp"), meaning="models"),
               "every": Option(0, meaning="record every N generator steps (0: steps // 20)")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(slug(m), {"model": m}, seed=0, cost=o.steps) for m in o.models]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        torch.set_num_threads(o.threads)
        return {"trajectory": trajectory(cell.params["model"], o.data, o.steps, o.every or max(o.steps // 20, 1))}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        results = {r["params"]["model"]: r["metrics"]["trajectory"] for r in records}
        write_results(out, "wgan_critic_w1", [{"model": m, **r} for m, rows in results.items() for r in rows],
                      data=o.data, steps=o.steps, every=o.every or max(o.steps // 20, 1), lr=LEARNING_RATES,
                      summary={m: correlations(rows) for m, rows in results.items()}, seconds=sum(r["seconds"] for r in records))
        _figure(results, out / "wgan_critic_w1.png")


# ------------------------------------------------------------------------------------------------
# Design 2: generators of known quality. During training W1 hardly moves once the generator is
# near the data, so a correlation over a training trajectory is measured mostly on noise. Here
# the "generators" are fixed distributions q whose W1 to the data spans two orders of magnitude:
#
#   shift t:  q_t = p translated by (t, 0)        → W1(p, q_t) = t exactly (a translation);
#   drop m:   q_m = p restricted to m of its modes → W1 from the exact solver on 2 500 vs 2 500.
#
# For each q a fresh critic is trained from initialisation against it alone (the paper's optimiser
# and learning rate) and its estimate Ŵ = E_p f − E_q f is read on fresh samples. Ŵ should rank the
# q's as W1 does (Spearman), and for WGAN-GP (K ≈ 1) sit on W1's scale (Ŵ ≤ W1 for a 1-Lipschitz f).
# Cells: per seed the exact W1s, and model × seed training its critics (no generator: no trainer run).
SHIFTS, DROPS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0), (8, 7, 6, 4, 2, 1)


def known_generators(dataset, n: int, generator: torch.Generator) -> list[tuple[str, float | None, callable]]:
    """(name, exact W1 or None, sampler(n) → points) for the shift and mode-dropping families."""
    means, std = dataset.density.means.float(), float(torch.as_tensor(dataset.density.std).max())
    out: list[tuple[str, float | None, callable]] = []
    for t in SHIFTS:
        out.append((f"shift {t:g}", t, lambda k, t=t: dataset.fresh(k, generator) + torch.tensor([t, 0.0])))
    for m in DROPS:
        def sampler(k: int, m: int = m) -> torch.Tensor:
            idx = torch.randint(0, m, (k,), generator=generator)
            return means[idx] + std * torch.randn(k, 2, generator=generator)
        out.append((f"drop to {m}", None, sampler))
    return out


def critic_against(model_name: str, dataset, sampler, critic_steps: int, seed: int, batch_size: int = 256,
                   n_eval: int = 2500) -> float:
    """Train a fresh critic of ``model_name`` (its paper's optimiser) against the fixed q; return Ŵ."""
    torch.manual_seed(seed)
    cls = MODELS.get(model_name)
    model = cls(config.build(cls.Config, {}), DataSpec.of(dataset))
    g = torch.Generator().manual_seed(seed + 7)
    for _ in range(critic_steps):
        x = dataset.x[torch.randint(0, len(dataset.x), (batch_size,), generator=g)]
        loss, _ = model.discriminator_loss(x, sampler(batch_size))
        descend(model.opt_d, loss)
        model.after_discriminator_update()
    return critic_estimate(model, dataset.fresh(n_eval, g), sampler(n_eval))


@experiment
class CriticKnown(Experiment):
    """Claim 9, design 2: critics trained against fixed generators of known W1 (shifted / mode-dropping ring)."""

    name = "wgan-critic-known"
    options = {"threads": Option(1, meaning="torch CPU threads"), "critic_steps": Option(1000, 100, "critic steps"),
               "seeds": Option((0, 1, 2), (0,), "seeds"), "models": Option(("wgan", "wgan-gp"), meaning="models")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(slug(m or "exact_w1", s), {"model": m}, seed=s, priority=k, cost=14 if m else 20)
                for k, s in enumerate(o.seeds) for m in (None, *o.models)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        """The q's share one stream per seed (exact W1s, then each model's critics): replay the draws before ours."""
        from genzoo.metrics import wasserstein1_exact  # here, not at module level: genzoo.metrics imports scipy

        torch.set_num_threads(o.threads)
        dataset, model = data.load("ring8", n=50000, seed=0), cell.params["model"]
        gens = known_generators(dataset, 2500, torch.Generator().manual_seed(100 + cell.seed))
        if model is None:
            return {"w1": [w1 if w1 is not None else wasserstein1_exact(
                sampler(2500), dataset.fresh(2500, torch.Generator().manual_seed(200 + cell.seed))) for _, w1, sampler in gens]}
        earlier = [(q, 2500) for _, w1, q in gens if w1 is None] + [
            (q, n) for _ in range(list(o.models).index(model)) for _, _, q in gens for n in [256] * o.critic_steps + [2500]]
        for q, n in earlier:
            q(n)
        return {"critic": [critic_against(model, dataset, sampler, o.critic_steps, cell.seed) for _, _, sampler in gens]}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        names = [f"shift {t:g}" for t in SHIFTS] + [f"drop to {m}" for m in DROPS]
        exact = {r["seed"]: r["metrics"]["w1"] for r in records if r["params"]["model"] is None}
        rows = [{"model": r["params"]["model"], "seed": r["seed"], "generator": name, "w1": w1, "critic": critic}
                for r in records if r["params"]["model"] and r["seed"] in exact
                for name, w1, critic in zip(names, exact[r["seed"]], r["metrics"]["critic"])]
        summary = {f"{m} s{s}": correlations([r for r in rows if (r["model"], r["seed"]) == (m, s)])
                   for m in o.models for s in o.seeds if (m, s) in {(r["model"], r["seed"]) for r in rows}}
        write_results(out, "wgan_critic_known", rows, critic_steps=o.critic_steps, seeds=list(o.seeds), summary=summary,
                      shifts=SHIFTS, drops=DROPS, seconds=sum(r["seconds"] for r in records))
        if rows:
            _known_figure(rows, list(o.models), out / "wgan_critic_known.png")


def _known_figure(rows: list[dict], models: list[str], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0 * len(models), 4.2))
    FigureCanvasAgg(fig)
    for i, model_name in enumerate(models):
        ax = fig.add_subplot(1, len(models), i + 1)
        for family, marker in (("shift", "o"), ("drop", "s")):
            sel = [r for r in rows if r["model"] == model_name and r["generator"].startswith(family)]
            ax.scatter([r["w1"] for r in sel], [r["critic"] for r in sel], marker=marker, alpha=0.7, label=family)
        top = max(r["w1"] for r in rows)
        if model_name == "wgan-gp":
            ax.plot([0, top], [0, top], color="grey", lw=0.8, label="estimate = W1")
        ax.set_xlabel("exact W1(p, q)")
        ax.set_ylabel("critic estimate E_p f − E_q f")
        ax.set_title(f"{model_name}: one fresh critic per q (3 seeds)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
