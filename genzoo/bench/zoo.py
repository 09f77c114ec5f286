"""The zoo: a representative of every family on the same 2-D data, one metric suite, and how usable each is.

``genzoo bench zoo [--quick] [--jobs N] [--out DIR]`` — what it does, top to bottom:

1. **Train** (the suite harness :mod:`genzoo.bench.suite`, resumable, one torch thread per cell):
   every model of :data:`ZOO` on every data set of :data:`DATA` under one pinned budget
   (:data:`BUDGETS`: the same steps, batch and evaluation schedule for every model), seeds 0, 1, 2
   → ``OUT/main``; and, for the learning-rate sensitivity, every model again on ring8 with each
   of its learning rates multiplied by 1/3 and by 3 → ``OUT/lr``. Both are ordinary suite
   specs generated from this module's tables (``OUT/*/spec.toml``), so ``genzoo report OUT/main``
   works too. A run that produces NaN/Inf stops with :class:`~genzoo.errors.DivergenceError`;
   the suite records it as a failed cell and the zoo counts it as *diverged*.
2. **Score** every finished cell (``OUT/scores/<cell>.json``, cached):

   * sample quality — modes, high-quality share (Euclidean 3σ rule) and exact W1 of the last
     training-time evaluation (``train.n_eval`` samples vs as many fresh data points);
   * test log-likelihood on one fixed held-out set per data set (:func:`test_points`), labelled
     by how it was obtained (:data:`LL_KINDS`): ``exact`` (``log_prob``), ``AIS`` (``log_prob_estimate``
     ± its standard error), ``IWAE bound`` (K importance samples through ``proposal``/``log_joint``:
     a stochastic lower bound) with the ELBO beside it, ``grid`` (an energy exp(−E) normalised by a
     Riemann sum on a grid over the box :func:`box`: exact up to the discretisation and the mass
     outside the box) — against the data's exact entropy H(p) = −E_p log p(x), estimated on the
     same held-out points with the exact mixture density;
   * usability — training seconds until the evaluations first reach each threshold
     (:data:`THRESHOLDS`), the weights' bytes, the Config's number of fields (hyper-parameters).

   DDLS (Che et al. 2020) on the trained GAN is scored as its own row ("GAN + DDLS"): the same
   generator and discriminator, samples from Langevin in z (genzoo's ``ddls`` sampler, defaults).
3. **Nulls** scored by the same rules: the suite's sample-quality nulls (data, one Gaussian fit,
   uniform box, uniform circle) and their log-likelihoods on the same held-out points (data:
   the exact density, i.e. −H(p); Gaussian: the moment fit; uniform on the box).
4. **Report** (:mod:`genzoo.bench.zoo_report`): ``OUT/report.md`` and a self-contained
   ``OUT/report.html``.

5. **Binarised MNIST** (``--set grids=mnist``, alone or beside ``main,lr``; :func:`run_mnist`): the models of
   :data:`MNIST_ZOO` on a 10 000-image subset under :data:`MNIST_BUDGETS`, scored by FID/KID/precision/recall
   on genzoo's classifier features against held-out test images and by the labelled test log-likelihood
   (:func:`likelihood`, the same rules as above), beside two nulls scored the same way — held-out real images
   (the FID floor at that n) and independent Bernoulli pixels fitted to the training set (exact likelihood);
   ``OUT/mnist/mnist.md``, ``mnist.json``, ``mnist_samples.png``.

Wall-clock numbers are measured on whatever machine runs the suite (with ``--jobs`` workers
sharing it): compare them within one report only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genzoo.bench import benchmark, summary_stats
from genzoo.errors import GenzooError
from genzoo.files import write_json_atomic
# the likelihood of energy models is genzoo eval's (one implementation): grid normalisation for 2-D energies
# and its nulls, AIS for a fully visible BM too large to enumerate
from genzoo.metrics.energy_likelihood import BOX_SIGMAS, box, grid_log_z  # noqa: F401 (re-exported)
from genzoo.metrics.energy_likelihood import mean_se as _mean_se
from genzoo.metrics.energy_likelihood import null_log_likelihoods as null_likelihoods

# ---------------------------------------------------------------------------------- the protocol
#: Bump when anything pinned below changes (it is part of the generated specs, hence their hash).
VERSION = 1

#: The data sets: 2-D mixtures with an exact density (``dataset.density.log_prob``). The ring's σ is
#: 0.05 (the mode-collapse suite uses 0.01): at 0.01 no likelihood model of any family places a
#: sample within 3σ in a CPU budget, and the grid normalisation would need a finer grid.
DATA: list[dict[str, Any]] = [
    {"name": "ring8", "n": 50000, "modes": 8, "radius": 1.0, "std": 0.05, "seed": 0},
    {"name": "grid25", "n": 50000, "side": 5, "spacing": 2.0, "std": 0.05, "seed": 0},
    {"name": "moons", "n": 50000, "components": 200, "noise": 0.05, "seed": 0},
]

#: (label, family, model, config values, learning-rate fields). Config values not listed are the
#: model's defaults; the learning rates are written out (they are the defaults genzoo resolves on
#: points) because the sensitivity runs scale them. The RBM has 16 hidden units so that its log Z is
#: exact (2^16 hidden states enumerated); its AIS settings only make the training-time AIS check cheap.
ZOO: list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]] = [
    ("GAN", "GAN", "gan", {"objective": "nonsaturating", "lr_g": 1e-3, "lr_d": 1e-3}, ("lr_g", "lr_d")),
    ("WGAN-GP", "GAN", "wgan-gp", {"lr_g": 1e-4, "lr_d": 1e-4}, ("lr_g", "lr_d")),
    ("VAE", "VAE", "vae", {"lr": 1e-3}, ("lr",)),
    ("IWAE (k=5)", "VAE", "iwae", {"lr": 1e-3}, ("lr",)),
    ("β-VAE (β=4)", "disentangling AE", "beta-vae", {"lr": 1e-4}, ("lr",)),
    ("DAE", "autoencoder", "dae", {"lr": 1e-3}, ("lr",)),
    ("GB-RBM (16 hidden)", "Boltzmann", "rbm", {"visible": "gaussian", "n_hidden": 16, "lr": 1e-3,
                                                     "ais_betas": 200, "ais_runs": 20}, ("lr",)),
    ("EBM", "EBM", "ebm", {"lr": 3e-3}, ("lr",)),
    ("DDGM", "EBM bridge", "ddgm", {"lr": 3e-3, "negatives.lr": 3e-3}, ("lr", "negatives.lr")),
    ("MEG", "EBM bridge", "meg", {"lr": 3e-3, "negatives.lr": 3e-3}, ("lr", "negatives.lr")),
    ("ALI", "ALI/BiGAN", "ali", {"lr_g": 1e-3, "lr_d": 1e-3}, ("lr_g", "lr_d")),
    ("BiGAN", "ALI/BiGAN", "bigan", {"lr_g": 1e-3, "lr_d": 1e-3}, ("lr_g", "lr_d")),
]
#: Rows scored from another model's runs: (label, family, source label, sampler).
DERIVED: list[tuple[str, str, str, str]] = [("GAN + DDLS", "EBM bridge", "GAN", "ddls")]
#: Learning-rate multipliers of the sensitivity runs (on :data:`LR_DATA`).
LR_FACTORS: tuple[float, ...] = (1 / 3, 3.0)
LR_DATA = "ring8"

#: Budgets: train values shared by every cell; ``seeds`` of the main grid and ``lr_seeds`` of the
#: sensitivity grid; ``n_test`` held-out points for log-likelihoods, ``iw_k`` importance samples.
#: (``eval_share`` 1: every evaluation of the training curves is made, whatever the trainer's budget.)
BUDGETS: dict[str, dict[str, Any]] = {
    "full": {"train": {"steps": 3000, "batch_size": 256, "n_eval": 2500, "log_every": 50, "sample_every": 250,
                       "checkpoint_every": 1000, "threads": 1, "device": "cpu", "eval_share": 1.0},
             "seeds": [0, 1, 2], "lr_seeds": [0, 1, 2], "n_test": 2500, "iw_k": 1000, "grid_bins": 400},
    "quick": {"train": {"steps": 150, "batch_size": 128, "n_eval": 300, "log_every": 25, "sample_every": 50,
                        "checkpoint_every": 150, "threads": 1, "device": "cpu", "eval_share": 1.0},
              "seeds": [0, 1, 2], "lr_seeds": [0], "n_test": 1000, "iw_k": 200, "grid_bins": 300},
}

#: Usability thresholds, read from the evaluations over training: the first evaluation at which the
#: model is better than a null that knows nothing (scored by the same rule at the same n).
THRESHOLDS: dict[str, str] = {
    "w1_gauss": "W1 below the one-Gaussian null's W1",
    "hq_nulls": "high-quality share above every null's (uniform box, Gaussian, circle)",
}

#: How a log-likelihood was obtained (the label every table carries).
LL_KINDS: dict[str, str] = {
    "exact": "exact log p(x) (log_prob)",
    "AIS": "AIS estimate of log p(x) ± its standard error (log_prob_estimate; a fully visible BM by genzoo eval's AIS)",
    "IWAE bound": "importance-weighted lower bound L_K (proposal + log_joint), E[L_K] ≤ log p(x)",
    "ELBO": "evidence lower bound (elbo)",
    "grid": "exp(−E) normalised by a Riemann sum on a grid over the data box (energy)",
}


# ---------------------------------------------------------------------------------- specs
def _budget(quick: bool) -> dict[str, Any]:
    return BUDGETS["quick" if quick else "full"]


def _lr_label(label: str, factor: float) -> str:
    return f"{label} [lr ×{'1/3' if abs(factor - 1 / 3) < 1e-9 else f'{factor:g}'}]"


def lr_cell_label(label: str, factor: float) -> str:
    """The label of a learning-rate variant of ``label`` in the sensitivity grid."""
    return _lr_label(label, factor)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def _inline(d: dict[str, Any]) -> str:
    return "{ " + ", ".join(f"{json.dumps(k) if not k.isidentifier() else k} = {_toml_value(v)}" for k, v in d.items()) + " }"


def spec_text(which: str, zoo: list | None = None, data: list | None = None, budgets: dict | None = None) -> str:
    """The suite spec (TOML) of the ``main`` or ``lr`` grid, generated from the tables above.

    The full budget is the spec's ``[train]``, the quick one its ``[quick]`` (what ``--quick`` runs).
    """
    zoo, data, budgets = zoo or ZOO, data or DATA, budgets or BUDGETS
    full, quick = budgets["full"], budgets["quick"]
    seeds_key = "seeds" if which == "main" else "lr_seeds"
    lines = [f'name = "zoo-{which}"', f"version = {VERSION}",
             f'description = "the zoo\'s {which} grid: every family on 2-D mixtures (generated by genzoo.bench.zoo)"',
             f"seeds = {_toml_value(full[seeds_key])}", 'metrics = ["modes", "hq_share", "w1"]',
             'curves = ["w1", "hq_share"]', "", "[protocol]", 'hq_rule = "euclidean"', "hq_threshold = 3.0", "", "[train]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in full["train"].items()]
    lines += ["", "[quick]"] + [f"{k} = {_toml_value(v)}" for k, v in quick["train"].items()]
    lines += [f"seeds = {_toml_value(quick[seeds_key])}"]
    for d in data:
        if which == "lr" and d["name"] != LR_DATA:
            continue
        lines += ["", "[[data]]"] + [f"{k} = {_toml_value(v)}" for k, v in d.items()]
    for label, family, model, values, lr_fields in zoo:
        variants = [(label, values)] if which == "main" else [
            (_lr_label(label, f), {**values, **{k: float(f"{values[k] * f:.6g}") for k in lr_fields}}) for f in LR_FACTORS]
        for lab, vals in variants:
            lines += ["", "[[models]]", f"label = {_toml_value(lab)}", f"model = {_toml_value(model)}",
                      f"set = {_inline(vals)}", f"note = {_toml_value(family)}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- scoring helpers
def test_points(dataset: Any, n: int) -> Tensor:
    """The held-out points every log-likelihood of a data set is measured on (fixed seed, float32)."""
    return dataset.fresh(n, torch.Generator().manual_seed(20_240_607)).float().cpu()


def likelihood(model: Any, dataset: Any, x: Tensor, iw_k: int, bins: int) -> dict[str, Any]:
    """The model's test log-likelihood of ``x`` by the best means it declares, labelled (see :data:`LL_KINDS`).

    ``ll`` (mean nats per point), ``ll_se`` (standard error over the test points, and for AIS the
    estimator's own error added in quadrature), ``ll_kind``; ``elbo`` beside an IWAE bound.
    Empty for models with no density (implicit models).
    """
    from genzoo.metrics.likelihood import has_bound, has_iw, iw_log_likelihood
    from genzoo.metrics.energy_likelihood import bm_ais_likelihood, grid_log_likelihood, is_fully_visible_bm

    out: dict[str, Any] = {}
    with torch.no_grad():
        if callable(getattr(model, "log_prob", None)):
            try:
                out["ll"], out["ll_se"] = _mean_se(model.log_prob(x))
                out["ll_kind"] = "exact"
                return out
            except GenzooError:  # e.g. too many units to enumerate: fall through to an estimate
                pass
        if is_fully_visible_bm(model) and not callable(getattr(model, "log_prob", None)):
            m = bm_ais_likelihood(model, x, dataset.x)  # as genzoo eval estimates it
            out.update(ll=m["log_likelihood_ais"], ll_se=m["log_z_std"], ll_kind="AIS")
            return out
        if callable(getattr(model, "log_prob_estimate", None)):
            values, err = model.log_prob_estimate(x)
            mean, se = _mean_se(values)
            out.update(ll=mean, ll_se=math.sqrt(se**2 + float(err) ** 2), ll_kind="AIS")
            return out
        if has_iw(model):
            torch.manual_seed(0)
            out["ll"], out["ll_se"] = _mean_se(torch.cat([iw_log_likelihood(model, xb, iw_k) for xb in x.split(250)]))
            out["ll_kind"], out["iw_k"] = "IWAE bound", iw_k
        if has_bound(model):
            torch.manual_seed(0)
            elbo, elbo_se = _mean_se(torch.cat([model.elbo(xb).reshape(-1) for xb in x.split(250)]))
            if "ll" in out:
                out["elbo"] = elbo
            else:
                out.update(ll=elbo, ll_se=elbo_se, ll_kind="ELBO")
            return out
        if callable(getattr(model, "energy", None)) and x.shape[1] == 2:
            low, high = box(dataset)
            out["ll"], out["ll_se"] = _mean_se(grid_log_likelihood(model, x, low, high, bins)[0])
            out["ll_kind"], out["grid_bins"] = "grid", bins
    return out


def training_curve(run_dir: Path) -> list[dict[str, float]]:
    """The evaluations over training with the cumulative training seconds at each (evaluation time excluded).

    Seconds come from the trainer's logged speed: each log window of s steps at r steps/s adds s/r.
    """
    from genzoo.files import METRICS, read_metrics

    records, _ = read_metrics(run_dir / METRICS)
    seconds, last_step, out = 0.0, 0, []
    for r in records:
        step = int(r["step"])
        if r.get("steps_per_s"):
            seconds += (step - last_step) / float(r["steps_per_s"])
            last_step = step
        if "w1" in r:
            out.append({"step": step, "seconds": seconds, **{k: float(r[k]) for k in ("w1", "hq_share", "modes") if k in r}})
    return out


def time_to(curve: list[dict[str, float]], metric: str, bar: float, direction: str) -> float | None:
    """Training seconds at the first evaluation where ``metric`` is beyond ``bar`` (None: never)."""
    for point in curve:
        v = point.get(metric)
        if v is not None and math.isfinite(v) and (v < bar if direction == "lower" else v > bar):
            return point["seconds"]
    return None


def weight_bytes(model: Any) -> int:
    """Bytes of the model's weights (every tensor of its ``state_dict``: parameters and buffers)."""
    return int(sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, Tensor)))


def n_hyperparameters(model_name: str) -> int:
    """The number of fields of the model's Config (what a user may set)."""
    from genzoo.models import MODELS

    return len(dataclasses.fields(MODELS.get(model_name).Config))


# ---------------------------------------------------------------------------------- scoring a cell
def score_cell(run_dir: Path, dataset: Any, x_test: Tensor, budget: dict[str, Any], sampler: str | None = None,
               with_likelihood: bool = True) -> dict[str, Any]:
    """Likelihood, size and curve of one finished run (``sampler``: score the run's DDLS samples instead;
    ``with_likelihood=False``: skip the likelihood, as for the learning-rate runs, whose tables show W1 and hq only)."""
    from genzoo import run
    from genzoo.metrics.evaluate import evaluate

    model, config = run.load(run_dir)
    out: dict[str, Any] = {"weight_bytes": weight_bytes(model), "n_hparams": n_hyperparameters(config["model"]),
                           "checkpoint_bytes": (run_dir / "checkpoint.safetensors").stat().st_size}
    if sampler is None:
        start = time.perf_counter()
        if with_likelihood:
            out.update(likelihood(model, dataset, x_test, budget["iw_k"], budget["grid_bins"]))
        out["ll_seconds"] = time.perf_counter() - start
        out["curve"] = training_curve(run_dir)
        return out
    from genzoo.sampling.ddls import DDLS, DDLSConfig

    n = int(config["train"].n_eval or 2500)
    torch.manual_seed(0)
    start = time.perf_counter()
    ddls = DDLS.from_model(model, DDLSConfig(), data=dataset.x)
    samples = ddls.sample(n).detach().float().cpu()
    out["sample_seconds"] = time.perf_counter() - start
    with torch.no_grad():
        metrics = evaluate(model, dataset, seed=0, samples=samples, n=n)
    out.update({k: float(metrics[k]) for k in ("modes", "hq_share", "w1") if k in metrics})
    out["sampler"] = sampler
    return out


def failure_status(failure: dict[str, Any]) -> str:
    """``diverged`` for a run stopped by the divergence guard (DivergenceError) or by another error about
    non-finite values (e.g. a distribution refusing a NaN parameter before the guard saw it); else ``failed``."""
    if failure.get("kind") == "DivergenceError":
        return "diverged"
    import re

    text = str(failure.get("error", "")).lower()
    return "diverged" if re.search(r"\b(nan|inf)\b|invalid values|non-finite", text) else "failed"


def _write_json(path: Path, obj: Any) -> None:
    write_json_atomic(path, obj, default=float)  # numpy scalars as floats


def score_all(out: Path, quick: bool, zoo: list, data: list, budgets: dict) -> dict[str, Any]:
    """Score every finished cell of both grids (cached per cell in ``OUT/scores``); write ``OUT/zoo.json``."""
    from genzoo import data as data_module
    from genzoo.bench import suite

    budget = budgets["quick" if quick else "full"]
    score_dir = out / "scores"
    score_dir.mkdir(exist_ok=True)
    datasets: dict[str, Any] = {}
    tests: dict[str, Tensor] = {}

    def dataset_of(d: dict[str, Any]) -> Any:
        label = suite.data_label(d)
        if label not in datasets:
            datasets[label] = data_module.load(d["name"], **{k: v for k, v in d.items() if k not in ("name", "label")})
            tests[label] = test_points(datasets[label], budget["n_test"])
        return datasets[label]

    grids: dict[str, Any] = {}
    for which in ("main", "lr"):
        gdir = out / which
        if not (gdir / suite.SUITE_FILE).is_file():
            continue
        ident = json.loads((gdir / suite.SUITE_FILE).read_text())
        spec = suite.load_spec(gdir / "spec.toml")
        grid = suite.cells(spec, ident["quick"], ident["overrides"])
        rows = {r["id"]: r for r in suite.finished(spec, grid, gdir, ident["spec_sha256"])}
        failed = {}
        for cell in grid:
            path = gdir / "cells" / f"{cell['id']}.failed.json"
            if cell["id"] not in rows and path.is_file():
                failed[cell["id"]] = json.loads(path.read_text())
        cells_out = []
        for cell in grid:
            entry = {k: cell[k] for k in ("id", "label", "model", "data_label", "seed", "steps")}
            d = next(x for x in spec["data"] if suite.data_label(x) == cell["data_label"])
            if cell["id"] in rows:
                r = rows[cell["id"]]
                entry.update(status="ok", seconds=r.get("seconds"),
                             **{k: r[k] for k in ("modes", "hq_share", "w1", "steps_per_s") if k in r})
                cache = score_dir / f"{which}__{cell['id']}.json"
                scored = None
                if cache.is_file():
                    scored = json.loads(cache.read_text())
                    scored = scored if scored.get("spec_sha256") == ident["spec_sha256"] else None
                if scored is None:
                    ds = dataset_of(d)
                    try:
                        scored = score_cell(gdir / r["run"], ds, tests[cell["data_label"]], budget,
                                            with_likelihood=which == "main")
                    except Exception as e:  # noqa: BLE001 - one unscorable run must not lose the table
                        scored = {"score_error": f"{type(e).__name__}: {e}"}
                    scored["spec_sha256"] = ident["spec_sha256"]
                    _write_json(cache, scored)
                entry.update({k: v for k, v in scored.items() if k != "spec_sha256"})
            elif cell["id"] in failed:
                f = failed[cell["id"]]
                entry.update(status=failure_status(f), error=str(f.get("error"))[:300], error_kind=f.get("kind"))
            else:
                entry["status"] = "missing"
            cells_out.append(entry)
        grids[which] = {"ident": ident, "cells": cells_out, "spec": spec}
    # derived rows (DDLS on the GAN's runs of the main grid)
    derived_cells = []
    if "main" in grids:
        gdir = out / "main"
        sha = grids["main"]["ident"]["spec_sha256"]
        for label, family, source, sampler in DERIVED:
            for c in grids["main"]["cells"]:
                if c["label"] != source:
                    continue
                entry = {**{k: c[k] for k in ("data_label", "seed", "steps", "model")}, "label": label,
                         "id": f"{c['id']}__{sampler}", "source": source}
                if c["status"] != "ok":
                    entry["status"] = c["status"]
                    derived_cells.append(entry)
                    continue
                cache = score_dir / f"derived__{entry['id']}.json"
                scored = json.loads(cache.read_text()) if cache.is_file() else None
                if scored is None or scored.get("spec_sha256") != sha:
                    d = next(x for x in grids["main"]["spec"]["data"] if suite.data_label(x) == c["data_label"])
                    try:
                        scored = score_cell(gdir / "runs" / c["id"], dataset_of(d), tests[c["data_label"]], budget, sampler)
                    except Exception as e:  # noqa: BLE001
                        scored = {"score_error": f"{type(e).__name__}: {e}"}
                    scored["spec_sha256"] = sha
                    _write_json(cache, scored)
                entry.update(status="ok", seconds=c.get("seconds"), curve=c.get("curve", []),
                             **{k: v for k, v in scored.items() if k != "spec_sha256"})
                derived_cells.append(entry)
    # nulls: the suite's sample-quality nulls and our likelihood nulls, per data set
    nulls: dict[str, Any] = {}
    if "main" in grids:
        summary_path = out / "main" / "summary.json"
        quality_nulls = json.loads(summary_path.read_text()).get("nulls", {}) if summary_path.is_file() else {}
        for d in grids["main"]["spec"]["data"]:
            label = suite.data_label(d)
            ds = dataset_of(d)
            nulls[label] = {"quality": quality_nulls.get(label, []),
                            "likelihood": null_likelihoods(ds, tests[label], budget["grid_bins"]),
                            "n_test": budget["n_test"]}
    families = {label: family for label, family, *_ in zoo} | {label: family for label, family, *_ in DERIVED}
    models = {label: model for label, _, model, *_ in zoo} | {label: m for label, _, src, _ in DERIVED
                                                               for lab, _, m, *_ in zoo if lab == src}
    result = {"version": VERSION, "quick": quick, "budget": budget, "families": families, "models": models,
              "zoo": [{"label": lab, "family": fam, "model": m, "set": s, "lr_fields": list(lr)} for lab, fam, m, s, lr in zoo],
              "derived": [{"label": lab, "family": fam, "source": src, "sampler": smp} for lab, fam, src, smp in DERIVED],
              "lr_factors": list(LR_FACTORS), "lr_data": LR_DATA, "thresholds": THRESHOLDS, "ll_kinds": LL_KINDS,
              "box_sigmas": BOX_SIGMAS,
              "grids": {w: {"ident": g["ident"], "cells": g["cells"]} for w, g in grids.items()},
              "derived_cells": derived_cells, "nulls": nulls, "capabilities": capability_table()}
    result["usability"] = usability(result)
    _write_json(out / "zoo.json", result)
    return result


# ---------------------------------------------------------------------------------- usability
def _bars(result: dict[str, Any], data: str) -> dict[str, float]:
    """The thresholds' bars on one data set from the sample-quality nulls (mean over seeds)."""
    quality = {e["label"]: e for e in result["nulls"].get(data, {}).get("quality", [])}
    bars = {}
    if "gaussian" in quality and "w1" in quality["gaussian"]:
        bars["w1_gauss"] = quality["gaussian"]["w1"]
    hq = [e["hq_share"] for name, e in quality.items() if name != "data" and "hq_share" in e]
    if hq:
        bars["hq_nulls"] = max(hq)
    return bars


def usability(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per zoo model: time to each threshold per data set (over seeds), divergences,
    learning-rate sensitivity (range of final W1 and hq_share over lr ×1/3, ×1, ×3 on ring8),
    hyper-parameters, weights' bytes, training speed."""
    main = result["grids"].get("main", {}).get("cells", [])
    lr = result["grids"].get("lr", {}).get("cells", [])
    rows = []
    labels = [z["label"] for z in result["zoo"]] + [d["label"] for d in result["derived"]]
    data_labels = list(dict.fromkeys(c["data_label"] for c in main))
    for label in labels:
        is_derived = label in [d["label"] for d in result["derived"]]
        mine = [c for c in (result["derived_cells"] if is_derived else main) if c["label"] == label]
        row: dict[str, Any] = {"label": label, "family": result["families"].get(label), "model": result["models"].get(label)}
        for data in data_labels:
            cells = [c for c in mine if c["data_label"] == data]
            bars = _bars(result, data)
            for key, bar in bars.items():
                metric, direction = ("w1", "lower") if key == "w1_gauss" else ("hq_share", "higher")
                times = []
                for c in cells:
                    if c.get("status") != "ok":
                        continue
                    if is_derived:  # DDLS is scored once at the end: it counts if it clears the bar then
                        v = c.get(metric)
                        ok = v is not None and (v < bar if direction == "lower" else v > bar)
                        times.append(c["curve"][-1]["seconds"] + c.get("sample_seconds", 0.0) if ok and c.get("curve") else None)
                    else:
                        times.append(time_to(c.get("curve", []), metric, bar, direction))
                row[f"t_{key}__{data}"] = {"bar": bar, "reached": sum(t is not None for t in times), "runs": len(times),
                                           **summary_stats([t for t in times if t is not None])}
            finals = [c for c in cells if c.get("status") == "ok"]
            for m in ("w1", "hq_share"):
                row[f"{m}__{data}"] = summary_stats([c.get(m) for c in finals])
            sps = [c["steps"] / c["curve"][-1]["seconds"] for c in finals if c.get("curve") and c["curve"][-1]["seconds"] > 0]
            row[f"steps_per_s__{data}"] = summary_stats(sps)
        # divergence over every run of this model (main grid and learning-rate grid)
        pool = mine + ([] if is_derived else [c for c in lr if c["label"].startswith(label + " [lr")])
        row["runs"] = len(pool)
        row["diverged"] = sum(c.get("status") == "diverged" for c in pool)
        row["failed"] = sum(c.get("status") == "failed" for c in pool)
        # learning-rate sensitivity on the lr data set: per seed, the range over ×1/3, ×1, ×3
        if not is_derived:
            sens: dict[str, Any] = {}
            for m in ("w1", "hq_share"):
                spans, per_factor = [], {}
                seeds = sorted({c["seed"] for c in lr if c["label"].startswith(label + " [lr")})
                for seed in seeds:
                    base = next((c for c in main if c["label"] == label and c["data_label"] == result["lr_data"]
                                 and c["seed"] == seed), None)
                    variants = [c for c in lr if c["label"].startswith(label + " [lr") and c["seed"] == seed]
                    values = {"×1": base.get(m) if base and base.get("status") == "ok" else None}
                    for c in variants:
                        values[c["label"][len(label) + 5:-1]] = c.get(m) if c.get("status") == "ok" else None
                    per_factor[seed] = values
                    finite = [v for v in values.values() if v is not None]
                    if len(finite) == len(values) and finite:
                        spans.append(max(finite) - min(finite))
                sens[m] = {"range": summary_stats(spans), "values": per_factor}
            row["lr_sensitivity"] = sens
        ok = [c for c in mine if c.get("status") == "ok"]
        row["n_hparams"] = next((c["n_hparams"] for c in ok if "n_hparams" in c), None)
        row["weight_bytes"] = next((c["weight_bytes"] for c in ok if "weight_bytes" in c), None)
        if is_derived:  # the GAN's fields plus the sampler's (DDLS is the only derived sampler)
            from genzoo.sampling.ddls import DDLSConfig

            row["n_hparams"] = (row["n_hparams"] or 0) + len(dataclasses.fields(DDLSConfig))
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------- capabilities
def classify(caps: list[str]) -> dict[str, str]:
    """The explicit/implicit-density and likelihood-kind columns from declared capabilities.

    density: ``explicit`` when the model writes p(x) down (``log_prob``, ``log_prob_estimate``,
    ``elbo`` — a latent-variable p(x) = ∫ p(x|z) p(z) dz — or ``energy``, p ∝ exp(−E)), else
    ``implicit`` (only a sampler). likelihood: ``exact`` (``log_prob``), else ``estimate``
    (``log_prob_estimate``), else ``bound`` (``elbo``, or ``log_joint`` with a proposal: IWAE), else
    ``unnormalised`` (``energy``: exact up to log Z, intractable beyond low dimensions), else
    ``intractable``.
    """
    s = set(caps)
    explicit = bool(s & {"log_prob", "log_prob_estimate", "elbo", "energy"})
    if "log_prob" in s:
        ll = "exact"
    elif "log_prob_estimate" in s:
        ll = "estimate"
    elif "elbo" in s or {"log_joint", "proposal"} <= s:
        ll = "bound"
    elif "energy" in s:
        ll = "unnormalised"
    else:
        ll = "intractable"
    latent = "yes" if s & {"encode", "decode", "proposal", "log_joint"} else "—"
    return {"density": "explicit" if explicit else "implicit", "likelihood": ll, "inference": latent}


def capability_table(models: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every registered model (or ``models``: name → class) with its capabilities and classification."""
    from genzoo.models import MODELS, capabilities

    items = models.items() if models is not None else MODELS.items()
    rows = []
    for name, cls in items:
        caps = capabilities(cls)
        rows.append({"model": name, "capabilities": caps, **classify(caps),
                     "summary": (cls.__doc__ or name).strip().splitlines()[0]})
    return sorted(rows, key=lambda r: r["model"])


# ---------------------------------------------------------------------------------- binarised MNIST
#: The image part of the zoo (``--set grids=mnist``): binarised MNIST (stochastic binarisation, fixed by the
#: data seed), a 10 000-image training subset; FID/KID/precision/recall on genzoo's own classifier features
#: (:mod:`genzoo.metrics.image`) against held-out test images, and the labelled test log-likelihood.
MNIST_DATA: dict[str, Any] = {"name": "binarized_mnist", "n": 10000, "seed": 0}

#: (label, family, model, config values). Defaults otherwise. The RBM has 16 hidden units so that its
#: log Z is exact (2^16 hidden configurations enumerated) and the likelihood column is exact, not AIS.
#: Left out for time on the shared 2-core CPU machine (batch 64, conv nets): IWAE (k = 5) trained at 0.56–0.60
#: steps/s against the VAE's 5–8, so 300 steps × 2 seeds plus its K-sample test bound would take most of the
#: ~25-minute quick budget; the EBM (short-run Langevin on 784 pixels at every step) was not timed.
MNIST_ZOO: list[tuple[str, str, str, dict[str, Any]]] = [
    ("VAE", "VAE", "vae", {}),
    ("RBM (16 hidden)", "Boltzmann", "rbm", {"visible": "bernoulli", "n_hidden": 16}),
    ("GAN (DCGAN nets)", "GAN", "gan", {}),
]

#: Budgets of the image part: train values shared by every run; ``n_fid`` samples vs as many held-out
#: images for FID/KID/PR (FID is biased upward at small n: compare only at equal n); ``n_test`` held-out
#: images for log-likelihoods; ``iw_k`` importance samples of the IWAE bound.
MNIST_BUDGETS: dict[str, dict[str, Any]] = {
    "full": {"train": {"steps": 5000, "batch_size": 64, "log_every": 100, "sample_every": 0, "checkpoint_every": 5000,
                       "n_eval": 500, "threads": 1, "device": "cpu", "progress": False},
             "seeds": [0, 1, 2], "n_fid": 10000, "n_test": 10000, "iw_k": 1000},
    "quick": {"train": {"steps": 300, "batch_size": 64, "log_every": 50, "sample_every": 0, "checkpoint_every": 300,
                        "n_eval": 100, "threads": 1, "device": "cpu", "progress": False},
              "seeds": [0, 1], "n_fid": 1000, "n_test": 1000, "iw_k": 100},
}
MNIST_VERSION = 1


def bernoulli_null(train: Tensor) -> Tensor:
    """Independent-Bernoulli pixel probabilities fitted to the training images (Laplace-smoothed: (Σx + 1)/(N + 2),
    so no test pixel has probability 0)."""
    flat = train.double().reshape(len(train), -1)
    return (flat.sum(0) + 1.0) / (flat.shape[0] + 2.0)


def bernoulli_log_prob(p: Tensor, x: Tensor) -> Tensor:
    """Exact log p(x) = Σ_i x_i log p_i + (1 − x_i) log(1 − p_i) per image, in nats."""
    flat = x.double().reshape(len(x), -1)
    return flat @ p.log() + (1.0 - flat) @ (1.0 - p).log()


def _mnist_feature_scores(reference: Tensor, fakes: Tensor, net: Any) -> dict[str, float]:
    from genzoo.metrics.image import image_metrics

    m = image_metrics(reference, fakes.float().clamp(0, 1), seed=0, net=net)
    return {k: float(m[k]) for k in ("fid", "kid", "precision", "recall", "density", "coverage") if k in m}


def _train_seconds(run_dir: Path) -> float:
    """Training seconds from the trainer's logged speed (evaluation time excluded), as :func:`training_curve`."""
    from genzoo.files import METRICS, read_metrics

    records, _ = read_metrics(run_dir / METRICS)
    seconds, last = 0.0, 0
    for r in records:
        if r.get("steps_per_s"):
            seconds += (int(r["step"]) - last) / float(r["steps_per_s"])
            last = int(r["step"])
    return seconds


def run_mnist(out: Path, quick: bool, zoo: list | None = None, budgets: dict | None = None,
              data: dict | None = None) -> dict[str, Any]:
    """Train every model of :data:`MNIST_ZOO` on binarised MNIST for each seed (resumable per run: a scored run is
    cached in ``OUT/mnist/scores``), score samples and likelihoods, score the nulls the same way; write
    ``OUT/mnist/mnist.json`` and return it."""
    import hashlib
    import shutil

    from genzoo import data as data_module
    from genzoo import run
    from genzoo.metrics.features import load_classifier

    zoo, budgets, data = zoo or MNIST_ZOO, budgets or MNIST_BUDGETS, data or MNIST_DATA
    budget = budgets["quick" if quick else "full"]
    mdir = Path(out) / "mnist"
    (mdir / "scores").mkdir(parents=True, exist_ok=True)
    ident = json.dumps({"version": MNIST_VERSION, "data": data, "budget": budget}, sort_keys=True)
    ds = data_module.load(data["name"], **{k: v for k, v in data.items() if k != "name"})
    reference = ds.fresh(budget["n_fid"], torch.Generator().manual_seed(20_240_607)).float().cpu()
    x_test = ds.test_x[: budget["n_test"]].float().cpu()
    net = load_classifier()
    cells = []
    for label, family, model_name, values in zoo:
        for seed in budget["seeds"]:
            cell_id = f"{run.check_name(_cell_slug(label))}_s{seed}"
            key = hashlib.sha256((ident + json.dumps([model_name, values, seed], sort_keys=True)).encode()).hexdigest()
            cache = mdir / "scores" / f"{cell_id}.json"
            if cache.is_file() and json.loads(cache.read_text()).get("key") == key:
                cells.append(json.loads(cache.read_text()))
                continue
            entry: dict[str, Any] = {"key": key, "id": cell_id, "label": label, "family": family, "model": model_name,
                                     "set": values, "seed": seed}
            run_dir = mdir / "runs" / cell_id
            if run_dir.exists():  # an unfinished or stale run: train it again from scratch
                shutil.rmtree(run_dir)
            sets = [f"{k}={v}" for k, v in budget["train"].items()] + [f"seed={seed}"]
            sets += [f"data.{k}={v}" for k, v in data.items() if k != "name"] + [f"{k}={v}" for k, v in values.items()]
            try:
                start = time.perf_counter()
                run.train(run.resolve(model_name, data["name"], sets=sets), runs_root=mdir / "runs", name=cell_id)
                entry["wall_seconds"] = time.perf_counter() - start
                entry["train_seconds"] = _train_seconds(run_dir)
                model, _ = run.load(run_dir)
                model.eval()
                torch.manual_seed(seed)
                start = time.perf_counter()
                with torch.no_grad():
                    fakes = model.sample(budget["n_fid"]).detach().float().cpu()
                entry["sample_seconds"] = time.perf_counter() - start
                entry.update(_mnist_feature_scores(reference, fakes, net))
                start = time.perf_counter()
                entry.update(likelihood(model, ds, x_test, budget["iw_k"], 0))
                entry["ll_seconds"] = time.perf_counter() - start
                entry["weight_bytes"] = weight_bytes(model)
                entry["n_hparams"] = n_hyperparameters(model_name)
                entry["status"] = "ok"
                torch.save(fakes[:64].clone(), mdir / "scores" / f"{cell_id}.samples.pt")
            except Exception as e:  # noqa: BLE001 - one failed run must not lose the table
                entry["status"] = failure_status({"kind": type(e).__name__, "error": str(e)})
                entry["error"] = f"{type(e).__name__}: {e}"[:300]
            _write_json(cache, entry)
            cells.append(entry)
            print(f"zoo/mnist: {cell_id} {entry.get('status')} fid={entry.get('fid', float('nan')):.2f} "
                  f"ll={entry.get('ll', float('nan')):.2f} ({entry.get('ll_kind', '-')})", flush=True)
    # nulls, scored by the same rules: held-out real images (the FID floor at this n) and independent Bernoulli pixels
    g = torch.Generator().manual_seed(1)
    real = ds.x[torch.randperm(len(ds.x), generator=g)[: budget["n_fid"]]].float().cpu()
    p = bernoulli_null(ds.x)
    bern = torch.bernoulli(p.expand(budget["n_fid"], -1), generator=g).float().reshape(-1, *ds.x.shape[1:])
    ll, se = _mean_se(bernoulli_log_prob(p, x_test))
    nulls = [{"null": "data (training images)", **_mnist_feature_scores(reference, real, net)},
             {"null": "independent Bernoulli pixels", **_mnist_feature_scores(reference, bern, net), "ll": ll, "ll_se": se,
              "ll_kind": "exact"}]
    torch.save(bern[:64].clone(), mdir / "scores" / "null_bernoulli.samples.pt")
    result = {"version": MNIST_VERSION, "quick": quick, "data": data, "budget": budget, "ll_kinds": LL_KINDS,
              "zoo": [{"label": lab, "family": fam, "model": m, "set": s} for lab, fam, m, s in zoo],
              "cells": cells, "nulls": nulls}
    _write_json(mdir / "mnist.json", result)
    return result


def _cell_slug(label: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


# ---------------------------------------------------------------------------------- the benchmark
def run_zoo(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None,
            zoo: list | None = None, data: list | None = None, budgets: dict | None = None) -> Path:
    """Train both grids (resumable), score every cell, write ``zoo.json`` and the report."""
    from genzoo.bench import suite
    from genzoo.bench.zoo_report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    zoo, data, budgets = zoo or ZOO, data or DATA, budgets or BUDGETS
    options = dict(options or {})
    grids = options.pop("grids", "main,lr").split(",")
    for which in grids:
        if which not in ("main", "lr", "mnist"):
            raise GenzooError(f"invalid value grids={which!r}: expected a comma-separated subset of main, lr, mnist")
    if "mnist" in grids:
        from genzoo.bench.zoo_report import write_mnist_report

        start = time.perf_counter()
        result = run_mnist(out, quick)
        write_mnist_report(out / "mnist", result, time.perf_counter() - start)
        print(f"zoo: binarised MNIST in {time.perf_counter() - start:.0f} s; report: {out / 'mnist' / 'mnist.md'}")
        grids = [g for g in grids if g != "mnist"]
        if not grids:
            return out
    start = time.perf_counter()
    for which in ("main", "lr"):
        if which not in grids:
            continue
        spec_path = out / f"zoo-{which}.toml"
        spec_path.write_text(spec_text(which, zoo, data, budgets))
        try:
            suite.run_suite(spec_path, out / which, quick=quick, jobs=jobs, options=options)
        except GenzooError as e:
            if "cell(s) failed" not in str(e):
                raise
            print(f"zoo: {e}", flush=True)  # diverged/failed cells are counted in the report
    trained = time.perf_counter() - start
    result = score_all(out, quick, zoo, data, budgets)
    scored = time.perf_counter() - start - trained
    timing_path = out / "zoo_timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else {"invocations": []}
    timing["invocations"].append({"train_seconds": trained, "score_seconds": scored, "jobs": jobs, "quick": quick,
                                  "finished": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + " UTC"})
    _write_json(timing_path, timing)
    write_report(out, result, timing)
    print(f"zoo: trained in {trained:.0f} s, scored in {scored:.0f} s; report: {out / 'report.md'} and {out / 'report.html'}")
    return out


@benchmark("zoo")
def zoo_benchmark(out: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None) -> Path:
    """The zoo: every family on ring8, grid25 and moons, 3 seeds; sample quality, labelled likelihoods, usability
    (``--set grids=mnist``: a few image models on binarised MNIST, FID/KID/PR and labelled likelihoods)."""
    return run_zoo(out, quick=quick, jobs=jobs, options=options)
