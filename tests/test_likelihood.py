"""Likelihood interface: exact log_prob, bounds, and the IWAE estimator on a linear-Gaussian model with known log p(x)."""

from __future__ import annotations


import pytest
import torch
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal

from genzoo import data
from genzoo.errors import GenzooError
from genzoo.metrics.evaluate import evaluate
from genzoo.bench.eval_reference import plain_iw_log_likelihood
from genzoo.metrics.likelihood import iw_log_likelihood, likelihood_metrics


class LinearGaussian(nn.Module):
    """z ~ N(0, I_k), x = W z + b + ε, ε ~ N(0, σ² I_d): log p(x) = log N(x; b, W Wᵀ + σ² I) in closed form.

    The proposal is the exact posterior N(μ(x), S) with S = (I + WᵀW/σ²)⁻¹, μ(x) = S Wᵀ(x − b)/σ²,
    deliberately spoiled by a mean ``shift`` and a covariance factor ``scale²`` (1 and 0: exact).
    """

    def __init__(self, d: int = 5, k: int = 2, sigma: float = 0.5, shift: float = 0.0, scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn(d, k, generator=g, dtype=torch.float64))
        self.b = nn.Parameter(torch.randn(d, generator=g, dtype=torch.float64))
        self.sigma, self.shift, self.scale, self.k = sigma, shift, scale, k

    def exact_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        cov = self.W @ self.W.T + self.sigma**2 * torch.eye(self.W.shape[0], dtype=torch.float64)
        return MultivariateNormal(self.b, cov).log_prob(x)

    def sample(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.k, dtype=torch.float64)
        return z @ self.W.T + self.b + self.sigma * torch.randn(n, self.W.shape[0], dtype=torch.float64)

    def proposal(self, x: torch.Tensor) -> torch.distributions.Distribution:
        s = torch.linalg.inv(torch.eye(self.k, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2)
        mu = (x - self.b) @ self.W @ s / self.sigma**2 + self.shift
        return MultivariateNormal(mu, self.scale**2 * s.expand(x.shape[0], -1, -1))

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        prior = Independent(Normal(torch.zeros_like(z), 1.0), 1).log_prob(z)
        lik = Independent(Normal(z @ self.W.T + self.b, self.sigma), 1).log_prob(x.expand_as(z @ self.W.T))
        return prior + lik


@torch.no_grad()
def test_exact_posterior_gives_exact_log_likelihood_with_one_sample():
    model = LinearGaussian()
    x = model.sample(50)
    torch.manual_seed(0)
    # log p(x, z) − log p(z|x) = log p(x) for every z: zero-variance weights
    assert torch.allclose(iw_log_likelihood(model, x, k=1), model.exact_log_prob(x), atol=1e-9)


@torch.no_grad()
def test_iw_estimate_is_a_lower_bound_that_converges_as_k_grows():
    model = LinearGaussian(shift=0.4, scale=1.6)
    torch.manual_seed(1)
    x = model.sample(200)
    exact = model.exact_log_prob(x).mean().item()
    gaps = {}
    for k in (1, 10, 100, 2000):  # K = 2000 runs in 8 chunks of 256: the chunk-wise logsumexps must combine exactly
        est = torch.stack([iw_log_likelihood(model, x, k=k) for _ in range(3)]).mean().item()
        gaps[k] = exact - est
    # Burda et al.: E[L_K] ≤ log p(x), non-decreasing in K, → log p(x)
    assert gaps[1] > 0.1, gaps  # the spoilt proposal leaves a clear ELBO gap
    assert gaps[1] > gaps[10] > gaps[100] > gaps[2000] > -0.005, gaps
    assert gaps[2000] < 0.01, gaps


class WithExactAndBound(LinearGaussian):
    def log_prob(self, x):
        return self.exact_log_prob(x)

    def elbo(self, x):
        return iw_log_likelihood(self, x, k=1)


class OnlyBound(nn.Module):
    """A model that exposes a bound only: it must be reported as ``elbo``, never as a likelihood."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def elbo(self, x):
        return -0.5 * (x**2).sum(1) - 7.0


@torch.no_grad()
def test_likelihood_metrics_reports_each_capability_under_its_own_name():
    model = WithExactAndBound(shift=0.4, scale=1.6)
    torch.manual_seed(2)
    x = model.sample(300)
    out = likelihood_metrics(model, x, k=500, batch=128)
    exact = model.exact_log_prob(x).mean().item()
    assert out["log_likelihood"] == pytest.approx(exact, abs=1e-9)
    assert out["iw_k"] == 500
    assert out["elbo"] < out["log_likelihood_iw"] < exact + 0.005
    assert exact - out["log_likelihood_iw"] < 0.06

    only = likelihood_metrics(OnlyBound(), x.float())
    assert set(only) == {"elbo"}
    assert only["elbo"] == pytest.approx((-0.5 * (x**2).sum(1) - 7.0).mean().item(), rel=1e-5)
    assert likelihood_metrics(nn.Linear(2, 2), x) == {}


def test_encode_returning_a_distribution_serves_as_proposal():
    class Encoded(LinearGaussian):
        encode = LinearGaussian.proposal
        proposal = None

    model = Encoded()
    x = model.sample(10)
    with torch.no_grad():
        assert torch.allclose(iw_log_likelihood(model, x, k=1), model.exact_log_prob(x), atol=1e-9)


def test_bad_input_is_refused_with_a_named_value():
    model = LinearGaussian()
    x = model.sample(4)
    with pytest.raises(GenzooError, match="k=0"):
        iw_log_likelihood(model, x, k=0)
    with pytest.raises(GenzooError, match="log_joint"):
        iw_log_likelihood(OnlyBound(), x, k=4)

    class BadProposal(LinearGaussian):
        def proposal(self, x):
            return x

    with pytest.raises(GenzooError, match="Distribution"):
        iw_log_likelihood(BadProposal(), x, k=2)
    with pytest.raises(GenzooError, match="non-finite"):
        likelihood_metrics(model, torch.full((3, 5), float("nan")))


class TrueMixture(nn.Module):
    """The data's own density as a model: evaluate must report its exact test log-likelihood."""

    def __init__(self, density) -> None:
        super().__init__()
        self.density = density
        self.dummy = nn.Parameter(torch.zeros(()))

    def sample(self, n):
        return self.density.sample(n, torch.Generator().manual_seed(123))

    def log_prob(self, x):
        return self.density.log_prob(x)


def test_evaluate_reports_the_exact_test_log_likelihood():
    ds = data.load("ring8")
    model = TrueMixture(ds.density)
    out = evaluate(model, ds, n=400)
    x = ds.fresh(500, torch.Generator().manual_seed(2))  # evaluate's likelihood draw: seed + 2, N_LIKELIHOOD = 500
    assert out["log_likelihood"] == pytest.approx(ds.density.log_prob(x).mean().item(), rel=1e-6)
    assert out["modes"] == 8 and "elbo" not in out
    # the exact density of a ring with std 0.01: ≈ −log(8 ... ) per point — far above a broad Gaussian's
    assert out["log_likelihood"] > 2.0


# ---- the chunked computation against the plain one ------------------------------------------------


@torch.no_grad()
@pytest.mark.parametrize("memory", [None, 1, 200_000])
def test_sub_chunked_iw_equals_the_plain_computation_bit_for_bit(memory):
    # the same draws in the same order, log weights row by row into one buffer: torch.equal, not approx
    from genzoo.models import MODELS, DataSpec

    V = MODELS.get("vae")
    torch.manual_seed(0)
    model = V(V.Config(arch="mlp", latent_dim=8, hidden=64, observation="bernoulli"), DataSpec("images", (64,), 0)).eval()
    x = (torch.rand(40, 64) < 0.3).float()
    for k in (1, 37, 300):  # one sample, one partial chunk, a full chunk plus a partial one
        torch.manual_seed(k)
        plain = plain_iw_log_likelihood(model, x, k)
        torch.manual_seed(k)
        fast = iw_log_likelihood(model, x, k, memory=memory)
        assert torch.equal(fast, plain), (k, memory)


def test_available_memory_reads_meminfo():
    from genzoo.resources import available_memory

    assert available_memory() > 2**20
