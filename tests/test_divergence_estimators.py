"""Known answers for MMD, HSIC and the total-correlation estimators (genzoo.estimators)."""

from __future__ import annotations

import math

import pytest
import torch

from genzoo.errors import GenzooError
from genzoo.estimators import ESTIMATORS
from genzoo.estimators.hsic import hsic
from genzoo.estimators.mmd import KERNELS, mmd2
from genzoo.estimators.total_correlation import (
    TCDiscriminator,
    density_ratio_tc,
    mws_offset,
    permute_dims,
    tc_discriminator_loss,
    total_correlation,
)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_registered():
    for name in ("mmd", "hsic", "total-correlation", "permute-dims", "density-ratio-tc"):
        assert name in ESTIMATORS
    for name in ("rbf", "imq", "polynomial"):
        assert name in KERNELS


@pytest.mark.parametrize("kernel,params", [("rbf", {"bandwidth": 1.0}), ("rbf", {"bandwidth": "median"}),
                                           ("rbf", {"bandwidth": [0.5, 2.0]}), ("imq", {"scale": 4.0})])
def test_mmd_zero_on_equal_distributions_and_grows_with_shift(kernel, params):
    g = _g()
    x = torch.randn(100, 150, 2, generator=g, dtype=torch.float64)
    y = torch.randn(100, 150, 2, generator=g, dtype=torch.float64)
    u = mmd2(x, y, kernel, **params)  # 100 independent repeats
    se = u.std() / math.sqrt(len(u))
    # unbiased for a fixed kernel: mean 0 (a bandwidth read off the data adds a small bias)
    assert abs(u.mean()) < (4 * se if params.get("bandwidth") != "median" else 2 * u.std())
    assert (u < 0).any()  # the U-statistic takes both signs
    b = mmd2(x, y, kernel, unbiased=False, **params)
    assert (b >= 0).all() and b.mean() > u.mean()  # the V-statistic is biased upward
    vals = [float(mmd2(x[0], y[0] + s, kernel, **params)) for s in (0.5, 1.0, 2.0)]
    assert vals[0] > 5 * float(u.std()) and all(a < b for a, b in zip(vals, vals[1:]))


def test_mmd_closed_form_linear_features():
    # with k(a, b) = aᵀb the biased MMD² is exactly ‖mean(x) − mean(y)‖²
    g = _g(1)
    x, y = torch.randn(50, 3, generator=g, dtype=torch.float64), torch.randn(40, 3, generator=g, dtype=torch.float64)
    lin = lambda a, b: a @ b.T  # noqa: E731
    assert float(mmd2(x, y, lin, unbiased=False)) == pytest.approx(float(((x.mean(0) - y.mean(0)) ** 2).sum()), rel=1e-10)
    # unbiased, unequal sizes: drop the diagonals explicitly
    kxx, kyy, kxy = x @ x.T, y @ y.T, x @ y.T
    ref = (kxx.sum() - kxx.trace()) / (50 * 49) + (kyy.sum() - kyy.trace()) / (40 * 39) - 2 * kxy.mean()
    assert float(mmd2(x, y, lin)) == pytest.approx(float(ref), rel=1e-10)


def test_mmd_errors_name_the_problem():
    with pytest.raises(GenzooError, match="dimensions differ"):
        mmd2(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(GenzooError, match="unknown kernel"):
        mmd2(torch.zeros(5, 2), torch.zeros(5, 2), "nope")
    with pytest.raises(GenzooError, match="bandwidth"):
        mmd2(torch.zeros(5, 2), torch.zeros(5, 2), "rbf", bandwidth=-1.0)


def test_hsic_zero_when_independent_and_grows_with_dependence():
    g = _g(2)
    n = 300
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    noise = torch.randn(n, 2, generator=g, dtype=torch.float64)
    indep = [float(hsic(torch.randn(n, 2, generator=g, dtype=torch.float64), torch.randn(n, 1, generator=g, dtype=torch.float64), unbiased=True)) for _ in range(40)]
    mean, se = sum(indep) / 40, torch.tensor(indep).std().item() / math.sqrt(40)
    assert abs(mean) < 4 * se
    vals = [float(hsic(x, r * x + (1 - r) * noise, unbiased=True)) for r in (0.2, 0.5, 0.9)]
    assert vals[0] > 5 * torch.tensor(indep).std().item() and vals[0] < vals[1] < vals[2]
    # nonlinear dependence with zero correlation: y = x² is detected
    y = x[:, :1] ** 2
    assert float(torch.corrcoef(torch.stack([x[:, 0], y[:, 0]]))[0, 1]).__abs__() < 0.2
    assert float(hsic(x[:, :1], y, unbiased=True)) > 5 * torch.tensor(indep).std().item()


def test_hsic_biased_matches_trace_formula():
    g = _g(3)
    x, y = torch.randn(30, 2, generator=g, dtype=torch.float64), torch.randn(30, 3, generator=g, dtype=torch.float64)
    from genzoo.estimators.mmd import rbf_kernel

    k, lm = rbf_kernel(x, x, 1.0), rbf_kernel(y, y, 2.0)
    h = torch.eye(30, dtype=torch.float64) - 1 / 30
    ref = torch.trace(k @ h @ lm @ h) / 29**2
    got = hsic(x, y, params_x={"bandwidth": 1.0}, params_y={"bandwidth": 2.0})
    assert float(got) == pytest.approx(float(ref), rel=1e-10)


def _correlated(n: int, r: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return torch.randn(n, r.shape[0], generator=g, dtype=torch.float64) @ torch.linalg.cholesky(r).T


R = torch.tensor([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]], dtype=torch.float64)
TRUE_TC = -0.5 * math.log(float(torch.linalg.det(R)))


def _posteriors(n: int, s: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Posteriors N(μ_j, s²I) with μ_j ~ N(0, R − s²I): their aggregate is N(0, R) exactly as n → ∞."""
    mu = _correlated(n, R - s * s * torch.eye(3, dtype=torch.float64), g)
    z = mu + s * torch.randn(mu.shape, generator=g, dtype=torch.float64)
    return z, mu, torch.full_like(mu, 2 * math.log(s))


def test_mss_and_mws_match_gaussian_total_correlation():
    g = _g(4)
    n, m = 20_000, 1000
    z, mu, lv = _posteriors(n, 0.5, g)
    mss, mws = [], []
    for b in range(6):
        idx = torch.randperm(n, generator=g)[:m]
        mss.append(float(total_correlation(z[idx], mu[idx], lv[idx], n, "mss")))
        mws.append(float(total_correlation(z[idx], mu[idx], lv[idx], n, "mws")))
    assert sum(mss) / 6 == pytest.approx(TRUE_TC, abs=0.06)
    assert sum(mws) / 6 - mws_offset(3, n) == pytest.approx(TRUE_TC, abs=0.06)
    # independent codes (posterior means with identity covariance): TC ≈ 0
    mi = torch.randn(m, 3, generator=g, dtype=torch.float64) * math.sqrt(0.75)
    zi = mi + 0.5 * torch.randn(m, 3, generator=g, dtype=torch.float64)
    assert abs(float(total_correlation(zi, mi, lv[:m], n, "mss"))) < 0.05


def test_mss_is_exact_mixture_when_batch_is_the_data_set():
    # M = N: both weightings reduce to the empirical mixture (MWS up to its stated offset)
    g = _g(5)
    z, mu, lv = _posteriors(200, 0.5, g)
    a = total_correlation(z, mu, lv, 200, "mss")
    b = total_correlation(z, mu, lv, 200, "mws") - mws_offset(3, 200)
    assert float(a) == pytest.approx(float(b), abs=1e-9)


def test_permute_dims_keeps_marginals_and_breaks_dependence():
    g = _g(6)
    z = _correlated(4000, R, g).float()
    p = permute_dims(z, g)
    for d in range(3):
        assert torch.equal(p[:, d].sort().values, z[:, d].sort().values)  # each marginal kept exactly
    assert not torch.equal(p[:, 0], z[:, 0])
    c = torch.corrcoef(p.T)
    assert (c - torch.eye(3)).abs().max() < 0.06  # correlation 0.6 → ~0


def test_density_ratio_discriminator_estimates_tc():
    torch.manual_seed(0)
    g = _g(7)
    d = TCDiscriminator(3, hidden=64, layers=3)
    opt = torch.optim.Adam(d.parameters(), lr=3e-3)
    for _ in range(400):
        z = _correlated(256, R, g).float()
        loss = tc_discriminator_loss(d(z), d(permute_dims(z, g)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        est = float(density_ratio_tc(d(_correlated(20_000, R, g).float())))
        zero = float(density_ratio_tc(d(permute_dims(_correlated(20_000, R, g).float(), g))))
    assert est == pytest.approx(TRUE_TC, abs=0.15)
    assert est > zero + 0.5 * TRUE_TC


def test_factorvae_discriminator_has_the_papers_six_hidden_layers_of_1000():
    """Kim & Mnih 2018, Appendix: [FC 1000, LeakyReLU 0.2] × 6, FC 2 (genzoo built 5 hidden layers before this test)."""
    from torch import nn

    from genzoo.estimators.total_correlation import TCDiscriminator

    linears = [m for m in TCDiscriminator(10).net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 1000)] + [(1000, 1000)] * 5 + [(1000, 2)]
    assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in TCDiscriminator(10).net) == 6
