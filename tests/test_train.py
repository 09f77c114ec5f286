"""Trainer: checkpoints, bit-identical resume, divergence guard, data stream."""

import json
from dataclasses import dataclass

import pytest
import torch
from safetensors import safe_open

from genzoo import run
from genzoo.errors import DivergenceError, GenzooError
from genzoo.models import MODELS, Model, register_model
from genzoo.train import BatchStream, load_checkpoint, save_checkpoint

TINY = ["steps=40", "batch_size=32", "log_every=10", "checkpoint_every=20", "sample_every=0",
        "progress=false", "hidden=16", "depth=1", "data.n=2000", "n_eval=200"]


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_checkpoint_round_trip_keeps_types_and_values(tmp_path):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.randn(3))], betas=(0.5, 0.9))
    opt.param_groups[0]["params"][0].grad = torch.ones(3)
    opt.step()
    state = {"opt": opt.state_dict(), "rng": torch.get_rng_state(), "misc": [1, 2.5, None, "s", True, (1, 2)],
             "nan": float("nan")}
    save_checkpoint(state, tmp_path / "c.safetensors")
    back = load_checkpoint(tmp_path / "c.safetensors")
    assert back["misc"] == [1, 2.5, None, "s", True, (1, 2)]
    assert back["opt"]["param_groups"][0]["betas"] == (0.5, 0.9)
    assert set(back["opt"]["state"]) == {0}  # int keys survive
    torch.testing.assert_close(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(back["rng"], state["rng"])
    assert back["nan"] != back["nan"]
    # a plain safetensors file: readable without unpickling anything
    with safe_open(str(tmp_path / "c.safetensors"), framework="pt") as f:
        assert "genzoo.structure" in f.metadata()


def test_checkpoint_load_rejects_foreign_files(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(GenzooError, match="cannot read checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(GenzooError, match="not found"):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_run_writes_config_metrics_checkpoint_and_loads_back(tmp_path):
    cfg = run.resolve("gan", "ring8", sets=TINY)
    run_dir, metrics = run.train(cfg, tmp_path)
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["model_config"]["objective"] == "nonsaturating" and saved["train"]["steps"] == 40
    assert saved["data"]["params"]["n"] == 2000 and saved["data_spec"]["shape"] == [2]
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [10, 20, 30, 40]
    assert {"modes", "hq_share", "w1"} <= set(lines[-1])  # final evaluation
    assert list((run_dir / "samples").glob("*.png"))
    assert list((run_dir / "tensorboard").iterdir())
    model, _ = run.load(run_dir)
    torch.manual_seed(3)
    a = model.sample(5)
    torch.manual_seed(3)
    b = model.sample(5)
    assert torch.equal(a, b)


@pytest.mark.parametrize("data_name,extra", [("ring8", []), ("digits", ["width=8", "data.n=256"])])
def test_resume_is_bit_identical(tmp_path, data_name, extra):
    sets = TINY + extra
    straight, _ = run.train(run.resolve("gan", data_name, sets=sets), tmp_path, name="straight")
    half, _ = run.train(run.resolve("gan", data_name, sets=sets + ["steps=20"]), tmp_path, name="half")
    run.resume(half, ["train.steps=40"])
    a, _ = run.load(straight)
    b, _ = run.load(half)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), k
    losses = lambda d: [(l["step"], l["loss_d"], l["loss_g"]) for l in map(json.loads, (d / "metrics.jsonl").read_text().splitlines())]
    assert losses(straight) == losses(half)


@dataclass
class ExplodingConfig:
    explode_at: int = 7


@register_model("test-exploding")
class Exploding(Model):
    """A model whose loss becomes NaN at a chosen step (tests the divergence guard)."""

    Config = ExplodingConfig

    def __init__(self, config, data):
        super().__init__(config, data)
        self.w = torch.nn.Parameter(torch.zeros(data.dim))
        self.opt = torch.optim.SGD([self.w], lr=0.1)
        self.t = 0

    def optimizers(self):
        return {"sgd": self.opt}

    def step(self, batch):
        self.t += 1
        loss = ((batch - self.w) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        if self.t >= self.config.explode_at:
            loss = loss * float("nan")
        return {"loss": loss.detach()}

    def sample(self, n):
        return self.w.detach().expand(n, -1).clone()


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    cfg = run.resolve("test-exploding", "ring8", sets=["steps=50", "log_every=5", "checkpoint_every=5",
                                                        "sample_every=0", "progress=false", "batch_size=16",
                                                        "data.n=500", "n_eval=100"])
    with pytest.raises(DivergenceError, match=r"loss became NaN/Inf between steps 6 and 10.*step 5"):
        run.train(cfg, tmp_path, name="boom")
    state = load_checkpoint(tmp_path / "boom" / "checkpoint.safetensors")
    assert state["step"] == 5
    assert torch.isfinite(state["model"]["w"]).all()
    steps = [json.loads(l)["step"] for l in (tmp_path / "boom" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [5]


def test_stream_is_seeded_covers_each_epoch_and_resumes():
    x = torch.arange(10.0).unsqueeze(1)
    s = BatchStream(x, None, batch_size=3, seed=5)
    first_epoch = torch.cat([s.next() for _ in range(3)]).squeeze(1)
    assert len(set(first_epoch.tolist())) == 9  # no repeats within an epoch (last partial batch dropped)
    state = s.state_dict()
    ahead = [s.next() for _ in range(5)]
    s2 = BatchStream(x, None, batch_size=3, seed=0)
    s2.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(ahead, [s2.next() for _ in range(5)]))
    with pytest.raises(GenzooError, match="batch_size=11"):
        BatchStream(x, None, batch_size=11, seed=0)


def test_every_registered_model_has_a_config_with_defaults():
    for name, cls in MODELS.items():
        cls.Config()  # defaults must construct
        assert cls.__doc__, name


def test_tensorboard_gets_sample_pictures_and_hyperparameters(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = run.resolve("gan", "ring8", sets=[s if not s.startswith("sample_every") else "sample_every=20" for s in TINY])
    run_dir, _ = run.train(cfg, tmp_path, name="tb")
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    pictures = events.Images("samples")
    assert [p.step for p in pictures] == [20, 40]
    assert pictures[0].width > 100 and pictures[0].height > 100
    assert "hparams" in events.PluginAssets("hparams") or events.PluginTagToContent("hparams")
    assert {"loss_d", "w1"} <= set(events.Tags()["scalars"])


def test_thread_rule_one_for_points_models_and_free_cores_for_others(monkeypatch):
    points, _ = run.build(run.resolve("gan", "ring8", sets=["hidden=8", "depth=1", "data.n=200"]))
    images, _ = run.build(run.resolve("gan", "digits", sets=["width=4", "data.n=64"]))
    monkeypatch.setattr(run, "_DEFAULT_THREADS", 8)
    monkeypatch.setattr(run.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(run.os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert run.auto_threads(points) == 1
    assert run.auto_threads(images) == 8  # an idle machine: every core
    monkeypatch.setattr(run.os, "getloadavg", lambda: (5.4, 0.0, 0.0))
    assert run.auto_threads(images) == 3  # the cores not already busy
    monkeypatch.setattr(run.os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert run.auto_threads(images) == 1
