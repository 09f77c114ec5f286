"""The contract every registered model keeps, checked for every model on every data kind it supports.

A new model gets these checks by being registered: batch norm with PyTorch's eps and momentum
(a mistake in public code: ``BatchNorm(n, 0.8)`` sets eps = 0.8); a few training steps with finite, detached
scalar outputs; ``sample(n)`` returns n draws of the data's shape (two seeds give different
draws); each declared capability (``genzoo.models.base.CAPABILITIES``) returns the shape its
protocol promises; and a run stopped after a checkpoint and resumed ends bit-identical to one
trained straight through. ``Model.contract_overrides`` makes a model small enough for this, and
``Model.contract_data`` names the data it needs for a kind.
"""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Distribution

from genzoo import data, run
from genzoo.models import MODELS, DataSpec, capabilities
from genzoo.train.checkpoint import load_checkpoint
from genzoo.train.stream import BatchStream
from genzoo.train.trainer import Trainer

#: The tiny data each kind is checked on unless a model names its own (``contract_data``).
DEFAULT_DATA = {"points": ("ring8", {"n": 512}), "images": ("digits", {})}
STEPS, BATCH = 4, 16


def contract_data(cls: type, kind: str) -> tuple[str, dict]:
    return getattr(cls, "contract_data", {}).get(kind, DEFAULT_DATA[kind])


CASES = [(name, kind) for name, cls in MODELS.items() for kind in cls.supports]


def sets_for(cls: type, steps: int) -> list[str]:
    overrides = [f"model.{k}={v}" for k, v in cls.contract_overrides.items()]
    return overrides + [f"train.steps={steps}", f"train.batch_size={BATCH}", "train.log_every=1",
                        "train.sample_every=0", "train.checkpoint_every=2", "train.n_eval=32",
                        "train.n_picture=16", "train.progress=false", "train.seed=3"]


def build_model(name: str, kind: str):
    cls = MODELS.get(name)
    data_name, params = contract_data(cls, kind)
    config = run.resolve(name, data_name, sets=sets_for(cls, STEPS))
    config["data"]["params"].update(params)
    model, dataset = run.build(config)
    return model, dataset


@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_step_sample_and_capabilities_keep_the_protocol(name, kind):
    model, dataset = build_model(name, kind)
    spec = DataSpec.of(dataset)
    for module in model.modules():  # a mistake in public code: BatchNorm(n, 0.8) sets eps = 0.8 by accident
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            assert module.eps == 1e-5 and module.momentum == 0.1, (name, module)
    torch.manual_seed(0)
    idx = torch.randperm(len(dataset.x))[: BATCH * model.batches_per_step]  # a shuffled batch, as the stream gives
    x = dataset.x[idx]
    batch = (x, dataset.y[idx]) if model.uses_labels else x
    for _ in range(2):
        out = model.step(batch)
    assert out, f"{name}.step returned no logs"
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, f"{name}.step()[{key!r}] is not a scalar tensor"
        assert not value.requires_grad, f"{name}.step()[{key!r}] is not detached"
        assert torch.isfinite(value), f"{name}.step()[{key!r}] = {value.item()} after two steps on {kind}"

    torch.manual_seed(1)
    first = model.sample(6)
    torch.manual_seed(2)
    second = model.sample(6)
    assert tuple(first.shape) == (6, *spec.shape), f"{name}.sample(6) has shape {tuple(first.shape)}"
    assert first.dtype.is_floating_point and torch.isfinite(first).all()
    assert not torch.equal(first, second), f"{name}.sample gives the same output for two seeds: not draws"

    n = 5
    x = dataset.x[idx[:n]]
    caps = set(capabilities(model))
    for cap in ("log_prob", "elbo", "energy"):
        if cap in caps:
            value = getattr(model, cap)(x)
            assert tuple(value.shape) == (n,), f"{name}.{cap} has shape {tuple(value.shape)}, not ({n},)"
            assert torch.isfinite(value).all(), f"{name}.{cap} is not finite"
    if "log_prob_estimate" in caps:
        values, stderr = model.log_prob_estimate(x)
        assert tuple(values.shape) == (n,) and torch.isfinite(values).all()
        assert torch.as_tensor(stderr).ge(0).all()
    code = None
    if "encode" in caps:
        code = model.encode(x)
        if isinstance(code, Distribution):
            assert tuple(code.batch_shape) == (n,), f"{name}.encode batch shape {tuple(code.batch_shape)}"
            code = code.mean
        assert code.shape[0] == n, f"{name}.encode returned {tuple(code.shape)} for {n} inputs"
    if "decode" in caps and code is not None:
        decoded = model.decode(code)
        assert tuple(decoded.shape) == (n, *spec.shape), f"{name}.decode has shape {tuple(decoded.shape)}"
    if "proposal" in caps:
        q = model.proposal(x)
        assert isinstance(q, Distribution) and tuple(q.batch_shape) == (n,)
        if "log_joint" in caps:
            z = q.sample((3,))
            assert tuple(model.log_joint(x, z).shape) == (3, n)
    if "translate" in caps:
        for direction in ("a2b", "b2a"):
            assert model.translate(x, direction).shape == x.shape


@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_resume_is_bit_identical(name, kind, tmp_path):
    """Model, optimiser, RNG and sampler state survive a checkpoint: stop at step 2, resume to 4, compare.

    The trainer runs without pictures and evaluations (the command-line resume, with them, is
    tested in tests/test_train.py); what is checked here is that every model keeps its state in
    ``state_dict()``.
    """

    def fit(steps: int, run_dir, resume: bool = False) -> dict:
        model, dataset = build_model(name, kind)
        config = run.resolve(name, "ring8", sets=sets_for(MODELS.get(name), steps))["train"]
        y = dataset.y if model.uses_labels else None
        stream = BatchStream(dataset.x, y, config.batch_size, seed=config.seed + 1)
        trainer = Trainer(model, stream, config, run_dir)
        if resume:
            trainer.resume()
        trainer.fit()
        return load_checkpoint(run_dir / "checkpoint.safetensors")

    straight = fit(STEPS, tmp_path / "straight")
    fit(STEPS // 2, tmp_path / "stopped")
    resumed = fit(STEPS, tmp_path / "stopped", resume=True)
    assert straight["step"] == resumed["step"] == STEPS
    for key, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][key]), f"{name}: {key} differs after resume"


@pytest.mark.parametrize("name,kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_every_model_trains_under_bf16_mixed(name, kind, tmp_path):
    """precision=auto picks bf16-mixed on GPUs and AMX CPUs, so every model's step must run under
    autocast on any machine — found on an AMX host, where the RBM's float32 ``out=`` gradient
    buffer met a bf16 product. Parameters keep their dtype and stay finite."""
    model, dataset = build_model(name, kind)
    before = {k: v.dtype for k, v in model.state_dict().items()}
    config = run.resolve(name, "ring8", sets=sets_for(MODELS.get(name), 2) + ["train.precision=bf16-mixed"])["train"]
    y = dataset.y if model.uses_labels else None
    Trainer(model, BatchStream(dataset.x, y, config.batch_size, seed=config.seed + 1), config, tmp_path / "bf16").fit()
    for key, tensor in model.state_dict().items():
        assert tensor.dtype == before[key], f"{name}: {key} became {tensor.dtype} under bf16-mixed"
        if tensor.is_floating_point():
            assert torch.isfinite(tensor).all(), f"{name}: {key} is not finite after bf16-mixed steps"
