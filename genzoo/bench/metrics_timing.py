"""Wall-clock cost of the image metrics on this machine: FID/KID/PR on 10k vs 10k, Stacked-MNIST on 26 000.

Timed separately (each the best of ``repeats`` runs, after a small warm-up call):

* ``features``: genzoo's MNIST classifier embedding of 10 000 real and 10 000 "generated"
  images (the MNIST test split and 10 000 training images stand in for a model's samples);
* ``fid``, ``kid`` (100 subsets of 1000), and precision/recall (k = 3) with density/coverage
  (k = 5) — one pass over the distances, :func:`~genzoo.metrics.image.manifold_metrics` — on
  the two 10 000 × 128 feature sets;
* ``stacked_mnist``: classifying the 3 channels of 26 000 real Stacked-MNIST images and
  counting modes / KL to uniform (the values on real data are reported too).

Options (``--set``): ``n`` (default 10 000; 2 000 with ``--quick``), ``n_stacked`` (26 000;
2 600 with ``--quick``), ``threads`` (torch intra-op threads, default: torch's), ``repeats`` (1).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from genzoo.bench import benchmark


def _timed(fn, repeats: int):
    best, value = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


@benchmark("metrics-timing")
def metrics_timing(out: Path, quick: bool = False, jobs: int = 1, options: dict | None = None) -> Path:
    """Time of FID/KID/PR (features and metric separately) on 10k vs 10k and of the Stacked-MNIST evaluation (26 000)."""
    from genzoo import data
    from genzoo.errors import GenzooError
    from genzoo.metrics.features import embed, load_classifier
    from genzoo.metrics.image import fid, kid, manifold_metrics
    from genzoo.metrics.stacked import kl_floor, stacked_mnist_modes

    options = dict(options or {})
    n = int(options.pop("n", 2000 if quick else 10_000))
    n_stacked = int(options.pop("n_stacked", 2600 if quick else 26_000))
    repeats = int(options.pop("repeats", 1))
    if "threads" in options:
        torch.set_num_threads(int(options.pop("threads")))
    if options:
        raise GenzooError(f"unknown option {sorted(options)[0]!r} for metrics-timing; valid: n, n_stacked, repeats, threads")
    if not 2 <= n <= 10_000:
        raise GenzooError(f"invalid value n={n}: must be between 2 and 10000 (the MNIST test split)")

    t0 = time.perf_counter()
    mnist = data.load("mnist")
    real, fake = mnist.test_x[:n], mnist.x[:n]
    stacked = data.load("stacked_mnist", n=n_stacked, n_test=0).x
    net = load_classifier()
    print(f"metrics timing on {torch.get_num_threads()} threads, {n} vs {n} images, Stacked-MNIST {n_stacked}")

    rows = []

    def record(name: str, seconds: float, **extra) -> None:
        rows.append({"step": name, "seconds": seconds, **extra})
        detail = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items())
        print(f"{name:<28s} {seconds:8.2f} s  {detail}")

    fid(embed(real[:100], net), embed(fake[:100], net))  # warm-up: one-off library initialisation is not the metrics' cost
    s, fr = _timed(lambda: embed(real, net), repeats)
    record(f"features real ({n})", s)
    s, ff = _timed(lambda: embed(fake, net), repeats)
    record(f"features generated ({n})", s)
    s, v = _timed(lambda: fid(fr, ff), repeats)
    record("fid", s, value=v)
    s, v = _timed(lambda: kid(fr, ff), repeats)
    record("kid (100 x 1000)", s, value=v)
    s, v = _timed(lambda: manifold_metrics(fr, ff), repeats)
    record("prec/rec k=3 + dens/cov k=5", s, **v)
    s, v = _timed(lambda: stacked_mnist_modes(stacked, net), repeats)
    record(f"stacked_mnist ({n_stacked})", s, modes=v["modes"], kl_to_uniform=v["kl_to_uniform"], kl_floor=kl_floor(n_stacked))

    result = {"threads": torch.get_num_threads(), "torch": torch.__version__, "n": n, "n_stacked": n_stacked,
              "repeats": repeats, "rows": rows, "total_seconds": time.perf_counter() - t0}
    (out / "metrics_timing.json").write_text(json.dumps(result, indent=2) + "\n")
    _figure(rows, out / "metrics_timing.png", title=f"metrics on {torch.get_num_threads()} threads")
    print(f"wall-clock {result['total_seconds']:.1f} s; wrote {out / 'metrics_timing.json'}")
    return out


def _figure(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 * len(rows) + 1))
    ax.barh([r["step"] for r in rows][::-1], [r["seconds"] for r in rows][::-1], color="tab:blue")
    ax.set_xlabel("seconds")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
