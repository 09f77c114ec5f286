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

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, train
from genzoo.errors import GenzooError

N_POOL = 2000
N_CLASSIFIER = 5000
N_COMPONENTS = 40  # the digit classifier: PCA to 40 dimensions, then logistic regression


def smoothness(path: torch.Tensor) -> float:
    """Mean over rows of max_s ‖x_{s+1} − x_s‖ / mean_s ‖x_{s+1} − x_s‖ for path (R, S, C, H, W)."""
    jumps = (path[:, 1:] - path[:, :-1]).flatten(2).norm(dim=2)  # (R, S−1)
    return float((jumps.max(1).values / jumps.mean(1).clamp_min(1e-12)).mean())


@experiment
class DCGANLatent(Experiment):
    """DCGAN latent walks and vector arithmetic (Radford et al. 2016) on MNIST or digits, with numbers."""

    name = "dcgan-latent"
    options = {"steps": Option(2000, 800, "training updates"), "batch_size": Option(64), "width": Option(32, meaning="paper: 64+"),
               "seed": Option(0), "threads": Option(0, meaning="0: genzoo's rule"), "device": Option("auto"),
               "progress": Option(False), "data": Option("mnist", meaning="mnist or digits"),
               "interpolation": Option("linear", choices=("linear", "slerp")), "rows": Option(8, meaning="walks"),
               "frames": Option(10, meaning="images per walk")}

    def check(self, o: Options, quick: bool) -> None:
        if o.rows < 1 or o.frames < 2:
            raise GenzooError(f"invalid value rows={o.rows}, frames={o.frames}: need rows ≥ 1 and frames ≥ 2")

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell("dcgan", seed=o.seed, cost=o.steps)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        from genzoo import data, run
        from genzoo.viz import save_interpolation

        start = time.perf_counter()
        sets = [f"train.{k}={str(o[k]).lower()}" for k in ("steps", "batch_size", "seed", "threads", "device", "progress")]
        sets += [f"model.width={o.width}", "train.sample_every=0", "train.log_every=50", "train.checkpoint_every=1000000"]
        run_dir, _ = train(ctx, run.resolve("dcgan", o.data, None, sets))  # no periodic evaluation: measured here
        train_seconds = time.perf_counter() - start
        model, run_config = run.load(run_dir)
        dataset = data.load(o.data, **run_config["data"]["params"])
        if dataset.y is None:
            raise GenzooError(f"data set {o.data!r} has no labels: the arithmetic needs a digit classifier")
        g = torch.Generator().manual_seed(o.seed)
        z_dim = model.config.z_dim

        # 1. walks
        z0, z1 = torch.randn(o.rows, z_dim, generator=g), torch.randn(o.rows, z_dim, generator=g)
        path = model.interpolate(z0, z1, steps=o.frames, mode=o.interpolation)
        save_interpolation(path, run_dir / "interpolation.png")

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
            raise GenzooError(f"fewer than 3 confident samples of a second digit after {o.steps} steps; train longer")
        idx_a, idx_b = np.flatnonzero(confident & (label == a)), np.flatnonzero(confident & (label == b))
        heavy_a, light_a = idx_a[np.argsort(-ink[idx_a])[:3]], idx_a[np.argsort(ink[idx_a])[:3]]
        light_b = idx_b[np.argsort(ink[idx_b])[:3]]
        torch.manual_seed(o.seed)
        z_result, results = model.vector_arithmetic(z[heavy_a], z[light_a], z[light_b], n=9)
        result_label = classifier.predict(results.flatten(1).numpy())
        concept_means = model.generate(torch.stack([z[i].mean(0) for i in (heavy_a, light_a, light_b)]))
        picture = [torch.cat([pool[i], concept_means[r : r + 1]]) for r, i in enumerate((heavy_a, light_a, light_b))]
        save_interpolation(torch.stack([*picture, results[:4]]), run_dir / "arithmetic.png")
        return {"data": o.data, "steps": run_config["train"].steps, "interpolation": o.interpolation,
                "walk_smoothness": round(smoothness(path), 3), "digit_a": a, "digit_b": b,
                "ink_heavy_a": round(float(ink[heavy_a].mean()), 4), "ink_light_a": round(float(ink[light_a].mean()), 4),
                "ink_light_b": round(float(ink[light_b].mean()), 4),
                "ink_result": round(float(results.flatten(1).mean(1).numpy().mean()), 4),
                "result_is_b": round(float((result_label == b).mean()), 3), "result_is_a": round(float((result_label == a).mean()), 3),
                "train_seconds": round(train_seconds, 1), "wall_seconds": round(time.perf_counter() - start, 1)}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        run_dir = out / "runs" / records[0]["id"]
        for picture in ("interpolation.png", "arithmetic.png"):
            if (run_dir / picture).is_file():
                shutil.copyfile(run_dir / picture, out / picture)
        write_results(out, "dcgan_latent", [r["metrics"] for r in records], quick=quick, run_dir=str(run_dir),
                      protocol=__doc__.split("Outputs:")[0].strip())
