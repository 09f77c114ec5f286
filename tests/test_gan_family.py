"""The GAN-family models: their paper's mechanics (clipping, penalty, single step, PT, k_t) and
a short learning run per model on a tiny 2-D problem."""

import pytest
import torch
from torch import nn

from genzoo import config, data
from genzoo.errors import GenzooError
from genzoo.losses.adversarial import gradient_penalty, least_squares
from genzoo.metrics import mode_coverage, wasserstein1_exact
from genzoo.models import MODELS, DataSpec


def make(name, dataset, **sets):
    cls = MODELS.get(name)
    return cls(config.build(cls.Config, sets), DataSpec.of(dataset))


@pytest.fixture(scope="module")
def grid():
    return data.load("grid25", n=20000, std=0.1)


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def batches(model, dataset, n, size=128, seed=1):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        yield dataset.x[torch.randint(0, len(dataset.x), (size * model.batches_per_step,), generator=g)]


def learn(model, dataset, steps, size=128, n_eval=500):
    """(W1, modes) of the model's samples before and after ``steps`` training steps."""
    g = torch.Generator().manual_seed(2)

    def score():
        s = model.sample(n_eval)
        ref = dataset.fresh(n_eval, g)
        return wasserstein1_exact(s, ref), mode_coverage(s, dataset.density.means, dataset.density.std)["modes"]

    before = score()
    for x in batches(model, dataset, steps, size):
        model.step(x)
    return before, score()


# ----------------------------------------------------------------------------- WGAN / WGAN-GP


def test_wgan_defaults_are_the_papers(grid):
    w = make("wgan", grid)
    assert (w.config.d_steps, w.config.clip, w.config.lr_d, w.config.lr_g) == (5, 0.01, 5e-5, 5e-5)
    assert isinstance(w.opt_d, torch.optim.RMSprop) and isinstance(w.opt_g, torch.optim.RMSprop)
    images = DataSpec("images", (1, 32, 32))
    gp = MODELS.get("wgan-gp")(config.build(MODELS.get("wgan-gp").Config, {"width": 4}), images)
    assert (gp.config.d_steps, gp.config.gp_weight, gp.config.clip, gp.config.lr_d) == (5, 10.0, None, 1e-4)
    assert isinstance(gp.opt_d, torch.optim.Adam) and gp.opt_d.defaults["betas"] == (0.0, 0.9)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in gp.D.modules())  # no BN in the critic
    clip = MODELS.get("wgan")(config.build(MODELS.get("wgan").Config, {"width": 4}), images)
    assert any(isinstance(m, nn.BatchNorm2d) for m in clip.D.modules())  # the WGAN paper's DCGAN critic


def test_weight_clipping_keeps_the_critic_in_the_box(grid):
    torch.manual_seed(0)
    model = make("wgan", grid, lr_d=1e-2, clip=0.02)  # a large step pushes weights out of the box
    params = list(model.D.parameters())
    assert all(p.abs().max() <= 0.02 for p in params)  # clipped from the start
    out = model.step(next(batches(model, grid, 1)))
    assert set(out) == {"loss_d", "loss_g", "critic_gap"}
    assert all(p.abs().max() <= 0.02 + 1e-9 for p in params)
    assert sum(int((p.abs() == 0.02).sum()) for p in params) > 100  # many weights sit on the boundary


def test_wgan_gp_penalty_reaches_the_critic_but_not_the_generator(grid):
    torch.manual_seed(0)
    model = make("wgan-gp", grid)
    x = grid.x[:64]
    fake = model.G(model.prior(64))
    penalty = model.critic_penalty(x, fake)
    penalty.backward()
    weights = [p for n, p in model.D.named_parameters() if n.endswith("weight")]  # ∇_x d ignores the last bias
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)
    assert all(p.grad is None for p in model.G.parameters())  # real and fake are detached
    # in a critic step the loss is the objective plus exactly λ·GP on the same fakes and ε
    model.D.zero_grad()
    no_gp, ref = make("wgan-gp", grid, gp_weight=0.0), make("wgan-gp", grid)
    no_gp.load_state_dict(model.state_dict())
    ref.load_state_dict(model.state_dict())
    torch.manual_seed(1)
    expected = 10.0 * gradient_penalty(ref.d, x, ref.G(ref.prior(64)))
    torch.manual_seed(1)
    with_gp = model.discriminator_step(x)
    torch.manual_seed(1)
    without = no_gp.discriminator_step(x)
    torch.testing.assert_close(with_gp["critic_gap"], without["critic_gap"])
    torch.testing.assert_close(with_gp["loss_d"] - without["loss_d"], expected.detach(), rtol=1e-5, atol=1e-6)
    assert float(expected.detach()) > 0


def test_wgan_learns_a_2d_mixture(grid):
    torch.manual_seed(0)
    # CPU budget: lr 1e-3 instead of the paper's 5e-5 (paper: thousands of generator steps)
    (w1_0, m_0), (w1, modes) = learn(make("wgan", grid, lr_d=1e-3, lr_g=1e-3), grid, 100)
    # measured over seeds 0–4 × ATen AVX2/default kernels: modes 14–19, W1/W1₀ 0.30–0.36; the
    # untrained generator covers 1 mode (W1₀ ≈ 3.6). Thresholds leave 4 modes and 0.14 of margin.
    assert w1 < 0.5 * w1_0 and modes >= 10, (w1_0, w1, m_0, modes)


def test_wgan_gp_learns_a_2d_mixture(grid):
    # CPU budget: 200 generator steps; the critic gets 4× the generator's learning rate (paper: 1e-4 both).
    # One run at this budget is not reliable: over seeds 0–4 × ATen AVX2/default kernels it covered
    # 3–16 modes at W1/W1₀ 0.36–0.85 (two of ten runs under 8 modes). Judged on the mean of two seeds
    # instead — measured 12.5 modes at 0.55 (AVX2) and 15 at 0.47 (default kernels); the untrained
    # generator covers 1 mode at W1/W1₀ = 1.
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        runs.append(learn(make("wgan-gp", grid, lr_d=2e-3, lr_g=5e-4), grid, 200))
    modes = sum(after[1] for _, after in runs) / 2
    ratio = sum(after[0] / before[0] for before, after in runs) / 2
    assert ratio < 0.7 and modes >= 8, runs


# ----------------------------------------------------------------------------- LSGAN


def test_lsgan_uses_the_configured_codes(grid):
    model = make("lsgan", grid, a=-1, b=1, c=0)
    d_real, d_fake = torch.tensor([0.2, 1.4]), torch.tensor([-0.3, 0.9, 0.1])
    got, want = model.objective(d_real, d_fake), least_squares(d_real, d_fake, -1.0, 1.0, 0.0)
    torch.testing.assert_close(got.discriminator, want.discriminator)
    torch.testing.assert_close(got.generator, want.generator)
    with pytest.raises(GenzooError, match="objective"):
        make("lsgan", grid, objective="hinge")


def test_lsgan_learns_a_2d_mixture(grid):
    torch.manual_seed(0)
    (w1_0, m_0), (w1, modes) = learn(make("lsgan", grid), grid, 300)
    # measured over seeds 0–4 × ATen AVX2/default kernels: modes 16–21, W1/W1₀ 0.27–0.30 (untrained: 1 mode)
    assert w1 < 0.5 * w1_0 and modes >= 12, (w1_0, w1, m_0, modes)


# ----------------------------------------------------------------------------- f-GAN


def _count_d_calls(model):
    calls = []
    model.D.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape[0]))
    return calls


def test_fgan_single_step_is_one_evaluation_and_moves_both_players(grid):
    torch.manual_seed(0)
    model = make("fgan", grid, divergence="kl")
    calls = _count_d_calls(model)
    d0 = [p.detach().clone() for p in model.D.parameters()]
    g0 = [p.detach().clone() for p in model.G.parameters()]
    out = model.step(grid.x[:64])
    assert calls == [64, 64]  # one pass of V on the real and one on the generated minibatch
    assert set(out) == {"loss_d", "loss_g", "bound"}
    assert all((a != b).any() for a, b in zip(d0, model.D.parameters()))
    assert all((a != b).any() for a, b in zip(g0, model.G.parameters()))
    alternating = make("fgan", grid, divergence="kl", algorithm="alternating")
    calls = _count_d_calls(alternating)
    alternating.step(grid.x[:64])
    assert calls == [64, 64, 64]  # D phase (real, fake), then G phase through the updated D


def test_fgan_single_step_is_simultaneous_gradient_descent_ascent(grid):
    """With SGD(η): ω ← ω + η∇_ω F and θ ← θ − η∇_θ(loss_G), both gradients at the SAME (θ_t, ω_t)."""
    torch.manual_seed(0)
    model = make("fgan", grid, divergence="pearson", generator_loss="saddle")
    eta = 0.05
    model.opt_d = torch.optim.SGD(model.D.parameters(), lr=eta)
    model.opt_g = torch.optim.SGD(model.G.parameters(), lr=eta)
    x = grid.x[:32]
    state = torch.random.get_rng_state()
    z = model.prior(32)
    v_real, v_fake = model.d(x), model.d(model.G(z))
    F_value = model.divergence.activation(v_real).mean() - model.divergence.conjugate_of_activation(v_fake).mean()
    d_params, g_params = list(model.D.parameters()), list(model.G.parameters())
    grad_w = torch.autograd.grad(F_value, d_params, retain_graph=True)
    grad_t = torch.autograd.grad(F_value, g_params)  # saddle: θ descends F itself
    want_d = [p.detach() + eta * g for p, g in zip(d_params, grad_w)]
    want_g = [p.detach() - eta * g for p, g in zip(g_params, grad_t)]
    torch.random.set_rng_state(state)
    model.step(x)
    for got, want in zip(d_params + g_params, want_d + want_g):
        torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-6)


def test_fgan_config_checks(grid):
    with pytest.raises(GenzooError, match="divergence"):
        make("fgan", grid, divergence="wasserstein")
    with pytest.raises(GenzooError, match="d_steps"):
        make("fgan", grid, d_steps=3)  # single step: one update of each player per minibatch
    assert make("fgan", grid, d_steps=3, algorithm="alternating").batches_per_step == 3


def test_fgan_single_step_learns_a_2d_mixture(grid):
    torch.manual_seed(0)
    # β1 = 0: simultaneous updates oscillate less without momentum (Adam lr 1e-3 as for every MLP GAN)
    (w1_0, m_0), (w1, modes) = learn(make("fgan", grid, beta1=0.0, beta2=0.9), grid, 600)
    # measured over seeds 0–4 × ATen AVX2/default kernels: modes 14–20, W1/W1₀ 0.28–0.32 (untrained: 1 mode)
    assert w1 < 0.5 * w1_0 and modes >= 10, (w1_0, w1, m_0, modes)


# ----------------------------------------------------------------------------- EBGAN


def test_ebgan_margin_defaults_to_the_data_scale(grid):
    torch.manual_seed(0)
    model = make("ebgan", grid)
    x = next(batches(model, grid, 1))
    model.step(x)
    torch.testing.assert_close(model.margin, x.var(0).mean())  # ≈ 8 on grid25: (2² + 4²)·2/5
    assert 6 < float(model.margin) < 10
    fixed = make("ebgan", grid, margin=3.0)
    fixed.step(x)
    assert float(fixed.margin) == 3.0
    # the margin is state: it survives a checkpoint round trip
    other = make("ebgan", grid)
    other.load_state_dict(model.state_dict())
    assert float(other.margin) == float(model.margin)


def test_ebgan_generator_loss_has_the_pulling_away_term(grid):
    torch.manual_seed(0)
    model = make("ebgan", grid, pt_weight=0.5)
    x = next(batches(model, grid, 1))
    torch.manual_seed(3)
    out = model.step(x)
    assert 0 < float(out["pt"]) <= 1
    # the same model and randomness without the term: L_G differs by exactly λ_PT f_PT
    torch.manual_seed(0)
    again = make("ebgan", grid, pt_weight=0.0)
    torch.manual_seed(3)
    out0 = again.step(x)
    torch.testing.assert_close(out["loss_g"] - 0.5 * out["pt"], out0["loss_g"], rtol=1e-4, atol=1e-5)


def test_ebgan_learns_a_2d_mixture(grid):
    torch.manual_seed(0)
    (w1_0, m_0), (w1, modes) = learn(make("ebgan", grid), grid, 300)
    # measured over seeds 0–4 × ATen AVX2/default kernels: modes 17–21, W1/W1₀ 0.24–0.36 (untrained: 1 mode)
    assert w1 < 0.5 * w1_0 and modes >= 12, (w1_0, w1, m_0, modes)


# ----------------------------------------------------------------------------- BEGAN


def test_began_controller_and_convergence_measure(grid):
    torch.manual_seed(0)
    model = make("began", grid, lambda_k=0.3, gamma=0.6, k0=0.4)
    seen = []
    loss = model.reconstruction_loss
    model.reconstruction_loss = lambda v: seen.append(loss(v)) or seen[-1]
    out = model.step(grid.x[:64])
    l_real, l_fake_g = seen[0].mean().detach(), seen[2].mean().detach()  # L(x), L(G(z_G))
    balance = 0.6 * l_real - l_fake_g
    torch.testing.assert_close(out["k"], (0.4 + 0.3 * balance).clamp(0, 1))  # k_{t+1}
    torch.testing.assert_close(out["M"], l_real + balance.abs())  # M_global
    torch.testing.assert_close(out["loss_d"], l_real - 0.4 * seen[1].mean().detach())  # L(x) − k_t L(G(z_D))
    big = make("began", grid, lambda_k=1e6)
    assert float(big.step(grid.x[:64])["k"]) in (0.0, 1.0)  # k stays clipped to [0, 1]


def test_began_moves_the_generator_onto_the_data():
    """BEGAN matches mean reconstruction losses only and collapses on multi-modal points (see the
    model docstring), so its learning test is a single offset Gaussian: G starts at the origin."""
    torch.manual_seed(0)
    blob = data.load("ring8", n=20000, modes=1, radius=2.0, std=0.3)
    model = make("began", blob)
    g = torch.Generator().manual_seed(2)
    w1_0 = wasserstein1_exact(model.sample(500), blob.fresh(500, g))
    for x in batches(model, blob, 300):
        model.step(x)
    w1 = wasserstein1_exact(model.sample(500), blob.fresh(500, g))
    assert w1 < 0.5 * w1_0, (w1_0, w1)


# ----------------------------------------------------------------------------- shared


@pytest.mark.parametrize("name", ["wgan", "wgan-gp", "lsgan", "fgan", "ebgan", "began"])
def test_models_train_on_images(name, digits):
    torch.manual_seed(0)
    model = make(name, digits, width=8)
    out = model.step(digits.x[: 16 * model.batches_per_step])
    assert all(torch.isfinite(v) for v in out.values())
    assert model.sample(4).shape == (4, 1, 8, 8)
    assert all(not v.requires_grad for v in out.values())
