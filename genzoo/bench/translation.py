"""Claim 11: translation keeps content (the digit) while changing domain (DualGAN) or class (CVAE-GAN).

Protocol (pinned here; options change it with ``--set KEY=VALUE``):

**DualGAN**, for each domain pair (``pairs``, default ``invert,rotate``) and seed: train
``dualgan`` on ``two_domain_mnist`` (``n`` MNIST training images split into two disjoint halves,
A = originals, B = T(originals)); then on up to ``n_test`` test images of each domain:

* *content kept* (a2b): genzoo's MNIST classifier (``genzoo.metrics.features``) on T⁻¹(G_A(u))
  — the translation mapped back to the classifier's domain by the known inverse transform —
  agrees with u's digit; (b2a): the classifier on G_B(v), already in the original domain;
* *domain changed*: a domain classifier (logistic regression on pixels, trained on the training
  images of both domains, test accuracy reported) puts G_A(u) in B and G_B(v) in A;
* *cycle error*: mean |G_B(G_A(u)) − u| and |G_A(G_B(v)) − v| (pixels in [0, 1]);
* *error vs the true translation*: mean |G_A(u) − T(u)| (the pairing DualGAN never saw).

Rows scored by the same rules: ``identity`` (x ↦ x: content trivially kept, domain never
changed) and ``oracle`` (the true T and T⁻¹: the ceiling).

**CVAE-GAN**, per seed: train ``cvae-gan`` on ``n`` labelled MNIST images; for each test image x
of class c pick c′ = (c + k) mod 10, k uniform in 1..9, and compute x′ = G(μ(x, c), c′):

* *class-transfer accuracy*: the MNIST classifier says c′ (chance 0.1);
* *style kept*: Pearson correlation across images between x and x′ of two stroke statistics —
  ink (mean pixel value, a proxy for stroke thickness) and slant (the image's second-moment shear
  μ₁₁/μ₀₂, positive when strokes lean right). Null row: the same correlations with x′ replaced by
  an independent sample G(z, c′), z ~ N(0, I) (no style carried, ≈ 0);
* *FID* of 1 000 samples against 1 000 test images with genzoo's own feature network (not
  Inception; comparable only inside genzoo), beside the FID of 1 000 training images (the floor).

Outputs in OUT: ``translation.csv/json`` (one row per method × pair × seed), ``summary.md``
(mean ± sd over seeds), picture grids ``dualgan_<pair>_seed<s>.png`` (rows: u, G_A(u),
G_B(G_A(u)), v, G_B(v), G_A(G_B(v))) and ``cvae_gan_seed<s>.png`` (row 0: test images; row k: the
same images transferred to class (c + k) mod 10), and the training runs under ``runs/``.

``--quick`` shortens training (and deviates from the papers' optimiser for DualGAN, see
:data:`DEFAULTS`) so the whole benchmark runs in a few CPU minutes on one thread. ``device``
(``auto``: CUDA when available; ``cpu``, ``cuda``, ``cuda:N``) is where the models train; the
scores are computed on the CPU. ``only=dualgan`` or ``only=cvae-gan`` runs one half. The table is
rewritten after every trained model (``complete: false`` until the end), so an interrupted run
keeps the models it finished.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genzoo.bench import benchmark, mean_std, resolve_options, write_results
from genzoo.errors import GenzooError
from genzoo.models.base import MODELS, Model, capabilities

#: option → (full value, --quick value).
DEFAULTS: dict[str, tuple[str, str]] = {
    "seeds": ("0,1,2", "0,1"),
    "pairs": ("invert,rotate,thicken", "invert,rotate"),
    "n": ("20000", "6000"),
    "n_test": ("2000", "1000"),
    # DualGAN: the paper's RMSProp 5e-5 needs many updates; the quick budget uses Adam 1e-3 (stated in docs)
    "dualgan_steps": ("3000", "200"),
    "dualgan_sets": ("width=32", "width=16,optimizer=adam,lr_g=1e-3,lr_d=1e-3"),
    "dualgan_batch": ("32", "32"),
    "cvae_steps": ("3000", "300"),
    "cvae_sets": ("width=32,z_dim=32", "width=16,z_dim=32,lr=1e-3"),
    "cvae_batch": ("64", "64"),
    "device": ("auto", "auto"),
}


def translate(model: Model, x: Tensor, direction: str) -> Tensor:
    """``model.translate(x, direction)``, or a one-line error naming the models that can translate."""
    if "translate" not in capabilities(model):
        having = sorted(n for n, cls in MODELS.items() if "translate" in capabilities(cls))
        raise GenzooError(f"model {model.name!r} has no translate capability; models with it: {', '.join(having)}")
    return model.translate(x, direction)


def _digits(images: Tensor) -> Tensor:
    from genzoo.metrics.features import classify

    return classify(images.clamp(0, 1))[:, 0].argmax(-1)


def _train(model: str, data: str, sets: list[str], out: Path, name: str, device: str = "auto") -> tuple[Model, dict[str, float]]:
    from genzoo import run

    runs = out / "runs"
    if (runs / name).exists():
        shutil.rmtree(runs / name)
    config = run.resolve(model, data, sets=sets + ["train.threads=1", "train.progress=false", "train.sample_every=0",
                                                   "train.n_eval=500", f"train.device={device}"])
    run_dir, metrics = run.train(config, runs, name)
    loaded, _ = run.load(run_dir)
    return loaded, metrics


def _sets(text: str) -> list[str]:
    return [f"model.{kv}" for kv in text.split(",") if kv]


# ----------------------------------------------------------------------------- DualGAN
def _domain_classifier(ds: Any) -> tuple[Any, float]:
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(ds.x), generator=g)[:4000]
    clf = LogisticRegression(max_iter=500, C=0.1).fit(ds.x[idx].flatten(1).numpy(), ds.y[idx].numpy())
    acc = clf.score(ds.test_x[:4000].flatten(1).numpy(), ds.test_y[:4000].numpy())
    return clf, float(acc)


def _translation_scores(pair: str, maps: dict[str, Any], u: Tensor, du: Tensor, v: Tensor, dv: Tensor, domain_clf: Any) -> dict[str, float]:
    """Scores of a pair of maps a2b, b2a under the protocol (u in A with digits du, v in B with dv)."""
    from genzoo.data.two_domain import to_domain

    fake_v, fake_u = maps["a2b"](u), maps["b2a"](v)
    back = {"invert": lambda t: to_domain(t, "invert", inverse=True), "rotate": lambda t: to_domain(t, "rotate", inverse=True),
            "thicken": lambda t: t}[pair]  # thickened digits are classified as they are (no inverse)
    row = {
        "content_a2b": float((_digits(back(fake_v)) == du).float().mean()),
        "content_b2a": float((_digits(fake_u) == dv).float().mean()),
        "domain_a2b": float((domain_clf.predict(fake_v.flatten(1).numpy()) == 1).mean()),
        "domain_b2a": float((domain_clf.predict(fake_u.flatten(1).numpy()) == 0).mean()),
        "cycle_a": float((maps["b2a"](fake_v) - u).abs().mean()),
        "cycle_b": float((maps["a2b"](fake_u) - v).abs().mean()),
        "error_vs_true_a2b": float((fake_v - to_domain(u, pair)).abs().mean()),
    }
    return row


def _dualgan_cells(out: Path, opts: dict[str, str], rows: list[dict[str, Any]] | None = None,
                   save: Any = None) -> list[dict[str, Any]]:
    from genzoo import data
    from genzoo.data.two_domain import to_domain
    from genzoo.viz.images import save_image_grid

    rows = [] if rows is None else rows
    n_test = int(opts["n_test"])
    for pair in opts["pairs"].split(","):
        ds = data.load("two_domain_mnist", pair=pair, n=int(opts["n"]))
        domain_clf, domain_acc = _domain_classifier(ds)
        (u, du), (v, dv) = ds.domain(0, test=True), ds.domain(1, test=True)
        u, du, v, dv = u[:n_test], du[:n_test], v[:n_test], dv[:n_test]
        inverse = (lambda t: t) if pair == "thicken" else (lambda t: to_domain(t, pair, inverse=True))
        for method, maps in (("identity", {"a2b": lambda t: t, "b2a": lambda t: t}),
                             ("oracle", {"a2b": lambda t: to_domain(t, pair), "b2a": inverse})):
            rows.append({"method": method, "pair": pair, "seed": -1, "domain_classifier_acc": domain_acc,
                         **_translation_scores(pair, maps, u, du, v, dv, domain_clf)})
        for seed in [int(s) for s in opts["seeds"].split(",")]:
            t0 = time.perf_counter()
            sets = _sets(opts["dualgan_sets"]) + [f"data.pair={pair}", f"data.n={opts['n']}", f"train.seed={seed}",
                                                  f"train.steps={opts['dualgan_steps']}", f"train.batch_size={opts['dualgan_batch']}"]
            model, _ = _train("dualgan", "two_domain_mnist", sets, out, f"dualgan_{pair}_seed{seed}", opts["device"])
            maps = {d: (lambda t, d=d: translate(model, t, d).cpu()) for d in ("a2b", "b2a")}
            row = {"method": "dualgan", "pair": pair, "seed": seed, "domain_classifier_acc": domain_acc,
                   **_translation_scores(pair, maps, u, du, v, dv, domain_clf),
                   "train_seconds": time.perf_counter() - t0}
            rows.append(row)
            k = 10
            grid = torch.cat([u[:k], maps["a2b"](u[:k]), maps["b2a"](maps["a2b"](u[:k])),
                              v[:k], maps["b2a"](v[:k]), maps["a2b"](maps["b2a"](v[:k]))])
            save_image_grid(grid, out / f"dualgan_{pair}_seed{seed}.png", nrow=k)
            if save is not None:
                save(rows)
    return rows


# ----------------------------------------------------------------------------- CVAE-GAN
def stroke_style(x: Tensor) -> tuple[Tensor, Tensor]:
    """(ink, slant) per image: mean pixel value and the second-moment shear μ₁₁/μ₀₂ (x: column, y: row, up)."""
    img = x[:, 0].double().clamp(0, 1)
    n, h, w = img.shape
    mass = img.sum((1, 2)).clamp_min(1e-8)
    cols = torch.arange(w, dtype=torch.float64)
    rows = -torch.arange(h, dtype=torch.float64)  # y grows upwards, so a right lean is a positive shear
    cx = (img.sum(1) * cols).sum(1) / mass
    cy = (img.sum(2) * rows).sum(1) / mass
    dx = cols[None, None, :] - cx[:, None, None]
    dy = rows[None, :, None] - cy[:, None, None]
    mu11 = (img * dx * dy).sum((1, 2)) / mass
    mu02 = (img * dy * dy).sum((1, 2)) / mass
    return img.mean((1, 2)), mu11 / mu02.clamp_min(1e-8)


def _pearson(a: Tensor, b: Tensor) -> float:
    return float(np.corrcoef(a.numpy(), b.numpy())[0, 1])


def _cvae_cells(out: Path, opts: dict[str, str], rows: list[dict[str, Any]] | None = None,
                save: Any = None) -> list[dict[str, Any]]:
    from genzoo import data
    from genzoo.metrics.features import embed
    from genzoo.metrics.image import fid
    from genzoo.viz.images import save_image_grid

    rows = [] if rows is None else rows
    n_test = int(opts["n_test"])
    ds = data.load("mnist", n=int(opts["n"]))
    x, c = ds.test_x[:n_test], ds.test_y[:n_test]
    ink, slant = stroke_style(x)
    f_test = embed(ds.test_x[:1000])
    rows.append({"method": "data (train vs test)", "pair": "class", "seed": -1, "fid": fid(f_test, embed(ds.x[:1000]))})
    for seed in [int(s) for s in opts["seeds"].split(",")]:
        t0 = time.perf_counter()
        sets = _sets(opts["cvae_sets"]) + [f"data.n={opts['n']}", f"train.seed={seed}", f"train.steps={opts['cvae_steps']}",
                                           f"train.batch_size={opts['cvae_batch']}"]
        model, _ = _train("cvae-gan", "mnist", sets, out, f"cvae_gan_seed{seed}", opts["device"])
        g = torch.Generator().manual_seed(seed)
        c_new = (c + torch.randint(1, 10, c.shape, generator=g)) % 10
        torch.manual_seed(seed)
        moved = model.transfer(x, c, c_new).cpu()
        independent = model.sample(len(x), y=c_new).cpu()
        samples = model.sample(1000).cpu()
        ink_m, slant_m = stroke_style(moved)
        ink_i, slant_i = stroke_style(independent)
        base = {"pair": "class", "seed": seed}
        rows.append({"method": "cvae-gan", **base,
                     "transfer_acc": float((_digits(moved) == c_new).float().mean()),
                     "ink_corr": _pearson(ink, ink_m), "slant_corr": _pearson(slant, slant_m),
                     "fid": fid(f_test, embed(samples)), "train_seconds": time.perf_counter() - t0})
        rows.append({"method": "null: G(z, c') independent of x", **base,
                     "transfer_acc": float((_digits(independent) == c_new).float().mean()),
                     "ink_corr": _pearson(ink, ink_i), "slant_corr": _pearson(slant, slant_i)})
        k = 10
        grid = [x[:k]] + [model.transfer(x[:k], c[:k], (c[:k] + j) % 10).cpu() for j in range(1, 10)]
        save_image_grid(torch.cat(grid), out / f"cvae_gan_seed{seed}.png", nrow=k)
        if save is not None:
            save(rows)
    return rows


# ----------------------------------------------------------------------------- the benchmark
def _summary(rows: list[dict[str, Any]]) -> str:
    keys = ["content_a2b", "content_b2a", "domain_a2b", "domain_b2a", "cycle_a", "cycle_b", "error_vs_true_a2b",
            "transfer_acc", "ink_corr", "slant_corr", "fid"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["pair"], r["method"]), []).append(r)
    present = [k for k in keys if any(k in r for r in rows)]
    lines = ["| pair | method | seeds | " + " | ".join(present) + " |", "|" + "---|" * (len(present) + 3)]
    for (pair, method), rs in groups.items():
        cells = []
        for k in present:
            cells.append(mean_std([r[k] for r in rs if k in r]))
        seeds = ",".join(str(r["seed"]) for r in rs if r["seed"] >= 0) or "–"
        lines.append(f"| {pair} | {method} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@benchmark("translation")
def translation_benchmark(out: Path, quick: bool, jobs: int, options: dict[str, str]) -> Path:
    """Claim 11: DualGAN keeps the digit while changing domain; CVAE-GAN changes the class, keeps style (3 seeds)."""
    opts = resolve_options("translation", options, DEFAULTS, quick, extra=("only",))
    only = options.get("only", "dualgan,cvae-gan").split(",")
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []

    def save(rows: list[dict[str, Any]], complete: bool = False) -> None:
        write_results(out, "translation", rows, protocol=opts, quick=quick, complete=complete,
                      seconds=time.perf_counter() - t0, torch=torch.__version__)
        (out / "summary.md").write_text(_summary(rows))

    if "dualgan" in only:
        _dualgan_cells(out, opts, rows, save)
    if "cvae-gan" in only:
        _cvae_cells(out, opts, rows, save)
    save(rows, complete=True)
    print(_summary(rows))
    print(f"translation: {time.perf_counter() - t0:.0f} s; results in {out}")
    return out

