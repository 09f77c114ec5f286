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
scores are computed on the CPU. ``only=dualgan`` or ``only=cvae-gan`` runs one half. Cells: each
pair's nulls, the CVAE-GAN FID floor, then one per trained model (through the trainer, so a
``--time-limit`` cut resumes from its checkpoint); ``complete: false`` until every cell is done.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from genzoo.bench import experiment, mean_std, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug
from genzoo.errors import GenzooError
from genzoo.models.base import MODELS, Model, capabilities

#: option → (full value, --quick value).
DEFAULTS: dict[str, tuple[Any, Any]] = {
    "seeds": ((0, 1, 2), (0, 1)),
    "pairs": (("invert", "rotate", "thicken"), ("invert", "rotate")),
    "n": (20000, 6000),
    "n_test": (2000, 1000),
    # DualGAN: the paper's RMSProp 5e-5 needs many updates; the quick budget uses Adam 1e-3 (stated in docs)
    "dualgan_steps": (3000, 200),
    "dualgan_sets": ("width=32", "width=16,optimizer=adam,lr_g=1e-3,lr_d=1e-3"),
    "dualgan_batch": (32, 32),
    "cvae_steps": (3000, 300),
    "cvae_sets": ("width=32,z_dim=32", "width=16,z_dim=32,lr=1e-3"),
    "cvae_batch": (64, 64),
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


def _train(ctx: Any, model: str, data: str, sets: list[str], device: str = "auto") -> Model:
    """Train through the trainer in the cell's run directory (a time-limit cut resumes from its checkpoint)."""
    from genzoo import run
    from genzoo.bench.engine import train

    config = run.resolve(model, data, sets=sets + ["train.threads=1", "train.progress=false", "train.sample_every=0",
                                                   "train.n_eval=500", f"train.device={device}"])
    return run.load(train(ctx, config)[0])[0]


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


def _dualgan_cell(pair: str, seed: int, o: Any, ctx: Any) -> list[dict[str, Any]]:
    """The pair's identity and oracle rows (seed −1), or DualGAN trained with this seed, scored."""
    from genzoo import data
    from genzoo.data.two_domain import to_domain
    from genzoo.viz.images import save_image_grid

    ds = data.load("two_domain_mnist", pair=pair, n=o.n)
    domain_clf, domain_acc = _domain_classifier(ds)
    (u, du), (v, dv) = ds.domain(0, test=True), ds.domain(1, test=True)
    u, du, v, dv = u[: o.n_test], du[: o.n_test], v[: o.n_test], dv[: o.n_test]
    if seed < 0:
        inverse = (lambda t: t) if pair == "thicken" else (lambda t: to_domain(t, pair, inverse=True))
        return [{"method": method, "pair": pair, "seed": -1, "domain_classifier_acc": domain_acc,
                 **_translation_scores(pair, maps, u, du, v, dv, domain_clf)}
                for method, maps in (("identity", {"a2b": lambda t: t, "b2a": lambda t: t}),
                                     ("oracle", {"a2b": lambda t: to_domain(t, pair), "b2a": inverse}))]
    sets = _sets(o.dualgan_sets) + [f"data.pair={pair}", f"data.n={o.n}", f"train.seed={seed}",
                                    f"train.steps={o.dualgan_steps}", f"train.batch_size={o.dualgan_batch}"]
    model = _train(ctx, "dualgan", "two_domain_mnist", sets, o.device)
    maps = {d: (lambda t, d=d: translate(model, t, d).cpu()) for d in ("a2b", "b2a")}
    row = {"method": "dualgan", "pair": pair, "seed": seed, "domain_classifier_acc": domain_acc,
           **_translation_scores(pair, maps, u, du, v, dv, domain_clf)}
    k = 10
    grid = torch.cat([u[:k], maps["a2b"](u[:k]), maps["b2a"](maps["a2b"](u[:k])),
                      v[:k], maps["b2a"](v[:k]), maps["a2b"](maps["b2a"](v[:k]))])
    save_image_grid(grid, ctx.out / f"dualgan_{pair}_seed{seed}.png", nrow=k)
    return [row]


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


def _cvae_cell(seed: int, o: Any, ctx: Any) -> list[dict[str, Any]]:
    """The FID floor (seed −1: 1 000 training vs test images), or CVAE-GAN trained with this seed and its null row."""
    from genzoo import data
    from genzoo.metrics.features import embed
    from genzoo.metrics.image import fid
    from genzoo.viz.images import save_image_grid

    ds = data.load("mnist", n=o.n)
    x, c = ds.test_x[: o.n_test], ds.test_y[: o.n_test]
    f_test = embed(ds.test_x[:1000])
    if seed < 0:
        return [{"method": "data (train vs test)", "pair": "class", "seed": -1, "fid": fid(f_test, embed(ds.x[:1000]))}]
    ink, slant = stroke_style(x)
    sets = _sets(o.cvae_sets) + [f"data.n={o.n}", f"train.seed={seed}", f"train.steps={o.cvae_steps}",
                                 f"train.batch_size={o.cvae_batch}"]
    model = _train(ctx, "cvae-gan", "mnist", sets, o.device)
    g = torch.Generator().manual_seed(seed)
    c_new = (c + torch.randint(1, 10, c.shape, generator=g)) % 10
    torch.manual_seed(seed)
    moved = model.transfer(x, c, c_new).cpu()
    independent = model.sample(len(x), y=c_new).cpu()
    samples = model.sample(1000).cpu()
    (ink_m, slant_m), (ink_i, slant_i) = stroke_style(moved), stroke_style(independent)
    rows = [{"method": "cvae-gan", "pair": "class", "seed": seed, "transfer_acc": float((_digits(moved) == c_new).float().mean()),
             "ink_corr": _pearson(ink, ink_m), "slant_corr": _pearson(slant, slant_m), "fid": fid(f_test, embed(samples))},
            {"method": "null: G(z, c') independent of x", "pair": "class", "seed": seed,
             "transfer_acc": float((_digits(independent) == c_new).float().mean()),
             "ink_corr": _pearson(ink, ink_i), "slant_corr": _pearson(slant, slant_i)}]
    k = 10
    grid = [x[:k]] + [model.transfer(x[:k], c[:k], (c[:k] + j) % 10).cpu() for j in range(1, 10)]
    save_image_grid(torch.cat(grid), ctx.out / f"cvae_gan_seed{seed}.png", nrow=k)
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


@experiment
class Translation(Experiment):
    """Claim 11: DualGAN keeps the digit while changing domain; CVAE-GAN changes the class, keeps style (3 seeds)."""

    name = "translation"
    options = {**{k: Option(full, quick) for k, (full, quick) in DEFAULTS.items()},
               "only": Option(("dualgan", "cvae-gan"), meaning="which half runs", choices=("dualgan", "cvae-gan"))}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        grid = []
        if "dualgan" in o.only:
            for pair in o.pairs:
                grid.append(Cell(slug("dualgan", pair, "nulls"), {"method": "dualgan", "pair": pair}, seed=-1, priority=-1, cost=0.1, baseline=True))
                grid += [Cell(f"dualgan_{pair}_seed{s}", {"method": "dualgan", "pair": pair}, seed=s, priority=i, gpu=True)
                         for i, s in enumerate(o.seeds)]
        if "cvae-gan" in o.only:
            grid.append(Cell("cvae_gan_floor", {"method": "cvae-gan"}, seed=-1, priority=-1, cost=0.1, baseline=True))
            grid += [Cell(f"cvae_gan_seed{s}", {"method": "cvae-gan"}, seed=s, priority=i, gpu=True) for i, s in enumerate(o.seeds)]
        return grid

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        if cell.params["method"] == "dualgan":
            rows = _dualgan_cell(cell.params["pair"], cell.seed, o, ctx)
        else:
            rows = _cvae_cell(cell.seed, o, ctx)
        return {"rows": rows, "train_seconds": time.perf_counter() - t0}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        rows = []
        for r in records:  # train_seconds (kept out of the compared rows) where the trained model's row always had it
            m = r["metrics"]
            rows += [{**row, "train_seconds": m["train_seconds"]} if i == 0 and r["seed"] >= 0 else row for i, row in enumerate(m["rows"])]
        protocol = {k: ",".join(map(str, o[k])) if isinstance(o[k], tuple) else str(o[k]) for k in DEFAULTS}
        write_results(out, "translation", rows, protocol=protocol, quick=quick, complete=len(records) == len(self.cells(o, quick)),
                      seconds=sum(r["seconds"] for r in records), torch=torch.__version__)
        (out / "summary.md").write_text(_summary(rows))
