"""Experiment 2 (f-GAN 1-D): exact minimisers of D_f(p ‖ N(μ, σ²)) and the adversarial fit."""

import csv
import json
import math

import pytest
import torch

from genzoo.bench import run as run_bench
from genzoo.bench.fgan1d import (
    P_MEANS,
    P_STD,
    Grid,
    adversarial_fit,
    exact_minimiser,
    mixture,
    moments,
)
from genzoo.losses.fgan import DIVERGENCES


@pytest.fixture(scope="module")
def p():
    return mixture()


@pytest.fixture(scope="module")
def exact(p):
    grid = Grid(p.density)
    return {name: exact_minimiser(DIVERGENCES.get(name), p.density, grid) for name in ("kl", "reverse-kl")}


def test_kl_minimiser_is_moment_matching(p, exact):
    """argmin_q KL(p ‖ q) over Gaussians: μ = E_p[x], σ² = Var_p[x] (closed form for a mixture)."""
    w, m = torch.tensor([0.7, 0.3], dtype=torch.float64), torch.tensor(P_MEANS, dtype=torch.float64)
    mean = float((w * m).sum())
    var = P_STD**2 + float((w * m**2).sum()) - mean**2
    assert (mean, math.sqrt(var)) == pytest.approx(moments(p.density), abs=1e-6)
    assert exact["kl"]["mu"] == pytest.approx(mean, abs=2e-3)
    assert exact["kl"]["sigma"] == pytest.approx(math.sqrt(var), abs=2e-3)


def test_reverse_kl_seeks_a_mode_and_kl_covers(exact):
    heavy = P_MEANS[0]  # the weight-0.7 component
    rkl, kl = exact["reverse-kl"], exact["kl"]
    assert rkl["mu"] == pytest.approx(heavy, abs=0.05)  # on the mode
    assert rkl["sigma"] == pytest.approx(P_STD, rel=0.1)  # about the component's width
    assert P_MEANS[0] + 0.5 < kl["mu"] < P_MEANS[1] - 0.5  # between the modes
    assert kl["sigma"] > 2.5 * rkl["sigma"]  # covering both


def test_exact_minimiser_beats_moment_matching_for_every_divergence(p):
    grid, (mean, std) = Grid(p.density), moments(p.density)
    for name in ("pearson", "hellinger", "js", "tv"):
        div = DIVERGENCES.get(name)
        best = exact_minimiser(div, p.density, grid)
        assert best["divergence"] <= grid.divergence(div, mean, std) + 1e-9, name
        assert best["divergence"] <= grid.divergence(div, P_MEANS[0], P_STD) + 1e-9, name


def test_adversarial_kl_fit_moves_toward_the_exact_minimiser(p, exact):
    target = torch.tensor([exact["kl"]["mu"], exact["kl"]["sigma"]])
    fit = adversarial_fit("kl", p, steps=300, batch=256, lr=1e-2, seed=0, average_last=0.2)
    start = torch.tensor([0.0, 1.0])  # μ = 0, σ = 1
    got = torch.tensor([fit["mu"], fit["sigma"]])
    assert (got - target).norm() < 0.3 * (start - target).norm(), (got, target)


def test_benchmark_writes_table_json_and_figure(tmp_path):
    run_bench("fgan-1d", str(tmp_path), quick=True, sets=["divergences=kl,reverse-kl", "steps=40", "batch=64"], progress=False)
    rows = list(csv.DictReader(open(tmp_path / "fgan1d.csv")))
    assert [r["divergence"] for r in rows] == ["kl", "reverse-kl"]
    assert set(rows[0]) == {"divergence", "mu_exact", "sigma_exact", "D_exact", "mu_fgan", "sigma_fgan", "D_fgan"}
    assert float(rows[0]["sigma_exact"]) > 2.5 * float(rows[1]["sigma_exact"])
    result = json.loads((tmp_path / "fgan1d.json").read_text())
    assert result["settings"]["steps"] == 40 and result["seconds"] > 0
    assert (tmp_path / "fgan1d.png").stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "cells").glob("*.json")) == ["kl.json", "reverse-kl.json"]
