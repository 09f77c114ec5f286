"""Runs: resolve a configuration, create a run directory, train, and load a run back.

A run directory holds everything needed to continue or inspect it::

    runs/<name>/config.json            resolved config (model, data, train, versions; "resolved": what
                                       train's "auto" values became, e.g. {"precision": "32"})
    runs/<name>/metrics.jsonl          one JSON line per log step (losses, speed, evaluations)
    runs/<name>/checkpoint.safetensors weights, optimisers, RNG and data-stream state
    runs/<name>/samples/step_*.png     periodic sample pictures
    runs/<name>/tensorboard/           TensorBoard events
    runs/<name>/.lock                  held (flock) by the process training the run

A run directory is created only after the whole configuration, the data and the model have
been validated, by one atomic ``mkdir`` (two processes can never share one), and is locked while
it trains. Damaged metadata is read into a one-line error or repaired (a half-written last line
of metrics.jsonl is dropped on resume; stale temporary checkpoint files are removed).
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

import torch

from genzoo import config as cfg
from genzoo import data as data_module
from genzoo.errors import GenzooError
from genzoo.registry import did_you_mean
from genzoo.models import MODELS, DataSpec, Model, capabilities
from genzoo.train import distributed
from genzoo.train.checkpoint import load_checkpoint, remove_stale_temporaries
from genzoo.train.stream import BatchStream
from genzoo.files import METRICS, last_metrics, read_metrics, write_text_atomic
from genzoo.train.trainer import CHECKPOINT, PICTURE, TrainConfig, Trainer, evaluation_summary, resolve_device

CONFIG = "config.json"
LOCK = ".lock"
SECTIONS = ("model", "train", "data")
_DEFAULT_THREADS = torch.get_num_threads()  # torch's own default, before any run changes it


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
        if dot and section not in SECTIONS and section in model_fields:  # negatives.steps: a model table's key
            section, field = "model", key
        elif dot:
            if section not in SECTIONS:
                raise GenzooError(f"unknown config section in {key!r}; valid: {', '.join(SECTIONS)}")
        else:
            field = key
            owners = [s for s, f in (("model", model_fields), ("train", train_fields)) if field in f]
            if not owners:
                hint = did_you_mean(key, model_fields | train_fields)
                raise GenzooError(
                    f"unknown config key {key!r};{hint} valid: {', '.join(sorted(model_fields | train_fields))} "
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(text).stem if ("/" in text or "." in text) else text)


def check_name(name: str) -> str:
    """A run name is one directory name: it cannot climb out of ``--runs`` or point elsewhere."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or os.sep in name
            or (os.altsep and os.altsep in name) or "\0" in name or name != name.strip()):
        raise GenzooError(f"invalid --name {name!r}: a run name is a single directory name inside --runs "
                          "(no '/', no '..', no surrounding spaces)")
    return name


def versions() -> dict[str, str]:
    from genzoo import __version__

    return {"genzoo": __version__, "torch": torch.__version__, "python": platform.python_version()}


class RunLocked(GenzooError):
    """Another process holds the run's lock."""


class RunLock:
    """An exclusive lock on a run directory, held while a process trains it.

    ``flock`` on ``RUN/.lock``: the kernel releases it when the process dies (even by
    ``kill -9``), so a crashed run never stays locked. A second process asking for it gets a
    one-line :class:`GenzooError` (exit code 2) instead of racing the first.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK
        self._file: Any = None

    def acquire(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no flock on this platform: run unlocked
            return self
        try:
            f = open(self.path, "a+")
        except OSError as e:
            raise GenzooError(f"cannot lock run {str(self.path.parent)!r}: {e.strerror or e}") from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "?"
            f.close()
            raise RunLocked(f"run {str(self.path.parent)!r} is being trained by another process (pid {holder}); "
                            "wait for it to finish, then --resume") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _make_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise GenzooError(f"invalid --runs {str(root)!r}: it is a file, not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GenzooError(f"cannot create runs directory {str(root)!r}: {e.strerror or e}") from None


def _abandoned(run_dir: Path) -> bool:
    """A directory left by a process killed between creating it and writing its config: empty."""
    try:
        return run_dir.is_dir() and {p.name for p in run_dir.iterdir()} <= {LOCK}
    except OSError:
        return False


def _reserve(root: Path, name: str | None, stem: str) -> tuple[Path, RunLock]:
    """Create and lock the run directory: ``mkdir`` either makes it or fails, so two processes can
    never get the same one. A taken default name moves on to ``stem-2``, ``stem-3``, …; a named
    directory that a killed process left empty is taken over (under its lock)."""
    _make_root(root)
    candidates = [name] if name is not None else [stem] + [f"{stem}-{i}" for i in range(2, 10_000)]
    taken = GenzooError(f"run directory {str(root / (name or stem))!r} already exists; "
                        "use --resume to continue it or another --name")
    for candidate in candidates:
        run_dir = root / candidate
        try:
            run_dir.mkdir()
        except FileExistsError:
            if name is None:
                continue
            if not _abandoned(run_dir):
                raise taken from None
        except OSError as e:
            raise GenzooError(f"cannot create run directory {str(run_dir)!r}: {e.strerror or e}") from None
        try:
            lock = RunLock(run_dir).acquire()
        except RunLocked:  # another process took this directory between our mkdir (or check) and lock
            if name is None:
                continue
            raise taken from None
        if (run_dir / CONFIG).exists():  # another process completed this one first
            lock.release()
            if name is None:
                continue
            raise taken
        return run_dir, lock
    raise GenzooError(f"no free run name {stem}-N under {str(root)!r}; pass --name")


def _on_sample(dataset: Any, train_config: TrainConfig):
    """Pictures and evaluation metrics; one draw of samples serves both."""
    from genzoo.metrics.evaluate import evaluate, n_evaluation_samples
    from genzoo.viz import save_samples
    from genzoo.viz.plots import view_limits

    n_eval = n_evaluation_samples(dataset, train_config.n_eval)
    n = n_eval if dataset.kind == "points" else train_config.n_picture
    # the same background and the same axes for every picture of the run, drawn once
    log_prob = dataset.density.log_prob if dataset.density is not None else None
    reference = dataset.fresh(n, torch.Generator().manual_seed(0)) if dataset.kind == "points" else None
    limits = view_limits(reference) if reference is not None else None

    held_x = dataset.test_x if dataset.test_x is not None else dataset.x
    held_y = dataset.test_y if dataset.test_x is not None else dataset.y
    shown = torch.randperm(len(held_x), generator=torch.Generator().manual_seed(0))[:512]

    def on_sample(model: Model, step: int, run_dir: Path) -> dict[str, float]:
        samples = model.sample(max(n, n_eval)).cpu()
        picture = run_dir / PICTURE.format(step=step)
        save_samples(samples[:n], picture, log_prob=log_prob,
                     reference=reference, title=f"{run_dir.name} · step {step}: {n} samples", limits=limits)
        if {"encode", "decode"} <= set(capabilities(model)):  # autoencoders: reconstructions and codes
            from genzoo.viz.autoencoder import save_latent_space, save_reconstructions

            x = held_x[shown].to(model.device)
            y = held_y[shown] if held_y is not None else None
            save_reconstructions(model, x, picture.with_name(picture.name.replace("step_", "recon_step_")))
            save_latent_space(model, x, picture.with_name(picture.name.replace("step_", "latent_step_")), y)
        if "translate" in capabilities(model) and held_y is not None:  # translations beside their inputs
            from genzoo.viz.autoencoder import save_translations

            x, y = held_x[shown], held_y[shown]
            save_translations(model, x[y == 0], x[y == 1], picture.with_name(picture.name.replace("step_", "translate_step_")),
                              title=f"{run_dir.name} · step {step}: input A, A→B, A→B→A; input B, B→A, B→A→B")
        return evaluate(model, dataset, samples=samples, n=n_eval)

    return on_sample


def construct(model_name: str, model_config: Any, spec: DataSpec) -> Model:
    """The registered model ``model_name`` built from its config; the trained runs its config names
    (``cls.run_parts``: config field -> constructor argument, e.g. M2's ``m1_run`` -> ``m1``) are
    loaded here, in the run layer, and handed to the model."""
    cls = MODELS.get(model_name)
    parts = {arg: load(getattr(model_config, field))[0]
             for field, arg in getattr(cls, "run_parts", {}).items() if getattr(model_config, field, None)}
    return cls(model_config, spec, **parts)


def build(run_config: dict[str, Any], dataset: Any | None = None) -> tuple[Model, Any]:
    """Instantiate the model of a resolved run config (seeded), loading the data unless given."""
    train_config: TrainConfig = run_config["train"]
    if dataset is None:
        dataset = data_module.load(run_config["data"]["name"], **run_config["data"]["params"])
    torch.manual_seed(train_config.seed)
    model = construct(run_config["model"], run_config["model_config"], DataSpec.of(dataset))
    return model, dataset


def auto_threads(model: Model) -> int:
    """genzoo's default CPU thread count for ``model`` (``threads=0``): :func:`threads_for` its data kind."""
    return threads_for(model.data.kind)


def threads_for(data_kind: str) -> int:
    """genzoo's default CPU thread count for a model of ``data_kind`` data (``threads=0``).

    Every extra intra-op thread must find a free core at every operator, or the whole step waits
    for it: on a shared machine torch's default (one thread per core) is many times slower than
    one thread (measured on the 2-core machine under load: MLP GAN 120 → 3.3 steps/s, DCGAN
    1.3 → 0.2 steps/s with 2 threads instead of 1; docs/speed.md). So:

    * models of points data (small MLPs, whose matmuls are too small to split): 1 thread;
    * others: the cores not already busy (cores − 1-minute load average), at least 1, at most
      torch's default.
    """
    if data_kind == "points":
        return 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return _DEFAULT_THREADS
    cores = os.cpu_count() or _DEFAULT_THREADS
    return max(1, min(_DEFAULT_THREADS, int(cores - busy + 0.5)))


#: Examples per :meth:`Model.check_data` call: the checks build masks the size of their input.
_CHECK_CHUNK = 4096


def check_data(model: Model, dataset: Any) -> None:
    """The model's data checks (:meth:`Model.check_data`) on every training and held-out example.

    Run before the run directory exists: data the model's step or evaluation would refuse is a
    one-line error with nothing written, not a run directory left behind at the first batch or the
    first evaluation. Chunked so a large data set needs no second copy's worth of masks.
    """
    for x, y in ((dataset.x, dataset.y), (getattr(dataset, "test_x", None), getattr(dataset, "test_y", None))):
        if x is None:
            continue
        for start in range(0, len(x), _CHECK_CHUNK):
            model.check_data(x[start:start + _CHECK_CHUNK], None if y is None else y[start:start + _CHECK_CHUNK])


_rule_threads: int | None = None  # the count set_threads' rule last chose (not a caller's choice)


def set_threads(threads: int, data_kind: str) -> int:
    """The one thread rule of train, eval, sample and bench; returns the count now in force.

    ``threads`` > 0 (``--set threads=N``) is used as given; 0 applies :func:`threads_for` the data
    kind, unless a caller already chose its own count (a suite worker, a benchmark's ``threads``
    option): a count other than torch's default and other than this rule's own last choice.
    """
    global _rule_threads
    current = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    elif current in (_DEFAULT_THREADS, _rule_threads):
        _rule_threads = threads_for(data_kind)
        torch.set_num_threads(_rule_threads)
    return torch.get_num_threads()


def _prepare(model: Model, dataset: Any, train_config: TrainConfig, run_dir: Path,
             hparams: dict[str, Any] | None = None, precision: str | None = None) -> Trainer:
    """Everything that can fail on bad input — device, threads, stream, precision — before any file is written.

    ``precision``: what ``precision=auto`` runs at (a resumed run's recorded choice); None resolves it here.
    """
    set_threads(train_config.threads, model.data.kind)
    device = resolve_device(train_config.device)
    model.to(device)
    model.check_resources(train_config.batch_size)
    check_data(model, dataset)
    x = dataset.x.to(device)
    y = dataset.y.to(device) if (model.uses_labels and dataset.y is not None) else None
    stream = BatchStream(x, y, train_config.batch_size, seed=train_config.seed + 1,
                         rank=distributed.rank(), world_size=distributed.world_size())
    return Trainer(model, stream, train_config, run_dir, on_sample=_on_sample(dataset, train_config), hparams=hparams,
                   precision=precision)


def _hparams(run_config: dict[str, Any]) -> dict[str, Any]:
    flat = {"model": run_config["model"], "data": run_config["data"]["name"]}
    flat.update({f"model.{k}": v for k, v in cfg.to_dict(run_config["model_config"]).items()})
    flat.update({f"train.{k}": v for k, v in cfg.to_dict(run_config["train"]).items()})
    flat.update({f"data.{k}": v for k, v in run_config["data"]["params"].items()})
    return flat


def train(
    run_config: dict[str, Any],
    runs_root: str | Path = "runs",
    name: str | None = None,
) -> tuple[Path, dict[str, float]]:
    """Create a new run directory for ``run_config`` and train it. Returns (run_dir, last metrics).

    Everything is validated (data, model, device, batch size) before the directory is created;
    the directory is reserved atomically and locked while the run trains.
    """
    distributed.init_from_environment()
    root = Path(runs_root)
    if name is not None:
        check_name(name)
    dataset = data_module.load(run_config["data"]["name"], **run_config["data"]["params"])
    model, dataset = build(run_config, dataset)
    run_config["data"]["params"] = dict(dataset.params)
    if Path(dataset.name).is_absolute():  # the user's file: recorded absolute, so eval finds it from any directory
        run_config["data"]["name"] = dataset.name
    run_config["data_spec"] = DataSpec.of(dataset).to_dict()
    run_config["versions"] = versions()
    if distributed.is_active():
        torch.manual_seed(run_config["train"].seed + distributed.rank())
    trainer = _prepare(model, dataset, run_config["train"], root / (name or "_"), _hparams(run_config))
    run_config["resolved"] = {"precision": trainer.precision}  # what "auto" became here; resume keeps it
    lock = RunLock(root)
    if distributed.rank() == 0:
        run_dir, lock = _reserve(root, name, f"{run_config['model']}_{_slug(run_config['data']['name'])}")
        try:
            write_text_atomic(run_dir / CONFIG, json.dumps(serialise(run_config), indent=2) + "\n")
        except OSError as e:
            lock.release()
            raise GenzooError(f"cannot write {str(run_dir / CONFIG)!r}: {e.strerror or e}") from None
    else:
        run_dir = None
    run_dir = Path(distributed.broadcast_object(str(run_dir) if run_dir else None))
    trainer.run_dir = run_dir
    try:
        return run_dir, trainer.fit()
    finally:
        lock.release()


def serialise(run_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **run_config,
        "model_config": cfg.to_dict(run_config["model_config"]),
        "train": cfg.to_dict(run_config["train"]),
    }


def read_config(run_dir: str | Path, sets: list[str] | None = None) -> dict[str, Any]:
    """The resolved config of an existing run, with optional ``train.*`` overrides (e.g. more steps).

    A missing, unreadable or damaged ``config.json`` is a one-line :class:`GenzooError`.
    """
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise GenzooError(f"run directory not found: {str(run_dir)!r}")
    if not path.is_file():
        raise GenzooError(f"not a genzoo run directory (no {CONFIG}): {str(run_dir)!r}")
    try:
        raw = json.loads(path.read_text())
    except OSError as e:
        raise GenzooError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise GenzooError(f"{str(path)!r} is damaged (not valid JSON: {e})") from None
    overrides = cfg.parse_sets(sets or [])
    for key in overrides:
        field = key.removeprefix("train.")
        if field not in TrainConfig.__dataclass_fields__:
            raise GenzooError(f"only train.* keys can change on resume; got {key!r}")
    try:
        if not isinstance(raw, dict):
            raise TypeError(f"expected a JSON object, got {type(raw).__name__}")
        model_cls = MODELS.get(raw["model"])
        train_values = dict(raw["train"])
        train_values.update({k.removeprefix("train."): v for k, v in overrides.items()})
        # Runs written before precision existed trained in float32: never let the newer "auto" default apply
        train_values.setdefault("precision", "32")
        for key in ("name", "params"):
            raw["data"][key]  # noqa: B018 - presence check
        DataSpec.from_dict(raw["data_spec"])
        return {
            **raw,
            "model_config": cfg.build(model_cls.Config, raw["model_config"], prefix="model."),
            "train": cfg.build(TrainConfig, train_values, prefix="train."),
        }
    except GenzooError as e:
        if overrides and str(e).startswith("invalid value train."):
            raise
        raise GenzooError(f"{str(path)!r} is damaged: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        what = f"missing entry {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
        raise GenzooError(f"{str(path)!r} is damaged ({what})") from None


def data_file(name: str) -> str | None:
    """The file or folder data named ``name`` comes from (the user's own data), None for a registered data set."""
    registered = {n.lower() for n in data_module.DATASETS}  # as data.load reads names: MNIST is mnist
    return None if (not data_module._looks_like_path(name) and name.lower() in registered) else name


def run_data(run_dir: str | Path, run_config: dict[str, Any], data_path: str | None = None,
             command: str = "eval") -> Any:
    """The data a run was trained on, for a command that needs it (``eval``: the held-out set).

    A run does not depend on its data file to be loaded or sampled (its config holds the data's
    geometry), but evaluation needs the data itself: a moved file is a one-line error naming the
    file and ``--data``, and ``data_path`` loads it from its new place, split as in training
    (the recorded parameters) and checked to have the geometry the run was trained on.
    """
    params = run_config["data"]["params"]
    expected = DataSpec.from_dict(run_config["data_spec"])
    if data_path is None:
        path = data_file(run_config["data"]["name"])
        if path is not None and not os.path.exists(path):
            raise GenzooError(f"genzoo {command} needs the data run {str(run_dir)!r} was trained on, but {path!r} "
                              "was not found (moved or deleted?); pass its new location with --data PATH")
        return data_module.load(run_config["data"]["name"], **params)
    dataset = data_module.load(data_path)
    got = DataSpec.of(dataset)  # checked first: other data fails the recorded split with a less helpful message
    if (got.kind, got.shape) != (expected.kind, expected.shape):
        raise GenzooError(f"--data {data_path!r} holds {got.kind} of shape {got.shape}, but run {str(run_dir)!r} was "
                          f"trained on {expected.kind} of shape {expected.shape}")
    # the recorded split parameters (n, seed, test_fraction of a file) apply to data of the same sort
    same_sort = (data_file(run_config["data"]["name"]) is None) == (data_file(data_path) is None)
    return data_module.load(data_path, **params) if same_sort and params else dataset


def resume(run_dir: str | Path, sets: list[str] | None = None) -> tuple[Path, dict[str, float]]:
    """Continue a run from its checkpoint, bit for bit on CPU; ``sets`` may raise ``train.steps``.

    Nothing in the run directory changes unless the checkpoint fits the run: config.json is
    rewritten (atomically) only after the whole state has been restored. A run already at its
    step budget is left alone, with a note saying so.
    """
    distributed.init_from_environment()
    run_dir = Path(run_dir)
    run_config = read_config(run_dir, sets)
    model, dataset = build(run_config)
    trainer = _prepare(model, dataset, run_config["train"], run_dir, _hparams(run_config),
                       precision=_recorded_precision(run_config, sets))
    run_config["resolved"] = {**(run_config.get("resolved") or {}), "precision": trainer.precision}
    lock = RunLock(run_dir).acquire() if distributed.rank() == 0 else RunLock(run_dir)
    try:
        if distributed.rank() == 0:
            remove_stale_temporaries(run_dir / CHECKPOINT)
        trainer.resume()
        if trainer.step >= run_config["train"].steps:
            if distributed.rank() == 0:
                print(f"genzoo: run {str(run_dir)!r} is already at step {trainer.step} (train.steps="
                      f"{run_config['train'].steps}); nothing to do — raise it, e.g. --set train.steps="
                      f"{2 * max(trainer.step, 1)}", file=sys.stderr)
            return run_dir, last_metrics(run_dir / METRICS)
        trainer.commit_resume()
        if distributed.rank() == 0:
            write_text_atomic(run_dir / CONFIG, json.dumps(serialise(run_config), indent=2) + "\n")
        return run_dir, trainer.fit()
    finally:
        lock.release()


def _recorded_precision(run_config: dict[str, Any], sets: list[str] | None) -> str | None:
    """The precision a run with ``precision=auto`` trained at, so its resume continues bit for bit
    even on a machine where auto would choose otherwise; None when the resume sets precision itself
    (``--set train.precision=auto`` re-resolves on this machine) or the run recorded none."""
    if any(k.removeprefix("train.") == "precision" for k in cfg.parse_sets(sets or [])):
        return None
    resolved = run_config.get("resolved")
    recorded = resolved.get("precision") if isinstance(resolved, dict) else None
    from genzoo.train.trainer import PRECISIONS

    return recorded if recorded in PRECISIONS else None


def load(run_dir: str | Path, device: str = "cpu") -> tuple[Model, dict[str, Any]]:
    """The trained model of a run (weights from its checkpoint) and its resolved config."""
    run_dir = Path(run_dir)
    run_config = read_config(run_dir)
    torch.manual_seed(run_config["train"].seed)
    model = construct(run_config["model"], run_config["model_config"], DataSpec.from_dict(run_config["data_spec"]))
    state = load_checkpoint(run_dir / CHECKPOINT, device=device)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError) as e:
        detail = " ".join(str(e).split())[:300]
        raise GenzooError(f"checkpoint {str(run_dir / CHECKPOINT)!r} does not fit this run ({type(e).__name__}: {detail})") from None
    model.to(device).eval()
    return model, run_config


def export_weights(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the model's weights alone as a plain safetensors file other tools can load.

    Keys are the model's ``state_dict()`` names (e.g. ``G.deconv.0.weight``); the metadata holds
    the run's resolved config as JSON under ``"genzoo.config"``. No optimiser, RNG or structure
    entries: ``safetensors.torch.load_file(path)`` gives a flat ``{name: tensor}`` dict.
    """
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    model, run_config = load(run_dir)
    out = Path(out) if out else run_dir / "weights.safetensors"
    check_writable_file(out, "--out")
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    try:
        save_file(tensors, str(out), metadata={"genzoo.config": json.dumps(serialise(run_config)), "format": "pt"})
    except (OSError, SafetensorError) as e:  # safetensors reports I/O failures (disk full, …) as its own error
        detail = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())
        raise GenzooError(f"cannot write {str(out)!r}: {detail}") from None
    return out


def check_writable_file(path: Path, flag: str) -> None:
    """Refuse an output path that cannot be written: a directory, a missing or read-only parent.

    Checked before the work that produces the file, so the user learns in one line instead of
    from a library's traceback (safetensors names only its temporary file).
    """
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise GenzooError(f"invalid {flag} {str(path)!r}: it is a directory; name a file, e.g. {str(path / 'weights.safetensors')!r}")
    if not parent.is_dir():
        raise GenzooError(f"invalid {flag} {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GenzooError(f"invalid {flag} {str(path)!r}: no permission to write there")


def summary(run_dir: str | Path, metrics: dict[str, float], seconds: float | None = None) -> str:
    """A few readable lines about a finished run: what was trained, its metrics, where the pictures are."""
    run_dir = Path(run_dir)
    try:
        raw = json.loads((run_dir / CONFIG).read_text())
        what = f"{raw['model']} on {Path(raw['data']['name']).name}"
    except (OSError, ValueError, KeyError, TypeError):
        raw, what = {}, run_dir.name
    records = read_metrics(run_dir / METRICS)[0]
    step = int(records[-1]["step"]) if records else 0
    head = f"trained {what} for {step} steps"
    if seconds is not None:
        head += f" in {seconds:.0f} s" if seconds >= 10 else f" in {seconds:.1f} s"
    lines = [head, f"  run:       {run_dir}"]
    from genzoo.metric_table import headline  # the labels and formats of genzoo eval's table

    shown = headline(metrics, lambda: _mode_count(raw))
    if shown:
        lines.append("  quality:   " + ", ".join(shown))
    losses = [f"{k} {v:.4g}" for k, v in metrics.items() if k.startswith("loss")]
    if losses:
        lines.append("  losses:    " + ", ".join(losses) + " (mean over the last log interval)")
    if "steps_per_s" in metrics:
        lines.append(f"  speed:     {metrics['steps_per_s']:.1f} steps/s, {metrics.get('samples_per_s', 0):.0f} examples/s")
    pictures = sorted((run_dir / "samples").glob("step_*.png"))
    if pictures:
        lines.append(f"  pictures:  {pictures[-1]}" + (f" (and {len(pictures) - 1} earlier)" if len(pictures) > 1 else ""))
    lines += evaluation_summary(run_dir)  # the evaluation budget's share and groups; the full protocol
    lines.append(f"  all metrics: {run_dir / METRICS}; more: genzoo sample {run_dir} · genzoo eval {run_dir}")
    return "\n".join(lines)


def _mode_count(raw: dict[str, Any]) -> int | None:
    params = raw.get("data", {}).get("params", {}) if isinstance(raw, dict) else {}
    if isinstance(params.get("modes"), int):
        return params["modes"]
    try:  # a mixture data set knows its component count; loading a synthetic one is cheap
        ds = data_module.load(raw["data"]["name"], **params)
        return int(ds.density.means.shape[0]) if ds.density is not None else None
    except Exception:  # a summary must never fail the run it describes
        return None
