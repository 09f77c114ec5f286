"""Boltzmann machines: exact log Z and free energies by brute force, CD vs exact gradients,
scikit-learn's BernoulliRBM reproduced, learning beyond the independent-Bernoulli baseline, bad input."""

import copy
import itertools
import math

import numpy as np
import pytest
import torch

from genzoo.data import load
from genzoo.errors import GenzooError
from genzoo.models.base import MODELS, DataSpec
from genzoo.sampling.enumerate import binary_states

RBM, BM = MODELS.get("rbm"), MODELS.get("bm")


def _rbm(D, H, seed=0, scale=1.0, **kw):
    torch.manual_seed(seed)
    model = RBM(RBM.Config(n_hidden=H, **kw), DataSpec("points", (D,)))
    with torch.no_grad():
        model.W.normal_(0, scale)
        model.a.normal_(0, 0.5)
        model.b.normal_(0, 0.5)
    return model.double()


def _brute_log_z_bb(model):
    D, H = model.W.shape
    vh = torch.tensor(list(itertools.product([0.0, 1.0], repeat=D + H)), dtype=torch.float64)  # every (v, h)
    with torch.no_grad():
        return torch.logsumexp(-model.joint_energy(vh[:, :D], vh[:, D:]), 0).item()


@pytest.mark.parametrize("D,H", [(4, 6), (6, 3)])  # enumerates hidden, then visible
def test_rbm_exact_log_z_matches_brute_force(D, H):
    model = _rbm(D, H)
    assert model.log_partition().item() == pytest.approx(_brute_log_z_bb(model), abs=1e-9)


def test_free_energy_is_minus_log_sum_over_hidden():
    model = _rbm(5, 4, seed=1)
    v = binary_states(5, dtype=torch.float64)
    hs = binary_states(4, dtype=torch.float64)
    brute = torch.stack([-torch.logsumexp(-model.joint_energy(vi.expand(len(hs), -1), hs), 0) for vi in v])
    assert torch.allclose(model.free_energy(v), brute, atol=1e-10)
    # and the hidden free energy by the same rule
    brute_h = torch.stack([-torch.logsumexp(-model.joint_energy(v, hj.expand(len(v), -1)), 0) for hj in hs])
    assert torch.allclose(model.hidden_free_energy(hs), brute_h, atol=1e-10)


def test_gaussian_units_free_energy_and_log_z_by_quadrature():
    torch.manual_seed(0)
    # Gaussian–Bernoulli, 1 visible: integrate e^{-F(v)} on a grid; log_prob must integrate to 1
    gb = RBM(RBM.Config(n_hidden=3, visible="gaussian", sigma=0.7), DataSpec("points", (1,))).double()
    with torch.no_grad():
        gb.W.normal_(0, 1.0), gb.b.normal_(0, 0.5), gb.a.fill_(0.3)
    grid = torch.linspace(-15, 15, 60001, dtype=torch.float64).unsqueeze(1)
    dx = float(grid[1] - grid[0])
    assert float(torch.exp(gb.log_prob(grid)).sum() * dx) == pytest.approx(1.0, abs=1e-6)
    # F(v) for Gaussian visibles against a direct sum over h of e^{-E(v,h)}
    hs = binary_states(3, dtype=torch.float64)
    v = grid[::5000]
    brute = torch.stack([-torch.logsumexp(-gb.joint_energy(vi.expand(len(hs), -1), hs), 0) for vi in v])
    assert torch.allclose(gb.free_energy(v), brute, atol=1e-10)
    # Gaussian–Gaussian: log_prob equals the closed-form Gaussian marginal N(a, σ(I − WWᵀ)⁻¹σ)
    gg = RBM(RBM.Config(n_hidden=2, visible="gaussian", hidden="gaussian", sigma=0.5), DataSpec("points", (3,))).double()
    with torch.no_grad():
        gg.W.normal_(0, 0.3), gg.b.normal_(0, 0.5), gg.a.normal_(0, 1)
    W, s = gg.W, gg.sigma
    cov = torch.diag(s) @ torch.linalg.inv(torch.eye(3, dtype=torch.float64) - W @ W.T) @ torch.diag(s)
    mean = s * (torch.linalg.inv(torch.eye(3, dtype=torch.float64) - W @ W.T) @ (gg.a / s + W @ gg.b))
    x = torch.randn(7, 3, dtype=torch.float64)
    ref = torch.distributions.MultivariateNormal(mean, cov).log_prob(x)
    assert torch.allclose(gg.log_prob(x), ref, atol=1e-9)
    with torch.no_grad():
        gg.W.mul_(20)
    with pytest.raises(GenzooError, match="singular value"):
        gg.log_prob(x)


def _exact_gradient(model, data):
    """∂/∂W of the mean exact log-likelihood, by autograd through brute-force log Z."""
    W = model.W.detach().clone().requires_grad_(True)
    a, b = model.a.detach(), model.b.detach()
    vs = binary_states(W.shape[0], dtype=torch.float64)
    neg_f = lambda v: v @ a + torch.nn.functional.softplus(b + v @ W).sum(-1)  # noqa: E731
    ll = neg_f(data).mean() - torch.logsumexp(neg_f(vs), 0)
    (g,) = torch.autograd.grad(ll, W)
    return g


def _cd_gradient(model, data, k):
    """The expected CD-k gradient ⟨v μᵀ⟩_data − E_{CD-k}[v_k μ(v_k)ᵀ], exactly via the Gibbs transition matrix."""
    D, H = model.W.shape
    vs, hs = binary_states(D, dtype=torch.float64), binary_states(H, dtype=torch.float64)
    ph = model.mean_h(vs)  # (2^D, H)
    p_h_given_v = torch.prod(hs.unsqueeze(0) * ph.unsqueeze(1) + (1 - hs.unsqueeze(0)) * (1 - ph.unsqueeze(1)), -1)
    pv = model.mean_v(hs)
    p_v_given_h = torch.prod(vs.unsqueeze(0) * pv.unsqueeze(1) + (1 - vs.unsqueeze(0)) * (1 - pv.unsqueeze(1)), -1)
    T = p_h_given_v @ p_v_given_h  # (2^D, 2^D): v → v'
    idx = (data * (2 ** torch.arange(D, dtype=torch.float64))).sum(-1).long()
    dist = torch.linalg.matrix_power(T, k)[idx].mean(0)  # distribution of v_k, averaged over the data
    neg = (vs * dist[:, None]).T @ ph
    return data.T @ model.mean_h(data) / len(data) - neg


def test_cd_gradient_differs_from_exact_at_k1_and_agrees_as_k_grows():
    model = _rbm(4, 3, seed=2, scale=1.5)
    data = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 0]], dtype=torch.float64)
    exact = _exact_gradient(model, data)
    errors = {k: float((_cd_gradient(model, data, k) - exact).detach().norm() / exact.norm()) for k in (1, 3, 10, 100)}
    assert errors[1] > 0.05  # CD-1 is biased
    assert errors[1] > errors[3] > errors[10]
    assert errors[100] < 1e-4  # the chain has mixed: CD-∞ is the log-likelihood gradient
    # the model's own sampler draws the CD-1 negative phase: Monte Carlo estimate of the exact expectation
    torch.manual_seed(0)
    reps = data.repeat(20000, 1)
    v1, _, _, _ = model.gibbs.from_visible(reps, 1)
    mc = data.T @ model.mean_h(data) / len(data) - v1.T @ model.mean_h(v1) / len(v1)
    assert float((mc - _cd_gradient(model, data, 1)).detach().abs().max()) < 0.01


@pytest.mark.parametrize("low,high", [(0.1, 0.9), (0.02, 0.3)])  # half ones: dense products; 1/6: sums of rows
def test_pcd_with_mean_field_updates_matches_sklearn_bernoulli_rbm(low, high):
    """Same data, seed, learning rate, batches and the very same uniform draws → same parameters."""
    from sklearn.neural_network import BernoulliRBM

    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(100, 16)) < np.linspace(low, high, 16)).astype(np.float64)
    sk = BernoulliRBM(n_components=8, learning_rate=0.1, batch_size=10, n_iter=3, random_state=7).fit(X)

    ours = RBM(RBM.Config(n_hidden=8, training="pcd", k=1, lr=0.1, momentum_initial=0.0, momentum_final=0.0,
                          weight_decay=0.0, visible_bias_init="zero", negative_visible="sample", n_chains=10),
               DataSpec("points", (16,))).double()
    mine = np.random.RandomState(7)  # sklearn: W ~ N(0, 0.01²) first, then uniforms u < p for every Bernoulli draw
    with torch.no_grad():
        ours.W.copy_(torch.from_numpy(mine.normal(0, 0.01, (8, 16))).T)
    ours.chains.start(torch.zeros(10, 8, dtype=torch.float64))  # sklearn's h_samples_ start at 0
    ours.uniform = lambda shape, like: torch.from_numpy(mine.uniform(size=shape))
    for _ in range(3):
        for start in range(0, 100, 10):
            ours.step(torch.from_numpy(X[start:start + 10]))
    assert np.allclose(ours.W.detach().numpy().T, sk.components_, atol=1e-12)
    assert np.allclose(ours.b.detach().numpy(), sk.intercept_hidden_, atol=1e-12)
    assert np.allclose(ours.a.detach().numpy(), sk.intercept_visible_, atol=1e-12)
    assert np.allclose(ours.chains.state.numpy(), sk.h_samples_)


def _independent_bernoulli_ll(train, test):
    p = ((train.sum(0) + 1) / (len(train) + 2)).double()
    return float((test * p.log() + (1 - test) * (1 - p).log()).sum(-1).mean())


@pytest.mark.parametrize("training", ["cd", "pcd"])
def test_rbm_learns_bars_and_stripes(training):
    torch.manual_seed(0)
    ds = load("bars_stripes", n=2000, n_test=500, side=3)
    # PCD needs η → 0 (Tieleman 2008): at a constant η = 0.1 its fast-moving chains stall it near −5.6 nats
    decay = 600 if training == "pcd" else None
    model = RBM(RBM.Config(n_hidden=16, training=training, momentum_switch=200, n_chains=50, lr_decay_steps=decay), DataSpec.of(ds))
    before = float(model.log_prob(ds.test_x).mean())
    for _ in range(600):
        model.step(ds.x[torch.randint(len(ds.x), (50,))])
    after = float(model.log_prob(ds.test_x).mean())
    baseline = _independent_bernoulli_ll(ds.x, ds.test_x)  # −9 log 2 ≈ −6.2; the data's entropy is log 14 ≈ 2.64
    assert after > baseline + 1.5 and after > before + 1.5


def test_gaussian_bernoulli_rbm_learns_ring():
    torch.manual_seed(0)
    ds = load("ring8", n=4000)
    model = RBM(RBM.Config(n_hidden=12, visible="gaussian", sigma=0.2, lr=0.01, momentum_switch=200), DataSpec.of(ds))
    for _ in range(800):
        model.step(ds.x[torch.randint(len(ds.x), (100,))])
    test = ds.test_x if ds.test_x is not None else ds.x
    ll = float(model.log_prob(test).mean())
    mu, var = ds.x.mean(0), ds.x.var(0)  # the best single Gaussian with a diagonal covariance
    gauss = float(torch.distributions.Normal(mu, var.sqrt()).log_prob(test).sum(-1).mean())
    assert ll > gauss + 0.3


def test_bm_exact_log_z_matches_brute_force_and_learns():
    torch.manual_seed(0)
    ds = load("bars_stripes", n=2000, n_test=500, side=3)
    model = BM(BM.Config(lr=0.2), DataSpec.of(ds)).double()
    with torch.no_grad():
        W = torch.triu(torch.randn(9, 9, dtype=torch.float64), 1)
        model.W.copy_(W + W.T)
        model.b.normal_()
    brute = torch.logsumexp(torch.tensor([-float(model.phi(torch.tensor([x], dtype=torch.float64)).detach())
                                          for x in itertools.product([0.0, 1.0], repeat=9)], dtype=torch.float64), 0)
    assert model.log_partition().item() == pytest.approx(brute.item(), abs=1e-9)
    model = BM(BM.Config(lr=0.5), DataSpec.of(ds))
    assert model.exact_statistics  # 9 units: the model average is enumerated
    for _ in range(300):
        model.step(ds.x[torch.randint(len(ds.x), (100,))])
    assert float(model.log_prob(ds.test_x).mean()) > _independent_bernoulli_ll(ds.x, ds.test_x) + 1.0
    assert torch.allclose(model.W, model.W.T) and float(model.W.detach().diagonal().abs().max()) == 0


def test_bm_with_gibbs_statistics_learns():
    torch.manual_seed(0)
    ds = load("bars_stripes", n=2000, n_test=500, side=3)
    model = BM(BM.Config(lr=0.2, statistics="gibbs", n_chains=200), DataSpec.of(ds))
    for _ in range(300):
        model.step(ds.x[torch.randint(len(ds.x), (100,))])
    assert float(model.log_prob(ds.test_x).mean()) > _independent_bernoulli_ll(ds.x, ds.test_x) + 1.0


def test_bad_input_is_refused():
    model = RBM(RBM.Config(n_hidden=4), DataSpec("points", (3,)))
    with pytest.raises(GenzooError, match=r"0\.5.*not 0 or 1"):
        model.step(torch.tensor([[0.0, 0.5, 1.0]]))
    with pytest.raises(GenzooError, match="0.25"):
        BM(BM.Config(), DataSpec("points", (3,))).step(torch.tensor([[0.0, 0.25, 1.0]]))
    big = RBM(RBM.Config(n_hidden=30, max_enumeration_bits=20), DataSpec("points", (25,)))
    assert big.log_prob is None  # no exact likelihood offered …
    with pytest.raises(GenzooError, match=r"2\^25 states.*AIS"):  # … and asking for one names the size
        big.log_partition("exact")
    with pytest.raises(GenzooError, match=r"2\^24"):
        BM(BM.Config(), DataSpec("points", (24,))).log_partition()
    with pytest.raises(GenzooError, match="n_hidden"):
        RBM.Config(n_hidden=0)


def test_rbm_checkpoint_resumes_pcd_chains_bit_for_bit():
    ds = load("bars_stripes", n=200, side=3)
    torch.manual_seed(0)
    a = RBM(RBM.Config(n_hidden=5, training="pcd", n_chains=8), DataSpec.of(ds))
    for _ in range(3):
        a.step(ds.x[:20])
    b = RBM(RBM.Config(n_hidden=5, training="pcd", n_chains=8), DataSpec.of(ds))
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    b.opt.load_state_dict(copy.deepcopy(a.opt.state_dict()))  # as from a file: no shared momentum buffers
    state = torch.get_rng_state()
    a.step(ds.x[20:40])
    torch.set_rng_state(state)
    b.step(ds.x[20:40])
    assert a.W.equal(b.W) and a.chains.state.equal(b.chains.state) and int(a.t) == int(b.t) == 4
    assert math.isfinite(float(a.pseudo_log_likelihood(ds.x[:5]).mean()))


def test_unit_types_sum_rows_of_sparse_states_and_multiply_anything_else():
    """Bernoulli units' products with sparse 0/1 states sum rows; means, dense states and Gaussian units multiply."""
    from genzoo.sampling.units import UNITS

    bern, gauss = UNITS["bernoulli"], UNITS["gaussian"]
    g = torch.Generator().manual_seed(0)
    W, c = torch.randn(30, 7, generator=g), torch.randn(7, generator=g)
    states = (torch.rand(12, 30, generator=g) < 0.1).float()
    states[3] = 0  # a row without ones: an empty sum
    means = torch.rand(12, 30, generator=g) * 0.2
    for u in (states, means, (torch.rand(12, 30, generator=g) < 0.6).float()):
        assert torch.allclose(bern.product(u, W, c), torch.addmm(c, u, W), atol=1e-5)
        assert torch.equal(gauss.product(u, W, c), torch.addmm(c, u, W))
    m0, m1 = torch.rand(12, 7, generator=g), torch.rand(9, 7, generator=g)
    s1 = (torch.rand(9, 30, generator=g) < 0.1).float()
    dense = s1.T @ m1 / 9 - states.T @ m0 / 12
    assert torch.allclose(bern.outer_gap(s1, m1, states, m0, out=torch.empty(30, 7)), dense, atol=1e-6)
    assert torch.allclose(gauss.outer_gap(s1, m1, states, m0, out=torch.empty(30, 7)), dense, atol=1e-6)


def test_boltzmann_models_ask_their_unit_objects_not_unit_names():
    """Unit types are objects (genzoo.sampling.units): no branch on a unit-type name in the Boltzmann code."""
    import inspect
    import re

    import genzoo.models.bm
    import genzoo.models.rbm
    import genzoo.sampling.ais

    for module in (genzoo.models.rbm, genzoo.models.bm, genzoo.sampling.ais):
        code = "\n".join(line for line in inspect.getsource(module).splitlines() if not line.lstrip().startswith("#"))
        assert not re.search(r"""[!=]=\s*["'](bernoulli|gaussian)["']""", code), module.__name__
