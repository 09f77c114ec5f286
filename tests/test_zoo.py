"""The zoo's usability measurements and capability table (genzoo.bench.zoo), on a tiny real suite."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from genzoo.bench import engine, zoo
from genzoo.bench.zoo_report import time_to
from genzoo.errors import GenzooError
from genzoo.models import MODELS


# ---------------------------------------------------------------------------------- capability table
class _Exact:
    def sample(self, n): ...
    def log_prob(self, x): ...


class _Bound:
    def sample(self, n): ...
    def elbo(self, x): ...
    def encode(self, x): ...


class _Energy:
    def sample(self, n): ...
    def energy(self, x): ...


class _Implicit:
    def sample(self, n): ...


def test_capability_table_classifies_exact_bound_and_implicit():
    rows = {r["model"]: r for r in zoo.capability_table({"exact": _Exact, "bound": _Bound, "energy": _Energy,
                                                         "implicit": _Implicit})}
    assert (rows["exact"]["density"], rows["exact"]["likelihood"]) == ("explicit", "exact")
    assert (rows["bound"]["density"], rows["bound"]["likelihood"]) == ("explicit", "bound")
    assert (rows["energy"]["density"], rows["energy"]["likelihood"]) == ("explicit", "unnormalised")
    assert (rows["implicit"]["density"], rows["implicit"]["likelihood"]) == ("implicit", "intractable")
    assert rows["bound"]["inference"] == "yes" and rows["implicit"]["inference"] == "—"


def test_registered_models_are_classified_from_their_capabilities():
    rows = {r["model"]: r for r in zoo.capability_table()}
    assert rows["rbm"]["likelihood"] == "exact"  # an RBM's likelihood is exact (log Z by enumeration)
    assert rows["vae"]["likelihood"] == "bound"  # VAE: variational lower bound
    assert (rows["gan"]["density"], rows["gan"]["likelihood"]) == ("implicit", "intractable")  # GAN


# ---------------------------------------------------------------------------------- time to threshold
def _write_metrics(run_dir: Path, steps_per_s: float, w1: list[float], every: int = 10) -> None:
    run_dir.mkdir(parents=True)
    lines = [json.dumps({"step": every * (i + 1), "steps_per_s": steps_per_s, "w1": v}) for i, v in enumerate(w1)]
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")


def test_slower_model_gets_the_longer_time_to_threshold(tmp_path):
    w1 = [0.9, 0.6, 0.3, 0.2]  # the bar 0.5 is first cleared at the 3rd evaluation (step 30)
    _write_metrics(tmp_path / "fast", 100.0, w1)
    _write_metrics(tmp_path / "slow", 10.0, w1)
    fast = time_to(zoo.training_curve(tmp_path / "fast"), "w1", 0.5, "lower")
    slow = time_to(zoo.training_curve(tmp_path / "slow"), "w1", 0.5, "lower")
    assert fast == pytest.approx(30 / 100.0) and slow == pytest.approx(30 / 10.0)
    assert slow > fast
    assert time_to(zoo.training_curve(tmp_path / "slow"), "w1", 0.1, "lower") is None  # never reached
    assert time_to(zoo.training_curve(tmp_path / "fast"), "hq_share", 0.5, "higher") is None


def test_failure_classification():
    assert zoo.failure_status({"kind": "DivergenceError", "error": "training diverged"}) == "diverged"
    assert zoo.failure_status({"kind": "ValueError", "error": "found invalid values: tensor([[nan, inf]])"}) == "diverged"
    assert zoo.failure_status({"kind": "GenzooError", "error": "unknown information"}) == "failed"


def test_grid_log_z_of_a_gaussian_is_exact():
    dist = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=torch.float64), 0.25 * torch.eye(2, dtype=torch.float64))
    low, high = torch.tensor([-4.0, -4.0], dtype=torch.float64), torch.tensor([4.0, 4.0], dtype=torch.float64)
    assert zoo.grid_log_z(lambda y: dist.log_prob(y.double()), low, high, 80) == pytest.approx(0.0, abs=1e-6)
    shifted = zoo.grid_log_z(lambda y: dist.log_prob(y.double()) + 3.0, low, high, 80)  # exp(−E) = e³·p
    assert shifted == pytest.approx(3.0, abs=1e-6)


# ---------------------------------------------------------------------------------- a tiny real suite
def test_tiny_zoo_counts_a_diverged_run_and_scores_likelihoods(tmp_path):
    tiny_zoo = [("VAE", "VAE", "vae", {"lr": 1e-3}, ("lr",)),
                ("VAE absurd lr", "VAE", "vae", {"lr": 1e9}, ("lr",))]  # made to diverge
    data = [{"name": "ring8", "n": 1000, "std": 0.05, "n_test": 200}]
    sets = dict(steps="10", batch_size="32", n_eval="50", log_every="5", sample_every="5", checkpoint_every="10",
                seeds="0", n_test="100", iw_k="8", grid_bins="40", grids="main")
    out = tmp_path / "zoo"
    summary = engine.run(zoo.Zoo(zoo=tiny_zoo, data=data), out, sets, quick=True, progress=False)
    assert summary["failed"] == [] and summary["left"] == 0  # a diverged run is a result, not a failed cell
    result = json.loads((out / "zoo.json").read_text())
    rows = {u["label"]: u for u in result["usability"]}
    assert rows["VAE absurd lr"]["diverged"] == 1 and rows["VAE absurd lr"]["runs"] == 1
    assert rows["VAE"]["diverged"] == 0
    assert rows["VAE"]["n_hparams"] == len(dataclasses.fields(MODELS.get("vae").Config))
    assert rows["VAE"]["weight_bytes"] > 0
    cell = next(c for c in result["grids"]["main"]["cells"] if c["label"] == "VAE")
    assert cell["ll_kind"] == "IWAE bound" and math.isfinite(cell["ll"]) and cell["ll"] >= cell["elbo"] - 0.05
    times = [p["seconds"] for p in cell["curve"]]
    assert len(times) == 2 and 0 < times[0] < times[1]
    nulls = {r["null"]: r for r in result["nulls"]["ring8"]["likelihood"]}
    # ring8 σ = 0.05: H(p) ≈ log 8 + log(2πe σ²) = −1.07 nats, so the data's own log-likelihood ≈ +1.07
    assert nulls["data"]["ll"] == pytest.approx(-(math.log(8) + math.log(2 * math.pi * math.e * 0.05**2)), abs=0.25)
    assert nulls["data (grid-normalised)"]["ll"] == pytest.approx(nulls["data"]["ll"], abs=1e-3)
    assert nulls["gaussian"]["ll"] < nulls["data"]["ll"]
    report = (out / "report.md").read_text()
    assert "VAE absurd lr" in report and "1/1" in report and (out / "report.html").stat().st_size > 10_000
    again = engine.run(zoo.Zoo(zoo=tiny_zoo, data=data), out, sets, quick=True, progress=False)  # from the records alone
    assert again["done"] == 0 and (out / "report.md").read_text() == report
    assert json.loads((out / "zoo.json").read_text()) == result


# ---------------------------------------------------------------------------------- binarised MNIST part
def test_bernoulli_null_is_the_exact_independent_pixel_likelihood():
    g = torch.Generator().manual_seed(0)
    p_true = torch.rand(1, 4, 4, generator=g, dtype=torch.float64) * 0.8 + 0.1
    train = torch.bernoulli(p_true.expand(4000, 1, 4, 4), generator=g)
    test = torch.bernoulli(p_true.expand(500, 1, 4, 4), generator=g)
    p = zoo.bernoulli_null(train)
    assert p.shape == (16,) and torch.allclose(p, p_true.reshape(-1), atol=0.03)  # the fit recovers the pixel means
    exact = torch.distributions.Bernoulli(probs=p).log_prob(test.reshape(500, -1)).sum(1)
    assert torch.allclose(zoo.bernoulli_log_prob(p, test), exact, atol=1e-9)
    # Laplace smoothing: a pixel never on in training still gives test images a finite likelihood
    assert torch.isfinite(zoo.bernoulli_log_prob(zoo.bernoulli_null(torch.zeros(10, 1, 2, 2)), torch.ones(3, 1, 2, 2))).all()
    # the fitted null beats a uniform-pixel model on held-out data (it can fail: p = 0.5 would tie)
    assert zoo.bernoulli_log_prob(p, test).mean() > 16 * math.log(0.5)


def test_mnist_table_labels_every_likelihood(tmp_path):
    from genzoo.bench.zoo_report import mnist_table, write_mnist_report

    budget = {**zoo.MNIST_BUDGETS["quick"], "seeds": [0, 1]}
    cell = lambda label, seed, **kw: {"label": label, "seed": seed, "id": f"{label}_s{seed}", "status": "ok",  # noqa: E731
                                      "train_seconds": 1.0, "fid": 10.0 + seed, "kid": 1.0, "precision": 0.5, "recall": 0.4, **kw}
    result = {"quick": True, "data": zoo.MNIST_DATA, "budget": budget,
              "zoo": [{"label": "V", "family": "VAE", "model": "vae", "set": {}},
                      {"label": "R", "family": "Boltzmann", "model": "rbm", "set": {}},
                      {"label": "G", "family": "GAN", "model": "gan", "set": {}}],
              "cells": [cell("V", 0, ll=-100.0, ll_kind="IWAE bound", iw_k=100, elbo=-104.0), cell("V", 1, ll=-102.0, ll_kind="IWAE bound", iw_k=100, elbo=-106.0),
                        cell("R", 0, ll=-150.0, ll_kind="exact"), {"label": "R", "seed": 1, "id": "R_s1", "status": "diverged", "error": "nan"},
                        cell("G", 0), cell("G", 1)],
              "nulls": [{"null": "independent Bernoulli pixels", "fid": 50.0, "kid": 5.0, "precision": 0.1, "recall": 0.0,
                         "ll": -206.0, "ll_se": 0.5, "ll_kind": "exact"}]}
    header, rows, _ = mnist_table(result)
    by = {r[0]: dict(zip(header, r)) for r in rows}
    ll_col = header[-1]
    assert "IWAE bound, K=100" in by["V"][ll_col] and by["V"][ll_col].startswith("-101")  # mean over 2 seeds
    assert "(exact)" in by["R"][ll_col] and by["R"]["runs ok"] == "1/2"  # the diverged seed is counted, not averaged
    assert "intractable" in by["G"][ll_col]
    assert "exact" in by["null: independent Bernoulli pixels"][ll_col]
    text = write_mnist_report(tmp_path, result, tmp_path / "runs").read_text()
    assert "--set grids=mnist" in text and "R_s1: diverged" in text


def test_options_are_checked(tmp_path):
    for sets, match in (({"grids": "cifar"}, "grids="), ({"models": "gan,nope"}, "models="), ({"stpes": "3"}, "did you mean")):
        with pytest.raises(GenzooError, match=match):
            engine.run("zoo", tmp_path / "z", sets, quick=True, progress=False)
    assert not (tmp_path / "z").exists()  # nothing written


def test_cells_put_seed_0_of_every_model_first_and_models_selects():
    exp = engine.get("zoo")
    grid = engine.order(exp.cells(exp.resolve({}, True), True))
    assert grid[0].params["grid"] == "nulls" and [c.seed for c in grid[3:39]] == [0] * 36  # nulls, then seed 0 of 12 × 3
    few = exp.cells(exp.resolve({"models": "gan,VAE", "grids": "main,lr,mnist"}, True), True)
    assert {c.params["label"] for c in few if c.params["grid"] == "main"} == {"GAN", "VAE"}
    assert len([c for c in few if c.params["grid"] == "lr"]) == 2 * 2 and any(c.params["grid"] == "mnist" for c in few)
