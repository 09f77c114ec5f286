"""An EBM's negatives by name: every registered negative sampler trains an EBM, and a new sampler
file (written here at test time) becomes a kind of negatives with no other edit."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from genzoo import cli, config, run
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec
from genzoo.sampling import SAMPLERS
from genzoo.sampling.negatives import negative_samplers

QUIET = ["sample_every=0", "n_eval=16", "n_picture=16", "progress=false", "log_every=1"]

#: A whole sampler file as a user would write it: ≈ 30 lines, registered, nothing else edited.
SCRATCH = '''
"""Scratch negatives: K Langevin steps on E from N(0, scale² I), counting its calls."""

from dataclasses import dataclass

import torch

from genzoo.sampling import register_sampler
from genzoo.sampling.langevin import langevin
from genzoo.sampling.negatives import NegativeSampler


@dataclass
class ScratchConfig:
    scale: float = 1.0  # σ of the chain starts
    steps: int = 2  # K


@register_sampler("scratch-gauss")
class ScratchGauss(NegativeSampler):
    """Scratch negatives: K Langevin steps on E_θ from N(0, scale² I)."""

    Config = ScratchConfig

    def __init__(self, config, target):
        super().__init__(config, target)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def draw(self, n):
        x0 = self.config.scale * torch.randn(n, *self.target.shape)
        return langevin(self.target.energy, x0, self.config.steps, 0.01)[0]

    def forward(self, n):
        self.calls += 1
        return self.draw(n)

    def sample(self, n):
        return self.draw(n)
'''


@pytest.fixture
def scratch_sampler(tmp_path):
    path = tmp_path / "scratch_negatives.py"
    path.write_text(SCRATCH)
    spec = importlib.util.spec_from_file_location("scratch_negatives", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["scratch_negatives"] = module
    try:
        spec.loader.exec_module(module)  # registers "scratch-gauss", as discovery would for a file in genzoo/sampling
        yield "scratch-gauss"
    finally:
        SAMPLERS._items.pop("scratch-gauss", None)
        sys.modules.pop("scratch_negatives", None)


def test_a_new_sampler_file_trains_an_ebm_as_its_negatives(scratch_sampler, tmp_path, capsys):
    assert scratch_sampler in negative_samplers()
    code = cli.main(["list"])
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.split()[:1] == [scratch_sampler])
    assert code == 0 and "EBM negatives: yes" in line and "negatives.KEY for scale, steps" in line
    args = ["train", "ebm", "--data", "ring8", "--runs", str(tmp_path), "--name", "scratch",
            "--set", f"negatives={scratch_sampler}", "--set", "negatives.scale=0.5", "--set", "negatives.steps=3",
            "--set", "steps=4", "--set", "hidden=8", "--set", "batch_size=16", "--set", "data.n=64",
            "--set", "data.n_test=16"] + [a for s in QUIET for a in ("--set", s)]
    assert cli.main(args) == 0, capsys.readouterr().err
    saved = json.loads((tmp_path / "scratch" / "config.json").read_text())["model_config"]["negatives"]
    assert saved == {"name": scratch_sampler, "scale": 0.5, "steps": 3}
    model, _ = run.load(tmp_path / "scratch")
    assert int(model.negatives.calls) == 4  # one call per energy update: the negatives came from it
    assert model.negatives.config.scale == 0.5 and model.sample(5).shape == (5, 2)
    with pytest.raises(GenzooError, match="unknown config key 'negatives.scal'; did you mean 'negatives.scale'"):
        run.resolve("ebm", "ring8", sets=[f"negatives={scratch_sampler}", "negatives.scal=1"])


@pytest.mark.parametrize("name", sorted(negative_samplers()))
def test_every_registered_negative_sampler_trains_an_ebm(name, tmp_path):
    cls = negative_samplers()[name]
    sets = [f"negatives={name}", *(f"negatives.{k}={v}" for k, v in cls.contract_options.items()),
            "hidden=8", "depth=2", "steps=3", "batch_size=16", "data.n=64", "data.n_test=16", "seed=1", *QUIET]
    run_dir, last = run.train(run.resolve("ebm", "ring8", sets=sets), tmp_path, name=name)
    model, run_config = run.load(run_dir)
    assert type(model.negatives) is cls and model.config.negatives.name == name
    for key in ("e_data", "e_neg", "loss_e"):
        assert key in last and torch.isfinite(torch.tensor(last[key])), (name, key, last)
    torch.manual_seed(0)
    x = model.sample(7)
    assert x.shape == (7, 2) and torch.isfinite(x).all()
    # the recorded config (every option, resolved) builds the same config again
    rebuilt = config.build(MODELS.get("ebm").Config, config.to_dict(run_config["model_config"]))
    assert config.to_dict(rebuilt) == config.to_dict(run_config["model_config"])


def test_negatives_options_refine_the_models_default_and_a_new_name_starts_fresh():
    meg = config.build(MODELS.get("meg").Config, {"negatives.latent_steps": 3})
    assert meg.negatives.name == "generator" and meg.negatives["entropy"] == "jsd-mi" and meg.negatives["latent_steps"] == 3
    switched = config.build(MODELS.get("meg").Config, {"negatives": "short-run", "negatives.steps": 4})
    assert switched.negatives.name == "short-run" and switched.negatives["steps"] == 4 and "entropy" not in switched.negatives
    model = MODELS.get("meg")(switched, DataSpec("points", (2,)))
    assert model.optimizers().keys() == {"energy"} and model.config.negatives["step_size"] == 0.01  # resolved by kind
