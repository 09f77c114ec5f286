"""ALI and BiGAN: does the encoder learn the data's content? Reconstruction class, linear probe, 2-D modes.

Protocol (pinned here; options change it with ``--set KEY=VALUE``):

**MNIST** (per model ∈ {ali, bigan} and seed): train on ``n`` MNIST training images for ``steps``
updates (DCGAN networks of ``width`` channels, batch 64, each model's paper defaults otherwise),
then on the first ``n_test`` test images:

* *reconstruction keeps the class*: genzoo's MNIST classifier (``genzoo.metrics.features``) gives
  G(E(x)) the digit of x. Null row, same rule: G(z) for z drawn from the prior (≈ 0.1);
* *linear probe* (BiGAN's feature-learning claim): multinomial logistic regression
  (scikit-learn, C = 1, standardised features) fitted on E(x) of ``n_probe`` training images,
  accuracy on the test images. Reference rows under the same probe: the same architecture's
  encoder at initialisation (same seed, no training) and raw pixels.

**2-D mixtures**: ALI, BiGAN and the non-saturating GAN trained under the mode-collapse suite's
protocol (``genzoo/bench/specs/mode-collapse.toml``: ring8 and grid25, batch 512, z ∈ R^256,
MLPs 2×128, lr_G 1e-3, lr_D 1e-4, 2 500 samples, Euclidean 3σ rule, null baselines scored the
same way) — the suite ``genzoo bench ali-modes``, which keeps the mode-collapse protocol and
replaces only its model list (``--set steps=…``: protocol 5 000; ``--quick``: 1 000, one seed).
VEEGAN's Table 1 rows for ALI and the GAN on the 2D Ring and 2D Grid are copied beside ours (their
networks and budgets; the same 3σ rule).

Outputs of ``genzoo bench ali-features`` in OUT: ``ali_features.csv/json`` and ``summary.md``,
``recon_<model>_seed<s>.png`` (row pairs: test images, their reconstructions G(E(x))) and the
training runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genzoo.bench import experiment, mean_std, write_results
from genzoo.bench.engine import Cell, CellContext, Experiment, Option, Options, slug, train
from genzoo.bench.suite import derived_benchmark

MODE_MODELS = """
[[models]]
label = "ALI"
model = "ali"
set = { z_dim = 256, hidden = 128, depth = 2, lr_g = 1e-3, lr_d = 1e-4 }

[[models]]
label = "BiGAN"
model = "bigan"
set = { z_dim = 256, hidden = 128, depth = 2, lr_g = 1e-3, lr_d = 1e-4 }
note = "BiGAN's uniform prior on [-1, 1]^256"

[[models]]
label = "GAN (non-saturating)"
model = "gan"
set = { objective = "nonsaturating", z_dim = 256, hidden = 128, depth = 2, lr_g = 1e-3, lr_d = 1e-4 }
note = "the same run's reference: no encoder"

[[published]]
label = "GAN"
data = "ring8"
metric = "modes"
value = 1.0
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"

[[published]]
label = "GAN"
data = "ring8"
metric = "hq_share"
value = 0.993
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"
note = "printed as 99.3 %"

[[published]]
label = "ALI"
data = "ring8"
metric = "modes"
value = 2.8
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"

[[published]]
label = "ALI"
data = "ring8"
metric = "hq_share"
value = 0.0013
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"
note = "printed as 0.13 %"

[[published]]
label = "GAN"
data = "grid25"
metric = "modes"
value = 3.3
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Grid"

[[published]]
label = "GAN"
data = "grid25"
metric = "hq_share"
value = 0.005
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Grid"
note = "printed as 0.5 %"

[[published]]
label = "ALI"
data = "grid25"
metric = "modes"
value = 15.8
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Grid"

[[published]]
label = "ALI"
data = "grid25"
metric = "hq_share"
value = 0.016
source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Grid"
note = "printed as 1.6 %"
"""


def _probe(f_train: Tensor, y_train: Tensor, f_test: Tensor, y_test: Tensor) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0))
    clf.fit(f_train.flatten(1).numpy(), y_train.numpy())
    return float(clf.score(f_test.flatten(1).numpy(), y_test.numpy()))


@experiment
class AliFeatures(Experiment):
    """ALI/BiGAN on MNIST: reconstructions keep the digit, linear probe on E(x) (2-D modes: ``ali-modes``)."""

    name = "ali-features"
    options = {
        "seeds": Option((0, 1, 2), (0,), "one trained model per seed"),
        "models": Option(("ali", "bigan"), meaning="models with an encoder", choices=("ali", "bigan")),
        "n": Option(50_000, 6000, "MNIST training images"),
        "n_test": Option(2000, 1000, "test images scored"),
        "n_probe": Option(10_000, 3000, "training images the linear probe is fitted on"),
        "steps": Option(5000, 300, "updates of batch 64"),
        "width": Option(32, 16, "DCGAN channels"),
    }

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        trained = [Cell(slug(m, f"seed{s}"), {"model": m}, seed=s, priority=s, cost=o.steps) for m in o.models for s in o.seeds]
        return [Cell("raw_pixels", {}, priority=-1, cost=1, baseline=True), *trained]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        from genzoo import config, data, run
        from genzoo.metrics.features import classify
        from genzoo.models import MODELS, DataSpec
        from genzoo.viz.images import save_image_grid

        ds = data.load("mnist", n=o.n)
        x_test, y_test = ds.test_x[:o.n_test], ds.test_y[:o.n_test]
        x_probe, y_probe = ds.x[:o.n_probe], ds.y[:o.n_probe]
        if not cell.params:
            return {"rows": [{"method": "raw pixels", "seed": -1, "probe_acc": _probe(x_probe, y_probe, x_test, y_test)}]}
        name, seed = cell.params["model"], cell.seed
        sets = [f"model.width={o.width}", f"data.n={o.n}", f"train.seed={seed}", f"train.steps={o.steps}",
                "train.batch_size=64", "train.threads=1", "train.progress=false", "train.sample_every=0", "train.n_eval=500"]
        cfg = run.resolve(name, "mnist", sets=sets)
        t0 = time.perf_counter()
        run_dir, metrics = train(ctx, cfg)
        seconds = time.perf_counter() - t0
        model, _ = run.load(run_dir)
        torch.manual_seed(seed)
        cls = MODELS.get(name)
        untrained = cls(config.build(cls.Config, cfg["model_config"].__dict__), DataSpec.of(ds))  # the same seed's init
        digits = lambda t: classify(t.clamp(0, 1))[:, 0].argmax(-1)  # noqa: E731
        recon = model.reconstruct(x_test)
        k = 10
        save_image_grid(torch.cat([x_test[:k], recon[:k], x_test[k:2 * k], recon[k:2 * k]]), ctx.run_dir / "recon.png", nrow=k)
        return {"rows": [
            {"method": name, "seed": seed,
             "recon_class_acc": float((digits(recon) == y_test).float().mean()),
             "null_prior_sample_acc": float((digits(model.sample(o.n_test)) == y_test).float().mean()),
             "probe_acc": _probe(model.encode(x_probe), y_probe, model.encode(x_test), y_test),
             "recon_l1": float((recon - x_test).abs().mean()), "fid": metrics.get("fid", float("nan")),
             "train_seconds": seconds},
            {"method": f"{name} encoder at initialisation", "seed": seed,
             "probe_acc": _probe(untrained.encode(x_probe), y_probe, untrained.encode(x_test), y_test)}]}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        import shutil

        rows = [row for r in records for row in r["metrics"]["rows"]]
        for r in records:
            if r["params"]:
                shutil.copyfile(out / "runs" / r["id"] / "recon.png", out / f"recon_{r['params']['model']}_seed{r['seed']}.png")
        write_results(out, "ali_features", rows, protocol=dict(o), quick=quick,
                      seconds=sum(r["seconds"] for r in records), torch=torch.__version__)
        (out / "summary.md").write_text(_summary(rows))
        print(_summary(rows))


ali_modes = derived_benchmark(
    "ali-modes", "mode-collapse.toml",
    "ALI and BiGAN (and the non-saturating GAN) under the mode-collapse protocol: modes, high-quality share, exact W1",
    MODE_MODELS)


def _summary(rows: list[dict[str, Any]]) -> str:
    keys = ["recon_class_acc", "null_prior_sample_acc", "probe_acc", "recon_l1", "fid"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["method"], []).append(r)
    lines = ["| method | seeds | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for method, rs in groups.items():
        cells = []
        for k in keys:
            cells.append(mean_std([r[k] for r in rs if k in r]))
        seeds = ",".join(str(r["seed"]) for r in rs if r["seed"] >= 0) or "–"
        lines.append(f"| {method} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

