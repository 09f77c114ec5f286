"""DDLS: the latent energy, its known answer, zero steps, calibration, and `genzoo sample --sampler`."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from genzoo import cli, config, run
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec
from genzoo.run_sampling import sample_run
from genzoo.sampling.ddls import DDLS, DDLSConfig, fit_calibration
from genzoo.sampling.langevin import energy_and_grad


QUIET = ["sample_every=0", "n_eval=32", "n_picture=16", "progress=false"]


def tiny_gan(name="gan", **sets):
    torch.manual_seed(0)
    cls = MODELS.get(name)
    model = cls(config.build(cls.Config, {"hidden": 16, "z_dim": 3, **sets}), DataSpec("points", (2,)))
    model.step(torch.randn(32 * model.batches_per_step, 2))  # batch-norm statistics and non-trivial weights
    return model.eval()


def test_ddls_energy_and_gradient_match_definition_and_finite_differences():
    model = tiny_gan().double()
    ddls = DDLS.from_model(model)
    z = torch.randn(5, 3, dtype=torch.float64)
    e, g = energy_and_grad(ddls.energy, z)
    with torch.no_grad():
        by_hand = 0.5 * (z * z).sum(1) - model.d(model.G(z))
    assert torch.allclose(e, by_hand, atol=1e-12)
    h = 1e-6
    fd = torch.zeros_like(z)
    for j in range(3):
        dz = torch.zeros_like(z)
        dz[:, j] = h
        with torch.no_grad():
            fd[:, j] = (ddls.energy(z + dz) - ddls.energy(z - dz)) / (2 * h)
    assert torch.allclose(g, fd, atol=1e-7, rtol=1e-6)


def test_ddls_with_zero_steps_is_plain_generator_sampling():
    model = tiny_gan()
    torch.manual_seed(7)
    plain = model.sample(64)
    torch.manual_seed(7)
    ddls = DDLS.from_model(model, DDLSConfig(steps=0)).sample(64)
    assert torch.equal(plain, ddls)
    torch.manual_seed(7)
    moved = DDLS.from_model(model, DDLSConfig(steps=3)).sample(64)
    assert not torch.equal(plain, moved)


def test_ddls_with_the_optimal_discriminator_samples_the_data_distribution():
    # Che et al.'s theorem: q_G(x) e^{d*(x)} ∝ p(x). G = identity (q_G = N(0, 1)), p = N(1.5, 0.5²),
    # d*(x) = log p(x) − log q_G(x). DDLS (with MALA, so without step-size bias) must give p.
    p = torch.distributions.Normal(1.5, 0.5)
    q = torch.distributions.Normal(0.0, 1.0)

    def d(x):
        return (p.log_prob(x) - q.log_prob(x)).squeeze(-1)

    torch.manual_seed(0)
    ddls = DDLS(nn.Identity(), d, lambda n: torch.randn(n, 1), DDLSConfig(steps=200, step_size=0.1, metropolis=True))
    x = ddls.sample(4000).squeeze(1)
    assert abs(x.mean().item() - 1.5) < 0.04
    assert abs(x.std().item() - 0.5) < 0.03
    assert ddls.last.acceptance > 0.5


def test_logistic_calibration_recovers_the_logit():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(20000, 1, generator=g) + 1, torch.randn(20000, 1, generator=g)
    # true logit log N(x; 1, 1)/N(x; 0, 1) = x − 0.5; the critic 2x + 5 is an affine map of it
    a, b = fit_calibration(lambda x: 2 * x.squeeze(1) + 5, real, fake)
    assert abs(a - 0.5) < 0.03 and abs(b + 3.0) < 0.1


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cfg = run.resolve("gan", "ring8", sets=["steps=4", "batch_size=32", "hidden=16", "data.n=256", "data.n_test=64", *QUIET])
    run_dir, _ = run.train(cfg, root, name="gan")
    return run_dir


def test_sample_run_ddls_on_a_gan_run(gan_run):
    model, cfg = run.load(gan_run)
    x = sample_run(gan_run, model, cfg, 10, "ddls", ["steps=2", "step_size=0.001"])
    assert x.shape == (10, 2) and torch.isfinite(x).all()


def test_bad_sampler_input_is_named(gan_run, tmp_path):
    model, cfg = run.load(gan_run)
    with pytest.raises(GenzooError, match=r"steps=-1"):
        sample_run(gan_run, model, cfg, 4, "ddls", ["steps=-1"])
    with pytest.raises(GenzooError, match=r"step_size=-0.1"):
        sample_run(gan_run, model, cfg, 4, "ddls", ["step_size=-0.1"])
    with pytest.raises(GenzooError, match=r"unknown sampler 'nope'; valid: .*ddls.*langevin"):
        sample_run(gan_run, model, cfg, 4, "nope", [])
    with pytest.raises(GenzooError, match=r"unknown config key 'stepz'"):
        sample_run(gan_run, model, cfg, 4, "ddls", ["stepz=3"])
    with pytest.raises(GenzooError, match=r"'replay' does not sample trained runs; valid: ddls"):
        sample_run(gan_run, model, cfg, 4, "replay", [])
    ebm_cfg = run.resolve("ebm", "ring8", sets=["steps=2", "batch_size=16", "hidden=8", "negatives.steps=2",
                                                "data.n=64", "data.n_test=16", *QUIET])
    ebm_dir, _ = run.train(ebm_cfg, tmp_path, name="an-ebm")
    ebm, ecfg = run.load(ebm_dir)
    with pytest.raises(GenzooError, match=r"an-ebm.*model 'ebm'"):
        sample_run(ebm_dir, ebm, ecfg, 4, "ddls", [])


def test_cli_sample_with_ddls(gan_run, tmp_path, capsys):
    out = tmp_path / "ddls"
    assert cli.main(["sample", str(gan_run), "-n", "8", "--sampler", "ddls", "--set", "steps=3", "--out", str(out)]) == 0
    assert np.load(out.with_suffix(".npy")).shape == (8, 2)
    assert cli.main(["sample", str(gan_run), "--sampler", "ddls", "--set", "steps=-2"]) == 2
    assert "steps=-2" in capsys.readouterr().err


def test_critics_that_are_not_logits_are_calibrated():
    model = tiny_gan("wgan-gp")
    with pytest.raises(GenzooError, match="needs data"):
        DDLS.from_model(model)
    ddls = DDLS.from_model(model, DDLSConfig(steps=2, calibration_n=200), data=torch.randn(500, 2) + 2)
    assert ddls.calibration != (1.0, 0.0) and all(math.isfinite(v) for v in ddls.calibration)
    assert torch.isfinite(ddls.sample(16)).all()
    assert DDLS.from_model(tiny_gan(), DDLSConfig(steps=1)).calibration == (1.0, 0.0)  # a logit needs none


def test_a_chain_continued_in_segments_is_the_chain_run_at_once():
    # the mnist part of `genzoo bench ddls` scores K = 10, 30, 100 along one chain; that is only
    # the K-step sampler if ULA restarted from z_k with the same noise stream gives the same z_K
    ddls = DDLS.from_model(tiny_gan(), DDLSConfig(step_size=0.05))
    z0 = torch.randn(16, 3)
    torch.manual_seed(3)
    at_once = ddls.run(z0, steps=5)
    torch.manual_seed(3)
    segments = ddls.run(ddls.run(z0, steps=2), steps=3)
    assert torch.equal(at_once, segments) and not torch.equal(at_once, z0)


def test_bench_mnist_part_names_a_missing_or_unfit_run(gan_run, tmp_path):
    from genzoo.bench import run as run_bench

    with pytest.raises(GenzooError, match="mnist_run=RUN"):
        run_bench("ddls", out=str(tmp_path / "a"), quick=True, sets=["data=mnist"])
    with pytest.raises(GenzooError, match=r"28×28 images.*ring8"):
        run_bench("ddls", out=str(tmp_path / "b"), quick=True, sets=["data=mnist", f"mnist_run={gan_run}"])
    with pytest.raises(GenzooError, match=r"data='mnist,ring8'"):
        run_bench("ddls", out=str(tmp_path / "c"), quick=True, sets=["data=mnist,ring8", f"mnist_run={gan_run}"])
    assert not any(tmp_path.glob("[abc]"))  # refused before anything is written
