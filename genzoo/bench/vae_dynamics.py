"""VAE dynamics (Nagano et al. 2017): iterate x → z → x from noisy inputs.

A VAE defines a Markov chain x_{t+1} = E[x | z_t], z_t ~ q(z|x_t). Started from a corrupted
digit, the chain is pulled towards regions the decoder produces well — near the class centres of
the latent space — so the trajectory behaves like an attractor dynamic.

Protocol (pinned; ``--set KEY=VALUE`` changes it): ``vae`` (MLP, 500 hidden units, latent
``latent_dim`` = 2 so the trajectories can be drawn, Bernoulli decoder) trained on ``mnist``;
``chains`` test digits corrupted by Gaussian noise of standard deviation ``noise`` (clipped to
[0, 1]); ``steps`` iterations of the chain with z_t the posterior mean (deterministic) — or a
draw with ``stochastic=true``. Measured with genzoo's MNIST classifier
(:mod:`genzoo.metrics.features`): the share of chains whose predicted label changes at least once
after step 1 and the number of label changes per chain; the accuracy of the label at t = 0 (noisy
input) and at the end against the clean digit's label; and the distance of z_t to the nearest
class mean of the encoded training digits (means of μ(x) per class), relative to the typical
spread of that class (the mean distance of encoded digits to their own class mean). Null
baseline: the same distances for the encoded clean test digits. One cell; the VAE trains in its
own loop (``rate_distortion.fit``). Outputs: ``vae_dynamics.csv/json``, ``vae_dynamics_chains.png``
(rows: chains; columns: t), ``vae_dynamics_latent.png`` (latent trajectories).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options
from genzoo.bench.rate_distortion import fit, new_model

@torch.no_grad()
def run_chains(model: Any, x0: torch.Tensor, steps: int, stochastic: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (T+1, N, ...), posterior means (T+1, N, d)) of the chain x → z → E[x|z]."""
    xs, zs = [x0], []
    x = x0
    for _ in range(steps + 1):
        q = model.encode(x)
        zs.append(q.mean)
        if len(xs) > steps:
            break
        z = q.sample() if stochastic else q.mean
        x = model.decode(z)
        xs.append(x)
    return torch.stack(xs), torch.stack(zs)


@experiment
class VAEDynamics(Experiment):
    """VAE dynamics: x → z → x chains from noisy digits drift to class centres (label changes, distances)."""

    name = "vae-dynamics"
    options = {"steps_train": Option(20000, 1500, "VAE training steps"), "latent_dim": Option(2, meaning="latent size"),
               "chains": Option(500, 200, "chains (test digits)"), "steps": Option(30, 20, "chain iterations"),
               "noise": Option(0.1, meaning="std of the input noise"), "stochastic": Option(False, meaning="z_t drawn"),
               "seed": Option(0, meaning="seed")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell("vae", seed=o.seed, cost=o.steps_train)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        from genzoo import data
        from genzoo.metrics.features import classify, load_classifier
        from genzoo.models import DataSpec
        from genzoo.viz import save_image_grid
        from genzoo.viz.plots import _new_figure, _save

        seed, stochastic, n, out = o.seed, o.stochastic, o.chains, ctx.run_dir
        out.mkdir(parents=True, exist_ok=True)
        ds = data.load("mnist")
        torch.manual_seed(seed)
        model = new_model("vae", DataSpec.of(ds), arch="mlp", hidden=500, depth=1, latent_dim=o.latent_dim)
        fit(model, ds.x, o.steps_train, batch=100, seed=seed)
        model.eval()
        net = load_classifier()
        with torch.no_grad():
            mu_train = torch.cat([model.encode(ds.x[i : i + 2000]).mean for i in range(0, 20_000, 2000)])
            y_train = ds.y[:20_000]
            means = torch.stack([mu_train[y_train == c].mean(0) for c in range(10)])
            spread = torch.stack([(mu_train[y_train == c] - means[c]).norm(dim=1).mean() for c in range(10)]).mean()
        g = torch.Generator().manual_seed(seed + 1)
        idx = torch.randperm(ds.test_x.shape[0], generator=g)[:n]
        clean, label = ds.test_x[idx], ds.test_y[idx]
        noisy = (clean + o.noise * torch.randn(clean.shape, generator=g)).clamp(0, 1)
        torch.manual_seed(seed + 2)
        xs, zs = run_chains(model, noisy, o.steps, stochastic)
        T = xs.shape[0]
        labels = torch.stack([classify(xs[t], net)[:, 0].argmax(-1) for t in range(T)])  # (T+1, N); one channel
        changes = (labels[2:] != labels[1:-1]).sum(0).float()  # after the first reconstruction
        dist = torch.cdist(zs.reshape(-1, zs.shape[-1]), means).min(-1).values.reshape(zs.shape[0], n) / spread
        clean_dist = torch.cdist(model.encode(clean).mean.detach(), means).min(-1).values / spread
        show = min(8, n)
        cols = list(range(0, T, max(1, T // 10)))[:10]
        grid = torch.cat([noisy[:show].unsqueeze(0)] + [xs[t, :show].unsqueeze(0) for t in cols]).transpose(0, 1).reshape(-1, *clean.shape[1:])
        save_image_grid(grid, out / "vae_dynamics_chains.png", nrow=len(cols) + 1)
        if zs.shape[-1] == 2:
            fig = _new_figure((5.5, 5))
            ax = fig.add_subplot()
            with torch.no_grad():
                zt = model.encode(ds.test_x[:3000]).mean
            ax.scatter(zt[:, 0], zt[:, 1], c=ds.test_y[:3000], cmap="tab10", s=2, alpha=0.4)
            for c in range(10):
                ax.annotate(str(c), means[c].tolist(), fontsize=12, weight="bold")
            for i in range(min(12, n)):
                ax.plot(zs[:, i, 0], zs[:, i, 1], "k-", lw=0.7)
                ax.plot(zs[0, i, 0], zs[0, i, 1], "ko", ms=3)
                ax.plot(zs[-1, i, 0], zs[-1, i, 1], "r*", ms=6)
            ax.set_title("latent trajectories (o start, * end) over encoded test digits")
            _save(fig, out / "vae_dynamics_latent.png")
        return {"chains": n, "steps": o.steps, "noise": o.noise, "stochastic": stochastic,
                "share_label_changes": float((changes > 0).float().mean()), "label_changes_per_chain": float(changes.mean()),
                "accuracy_noisy_input": float((labels[0] == label).float().mean()),
                "accuracy_first_reconstruction": float((labels[1] == label).float().mean()),
                "accuracy_end": float((labels[-1] == label).float().mean()),
                "dist_to_class_mean_t0": float(dist[0].mean()), "dist_to_class_mean_t1": float(dist[1].mean()),
                "dist_to_class_mean_end": float(dist[-1].mean()), "null_dist_clean_test_digits": float(clean_dist.mean()),
                "latent_class_spread": float(spread)}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        for name in ("vae_dynamics_chains.png", "vae_dynamics_latent.png"):
            if (out / "runs" / "vae" / name).is_file():
                shutil.copyfile(out / "runs" / "vae" / name, out / name)
        opts = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in o.items()}  # as typed before
        write_results(out, "vae_dynamics", [r["metrics"] for r in records], options=opts, quick=quick,
                      seconds=sum(r["seconds"] for r in records))
