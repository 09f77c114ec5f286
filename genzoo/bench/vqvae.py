"""VQ-VAE on MNIST (van den Oord et al. 2017): reconstruction, codebook use, samples from the fitted prior.

Protocol (pinned; ``--set KEY=VALUE`` changes it): ``vqvae`` on ``mnist`` (Bernoulli decoder,
7 × 7 code map, K = ``codes``, D = ``code_dim``, β = 0.25), with the codebook loss (cell
``codebook``) and with EMA updates (cell ``ema``); then the autoregressive prior is refitted on the
training codes for ``prior_steps`` steps (the paper's order). Reported on 2 000 test images:
distortion −log p(x | e_k(x)) (nats), mean squared reconstruction error, codebook perplexity exp
H(usage) and the share of codes used, the prior's NLL of the test code maps (the rate) and the bound
log p(k) + log p(x | e_k) on log p(x). Null baselines: a VAE (latent 20, same steps; cell
``null_vae``) for the bound, and the uniform prior over code maps (rate L log K).

Outputs: ``vqvae.csv/json``, ``vqvae_samples_{ema,codebook}.png``, ``vqvae_recon_*.png`` (test digits over reconstructions).
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options
from genzoo.bench.rate_distortion import fit, new_model


@experiment
class VQVAE(Experiment):
    """VQ-VAE on MNIST: distortion, codebook perplexity/usage, fitted prior's rate, samples (codebook loss vs EMA)."""

    name = "vqvae"
    options = {"steps": Option(10_000, 600, "updates of batch 64"), "prior_steps": Option(5000, 400, "prior's steps"),
               "codes": Option(512, 64, "codebook size K"), "code_dim": Option(64, 16, "code dimension D"),
               "width": Option(32, 16, "channels"), "seed": Option(0, meaning="seed of every model")}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        vq = [Cell(c, {"ema": c == "ema"}, seed=o.seed, cost=o.steps + o.prior_steps) for c in ("codebook", "ema")]
        return [*vq, Cell("null_vae", {"model": "vae"}, seed=o.seed, priority=1, cost=o.steps)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from genzoo import data
        from genzoo.models import DataSpec
        from genzoo.viz import save_image_grid

        ds = data.load("mnist")
        spec, test = DataSpec.of(ds), ds.test_x[:2000]
        torch.manual_seed(cell.seed)
        if cell.params.get("model") == "vae":
            vae = new_model("vae", spec, latent_dim=20)
            fit(vae, ds.x, o.steps, batch=64, seed=cell.seed)
            with torch.no_grad():
                r, d = vae.eval().rate_distortion(test)
            return {"model": "null: vae (latent 20, same steps)", "distortion": float(d.mean()), "rate_prior_nll": float(r.mean()),
                    "bound": float(-(r + d).mean())}
        model = new_model("vqvae", spec, codes=o.codes, code_dim=o.code_dim, width=o.width, ema=cell.params["ema"])
        t = time.perf_counter()
        fit(model, ds.x, o.steps, batch=64, seed=cell.seed)
        model.fit_prior(ds.x[:20_000], o.prior_steps)
        with torch.no_grad():
            rate, dist = (v.double() for v in model.eval().rate_distortion(test))
            usage = torch.bincount(model.codes_of(test).flatten(), minlength=model.config.codes).double()
            p = usage / usage.sum()
            recon = model.decode(model.encode(test))
            ctx.run_dir.mkdir(parents=True, exist_ok=True)  # pictures beside the run, copied by report
            save_image_grid(model.sample(64), ctx.run_dir / "samples.png", nrow=8)
            save_image_grid(torch.cat([test[:8], recon[:8]]), ctx.run_dir / "recon.png", nrow=8)
        return {"model": f"vqvae ({'EMA' if cell.params['ema'] else 'codebook loss'})", "distortion": float(dist.mean()),
                "sq_error": float(((recon - test) ** 2).flatten(1).sum(1).mean()),
                "perplexity": float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum())), "codes_used": float((usage > 0).double().mean()),
                "rate_prior_nll": float(rate.mean()), "rate_uniform_prior": model.length * math.log(model.config.codes),
                "bound": float(-(rate + dist).mean()), "train_seconds": time.perf_counter() - t}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        for path in (p for r in records for p in (out / "runs" / r["id"]).glob("*.png")):
            shutil.copyfile(path, out / f"vqvae_{path.stem}_{path.parent.name}.png")
        write_results(out, "vqvae", [r["metrics"] for r in records], options=dict(o), quick=quick,
                      seconds=sum(r["seconds"] for r in records))
