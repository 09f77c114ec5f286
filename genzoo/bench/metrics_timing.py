"""Wall-clock cost of the image metrics: FID/KID/PR on 10k vs 10k, Stacked-MNIST on 26 000.

``part=images`` (cells ``mnist`` and ``stacked``), each step the best of ``repeats`` runs after a
small warm-up call:

* ``features``: genzoo's MNIST classifier embedding of ``n`` real and ``n`` "generated" images (the
  MNIST test split and training images stand in for a model's samples);
* ``fid``, ``kid`` (100 subsets of 1000), and precision/recall (k = 3) with density/coverage (k = 5)
  — one pass over the distances, :func:`~genzoo.metrics.image.manifold_metrics` — on those features;
* ``stacked_mnist``: classifying the 3 channels of ``n_stacked`` real Stacked-MNIST images and
  counting modes / KL to uniform (the values on real data are reported too).

Writes ``metrics_timing.json`` and a bar chart. ``threads`` 0 = genzoo's rule, as for training.

``part=evaluation`` (cells ``iw`` and ``ais``) times the streamlined evaluation loops against their
plain references (:mod:`genzoo.bench.eval_reference`), interleaved round by round on one thread,
and checks that both give the same values (``torch.equal``): ``iw``, the IWAE estimate (K =
``iw_k``) of 500 binarised 784-pixel images under an MLP VAE (784–500–50, Bernoulli decoder);
``ais``, forward AIS on a 784 × 500 Bernoulli RBM with ``ais_betas`` (a tenth of S&M's 14 500) and
100 runs. Medians of ``rounds``; writes ``evaluation_timing.json``.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from genzoo.bench import experiment
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options
from genzoo.errors import GenzooError


def _timed(fn, repeats: int):
    best, value = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


@experiment
class MetricsTiming(Experiment):
    """Time of FID/KID/PR (features and metric separately) on 10k vs 10k and of the Stacked-MNIST evaluation (26 000)."""

    name = "metrics-timing"
    options = {"part": Option("images", meaning="images (the image metrics) or evaluation (IWAE, AIS loops)",
                              choices=("images", "evaluation")),
               "n": Option(10_000, 2000, "real and generated images (2 ≤ n ≤ 10 000)"),
               "n_stacked": Option(26_000, 2600, "Stacked-MNIST images"),
               "repeats": Option(1, meaning="timed runs per step (the best counts)"),
               "threads": Option(0, meaning="torch threads; 0: genzoo's rule, as for training"),
               "rounds": Option(3, meaning="part=evaluation: interleaved rounds"),
               "iw_k": Option(256, 64, "part=evaluation: importance samples K"),
               "ais_betas": Option(1450, 200, "part=evaluation: AIS temperatures")}

    def check(self, o: Options, quick: bool) -> None:
        if not 2 <= o.n <= 10_000:
            raise GenzooError(f"invalid value n={o.n}: must be between 2 and 10000 (the MNIST test split)")

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        names = ("mnist", "stacked") if o.part == "images" else ("iw", "ais")
        return [Cell(name, {"part": o.part, "case": name}, seed=0, priority=i) for i, name in enumerate(names)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        if cell.params["part"] == "evaluation":
            return _evaluation(cell.params["case"], o)
        from genzoo import data
        from genzoo.metrics.features import embed, load_classifier
        from genzoo.metrics.image import fid, kid, manifold_metrics
        from genzoo.metrics.stacked import kl_floor, stacked_mnist_modes
        from genzoo.run import threads_for

        torch.set_num_threads(o.threads or threads_for("images"))
        net, m = load_classifier(), {"threads": torch.get_num_threads()}
        if cell.params["case"] == "stacked":
            stacked = data.load("stacked_mnist", n=o.n_stacked, n_test=0).x
            stacked_mnist_modes(stacked[:100], net)  # warm-up: one-off library initialisation is not the metric's cost
            m["stacked_mnist_s"], v = _timed(lambda: stacked_mnist_modes(stacked, net), o.repeats)
            return {**m, "modes": v["modes"], "kl_to_uniform": v["kl_to_uniform"], "kl_floor": kl_floor(o.n_stacked)}
        mnist = data.load("mnist")
        real, fake = mnist.test_x[: o.n], mnist.x[: o.n]
        fid(embed(real[:100], net), embed(fake[:100], net))  # warm-up
        m["features_real_s"], fr = _timed(lambda: embed(real, net), o.repeats)
        m["features_generated_s"], ff = _timed(lambda: embed(fake, net), o.repeats)
        m["fid_s"], m["fid"] = _timed(lambda: fid(fr, ff), o.repeats)
        m["kid_s"], m["kid"] = _timed(lambda: kid(fr, ff), o.repeats)
        m["manifold_s"], m["manifold"] = _timed(lambda: manifold_metrics(fr, ff), o.repeats)
        return m

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        m = {r["id"]: r["metrics"] for r in records}
        meta = {"threads": max(r["metrics"]["threads"] for r in records), "torch": records[0]["versions"]["torch"]}
        if o.part == "evaluation":
            rows = []
            for c, v in m.items():
                p, f = statistics.median(v["plain_rounds_s"]), statistics.median(v["fast_rounds_s"])
                rows.append({"case": c, "plain_s": p, "fast_s": f, "speedup": p / f, "identical": v["identical"],
                             "plain_rounds": v["plain_rounds_s"], "fast_rounds": v["fast_rounds_s"]})
            result = {**meta, "rounds": o.rounds, "iw_k": o.iw_k, "iw_n": 500, "ais_betas": o.ais_betas, "ais_runs": 100, "rows": rows}
            (out / "evaluation_timing.json").write_text(json.dumps(result, indent=2) + "\n")
            return
        a, s = m.get("mnist"), m.get("stacked")
        rows = [] if a is None else [
            {"step": f"features real ({o.n})", "seconds": a["features_real_s"]},
            {"step": f"features generated ({o.n})", "seconds": a["features_generated_s"]},
            {"step": "fid", "seconds": a["fid_s"], "value": a["fid"]},
            {"step": "kid (100 x 1000)", "seconds": a["kid_s"], "value": a["kid"]},
            {"step": "prec/rec k=3 + dens/cov k=5", "seconds": a["manifold_s"], **a["manifold"]}]
        rows += [] if s is None else [{"step": f"stacked_mnist ({o.n_stacked})", "seconds": s["stacked_mnist_s"],
                                       **{k: s[k] for k in ("modes", "kl_to_uniform", "kl_floor")}}]
        result = {**meta, "n": o.n, "n_stacked": o.n_stacked, "repeats": o.repeats, "rows": rows,
                  "total_seconds": sum(r["seconds"] for r in records)}
        (out / "metrics_timing.json").write_text(json.dumps(result, indent=2) + "\n")
        _figure(rows, out / "metrics_timing.png", title=f"metrics on {meta['threads']} threads")


def _figure(rows: list[dict], path: Path, title: str) -> None:
    from genzoo.viz.plots import _new_figure, _save

    fig = _new_figure((6, 0.4 * len(rows) + 1))
    ax = fig.add_subplot()
    ax.barh([r["step"] for r in rows][::-1], [r["seconds"] for r in rows][::-1], color="tab:blue")
    ax.set_xlabel("seconds")
    ax.set_title(title)
    _save(fig, path)


def _evaluation(case: str, o: Options) -> dict[str, Any]:
    """Plain vs streamlined IWAE likelihood or AIS: interleaved rounds on one thread, and whether the values agree bit for bit."""
    from genzoo.bench.eval_reference import plain_ais_log_w, plain_iw_log_likelihood
    from genzoo.metrics.likelihood import iw_log_likelihood
    from genzoo.models import MODELS, DataSpec
    from genzoo.sampling.ais import AnnealedImportanceSampling, RBMPath

    torch.set_num_threads(1)  # one thread: the comparison is of the loops, not of how busy the other cores are
    g = torch.Generator().manual_seed(0)
    V = MODELS.get("vae")
    torch.manual_seed(0)
    vae = V(V.Config(arch="mlp", hidden=500, depth=1, latent_dim=50, observation="bernoulli"), DataSpec("images", (784,), 0)).eval()
    x = (torch.rand(500, 784, generator=g) < 0.3).float()
    W, a, b = torch.randn(784, 500, generator=g) * 0.05, torch.randn(784, generator=g) * 0.5, torch.randn(500, generator=g) * 0.5
    path = RBMPath("bernoulli", a, b, W, torch.ones(784), torch.rand(784, generator=g) * 0.8 + 0.1)
    sampler = AnnealedImportanceSampling(o.ais_betas, 100)

    def seeded(fn):  # the same seed for both; IWAE without autograd (as the library evaluates it)
        torch.manual_seed(1)
        with torch.no_grad() if case == "iw" else contextlib.nullcontext():
            return fn()

    plain, fast = {"iw": (lambda: plain_iw_log_likelihood(vae, x, o.iw_k), lambda: iw_log_likelihood(vae, x, o.iw_k)),
                   "ais": (lambda: plain_ais_log_w(path, sampler.schedule, path.base_sample(100)),
                           lambda: sampler.log_partition(path).log_w)}[case]
    times: dict[str, list[float]] = {"plain": [], "fast": []}
    values: dict[str, torch.Tensor] = {}
    for r in range(o.rounds):
        for name, fn in (("plain", plain), ("fast", fast)) if r % 2 == 0 else (("fast", fast), ("plain", plain)):
            t = time.perf_counter()
            values[name] = seeded(fn)
            times[name].append(time.perf_counter() - t)
    return {"plain_rounds_s": times["plain"], "fast_rounds_s": times["fast"], "threads": 1,
            "identical": bool(torch.equal(values["plain"], values["fast"]))}
