"""Every energy model gets the likelihood the zoo gives it, from genzoo eval too (issue 24).

Known answers: a grid-normalised energy equal to a Gaussian's −log density returns the Gaussian's
exact log density; AIS on a BM small enough to enumerate agrees with the exact log Z within its
stated error. Then the wiring: the evaluation groups apply to the models that need them (a 2-D EBM,
a 64-unit BM), the zoo uses the same functions, and the eval table labels the numbers.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genzoo import config, data
from genzoo.bench import zoo
from genzoo.metric_table import table
from genzoo.metrics import energy_likelihood as el
from genzoo.metrics.evaluate import EVALUATIONS, evaluate
from genzoo.models import MODELS, DataSpec


class GaussianEnergy(nn.Module):
    """E(x) = −log N(x; μ, Σ) + c: exp(−E) integrates to e^{−c}, so a normalised log density is log N."""

    def __init__(self, mean: torch.Tensor, cov: torch.Tensor, shift: float = 0.0) -> None:
        super().__init__()
        self.dist = torch.distributions.MultivariateNormal(mean.double(), cov.double())
        self.shift = shift
        self.scale = nn.Parameter(torch.ones(()))  # a parameter, so the device helpers find one

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return (-self.dist.log_prob(x.double()) + self.shift).float()

    def sample(self, n: int) -> torch.Tensor:
        return self.dist.sample((n,)).float()


def test_grid_normalised_gaussian_energy_equals_the_closed_form():
    mean, cov = torch.tensor([0.3, -0.2]), torch.tensor([[0.5, 0.2], [0.2, 0.3]])
    x = torch.distributions.MultivariateNormal(mean, cov).sample((400,))
    exact = torch.distributions.MultivariateNormal(mean.double(), cov.double()).log_prob(x.double())
    low, high = torch.tensor([-5.0, -5.0], dtype=torch.float64), torch.tensor([5.0, 5.0], dtype=torch.float64)
    for shift in (0.0, 7.5):  # the energy's additive constant is what the grid removes
        values, log_z = el.grid_log_likelihood(GaussianEnergy(mean, cov, shift), x, low, high, 300)
        assert log_z == pytest.approx(-shift, abs=1e-4)
        # midpoint rule on a 300² grid of cell side 1/30: error O(h²) ≈ 1e-4 relative; float32 energies ≈ 1e-6
        assert (values - exact).abs().max().item() < 1e-3
    coarse, _ = el.grid_log_likelihood(GaussianEnergy(mean, cov), x, low, high, 8)
    assert (coarse - exact).abs().max().item() > 1e-3  # the tolerance above is not vacuous


def test_eval_gives_a_2d_energy_its_grid_likelihood_labelled_with_box_cells_and_nulls():
    ds = data.load("ring8", n=2000, std=0.05)
    model = GaussianEnergy(torch.zeros(2), 0.6 * torch.eye(2))
    group = EVALUATIONS.get("likelihood-grid")
    assert group.applies(model, ds) and group.tier == "final"
    m = evaluate(model, ds, seed=0)
    x = el._held_out(ds, 0, False)
    exact = torch.distributions.MultivariateNormal(torch.zeros(2).double(), 0.6 * torch.eye(2).double()).log_prob(x.double())
    # the box (±6σ around the means) holds almost all of this broad Gaussian's mass: the grid value is within
    # the mass outside the box of the exact one
    outside = 1 - torch.distributions.Chi2(2).cdf(torch.tensor((1.0 + 6 * 0.05) ** 2 / 0.6)).item()
    assert m["grid_bins"] == el.GRID_BINS
    assert 0 <= m["log_likelihood_grid"] - exact.mean().item() <= -math.log(1 - outside) + 1e-3
    nulls = el.likelihood_nulls(ds, m, seed=0)
    assert set(nulls) == {"data", "gaussian", "uniform (grid box)", "data (grid-normalised)"}
    assert nulls["data"]["log_likelihood_grid"] == pytest.approx(ds.density.log_prob(x.double()).mean().item())
    text = table(m, "head", total_modes=8, n=2500, nulls=nulls)
    row = next(line for line in text.splitlines() if "grid-normalised" in line)
    assert "estimate ± se" in row and "300² cells" in row and "over [-1.3, 1.3] × [-1.3, 1.3]" in row
    assert "data (grid-normalised)" in row and "uniform (grid box)" in row


def test_zoo_scores_the_grid_likelihood_with_the_same_function():
    ds = data.load("ring8", n=2000, std=0.05)
    model = GaussianEnergy(torch.zeros(2), 0.6 * torch.eye(2))
    x = zoo.test_points(ds, 300)
    out = zoo.likelihood(model, ds, x, iw_k=4, bins=120)
    values, _ = el.grid_log_likelihood(model, x, *el.box(ds), 120)
    assert out["ll_kind"] == "grid" and out["ll"] == pytest.approx(values.mean().item(), abs=1e-12)
    assert zoo.grid_log_z is el.grid_log_z and zoo.box is el.box  # one implementation, not a copy


def _random_bm(m: int, scale: float, seed: int):
    cls = MODELS.get("bm")
    model = cls(config.build(cls.Config, {"sample_sweeps": 2}), DataSpec("points", (m,)))
    g = torch.Generator().manual_seed(seed)
    w = scale * torch.randn(m, m, generator=g)
    with torch.no_grad():
        model.W.copy_(torch.triu(w, 1) + torch.triu(w, 1).T)
        model.b.copy_(0.5 * torch.randn(m, generator=g))
    return model


def test_bm_ais_agrees_with_exact_enumeration_within_its_stated_error():
    model = _random_bm(12, 0.4, seed=3)
    exact = model.log_partition().item()
    train = torch.bernoulli(torch.full((200, 12), 0.3), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    base = (train.sum(0) + 1) / (train.shape[0] + 2)
    result = el.bm_ais(model, base, betas=300, runs=100)
    assert result.log_z_std < 0.05  # the stated error is informative ...
    assert result.low <= exact <= result.high  # ... and the exact log Z lies in S&M's ±3 se range
    assert abs(result.log_z - exact) <= 3 * result.log_z_std
    # the per-example likelihood path: certain upper bound and sandwich bound beside the estimate
    x = torch.bernoulli(torch.full((100, 12), 0.3), generator=torch.Generator().manual_seed(2))
    out = el.bm_ais_likelihood(model, x, train, betas=300, runs=100)
    true_ll = (-model.energy(x).double() - exact).mean().item()
    assert abs(out["log_likelihood_ais"] - true_ll) <= 3 * out["log_z_std"]
    assert true_ll <= out["log_likelihood_certain_upper"] + 1e-9


def test_a_64_unit_bm_gets_an_ais_likelihood_in_eval_and_in_the_zoo(monkeypatch):
    monkeypatch.setattr(el, "BM_AIS_BETAS", 200)  # the default schedule's cost, not its behaviour, is 5× this
    ds = data.load("binary_digits", size=8)
    model = _random_bm(64, 0.05, seed=0)
    assert model.log_prob is None  # 2^64 states: no exact value
    group = EVALUATIONS.get("likelihood-bm-ais")
    assert group.applies(model, ds) and not EVALUATIONS.get("likelihood-grid").applies(model, ds)
    m = group.fn(model, ds, seed=0, full=False)
    assert m["ais_betas"] == el.BM_AIS_BETAS and m["ais_runs"] == el.BM_AIS_RUNS
    assert math.isfinite(m["log_likelihood_ais"]) and 0 < m["log_z_std"] < 0.5
    assert m["log_likelihood_ais"] <= m["log_likelihood_certain_upper"] + 3 * m["log_z_std"]
    row = next(line for line in table(m, "head").splitlines() if "AIS estimate" in line or "estimate ± se (AIS" in line)
    assert "estimate ± se (AIS, 200 β × 100 runs" in row
    x = el._held_out(ds, 0, False)
    z = zoo.likelihood(model, ds, x, iw_k=4, bins=10)
    assert z["ll_kind"] == "AIS" and z["ll"] == pytest.approx(m["log_likelihood_ais"], abs=1e-9)


def test_the_bm_refusal_advice_is_true():
    cls = MODELS.get("bm")
    with pytest.raises(Exception) as e:
        cls(config.build(cls.Config, {"statistics": "exact"}), DataSpec("points", (25,)))
    assert "statistics=gibbs" in str(e.value) and "AIS" in str(e.value)
    model = cls(config.build(cls.Config, {"statistics": "gibbs"}), DataSpec("points", (64,)))  # what it advises
    assert EVALUATIONS.get("likelihood-bm-ais").applies(model, data.load("binary_digits", size=8))
