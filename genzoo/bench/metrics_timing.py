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
2 600 with ``--quick``), ``threads`` (torch intra-op threads, default: genzoo's rule, as for training: genzoo doctor), ``repeats`` (1).

``--set part=evaluation`` times instead the streamlined evaluation loops against their plain
references (:mod:`genzoo.bench.eval_reference`), interleaved round by round on one thread, and
checks that both give the same values (``torch.equal``):

* ``iw``: the IWAE estimate (K = ``iw_k``, default 256; 64 with ``--quick``) of 500 binarised
  784-pixel images under an MLP VAE (784–500–50, Bernoulli decoder);
* ``ais``: forward AIS on a 784 × 500 Bernoulli RBM with ``ais_betas`` (default 1 450, a tenth of
  S&M's 14 500; 200 with ``--quick``) and 100 runs.

Options: ``rounds`` (3), ``iw_k``, ``ais_betas``. Writes ``evaluation_timing.json``.
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
    if options.pop("part", "images") == "evaluation":
        return _evaluation_timing(out, quick, options)
    n = int(options.pop("n", 2000 if quick else 10_000))
    n_stacked = int(options.pop("n_stacked", 2600 if quick else 26_000))
    repeats = int(options.pop("repeats", 1))
    if "threads" in options:
        torch.set_num_threads(int(options.pop("threads")))
    if options:
        raise GenzooError(f"unknown option {sorted(options)[0]!r} for metrics-timing; valid: n, n_stacked, part, repeats, threads")
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


def _evaluation_timing(out: Path, quick: bool, options: dict) -> Path:
    """Plain vs streamlined IWAE likelihood and AIS: medians of interleaved rounds on one thread, and whether the values agree bit for bit."""
    import statistics

    from genzoo.bench.eval_reference import plain_ais_log_w, plain_iw_log_likelihood
    from genzoo.errors import GenzooError
    from genzoo.metrics.likelihood import iw_log_likelihood
    from genzoo.models import MODELS, DataSpec
    from genzoo.sampling.ais import AnnealedImportanceSampling, RBMPath

    rounds = int(options.pop("rounds", 3))
    iw_k = int(options.pop("iw_k", 64 if quick else 256))
    ais_betas = int(options.pop("ais_betas", 200 if quick else 1450))
    if options:
        raise GenzooError(f"unknown option {sorted(options)[0]!r} for metrics-timing part=evaluation; valid: ais_betas, iw_k, rounds")
    torch.set_num_threads(1)  # one thread: the comparison is of the loops, not of how busy the other cores are
    g = torch.Generator().manual_seed(0)
    V = MODELS.get("vae")
    torch.manual_seed(0)
    vae = V(V.Config(arch="mlp", hidden=500, depth=1, latent_dim=50, observation="bernoulli"), DataSpec("images", (784,), 0)).eval()
    x = (torch.rand(500, 784, generator=g) < 0.3).float()
    W, a, b = torch.randn(784, 500, generator=g) * 0.05, torch.randn(784, generator=g) * 0.5, torch.randn(500, generator=g) * 0.5
    path = RBMPath("bernoulli", a, b, W, torch.ones(784), torch.rand(784, generator=g) * 0.8 + 0.1)
    sampler = AnnealedImportanceSampling(ais_betas, 100)

    def iw(fn):
        torch.manual_seed(1)
        with torch.no_grad():
            return fn(vae, x, iw_k)

    def ais_plain():
        torch.manual_seed(1)
        return plain_ais_log_w(path, sampler.schedule, path.base_sample(100))

    def ais_fast():
        torch.manual_seed(1)
        return sampler.log_partition(path).log_w

    cases = {"iw": (lambda: iw(plain_iw_log_likelihood), lambda: iw(iw_log_likelihood)), "ais": (ais_plain, ais_fast)}
    times: dict[str, dict[str, list[float]]] = {c: {"plain": [], "fast": []} for c in cases}
    values: dict[str, dict[str, torch.Tensor]] = {c: {} for c in cases}
    for r in range(rounds):
        for case, (plain, fast) in cases.items():
            for name, fn in (("plain", plain), ("fast", fast)) if r % 2 == 0 else (("fast", fast), ("plain", plain)):
                t = time.perf_counter()
                values[case][name] = fn()
                times[case][name].append(time.perf_counter() - t)
    rows = []
    for case in cases:
        p, f = statistics.median(times[case]["plain"]), statistics.median(times[case]["fast"])
        same = bool(torch.equal(values[case]["plain"], values[case]["fast"]))
        rows.append({"case": case, "plain_s": p, "fast_s": f, "speedup": p / f, "identical": same,
                     "plain_rounds": times[case]["plain"], "fast_rounds": times[case]["fast"]})
        print(f"{case:<4} plain {p:8.2f} s  fast {f:8.2f} s  speed-up {p / f:5.2f}x  identical={same}")
    result = {"threads": 1, "torch": torch.__version__, "rounds": rounds, "iw_k": iw_k, "iw_n": 500, "ais_betas": ais_betas,
              "ais_runs": 100, "rows": rows}
    (out / "evaluation_timing.json").write_text(json.dumps(result, indent=2) + "\n")
    return out
