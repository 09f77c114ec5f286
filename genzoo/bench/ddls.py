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
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from genzoo import config, data
from genzoo.bench import benchmark, mean_std, write_results
from genzoo.metrics import mode_coverage, wasserstein1_exact
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
    """Claim 8: DDLS on trained GANs (ring8, grid25): hq share, modes, exact W1 vs Langevin steps, null baselines."""
    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads", 1)))
    datasets = options.get("data", "ring8,grid25").split(",")
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
