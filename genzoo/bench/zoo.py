"""The zoo: a representative of every family on the same 2-D data, one metric suite, and how usable each is.

``genzoo bench zoo [--quick] [--set grids=main,lr,mnist] [--jobs N] [--time-limit S]`` — one cell per run:

* **main** grid: every model of :data:`ZOO` on every data set of :data:`DATA` for each of ``seeds``, under
  one budget (the options: the same steps, batch and evaluation schedule for every model, one torch thread);
  **lr** grid: every model again on :data:`LR_DATA` with each of its learning rates × 1/3 and × 3
  (``lr_seeds``). A cell trains through the trainer (:func:`genzoo.bench.suite.run_cell`, into
  ``OUT/runs/<cell>``: ``--time-limit`` stops it at a checkpoint, the next call resumes it) and then
  scores its run, so its record holds every number the report uses:

  * sample quality — modes, high-quality share (Euclidean 3σ rule) and exact W1 of the last
    training-time evaluation (``n_eval`` samples vs as many fresh data points);
  * (main grid) test log-likelihood on one fixed held-out set per data set (:func:`test_points`,
    ``n_test`` points), labelled by how it was obtained (:data:`LL_KINDS`: exact, AIS, IWAE bound with
    ``iw_k`` samples and the ELBO beside it, or an energy normalised on a ``grid_bins``² grid over
    :func:`box`), against the data's exact entropy estimated on the same points;
  * usability — the evaluations over training with the training seconds at each (:func:`training_curve`),
    the weights' bytes and the Config's number of fields; a run stopped by NaN/Inf counts as *diverged*;
  * the rows of :data:`DERIVED` ("GAN + DDLS": the GAN's generator and discriminator sampled by
    genzoo's ``ddls`` sampler, defaults) are scored inside their source run's cell.

* one **nulls** cell per data set: the suite's sample-quality nulls (data, one Gaussian fit, uniform box,
  uniform circle; same seeds and n) and their log-likelihoods on the held-out points.
* **mnist** (``--set grids=mnist``): :data:`MNIST_ZOO` on binarised MNIST under :data:`MNIST_BUDGETS`
  (fixed per budget), scored by FID/KID/precision/recall on genzoo's classifier features against held-out
  test images and the labelled test log-likelihood, beside two nulls (held-out real images; independent
  Bernoulli pixels fitted to the training set, exact likelihood).

Budgets are the options (``--set steps=…``; ``models=gan,vae`` keeps those rows of :data:`ZOO`). The full
budget is v1's. ``--quick`` was cut in v2 to finish in minutes on two shared cores (issue 24): 60 steps with
evaluations every 30 (was 150 and 50), of 200 samples (was 300), seed 0 only (was 0, 1, 2), 500 held-out points
(was 1000), IWAE K = 100 (was 200), a 200² grid (was 300²); the report's protocol states it.

Report (:mod:`genzoo.bench.zoo_report`, from the records only): ``OUT/zoo.json`` (every number, per cell),
``OUT/report.md``, a self-contained ``OUT/report.html``, ``OUT/figures/``; ``OUT/mnist/mnist.json``,
``mnist.md`` and ``mnist_samples.png``. ``grids`` selects cells and is not part of the identity, so the
grids can be run into one directory one after another. Wall-clock numbers are those of the machine that
ran the cells: compare them within one report only.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genzoo.bench import experiment
from genzoo.bench.engine import RUNS, Cell, CellContext, Experiment, Interrupted, Option, Options, slug
from genzoo.errors import DivergenceError, GenzooError
# the likelihood of energy models is genzoo eval's (one implementation): grid normalisation for 2-D energies
# and its nulls, AIS for a fully visible BM too large to enumerate
from genzoo.metrics.energy_likelihood import BOX_SIGMAS, box, grid_log_z  # noqa: F401 (re-exported)
from genzoo.metrics.energy_likelihood import mean_se as _mean_se
from genzoo.metrics.energy_likelihood import null_log_likelihoods as null_likelihoods

# ---------------------------------------------------------------------------------- the protocol
#: 2-D mixtures with an exact density. The ring's σ is 0.05 (the mode-collapse suite uses 0.01): at 0.01 no
#: likelihood model of any family places a sample within 3σ in a CPU budget, and the grid would need more bins.
DATA: list[dict[str, Any]] = [
    {"name": "ring8", "n": 50000, "modes": 8, "radius": 1.0, "std": 0.05, "seed": 0},
    {"name": "grid25", "n": 50000, "side": 5, "spacing": 2.0, "std": 0.05, "seed": 0},
    {"name": "moons", "n": 50000, "components": 200, "noise": 0.05, "seed": 0},
]

#: (label, family, model, config values, learning-rate fields); other values are the model's defaults. The
#: learning rates are written out (the defaults genzoo resolves on points) because the lr grid scales them.
#: The RBM has 16 hidden units so that its log Z is exact (2^16 hidden states enumerated).
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
LR_FACTORS: tuple[float, ...] = (1 / 3, 3.0)
LR_DATA = "ring8"
#: Train values every 2-D cell shares besides the budget options (``eval_share`` 1: every evaluation is made).
FIXED_TRAIN = {"threads": 1, "device": "cpu", "eval_share": 1.0}
TRAIN_OPTIONS = ("steps", "batch_size", "n_eval", "log_every", "sample_every", "checkpoint_every")

#: Usability thresholds: the first evaluation at which the model beats a null that knows nothing.
THRESHOLDS: dict[str, str] = {
    "w1_gauss": "W1 below the one-Gaussian null's W1",
    "hq_nulls": "high-quality share above every null's (uniform box, Gaussian, circle)",
}
LL_KINDS: dict[str, str] = {
    "exact": "exact log p(x) (log_prob)",
    "AIS": "AIS estimate of log p(x) ± its standard error (log_prob_estimate; a fully visible BM by genzoo eval's AIS)",
    "IWAE bound": "importance-weighted lower bound L_K (proposal + log_joint), E[L_K] ≤ log p(x)",
    "ELBO": "evidence lower bound (elbo)",
    "grid": "exp(−E) normalised by a Riemann sum on a grid over the data box (energy)",
}

#: Binarised MNIST: a 10 000-image training subset (stochastic binarisation fixed by the data seed).
MNIST_DATA: dict[str, Any] = {"name": "binarized_mnist", "n": 10000, "seed": 0}
#: (label, family, model, config values). Left out for time on the shared 2-core CPU machine (batch 64, conv
#: nets): IWAE (k = 5) trained at 0.56–0.60 steps/s against the VAE's 5–8; the EBM (Langevin on 784 pixels).
MNIST_ZOO: list[tuple[str, str, str, dict[str, Any]]] = [
    ("VAE", "VAE", "vae", {}),
    ("RBM (16 hidden)", "Boltzmann", "rbm", {"visible": "bernoulli", "n_hidden": 16}),
    ("GAN (DCGAN nets)", "GAN", "gan", {}),
]
#: ``n_fid`` samples vs as many held-out images for FID/KID/PR (biased upward at small n: compare at equal n);
#: ``n_test`` held-out images for log-likelihoods; ``iw_k`` importance samples of the IWAE bound.
MNIST_BUDGETS: dict[str, dict[str, Any]] = {
    "full": {"train": {"steps": 5000, "batch_size": 64, "log_every": 100, "sample_every": 0, "checkpoint_every": 5000,
                       "n_eval": 500, "threads": 1, "device": "cpu", "progress": False},
             "seeds": [0, 1, 2], "n_fid": 10000, "n_test": 10000, "iw_k": 1000},
    "quick": {"train": {"steps": 300, "batch_size": 64, "log_every": 50, "sample_every": 0, "checkpoint_every": 300,
                        "n_eval": 100, "threads": 1, "device": "cpu", "progress": False},
              "seeds": [0, 1], "n_fid": 1000, "n_test": 1000, "iw_k": 100},
}
MNIST_VERSION = 1


def lr_cell_label(label: str, factor: float) -> str:
    """The label of a learning-rate variant of ``label`` in the lr grid."""
    return f"{label} [lr ×{'1/3' if abs(factor - 1 / 3) < 1e-9 else f'{factor:g}'}]"


# ---------------------------------------------------------------------------------- scoring
def test_points(dataset: Any, n: int) -> Tensor:
    """The held-out points every log-likelihood of a data set is measured on (fixed seed, float32)."""
    return dataset.fresh(n, torch.Generator().manual_seed(20_240_607)).float().cpu()


def likelihood(model: Any, dataset: Any, x: Tensor, iw_k: int, bins: int) -> dict[str, Any]:
    """The model's test log-likelihood of ``x`` by the best means it declares, labelled (:data:`LL_KINDS`).

    ``ll`` (mean nats per point), ``ll_se`` (standard error over the points; for AIS the estimator's own
    error added in quadrature), ``ll_kind``; ``elbo`` beside an IWAE bound. Empty for implicit models.
    """
    from genzoo.metrics.energy_likelihood import bm_ais_likelihood, grid_log_likelihood, is_fully_visible_bm
    from genzoo.metrics.likelihood import has_bound, has_iw, iw_log_likelihood

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
            return {"ll": m["log_likelihood_ais"], "ll_se": m["log_z_std"], "ll_kind": "AIS"}
        if callable(getattr(model, "log_prob_estimate", None)):
            values, err = model.log_prob_estimate(x)
            mean, se = _mean_se(values)
            return {"ll": mean, "ll_se": math.sqrt(se**2 + float(err) ** 2), "ll_kind": "AIS"}
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


def _timeline(run_dir: Path) -> list[tuple[int, float, dict[str, Any]]]:
    """(step, cumulative training seconds, record) of every logged record: each log window of s steps at
    r steps/s adds s/r (evaluation time excluded)."""
    from genzoo.files import METRICS, read_metrics

    seconds, last, out = 0.0, 0, []
    for r in read_metrics(run_dir / METRICS)[0]:
        step = int(r["step"])
        if r.get("steps_per_s"):
            seconds += (step - last) / float(r["steps_per_s"])
            last = step
        out.append((step, seconds, r))
    return out


def training_curve(run_dir: Path) -> list[dict[str, float]]:
    """The evaluations over training with the cumulative training seconds at each."""
    return [{"step": step, "seconds": s, **{k: float(r[k]) for k in ("w1", "hq_share", "modes") if k in r}}
            for step, s, r in _timeline(run_dir) if "w1" in r]


def weight_bytes(model: Any) -> int:
    """Bytes of the model's weights (every tensor of its ``state_dict``: parameters and buffers)."""
    return int(sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, Tensor)))


def n_hyperparameters(model_name: str) -> int:
    """The number of fields of the model's Config (what a user may set)."""
    from genzoo.models import MODELS

    return len(dataclasses.fields(MODELS.get(model_name).Config))


def failure_status(failure: dict[str, Any]) -> str:
    """``diverged`` for a run stopped by the divergence guard or by another error about non-finite values
    (e.g. a distribution refusing a NaN parameter before the guard saw it); else ``failed``."""
    if failure.get("kind") == "DivergenceError":
        return "diverged"
    return "diverged" if re.search(r"\b(nan|inf)\b|invalid values|non-finite", str(failure.get("error", "")).lower()) else "failed"


def classify(caps: list[str]) -> dict[str, str]:
    """Density, likelihood-kind and inference columns from declared capabilities: density ``explicit`` when
    the model writes p(x) down (``log_prob``, ``log_prob_estimate``, ``elbo``, ``energy``), else ``implicit``;
    likelihood ``exact`` (log_prob) > ``estimate`` > ``bound`` (elbo, or proposal + log_joint) >
    ``unnormalised`` (energy) > ``intractable``."""
    s = set(caps)
    ll = next((kind for kind, ok in (("exact", "log_prob" in s), ("estimate", "log_prob_estimate" in s),
                                     ("bound", "elbo" in s or {"log_joint", "proposal"} <= s),
                                     ("unnormalised", "energy" in s)) if ok), "intractable")
    return {"density": "explicit" if s & {"log_prob", "log_prob_estimate", "elbo", "energy"} else "implicit",
            "likelihood": ll, "inference": "yes" if s & {"encode", "decode", "proposal", "log_joint"} else "—"}


def capability_table(models: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every registered model (or ``models``: name → class) with its capabilities and classification."""
    from genzoo.models import MODELS, capabilities

    rows = [{"model": name, "capabilities": capabilities(cls), **classify(capabilities(cls)),
             "summary": (cls.__doc__ or name).strip().splitlines()[0]}
            for name, cls in (models.items() if models is not None else MODELS.items())]
    return sorted(rows, key=lambda r: r["model"])


def bernoulli_null(train: Tensor) -> Tensor:
    """Independent-Bernoulli pixel probabilities fitted to the training images, Laplace-smoothed (Σx + 1)/(N + 2)."""
    flat = train.double().reshape(len(train), -1)
    return (flat.sum(0) + 1.0) / (flat.shape[0] + 2.0)


def bernoulli_log_prob(p: Tensor, x: Tensor) -> Tensor:
    """Exact log p(x) = Σ_i x_i log p_i + (1 − x_i) log(1 − p_i) per image, in nats."""
    flat = x.double().reshape(len(x), -1)
    return flat @ p.log() + (1.0 - flat) @ (1.0 - p).log()


def _load(d: dict[str, Any]) -> Any:
    from genzoo import data as data_module

    return data_module.load(d["name"], **{k: v for k, v in d.items() if k not in ("name", "label")})


def _failure(e: Exception) -> dict[str, Any]:
    """A failed training run as the record holds it (the engine's error text; diverged or failed)."""
    from genzoo.train import trainer

    if isinstance(e, (Interrupted, trainer.Stopped)):
        raise e
    kind = type(e).__name__
    error = str(e) if isinstance(e, (GenzooError, DivergenceError)) else f"{kind}: {e}"
    return {"status": failure_status({"kind": kind, "error": error}), "error": error[:300], "error_kind": kind}


# ---------------------------------------------------------------------------------- the experiment
@experiment
class Zoo(Experiment):
    """The zoo: every family on ring8, grid25 and moons; sample quality, labelled likelihoods, usability (``--set grids=mnist``: binarised MNIST)."""

    name = "zoo"
    version = 2
    options = {
        "grids": Option(("main", "lr"), meaning="which cells run (not part of the identity)", choices=("main", "lr", "mnist")),
        "steps": Option(3000, 60, "training steps of every 2-D run"),
        "batch_size": Option(256, 128, "batch size"),
        "n_eval": Option(2500, 200, "samples of each training-time evaluation (and of the nulls)"),
        "log_every": Option(50, 15, "steps between logged losses"),
        "sample_every": Option(250, 30, "steps between evaluations (the training curves)"),
        "checkpoint_every": Option(1000, 60, "steps between checkpoints"),
        "seeds": Option((0, 1, 2), (0,), "seeds of the main grid and of the nulls"),
        "lr_seeds": Option((0, 1, 2), (0,), "seeds of the learning-rate grid"),
        "n_test": Option(2500, 500, "held-out points per data set for log-likelihoods"),
        "iw_k": Option(1000, 100, "importance samples of the IWAE bound"),
        "grid_bins": Option(400, 200, "bins per axis of the grid normalisation of energies"),
        "models": Option("", meaning="comma-separated labels or model names of the 2-D zoo (empty: all)"),
    }

    def __init__(self, zoo: list | None = None, data: list | None = None, mnist_zoo: list | None = None) -> None:
        self.zoo, self.data, self.mnist_zoo = zoo or ZOO, data or DATA, mnist_zoo or MNIST_ZOO

    def chosen(self, o: Options) -> list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]]:
        """The rows of the 2-D zoo that ``models`` selects (labels or model names)."""
        wanted = {m.strip() for m in str(o.get("models", "")).split(",") if m.strip()}
        return [z for z in self.zoo if not wanted or z[0] in wanted or z[2] in wanted]

    def check(self, o: Options, quick: bool) -> None:
        unknown = {m.strip() for m in str(o.models).split(",") if m.strip()} - {z[0] for z in self.zoo} - {z[2] for z in self.zoo}
        if unknown:
            raise GenzooError(f"invalid value models={o.models!r}: {', '.join(sorted(unknown))} not in the zoo; valid: "
                              + ", ".join(z[2] for z in self.zoo) + " (or the labels)")

    def identity(self, o: Options, quick: bool, sets: dict[str, str]) -> dict[str, Any]:
        return super().identity(Options({k: v for k, v in o.items() if k != "grids"}), quick, sets)

    def budget(self, o: Options) -> dict[str, Any]:
        return {"train": {**{k: o[k] for k in TRAIN_OPTIONS}, **FIXED_TRAIN}, "seeds": list(o.seeds),
                "lr_seeds": list(o.lr_seeds), "n_test": o.n_test, "iw_k": o.iw_k, "grid_bins": o.grid_bins}

    def grid(self, which: str, o: Options) -> list[dict[str, Any]]:
        """The suite cells (id, label, model, data, seed, steps, sets) of the main or lr grid."""
        from genzoo.bench import suite

        if which == "main":
            models = [{"label": lab, "model": m, "set": s} for lab, _, m, s, _ in self.chosen(o)]
            data, seeds = self.data, o.seeds
        else:
            models = [{"label": lr_cell_label(lab, f), "model": m, "set": {**s, **{k: float(f"{s[k] * f:.6g}") for k in lrs}}}
                      for lab, _, m, s, lrs in self.chosen(o) for f in LR_FACTORS]
            data, seeds = [d for d in self.data if d["name"] == LR_DATA], o.lr_seeds
        spec = {"name": f"zoo-{which}", "train": self.budget(o)["train"], "seeds": list(seeds), "models": models, "data": data}
        return [{**c, "grid": which} for c in suite.cells(spec, False, {})]

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        from genzoo.bench import suite

        grids = o.get("grids") or ("main", "lr", "mnist")  # an output's own options (rerender, verify) hold every grid
        out = []
        for which in ("main", "lr"):
            if which in grids:
                out += [Cell(c["id"], c, c["seed"], priority=c["seed"] + (0.5 if which == "lr" else 0), cost=c["steps"])
                        for c in self.grid(which, o)]
        if "main" in grids:
            out += [Cell(slug("nulls", suite.data_label(d)), {"grid": "nulls", "data": d}, 0, priority=-1, cost=10, baseline=True) for d in self.data]
        if "mnist" in grids:
            budget = MNIST_BUDGETS["quick" if quick else "full"]
            out += [Cell(f"mnist__{slug(re.sub(r'[^a-z0-9]+', '-', lab.lower()).strip('-'))}_s{seed}",
                         {"grid": "mnist", "label": lab, "family": fam, "model": m, "set": s}, seed, 10 + seed, budget["train"]["steps"])
                    for lab, fam, m, s in self.mnist_zoo for seed in budget["seeds"]]
            out.append(Cell("mnist__nulls", {"grid": "mnist-nulls"}, 0, priority=10, baseline=True))
        return out

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        p = cell.params
        if p["grid"] == "nulls":
            return self.nulls(p["data"], o)
        if p["grid"].startswith("mnist"):
            return mnist_cell(p, cell.seed, ctx)
        from genzoo import run
        from genzoo.bench import suite

        try:
            r = suite.run_cell(p, str(ctx.out), 0)
        except Exception as e:  # noqa: BLE001 - a diverged run is a result: the report counts it
            return _failure(e)
        out: dict[str, Any] = {"status": "ok", "seconds": r["seconds"], **{k: r[k] for k in ("modes", "hq_share", "w1", "steps_per_s") if k in r}}
        model, config = run.load(ctx.run_dir)
        out.update(weight_bytes=weight_bytes(model), n_hparams=n_hyperparameters(config["model"]),
                   checkpoint_bytes=(ctx.run_dir / "checkpoint.safetensors").stat().st_size)
        d = next(d for d in self.data if d["name"] == p["data"] and suite.data_label(d) == p["data_label"])
        dataset = _load(d)
        try:
            start = time.perf_counter()
            if p["grid"] == "main":
                out.update(likelihood(model, dataset, test_points(dataset, o.n_test), o.iw_k, o.grid_bins))
            out["ll_seconds"] = time.perf_counter() - start
        except Exception as e:  # noqa: BLE001 - one unscorable run must not lose the table
            out["score_error"] = f"{type(e).__name__}: {e}"
        curve = training_curve(ctx.run_dir)  # its seconds apart: timings are not compared by `bench verify`
        out["curve"] = [{k: v for k, v in c.items() if k != "seconds"} for c in curve]
        out["curve_seconds"] = [c["seconds"] for c in curve]
        for _, _, source, sampler in DERIVED if p["grid"] == "main" else []:
            if p["label"] == source:
                out.update({f"{sampler}_{k}": v for k, v in ddls_scores(model, config, dataset).items()})
        return out

    def nulls(self, d: dict[str, Any], o: Options) -> dict[str, Any]:
        """The sample-quality nulls (same seeds, ``n_eval`` points) and likelihood nulls of one data set."""
        from genzoo.bench import suite
        from genzoo.metrics.null_baselines import score_nulls

        dataset = _load(d)
        quality = []
        if dataset.kind == "points" and getattr(dataset.density, "means", None) is not None:
            rows = [{**r, "label": r["null"], "data_label": suite.data_label(d)} for r in score_nulls(dataset, sorted(o.seeds), o.n_eval)]
            quality = suite.summarise(rows, ["modes", "hq_share", "w1"])
        return {"quality": quality, "likelihood": null_likelihoods(dataset, test_points(dataset, o.n_test), o.grid_bins),
                "n_test": o.n_test}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        from genzoo.bench import zoo_report
        from genzoo.files import write_json_atomic

        mnist = [r for r in records if r["params"]["grid"].startswith("mnist")]
        if mnist:
            zoo_report.write_mnist_report(Path(out) / "mnist", mnist_result(mnist, quick, self.mnist_zoo), Path(out) / RUNS)
        if any(r["params"]["grid"] in ("main", "lr") for r in records):
            result = self.result(records, o, quick)
            write_json_atomic(Path(out) / "zoo.json", result, default=float)  # numpy scalars as floats
            zoo_report.write_report(Path(out), result)

    def result(self, records: list[dict[str, Any]], o: Options, quick: bool) -> dict[str, Any]:
        """``zoo.json``: every cell of the main and lr grids (missing ones marked), the derived rows, nulls, usability."""
        from genzoo.bench import suite, zoo_report

        ident = self.identity(o, quick, {})
        by_id = {r["id"]: r["metrics"] for r in records}
        zoo = self.chosen(o)
        derived = [d for d in DERIVED if d[2] in {z[0] for z in zoo}]
        grids = {}
        for which in ("main", "lr"):
            cells = []
            for c in self.grid(which, o):
                m = by_id.get(c["id"], {"status": "missing"})
                entry = {**{k: c[k] for k in ("id", "label", "model", "data_label", "seed", "steps")},
                         **{k: v for k, v in m.items() if k != "curve_seconds" and not k.startswith(tuple(f"{d[3]}_" for d in DERIVED))}}
                if "curve" in m:
                    entry["curve"] = [{"step": c_["step"], "seconds": s, **c_} for c_, s in zip(m["curve"], m["curve_seconds"])]
                cells.append(entry)
            if which == "main" or any(c["id"] in by_id for c in self.grid(which, o)):
                grids[which] = {"ident": ident, "cells": cells}
        derived_cells = []
        for label, _, source, sampler in derived:
            for c in grids.get("main", {}).get("cells", []):
                if c["label"] != source:
                    continue
                entry = {**{k: c[k] for k in ("data_label", "seed", "steps", "model")}, "label": label, "id": f"{c['id']}__{sampler}",
                         "source": source, "status": c["status"]}
                if c["status"] == "ok":
                    entry.update(seconds=c.get("seconds"), curve=c.get("curve", []),
                                 **{k: c[k] for k in ("weight_bytes", "n_hparams", "checkpoint_bytes")},
                                 **{k[len(sampler) + 1:]: v for k, v in by_id[c["id"]].items() if k.startswith(f"{sampler}_")})
                derived_cells.append(entry)
        nulls = {suite.data_label(d): by_id[slug("nulls", suite.data_label(d))] for d in self.data
                 if slug("nulls", suite.data_label(d)) in by_id}
        result = {"version": self.version, "quick": quick, "budget": self.budget(o),
                  "families": {z[0]: z[1] for z in zoo} | {d[0]: d[1] for d in derived},
                  "models": {z[0]: z[2] for z in zoo} | {d[0]: z[2] for d in derived for z in zoo if z[0] == d[2]},
                  "zoo": [{"label": lab, "family": fam, "model": m, "set": s, "lr_fields": list(lr)} for lab, fam, m, s, lr in zoo],
                  "derived": [{"label": lab, "family": fam, "source": src, "sampler": smp} for lab, fam, src, smp in derived],
                  "lr_factors": list(LR_FACTORS), "lr_data": LR_DATA, "thresholds": THRESHOLDS, "ll_kinds": LL_KINDS,
                  "box_sigmas": BOX_SIGMAS, "grids": grids, "derived_cells": derived_cells, "nulls": nulls,
                  "capabilities": capability_table()}
        result["usability"] = zoo_report.usability(result)
        return result


def ddls_scores(model: Any, config: dict[str, Any], dataset: Any) -> dict[str, Any]:
    """The GAN's samples drawn by DDLS (Langevin in z, defaults) scored like the runs (modes, hq_share, W1)."""
    from genzoo.metrics.evaluate import evaluate
    from genzoo.sampling.ddls import DDLS, DDLSConfig

    try:
        n = int(config["train"].n_eval or 2500)
        torch.manual_seed(0)
        start = time.perf_counter()
        samples = DDLS.from_model(model, DDLSConfig(), data=dataset.x).sample(n).detach().float().cpu()
        out: dict[str, Any] = {"sample_seconds": time.perf_counter() - start}
        with torch.no_grad():
            metrics = evaluate(model, dataset, seed=0, samples=samples, n=n)
        return {**out, **{k: float(metrics[k]) for k in ("modes", "hq_share", "w1") if k in metrics}, "sampler": "ddls"}
    except Exception as e:  # noqa: BLE001
        return {"score_error": f"{type(e).__name__}: {e}"}


# ---------------------------------------------------------------------------------- binarised MNIST
def _feature_scores(reference: Tensor, fakes: Tensor, net: Any) -> dict[str, float]:
    from genzoo.metrics.image import image_metrics

    m = image_metrics(reference, fakes.float().clamp(0, 1), seed=0, net=net)
    return {k: float(m[k]) for k in ("fid", "kid", "precision", "recall", "density", "coverage") if k in m}


def mnist_cell(p: dict[str, Any], seed: int, ctx: CellContext) -> dict[str, Any]:
    """One MNIST run trained and scored (FID/KID/PR vs held-out images, labelled likelihood), or the two nulls."""
    from genzoo import run
    from genzoo.bench import engine
    from genzoo.bench.zoo_report import SAMPLES
    from genzoo.metrics.features import load_classifier

    b = MNIST_BUDGETS["quick" if ctx.quick else "full"]
    ds = _load(MNIST_DATA)
    reference = ds.fresh(b["n_fid"], torch.Generator().manual_seed(20_240_607)).float().cpu()
    x_test, net = ds.test_x[: b["n_test"]].float().cpu(), load_classifier()
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    if p["grid"] == "mnist-nulls":  # held-out real images (the FID floor at this n) and independent Bernoulli pixels
        g = torch.Generator().manual_seed(1)
        real = ds.x[torch.randperm(len(ds.x), generator=g)[: b["n_fid"]]].float().cpu()
        pix = bernoulli_null(ds.x)
        bern = torch.bernoulli(pix.expand(b["n_fid"], -1), generator=g).float().reshape(-1, *ds.x.shape[1:])
        ll, se = _mean_se(bernoulli_log_prob(pix, x_test))
        torch.save(bern[:64].clone(), ctx.run_dir / SAMPLES)
        return {"nulls": [{"null": "data (training images)", **_feature_scores(reference, real, net)},
                          {"null": "independent Bernoulli pixels", **_feature_scores(reference, bern, net), "ll": ll,
                           "ll_se": se, "ll_kind": "exact"}]}
    sets = [f"{k}={v}" for k, v in b["train"].items()] + [f"seed={seed}"]
    sets += [f"data.{k}={v}" for k, v in MNIST_DATA.items() if k != "name"] + [f"{k}={v}" for k, v in p["set"].items()]
    out: dict[str, Any] = {}
    try:
        start = time.perf_counter()
        engine.train(ctx, run.resolve(p["model"], MNIST_DATA["name"], sets=sets))
        out.update(wall_seconds=time.perf_counter() - start, train_seconds=(_timeline(ctx.run_dir) or [(0, 0.0, {})])[-1][1])
        model, _ = run.load(ctx.run_dir)
        model.eval()
        torch.manual_seed(seed)
        start = time.perf_counter()
        with torch.no_grad():
            fakes = model.sample(b["n_fid"]).detach().float().cpu()
        out["sample_seconds"] = time.perf_counter() - start
        out.update(_feature_scores(reference, fakes, net))
        start = time.perf_counter()
        out.update(likelihood(model, ds, x_test, b["iw_k"], 0))
        out.update(ll_seconds=time.perf_counter() - start, weight_bytes=weight_bytes(model),
                   n_hparams=n_hyperparameters(p["model"]), status="ok")
        torch.save(fakes[:64].clone(), ctx.run_dir / SAMPLES)
    except Exception as e:  # noqa: BLE001 - one failed run must not lose the table
        f = _failure(e)
        out.update(status=f["status"], error=f"{f['error_kind']}: {e}"[:300])
    return out


def mnist_result(records: list[dict[str, Any]], quick: bool, zoo: list) -> dict[str, Any]:
    """``mnist.json`` from the MNIST records (cells in grid order, then the nulls)."""
    cells = [{"id": r["id"].removeprefix("mnist__"), **{k: r["params"][k] for k in ("label", "family", "model", "set")},
              "seed": r["seed"], **r["metrics"], "cell": r["id"]} for r in records if r["params"]["grid"] == "mnist"]
    nulls = next((r["metrics"]["nulls"] for r in records if r["params"]["grid"] == "mnist-nulls"), [])
    return {"version": MNIST_VERSION, "quick": quick, "data": MNIST_DATA, "budget": MNIST_BUDGETS["quick" if quick else "full"],
            "ll_kinds": LL_KINDS, "zoo": [{"label": lab, "family": fam, "model": m, "set": s} for lab, fam, m, s in zoo],
            "cells": cells, "nulls": nulls, "seconds": sum(r.get("seconds", 0.0) for r in records if r["params"]["grid"].startswith("mnist"))}
