"""Mutual-information bounds on correlated Gaussians (known I) and the batch-norm entropy."""

import math

import torch
from torch import nn

from genzoo.estimators import ESTIMATORS
from genzoo.estimators.entropy import batchnorm_entropy
from genzoo.estimators.mutual_information import barber_agakov, infonce, jsd_mi, jsd_mi_bound, shuffle

D, RHO = 2, 0.8
TRUE_MI = -0.5 * D * math.log(1 - RHO**2)  # 1.0217 nats
H_Z = 0.5 * D * math.log(2 * math.pi * math.e)


def pairs(n, g=None):
    x = torch.randn(n, D, generator=g)
    z = RHO * x + math.sqrt(1 - RHO**2) * torch.randn(n, D, generator=g)
    return x, z


def critic():
    return nn.Sequential(nn.Linear(2 * D, 64), nn.ELU(), nn.Linear(64, 64), nn.ELU(), nn.Linear(64, 1))


def train(objective, params, steps=300, lr=3e-3, batch=256):
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        loss = -objective(*pairs(batch))
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_barber_agakov_stays_below_true_mi_and_tightens():
    torch.manual_seed(0)
    head, log_std = nn.Linear(D, D), nn.Parameter(torch.zeros(D))

    def bound(x, z):
        q = torch.distributions.Normal(head(x), log_std.exp())
        return barber_agakov(q.log_prob(z).sum(1), H_Z)

    x, z = pairs(20_000, torch.Generator().manual_seed(9))
    before = bound(x, z).item()
    train(bound, list(head.parameters()) + [log_std], steps=300, lr=1e-2)
    with torch.no_grad():
        after = bound(x, z).item()
    assert before < TRUE_MI - 0.5
    assert TRUE_MI - 0.05 < after < TRUE_MI + 0.02


def test_jsd_critic_gives_a_bound_below_true_mi_that_tightens():
    torch.manual_seed(0)
    t = critic()

    def dim_objective(x, z):
        return jsd_mi(t(torch.cat([x, z], 1)), t(torch.cat([x, shuffle(z)], 1)))

    def nwj(x, z, z_indep):
        return jsd_mi_bound(t(torch.cat([x, z], 1)).squeeze(1), t(torch.cat([x, z_indep], 1)).squeeze(1))

    g = torch.Generator().manual_seed(9)
    x, z = pairs(50_000, g)
    z_indep = pairs(50_000, g)[1]
    with torch.no_grad():
        before = nwj(x, z, z_indep).item()
    train(dim_objective, t.parameters(), steps=400)
    with torch.no_grad():
        after = nwj(x, z, z_indep).item()
        dim_value = dim_objective(x, z).item()
    assert before < TRUE_MI - 0.5
    assert TRUE_MI - 0.25 < after < TRUE_MI + 0.03
    assert dim_value < 0  # the DIM objective itself is ≤ 2·JS − log 4 ≤ 0, not an MI value


def test_infonce_stays_below_true_mi_and_log_n_and_tightens():
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(D, 64), nn.ELU(), nn.Linear(64, 16))
    h = nn.Sequential(nn.Linear(D, 64), nn.ELU(), nn.Linear(64, 16))
    n = 128

    def bound(x, z):
        return infonce(f(x) @ h(z).T)  # separable critic s_ij = f(x_i)·h(z_j)

    g = torch.Generator().manual_seed(9)
    with torch.no_grad():
        before = sum(bound(*pairs(n, g)).item() for _ in range(40)) / 40
    train(bound, list(f.parameters()) + list(h.parameters()), steps=300, batch=n)
    with torch.no_grad():
        after = sum(bound(*pairs(n, g)).item() for _ in range(40)) / 40
    assert abs(before) < 0.3
    assert TRUE_MI - 0.3 < after < TRUE_MI + 0.05
    assert after <= math.log(n)


def test_infonce_is_at_most_log_n():
    scores = torch.eye(16) * 1e4
    assert abs(infonce(scores).item() - math.log(16)) < 1e-6


def test_batchnorm_entropy_equals_gaussian_entropy_formula():
    torch.manual_seed(0)
    bn1, bn2 = nn.BatchNorm1d(5), nn.BatchNorm2d(3)
    with torch.no_grad():
        bn1.weight.uniform_(0.2, 3.0)
        bn2.weight.uniform_(-2.0, -0.5)  # the sign of γ does not matter
    gen = nn.Sequential(nn.Linear(4, 5), bn1, nn.ReLU(), nn.Unflatten(1, (5, 1, 1)), nn.Conv2d(5, 3, 1), bn2)
    expected = (torch.distributions.Normal(0.0, bn1.weight.abs()).entropy().sum()
                + torch.distributions.Normal(0.0, bn2.weight.abs()).entropy().sum())
    assert torch.allclose(batchnorm_entropy(gen), expected, atol=1e-5)
    # exact for one layer: x = γ ⊙ BN(h) + β has entropy Σ ½ log(2πe γ²) when BN(h) ~ N(0, I)
    cov = torch.diag(bn1.weight.detach() ** 2)
    exact = torch.distributions.MultivariateNormal(torch.zeros(5), cov).entropy()
    assert torch.allclose(batchnorm_entropy([bn1.weight]), exact, atol=1e-5)
    # differentiable in γ: raising the entropy widens the scales
    batchnorm_entropy(gen).backward()
    assert (bn1.weight.grad * bn1.weight.sign() > 0).all()


def test_estimators_are_registered():
    for name in ("barber-agakov", "jsd-mi", "jsd-mi-bound", "infonce", "batchnorm-entropy"):
        assert name in ESTIMATORS
