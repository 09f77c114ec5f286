"""VQ-VAE on MNIST (van den Oord et al. 2017): reconstruction, codebook use, samples from the fitted prior.

Protocol (pinned; ``--set KEY=VALUE`` changes it): ``vqvae`` on ``mnist`` (Bernoulli decoder,
7 × 7 code map, K = ``codes``, D = ``code_dim``, β = 0.25), with the codebook loss (``ema=false``)
and with EMA updates (``ema=true``); then the autoregressive prior is refitted on the training
codes for ``prior_steps`` steps (the paper's order). Reported on 2 000 test images: distortion
−log p(x | e_k(x)) (nats), mean squared reconstruction error, codebook perplexity exp H(usage)
and the share of codes used, the prior's NLL of the test code maps (the rate) and the bound
log p(k) + log p(x | e_k) on log p(x). Null baselines: a VAE (latent 20, same steps) for the
bound, and the uniform prior over code maps (rate L log K).

Outputs: ``vqvae.csv/json``, ``vqvae_samples_{ema,codebook}.png``, ``vqvae_recon_*.png`` (test digits over reconstructions).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import benchmark, write_results
from genzoo.bench.rate_distortion import fit, new_model, resolve_options

DEFAULTS: dict[str, tuple[str, str]] = {
    "steps": ("10000", "600"),
    "prior_steps": ("5000", "400"),
    "codes": ("512", "64"),
    "code_dim": ("64", "16"),
    "width": ("32", "16"),
    "seed": ("0", "0"),
}


@benchmark("vqvae")
def vqvae(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """VQ-VAE on MNIST: distortion, codebook perplexity/usage, fitted prior's rate, samples (codebook loss vs EMA)."""
    from genzoo import data
    from genzoo.models import DataSpec
    from genzoo.viz import save_image_grid

    opts = resolve_options(DEFAULTS, quick, options)
    start = time.perf_counter()
    seed = int(opts["seed"])
    ds = data.load("mnist")
    spec = DataSpec.of(ds)
    test = ds.test_x[:2000]
    rows: list[dict[str, Any]] = []
    for ema in (False, True):
        torch.manual_seed(seed)
        model = new_model("vqvae", spec, codes=int(opts["codes"]), code_dim=int(opts["code_dim"]), width=int(opts["width"]), ema=ema)
        t = time.perf_counter()
        fit(model, ds.x, int(opts["steps"]), batch=64, seed=seed)
        model.fit_prior(ds.x[:20_000], int(opts["prior_steps"]))
        model.eval()
        with torch.no_grad():
            rate, dist = (v.double() for v in model.rate_distortion(test))
            k = model.codes_of(test)
            usage = torch.bincount(k.flatten(), minlength=model.config.codes).double()
            p = usage / usage.sum()
            perplexity = float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))
            recon = model.decode(model.encode(test))
            mse = float(((recon - test) ** 2).flatten(1).sum(1).mean())
            save_image_grid(model.sample(64), out / f"vqvae_samples_{'ema' if ema else 'codebook'}.png", nrow=8)
            save_image_grid(torch.cat([test[:8], recon[:8]]), out / f"vqvae_recon_{'ema' if ema else 'codebook'}.png", nrow=8)
        rows.append({"model": f"vqvae ({'EMA' if ema else 'codebook loss'})", "distortion": float(dist.mean()), "sq_error": mse,
                     "perplexity": perplexity, "codes_used": float((usage > 0).double().mean()), "rate_prior_nll": float(rate.mean()),
                     "rate_uniform_prior": model.length * math.log(model.config.codes), "bound": float(-(rate + dist).mean()),
                     "train_seconds": time.perf_counter() - t})
    torch.manual_seed(seed)
    vae = new_model("vae", spec, latent_dim=20)
    fit(vae, ds.x, int(opts["steps"]), batch=64, seed=seed)
    vae.eval()
    with torch.no_grad():
        r, d = vae.rate_distortion(test)
    rows.append({"model": "null: vae (latent 20, same steps)", "distortion": float(d.mean()), "rate_prior_nll": float(r.mean()),
                 "bound": float(-(r + d).mean())})
    write_results(out, "vqvae", rows, options=opts, quick=quick, seconds=time.perf_counter() - start)
    return out
