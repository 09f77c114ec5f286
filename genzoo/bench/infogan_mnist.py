"""Experiment 4: InfoGAN's categorical code recovers the digit class on MNIST (Chen et al. 2016, Sec. 7.1).

Protocol (pinned here; every value can be changed with ``--set KEY=VALUE``):

1. Train ``infogan`` on the MNIST training split (50 000 images) with the paper's latent code
   (z ∈ R^62, one 10-way categorical code, two Uniform(−1, 1) codes, λ = 1, fixed σ = 1) and its
   optimiser settings (Adam β1 = 0.5, lr 2e-4 for D/Q, 1e-3 for G). The paper's run is 50 epochs
   of 100 updates at batch 128 (5 000 updates) with a 64-channel DCGAN body; the CPU budget
   uses ``width=32``, batch 64 and ``steps`` updates (default 3 000; ``--quick``: 800, a smoke-sized run).
2. Classify each of the 10 000 *test* digits by ĉ(x) = argmax_c Q(c | x) (eval mode).
3. Accuracy = max over one-to-one maps π: codes → digits of (1/N) Σ 1[π(ĉ(x_n)) = y_n], found by
   the Hungarian algorithm on the 10 × 10 count matrix (``scipy.optimize.linear_sum_assignment``).
   Chance is ≈ 0.11 for a random map; the paper reports 5 % error (0.95) after full training.
4. Two diagnostics of where accuracy is lost. (a) Q on G's own samples: the share of 5 000
   generated images whose generating code Q recovers (no map: the code is known). (b) Q's
   batch-norm statistics come from D's real and generated batches and, for Q's own layer, from
   generated images only: the test accuracy again after every batch-norm running statistic is
   re-estimated on 10 000 real training digits (a copy of the model). If (a) is high and (b) equals
   the accuracy of step 3, the code is learnt and read back, and what is missing is the alignment
   of G's categories with the digit classes — not Q's statistics.

Outputs in OUT: ``infogan_mnist.json`` (protocol, accuracy, confusion matrix, code→digit map,
wall-clock), ``infogan_mnist.csv`` (one row: the table), ``codes_c1.png`` / ``codes_c2.png``
(rows = categorical code 0..9 ordered by the digit they were mapped to, columns = one continuous
code swept from −1 to 1, the other codes 0, one shared z; as the paper's Fig. 2),
``mi_curve.png`` (the bound L_I,cat over training, against H(c) = log 10) and the training run
(one cell, trained through the trainer: a ``--time-limit`` cut resumes from its checkpoint).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genzoo.bench import experiment, write_results
from genzoo.bench.engine import RUNS, Cell, CellContext, Experiment, Option, Options
from genzoo.errors import GenzooError
from genzoo.files import METRICS, read_metrics
from genzoo.nn.context import evaluating

#: InfoGAN config keys settable with --set (empty: the model's default); width has a CPU-budget default
MODEL_KEYS = ("z_dim", "arch", "hidden", "depth", "lr_g", "lr_d", "beta1", "beta2", "d_steps", "optimizer", "reuse_fakes",
              "objective", "n_cat", "n_cont", "lambda_cat", "lambda_cont", "q_std", "q_hidden", "networks", "leak")
TRAIN_KEYS = ("steps", "batch_size", "seed", "threads", "device", "precision", "progress")


def best_map_accuracy(pred: np.ndarray, truth: np.ndarray) -> tuple[float, dict[int, int], np.ndarray]:
    """(accuracy, code → label map, counts) under the best one-to-one map (Hungarian algorithm).

    counts[c, y] = #{n : pred_n = c, truth_n = y}; the map maximises the matched counts.
    """
    pred, truth = np.asarray(pred, dtype=np.int64), np.asarray(truth, dtype=np.int64)
    if pred.shape != truth.shape or pred.ndim != 1 or pred.size == 0:
        raise GenzooError(f"pred and truth must be equal-length 1-D arrays, got {pred.shape} and {truth.shape}")
    # Imported here, not at module level: scipy.optimize costs ~0.65 s and `genzoo list` imports this module
    from scipy.optimize import linear_sum_assignment

    counts = np.zeros((pred.max() + 1, truth.max() + 1), dtype=np.int64)
    np.add.at(counts, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / truth.size), {int(r): int(c) for r, c in zip(rows, cols)}, counts


@torch.no_grad()
def code_sweeps(model: Any, order: list[int], steps: int = 10, seed: int = 0) -> list[torch.Tensor]:
    """For each continuous code j: images (n_cat, steps, C, H, W), c_cat = order[r], c_j = linspace(−1, 1)."""
    from genzoo.models.infogan import Codes

    c = model.config
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(1, c.z_dim, generator=g).expand(len(order) * steps, -1)
    cat = torch.tensor(order).repeat_interleave(steps)
    sweeps = []
    for j in range(c.n_cont):
        cont = torch.zeros(len(order) * steps, c.n_cont)
        cont[:, j] = torch.linspace(-1.0, 1.0, steps).repeat(len(order))
        model.eval()
        x = model.G(model.generator_input(z.to(model.device), Codes(cat.to(model.device), cont.to(model.device))))
        sweeps.append(x.cpu().reshape(len(order), steps, *x.shape[1:]))
    return sweeps


@torch.no_grad()
def own_sample_accuracy(model: Any, n: int = 5000, seed: int = 0) -> float:
    """Share of G's samples whose categorical code Q recovers (eval mode, the generating code known)."""
    torch.manual_seed(seed)
    codes = model.sample_codes(n)
    with evaluating(model):
        x = model.generate(model.prior(n), codes)
    return float((model.infer(x)[0] == codes.cat).float().mean())


@torch.no_grad()
def real_statistics_accuracy(model: Any, train_x: torch.Tensor, test_x: torch.Tensor, test_y: np.ndarray,
                             n: int = 10000) -> float:
    """Test accuracy of Q after re-estimating every batch-norm running statistic on ``n`` real digits."""
    import copy

    m = copy.deepcopy(model)
    for module in m.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the real batches
    m.train()
    for chunk in train_x[:n].split(500):
        m.Q(m.trunk(chunk.to(m.device)))
    pred = torch.cat([m.infer(chunk.to(m.device))[0].cpu() for chunk in test_x.split(1000)]).numpy()
    return best_map_accuracy(pred, test_y)[0]


@experiment
class InfoGANMNIST(Experiment):
    """Experiment 4: InfoGAN on MNIST, accuracy of the categorical code vs the digit (best 1-to-1 map)."""

    name = "infogan-mnist"
    options = {"steps": Option(3000, 800, "training updates"), "batch_size": Option(64, meaning="batch size"),
               "width": Option(32, meaning="DCGAN width (paper: 64)"), "seed": Option(0, meaning="training seed"),
               "threads": Option(0, meaning="torch CPU threads; 0: genzoo's rule"), "device": Option("auto", meaning="device"),
               "data": Option("mnist", meaning="data set (labelled test split)"), "progress": Option(False, meaning="progress bar"),
               "precision": Option("", meaning="training precision (empty: the trainer's default)"),
               **{k: Option("", meaning=f"InfoGAN config {k} (empty: the model's default)") for k in MODEL_KEYS}}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell("infogan", {}, seed=o.seed, gpu=True)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict:
        """Train (resuming a cut run), then score Q's code on the test digits and draw the code sweeps."""
        from genzoo import data, run
        from genzoo.bench.engine import train
        from genzoo.viz import save_curves, save_interpolation

        sets = [f"{'train.' if k in TRAIN_KEYS else 'model.'}{k}={str(v).lower() if isinstance(v, bool) else v}"
                for k, v in o.items() if k != "data" and v != ""]
        sets += ["train.sample_every=0", "train.log_every=50", "train.checkpoint_every=1000000"]
        start = time.perf_counter()
        run_dir, _ = train(ctx, run.resolve("infogan", o.data, None, sets))
        train_seconds = time.perf_counter() - start
        model, run_config = run.load(run_dir)
        cfg = run_config["model_config"]
        if cfg.n_cat < 2:
            raise GenzooError(f"invalid value n_cat={cfg.n_cat}: the experiment needs a categorical code")
        dataset = data.load(o.data, **run_config["data"]["params"])
        if dataset.test_x is None or dataset.test_y is None:
            raise GenzooError(f"data set {o.data!r} has no labelled test split")
        pred = torch.cat([model.infer(chunk)[0] for chunk in dataset.test_x.split(1000)]).numpy()
        accuracy, mapping, counts = best_map_accuracy(pred, dataset.test_y.numpy())
        wall = time.perf_counter() - start
        order = sorted(mapping, key=lambda code: mapping[code])  # rows sorted by the digit they stand for
        order += [c for c in range(cfg.n_cat) if c not in mapping]
        for j, images in enumerate(code_sweeps(model, order, seed=o.seed)):
            save_interpolation(images, ctx.out / f"codes_c{j + 1}.png")
        mi = [(r["step"], r["mi_cat"]) for r in read_metrics(run_dir / METRICS)[0] if "mi_cat" in r]
        if mi:
            save_curves({"L_I,cat (bound)": mi, "H(c) = log K": [(mi[0][0], math.log(cfg.n_cat)), (mi[-1][0], math.log(cfg.n_cat))]},
                        ctx.out / "mi_curve.png", xlabel="step", ylabel="nats", title="InfoGAN mutual-information bound")
        row = {"data": o.data, "steps": run_config["train"].steps, "batch_size": run_config["train"].batch_size,
               "width": cfg.width, "seed": run_config["train"].seed, "test_accuracy": round(accuracy, 4),
               "constant_code_accuracy": round(float(np.bincount(dataset.test_y.numpy()).max() / len(dataset.test_y)), 4),
               "own_samples_code_accuracy": round(own_sample_accuracy(model, seed=o.seed), 4),
               "test_accuracy_bn_real": round(real_statistics_accuracy(model, dataset.x, dataset.test_x, dataset.test_y.numpy()), 4),
               "mi_cat_final": round(mi[-1][1], 4) if mi else float("nan"), "entropy_cat": round(math.log(cfg.n_cat), 4)}
        return {"row": row, "train_seconds": round(train_seconds, 1), "wall_seconds": round(wall, 1),
                "code_to_digit": {str(k): v for k, v in sorted(mapping.items())}, "counts_code_by_digit": counts.tolist(),
                "model_config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, "threads": torch.get_num_threads()}

    def report(self, records: list[dict], o: Options, out: Path, quick: bool) -> None:
        m = records[0]["metrics"]
        write_results(out, "infogan_mnist", [{**m["row"], "train_seconds": m["train_seconds"], "wall_seconds": m["wall_seconds"]}],
                      quick=quick, protocol=__doc__.split("Outputs in OUT")[0].strip(), code_to_digit=m["code_to_digit"],
                      counts_code_by_digit=m["counts_code_by_digit"], model_config=m["model_config"], threads=m["threads"],
                      torch=records[0]["versions"]["torch"], run_dir=str(out / RUNS / records[0]["id"]))
