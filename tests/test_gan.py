"""The original GAN: objective equations, the optimal discriminator, learning on a 2-D mixture."""

import math

import pytest
import torch

from genzoo import config, data
from genzoo.bench import optimal_d
from genzoo.losses import OBJECTIVES
from genzoo.metrics import mode_coverage, wasserstein1_exact
from genzoo.models import MODELS, DataSpec


def make_gan(dataset, **sets):
    cls = MODELS.get("gan")
    return cls(config.build(cls.Config, sets), DataSpec.of(dataset))


def test_objectives_match_goodfellow_equations():
    d_real, d_fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.8])
    D_real, D_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
    value = torch.log(D_real).mean() + torch.log(1 - D_fake).mean()  # V(D, G)
    mm = OBJECTIVES.get("minimax")(d_real, d_fake)
    ns = OBJECTIVES.get("nonsaturating")(d_real, d_fake)
    torch.testing.assert_close(mm.discriminator, -value)  # D maximises V
    torch.testing.assert_close(ns.discriminator, -value)
    torch.testing.assert_close(mm.generator, torch.log(1 - D_fake).mean())  # G minimises log(1 − D(G(z)))
    torch.testing.assert_close(ns.generator, -torch.log(D_fake).mean())  # G maximises log D(G(z))


def test_minimax_and_nonsaturating_are_different_generator_losses():
    """A mistake in public code: some libraries register one generator loss under both names."""
    d_fake = torch.tensor([-4.0], requires_grad=True)  # D confidently rejects the fake
    (g_mm,) = torch.autograd.grad(OBJECTIVES.get("minimax")(None, d_fake).generator, d_fake)
    (g_ns,) = torch.autograd.grad(OBJECTIVES.get("nonsaturating")(None, d_fake).generator, d_fake)
    assert g_mm.item() < 0 and g_ns.item() < 0  # both push d_fake up
    assert abs(g_ns.item()) > 10 * abs(g_mm.item())  # the minimax gradient saturates


def test_value_is_minus_log4_at_equilibrium():
    """With p = q the optimal D is 1/2 everywhere and V(D*, G) = −log 4."""
    zeros = torch.zeros(7)
    assert OBJECTIVES.get("minimax")(zeros, zeros).discriminator.item() == pytest.approx(math.log(4))


@pytest.mark.parametrize("case", optimal_d.CASES, ids=lambda c: c.label)
def test_discriminator_approaches_optimal_d_on_1d_densities(case):
    """Train only D against a frozen generator q = N(μ, σ²): D → D* = p/(p+q), V → 2·JS − log 4."""
    model, p = optimal_d.fit_discriminator(case, steps=1200)
    r = optimal_d.compare(model, p, case)
    assert r["mean_abs_error"] < 0.04, r["mean_abs_error"]
    assert r["max_abs_error_in_bulk"] < 0.15
    assert r["value_optimal_d"] == pytest.approx(r["two_js_minus_log4"], abs=1e-6)  # quadrature sanity
    assert r["value_trained_d"] <= r["value_optimal_d"] + 1e-3  # D* maximises V
    assert r["value_trained_d"] == pytest.approx(r["value_optimal_d"], abs=0.02)
    if case.label == "p = q":
        assert r["value_trained_d"] == pytest.approx(-math.log(4), abs=0.01)


def test_gan_learns_a_2d_mixture():
    """W1 to the data and modes covered both improve clearly over the untrained generator."""
    torch.manual_seed(0)
    dataset = data.load("grid25", n=20000, std=0.1)
    model = make_gan(dataset)
    g = torch.Generator().manual_seed(1)

    def score():
        s = model.sample(1000)
        return wasserstein1_exact(s, dataset.fresh(1000, g)), mode_coverage(s, dataset.density.means, dataset.density.std)["modes"]

    w1_init, modes_init = score()
    for _ in range(800):
        model.step(dataset.x[torch.randint(0, len(dataset.x), (128,), generator=g)])
    w1, modes = score()
    assert w1 < 0.5 * w1_init, (w1_init, w1)
    assert modes >= 15 and modes > modes_init + 10, (modes_init, modes)


def test_dcgan_generator_moves_toward_digits():
    """A few hundred DCGAN steps on 8×8 digits bring samples closer to the data than at init."""
    torch.manual_seed(0)
    dataset = data.load("digits")
    model = make_gan(dataset, width=16)
    g = torch.Generator().manual_seed(0)
    ref = dataset.fresh(300, g)
    w1_init = wasserstein1_exact(model.sample(300), ref)
    for _ in range(300):
        model.step(dataset.x[torch.randint(0, len(dataset.x), (64,), generator=g)])
    w1 = wasserstein1_exact(model.sample(300), ref)
    assert w1 < 0.8 * w1_init, (w1_init, w1)


def test_d_steps_consume_k_batches():
    dataset = data.load("ring8", n=2000)
    model = make_gan(dataset, d_steps=3)
    assert model.batches_per_step == 3
    out = model.step(dataset.x[: 3 * 32])
    assert set(out) == {"loss_d", "loss_g"}
    assert all(torch.isfinite(v) for v in out.values())


