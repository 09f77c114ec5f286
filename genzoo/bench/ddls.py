"""Claim 8: DDLS improves the samples of a trained GAN at fixed G and D (Che et al. 2020).

Protocol. For each data set (ring8, grid25) and seed: train a GAN (``gan``, minimax objective,
MLP G/D with 2 hidden layers of 128, z ∈ R^64, Adam(1e-3, β1 = 0.5) for both players — the
mode-collapse report's v1 setting) for ``steps`` = 2 000 iterations of batch 256; freeze it; then, for
each number of Langevin steps K, draw 2 500 samples G(z_K) where z_K comes from K steps of
Langevin dynamics on E(z) = ‖z‖²/2 − d(G(z)) started at z_0 ~ N(0, I) (η = ``step_size``,
σ = √(2η); K = 0 is plain G(z)). Each set of samples is scored by the mode-coverage protocol
(Euclidean 3σ rule, :func:`genzoo.metrics.mode_coverage`: high-quality share, modes covered,
KL of the high-quality samples to uniform over modes) and the exact W1 to 2 500 fresh data
points. Null baselines, scored by the same rule:

* ``prior-langevin``: the same chains with d ≡ 0 (E(z) = ‖z‖²/2, which leaves N(0, I) invariant):
  any change it shows is Langevin noise, not the discriminator;
* ``uniform``: 2 500 points uniform on the data's bounding box.

Option ``d_refit=N``: after training, N more updates of D alone at the fixed G (the theory reads
p ∝ q_G e^d with D optimal for the final G; a GAN's last D is tuned to a moving G).
Optionally (``wgan=1``) a WGAN-GP (lr 1e-3) is trained too and sampled with the logistic
calibration of its critic (``calibration=auto``). Pictures: plain G(z) and DDLS samples for the first seed.

**MNIST** (``data=mnist``, with ``mnist_run=RUN``: a trained unconditional GAN run on 28×28 images,
e.g. ``genzoo train dcgan --data mnist``). G and D are the run's, fixed; for each sampler seed,
``mnist_n`` chains (2 000 with ``--quick``, else 5 000: the reference and the floor take disjoint
halves of MNIST's 10 000 test images) start at z_0 ~ N(0, I) and run to the largest K, G(z_K)
being scored at every K of ``langevin_steps`` along the way (ULA is Markov, so the K = 10 images
are those of a 10-step run: one chain serves every K). Scores: genzoo's image metrics
(:func:`genzoo.metrics.image.image_metrics`: FID, KID, precision/recall, density/coverage,
classifier score, on genzoo's MNIST feature net) of the clipped images against ``mnist_n``
held-out test images. Null baselines: the same chains with d ≡ 0 (``prior-langevin``), and
``mnist_n`` other held-out test images in place of samples (the metrics' floor at this n).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from genzoo import config, data
from genzoo.bench import benchmark, mean_std, write_results
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec
from genzoo.sampling.ddls import DDLS, DDLSConfig

N = 2500


#: The GANs sampled: (model, config overrides). Minimax GAN at lr 1e-3 is the setting of the
#: mode-collapse report (v1) that covers most ring modes with blurred samples — the regime DDLS
#: is for (it re-weights within q_G's support; it cannot add modes G never reaches).
GANS = {"gan": ("gan", {"objective": "minimax", "lr_g": 1e-3, "lr_d": 1e-3}),
        "wgan-gp": ("wgan-gp", {"lr_g": 1e-3, "lr_d": 1e-3})}


def train_gan(label: str, dataset, steps: int, seed: int, batch: int = 256, d_refit: int = 0):
    """A GAN of ``GANS`` trained ``steps`` iterations on the data set, then ``d_refit`` updates of D
    alone at the final, fixed G (DDLS's reading p ∝ q_G e^d assumes D is optimal for *this* G);
    eval mode on return."""
    torch.manual_seed(seed)
    model_name, overrides = GANS[label]
    cls = MODELS.get(model_name)
    model = cls(config.build(cls.Config, dict(overrides)), DataSpec.of(dataset))
    g = torch.Generator().manual_seed(seed + 1)
    x = dataset.x
    for _ in range(steps):
        model.step(x[torch.randint(0, len(x), (batch * model.batches_per_step,), generator=g)])
    for _ in range(d_refit):
        model.discriminator_step(x[torch.randint(0, len(x), (batch,), generator=g)])
    return model.eval()


def score(samples: torch.Tensor, dataset, reference: torch.Tensor) -> dict:
    from genzoo.metrics import mode_coverage, wasserstein1_exact  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for

    gm = dataset.density
    cov = mode_coverage(samples, gm.means, gm.std)
    return {"hq_share": cov["hq_share"], "modes": cov["modes"], "kl_to_uniform": cov["kl_to_uniform"],
            "w1": wasserstein1_exact(samples, reference)}


def _figure(panels: list[tuple[str, torch.Tensor]], reference: torch.Tensor, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(panels), 3.4))
    FigureCanvasAgg(fig)
    lim = 1.2 * float(reference.abs().max())
    for i, (title, x) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="lightgray")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:blue", alpha=0.5)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


@benchmark("ddls")
def ddls_benchmark(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """Claim 8: DDLS on trained GANs (ring8, grid25; mnist with mnist_run=RUN): scores vs Langevin steps, null baselines."""
    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads", 1)))
    datasets = options.get("data", "ring8,grid25").split(",")
    if "mnist" in datasets:
        return _mnist(out, quick, options)
    steps = int(options.get("steps", 2000))
    seeds = [int(s) for s in str(options.get("seeds", "0,1" if quick else "0,1,2")).split(",")]
    ks = [int(k) for k in str(options.get("langevin_steps", "0,10,30,100" if quick else "0,10,30,100,300")).split(",")]
    step_size = float(options.get("step_size", 0.01))
    models = ["gan"] + (["wgan-gp"] if options.get("wgan", "0") not in ("0", "false") else [])
    d_refit = int(options.get("d_refit", 0))
    rows: list[dict] = []
    start = time.perf_counter()
    for data_name in datasets:
        dataset = data.load(data_name)
        reference = dataset.fresh(N, torch.Generator().manual_seed(12345))
        lo, hi = dataset.x.min(0).values, dataset.x.max(0).values
        u = lo + (hi - lo) * torch.rand(N, 2, generator=torch.Generator().manual_seed(7))
        rows.append({"data": data_name, "model": "null", "sampler": "uniform", "seed": -1, "K": 0,
                     **score(u, dataset, reference)})
        for model_name in models:
            for seed in seeds:
                t0 = time.perf_counter()
                gan = train_gan(model_name, dataset, steps, seed, d_refit=d_refit)
                train_s = time.perf_counter() - t0
                ddls = DDLS.from_model(gan, DDLSConfig(step_size=step_size), data=dataset.x)
                null = DDLS(gan.G, lambda x: x.new_zeros(x.shape[0]), gan.prior, DDLSConfig(step_size=step_size))
                panels = []
                for k in ks:
                    for sampler_name, sampler in (("ddls", ddls), ("prior-langevin", null)):
                        if k == 0 and sampler_name != "ddls":
                            continue  # K = 0 is plain G(z) for both
                        torch.manual_seed(1000 + seed)
                        t1 = time.perf_counter()
                        x = sampler.sample(N, steps=k)
                        row = {"data": data_name, "model": model_name, "sampler": sampler_name if k else "plain G(z)",
                               "seed": seed, "K": k, **score(x, dataset, reference),
                               "acceptance": sampler.last.acceptance, "sample_s": time.perf_counter() - t1,
                               "train_s": train_s, "calibration": list(ddls.calibration)}
                        rows.append(row)
                        print(f"{data_name:<7} {model_name:<8} seed {seed} {row['sampler']:<15} K={k:<4} "
                              f"hq {row['hq_share']:.3f} modes {row['modes']:>2} W1 {row['w1']:.4f}", flush=True)
                        if seed == seeds[0] and sampler_name == "ddls" and k in (0, ks[-1]):
                            panels.append((f"{model_name} {'plain G(z)' if k == 0 else f'DDLS K={k}'}", x))
                if panels:
                    _figure(panels, reference, out / f"ddls_{data_name}_{model_name}.png")
    elapsed = time.perf_counter() - start
    write_results(out, "ddls", rows, datasets=datasets, gan_steps=steps, seeds=seeds, langevin_steps=ks,
                  step_size=step_size, noise="sqrt(2*step_size)", n_samples=N, seconds=elapsed, d_refit=d_refit,
                  rule="mode_coverage: Euclidean 3 sigma; W1 exact vs 2500 fresh data points")
    summary = _summary(rows)
    (out / "ddls_summary.md").write_text(summary)
    print(summary)
    print(f"wall-clock {elapsed:.0f} s")
    return out


def _summary(rows: list[dict]) -> str:
    """Mean ± std over seeds, one line per (data, model, sampler, K)."""
    keys = list(dict.fromkeys((r["data"], r["model"], r["sampler"], r["K"]) for r in rows))
    lines = ["| data | model | sampler | K | hq share | modes | W1 | seeds |", "|---|---|---|---|---|---|---|---|"]
    for key in keys:
        sel = [r for r in rows if (r["data"], r["model"], r["sampler"], r["K"]) == key]

        def fmt(name: str, digits: int) -> str:
            return mean_std([float(r[name]) for r in sel], digits)

        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {fmt('hq_share', 3)} | {fmt('modes', 1)} | "
                     f"{fmt('w1', 4)} | {len(sel)} |")
    return "\n".join(lines) + "\n"


def _mnist(out: Path, quick: bool, options: dict) -> Path:
    """DDLS on a trained GAN run on 28×28 images: genzoo's image metrics vs K (module docstring)."""
    from genzoo import run
    from genzoo.metrics.features import load_classifier
    from genzoo.metrics.image import image_metrics
    from genzoo.viz.images import save_image_grid

    if options.get("data") != "mnist":
        raise GenzooError(f"data={options.get('data')!r}: the mnist part runs alone (data=mnist)")
    run_dir = options.get("mnist_run")
    if not run_dir:
        raise GenzooError("data=mnist needs mnist_run=RUN, a trained GAN run on MNIST "
                          "(e.g. genzoo train dcgan --data mnist --set steps=2000)")
    model, run_config = run.load(run_dir)
    dataset = data.load(run_config["data"]["name"], **run_config["data"]["params"])
    if dataset.test_x is None or tuple(dataset.x.shape[1:]) not in ((1, 28, 28), (3, 28, 28)):
        raise GenzooError(f"mnist_run={run_dir!r}: needs 28×28 images with a held-out test set, "
                          f"got data {run_config['data']['name']!r} of shape {tuple(dataset.x.shape[1:])}")
    n = int(options.get("mnist_n", 2000 if quick else 5000))
    if not 2 <= 2 * n <= dataset.test_x.shape[0]:
        raise GenzooError(f"mnist_n={n}: needs 2 ≤ 2·n ≤ {dataset.test_x.shape[0]} held-out images (reference and floor)")
    seeds = [int(s) for s in str(options.get("seeds", "0" if quick else "0,1,2")).split(",")]
    ks = sorted({int(k) for k in str(options.get("langevin_steps", "0,10,30,100")).split(",")} | {0})
    step_size = float(options.get("step_size", 0.01))
    net = load_classifier()
    order = torch.randperm(dataset.test_x.shape[0], generator=torch.Generator().manual_seed(12345))
    reference, floor = dataset.test_x[order[:n]], dataset.test_x[order[n : 2 * n]]

    def scored(x: torch.Tensor) -> dict:
        return image_metrics(reference, x.clamp(0, 1), net=net)

    start = time.perf_counter()
    rows = [{"data": "mnist", "sampler": "held-out test images", "seed": -1, "K": 0, **scored(floor)}]
    ddls = DDLS.from_model(model, DDLSConfig(step_size=step_size), data=dataset.x, name=f"run {run_dir!r}")
    null = DDLS(model.G, lambda x: x.new_zeros(x.shape[0]), model.prior, DDLSConfig(step_size=step_size))
    for seed in seeds:
        for sampler_name, sampler in (("ddls", ddls), ("prior-langevin", null)):
            torch.manual_seed(1000 + seed)
            z, done, chain_s = model.prior(n), 0, 0.0
            for k in ks:
                t0 = time.perf_counter()
                z = sampler.run(z, steps=k - done)
                done, chain_s = k, chain_s + time.perf_counter() - t0
                if k == 0 and sampler_name != "ddls":
                    continue  # K = 0 is plain G(z) for both
                with torch.no_grad():
                    x = model.G(z).float()
                row = {"data": "mnist", "sampler": sampler_name if k else "plain G(z)", "seed": seed, "K": k,
                       **scored(x), "chain_s": chain_s}
                rows.append(row)
                print(f"mnist seed {seed} {row['sampler']:<15} K={k:<4} FID {row['fid']:.2f} KID {row['kid']:.4f} "
                      f"P {row['precision']:.3f} R {row['recall']:.3f}", flush=True)
                if seed == seeds[0] and sampler_name == "ddls" and k in (0, ks[-1]):
                    save_image_grid(x[:64].clamp(0, 1), out / f"ddls_mnist_K{k}.png")
    elapsed = time.perf_counter() - start
    write_results(out, "ddls_mnist", rows, run=str(run_dir), model=run_config["model"], seeds=seeds,
                  langevin_steps=ks, step_size=step_size, noise="sqrt(2*step_size)", n_samples=n,
                  calibration=list(ddls.calibration), seconds=elapsed,
                  rule=f"genzoo image metrics (genzoo MNIST feature net) vs {n} held-out test images")
    summary = _mnist_summary(rows)
    (out / "ddls_mnist_summary.md").write_text(summary)
    print(summary)
    print(f"wall-clock {elapsed:.0f} s")
    return out


def _mnist_summary(rows: list[dict]) -> str:
    """Mean ± std over sampler seeds, one line per (sampler, K)."""
    names = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score")
    keys = list(dict.fromkeys((r["sampler"], r["K"]) for r in rows))
    lines = ["| sampler | K | FID | KID | precision | recall | density | coverage | classifier score | seeds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key in keys:
        sel = [r for r in rows if (r["sampler"], r["K"]) == key]
        cells = " | ".join(mean_std([float(r[m]) for r in sel], 4 if m == "kid" else 3) for m in names)
        lines.append(f"| {key[0]} | {key[1]} | {cells} | {len(sel)} |")
    return "\n".join(lines) + "\n"
