"""Runs: resolve a configuration, create a run directory, train, and load a run back.

A run directory holds everything needed to continue or inspect it::

    runs/<name>/config.json            resolved config (model, data, train, versions)
    runs/<name>/metrics.jsonl          one JSON line per log step (losses, speed, evaluations)
    runs/<name>/checkpoint.safetensors weights, optimisers, RNG and data-stream state
    runs/<name>/samples/step_*.png     periodic sample pictures
    runs/<name>/tensorboard/           TensorBoard events
"""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path
from typing import Any

import torch

from genzoo import config as cfg
from genzoo import data as data_module
from genzoo.errors import GenzooError
from genzoo.models import MODELS, DataSpec, Model
from genzoo.train import distributed
from genzoo.train.checkpoint import load_checkpoint
from genzoo.train.stream import BatchStream
from genzoo.train.trainer import CHECKPOINT, TrainConfig, Trainer, resolve_device

CONFIG = "config.json"
SECTIONS = ("model", "train", "data")


def resolve(
    model_name: str,
    data_name: str,
    config_file: str | None = None,
    sets: list[str] | None = None,
) -> dict[str, Any]:
    """Merge defaults < TOML file ([model], [train], [data] tables) < ``--set`` pairs.

    A ``--set`` key is ``section.field`` or a bare field name found in exactly one of the model
    and train configs. Values are validated here, before anything is written.
    """
    model_cls = MODELS.get(model_name)
    values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
    if config_file:
        table = cfg.load_toml(config_file)
        for key in table:
            if key not in SECTIONS:
                raise GenzooError(f"unknown table [{key}] in {config_file!r}; valid: {', '.join(SECTIONS)}")
            if not isinstance(table[key], dict):
                raise GenzooError(f"invalid value {key}={table[key]!r} in {config_file!r}: expected a table")
            values[key].update(table[key])
    model_fields = set(model_cls.Config.__dataclass_fields__)
    train_fields = set(TrainConfig.__dataclass_fields__)
    for key, value in cfg.parse_sets(sets or []).items():
        section, dot, field = key.partition(".")
        if dot:
            if section not in SECTIONS:
                raise GenzooError(f"unknown config section in {key!r}; valid: {', '.join(SECTIONS)}")
        else:
            field = key
            owners = [s for s, f in (("model", model_fields), ("train", train_fields)) if field in f]
            if not owners:
                raise GenzooError(
                    f"unknown config key {key!r}; valid: {', '.join(sorted(model_fields | train_fields))} "
                    "(or data.<param>)"
                )
            if len(owners) > 1:
                raise GenzooError(f"ambiguous config key {key!r}: write {' or '.join(o + '.' + key for o in owners)}")
            section = owners[0]
        values[section][field] = value
    model_config = cfg.build(model_cls.Config, values["model"], prefix="model.")
    train_config = cfg.build(TrainConfig, values["train"], prefix="train.")
    return {
        "model": model_name,
        "model_config": model_config,
        "train": train_config,
        "data": {"name": data_name, "params": values["data"]},
    }


def _unique_dir(root: Path, stem: str) -> Path:
    path, i = root / stem, 2
    while path.exists():
        path, i = root / f"{stem}-{i}", i + 1
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(text).stem if ("/" in text or "." in text) else text)


def versions() -> dict[str, str]:
    from genzoo import __version__

    return {"genzoo": __version__, "torch": torch.__version__, "python": platform.python_version()}


def _on_sample(dataset: Any, train_config: TrainConfig):
    """Pictures and evaluation metrics; one draw of samples serves both."""
    from genzoo.metrics.evaluate import evaluate, n_evaluation_samples
    from genzoo.viz import save_samples

    n_eval = n_evaluation_samples(dataset, train_config.n_eval)
    n = n_eval if dataset.kind == "points" else train_config.n_picture
    # the same background for every picture of the run, drawn once
    log_prob = dataset.density.log_prob if dataset.density is not None else None
    reference = dataset.fresh(n, torch.Generator().manual_seed(0)) if dataset.kind == "points" else None

    def on_sample(model: Model, step: int, run_dir: Path) -> dict[str, float]:
        samples = model.sample(max(n, n_eval)).cpu()
        save_samples(samples[:n], run_dir / "samples" / f"step_{step:07d}.png", log_prob=log_prob,
                     reference=reference, title=f"{run_dir.name} · step {step}")
        return evaluate(model, dataset, samples=samples, n=n_eval)

    return on_sample


def build(run_config: dict[str, Any], dataset: Any | None = None) -> tuple[Model, Any]:
    """Instantiate the model of a resolved run config (seeded), loading the data unless given."""
    train_config: TrainConfig = run_config["train"]
    if dataset is None:
        dataset = data_module.load(run_config["data"]["name"], **run_config["data"]["params"])
    torch.manual_seed(train_config.seed)
    model = MODELS.get(run_config["model"])(run_config["model_config"], DataSpec.of(dataset))
    return model, dataset


def train(
    run_config: dict[str, Any],
    runs_root: str | Path = "runs",
    name: str | None = None,
) -> tuple[Path, dict[str, float]]:
    """Create a new run directory for ``run_config`` and train it. Returns (run_dir, last metrics)."""
    distributed.init_from_environment()
    root = Path(runs_root)
    if name is not None:
        run_dir = root / name
        if run_dir.exists():
            raise GenzooError(f"run directory {str(run_dir)!r} already exists; use --resume to continue it or another --name")
    else:
        run_dir = _unique_dir(root, f"{run_config['model']}_{_slug(run_config['data']['name'])}")
    dataset = data_module.load(run_config["data"]["name"], **run_config["data"]["params"])
    model, dataset = build(run_config, dataset)
    run_config["data"]["params"] = dict(dataset.params)
    run_config["data_spec"] = DataSpec.of(dataset).to_dict()
    run_config["versions"] = versions()
    if distributed.is_active():
        torch.manual_seed(run_config["train"].seed + distributed.rank())
    if distributed.rank() == 0:
        run_dir.mkdir(parents=True, exist_ok=False)
        (run_dir / CONFIG).write_text(json.dumps(serialise(run_config), indent=2) + "\n")
    return run_dir, _fit(model, dataset, run_config["train"], run_dir, resume=False)


def serialise(run_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **run_config,
        "model_config": cfg.to_dict(run_config["model_config"]),
        "train": cfg.to_dict(run_config["train"]),
    }


def read_config(run_dir: str | Path, sets: list[str] | None = None) -> dict[str, Any]:
    """The resolved config of an existing run, with optional ``train.*`` overrides (e.g. more steps)."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not path.is_file():
        raise GenzooError(f"not a genzoo run directory (no {CONFIG}): {str(run_dir)!r}")
    raw = json.loads(path.read_text())
    model_cls = MODELS.get(raw["model"])
    train_values = dict(raw["train"])
    for key, value in cfg.parse_sets(sets or []).items():
        field = key.removeprefix("train.")
        if field not in TrainConfig.__dataclass_fields__:
            raise GenzooError(f"only train.* keys can change on resume; got {key!r}")
        train_values[field] = value
    return {
        **raw,
        "model_config": cfg.build(model_cls.Config, raw["model_config"], prefix="model."),
        "train": cfg.build(TrainConfig, train_values, prefix="train."),
    }


def resume(run_dir: str | Path, sets: list[str] | None = None) -> tuple[Path, dict[str, float]]:
    """Continue a run from its checkpoint, bit for bit on CPU; ``sets`` may raise ``train.steps``."""
    distributed.init_from_environment()
    run_dir = Path(run_dir)
    run_config = read_config(run_dir, sets)
    if not (run_dir / CHECKPOINT).is_file():
        raise GenzooError(f"no checkpoint to resume in {str(run_dir)!r}")
    model, dataset = build(run_config)
    if distributed.rank() == 0:
        (run_dir / CONFIG).write_text(json.dumps(serialise(run_config), indent=2) + "\n")
    return run_dir, _fit(model, dataset, run_config["train"], run_dir, resume=True)


def _fit(model: Model, dataset: Any, train_config: TrainConfig, run_dir: Path, resume: bool) -> dict[str, float]:
    if train_config.threads:
        torch.set_num_threads(train_config.threads)
    device = resolve_device(train_config.device)
    model.to(device)
    x = dataset.x.to(device)
    y = dataset.y.to(device) if (model.uses_labels and dataset.y is not None) else None
    stream = BatchStream(x, y, train_config.batch_size, seed=train_config.seed + 1,
                         rank=distributed.rank(), world_size=distributed.world_size())
    trainer = Trainer(model, stream, train_config, run_dir, on_sample=_on_sample(dataset, train_config))
    if resume:
        trainer.resume()
    return trainer.fit()


def load(run_dir: str | Path, device: str = "cpu") -> tuple[Model, dict[str, Any]]:
    """The trained model of a run (weights from its checkpoint) and its resolved config."""
    run_dir = Path(run_dir)
    run_config = read_config(run_dir)
    torch.manual_seed(run_config["train"].seed)
    model = MODELS.get(run_config["model"])(run_config["model_config"], DataSpec.from_dict(run_config["data_spec"]))
    state = load_checkpoint(run_dir / CHECKPOINT, device=device)
    model.load_state_dict(state["model"])
    model.to(device).eval()
    return model, run_config
