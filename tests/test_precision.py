"""Mixed precision and channels-last are the trainer's: every model gains them, resume stays exact."""

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
