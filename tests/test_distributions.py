"""Observation models, heads, priors and KL pairs: closed forms, limits and range checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from genzoo.distributions import OBSERVATIONS
from genzoo.distributions.heads import categorical, diagonal_gaussian, gumbel_softmax, gumbel_softmax_sample
from genzoo.distributions.observations import DiscretizedLogistic, observation
from genzoo.distributions.priors import MixturePrior, kl_or_monte_carlo, standard_normal, uniform_categorical
from genzoo.errors import GenzooError


def test_every_observation_is_registered():
    assert {"bernoulli", "gaussian", "gaussian-learned", "logistic", "categorical"} <= set(OBSERVATIONS)


def test_gaussian_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    q = diagonal_gaussian(torch.cat([torch.randn(4, 3), torch.randn(4, 3) * 0.5], 1))
    p = standard_normal(3)
    closed = kl_divergence(q, p)
    # the VAE paper's eq. 10: −KL = ½ Σ (1 + log σ² − μ² − σ²)
    mu, var = q.base_dist.loc, q.base_dist.scale**2
    assert torch.allclose(closed, -0.5 * (1 + var.log() - mu**2 - var).sum(-1), atol=1e-5)
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert torch.allclose(mc, closed, atol=0.03)


def test_diagonal_vs_full_gaussian_kl_pair_is_registered_and_exact():
    torch.manual_seed(1)
    q = diagonal_gaussian(torch.randn(5, 4))
    a = torch.randn(2, 2)
    p = MultivariateNormal(torch.randn(2), a @ a.T + torch.eye(2))
    full = MultivariateNormal(q.base_dist.loc, torch.diag_embed(q.base_dist.scale**2))
    assert torch.allclose(kl_divergence(q, p), kl_divergence(full, p), atol=1e-5)
    assert torch.allclose(kl_divergence(p, q), kl_divergence(p, full), atol=1e-4)


def test_reparameterised_gaussian_head_carries_gradient():
    params = torch.zeros(3, 4, requires_grad=True)
    diagonal_gaussian(params).rsample().sum().backward()
    assert params.grad is not None and params.grad[:, :2].abs().sum() > 0


def test_gumbel_softmax_temperature_limits():
    torch.manual_seed(0)
    logits = torch.tensor([1.0, 0.0, -1.0]).expand(20_000, 3)
    cold = gumbel_softmax(logits, 0.01).sample()
    assert (cold.max(-1).values > 0.99).float().mean() > 0.97  # (almost all) one-hot
    freq = torch.bincount(cold.argmax(-1), minlength=3).float() / 20_000
    assert torch.allclose(freq, torch.softmax(logits[0], 0), atol=0.015)  # an exact categorical draw
    hot = gumbel_softmax(logits, 1e4).sample()
    assert torch.allclose(hot, torch.full_like(hot, 1 / 3), atol=1e-3)  # uniform vector
    with pytest.raises(GenzooError, match="temperature=0"):
        gumbel_softmax(logits, 0)


def test_straight_through_gumbel_is_one_hot_with_a_gradient():
    logits = torch.randn(6, 4, requires_grad=True)
    y = gumbel_softmax_sample(logits, 0.5, hard=True)
    assert set(y.detach().unique().tolist()) <= {0.0, 1.0} and torch.all(y.detach().sum(-1) == 1)
    (y * torch.arange(4.0)).sum().backward()
    assert logits.grad.abs().sum() > 0


def test_categorical_head_and_uniform_prior_kl():
    q = categorical(torch.zeros(2, 5))
    assert torch.allclose(kl_divergence(q, uniform_categorical(5)), torch.zeros(2), atol=1e-6)
    q = categorical(torch.tensor([[10.0, -10, -10, -10, -10]]))
    assert kl_divergence(q, uniform_categorical(5)).item() == pytest.approx(math.log(5), abs=1e-3)


def test_mixture_prior_falls_back_to_an_unbiased_monte_carlo_kl():
    torch.manual_seed(0)
    prior = MixturePrior(2, components=1)  # one component: KL to it has a closed form to compare with
    with torch.no_grad():
        prior.log_scales.fill_(0.3)
    q = diagonal_gaussian(torch.tensor([[0.5, -0.2, -1.0, 0.4]])).expand((100_000,))
    with pytest.raises(NotImplementedError):
        kl_divergence(q, prior())
    estimate = kl_or_monte_carlo(q, prior()).mean()
    exact = kl_divergence(diagonal_gaussian(torch.tensor([[0.5, -0.2, -1.0, 0.4]])),
                          Independent(Normal(prior.means[0].detach(), prior.log_scales[0].exp().detach()), 1))
    assert estimate.item() == pytest.approx(exact.item(), abs=0.02)


@pytest.mark.parametrize("name,x", [("bernoulli", torch.full((1, 2), 0.5)), ("gaussian", torch.randn(1, 2)), ("gaussian-learned", torch.randn(1, 2)),
                                    ("logistic", torch.tensor([[0.0, 3 / 255]])), ("categorical", torch.tensor([[1.0, 128 / 255]]))])
def test_log_prob_sums_over_dimensions(name, x):
    obs = observation(name, (2,))
    out = torch.randn(3, obs.out_dim)
    total = obs.log_prob(out, x.expand(3, 2))
    assert total.shape == (3,)
    per_dim = obs.distribution(out).base_dist.log_prob(x.expand(3, 2))
    assert torch.allclose(total, per_dim.sum(-1))


def test_image_layouts_agree():
    obs = observation("gaussian-learned", (1, 2, 2))
    out = torch.randn(3, 2, 2, 2)
    x = torch.randn(3, 1, 2, 2)
    assert torch.allclose(obs.log_prob(out, x), obs.log_prob(out.flatten(1), x))


def test_discretised_logistic_and_categorical_are_normalised():
    grid = torch.arange(256.0) / 255
    for loc, log_s in [(0.3, -3.0), (0.0, -5.0), (0.99, -1.0), (2.0, -4.0)]:
        p = DiscretizedLogistic(torch.tensor(loc), torch.tensor(log_s)).log_prob(grid).exp().sum()
        assert p.item() == pytest.approx(1.0, abs=1e-4)
    obs = observation("categorical", (1,), levels=4)
    out = torch.randn(1, 4)
    total = sum(obs.log_prob(out, torch.tensor([[k / 3]])).exp() for k in range(4))
    assert total.item() == pytest.approx(1.0, abs=1e-6)


def test_fixed_gaussian_matches_the_formula():
    obs = observation("gaussian", (3,), sigma=0.5)
    mu, x = torch.randn(2, 3), torch.randn(2, 3)
    expected = (-0.5 * ((x - mu) / 0.5) ** 2 - math.log(0.5) - 0.5 * math.log(2 * math.pi)).sum(-1)
    assert torch.allclose(obs.log_prob(mu, x), expected, atol=1e-5)


def test_range_validation_names_the_value():
    with pytest.raises(GenzooError, match="bernoulli.*1.5"):
        observation("bernoulli", (2,)).log_prob(torch.zeros(1, 2), torch.tensor([[0.0, 1.5]]))
    with pytest.raises(GenzooError, match="-0.25"):
        observation("bernoulli", (2,)).log_prob(torch.zeros(1, 2), torch.tensor([[-0.25, 0.0]]))
    with pytest.raises(GenzooError, match="0.1234"):
        observation("logistic", (1,)).log_prob(torch.zeros(1, 2), torch.tensor([[0.1234]]))
    with pytest.raises(GenzooError, match="sigma=-1"):
        observation("gaussian", (1,), sigma=-1.0)
    with pytest.raises(GenzooError, match="nan"):
        observation("gaussian", (1,)).log_prob(torch.zeros(1, 1), torch.tensor([[float("nan")]]))
    with pytest.raises(GenzooError, match="latent size=0"):
        standard_normal(0)
