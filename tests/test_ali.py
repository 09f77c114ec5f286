"""ALI and BiGAN: the joint game's losses, and an encoder that learns to invert a linear generator."""

import pytest
import torch
import torch.nn.functional as F

from genzoo import config
from genzoo.data import Dataset
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec


def make(name, dataset, **sets):
    cls = MODELS.get(name)
    return cls(config.build(cls.Config, sets), DataSpec.of(dataset))


def linear_toy(n=4000, seed=0):
    """x = W z with z ~ N(0, I₂) in R⁴: a generator that an encoder can invert exactly."""
    g = torch.Generator().manual_seed(seed)
    w = torch.tensor([[2.0, 0.5], [-0.5, 1.0], [1.0, 1.0], [0.0, -1.5]])
    z = torch.randn(n, 2, generator=g)
    return Dataset("linear", z @ w.T, "points"), z


def recovery(model, x, z):
    """(R² of the best affine map E(x) → z, mean squared reconstruction error ‖G(E(x)) − x‖²)."""
    e = model.encode(x)
    a = torch.cat([e, torch.ones(len(e), 1)], 1)
    fit = a @ torch.linalg.lstsq(a, z).solution
    r2 = 1 - ((fit - z) ** 2).sum() / ((z - z.mean(0)) ** 2).sum()
    return float(r2), float(((model.reconstruct(x) - x) ** 2).mean())


@pytest.mark.parametrize("name", ["ali", "bigan"])
def test_encoder_recovers_z_of_a_linear_generator(name):
    ds, z = linear_toy()
    torch.manual_seed(0)
    m = make(name, ds, z_dim=2, hidden=64, prior="normal", lr_g=2e-3, lr_d=2e-3)
    x_eval, z_eval = ds.x[:1000], z[:1000]
    r2_0, rec_0 = recovery(m, x_eval, z_eval)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        m.step(ds.x[torch.randint(0, len(ds.x), (64,), generator=g)])
    r2, rec = recovery(m, x_eval, z_eval)
    null = float(((x_eval - x_eval.roll(1, 0)) ** 2).mean())  # G(E(x)) replaced by another data point
    assert r2 > 0.9 and r2 > r2_0 + 0.1, (r2_0, r2)
    assert rec < 0.6 * rec_0 and rec < 0.4 * null, (rec_0, rec, null)


@pytest.mark.parametrize("name", ["ali", "bigan"])
def test_joint_losses_match_the_papers(name):
    ds, _ = linear_toy(64)
    torch.manual_seed(0)
    m = make(name, ds, z_dim=2, hidden=8)
    x = ds.x[:16]

    def by_hand():
        if m.config.stochastic:
            mu, log_sigma = m.E(x).chunk(2, 1)
            z_hat = mu + log_sigma.clamp(-10, 5).exp() * torch.randn_like(mu)
        else:
            z_hat = m.E(x)
        return z_hat

    torch.manual_seed(1)
    with torch.no_grad():
        fake = m.fakes(16)
    loss_d, _ = m.discriminator_loss(x, fake)
    torch.manual_seed(1)
    z = m.prior(16)
    x_tilde = m.G(z)
    z_hat = by_hand()
    # −log D(x, ẑ) − log(1 − D(x̃, z)) with D = σ(d)
    expect_d = -torch.log(torch.sigmoid(m.d(x, z_hat))).mean() - torch.log(1 - torch.sigmoid(m.d(x_tilde, z))).mean()
    torch.testing.assert_close(loss_d, expect_d)
    torch.manual_seed(2)
    loss_ge, _ = m.generator_loss(x, m.fakes(16))
    torch.manual_seed(2)
    z = m.prior(16)
    d_fake = m.d(m.G(z), z)
    d_real = m.d(x, by_hand())
    # label swap: G wants D(G(z), z) → 1, E wants D(x, E(x)) → 0
    expect = -torch.log(torch.sigmoid(d_fake)).mean() - torch.log(1 - torch.sigmoid(d_real)).mean()
    torch.testing.assert_close(loss_ge, expect)
    torch.testing.assert_close(F.softplus(-d_fake).mean(), -torch.log(torch.sigmoid(d_fake)).mean())


def test_priors_encoders_and_bad_input():
    ds, _ = linear_toy(64)
    bigan, ali = make("bigan", ds, hidden=8), make("ali", ds, hidden=8, z_dim=3)
    z = bigan.prior(1000)
    assert bigan.config.z_dim == 50 and z.min() >= -1 and z.max() <= 1 and z.std() > 0.5  # U[−1, 1]^50
    assert ali.encode(ds.x[:5]).shape == (5, 3) and ali.decode(torch.zeros(5, 3)).shape == (5, 4)
    with pytest.raises(GenzooError, match="objective='lsgan'"):
        make("ali", ds, objective="lsgan")
    with pytest.raises(GenzooError, match=r"decode needs codes of shape \(N, 3\)"):
        ali.decode(torch.zeros(5, 2))
    with pytest.raises(GenzooError, match="encode needs data"):
        ali.encode(torch.zeros(5, 3))
