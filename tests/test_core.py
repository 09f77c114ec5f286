"""The shared core: context managers, the architecture registry, the adversarial alternation written
once, declared capabilities checked at registration, and automatic discovery."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from genzoo import data
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec, Model
from genzoo.models.base import check_capabilities
from genzoo.nn import ARCHITECTURES, NetConfig, evaluating, frozen
from genzoo.nn import architectures


def make(name: str, dataset, **overrides):
    cls = MODELS.get(name)
    torch.manual_seed(0)
    return cls(cls.Config(**overrides), DataSpec.of(dataset))


@pytest.fixture(scope="module")
def ring():
    return data.load("ring8", n=256)


def test_frozen_restores_each_flag_even_after_an_exception():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    net[1].bias.requires_grad_(False)  # a parameter that was already frozen stays frozen
    with pytest.raises(RuntimeError):
        with frozen(net):
            assert not any(p.requires_grad for p in net.parameters())
            raise RuntimeError("boom")
    assert [p.requires_grad for p in net.parameters()] == [True, True, True, False]


def test_evaluating_restores_modes_per_submodule():
    net = nn.Sequential(nn.BatchNorm1d(2), nn.Dropout())
    net[1].eval()
    with evaluating(net):
        assert not any(m.training for m in net.modules())
    assert [m.training for m in net.modules()] == [True, True, False]


def test_architecture_registry_builds_both_players_and_lists_names():
    assert {"mlp", "dcgan"} <= set(ARCHITECTURES)
    g = architectures.generator(NetConfig("mlp", hidden=8, depth=1), 3, (2,))
    d = architectures.discriminator(NetConfig("dcgan", width=4), (1, 8, 8))
    assert g(torch.randn(5, 3)).shape == (5, 2)
    assert d(torch.rand(5, 1, 8, 8)).shape == (5, 1)
    with pytest.raises(GenzooError, match="unknown architecture 'resnet'"):
        architectures.resolve("resnet", "images")


@pytest.mark.parametrize("name", ["ebgan", "began"])
def test_generator_phase_of_models_with_their_own_loss(name, ring):
    """The inherited alternation works for EBGAN and BEGAN (it used to raise and leave D frozen)."""
    model = make(name, ring, hidden=16, depth=1)
    x = ring.x[:32]
    before = [p.clone() for p in model.G.parameters()]
    d_before = [p.clone() for p in model.D.parameters()]
    out = model.generator_step(x)
    assert torch.isfinite(out["loss_g"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.G.parameters())), "G did not move"
    assert all(torch.equal(a, b) for a, b in zip(d_before, model.D.parameters())), "G's step moved D"
    assert all(p.requires_grad for p in model.D.parameters()), "D left frozen"
    out = model.discriminator_step(x)
    assert torch.isfinite(out["loss_d"])


def test_only_models_with_a_registered_objective_have_an_objective_field():
    with_field = {name for name, cls in MODELS.items() if "objective" in cls.Config.__dataclass_fields__}
    assert {"gan", "wgan", "wgan-gp", "cgan", "dcgan", "unrolled-gan"} <= with_field
    assert not {"lsgan", "fgan", "ebgan", "began"} & with_field
    with pytest.raises(GenzooError, match="unknown objective 'nope'"):
        MODELS.get("gan").Config(objective="nope")


def test_reuse_fakes_runs_one_generator_pass_per_iteration(ring):
    """With reuse_fakes both players see one batch of fakes: G runs once per iteration, not twice."""
    calls = {"n": 0}
    counts = {}
    for reuse in (False, True):
        model = make("gan", ring, hidden=16, depth=1, reuse_fakes=reuse)
        calls["n"] = 0
        model.G.register_forward_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
        out = model.step(ring.x[:32])
        assert torch.isfinite(out["loss_d"]) and torch.isfinite(out["loss_g"])
        counts[reuse] = calls["n"]
    assert counts == {False: 2, True: 1}
    with pytest.raises(GenzooError, match="reuse_fakes"):
        MODELS.get("gan").Config(reuse_fakes=True, d_steps=2)


def test_capability_signatures_are_checked_at_registration():
    @dataclass
    class Cfg:
        pass

    class Bad(Model):
        Config = Cfg
        name = "bad"

        def log_joint(self, x):  # the protocol is log_joint(x, z)
            return x

    with pytest.raises(TypeError, match="log_joint"):
        check_capabilities(Bad)


def test_every_registry_is_populated_by_discovery():
    from genzoo.distributions import OBSERVATIONS
    from genzoo.estimators import ESTIMATORS
    from genzoo.sampling import SAMPLERS

    assert len(MODELS) >= 11
    for registry in (SAMPLERS, ESTIMATORS, OBSERVATIONS):
        assert len(registry) >= 1, registry.kind


def test_nan_weights_that_break_a_distribution_are_reported_as_divergence(tmp_path):
    """A VAE whose weights became NaN fails inside torch.distributions (ValueError); the trainer
    reports that as the divergence it is, not as a traceback."""
    from genzoo import run
    from genzoo.errors import DivergenceError

    config = run.resolve("vae", "ring8", sets=["train.steps=3", "train.batch_size=16", "train.progress=false",
                                               "train.sample_every=0"])
    config["data"]["params"].update({"n": 256})
    model, dataset = run.build(config)
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    from genzoo.train.stream import BatchStream
    from genzoo.train.trainer import Trainer

    trainer = Trainer(model, BatchStream(dataset.x, None, 16, seed=1), config["train"], tmp_path / "r")
    with pytest.raises(DivergenceError, match="NaN/Inf"):
        trainer.fit()


@pytest.mark.parametrize("data_name", ["digits", "ring8"])
def test_autoencoder_runs_get_reconstruction_and_latent_pictures(data_name, tmp_path):
    from PIL import Image

    from genzoo import run

    config = run.resolve("vae", data_name, sets=["train.steps=2", "train.batch_size=16", "train.progress=false",
                                                 "train.n_eval=64", "train.n_picture=16"])
    run_dir, _ = run.train(config, tmp_path, "r")
    for stem in ("recon_step_0000002", "latent_step_0000002"):
        picture = run_dir / "samples" / f"{stem}.png"
        assert picture.is_file(), picture
        assert min(Image.open(picture).size) >= 64


def test_a_training_log_and_a_test_metric_of_one_name_are_both_kept(tmp_path):
    """A VAE logs its batch ELBO while training; the evaluation reports the test ELBO: both survive, labelled."""
    import json

    from genzoo import run

    config = run.resolve("vae", "ring8", sets=["train.steps=2", "train.batch_size=16", "train.progress=false",
                                               "train.n_eval=64", "train.log_every=1"])
    run_dir, final = run.train(config, tmp_path, "r")
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"elbo", "train_elbo", "rate", "train_rate"} <= set(last)
    assert "test ELBO (bound, nats)" in run.summary(run_dir, final)
