"""A Gaussian–Bernoulli RBM on the 2-D mixtures, scored by the same mode metrics as the GANs.

A Gaussian–Bernoulli RBM's marginal is itself a mixture of 2^H isotropic Gaussians,

    p(v) = Σ_h p(h) N(v; a + σ W h, σ² I),   p(h) ∝ exp(bᵀh + Σ_i (a_i d_i/σ + d_i²/2)),  d = W h,

so the ring and grid mixtures are within its reach in principle — if CD finds hidden
configurations for every mode and gives the rest little mass. Protocol (the GAN suite's rules,
:func:`genzoo.metrics.evaluate.evaluate`): 2 500 samples, modes covered and high-quality share
by the Euclidean 3σ rule, exact W1 against 2 500 fresh data points; here the samples come from
``sample(n)`` (block-Gibbs chains after 1 000 steps from the data's Gaussian marginals); the
exact test log-likelihood (2^H hidden states enumerated) beside the data's own entropy.

Settings: H = 16 hidden units, visible σ fixed at 5 × the data's std (0.05 for ring8, 0.25 for
grid25) — a fixed σ much larger than the data's std blurs every mode (the RBM cannot be sharper
than σ), a σ near the data's std makes p(h|v) nearly deterministic and CD's chains stop mixing
(measured on ring8, CD-1, 2 000 updates: σ = 0.03 → high-quality share 0.34 but exact test
log-likelihood −10.8; σ = 0.1 → 0.044 and +0.53);
the values are a compromise we chose, not a paper's — CD-1 and PCD-1, η = 1e-3 falling
linearly to 0 over 6 000 updates (``--quick``: 2 000) of minibatch 100, 2 seeds (``--quick``: 1).
Null rows, scored by the same rule: the data itself and a uniform distribution over the data's
bounding square (under the 3σ rule ~22/25 grid modes are "covered" by uniform noise).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from genzoo import data
from genzoo.bench import benchmark, write_results
from genzoo.models import MODELS, DataSpec

SIGMA = {"ring8": 0.05, "grid25": 0.25}  # 5 × the data's std


def run_one(data_name: str, training: str, updates: int, seed: int, n_hidden: int = 16, out: Path | None = None) -> dict:
    ds = data.load(data_name, seed=seed)
    torch.manual_seed(seed)
    RBM = MODELS.get("rbm")
    cfg = RBM.Config(n_hidden=n_hidden, visible="gaussian", hidden="bernoulli", training=training, sigma=SIGMA[data_name],
                     lr=1e-3, lr_decay_steps=updates, momentum_switch=updates // 10, n_chains=100, negative_visible="sample")
    model = RBM(cfg, DataSpec.of(ds))
    g = torch.Generator().manual_seed(seed)
    start = time.time()
    for _ in range(updates):
        model.step(ds.x[torch.randint(len(ds.x), (100,), generator=g)])
    seconds = time.time() - start
    torch.manual_seed(10_000 + seed)
    samples = model.sample(2500)
    from genzoo.metrics.modes import mode_coverage  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for
    from genzoo.metrics.wasserstein import wasserstein1_exact

    # the GAN suite's rule (genzoo.metrics.evaluate) without its extra groups: modes, hq share, exact W1
    cov = mode_coverage(samples, ds.density.means, ds.density.std)
    reference = ds.fresh(2500, torch.Generator().manual_seed(seed))
    metrics = {"modes": float(cov["modes"]), "hq_share": float(cov["hq_share"]), "w1": wasserstein1_exact(samples, reference),
               "log_likelihood": float(model.log_prob(ds.test_x).mean())}
    if out is not None and seed == 0:
        from genzoo.viz.plots import save_samples

        save_samples(samples, out / f"{data_name}_{training}.png", log_prob=ds.density.log_prob,
                     reference=ds.fresh(2500, torch.Generator().manual_seed(0)), title=f"G-B RBM {training.upper()}-1 · {data_name}")
    entropy = -float(ds.density.log_prob(ds.test_x).double().mean())
    return {"data": data_name, "method": f"{training.upper()}-1", "seed": seed, "updates": updates,
            "modes": metrics.get("modes"), "hq_share": metrics.get("hq_share"), "w1": metrics["w1"],
            "test_ll_exact": metrics.get("log_likelihood"), "data_log_likelihood": -entropy, "train_s": seconds}


def null_rows(data_name: str) -> list[dict]:
    from genzoo.metrics.modes import mode_coverage  # here, not at module level: genzoo.metrics imports scipy, which `genzoo list` must not pay for

    ds = data.load(data_name)
    g = torch.Generator().manual_seed(0)
    real = ds.fresh(2500, g)
    lo, hi = ds.x.min(0).values, ds.x.max(0).values
    uniform = lo + (hi - lo) * torch.rand(2500, 2, generator=g)
    rows = []
    for name, pts in (("data itself", real), ("uniform on the square", uniform)):
        cov = mode_coverage(pts, ds.density.means, ds.density.std)
        rows.append({"data": data_name, "method": f"null: {name}", "seed": 0, "modes": float(cov["modes"]), "hq_share": float(cov["hq_share"])})
    return rows


@benchmark("rbm-2d")
def rbm_2d(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """Gaussian–Bernoulli RBM (CD-1, PCD-1) on ring8/grid25 with the GANs' mode metrics and exact log-likelihood."""
    options = dict(options or {})
    torch.set_num_threads(int(options.get("threads", 1)))
    updates = int(options.get("updates", 2000 if quick else 6000))
    seeds = int(options.get("seeds", 1 if quick else 2))
    rows: list[dict] = []
    for data_name in options.get("data", "ring8,grid25").split(","):
        rows += null_rows(data_name)
        for training in ("cd", "pcd"):
            for seed in range(seeds):
                row = run_one(data_name, training, updates, seed, out=out)
                rows.append(row)
                print(f"[rbm-2d] {data_name} {row['method']} seed={seed}: modes {row['modes']:.0f}, hq {row['hq_share']:.3f}, "
                      f"W1 {row['w1']:.3f}, exact test LL {row['test_ll_exact']:.2f} (data {row['data_log_likelihood']:.2f})", flush=True)
    write_results(out, "rbm_2d", rows, quick=quick, sigma=SIGMA, rule="Euclidean 3σ, 2 500 samples")
    return out
