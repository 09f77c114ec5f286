"""Claim 8: DDLS improves the samples of a trained GAN at fixed G and D (Che et al. 2020).

Protocol. Per data set (ring8, grid25) and seed: train a GAN (``gan``, minimax, MLP G/D 2×128,
z ∈ R^64, Adam(1e-3, β1 = 0.5) — the mode-collapse report's v1 setting) ``steps`` iterations of batch
256 with its own loop (the committed report's batch stream, not the trainer's), then ``d_refit``
updates of D alone at the final G (the theory reads p ∝ q_G e^d with D optimal for that G); freeze it;
for each K of ``langevin_steps`` draw 2 500 samples G(z_K), z_K from K steps of Langevin dynamics on
E(z) = ‖z‖²/2 − d(G(z)) from z_0 ~ N(0, I) (η = ``step_size``, σ = √(2η); K = 0 is plain G(z)).
Scores: the mode-coverage protocol (Euclidean 3σ, :func:`genzoo.metrics.mode_coverage`: HQ share,
modes, KL of HQ samples to uniform over modes) and exact W1 to 2 500 fresh data points. Nulls, same
rule: ``prior-langevin`` (the same chains with d ≡ 0, which leave N(0, I) invariant) and ``uniform``
(2 500 points uniform on the data's box). ``wgan=1`` adds a WGAN-GP (lr 1e-3, logistic calibration of
its critic). Cells: each data set's uniform null, then (data, model, seed). Pictures for the first seed.

**MNIST** (``data=mnist``, ``mnist_run=RUN``: a trained unconditional GAN run on 28×28 images). G and D
are the run's; per sampler seed, ``mnist_n`` chains from z_0 ~ N(0, I) run to the largest K, G(z_K)
scored at every K on the way (ULA is Markov: one chain serves every K) with genzoo's image metrics
(:func:`genzoo.metrics.image.image_metrics`) against ``mnist_n`` held-out test images. Nulls: d ≡ 0
chains, and ``mnist_n`` other held-out images (the metrics' floor). Cells: the floor, then (seed,
sampler); defaults ``seeds`` 0 (--quick) or 0,1,2 and ``langevin_steps`` 0,10,30,100.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from genzoo import config, data
from genzoo.bench import experiment, mean_std, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec
from genzoo.sampling.ddls import DDLS, DDLSConfig

N = 2500
#: The GANs sampled: (model, config overrides). Minimax GAN at lr 1e-3 is the setting of the
#: mode-collapse report (v1) that covers most ring modes with blurred samples — the regime DDLS
#: is for (it re-weights within q_G's support; it cannot add modes G never reaches).
GANS = {"gan": ("gan", {"objective": "minimax", "lr_g": 1e-3, "lr_d": 1e-3}),
        "wgan-gp": ("wgan-gp", {"lr_g": 1e-3, "lr_d": 1e-3})}
MNIST_DEFAULTS = {"seeds": ((0, 1, 2), (0,)), "langevin_steps": ((0, 10, 30, 100), (0, 10, 30, 100))}
TABLES = {"ddls": (("data", "model", "sampler", "K"), [("hq_share", "hq share", 3), ("modes", "modes", 1), ("w1", "W1", 4)]),
          "ddls_mnist": (("sampler", "K"), [(m, m.upper() if m in ("fid", "kid") else m.replace("_", " "), 4 if m == "kid" else 3)
                                       for m in ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score")])}


def train_gan(label: str, dataset, steps: int, seed: int, batch: int = 256, d_refit: int = 0):
    """A GAN of ``GANS`` trained ``steps`` iterations, then ``d_refit`` updates of D alone; eval mode."""
    torch.manual_seed(seed)
    cls, overrides = MODELS.get(GANS[label][0]), GANS[label][1]
    model = cls(config.build(cls.Config, dict(overrides)), DataSpec.of(dataset))
    g, x = torch.Generator().manual_seed(seed + 1), dataset.x
    for _ in range(steps):
        model.step(x[torch.randint(0, len(x), (batch * model.batches_per_step,), generator=g)])
    for _ in range(d_refit):
        model.discriminator_step(x[torch.randint(0, len(x), (batch,), generator=g)])
    return model.eval()


def score(samples: torch.Tensor, dataset, reference: torch.Tensor) -> dict:
    from genzoo.metrics import mode_coverage, wasserstein1_exact  # here: genzoo.metrics imports scipy, which `genzoo list` must not pay for

    cov = mode_coverage(samples, dataset.density.means, dataset.density.std)
    return {"hq_share": cov["hq_share"], "modes": cov["modes"], "kl_to_uniform": cov["kl_to_uniform"],
            "w1": wasserstein1_exact(samples, reference)}


def _figure(panels: list[tuple[str, torch.Tensor]], reference: torch.Tensor, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(panels), 3.4))
    lim = 1.2 * float(reference.abs().max())
    for i, (title, x) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="lightgray")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:blue", alpha=0.5)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _no_energy(x: torch.Tensor) -> torch.Tensor:
    return x.new_zeros(x.shape[0])


@experiment
class DDLSExperiment(Experiment):
    """Claim 8: DDLS on trained GANs (ring8, grid25; mnist with mnist_run=RUN): scores vs Langevin steps, null baselines."""

    name = "ddls"
    options = {"data": Option(("ring8", "grid25"), meaning="data sets (mnist runs alone, with mnist_run)"),
               "steps": Option(2000, meaning="GAN training iterations (batch 256)"),
               "seeds": Option((0, 1, 2), (0, 1), "seeds (mnist: 0,1,2 / --quick 0)"),
               "langevin_steps": Option((0, 10, 30, 100, 300), (0, 10, 30, 100), "Langevin steps K scored (mnist: 0,10,30,100)"),
               "step_size": Option(0.01, meaning="Langevin step size η (noise √(2η))"),
               "wgan": Option(False, meaning="also train and sample a WGAN-GP"),
               "d_refit": Option(0, meaning="updates of D alone at the final G after training"),
               "threads": Option(1, meaning="torch threads per cell"),
               "mnist_run": Option("", meaning="a trained GAN run on 28×28 images (data=mnist)"),
               "mnist_n": Option(5000, 2000, "mnist: chains per sampler seed, and held-out images per reference/floor")}

    def resolve(self, sets: dict[str, str], quick: bool) -> Options:
        o = super().resolve(sets, quick)
        if "mnist" in o.data:
            o.update({k: (q if quick else full) for k, (full, q) in MNIST_DEFAULTS.items() if k not in sets})
        return o

    def check(self, o: Options, quick: bool) -> None:
        if "mnist" in o.data and tuple(o.data) != ("mnist",):
            raise GenzooError(f"data={','.join(o.data)!r}: the mnist part runs alone (data=mnist)")
        if "mnist" in o.data:
            _mnist_run(o)

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        if tuple(o.data) == ("mnist",):
            return [Cell("floor", {"part": "floor"}, seed=-1, priority=-1, baseline=True)] + [
                Cell(slug(sampler, seed), {"part": "chain", "sampler": sampler}, seed=seed, priority=i)
                for i, seed in enumerate(o.seeds) for sampler in ("ddls", "prior-langevin")]
        grid = []
        for d in o.data:
            grid.append(Cell(slug(d, "uniform"), {"data": d, "model": "null"}, seed=-1, priority=-1, cost=0.01, baseline=True))
            grid += [Cell(slug(d, m, seed), {"data": d, "model": m}, seed=seed, priority=i)
                     for m in ["gan"] + ["wgan-gp"] * o.wgan for i, seed in enumerate(o.seeds)]
        return grid

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        """One data set's uniform null, or one (data, model, seed): train the GAN, sample and score every K."""
        torch.set_num_threads(o.threads)
        if tuple(o.data) == ("mnist",):
            return _mnist_cell(cell, o, ctx)
        name, model, seed = cell.params["data"], cell.params["model"], cell.seed
        dataset = data.load(name)
        reference = dataset.fresh(N, torch.Generator().manual_seed(12345))
        if model == "null":
            lo, hi = dataset.x.min(0).values, dataset.x.max(0).values
            u = lo + (hi - lo) * torch.rand(N, 2, generator=torch.Generator().manual_seed(7))
            return {"rows": [{"data": name, "model": model, "sampler": "uniform", "seed": -1, "K": 0, **score(u, dataset, reference)}]}
        t0 = time.perf_counter()
        gan = train_gan(model, dataset, o.steps, seed, d_refit=o.d_refit)
        train_s, cfg = time.perf_counter() - t0, DDLSConfig(step_size=o.step_size)
        ddls = DDLS.from_model(gan, cfg, data=dataset.x)
        samplers = (("ddls", ddls), ("prior-langevin", DDLS(gan.G, _no_energy, gan.prior, cfg)))
        rows, panels, sample_s = [], [], []
        for k in o.langevin_steps:
            for sampler_name, sampler in samplers[: 2 if k else 1]:  # K = 0 is plain G(z) for both
                torch.manual_seed(1000 + seed)
                t1 = time.perf_counter()
                x = sampler.sample(N, steps=k)
                sample_s.append(time.perf_counter() - t1)
                rows.append({"data": name, "model": model, "sampler": sampler_name if k else "plain G(z)", "seed": seed,
                             "K": k, **score(x, dataset, reference), "acceptance": sampler.last.acceptance})
                if seed == o.seeds[0] and sampler_name == "ddls" and k in (0, o.langevin_steps[-1]):
                    panels.append((f"{model} {'plain G(z)' if k == 0 else f'DDLS K={k}'}", x))
        if panels:
            _figure(panels, reference, ctx.out / f"ddls_{name}_{model}.png")
        return {"rows": rows, "sample_s": sample_s, "train_s": train_s, "calibration": list(ddls.calibration)}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows, seconds = [row for r in records for row in _rows(r["metrics"])], sum(r["seconds"] for r in records)
        step = {"step_size": o.step_size, "noise": "sqrt(2*step_size)"}
        if tuple(o.data) == ("mnist",):
            meta = next((r["metrics"] for r in records if "run_model" in r["metrics"]), {})
            write_results(out, "ddls_mnist", rows, run=o.mnist_run, model=meta.get("run_model"), seeds=list(o.seeds),
                          langevin_steps=sorted(set(o.langevin_steps) | {0}), **step, n_samples=o.mnist_n,
                          calibration=meta.get("calibration"), seconds=seconds,
                          rule=f"genzoo image metrics (genzoo MNIST feature net) vs {o.mnist_n} held-out test images")
            stem = "ddls_mnist"
        else:
            write_results(out, "ddls", rows, datasets=list(o.data), gan_steps=o.steps, seeds=list(o.seeds),
                          langevin_steps=list(o.langevin_steps), **step, n_samples=N, seconds=seconds, d_refit=o.d_refit,
                          rule="mode_coverage: Euclidean 3 sigma; W1 exact vs 2500 fresh data points")
            stem = "ddls"
        (out / f"{stem}_summary.md").write_text(_summary(rows, *TABLES[stem]))


def _rows(m: dict) -> list[dict]:
    """A cell's rows with the timings (kept out of the compared rows) back where the rows always had them."""
    at = lambda i: {k: m[k][i] if isinstance(m[k], list) else m[k] for k in ("sample_s", "train_s", "chain_s") if k in m}
    return [{**row, **at(i), **({"calibration": m["calibration"]} if "sample_s" in m else {})} for i, row in enumerate(m["rows"])]


def _summary(rows: list[dict], keys: tuple[str, ...], metrics: list[tuple[str, str, int]]) -> str:
    """Mean ± std over seeds, one line per value of ``keys``."""
    groups = list(dict.fromkeys(tuple(r[k] for k in keys) for r in rows))
    head = [*keys, *(title for _, title, _ in metrics), "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for group in groups:
        sel = [r for r in rows if tuple(r[k] for k in keys) == group]
        cells = [mean_std([float(r[m]) for r in sel], digits) for m, _, digits in metrics]
        lines.append("| " + " | ".join(map(str, [*group, *cells, len(sel)])) + " |")
    return "\n".join(lines) + "\n"


def _mnist_run(o: Options):
    """The run's model, config and data set, checked: 28×28 images with enough held-out ones."""
    from genzoo import run

    if not o.mnist_run:
        raise GenzooError("data=mnist needs mnist_run=RUN, a trained GAN run on MNIST "
                          "(e.g. genzoo train dcgan --data mnist --set steps=2000)")
    model, run_config = run.load(o.mnist_run)
    dataset = data.load(run_config["data"]["name"], **run_config["data"]["params"])
    if dataset.test_x is None or tuple(dataset.x.shape[1:]) not in ((1, 28, 28), (3, 28, 28)):
        raise GenzooError(f"mnist_run={o.mnist_run!r}: needs 28×28 images with a held-out test set, "
                          f"got data {run_config['data']['name']!r} of shape {tuple(dataset.x.shape[1:])}")
    if not 2 <= 2 * o.mnist_n <= dataset.test_x.shape[0]:
        raise GenzooError(f"mnist_n={o.mnist_n}: needs 2 ≤ 2·n ≤ {dataset.test_x.shape[0]} held-out images (reference and floor)")
    return model, run_config, dataset


def _mnist_cell(cell: Cell, o: Options, ctx: CellContext) -> dict:
    """The floor (other held-out images) or one sampler seed's chains on the run's GAN, scored at every K."""
    from genzoo.metrics.features import load_classifier
    from genzoo.metrics.image import image_metrics
    from genzoo.viz.images import save_image_grid

    model, run_config, dataset = _mnist_run(o)
    n, net = o.mnist_n, load_classifier()
    order = torch.randperm(dataset.test_x.shape[0], generator=torch.Generator().manual_seed(12345))
    reference, floor = dataset.test_x[order[:n]], dataset.test_x[order[n : 2 * n]]
    if cell.params["part"] == "floor":
        return {"rows": [{"data": "mnist", "sampler": "held-out test images", "seed": -1, "K": 0,
                          **image_metrics(reference, floor.clamp(0, 1), net=net)}]}
    cfg, sampler_name, seed = DDLSConfig(step_size=o.step_size), cell.params["sampler"], cell.seed
    torch.manual_seed(0)  # the calibration's draw (a non-logit critic's), the same in every cell
    ddls = DDLS.from_model(model, cfg, data=dataset.x, name=f"run {o.mnist_run!r}")
    sampler = ddls if sampler_name == "ddls" else DDLS(model.G, _no_energy, model.prior, cfg)
    torch.manual_seed(1000 + seed)
    z, done, chain_s, rows, times = model.prior(n), 0, 0.0, [], []
    ks = sorted(set(o.langevin_steps) | {0})
    for k in ks:
        t0 = time.perf_counter()
        z = sampler.run(z, steps=k - done)
        done, chain_s = k, chain_s + time.perf_counter() - t0
        if k == 0 and sampler_name != "ddls":
            continue  # K = 0 is plain G(z) for both
        with torch.no_grad():
            x = model.G(z).float()
        rows.append({"data": "mnist", "sampler": sampler_name if k else "plain G(z)", "seed": seed, "K": k,
                     **image_metrics(reference, x.clamp(0, 1), net=net)})
        times.append(chain_s)
        if seed == o.seeds[0] and sampler_name == "ddls" and k in (0, ks[-1]):
            save_image_grid(x[:64].clamp(0, 1), ctx.out / f"ddls_mnist_K{k}.png")
    return {"rows": rows, "chain_s": times, "run_model": run_config["model"], "calibration": list(ddls.calibration)}
