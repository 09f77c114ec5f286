"""Mode coverage and exact Wasserstein-1: protocol, known values, cross-checks, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from genzoo.errors import GenzooError
from genzoo.metrics import (
    KL_EPS,
    STANDARD_N_SAMPLES,
    mode_coverage,
    wasserstein1_exact,
    wasserstein1_lp,
)


def ring_means(k: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(k, dtype=torch.float64) / k  # 2πk/K, not linspace
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def mixture_samples(means: torch.Tensor, std: float, n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, means.shape[0], (n,), generator=g)
    return means[idx] + std * torch.randn(n, means.shape[1], generator=g, dtype=means.dtype)


# ----------------------------------------------------------------------------- mode coverage
def test_standard_constant():
    assert STANDARD_N_SAMPLES == 2500


def test_true_ring_samples_cover_all_modes_with_expected_hq_share():
    mu = ring_means(8)
    x = mixture_samples(mu, 0.01, STANDARD_N_SAMPLES)
    out = mode_coverage(x, mu, 0.01)
    assert out["modes"] == 8 and out["n_modes"] == 8 and out["n_samples"] == 2500
    # Euclidean 3σ in 2-D: P(χ²₂ < 9) = 1 − e^{−4.5} ≈ 0.9889.
    assert abs(out["hq_share"] - (1 - math.exp(-4.5))) < 0.01
    assert sum(out["counts"]) == out["n_hq"] == round(out["hq_share"] * 2500)
    assert 0 <= out["kl_to_uniform"] < 0.01
    box = mode_coverage(x, mu, 0.01, rule="box")
    # Box rule: P(|z| < 3)² ≈ 0.99461; never smaller than the Euclidean share.
    assert abs(box["hq_share"] - (math.erf(3 / math.sqrt(2)) ** 2)) < 0.01
    assert box["hq_share"] >= out["hq_share"]


def test_euclidean_vs_box_rule_on_a_corner_point():
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    # Δ = (0.025, 0.025): each |Δ_d| < 0.03 (box: high quality) but ‖Δ‖ = 0.0354 > 0.03.
    x = torch.tensor([[0.025, 0.025]])
    assert mode_coverage(x, mu, 0.01, rule="euclidean")["modes"] == 0
    assert mode_coverage(x, mu, 0.01, rule="box")["modes"] == 1
    assert mode_coverage(x, mu, 0.01, rule="box")["counts"] == [1, 0]
    # Strict inequality at the threshold itself (exact binary fractions: 0.5 = 2 · 0.25).
    far = torch.tensor([[0.0, 0.0], [5.0, 0.0]])
    for rule in ("euclidean", "box"):
        assert mode_coverage(torch.tensor([[0.5, 0.0]]), far, 0.25, threshold=2.0, rule=rule)["n_hq"] == 0
        assert mode_coverage(torch.tensor([[0.4375, 0.0]]), far, 0.25, threshold=2.0, rule=rule)["n_hq"] == 1


def test_collapsed_samples_and_kl():
    mu = ring_means(8)
    x = mu[3].expand(100, 2).clone()
    out = mode_coverage(x, mu, 0.01)
    assert out["modes"] == 1 and out["hq_share"] == 1.0
    assert out["counts"] == [0, 0, 0, 100, 0, 0, 0, 0]
    assert out["kl_to_uniform"] == pytest.approx(math.log(8), abs=1e-8)
    # Even spread over the modes: KL = 0 up to ε.
    even = mode_coverage(mu.repeat(5, 1), mu, 0.01)
    assert even["modes"] == 8 and even["counts"] == [5] * 8
    assert abs(even["kl_to_uniform"]) < 10 * KL_EPS
    # Two modes with 3:1 split: KL = Σ p log(p·K).
    x2 = torch.cat([mu[0].expand(3, 2), mu[1].expand(1, 2)])
    expect = 0.75 * math.log(0.75 * 8) + 0.25 * math.log(0.25 * 8)
    assert mode_coverage(x2, mu, 0.01)["kl_to_uniform"] == pytest.approx(expect, rel=1e-8)


def test_no_high_quality_samples():
    mu = ring_means(8)
    out = mode_coverage(torch.zeros(10, 2), mu, 0.01)  # centre of the ring: far from all
    assert out["modes"] == 0 and out["hq_share"] == 0.0 and out["n_hq"] == 0
    assert math.isnan(out["kl_to_uniform"])


def test_per_component_std():
    mu = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    x = torch.tensor([[0.5, 0.0], [10.5, 0.0]])
    out = mode_coverage(x, mu, torch.tensor([0.1, 1.0]))  # 0.5 > 0.3, 0.5 < 3
    assert out["counts"] == [0, 1] and out["modes"] == 1


def test_matches_a_loop_reference():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(6, 3, generator=g)
    std = torch.rand(6, generator=g) * 0.5 + 0.1
    x = mu[torch.randint(0, 6, (300,), generator=g)] + 0.4 * torch.randn(300, 3, generator=g)
    for rule in ("euclidean", "box"):
        counts = [0] * 6
        for xi in x:
            d = [float((xi - m).norm()) for m in mu]
            k = int(np.argmin(d))
            delta = (xi - mu[k]).abs()
            ok = d[k] < 3 * float(std[k]) if rule == "euclidean" else bool((delta < 3 * std[k]).all())
            counts[k] += ok
        out = mode_coverage(x, mu, std, rule=rule)
        assert out["counts"] == counts
        assert out["modes"] == sum(c > 0 for c in counts)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(samples=torch.zeros(5, 3), means=torch.zeros(2, 2), std=0.1),  # D mismatch
        dict(samples=torch.zeros(5), means=torch.zeros(2, 2), std=0.1),  # samples not 2-D
        dict(samples=torch.zeros(5, 2), means=torch.zeros(2), std=0.1),  # means not 2-D
        dict(samples=torch.zeros(0, 2), means=torch.zeros(2, 2), std=0.1),  # empty
        dict(samples=torch.tensor([[float("nan"), 0.0]]), means=torch.zeros(2, 2), std=0.1),
        dict(samples=torch.zeros(5, 2), means=torch.tensor([[float("inf"), 0.0]]), std=0.1),
        dict(samples=torch.zeros(5, 2), means=torch.zeros(2, 2), std=-0.1),
        dict(samples=torch.zeros(5, 2), means=torch.zeros(2, 2), std=torch.ones(3)),
        dict(samples=torch.zeros(5, 2), means=torch.zeros(2, 2), std=0.1, threshold=0.0),
        dict(samples=torch.zeros(5, 2), means=torch.zeros(2, 2), std=0.1, rule="manhattan"),
    ],
)
def test_mode_coverage_bad_input(kwargs):
    with pytest.raises(GenzooError):
        mode_coverage(**kwargs)


# ----------------------------------------------------------------------------- Wasserstein-1
def closed_form_1d(x: np.ndarray, y: np.ndarray) -> float:
    """W1 of equal-size 1-D empirical measures: mean |x_(i) − y_(i)| of sorted samples."""
    return float(np.abs(np.sort(x) - np.sort(y)).mean())


def test_1d_exact_lp_closed_form_and_scipy_agree():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(15, generator=g, dtype=torch.float64)
    y = 0.5 * torch.randn(15, generator=g, dtype=torch.float64) + 1.0
    ref = closed_form_1d(x.numpy(), y.numpy())
    assert ref == pytest.approx(scipy.stats.wasserstein_distance(x.numpy(), y.numpy()), abs=1e-12)
    assert wasserstein1_exact(x, y) == pytest.approx(ref, abs=1e-10)
    assert wasserstein1_exact(x[:, None], y[:, None]) == pytest.approx(ref, abs=1e-10)
    assert wasserstein1_lp(x, None, y, None) == pytest.approx(ref, abs=1e-7)
    assert wasserstein1_lp(x, torch.ones(15), y, torch.ones(15)) == pytest.approx(ref, abs=1e-7)


def test_lp_with_unequal_weights_and_sizes_matches_scipy_1d():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=7), rng.normal(size=11) + 0.3
    wx, wy = rng.random(7), rng.random(11)
    expect = scipy.stats.wasserstein_distance(x, y, wx, wy)
    got = wasserstein1_lp(torch.from_numpy(x), torch.from_numpy(wx), torch.from_numpy(y), torch.from_numpy(wy))
    assert got == pytest.approx(expect, abs=1e-7)
    # Point mass at 0 vs ½δ₀ + ½δ₁: W1 = ½; weights given as counts are normalised.
    assert wasserstein1_lp(torch.zeros(1), None, torch.tensor([0.0, 1.0]), torch.tensor([3.0, 3.0])) == pytest.approx(0.5)


def test_exact_and_lp_agree_in_2d():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(12, 2, generator=g, dtype=torch.float64)
    y = torch.randn(12, 2, generator=g, dtype=torch.float64) * 2
    exact = wasserstein1_exact(x, y)
    assert exact > 0
    assert wasserstein1_lp(x, None, y, None) == pytest.approx(exact, abs=1e-7)
    # Invariant to reordering either set; symmetric.
    perm = torch.randperm(12, generator=g)
    assert wasserstein1_exact(x, y[perm]) == pytest.approx(exact, abs=1e-12)
    assert wasserstein1_exact(y, x) == pytest.approx(exact, abs=1e-12)
    assert wasserstein1_exact(x, x) == 0.0


@pytest.mark.parametrize("v", [(0.01, -0.02), (3.0, 4.0)])
def test_2d_shift_by_vector(v):
    # For any coupling E‖X − Y‖ ≥ ‖E[X − Y]‖ = |v| (Jensen), and the identity coupling attains
    # it, so translating a point set by v gives W1 = |v| exactly (small or large v).
    g = torch.Generator().manual_seed(5)
    x = torch.randn(40, 2, generator=g, dtype=torch.float64)
    shift = torch.tensor(v, dtype=torch.float64)
    y = (x + shift)[torch.randperm(40, generator=g)]
    norm = float(shift.norm())
    assert wasserstein1_exact(x, y) == pytest.approx(norm, rel=1e-10)
    assert wasserstein1_lp(x[:15], None, (x[:15] + shift), None) == pytest.approx(norm, rel=1e-7)


def test_images_are_flattened():
    g = torch.Generator().manual_seed(6)
    a = torch.rand(10, 1, 4, 4, generator=g)
    b = torch.rand(10, 1, 4, 4, generator=g)
    flat = wasserstein1_exact(a.reshape(10, -1), b.reshape(10, -1))
    assert wasserstein1_exact(a, b) == pytest.approx(flat, abs=1e-12)
    assert wasserstein1_exact(a, b.reshape(10, 16)) == pytest.approx(flat, abs=1e-12)
    assert wasserstein1_lp(a, None, b, None) == pytest.approx(flat, abs=1e-6)


@pytest.mark.parametrize(
    "x,y",
    [
        (torch.zeros(5, 2), torch.zeros(6, 2)),  # different sizes
        (torch.zeros(5, 2), torch.zeros(5, 3)),  # different dims
        (torch.zeros(0, 2), torch.zeros(0, 2)),  # empty
        (torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 2)),
        (torch.tensor(1.0), torch.tensor(1.0)),  # scalar
    ],
)
def test_wasserstein_exact_bad_input(x, y):
    with pytest.raises(GenzooError):
        wasserstein1_exact(x, y)


@pytest.mark.parametrize(
    "wx,wy",
    [
        (torch.tensor([1.0, -1.0, 1.0]), None),  # negative
        (torch.zeros(3), None),  # zero total
        (torch.ones(2), None),  # wrong length
        (None, torch.tensor([1.0, float("nan")])),  # non-finite
    ],
)
def test_wasserstein_lp_bad_weights(wx, wy):
    with pytest.raises(GenzooError):
        wasserstein1_lp(torch.zeros(3, 2), wx, torch.ones(2, 2), wy)


def test_wasserstein_lp_dim_mismatch():
    with pytest.raises(GenzooError):
        wasserstein1_lp(torch.zeros(3, 2), None, torch.zeros(3, 3), None)


def test_w1_exact_equals_optimal_assignment_on_a_collapsed_generator():
    """Network simplex and the Hungarian method agree, including the degenerate case of many
    samples in one tight blob far from a peaked mixture (where the Hungarian method is slow)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    g = torch.Generator().manual_seed(0)
    angles = 2 * torch.pi * torch.randint(0, 8, (400,), generator=g) / 8
    data = torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(400, 2, generator=g)
    blob = 0.3 + 0.05 * torch.randn(400, 2, generator=g)
    cost = cdist(data.double().numpy(), blob.double().numpy())
    rows, cols = linear_sum_assignment(cost)
    assert wasserstein1_exact(data, blob) == pytest.approx(float(np.mean(cost[rows, cols])), rel=1e-9)


# ----------------------------------------------------------------------------- null baselines
def test_null_baselines_match_their_closed_form_high_quality_shares():
    """Nulls scored by the suite's 3σ rule reproduce the hq_share computed by hand.

    data: P(‖N(0, σ²I₂)‖ < 3σ) = 1 − e^{−9/2}; uniform box: 25 discs of radius 3σ over the box area
    (8 + 6σ)²; uniform circle with radial noise σ: the share of angle within reach of a mode,
    8 · 2·asin(3σ/r)/(2π) for the arc, times the radial part, bounded below and above here."""
    import math

    from genzoo import data
    from genzoo.metrics.null_baselines import null_names, null_samples

    n = 40_000
    grid, ring = data.load("grid25", n=2000), data.load("ring8", n=2000)
    assert null_names(grid) == ["data", "gaussian", "uniform-box"]
    assert null_names(ring)[-1] == "uniform-circle"

    def share(ds, name, seed=0):
        x = null_samples(name, ds, n, torch.Generator().manual_seed(seed))
        return mode_coverage(x, ds.density.means, ds.density.std)

    def close(p_hat, p):  # within 4 binomial standard deviations
        return abs(p_hat - p) < 4 * math.sqrt(p * (1 - p) / n)

    assert close(share(grid, "data")["hq_share"], 1 - math.exp(-4.5))
    sigma = 0.05
    box = share(grid, "uniform-box")
    assert close(box["hq_share"], 25 * math.pi * (3 * sigma) ** 2 / (8 + 6 * sigma) ** 2) and box["modes"] == 25
    gauss = share(grid, "gaussian")  # a blob centred on the grid: the centre mode is the likeliest
    assert gauss["counts"][12] == max(gauss["counts"]) and gauss["hq_share"] < 0.05
    circle = share(ring, "uniform-circle")
    arc = 8 * 2 * math.asin(3 * 0.01) / (2 * math.pi)  # angular share within 3σ of a mode (r = 1)
    assert circle["modes"] == 8 and 0.5 * arc < circle["hq_share"] < arc


def test_null_baselines_refuse_data_without_a_mixture():
    from genzoo import data
    from genzoo.metrics.null_baselines import null_names

    with pytest.raises(GenzooError, match="mixture"):
        null_names(data.load("digits"))
