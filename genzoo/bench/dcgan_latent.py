"""DCGAN's latent-space pictures (Radford et al. 2016, Sec. 6): walks and vector arithmetic, with numbers.

Protocol (``genzoo bench dcgan-latent [--quick] [--set data=digits] [--set KEY=VALUE]``):

1. Train ``dcgan`` on ``data`` (MNIST by default, or scikit-learn's 8×8 ``digits``) for ``steps``
   updates (paper: Adam 2e-4, β1 = 0.5, batch 128, width 64, z ∈ R^100; the CPU budget uses batch 64,
   width 32 and 2 000 steps; ``--quick``: 800).
2. **Walks** (Fig. 4): ``rows`` random pairs z₀, z₁ ~ N(0, I), ``frames`` images each along the
   ``interpolation`` path (``linear``, the paper's walk, or ``slerp``). Number: the smoothness
   ratio max_s ‖x_{s+1} − x_s‖ / mean_s ‖x_{s+1} − x_s‖ per row (1 = evenly paced; a sharp jump,
   the sign of memorisation the paper looks for, gives ≈ frames − 1), averaged over rows.
3. **Arithmetic** (Fig. 7) with a concept that MNIST has: stroke weight. A digit classifier
   trained on 5 000 real training images labels 2 000 generated samples; ink(x) is the
   mean pixel value. Among samples classified with probability > 0.9, the two most frequent
   digits are a and b (the classifier: PCA to 40 dimensions + logistic regression). Concepts (3 exemplars each, as in the paper): A = the 3 heaviest a's,
   B = the 3 lightest a's, C = the 3 lightest b's. The result z̄_A − z̄_B + z̄_C ("heavy a − light a
   + light b") should be a *heavy b*: numbers are the share of the 9 result images (G(z + u),
   u ~ U(−0.25, 0.25), the first u = 0) classified as b and their mean ink against the exemplars'.

Outputs: ``interpolation.png`` (row r = pair r, left G(z₀) to right G(z₁)), ``arithmetic.png``
(rows: A, B, C exemplars then G(z̄); last row: the results), ``dcgan_latent.csv``/``.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from genzoo.bench import benchmark, write_results
from genzoo.bench.infogan_mnist import train_run
from genzoo.errors import GenzooError

DEFAULTS: dict[str, tuple[str, str]] = {
    "steps": ("2000", "800"),
    "batch_size": ("64", "64"),
    "width": ("32", "32"),  # paper: 64+ (CPU budget)
    "seed": ("0", "0"),
    "threads": ("0", "0"),
    "device": ("auto", "auto"),
    "progress": ("false", "false"),
    "data": ("mnist", "mnist"),
    "interpolation": ("linear", "linear"),
    "rows": ("8", "8"),
    "frames": ("10", "10"),
}
TRAIN_KEYS = ("steps", "batch_size", "seed", "threads", "device", "progress")
PICTURE_KEYS = ("interpolation", "rows", "frames")
N_POOL = 2000
N_CLASSIFIER = 5000
N_COMPONENTS = 40  # the digit classifier: PCA to 40 dimensions, then logistic regression


def smoothness(path: torch.Tensor) -> float:
    """Mean over rows of max_s ‖x_{s+1} − x_s‖ / mean_s ‖x_{s+1} − x_s‖ for path (R, S, C, H, W)."""
    jumps = (path[:, 1:] - path[:, :-1]).flatten(2).norm(dim=2)  # (R, S−1)
    return float((jumps.max(1).values / jumps.mean(1).clamp_min(1e-12)).mean())


@benchmark("dcgan-latent")
def dcgan_latent(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """DCGAN latent walks and vector arithmetic (Radford et al. 2016) on MNIST or digits, with numbers."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from genzoo import data, run
    from genzoo.viz import save_interpolation

    opts = {k: v[1 if quick else 0] for k, v in DEFAULTS.items()}
    opts.update(options or {})
    data_name = opts.pop("data")
    mode, rows, frames = opts.pop("interpolation"), int(opts.pop("rows")), int(opts.pop("frames"))
    if mode not in ("linear", "slerp"):
        raise GenzooError(f"invalid value interpolation={mode!r}; valid: linear, slerp")
    if rows < 1 or frames < 2:
        raise GenzooError(f"invalid value rows={rows}, frames={frames}: need rows ≥ 1 and frames ≥ 2")
    start = time.perf_counter()
    run_dir = train_run("dcgan", data_name, out, "dcgan", opts, TRAIN_KEYS)
    train_seconds = time.perf_counter() - start
    model, run_config = run.load(run_dir)
    dataset = data.load(data_name, **run_config["data"]["params"])
    if dataset.y is None:
        raise GenzooError(f"data set {data_name!r} has no labels: the arithmetic needs a digit classifier")
    g = torch.Generator().manual_seed(int(opts["seed"]))
    z_dim = model.config.z_dim

    # 1. walks
    z0, z1 = torch.randn(rows, z_dim, generator=g), torch.randn(rows, z_dim, generator=g)
    path = model.interpolate(z0, z1, steps=frames, mode=mode)
    save_interpolation(path, out / "interpolation.png")

    # 2. arithmetic: heavy a − light a + light b
    n_fit = min(N_CLASSIFIER, len(dataset.x))
    classifier = make_pipeline(PCA(N_COMPONENTS, random_state=0), LogisticRegression(max_iter=500))
    classifier.fit(dataset.x[:n_fit].flatten(1).numpy(), dataset.y[:n_fit].numpy())
    z = torch.randn(N_POOL, z_dim, generator=g)
    pool = model.generate(z)
    proba = classifier.predict_proba(pool.flatten(1).numpy())
    label, confident = proba.argmax(1), proba.max(1) > 0.9
    ink = pool.flatten(1).mean(1).numpy()
    counts = np.bincount(label[confident], minlength=proba.shape[1])
    a, b = (int(c) for c in np.argsort(-counts, kind="stable")[:2])
    if counts[b] < 3:
        raise GenzooError(f"fewer than 3 confident samples of a second digit after {opts['steps']} steps; train longer")
    idx_a, idx_b = np.flatnonzero(confident & (label == a)), np.flatnonzero(confident & (label == b))
    heavy_a = idx_a[np.argsort(-ink[idx_a])[:3]]
    light_a = idx_a[np.argsort(ink[idx_a])[:3]]
    light_b = idx_b[np.argsort(ink[idx_b])[:3]]
    torch.manual_seed(int(opts["seed"]))
    z_result, results = model.vector_arithmetic(z[heavy_a], z[light_a], z[light_b], n=9)
    result_label = classifier.predict(results.flatten(1).numpy())
    result_ink = results.flatten(1).mean(1).numpy()
    concept_means = model.generate(torch.stack([z[i].mean(0) for i in (heavy_a, light_a, light_b)]))
    picture = [torch.cat([pool[i], concept_means[r : r + 1]]) for r, i in enumerate((heavy_a, light_a, light_b))]
    picture.append(results[:4])
    save_interpolation(torch.stack(picture), out / "arithmetic.png")

    wall = time.perf_counter() - start
    row = {
        "data": data_name,
        "steps": run_config["train"].steps,
        "interpolation": mode,
        "walk_smoothness": round(smoothness(path), 3),
        "digit_a": a,
        "digit_b": b,
        "ink_heavy_a": round(float(ink[heavy_a].mean()), 4),
        "ink_light_a": round(float(ink[light_a].mean()), 4),
        "ink_light_b": round(float(ink[light_b].mean()), 4),
        "ink_result": round(float(result_ink.mean()), 4),
        "result_is_b": round(float((result_label == b).mean()), 3),
        "result_is_a": round(float((result_label == a).mean()), 3),
        "train_seconds": round(train_seconds, 1),
        "wall_seconds": round(wall, 1),
    }
    write_results(out, "dcgan_latent", [row], quick=quick, run_dir=str(run_dir),
                  protocol=__doc__.split("Outputs:")[0].strip())
    print(" | ".join(f"{k}={v}" for k, v in row.items()))
    print(f"heavy {a} − light {a} + light {b}: {100 * row['result_is_b']:.0f}% classified {b}, ink "
          f"{row['ink_result']:.3f} vs light {b} {row['ink_light_b']:.3f}; wall-clock {wall:.1f} s")
    return out
