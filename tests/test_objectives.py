"""Every adversarial objective against its paper's equation, on fixed tensors and closed forms."""

import math

import pytest
import scipy.integrate
import torch
from torch import nn

from genzoo.losses import OBJECTIVES
from genzoo.losses.adversarial import (
    began_losses,
    ebgan_margin,
    gradient_penalty,
    least_squares,
    pulling_away,
)
from genzoo.losses.fgan import DIVERGENCES, fgan_loss, variational_bound

D_REAL = torch.tensor([0.3, -1.2, 2.0, 0.7])
D_FAKE = torch.tensor([-0.5, 0.8, -2.5])
ROWS = tuple(DIVERGENCES)  # every registered row: a new row is tested with no edit here


def close(a, b, **kw):
    torch.testing.assert_close(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64), **kw)


# ----------------------------------------------------------------------------- WGAN, hinge, LSGAN


def test_wasserstein_critic_and_generator():
    loss = OBJECTIVES.get("wasserstein")(D_REAL, D_FAKE)
    close(loss.discriminator, D_FAKE.mean() - D_REAL.mean())  # critic maximises E d(x) − E d(G(z))
    close(loss.generator, -D_FAKE.mean())


def test_hinge():
    loss = OBJECTIVES.get("hinge")(D_REAL, D_FAKE)
    # relu(1 − d_real) = [0.7, 2.2, 0, 0.3]; relu(1 + d_fake) = [0.5, 1.8, 0]
    close(loss.discriminator, (0.7 + 2.2 + 0 + 0.3) / 4 + (0.5 + 1.8 + 0) / 3)
    close(loss.generator, -D_FAKE.mean())


@pytest.mark.parametrize("name, abc", [("lsgan", (0.0, 1.0, 1.0)), ("lsgan-abc", (-1.0, 1.0, 0.0))])
def test_least_squares_settings_of_the_paper(name, abc):
    a, b, c = abc
    loss = OBJECTIVES.get(name)(D_REAL, D_FAKE)
    close(loss.discriminator, 0.5 * ((D_REAL - b) ** 2).mean() + 0.5 * ((D_FAKE - a) ** 2).mean())
    close(loss.generator, 0.5 * ((D_FAKE - c) ** 2).mean())


def test_lsgan_optimal_d_and_pearson_chi2_theorem():
    """Mao et al. §3.2: D* = (b p + a q)/(p + q); with b − c = 1, b − a = 2 the generator's value
    (with the paper's extra E_p term) is 2C(G) = χ²_Pearson(p + q ‖ 2q) = Σ (2q − (p + q))² / (p + q)."""
    counts_p = torch.tensor([1, 2, 3, 4, 5, 5])
    counts_q = torch.tensor([5, 5, 4, 3, 2, 1])
    p, q = counts_p / counts_p.sum(), counts_q / counts_q.sum()
    a, b, c = -1.0, 1.0, 0.0
    d_star = (b * p + a * q) / (p + q)
    d = d_star.clone().requires_grad_(True)
    loss_d = least_squares(d.repeat_interleave(counts_p), d.repeat_interleave(counts_q), a, b, c).discriminator
    (grad,) = torch.autograd.grad(loss_d, d)
    close(grad, torch.zeros(6), atol=1e-7, rtol=0)  # D* is the minimiser of D's loss
    value = (least_squares(None, d_star.repeat_interleave(counts_p), a, b, c).generator
             + least_squares(None, d_star.repeat_interleave(counts_q), a, b, c).generator)
    close(2 * value, ((2 * q - (p + q)) ** 2 / (p + q)).sum())


def test_every_generator_loss_pushes_fakes_toward_real():
    """For every registered objective, G's loss decreases as D rates a fake as more real."""
    for name, obj in OBJECTIVES.items():
        d_fake = torch.full((3,), -0.5, requires_grad=True)
        d_real = torch.full((3,), 0.5) if obj.generator_uses_real else None
        (g,) = torch.autograd.grad(obj(d_real, d_fake).generator, d_fake)
        assert (g < 0).all(), (name, g)


# ----------------------------------------------------------------------------- f-GAN table

U = torch.linspace(0.05, 20.0, 2001, dtype=torch.float64)


@pytest.mark.parametrize("name", ROWS)
def test_fenchel_duality_identity(name):
    """f*(f'(u)) + f(u) = u f'(u): the supremum in f*(t) = sup_u t u − f(u) is attained at t = f'(u)."""
    div = DIVERGENCES.get(name)
    u = U[(U - 1).abs() > 1e-6]  # TV is not differentiable at u = 1
    t = div.f_prime(u)
    assert div.in_domain(t).all()
    close(div.conjugate(t) + div.f(u), u * t, rtol=1e-9, atol=1e-9)
    # f(1) = 0, except the GAN row whose D_f = 2·JS − log 4 has f(1) = −log 4
    close(div.f(torch.ones(1, dtype=torch.float64)), [-math.log(4) if name == "gan" else 0.0])
    if name != "tv":
        close(div.f_prime(torch.ones(1, dtype=torch.float64)), [div.f_prime_at_1])


@pytest.mark.parametrize("name", ROWS)
def test_output_activation_maps_into_dom_f_star(name):
    div = DIVERGENCES.get(name)
    v = torch.linspace(-30, 30, 601, dtype=torch.float64)
    t = div.activation(v)
    assert div.in_domain(t).all(), name
    small = v.abs() <= 5
    close(div.conjugate_of_activation(v[small]), div.conjugate(t[small]), rtol=1e-9, atol=1e-12)
    assert torch.isfinite(div.conjugate_of_activation(v)).all()


def test_table_6_rows():
    """Spot values of g_f and f* straight from Table 6 of Nowozin et al. 2016."""
    v = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    gan, js, rkl, hel, tv = (DIVERGENCES.get(n) for n in ("gan", "js", "reverse-kl", "hellinger", "tv"))
    close(gan.activation(v), -torch.log(1 + torch.exp(-v)))
    close(gan.conjugate(torch.tensor([-0.3], dtype=torch.float64)), [-math.log(1 - math.exp(-0.3))])
    close(js.activation(v), math.log(2) - torch.log(1 + torch.exp(-v)))
    close(js.conjugate(torch.tensor([0.2], dtype=torch.float64)), [-math.log(2 - math.exp(0.2))])
    close(rkl.activation(v), -torch.exp(-v))
    close(rkl.conjugate(torch.tensor([-2.0], dtype=torch.float64)), [-1 - math.log(2)])
    close(hel.activation(v), 1 - torch.exp(-v))
    close(hel.conjugate(torch.tensor([0.5], dtype=torch.float64)), [1.0])
    close(tv.activation(v), 0.5 * torch.tanh(v))


@pytest.mark.parametrize("name", ROWS)
def test_fgan_objective_equation(name):
    div = DIVERGENCES.get(name)
    loss = OBJECTIVES.get(f"fgan-{name}")(D_REAL, D_FAKE)
    g, fstar = div.activation, div.conjugate
    F_value = g(D_REAL).mean() - fstar(g(D_FAKE)).mean()  # F = E_p[g_f(v)] − E_q[f*(g_f(v))]
    close(loss.discriminator, -F_value, rtol=1e-6, atol=1e-6)
    close(loss.generator, -g(D_FAKE).mean())  # the paper's §3.2 generator loss
    critic, saddle = fgan_loss(div, D_REAL, D_FAKE, generator="saddle")
    close(saddle, -fstar(g(D_FAKE)).mean(), rtol=1e-6, atol=1e-6)  # θ minimises F (its E_q term)
    close(variational_bound(div, D_REAL, D_FAKE), F_value, rtol=1e-6, atol=1e-6)


def test_fgan_gan_row_is_the_original_gan():
    fg = OBJECTIVES.get("fgan-gan")(D_REAL, D_FAKE)
    close(fg.discriminator, OBJECTIVES.get("minimax")(D_REAL, D_FAKE).discriminator)
    close(fg.generator, OBJECTIVES.get("nonsaturating")(D_REAL, D_FAKE).generator)


def _gauss_log(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)


def _closed_form(name, m1, s1, m2, s2):
    """D_f(N(m1, s1²) ‖ N(m2, s2²)) in closed form (JS, GAN: adaptive quadrature of the definition)."""
    kl = lambda a, sa, b, sb: math.log(sb / sa) + (sa**2 + (a - b) ** 2) / (2 * sb**2) - 0.5
    if name == "kl":
        return kl(m1, s1, m2, s2)
    if name == "reverse-kl":
        return kl(m2, s2, m1, s1)
    if name == "pearson":  # ∫ p²/q − 1, finite for 2 s2² > s1²
        return s2**2 / (s1 * math.sqrt(2 * s2**2 - s1**2)) * math.exp((m1 - m2) ** 2 / (2 * s2**2 - s1**2)) - 1
    if name == "hellinger":  # 2 − 2·Bhattacharyya coefficient
        bc = math.sqrt(2 * s1 * s2 / (s1**2 + s2**2)) * math.exp(-((m1 - m2) ** 2) / (4 * (s1**2 + s2**2)))
        return 2 - 2 * bc
    if name == "tv":  # equal variances
        assert s1 == s2
        return math.erf(abs(m1 - m2) / (2 * math.sqrt(2) * s1))
    shift = math.log(2) if name == "js" else 0.0

    def integrand(x):
        lp, lq = _gauss_log(x, m1, s1), _gauss_log(x, m2, s2)
        lm = math.log(math.exp(lp) + math.exp(lq))
        return math.exp(lp) * (shift + lp - lm) + math.exp(lq) * (shift + lq - lm)

    return scipy.integrate.quad(integrand, -30, 30, limit=200)[0]


@pytest.mark.parametrize("name", ROWS)
def test_variational_bound_at_optimal_critic_equals_divergence(name):
    """With T* = f'(p/q), E_p[T*] − E_q[f*(T*)] = D_f(p ‖ q) for two known Gaussians."""
    div = DIVERGENCES.get(name)
    m1, s1, m2, s2 = 0.3, 0.8, -0.2, (0.8 if name == "tv" else 1.1)
    x = torch.linspace(-15, 15, 60001, dtype=torch.float64)
    lp, lq = _gauss_log(x, m1, s1), _gauss_log(x, m2, s2)
    t_star = div.optimal_critic(lp, lq)
    bound = torch.trapezoid(lp.exp() * t_star - lq.exp() * div.conjugate(t_star), x)
    exact = _closed_form(name, m1, s1, m2, s2)
    close(bound, exact, rtol=1e-6, atol=1e-7)
    close(div.divergence(lp, lq, x), exact, rtol=1e-6, atol=1e-7)  # the numerics of experiment 2
    # any other critic gives a smaller value (the bound is a lower bound)
    worse = t_star * 0.9 if name != "tv" else torch.zeros_like(t_star)
    assert float(torch.trapezoid(lp.exp() * worse - lq.exp() * div.conjugate(worse), x)) < exact


@pytest.mark.parametrize("name", ROWS)
def test_log_space_integrand_is_q_f_of_ratio(name):
    div = DIVERGENCES.get(name)
    lp = torch.linspace(-8, 1, 37, dtype=torch.float64)[:, None].expand(37, 37)
    lq = lp.T
    close(div.integrand(lp, lq), lq.exp() * div.f((lp - lq).exp()), rtol=1e-7, atol=1e-12)


# ----------------------------------------------------------------------------- WGAN-GP


def test_gradient_penalty_on_a_linear_critic():
    """d(x) = wᵀx + b has ∇_x d = w everywhere, so the penalty is exactly (‖w‖ − 1)²."""
    torch.manual_seed(0)
    critic = nn.Linear(3, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[2.0, -1.0, 0.5]]))
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    gp = gradient_penalty(critic, real, fake)
    norm = math.sqrt(4 + 1 + 0.25)
    close(gp, (norm - 1) ** 2, rtol=1e-6, atol=1e-6)
    # its gradient reaches the critic's weights: ∂/∂w (‖w‖ − 1)² = 2(‖w‖ − 1) w / ‖w‖
    (grad_w,) = torch.autograd.grad(gp, critic.weight)
    close(grad_w, 2 * (norm - 1) * critic.weight.detach() / norm, rtol=1e-5, atol=1e-6)


def test_gradient_penalty_differentiates_a_nonlinear_critic_and_spares_the_generator():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    gen = nn.Linear(4, 2)
    real, fake = torch.randn(32, 2), gen(torch.randn(32, 4))  # fake still attached to G
    gradient_penalty(critic, real, fake).backward()
    first_layer = critic[0].weight.grad
    assert first_layer is not None and first_layer.abs().sum() > 0  # create_graph=True at work
    assert all(p.grad is None for p in gen.parameters())  # the critic update never reaches G


# ----------------------------------------------------------------------------- EBGAN, BEGAN


def test_pulling_away_term_by_hand():
    s = torch.tensor([[1.0, 0.0], [3.0, 3.0], [0.0, 2.0]])
    # cos² = 1/2 (1,2), 0 (1,3), 1/2 (2,3); Σ_{i≠j} = 2·1 = 2; N(N − 1) = 6
    close(pulling_away(s), 1 / 3)
    assert abs(pulling_away(s).item() - 2 * (2**-0.5 + 2**-0.5) / 6) > 0.1  # not the unsquared cosine
    close(pulling_away(torch.eye(5) * torch.arange(1.0, 6.0)[:, None]), 0.0)  # orthogonal → 0
    v = torch.tensor([0.3, -1.0, 2.0])
    close(pulling_away(torch.stack([v, 2 * v, -0.5 * v, 7 * v])), 1.0)  # parallel (either sign) → 1
    close(pulling_away(torch.eye(4).view(4, 1, 2, 2)), 0.0)  # conv codes (N, C, H, W) are flattened per sample


def test_ebgan_margin_loss():
    e_real, e_fake = torch.tensor([0.2, 0.4]), torch.tensor([0.5, 3.0, 1.0], requires_grad=True)
    loss = ebgan_margin(e_real, e_fake, margin=2.0)
    close(loss.discriminator, 0.3 + (1.5 + 0.0 + 1.0) / 3)  # D(x) + [m − D(G(z))]⁺
    close(loss.generator, e_fake.mean())
    (g,) = torch.autograd.grad(loss.discriminator, e_fake)
    close(g, [-1 / 3, 0.0, -1 / 3])  # fakes already above the margin get no push


def test_began_losses():
    lx, lfd, lfg = torch.tensor([0.2, 0.4]), torch.tensor([0.6, 0.1]), torch.tensor([0.5, 0.3])
    loss = began_losses(lx, lfd, lfg, k=0.25)
    close(loss.discriminator, 0.3 - 0.25 * 0.35)  # L(x) − k_t L(G(z_D))
    close(loss.generator, 0.4)  # L(G(z_G))


def test_fgan_temperature_scales_the_critic_output_before_the_activation():
    """T = g_f(V/τ): the TV remedy of docs/objectives.md; τ = 1 is the paper's objective."""
    from genzoo import config
    from genzoo.models import MODELS, DataSpec

    tv = DIVERGENCES.get("tv")
    for tau in (1.0, 4.0):
        sets = {"divergence": "tv", "temperature": tau, "hidden": 8}
        model = MODELS.get("fgan")(config.build(MODELS.get("fgan").Config, sets), DataSpec("points", (2,)))
        critic, gen = model.objective(D_REAL, D_FAKE)
        close(critic, -(tv.activation(D_REAL / tau).mean() - tv.activation(D_FAKE / tau).mean()), rtol=1e-6, atol=1e-6)
        close(gen, -tv.activation(D_FAKE / tau).mean(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        config.build(MODELS.get("fgan").Config, {"temperature": 0})


# ----------------------------------------------------------------------------- discovery: one file, no other edit


@pytest.fixture
def scratch_losses_module(tmp_path, monkeypatch):
    """Place a module on ``genzoo.losses``'s path (as a new file in the package would be) and have the
    loss registries discover again; everything is restored afterwards, so other tests see the real registries."""
    import sys

    import genzoo.losses

    names = []

    def place(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        names.append(f"genzoo.losses.{name}")
        return name

    monkeypatch.setattr(genzoo.losses, "__path__", [*genzoo.losses.__path__, str(tmp_path)])
    for registry in (OBJECTIVES, DIVERGENCES):
        monkeypatch.setattr(registry, "_items", dict(registry._items))
        monkeypatch.setattr(registry, "_discovered", False)
    yield place
    for name in names:
        sys.modules.pop(name, None)


SCRATCH_OBJECTIVE = '''
import torch.nn.functional as F
from genzoo.losses import AdversarialLoss, objective

calls = []


@objective("scratch-softplus")
def scratch(d_real, d_fake):
    """A scratch objective: the non-saturating GAN written again."""
    calls.append(d_fake.shape[0])
    real = 0.0 if d_real is None else F.softplus(-d_real).mean()
    return AdversarialLoss(real + F.softplus(d_fake).mean(), F.softplus(-d_fake).mean())
'''


def test_an_objective_in_its_own_file_trains_through_the_cli(scratch_losses_module, tmp_path, capsys):
    import importlib
    import json

    from genzoo.cli import main

    argv = ["train", "gan", "--data", "ring8", "--runs", str(tmp_path / "runs"), "--set", "objective=scratch-softplus",
            "--set", "steps=4", "--set", "log_every=2", "--set", "sample_every=0", "--set", "hidden=16",
            "--set", "depth=1", "--set", "n_eval=64", "--set", "data.n=256", "--set", "batch_size=32"]
    assert main([*argv, "--name", "before"]) == 2  # not there yet: an unknown name
    assert "unknown objective 'scratch-softplus'" in capsys.readouterr().err
    scratch_losses_module("scratch_objective", SCRATCH_OBJECTIVE)
    OBJECTIVES._discovered = False  # the failed lookup above already walked the package
    assert main([*argv, "--name", "after"]) == 0, capsys.readouterr().err
    module = importlib.import_module("genzoo.losses.scratch_objective")
    assert module.calls and set(module.calls) == {32}  # the trainer's steps called it
    records = [json.loads(line) for line in (tmp_path / "runs" / "after" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4] and all(math.isfinite(r["loss_d"]) for r in records)


SCRATCH_ROW = '''
import torch
from genzoo.losses.fgan import Divergence, register_divergence

# Neyman chi-square (Nowozin et al. 2016, Tables 1 and 6): f(u) = (1 - u)^2 / u, g_f(v) = 1 - e^v,
# f*(t) = 2 - 2 sqrt(1 - t) on t < 1, so f*(g_f(v)) = 2 - 2 e^(v/2).
register_divergence(Divergence(
    name="scratch-neyman", title="Neyman chi-square",
    f=lambda u: (1 - u) ** 2 / u,
    f_prime=lambda u: 1 - u ** -2,
    conjugate=lambda t: 2 - 2 * torch.sqrt(1 - t),
    activation=lambda v: 1 - torch.exp(v),
    conjugate_of_activation=lambda v: 2 - 2 * torch.exp(v / 2),
    in_domain=lambda t: t < 1,
    domain="t < 1", f_prime_at_1=0.0,
    integrand=lambda lp, lq: torch.exp(2 * lq - lp) - 2 * torch.exp(lq) + torch.exp(lp),
))
'''


def test_a_row_of_the_divergence_table_in_its_own_file_is_an_objective_and_an_fgan_divergence(scratch_losses_module, tmp_path):
    from genzoo import run

    scratch_losses_module("scratch_row", SCRATCH_ROW)
    assert "fgan-scratch-neyman" in OBJECTIVES  # the objective comes from the row, written nowhere else
    loss = OBJECTIVES.get("fgan-scratch-neyman")(D_REAL, D_FAKE)
    F_value = (1 - D_REAL.exp()).mean() - (2 - 2 * torch.exp(D_FAKE / 2)).mean()
    close(loss.discriminator, -F_value, rtol=1e-6, atol=1e-6)
    config = run.resolve("fgan", "ring8", sets=["model.divergence=scratch-neyman", "model.hidden=16", "model.depth=1",
                                               "train.batch_size=32", "data.n=256"])
    model, dataset = run.build(config)
    logs = [model.step(dataset.x[i * 32:(i + 1) * 32]) for i in range(3)]
    assert model.divergence.name == "scratch-neyman" and all(torch.isfinite(l["bound"]) for l in logs)
