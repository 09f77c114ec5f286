"""Mixed precision and channels-last are the trainer's: every model gains them, resume stays exact."""

import json

import pytest
import torch

from genzoo import run
from genzoo.config import build
from genzoo.errors import GenzooError
from genzoo.train import TrainConfig, load_checkpoint

TINY = ["batch_size=16", "log_every=5", "checkpoint_every=10", "sample_every=0", "progress=false",
        "width=8", "data.n=256", "n_eval=50", "n_picture=4"]


def dtypes_seen(model):
    """Output dtypes of every Linear/Conv layer during training steps (sampling, in eval mode, stays fp32)."""
    seen = set()

    def hook(module, inputs, output):
        if module.training:
            seen.add(output.dtype)

    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(hook)
    return seen


@pytest.mark.parametrize("precision,expected", [("32", {torch.float32}), ("bf16-mixed", {torch.bfloat16})])
def test_precision_runs_every_layer_of_the_step_in_its_dtype(tmp_path, precision, expected):
    cfg = run.resolve("gan", "digits", sets=TINY + ["steps=5", f"precision={precision}"])
    model, dataset = run.build(cfg)
    trainer = run._prepare(model, dataset, cfg["train"], tmp_path / "r")
    seen = dtypes_seen(model)
    trainer.fit()
    assert seen == expected
    state = load_checkpoint(tmp_path / "r" / "checkpoint.safetensors")
    assert all(v.dtype == torch.float32 for v in state["model"].values() if v.is_floating_point())
    exp_avg = state["optimizers"]["generator"]["state"][0]["exp_avg"]
    assert exp_avg.dtype == torch.float32 and torch.isfinite(exp_avg).all() and exp_avg.abs().sum() > 0


@pytest.mark.parametrize("extra", [["precision=bf16-mixed"], ["precision=bf16-mixed", "channels_last=true"]])
def test_mixed_precision_resume_is_bit_identical(tmp_path, extra):
    straight, _ = run.train(run.resolve("gan", "digits", sets=TINY + ["steps=20", *extra]), tmp_path, name="a")
    run.train(run.resolve("gan", "digits", sets=TINY + ["steps=10", *extra]), tmp_path, name="b")
    run.resume(tmp_path / "b", ["train.steps=20"])
    a = load_checkpoint(straight / "checkpoint.safetensors")
    b = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["model"]["G.project.0.weight" if "G.project.0.weight" in a["model"] else next(iter(a["model"]))].dtype == torch.float32


def test_precision_names_and_their_errors():
    assert build(TrainConfig, {"precision": 32}).precision == "32"  # TOML's precision = 32
    with pytest.raises(GenzooError, match="did you mean 'bf16-mixed'"):
        build(TrainConfig, {"precision": "bf16"})
    if not torch.cuda.is_available():
        cfg = run.resolve("gan", "ring8", sets=["precision=16-mixed", "hidden=8", "depth=1", "data.n=200"])
        model, dataset = run.build(cfg)
        with pytest.raises(GenzooError, match="needs a CUDA device"):
            run._prepare(model, dataset, cfg["train"], "unused")


def test_float16_overflow_skips_the_update_instead_of_poisoning_the_weights(tmp_path):
    cfg = run.resolve("gan", "ring8", sets=["hidden=8", "depth=1", "data.n=200", "batch_size=16"])
    model, dataset = run.build(cfg)
    trainer = run._prepare(model, dataset, cfg["train"], tmp_path)
    opt = model.optimizers()["generator"]
    params = [p for g in opt.param_groups for p in g["params"]]
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.ones_like(p)
    params[0].grad[0] = float("inf")  # one overflowed half-precision gradient
    opt.register_step_pre_hook(trainer._skip_non_finite)  # what 16-mixed registers on a GPU
    opt.step()
    assert trainer.skipped_steps == 1
    assert all(torch.equal(a, p) for a, p in zip(before, params))
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()  # finite gradients: the update happens
    assert trainer.skipped_steps == 1 and not torch.equal(before[0], params[0])


def facts(**features):
    from genzoo.hardware import CpuFacts

    base = dict(model="test", avx2=True, avx512=False, avx512_bf16=False, amx=False, capability="AVX2", mkldnn_bf16=False)
    return CpuFacts(**{**base, **features})


@pytest.mark.parametrize("features,expected", [
    ({}, "32"),  # bf16 emulated: ~14x slower
    ({"avx512": True, "avx512_bf16": True, "mkldnn_bf16": True}, "32"),  # native but measured 0.7-0.8x of fp32
    ({"avx512": True, "avx512_bf16": True, "amx": True, "mkldnn_bf16": True}, "bf16-mixed"),  # AMX
])
def test_auto_precision_on_a_cpu_picks_bf16_only_with_amx(monkeypatch, features, expected):
    from genzoo import hardware

    monkeypatch.setattr(hardware, "cpu_facts", lambda: facts(**features))
    assert hardware.auto_precision("cpu") == expected


def test_auto_is_the_default_and_config_json_records_what_it_became(tmp_path):
    from genzoo import hardware

    assert TrainConfig().precision == "auto"
    run_dir, _ = run.train(run.resolve("gan", "ring8", sets=["steps=2", "hidden=8", "depth=1", "data.n=200", "n_eval=50",
                                                             "sample_every=0", "progress=false"]), tmp_path, name="r")
    raw = json.loads((run_dir / "config.json").read_text())
    assert raw["train"]["precision"] == "auto"
    assert raw["resolved"]["precision"] == hardware.auto_precision("cpu")


def test_bf16_on_an_emulating_cpu_warns_once_in_one_line(monkeypatch, capsys):
    from genzoo import hardware

    monkeypatch.setattr(hardware, "cpu_facts", lambda: facts())
    monkeypatch.setattr(hardware, "_warned_bf16", False)
    assert hardware.warn_if_bf16_emulated("cpu") and hardware.warn_if_bf16_emulated("cpu")
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "emulated" in err and "precision=32" in err and "auto" in err
    monkeypatch.setattr(hardware, "cpu_facts", lambda: facts(avx512_bf16=True, mkldnn_bf16=True))
    monkeypatch.setattr(hardware, "_warned_bf16", False)
    assert not hardware.warn_if_bf16_emulated("cpu")
    assert capsys.readouterr().err == ""


def test_resume_of_an_auto_run_keeps_the_precision_it_recorded(tmp_path, monkeypatch):
    """A run whose auto chose bf16 (an AMX machine, here pretended) resumes in bf16 where auto would choose 32."""
    from genzoo import hardware

    straight, _ = run.train(run.resolve("gan", "digits", sets=TINY + ["steps=20", "precision=bf16-mixed"]), tmp_path, name="a")
    with monkeypatch.context() as m:
        m.setattr(hardware, "_auto", lambda device: ("bf16-mixed", "pretended AMX"))
        run.train(run.resolve("gan", "digits", sets=TINY + ["steps=10"]), tmp_path, name="b")
    monkeypatch.setattr(hardware, "_auto", lambda device: ("32", "pretended: no AMX"))
    run.resume(tmp_path / "b", ["train.steps=20"])
    raw = json.loads((tmp_path / "b" / "config.json").read_text())
    assert raw["train"]["precision"] == "auto" and raw["resolved"]["precision"] == "bf16-mixed"
    a = load_checkpoint(straight / "checkpoint.safetensors")
    b = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_old_run_directories_without_precision_or_resolved_load_as_float32(tmp_path):
    run_dir, _ = run.train(run.resolve("gan", "ring8", sets=["steps=2", "hidden=8", "depth=1", "data.n=200", "n_eval=50",
                                                             "sample_every=0", "progress=false"]), tmp_path, name="r")
    path = run_dir / "config.json"
    raw = json.loads(path.read_text())
    del raw["resolved"], raw["train"]["precision"]  # as written before either existed
    path.write_text(json.dumps(raw))
    assert run.read_config(run_dir)["train"].precision == "32"
    run.load(run_dir)
    run.resume(run_dir, ["train.steps=4"])
    assert json.loads(path.read_text())["resolved"]["precision"] == "32"
