"""Langevin, MALA and the replay buffer against known answers."""

import pytest
import torch

from genzoo.errors import GenzooError
from genzoo.sampling import SAMPLERS
from genzoo.sampling.langevin import Langevin, discriminator_energy, energy_and_grad, langevin
from genzoo.sampling.replay import ReplayBuffer

MU = torch.tensor([1.0, -2.0])
COV = torch.tensor([[1.0, 0.6], [0.6, 0.5]])
PREC = torch.linalg.inv(COV)


def gaussian_energy(x):
    d = x - MU
    return 0.5 * ((d @ PREC) * d).sum(1)


def moments(x):
    return x.mean(0), torch.cov(x.T)


def test_langevin_recovers_gaussian_mean_and_covariance():
    torch.manual_seed(0)
    # small tied step: ULA's stationary covariance is off by O(η)
    x, stats = langevin(gaussian_energy, torch.randn(4000, 2) * 3, steps=600, step_size=0.01)
    mean, cov = moments(x)
    assert torch.allclose(mean, MU, atol=0.06)
    assert torch.allclose(cov, COV, atol=0.06)
    assert stats.acceptance == 1.0


def test_mala_recovers_gaussian_with_large_step_where_ula_is_biased():
    torch.manual_seed(1)
    x0 = torch.randn(4000, 2)
    # η = 0.12 with the smallest covariance eigenvalue 0.1 (ULA variance λ/(1 − η/2λ) = 0.25): ULA's covariance is far off, MALA's is exact
    ula, _ = langevin(gaussian_energy, x0, steps=300, step_size=0.12)
    mala, stats = langevin(gaussian_energy, x0, steps=300, step_size=0.12, metropolis=True)
    _, cov_ula = moments(ula)
    mean, cov = moments(mala)
    assert torch.allclose(mean, MU, atol=0.06)
    assert torch.allclose(cov, COV, atol=0.06)
    assert (cov_ula - COV).abs().max() > 0.1  # the correction is doing the work
    assert 0.2 < stats.acceptance < 1.0


def test_mala_with_independent_noise_scale_still_targets_the_energy():
    torch.manual_seed(2)
    x, _ = langevin(gaussian_energy, torch.randn(4000, 2), steps=400, step_size=0.02, noise=0.5, metropolis=True)
    mean, cov = moments(x)
    assert torch.allclose(mean, MU, atol=0.06)
    assert torch.allclose(cov, COV, atol=0.06)


def test_untied_noise_without_correction_samples_a_tempered_density():
    # ULA with σ² ≠ 2η targets exp(−E/T), T = σ²/(2η): covariance T·Σ (here T = 0.25)
    torch.manual_seed(3)
    x, _ = langevin(gaussian_energy, torch.randn(4000, 2), steps=800, step_size=0.01, noise=0.0707)
    _, cov = moments(x)
    assert torch.allclose(cov, 0.25 * COV, atol=0.03)


def test_gradient_clipping_bounds_each_move():
    x0 = torch.full((5, 2), 50.0)
    x, _ = langevin(gaussian_energy, x0, steps=1, step_size=1.0, noise=0.0, grad_clip=0.1)
    assert torch.allclose((x - x0).abs(), torch.full_like(x, 0.1), atol=1e-5)


def test_sampler_runs_under_no_grad_and_leaves_parameter_gradients_alone():
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        x = Langevin(steps=5, step_size=0.1, noise=0.01)(discriminator_energy(net), torch.zeros(8, 2))
    assert not x.requires_grad and net.weight.grad is None
    assert not torch.equal(x, torch.zeros(8, 2))
    # E = −d: the drift climbs the discriminator's logit
    _, g = energy_and_grad(discriminator_energy(net), torch.zeros(3, 2))
    assert torch.allclose(g, -net.weight.detach().expand(3, 2))


def test_bad_langevin_settings_are_errors():
    with pytest.raises(GenzooError, match="steps=-1"):
        langevin(gaussian_energy, torch.zeros(2, 2), steps=-1, step_size=0.1)
    with pytest.raises(GenzooError, match="step_size=-0.1"):
        langevin(gaussian_energy, torch.zeros(2, 2), steps=1, step_size=-0.1)
    with pytest.raises(GenzooError, match="noise"):
        langevin(gaussian_energy, torch.zeros(2, 2), steps=1, step_size=0.1, noise=0.0, metropolis=True)


def test_samplers_are_registered_with_what_they_apply_to():
    for name in ("langevin", "replay", "ddls"):
        cls = SAMPLERS.get(name)
        assert cls.__doc__ and cls.applies_to


def _buffer():
    return ReplayBuffer(capacity=50, shape=(2,), noise=lambda n: torch.rand(n, 2) * 4 - 2, reinit=0.05)


def _iterate(buf, k):
    out = []
    for _ in range(k):
        x0 = buf.draw(16)
        x, _ = langevin(gaussian_energy, x0, steps=3, step_size=0.05)
        buf.push(x)
        out.append(x)
    return torch.stack(out)


def test_replay_buffer_resumes_bit_for_bit():
    torch.manual_seed(0)
    a = _buffer()
    _iterate(a, 7)  # past capacity: the ring has wrapped
    state = {k: v.clone() for k, v in a.state_dict().items()}
    rng = torch.get_rng_state()
    continued = _iterate(a, 5)

    b = _buffer()
    b.load_state_dict(state)
    torch.set_rng_state(rng)
    resumed = _iterate(b, 5)
    assert torch.equal(continued, resumed)
    assert torch.equal(a.store, b.store) and int(a.written) == int(b.written) == 16 * 12


def test_replay_buffer_reinitialises_about_five_percent_from_noise():
    torch.manual_seed(0)
    buf = ReplayBuffer(capacity=1000, shape=(2,), noise=lambda n: torch.full((n, 2), -7.0))
    assert torch.equal(buf.draw(3), torch.full((3, 2), -7.0))  # empty: all noise
    buf.push(torch.zeros(1000, 2))
    x = buf.draw(20000)
    share = (x[:, 0] == -7.0).float().mean().item()
    assert abs(share - 0.05) < 0.01
