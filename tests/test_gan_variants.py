"""GAN variants: DCGAN latent probes, Unrolled GAN's gradient, InfoGAN's bound, conditional GAN."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from genzoo import config, data
from genzoo.errors import GenzooError
from genzoo.losses import OBJECTIVES
from genzoo.metrics import mode_coverage
from genzoo.models import MODELS, DataSpec
from genzoo.models.dcgan import concept_arithmetic, latent_path
from genzoo.models.infogan import Codes, mutual_information_bound


def make(name, dataset, **sets):
    cls = MODELS.get(name)
    return cls(config.build(cls.Config, sets), DataSpec.of(dataset))


def batches(dataset, size, generator, labels=False):
    while True:
        idx = torch.randint(0, len(dataset.x), (size,), generator=generator)
        yield (dataset.x[idx], dataset.y[idx]) if labels else dataset.x[idx]


def hungarian_accuracy(pred, truth, k):
    """Accuracy under the best one-to-one map of predicted to true labels."""
    counts = np.zeros((k, k))
    np.add.at(counts, (np.asarray(pred), np.asarray(truth)), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(truth)


# ----------------------------------------------------------------------------- DCGAN
@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def test_latent_path_linear_and_spherical():
    torch.manual_seed(0)
    z0, z1 = torch.randn(3, 5), torch.randn(3, 5)
    lin = latent_path(z0, z1, 5)
    assert lin.shape == (3, 5, 5)
    torch.testing.assert_close(lin[:, 0], z0)
    torch.testing.assert_close(lin[:, -1], z1)
    torch.testing.assert_close(lin[:, 2], (z0 + z1) / 2)  # t = 1/2
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])  # a quarter circle of radius 2
    sl = latent_path(a, b, 3, mode="slerp")
    torch.testing.assert_close(sl[1], torch.tensor([math.sqrt(2), math.sqrt(2)]))
    torch.testing.assert_close(sl.norm(dim=1), torch.full((3,), 2.0))
    torch.testing.assert_close(latent_path(a, a, 4, mode="slerp"), a.expand(4, 2))  # parallel: no NaN
    with pytest.raises(GenzooError, match="steps=1"):
        latent_path(a, b, 1)


def test_dcgan_interpolation_ends_at_g_of_endpoints(digits):
    torch.manual_seed(0)
    model = make("dcgan", digits, width=8)
    stream = batches(digits, 32, torch.Generator().manual_seed(0))
    for _ in range(3):  # a few steps, so batch norm's running statistics are not the initial ones
        model.step(next(stream))
    assert model.config.arch == "dcgan" and model.training
    z0, z1 = torch.randn(2, 100), torch.randn(2, 100)
    for mode in ("linear", "slerp"):
        path = model.interpolate(z0, z1, steps=6, mode=mode)
        assert path.shape == (2, 6, 1, 8, 8) and model.training
        model.eval()
        with torch.no_grad():
            torch.testing.assert_close(path[:, 0], model.G(z0))
            torch.testing.assert_close(path[:, -1], model.G(z1))
        model.train()
    single = model.interpolate(z0[0], z1[0], steps=4)
    assert single.shape == (4, 1, 8, 8)


def test_vector_arithmetic_on_a_linear_generator(digits):
    """For affine G, G(z̄_A − z̄_B + z̄_C) = mean G(A) − mean G(B) + mean G(C)."""
    torch.manual_seed(0)
    model = make("dcgan", digits, width=8, z_dim=6)
    model.G = nn.Sequential(nn.Linear(6, 64), nn.Unflatten(1, (1, 8, 8)))
    z_a, z_b, z_c = torch.randn(3, 6), torch.randn(3, 6), torch.randn(3, 6)
    torch.testing.assert_close(concept_arithmetic(z_a, z_b, z_c), z_a.mean(0) - z_b.mean(0) + z_c.mean(0))
    z, images = model.vector_arithmetic(z_a, z_b, z_c, n=4)
    with torch.no_grad():
        expected = model.G(z_a).mean(0) - model.G(z_b).mean(0) + model.G(z_c).mean(0)
    torch.testing.assert_close(images[0], expected)  # the first image has no added noise
    assert images.shape == (4, 1, 8, 8)
    offsets = (images[1:] - images[0]).abs().amax(dim=(1, 2, 3))
    assert (offsets > 0).all()  # the others are G(z + u), u ~ U(−0.25, 0.25)


def test_dcgan_config_rejects_mlp(digits):
    with pytest.raises(GenzooError, match="arch"):
        make("dcgan", digits, arch="mlp")
    with pytest.raises(GenzooError, match="images"):
        make("dcgan", data.load("ring8", n=100))


# ----------------------------------------------------------------------------- Unrolled GAN
@pytest.fixture(scope="module")
def ring():
    return data.load("ring8", n=5000, std=0.05)


def generator_gradient(model, loss):
    grads = torch.autograd.grad(loss, list(model.G.parameters()))
    return torch.cat([g.flatten() for g in grads])


def test_unrolled_k0_is_plain_gan_and_k_positive_differs(ring):
    torch.manual_seed(0)
    x, z = ring.x[:64], torch.randn(64, 8)
    grads = {}
    for k in (0, 3):
        torch.manual_seed(1)
        model = make("unrolled-gan", ring, unroll_steps=k, hidden=16, z_dim=8)
        loss, _, _ = model.unrolled_generator_loss(x, z)
        grads[k] = generator_gradient(model, loss)
    torch.manual_seed(1)
    model = make("unrolled-gan", ring, unroll_steps=0, hidden=16, z_dim=8)
    plain = OBJECTIVES.get("minimax")(None, model.d(model.G(z))).generator  # GAN's generator loss
    assert torch.equal(grads[0], generator_gradient(model, plain))
    assert (grads[3] - grads[0]).norm() > 1e-3 * grads[0].norm()


def unrolled_problem(optimizer, objective="minimax"):
    """A tiny float64 problem: 2-D data, G and D with 8 hidden units, k = 3."""
    torch.manual_seed(0)
    ds = data.load("ring8", n=256, std=0.1)
    lr = 0.5 if optimizer == "sgd" else 0.05
    model = make("unrolled-gan", ds, unroll_steps=3, unroll_optimizer=optimizer, hidden=8, depth=1, z_dim=3,
                 lr_d=lr, objective=objective).double()
    x = ds.x[:32].double()
    model.prior = lambda n: torch.randn(n, 3, dtype=torch.float64)
    if optimizer == "adam":  # give Adam moments, so its step is not just lr·sign(g)
        for _ in range(3):
            model.discriminator_step(x)
    return model, x, torch.randn(32, 3, dtype=torch.float64)


def directional(grads, direction):
    return sum((a * v).sum() for a, v in zip(grads, direction)).item()


def central_difference(model, params, direction, fn, eps=1e-5):
    """(fn(θ_G + εv) − fn(θ_G − εv)) / 2ε, every evaluation redoing the whole unroll from θ_G."""
    values = []
    for sign in (1, -1):
        with torch.no_grad():
            for p, v in zip(params, direction):
                p.add_(sign * eps * v)
        values.append(fn())
        with torch.no_grad():
            for p, v in zip(params, direction):
                p.sub_(sign * eps * v)
    return (values[0] - values[1]) / (2 * eps)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_unrolled_gradient_of_the_full_surrogate_matches_finite_differences(optimizer):
    """f_k(θ_G) = E_x log D(x; θ_D^k(θ_G)) + E_z log(1 − D(G(z); θ_D^k(θ_G))) (Metz et al. eq. 6; the
    authors' notebook minimises −unrolled_loss). The surrogate is rebuilt here from its definition,
    independently of the model's generator loss, and differentiated by central differences; the model's
    autograd gradient must match it, and dropping either dependence — the data term (as an earlier
    version of unrolled.py did) or θ_D^k's dependence on θ_G — must not."""
    model, x, z = unrolled_problem(optimizer)
    params = list(model.G.parameters())

    def surrogate() -> Tensor:  # f(θ_G, θ_D^k(θ_G)) written out from the paper's value function
        fake = model.G(z)
        theta_k = model.unroll(x, fake, 3)[0][-1]
        d_real, d_fake = model.d_at(theta_k, x), model.d_at(theta_k, fake)
        return (nn.functional.logsigmoid(d_real).mean() + nn.functional.logsigmoid(-d_fake).mean())

    loss, _, _ = model.unrolled_generator_loss(x, z)
    torch.testing.assert_close(loss, surrogate(), rtol=1e-12, atol=1e-12)  # the model descends f_k itself
    g = torch.Generator().manual_seed(0)
    direction = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    analytic = directional(torch.autograd.grad(loss, params), direction)
    numeric = central_difference(model, params, direction, lambda: surrogate().item())
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8)

    # ablation 1: the fake term only (E_x log D(x; θ_D^k) dropped) — the defect the audit found
    fake = model.G(z)
    theta_k = model.unroll(x, fake, 3)[0][-1]
    fake_only = directional(torch.autograd.grad(nn.functional.logsigmoid(-model.d_at(theta_k, fake)).mean(), params),
                            direction)
    # ablation 2: θ_D^k held fixed (no gradient through the unroll) — a plain GAN step against θ_D^k
    thetas, _, _ = model.unroll(x, model.G(z).detach(), 3)
    frozen = {n: p.detach() for n, p in thetas[-1].items()}
    held = directional(torch.autograd.grad(-model.d_loss_at(frozen, x, model.G(z)), params), direction)
    for wrong in (fake_only, held):
        assert abs(wrong - numeric) > 100 * abs(analytic - numeric) + 1e-6, (numeric, analytic, fake_only, held)


def test_unrolled_nonsaturating_surrogate_matches_finite_differences():
    """A non-zero-sum objective: G descends its own loss L_G(θ_G, θ_D^k(θ_G)) through the unroll."""
    model, x, z = unrolled_problem("adam", "nonsaturating")
    params = list(model.G.parameters())
    loss, _, _ = model.unrolled_generator_loss(x, z)
    g = torch.Generator().manual_seed(1)
    direction = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    analytic = directional(torch.autograd.grad(loss, params), direction)
    numeric = central_difference(model, params, direction, lambda: model.unrolled_generator_loss(x, z)[0].item())
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_real_discriminator_takes_only_the_first_unrolled_step(ring):
    torch.manual_seed(0)
    model = make("unrolled-gan", ring, unroll_steps=4, hidden=16)
    stream = batches(ring, 64, torch.Generator().manual_seed(0))
    for _ in range(3):  # so Adam has moments
        model.step(next(stream))
    x, z = next(stream), torch.randn(64, model.config.z_dim)
    thetas, _, _ = model.unroll(x, model.G(z), 4)
    expected = {n: p.detach().clone() for n, p in thetas[1].items()}
    model.prior = lambda n: z  # the step draws this z
    model.step(x)
    for n, p in model.D.named_parameters():
        torch.testing.assert_close(p, expected[n], rtol=1e-5, atol=1e-6)


def test_unrolled_config_is_checked(ring):
    with pytest.raises(GenzooError, match="d_steps"):
        make("unrolled-gan", ring, d_steps=2)
    with pytest.raises(GenzooError, match="unroll_steps"):
        make("unrolled-gan", ring, unroll_steps=-1)


def test_unrolled_gan_spreads_over_the_ring_where_plain_gan_collapses(ring):
    """Metz et al., Fig. 1: same seed, networks and steps; only k differs."""
    kl = {}
    for k in (0, 3):
        torch.manual_seed(0)
        model = make("unrolled-gan", ring, hidden=64, unroll_steps=k)
        stream = batches(ring, 128, torch.Generator().manual_seed(0))
        for _ in range(250):
            model.step(next(stream))
        cov = mode_coverage(model.sample(2500), ring.density.means, ring.density.std)
        kl[k] = cov["kl_to_uniform"]
        if k:
            assert cov["modes"] == 8, cov
    assert kl[3] < 0.3 and kl[0] > 3 * kl[3], kl


# ----------------------------------------------------------------------------- InfoGAN
def test_mutual_information_bound_formula():
    k = 4
    c = torch.tensor([0, 3, 1, 2, 2])
    perfect = 50.0 * nn.functional.one_hot(c, k).float()
    b = mutual_information_bound(perfect, c, None, None, None)
    assert b.entropy_cat == pytest.approx(math.log(k))
    assert b.cat.item() == pytest.approx(math.log(k), abs=1e-6)  # perfect Q: L_I = H(c)
    assert mutual_information_bound(torch.zeros(5, k), c, None, None, None).cat.item() == pytest.approx(0.0, abs=1e-6)
    logits = torch.randn(5, k)
    manual = torch.log_softmax(logits, 1)[torch.arange(5), c].mean() + math.log(k)
    b = mutual_information_bound(logits, c, None, None, None)
    torch.testing.assert_close(b.cat, manual)
    assert b.cat.item() <= math.log(k)
    # continuous: factored Gaussian with the constants, plus H(Uniform(−1, 1)^M) = M log 2
    cc, mu, log_std = torch.rand(5, 2) * 2 - 1, torch.randn(5, 2), 0.3 * torch.randn(5, 2)
    # written out by hand (the model uses torch.distributions): −½ log 2π − log σ − (c − μ)²/(2σ²)
    by_hand = (-0.5 * math.log(2 * math.pi) - log_std - 0.5 * ((cc - mu) / log_std.exp()) ** 2).sum(1).mean()
    b = mutual_information_bound(None, None, mu, log_std, cc)
    torch.testing.assert_close(b.cont, by_hand + 2 * math.log(2))
    b = mutual_information_bound(None, None, mu, None, cc)  # fixed σ = 1
    torch.testing.assert_close(b.cont, (-0.5 * math.log(2 * math.pi) - 0.5 * (cc - mu) ** 2).sum(1).mean() + 2 * math.log(2))
    assert b.entropy_cont == pytest.approx(2 * math.log(2))


def test_infogan_q_recovers_the_categorical_code_on_four_modes():
    torch.manual_seed(0)
    ds = data.load("ring8", modes=4, radius=2.0, std=0.1, n=5000, n_test=2000)
    model = make("infogan", ds, n_cat=4, n_cont=1, z_dim=4, hidden=64)
    stream = batches(ds, 128, torch.Generator().manual_seed(0))
    for _ in range(300):
        out = model.step(next(stream))
    assert out["mi_cat"].item() <= out["entropy_cat"].item() + 1e-6
    assert out["mi_cat"].item() > 0.8 * math.log(4)  # Q almost always recovers c on G's samples
    pred, _ = model.infer(ds.test_x)  # ... and the code indexes the data's components
    assert hungarian_accuracy(pred, ds.test_y, 4) > 0.9  # chance: 0.25
    codes = Codes(torch.arange(4).repeat_interleave(50), torch.zeros(200, 1))
    assert hungarian_accuracy(ds.density.nearest(model.sample(200, codes)), codes.cat, 4) > 0.9
    # the benchmark's two diagnostics: Q reads G's own codes back; re-estimated statistics change nothing here
    from genzoo.bench.infogan_mnist import own_sample_accuracy, real_statistics_accuracy

    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert own_sample_accuracy(model, n=1000) > 0.9  # chance 0.25
    assert real_statistics_accuracy(model, ds.x, ds.test_x, ds.test_y.numpy(), n=2000) > 0.9
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())  # a copy was recalibrated


def test_infogan_shares_the_discriminator_body(digits):
    torch.manual_seed(0)
    model = make("infogan", digits, width=8, q_std="learned")
    assert model.config.lr_g == 1e-3 and model.config.lr_d == 2e-4  # the paper's MNIST rates
    q_params = {id(p) for p in model.Q.parameters()}
    d_opt = {id(p) for group in model.opt_d.param_groups for p in group["params"]}
    assert q_params <= d_opt and {id(p) for p in model.D.parameters()} <= d_opt
    assert model.Q[-1].out_features == 10 + 2 * 2  # logits, μ, log σ
    x = digits.x[:16]
    _, q = model.d_and_q(x)
    torch.testing.assert_close(q, model.Q(model.D.features(x)))
    with pytest.raises(GenzooError, match="n_cat"):
        make("infogan", digits, n_cat=1)


# ----------------------------------------------------------------------------- conditional GAN
@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_cgan_samples_land_on_the_requested_component(ring, conditioning):
    torch.manual_seed(0)
    model = make("cgan", ring, hidden=64, conditioning=conditioning)
    assert model.uses_labels and model.n_classes == 8
    stream = batches(ring, 128, torch.Generator().manual_seed(0), labels=True)
    for _ in range(400):
        model.step(next(stream))
    y = torch.arange(8).repeat_interleave(100)
    s = model.sample(800, y=y)
    assert (ring.density.nearest(s) == y).float().mean() > 0.95
    assert ((s - ring.density.means[y]).norm(dim=1) < 0.3).float().mean() > 0.8  # radius-1 ring, modes 0.77 apart
    assert model.sample(10).shape == (10, 2)


def test_cgan_images_and_bad_labels(digits):
    torch.manual_seed(0)
    model = make("cgan", digits, width=8)
    out = model.step((digits.x[:32], digits.y[:32]))
    assert set(out) == {"loss_d", "loss_g"} and all(torch.isfinite(v) for v in out.values())
    assert model.sample(4, y=torch.tensor([0, 1, 2, 9])).shape == (4, 1, 8, 8)
    with pytest.raises(GenzooError, match="0..9"):
        model.sample(2, y=torch.tensor([0, 10]))
    with pytest.raises(GenzooError, match="labelled"):
        make("cgan", data.load("spiral", n=200))


# ----------------------------------------------------------------------------- benchmark helpers
def test_best_map_accuracy_and_walk_smoothness():
    from genzoo.bench.dcgan_latent import smoothness
    from genzoo.bench.infogan_mnist import best_map_accuracy

    truth = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    relabelled = np.array([2, 2, 0, 0, 3, 3, 1, 1])  # a permutation of the labels, one error
    accuracy, mapping, counts = best_map_accuracy(relabelled, truth)
    assert accuracy == pytest.approx(7 / 8) and mapping == {0: 1, 1: 3, 2: 0, 3: 2}
    assert counts.sum() == 8
    assert best_map_accuracy(np.zeros(8, dtype=int), truth)[0] == pytest.approx(3 / 8)  # constant code
    even = torch.linspace(0, 1, 5).reshape(1, 5, 1, 1, 1).expand(2, 5, 1, 2, 2)
    assert smoothness(even) == pytest.approx(1.0)
    jump = torch.tensor([0.0, 0.0, 0.0, 1.0]).reshape(1, 4, 1, 1, 1)
    assert smoothness(jump) == pytest.approx(3.0)  # one sharp transition: max/mean = frames − 1


def test_unrolled_gan_runs_on_dcgan_networks_with_batch_norm():
    """Double backward through a conv D with batch norm (an in-place activation used to break it)."""
    from genzoo import data as data_module

    torch.manual_seed(0)
    ds = data_module.load("digits")
    cls = MODELS.get("unrolled-gan")
    model = cls(config.build(cls.Config, {"width": 8, "unroll_steps": 2}), DataSpec.of(ds))
    before = [p.clone() for p in model.G.parameters()]
    out = model.step(ds.x[:32])
    assert all(torch.isfinite(v) for v in out.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.G.parameters()))


def test_infogan_paper_networks_branch_q_from_the_fc1024_layer():
    """networks="paper": Chen et al.'s MNIST D/G/Q; Q reads D's FC-1024 features; one step trains all."""
    cls = MODELS.get("infogan")
    spec = DataSpec("images", (1, 28, 28))
    torch.manual_seed(0)
    model = cls(config.build(cls.Config, {"networks": "paper", "width": 8}), spec)
    x = torch.rand(16, 1, 28, 28)
    h = model.trunk(x)
    assert h.shape == (16, 1024)  # the FC-1024 layer after BN and leaky ReLU
    assert model.Q[0].in_features == 1024 and model.Q[-1].out_features == 10 + 2
    slopes = {m.negative_slope for m in list(model.D.modules()) + list(model.Q.modules()) if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}
    assert [m.out_channels for m in model.D if isinstance(m, nn.Conv2d)] == [8, 16]
    nets = (model.G, model.D, model.Q)
    before = [net[0].weight.clone() for net in nets]
    out = model.step(x)
    assert all(torch.isfinite(v) for v in out.values())
    assert all(not torch.equal(b, net[0].weight) for b, net in zip(before, nets))  # G, D and Q all moved
    samples = model.sample(4)
    assert samples.shape == (4, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    with pytest.raises(GenzooError, match="1×28×28"):
        cls(config.build(cls.Config, {"networks": "paper"}), DataSpec("images", (1, 8, 8)))
