"""The VAE family: the ELBO's terms and scale, PPCA closed forms, IWAE, target rate, VQ straight-through,
M2's labels, JointVAE's capacities, each model learning on 8×8 digits, and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from genzoo import data
from genzoo.config import build
from genzoo.errors import GenzooError
from genzoo.metrics.likelihood import iw_log_likelihood
from genzoo.metrics.vae import active_units, rate_distortion
from genzoo.models.base import MODELS, DataSpec
from genzoo.models.vqvae import VectorQuantizer


def make(name: str, spec: DataSpec, **overrides):
    cls = MODELS.get(name)
    return cls(build(cls.Config, overrides), spec)


@pytest.fixture(scope="module")
def binary_digits():
    torch.set_num_threads(1)  # module fixtures run before the per-test one-thread fixture
    ds = data.load("digits")
    return (ds.x > 0.5).float(), (ds.test_x > 0.5).float(), ds.y, ds.test_y


def train(model, x, steps: int, batch: int = 64, y=None, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=g)
        out = model.step((x[idx], y[idx]) if y is not None else x[idx])
    return out


def test_step_reports_rate_plus_distortion_equal_to_minus_elbo_summed_over_pixels(binary_digits):
    torch.manual_seed(0)
    x = binary_digits[0][:32]
    model = make("vae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=16, latent_dim=3)
    with torch.no_grad():  # a decoder that outputs logit 0 everywhere: log p(x|z) = −64 log 2 exactly
        model.decoder[-1].weight.zero_()
        model.decoder[-1].bias.zero_()
    out = model.step(x)
    assert out["distortion"].item() == pytest.approx(64 * math.log(2), rel=1e-6)  # summed over 64 pixels, mean over batch
    assert (out["rate"] + out["distortion"]).item() == pytest.approx(-out["elbo"].item(), abs=1e-4)
    # the rate is the closed-form KL of eq. 10, summed over latents
    torch.manual_seed(1)
    mu, logvar = model.encoder(x).chunk(2, -1)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
    rate, distortion = rate_distortion(model, x).values()
    assert rate == pytest.approx(kl.mean().item(), rel=1e-4)


def test_beta_and_target_rate_change_the_loss_not_the_reported_elbo(binary_digits):
    x = binary_digits[0][:64]
    torch.manual_seed(0)
    out = make("vae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=16, latent_dim=3, beta=4.0).step(x)
    assert out["loss"].item() == pytest.approx((out["distortion"] + 4 * out["rate"]).item(), rel=1e-5)
    assert out["elbo"].item() == pytest.approx(-(out["distortion"] + out["rate"]).item(), rel=1e-5)
    torch.manual_seed(0)
    out = make("vae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=16, latent_dim=3, target_rate=7.0).step(x)
    assert out["loss"].item() == pytest.approx((out["distortion"] + (7.0 - out["rate"]).abs()).item(), rel=1e-5)


def test_target_rate_steers_the_rate(binary_digits):
    torch.manual_seed(0)
    model = make("vae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=64, latent_dim=8, lr=3e-3, target_rate=6.0)
    train(model, binary_digits[0], 250)
    rate = rate_distortion(model, binary_digits[1])["rate"]
    assert 4.5 < rate < 7.5


@pytest.fixture(scope="module")
def ppca():
    """Data from a probabilistic-PCA model and the closed-form ML fit (Tipping & Bishop 1999)."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    d, k, n = 6, 2, 2000
    W, b = torch.randn(d, k, generator=g), torch.randn(d, generator=g)
    x = torch.randn(n, k, generator=g) @ W.T + b + 0.3 * torch.randn(n, d, generator=g)
    mu = x.mean(0)
    S = (x - mu).T @ (x - mu) / n
    ev, U = torch.linalg.eigh(S)
    ev, U = ev.flip(0), U.flip(1)
    s2 = ev[k:].mean()
    W_ml = U[:, :k] * (ev[:k] - s2).sqrt()
    ml = MultivariateNormal(mu, W_ml @ W_ml.T + s2 * torch.eye(d)).log_prob(x).mean().item()
    torch.manual_seed(0)
    model = make("vae", DataSpec("points", (d,)), arch="mlp", depth=0, latent_dim=k,
                 observation="gaussian-learned", obs_sigma_mode="shared", lr=2e-2)
    train(model, x, 600, batch=256)
    return x, ml, model


def _exact_log_prob(model, x):
    """The linear-Gaussian VAE's marginal: x ~ N(b, W Wᵀ + diag σ²)."""
    lin = model.decoder[-1]
    cov = lin.weight @ lin.weight.T + torch.diag(model.obs.log_sigma.exp() ** 2)
    return MultivariateNormal(lin.bias, cov).log_prob(x)


@torch.no_grad()
def test_linear_vae_on_ppca_data_approaches_the_closed_form_ml(ppca):
    x, ml, model = ppca
    exact = _exact_log_prob(model, x).mean().item()
    assert exact == pytest.approx(ml, abs=0.05)
    assert exact <= ml + 0.01  # factor analysis can exceed PPCA's ML only by its extra freedom


@torch.no_grad()
def test_elbo_le_iwae_k_le_exact_and_iwae_converges(ppca):
    x, _, model = ppca
    torch.manual_seed(0)
    exact = _exact_log_prob(model, x).mean().item()
    elbo = torch.stack([model.elbo(x) for _ in range(20)]).mean().item()
    iw = {k: iw_log_likelihood(model, x, k).mean().item() for k in (5, 50, 500)}
    assert elbo < iw[5] < iw[50] <= iw[500] <= exact + 1e-3
    assert exact - iw[500] < 0.01 < exact - elbo


def test_iwae_trains_on_its_bound_and_the_bound_beats_the_elbo(binary_digits):
    torch.manual_seed(0)
    model = make("iwae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=64, latent_dim=8, lr=3e-3, k=5)
    out = train(model, binary_digits[0], 200)
    assert out["loss"].item() == pytest.approx(-out["iw_bound"].item())
    with torch.no_grad():
        x = binary_digits[1]
        assert iw_log_likelihood(model, x, 50).mean() > model.elbo(x).mean() + 0.1


def test_vq_straight_through_gradient():
    vq = VectorQuantizer(5, 3)
    z_e = torch.randn(4, 2, 3, requires_grad=True)
    z_q, k, _, _ = vq(z_e)
    assert torch.allclose(z_q.detach(), vq.codebook[vq.nearest(z_e.detach())].detach(), atol=1e-6)  # forward: the nearest code
    dist = ((z_e.detach().unsqueeze(-2) - vq.codebook.detach()) ** 2).sum(-1)
    assert torch.equal(k, dist.argmin(-1))
    c = torch.randn_like(z_q)
    (z_q * c).sum().backward()
    assert torch.allclose(z_e.grad, c)  # backward: ∂L/∂z_e = ∂L/∂z_q
    assert vq.codebook.grad is None  # the codebook learns only through its own loss term


def test_vq_losses_move_codebook_and_encoder_apart():
    vq = VectorQuantizer(5, 3)
    z_e = torch.randn(4, 2, 3, requires_grad=True)
    _, _, codebook_loss, commitment = vq(z_e)
    codebook_loss.sum().backward(retain_graph=True)
    assert z_e.grad is None and vq.codebook.grad.abs().sum() > 0
    commitment.sum().backward()
    assert z_e.grad.abs().sum() > 0


def test_m2_classifier_improves_with_labels(binary_digits):
    x, tx, y, ty = binary_digits
    accuracy = {}
    for fraction in (0.0, 0.3):
        torch.manual_seed(0)
        model = make("m2", DataSpec("images", (1, 8, 8), 10), hidden=64, latent_dim=4, labelled_fraction=fraction, alpha=1.0, lr=3e-3)
        out = train(model, x, 150, y=y)
        with torch.no_grad():
            accuracy[fraction] = (model.classify(tx).argmax(-1) == ty).float().mean().item()
    assert out["labelled"].item() == pytest.approx(0.3, abs=0.15)
    assert accuracy[0.3] > 0.7 and accuracy[0.3] > accuracy[0.0] + 0.4


def test_m2_unlabelled_bound_sums_over_classes():
    torch.manual_seed(0)
    model = make("m2", DataSpec("images", (1, 8, 8), 3), hidden=8, latent_dim=2)
    x = (torch.rand(5, 1, 8, 8) > 0.5).float()
    with torch.no_grad():
        torch.manual_seed(1)
        u = model.elbo(x)
        torch.manual_seed(1)
        logits = model.classify(x)
        per_class = model.bound_xy(x.repeat(3, 1, 1, 1), torch.eye(3).repeat_interleave(5, 0)).reshape(3, 5).T
    q = logits.softmax(-1)
    assert torch.allclose(u, (q * per_class).sum(-1) - (q * q.log()).sum(-1), atol=1e-5)


@pytest.mark.parametrize("share", [None, 100 / 50000])
def test_m2_optimises_the_papers_per_example_objective(share):
    """J^α/N = (N_l/N)·mean_l L + (N_u/N)·mean_u U + (α/N)·mean_l CE (Kingma et al. 2014, eq. 9 over N).

    A batch over-sampling its labels (2 of 6 here) must not give the labelled bound the batch's 1/3
    when the training set's share is N_l/N = 0.002; unset, the batch's own share is used."""
    torch.manual_seed(0)
    model = make("m2", DataSpec("images", (1, 8, 8), 3), hidden=8, latent_dim=2, alpha=0.1, labelled_share=share)
    x = (torch.rand(6, 1, 8, 8) > 0.5).float()
    y = torch.tensor([0, 2, -1, -1, -1, -1])
    with torch.no_grad():  # the same random draws, in the same order, as step() makes them
        torch.manual_seed(1)
        logits = model.classifier(x)
        bound_l = -model.bound_xy(x[:2], torch.nn.functional.one_hot(y[:2], 3).float())
        bound_u = -model.unlabelled_bound(x, logits)[2:]
        ce = torch.nn.functional.cross_entropy(logits[:2], y[:2])
    w = 2 / 6 if share is None else share
    want = w * bound_l.mean() + (1 - w) * bound_u.mean() + 0.1 * ce
    torch.manual_seed(1)
    got = model.step((x, y))["loss"]
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    if share is None:  # unset: the plain batch sum over the batch size, as for uniformly drawn batches
        assert float(got) == pytest.approx(float((bound_l.sum() + bound_u.sum()) / 6 + 0.1 * ce), rel=1e-5)
    else:  # the labelled bound's weight is N_l/N, not the batch's 1/3
        assert abs(float(got) - float(want.new_tensor(2 / 6) * bound_l.mean() + (4 / 6) * bound_u.mean() + 0.1 * ce)) > 1e-3


def test_jointvae_capacities_grow_linearly_and_cap_at_log_k(binary_digits):
    torch.manual_seed(0)
    model = make("jointvae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=16, latent_dim=2, categories=4,
                 anneal_steps=10, capacity_z=5.0, capacity_c=5.0)
    out = train(model, binary_digits[0], 5)
    assert out["capacity_z"].item() == pytest.approx(2.0)  # C_z at iteration 4 of 10
    train(model, binary_digits[0], 10)
    assert model.capacities() == pytest.approx((5.0, math.log(4)))
    assert out["kl_c"].item() <= math.log(4) + 1e-6


@pytest.mark.parametrize("name,overrides,steps", [
    ("vae", {"arch": "mlp", "hidden": 64, "latent_dim": 8, "lr": 3e-3}, 250),
    ("vae", {"arch": "conv", "hidden": 64, "width": 8, "latent_dim": 8, "lr": 3e-3}, 250),
    # capacities off: the β = 1 bound with a relaxed discrete code (the schedule is tested above)
    ("jointvae", {"arch": "mlp", "hidden": 64, "latent_dim": 6, "lr": 3e-3, "gamma": 1.0, "capacity_z": 0.0, "capacity_c": 0.0, "categories": 4}, 250),
])
def test_models_beat_the_factorised_bernoulli_baseline_on_binary_digits(binary_digits, name, overrides, steps):
    x, tx, _, _ = binary_digits
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    baseline = (tx * p.log() + (1 - tx) * (1 - p).log()).flatten(1).sum(1).mean().item()  # ≈ −24.3 nats
    torch.manual_seed(0)
    model = make(name, DataSpec("images", (1, 8, 8)), **overrides)
    train(model, x, steps)
    with torch.no_grad():
        bound = model.elbo(tx).mean().item()
    assert bound > baseline + 1.0, (bound, baseline)
    assert model.sample(4).shape == (4, 1, 8, 8)


def test_vqvae_reconstructs_uses_codes_and_fits_its_prior(binary_digits):
    x, tx, _, _ = binary_digits
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    baseline = -(tx * p.log() + (1 - tx) * (1 - p).log()).flatten(1).sum(1).mean().item()
    torch.manual_seed(0)
    model = make("vqvae", DataSpec("images", (1, 8, 8)), codes=16, code_dim=4, width=8, downsample=1, prior_hidden=32, lr=3e-3)
    out = train(model, x, 200)
    uniform = model.length * math.log(16)
    model.fit_prior(x, 150)  # the paper's order: refit the prior on the final codes
    with torch.no_grad():
        rate, distortion = (v.mean().item() for v in model.rate_distortion(tx))
    assert distortion < baseline - 5  # reconstructions carry information about x
    assert out["perplexity"].item() > 2  # more than one code in use
    assert rate < uniform - 5  # the fitted prior beats the uniform one over code maps
    assert model.sample(4).shape == (4, 1, 8, 8)


def test_dae_denoises(binary_digits):
    x, tx, _, _ = binary_digits
    p = x.mean(0).clamp(1e-3, 1 - 1e-3)
    baseline = -(tx * p.log() + (1 - tx) * (1 - p).log()).flatten(1).sum(1).mean().item()
    torch.manual_seed(0)
    model = make("dae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=64, latent_dim=16, lr=3e-3, noise=0.3,
                 corruption="salt-and-pepper")
    train(model, x, 250)
    with torch.no_grad():
        noisy = model.corrupt(tx)
        nll = -model.obs.log_prob(model.decoder(model.encode(noisy)), tx).mean().item()
        restored = (model.decode(model.encode(noisy)) > 0.5).float()
    assert nll < baseline - 3  # the clean image is predictable from the corrupted one
    assert (restored != tx).float().mean() < 0.85 * (noisy != tx).float().mean()


def test_active_units_counts_informative_latents(binary_digits):
    torch.manual_seed(0)
    model = make("vae", DataSpec("images", (1, 8, 8)), arch="mlp", hidden=64, latent_dim=2)
    n, activity = active_units(model, binary_digits[1])
    assert activity.shape == (2,)
    with torch.no_grad():
        model.encoder.net[-1].weight[:2].mul_(100.0)  # μ_1, μ_2 now vary strongly with x
        model.encoder.net[-1].weight[1].zero_()
        model.encoder.net[-1].bias[1] = 0.0
    n, activity = active_units(model, binary_digits[1])
    assert n == 1 and activity[1] == 0


def test_bad_input_is_a_one_line_error_naming_the_value():
    points = DataSpec("points", (2,))
    with pytest.raises(GenzooError, match=r"bernoulli.*-1\.5"):
        make("vae", points, observation="bernoulli").step(torch.tensor([[0.5, -1.5]]))
    with pytest.raises(GenzooError, match="m2.*labelled"):
        make("m2", DataSpec("images", (1, 8, 8)))
    with pytest.raises(GenzooError, match="k=0"):
        make("iwae", points, k=0)
    with pytest.raises(GenzooError, match="k=0"):
        iw_log_likelihood(make("vae", points), torch.zeros(3, 2), k=0)
    with pytest.raises(GenzooError, match="latent_dim=0"):
        make("vae", points, latent_dim=0)
    with pytest.raises(GenzooError, match="observation='poisson'"):
        make("vae", points, observation="poisson")
    with pytest.raises(GenzooError, match="needs \\(x, y\\)"):
        make("m2", DataSpec("images", (1, 8, 8), 10)).step(torch.zeros(2, 1, 8, 8))


def test_m1_plus_m2_gets_m1_from_the_run_layer(tmp_path):
    """M1+M2: the run layer loads the M1 run named by m1_run and hands it over; the model never reads run
    directories, and without the run layer it says how to build it."""
    from genzoo import run
    from genzoo.models import MODELS

    m1_dir, _ = run.train(run.resolve("vae", "binary_digits", sets=["steps=2", "latent_dim=3", "hidden=16"]), tmp_path, "m1")
    m2_dir, _ = run.train(run.resolve("m2", "binary_digits", sets=["steps=2", f"m1_run={m1_dir}", "hidden=16"]), tmp_path, "m12")
    model, _ = run.load(m2_dir)
    m1, _ = run.load(m1_dir)
    assert model.m1 is not None and model.space.shape == (3,)
    assert all(torch.equal(a, b) for a, b in zip(model.m1.state_dict().values(), m1.state_dict().values()))
    cfg = build(MODELS.get("m2").Config, {"m1_run": str(m1_dir)})
    with pytest.raises(GenzooError, match="through genzoo.run"):
        MODELS.get("m2")(cfg, DataSpec("images", (1, 8, 8), 10))
