"""Declarative configs: constraints declared beside the fields, checked in one place, listed by `genzoo list MODEL`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from genzoo import cli
from genzoo.config import (Config, at_least, build, check, describe, half_open_unit_interval, option, options,
                           positive)
from genzoo.errors import GenzooError
from genzoo.models import MODELS


@dataclass
class Toy(Config):
    lr: float = option(1e-3, positive, "learning rate")
    beta1: float = option(0.5, half_open_unit_interval, "Adam β1")
    width: int | None = option(None, at_least(1), "width; none: by data kind")
    a: float = option(0.0, None, "label of fakes")
    b: float = option(1.0, None, "label of reals")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.a != self.b, "a", self.a, "must differ from b")


@dataclass
class ToyChild(Toy):
    lr: float = 5e-5  # a new default, the same rule and meaning


def test_declared_constraints_are_checked_when_built_from_strings_and_directly():
    with pytest.raises(GenzooError, match=r"^invalid value lr=-1\.0: must be > 0$"):
        build(Toy, {"lr": "-1"})  # what --set lr=-1 does
    with pytest.raises(GenzooError, match=r"^invalid value beta1=1: must be in \[0, 1\)$"):
        Toy(beta1=1)
    with pytest.raises(GenzooError, match=r"^invalid value width=0: must be ≥ 1$"):
        Toy(width=0)
    assert Toy(width=None).width is None  # None (resolved later) is never checked
    with pytest.raises(GenzooError, match="must differ from b"):  # the hand-written cross-field rule still runs
        Toy(a=1.0)


def test_a_redeclared_default_keeps_the_parents_rule_and_meaning():
    assert ToyChild().lr == 5e-5
    assert options(ToyChild)["lr"] == options(Toy)["lr"]
    with pytest.raises(GenzooError, match=r"lr=0: must be > 0"):
        ToyChild(lr=0)


# Exactly the messages the hand-written checks gave before the constraints were declared.
@pytest.mark.parametrize("model, key, value, message", [
    ("vae", "lr", -1, "invalid value lr=-1: must be > 0"),
    ("vae", "latent_dim", 0, "invalid value latent_dim=0: must be ≥ 1"),
    ("vae", "target_rate", -1, "invalid value target_rate=-1: must be ≥ 0 nats"),
    ("gan", "beta1", 1, "invalid value beta1=1: must be in [0, 1)"),
    ("gan", "arch", "resnet", "invalid value arch='resnet': must be auto or one of dcgan, mlp"),
    ("gan", "objective", "nope", "unknown objective 'nope'"),
    ("wgan-gp", "lr_d", 0, "invalid value lr_d=0: must be > 0"),
    ("wgan", "clip", -1, "invalid value clip=-1: must be > 0 (or none to disable clipping)"),
    ("iwae", "k", 1.5, "invalid value k=1.5: must be an integer ≥ 1"),
    ("infogan", "n_cat", 1, "invalid value n_cat=1: must be 0 or ≥ 2"),
    ("began", "eta", 3, "invalid value eta=3: must be 1 or 2"),
    ("began", "gamma", 1.5, "invalid value gamma=1.5: must be in [0, 1]"),
    ("vqvae", "ema_decay", 1, "invalid value ema_decay=1: must be in (0, 1)"),
    ("bm", "max_enumeration_bits", 31, "invalid value max_enumeration_bits=31: must be in 1..30"),
    ("m2", "arch", "resnet", "invalid value arch='resnet': valid: auto, mlp, conv"),
    ("dae", "corruption", "blur", "invalid value corruption='blur': valid: masking, salt-and-pepper, gaussian"),
    ("infovae", "alpha", 2, "invalid value alpha=2: must be ≤ 1 (1 − α weights a KL)"),
    ("rbm", "ais_runs", 1, "invalid value ais_runs=1: must be ≥ 2"),
    ("dualgan", "optimizer", "sgd", "invalid value optimizer='sgd': must be rmsprop or adam"),
])
def test_stock_rules_give_the_same_one_line_messages(model, key, value, message):
    with pytest.raises(GenzooError) as e:
        MODELS.get(model).Config(**{key: value})
    assert str(e.value).startswith(message)


def test_every_option_of_every_model_states_its_meaning():
    missing = {name: [row[0] for row in describe(cls.Config) if not row[4]] for name, cls in MODELS.items()
               if cls.__module__.startswith("genzoo.")}  # not models a test registers
    assert not {k: v for k, v in missing.items() if v}


def test_every_declared_constraint_accepts_its_default():
    for name, cls in MODELS.items():
        config = cls.Config()
        for key, opt in options(cls.Config).items():
            value = getattr(config, key)
            if opt.constraint is not None and value is not None:
                assert opt.constraint.holds(value), (name, key, value)


def test_list_model_prints_every_option_with_default_constraint_and_meaning(capsys):
    assert cli.main(["list", "wgan-gp"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[4:] if line.strip()}
    config = MODELS.get("wgan-gp").Config
    assert set(lines) == {"option"} | {f.name for f in dataclasses.fields(config)}
    assert lines["lr_d"].split()[:5] == ["lr_d", "float", "|", "none", "0.0001"]
    assert "> 0" in lines["lr_d"] and "discriminator learning rate" in lines["lr_d"]
    assert "in [0, 1)" in lines["beta2"] and lines["beta2"].split()[2] == "0.9"
    assert "a registered objective" in lines["objective"] and "wasserstein" in lines["objective"]
    assert cli.main(["list", "gann"]) == 2
    assert "unknown model 'gann'; did you mean 'gan'" in capsys.readouterr().err
