"""Run a versioned suite spec as a grid of (model variant × data × seed) cells.

A spec is a TOML file that pins the whole protocol, so a table can be re-run and checked::

    name = "mode-collapse"
    version = 1                                # bump whenever a pinned value changes
    description = "one line"
    seeds = [0, 1, 2]                          # one cell per seed
    metrics = ["modes", "hq_share", "w1"]      # columns of the summary table
    [protocol]                                 # stated rules (shown in the report; checked against
    hq_rule = "euclidean"                      #   genzoo's metric code where it pins them)
    hq_threshold = 3.0
    [train]                                    # train.* values shared by every cell; steps and
    steps = 2000                               #   n_eval (evaluation samples) are required
    n_eval = 2500
    [[data]]                                   # data sets with their (geometry) parameters
    name = "ring8"
    radius = 1.0
    std = 0.01
    [[models]]                                 # model variants: label, model name, --set values
    label = "GAN (minimax)"
    model = "gan"
    set = { objective = "minimax" }
    [evaluate]                                 # optional: after training, evaluate the final
    full = true                                #   model under the full reporting protocol
    [quick]                                    # replaces train values and seeds under --quick
                                               #   (whose [evaluate] is the default protocol)
    steps = 200
    seeds = [0]
    [[published]]                              # papers' numbers, shown BESIDE ours in the report
    label = "Unrolled GAN"
    data = "ring8"
    metric = "modes"
    value = 7.6
    source = "Srivastava et al. 2017 (VEEGAN), Table 1, 2D Ring"
    [directions]                               # optional: better direction of extra metrics
    my_metric = "lower"

Identity. The spec's parsed content is hashed (SHA-256 of its canonical JSON, so comments and
layout do not count, nor the ``published`` rows and ``notes``, which change no cell); the hash,
the version, ``--quick`` and any ``--set`` overrides form the suite's identity, written to
``OUT/suite.json`` and into every cell result. An output directory made with another identity is
refused (:class:`GenzooError`): results of different protocols are never mixed in one table.

Resumption. Each cell trains into ``OUT/runs/<cell>`` and writes ``OUT/cells/<cell>.json``
(atomically) when done, so an interrupted suite resumes where it stopped: finished cells are
skipped, unfinished runs continue from their last checkpoint (bit for bit on CPU). A failing cell
is reported and recorded in ``OUT/cells/<cell>.failed.json`` without losing the others; the next
invocation retries it. Cells run in parallel worker processes (``--jobs``), one torch thread each.

Outputs: ``results.csv`` (a row per finished cell), ``summary.csv``/``summary.json`` (mean ± sample
standard deviation over seeds), ``spec.toml`` (the exact spec text used), ``suite.json``
(identity), ``timing.json`` (wall-clock time of every invocation) and, for 2-D mixture data,
``nulls.json``: null baselines (:mod:`genzoo.metrics.null_baselines`) scored like the cells. ``genzoo report OUT`` turns
them into Markdown and HTML (:mod:`genzoo.bench.report`).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import inspect
import json
import math
import re
import shutil
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from genzoo.bench.engine import Cell, CellContext, Experiment, Options
from genzoo.errors import GenzooError
from genzoo.files import METRICS, last_metrics, write_json_atomic

REQUIRED = ("name", "version", "description", "seeds", "metrics", "train", "data", "models")
OPTIONAL = ("quick", "evaluate", "protocol", "published", "directions", "curves", "notes", "covers")
EVALUATE_KEYS = ("full", "seed", "n")
MODEL_KEYS = ("label", "model", "set", "train", "note")
PUBLISHED_KEYS = ("label", "data", "metric", "value", "std", "source", "note")
REQUIRED_TRAIN = ("steps", "n_eval")
DIRECTION_WORDS = ("higher", "lower")
SUITE_FILE = "suite.json"


# ---------------------------------------------------------------------------------- the spec
def load_spec(path: str | Path) -> dict[str, Any]:
    """Parse and validate the structure of a suite spec (cheap: nothing is built or loaded)."""
    path = Path(path)
    if not path.is_file():
        raise GenzooError(f"suite spec not found: {str(path)!r}")
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise GenzooError(f"suite spec {str(path)!r} is not valid TOML: {e}") from None
    where = f"suite spec {str(path)!r}"
    for key in REQUIRED:
        if key not in spec:
            raise GenzooError(f"{where} lacks {key!r}")
    _known(spec, REQUIRED + OPTIONAL, "", where)

    def need(ok: bool, key: str, value: Any, requirement: str) -> None:
        if not ok:
            raise GenzooError(f"{where}: invalid value {key}={value!r}: {requirement}")

    need(isinstance(spec["name"], str) and bool(spec["name"]), "name", spec["name"], "expected a non-empty string")
    need(isinstance(spec["version"], int) and not isinstance(spec["version"], bool) and spec["version"] >= 1, "version", spec["version"], "expected an integer ≥ 1")
    _check_seeds(spec["seeds"], "seeds", need)
    need(_str_list(spec["metrics"]), "metrics", spec["metrics"], "expected a non-empty list of metric names")
    need(isinstance(spec["train"], dict), "train", spec["train"], "expected a table")
    for key in REQUIRED_TRAIN:
        need(key in spec["train"], f"train.{key}", None, "must be pinned in the spec")
    need(_table_list(spec["data"]), "data", spec["data"], "expected [[data]] tables")
    need(_table_list(spec["models"]), "models", spec["models"], "expected [[models]] tables")
    for d in spec["data"]:
        need(isinstance(d.get("name"), str), "data.name", d.get("name"), "every [[data]] needs a name")
    for m in spec["models"]:
        _known(m, MODEL_KEYS, "models", where)
        need(isinstance(m.get("label"), str) and isinstance(m.get("model"), str), "models", m,
             "every [[models]] needs a label and a model")
        need(isinstance(m.get("set", {}), dict), "models.set", m.get("set"), "expected a table")
        need(isinstance(m.get("train", {}), dict), "models.train", m.get("train"), "expected a table")
    labels = [m["label"] for m in spec["models"]]
    need(len(set(labels)) == len(labels), "models.label", labels, "labels must be unique")
    data_labels = [data_label(d) for d in spec["data"]]
    need(len(set(data_labels)) == len(data_labels), "data.label", data_labels,
         "each [[data]] needs a unique label (give a label when a data set appears twice)")
    if "quick" in spec:
        need(isinstance(spec["quick"], dict), "quick", spec["quick"], "expected a table")
        if "seeds" in spec["quick"]:
            _check_seeds(spec["quick"]["seeds"], "quick.seeds", need)
    for key in ("protocol", "directions", "evaluate"):
        need(isinstance(spec.get(key, {}), dict), key, spec.get(key), "expected a table")
    if "covers" in spec:
        need(_str_list(spec["covers"]), "covers", spec["covers"], "expected a list of registered names")
    _known(spec.get("evaluate", {}), EVALUATE_KEYS, "evaluate", where)
    need(isinstance(spec.get("evaluate", {}).get("full", False), bool), "evaluate.full",
         spec.get("evaluate", {}).get("full"), "expected true or false")
    for key, low in (("seed", 0), ("n", 2)):
        value = spec.get("evaluate", {}).get(key, low)
        need(isinstance(value, int) and not isinstance(value, bool) and value >= low, f"evaluate.{key}", value,
             f"expected an integer ≥ {low}")
    for metric, word in spec.get("directions", {}).items():
        need(word in DIRECTION_WORDS, f"directions.{metric}", word, "expected 'higher' or 'lower'")
    need(_str_list(spec.get("curves", ["x"])), "curves", spec.get("curves"), "expected a list of metric names")
    published = spec.get("published", [])
    need(isinstance(published, list), "published", published, "expected [[published]] tables")
    for p in published:
        _known(p, PUBLISHED_KEYS, "published", where)
        for key in ("label", "data", "metric", "source"):
            need(isinstance(p.get(key), str) and bool(p.get(key)), f"published.{key}", p.get(key),
                 "every published number needs a label, data, metric and its source (citation)")
        need(p["data"] in data_labels, "published.data", p["data"], f"expected one of {', '.join(data_labels)}")
        need(p["metric"] in spec["metrics"], "published.metric", p["metric"], f"expected one of {', '.join(spec['metrics'])}")
        for key in ("value", "std"):
            if key in p or key == "value":
                v = p.get(key)
                need(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
                     f"published.{key}", v, "expected a number")
    return spec


def _known(table: dict[str, Any], valid: tuple[str, ...], section: str, where: str) -> None:
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise GenzooError(f"{where}: unknown key {(section + '.' if section else '') + unknown[0]!r}; valid: {', '.join(valid)}")


def _check_seeds(seeds: Any, key: str, need: Any) -> None:
    ok = isinstance(seeds, list) and bool(seeds) and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    need(ok and len(set(seeds)) == len(seeds), key, seeds, "expected a non-empty list of distinct integers")


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def _table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def data_label(d: dict[str, Any]) -> str:
    return str(d.get("label", d["name"]))


#: Spec keys that do not change what a cell computes: papers' numbers shown beside ours and prose.
#: Adding a citation or a sentence must not orphan finished cells.
#: keys that change no cell: citations, prose, and ``covers`` (the registered parts — e.g. objectives —
#: this version's models exercise; a part registered later is the contract tests' business, not a
#: reason to change a versioned protocol)
UNHASHED = ("published", "notes", "covers")


def spec_hash(spec: dict[str, Any]) -> str:
    """SHA-256 of the spec's canonical JSON less :data:`UNHASHED`: any pinned value changes it, comments do not."""
    pinned = {k: v for k, v in spec.items() if k not in UNHASHED}
    text = json.dumps(pinned, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def identity(spec: dict[str, Any], quick: bool, options: dict[str, str]) -> dict[str, Any]:
    """What makes two result sets comparable: the spec (hash and version), --quick and --set values."""
    return {"suite": spec["name"], "version": spec["version"], "spec_sha256": spec_hash(spec),
            "quick": bool(quick), "overrides": dict(sorted(options.items()))}


# ---------------------------------------------------------------------------------- the grid
def cell_id(label: str, data: str, seed: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}__{data}__s{seed}").strip("_")


def quick_evaluate(spec: dict[str, Any]) -> dict[str, Any]:
    """The final evaluation under ``--quick``: the spec's ``[evaluate]`` with the default protocol.

    A quick run checks that a suite runs, in minutes; ``full = true`` (Stacked-MNIST: 26 000 samples
    classified, FID/KID on 10 000 vs 10 000 images) alone took ≈ 2–5 min per cell on two cores, more
    than the whole quick budget. The spec is untouched (its hash, hence its committed full report,
    stays valid); ``eval_protocol`` in each result says which protocol scored it.
    """
    evaluate = dict(spec.get("evaluate", {}))
    if evaluate:
        evaluate["full"] = False
    return evaluate


def cells(spec: dict[str, Any], quick: bool, options: dict[str, str]) -> list[dict[str, Any]]:
    """Expand a spec into cells; ``options`` override ``train.*`` values (``steps=…``) or ``seeds``."""
    quick_values = dict(spec.get("quick", {})) if quick else {}
    seeds = quick_values.pop("seeds", spec["seeds"])
    train = {**spec["train"], **quick_values}
    for key, value in options.items():
        if key == "seeds":
            try:
                seeds = [int(s) for s in value.split(",")]
            except ValueError:
                raise GenzooError(f"invalid --set seeds={value!r}: expected integers like 0,1,2") from None
        else:
            train[key.removeprefix("train.")] = value
    from genzoo.config import _coerce

    out = []
    for m in spec["models"]:
        for d in spec["data"]:
            for seed in seeds:
                data_params = {k: v for k, v in d.items() if k not in ("name", "label")}
                # A protocol's precision is the spec's, not the machine's: precision=auto would train
                # the same cell in bf16 on a GPU or AMX CPU and in float32 elsewhere.
                cell_train = {"precision": "32", **train, **m.get("train", {})}
                steps = _coerce("train.steps", cell_train["steps"], int)
                out.append({
                    "id": cell_id(m["label"], data_label(d), seed),
                    "label": m["label"], "model": m["model"], "data": d["name"],
                    "data_label": data_label(d), "seed": int(seed), "steps": steps,
                    "evaluate": quick_evaluate(spec) if quick else dict(spec.get("evaluate", {})),
                    "sets": [f"model.{k}={_text(v)}" for k, v in m.get("set", {}).items()]
                    + [f"train.{k}={_text(v)}" for k, v in cell_train.items()]
                    + [f"data.{k}={_text(v)}" for k, v in data_params.items()]
                    + [f"train.seed={seed}", "train.progress=false"],
                })
    ids = [c["id"] for c in out]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise GenzooError(f"suite {spec['name']!r}: two cells share the id {dup!r}; make the labels differ in letters or digits")
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def validate(spec: dict[str, Any], grid: list[dict[str, Any]]) -> None:
    """Fail before any training: every model/train/data value of every cell, and the stated protocol."""
    import typing

    from genzoo import data as data_module
    from genzoo import run
    from genzoo.config import _coerce

    for cell in grid:
        run.resolve(cell["model"], cell["data"], sets=[s for s in cell["sets"] if not s.startswith("data.")])
    for d in spec["data"]:
        if d["name"] in data_module.DATASETS:
            fn = data_module.DATASETS.get(d["name"])
            names = list(inspect.signature(fn).parameters)
            hints = typing.get_type_hints(fn)
            for key, value in d.items():
                if key in ("name", "label"):
                    continue
                if key not in names:
                    raise GenzooError(f"unknown parameter {key!r} for dataset {d['name']!r}; valid: {', '.join(names)}")
                _coerce(f"data.{key}", value, hints.get(key, Any))
    check_protocol(spec.get("protocol", {}))


def code_protocol() -> dict[str, tuple[Any, str]]:
    """The protocol constants genzoo's metric code applies, as {spec key: (value, where)}.

    A spec's ``[protocol]`` entry with one of these keys is checked against the code, so a
    spec cannot state a rule (3σ, 26 000 samples, …) that the metrics do not apply.
    """
    import importlib

    evaluate = importlib.import_module("genzoo.metrics.evaluate")
    modes = importlib.import_module("genzoo.metrics.modes")
    defaults = {k: p.default for k, p in inspect.signature(modes.mode_coverage).parameters.items()}
    known: dict[str, tuple[Any, str]] = {
        "hq_rule": (defaults.get("rule"), "genzoo.metrics.modes.mode_coverage(rule=…)"),
        "hq_threshold": (defaults.get("threshold"), "genzoo.metrics.modes.mode_coverage(threshold=…)"),
        "points_n_samples": (modes.STANDARD_N_SAMPLES, "genzoo.metrics.modes.STANDARD_N_SAMPLES"),
        "image_n_samples_full": (getattr(evaluate, "N_FEATURES_FULL", None), "genzoo.metrics.evaluate.N_FEATURES_FULL"),
    }
    try:
        stacked = importlib.import_module("genzoo.metrics.stacked")
    except ImportError:  # pragma: no cover - the Stacked-MNIST metric is optional for point suites
        return known
    known["stacked_n_samples"] = (getattr(stacked, "STACKED_N_SAMPLES", None), "genzoo.metrics.stacked.STACKED_N_SAMPLES")
    known["stacked_classes"] = (getattr(stacked, "STACKED_MODES", None), "genzoo.metrics.stacked.STACKED_MODES")
    return known


def check_protocol(protocol: dict[str, Any]) -> None:
    """Every stated ``[protocol]`` value that genzoo's code pins must be the value the code uses."""
    for key, (value, where) in code_protocol().items():
        if key in protocol and value is not None and protocol[key] != value:
            raise GenzooError(f"invalid value protocol.{key}={protocol[key]!r}: genzoo's metric code uses {value!r} ({where})")


# ---------------------------------------------------------------------------------- one cell
def final_metrics(run_dir: Path) -> dict[str, float]:
    """The last value of every quantity logged in ``metrics.jsonl`` (losses of the last window,
    evaluation at the last step); the same as the trainer's return value, also after a resume."""
    return last_metrics(run_dir / METRICS)


def final_evaluation(run_dir: Path, options: dict[str, Any]) -> dict[str, Any]:
    """The trained model evaluated once more, under the spec's ``[evaluate]`` protocol.

    ``full = true`` is :func:`genzoo.metrics.evaluate.evaluate`'s reporting protocol (FID/KID on
    10 000 vs 10 000 images, Stacked-MNIST modes on 26 000 samples, ...), too costly for the
    evaluations during training; ``seed`` fixes the evaluation's randomness (default 0); ``n``
    sets the evaluation sample count (default: the protocol's, as ``genzoo eval``).
    Written to ``RUN/eval_final.json``; these values replace the last training-time ones.
    """
    import torch

    from genzoo import data as data_module
    from genzoo import run
    from genzoo.metrics.evaluate import evaluate

    model, config = run.load(run_dir)
    dataset = data_module.load(config["data"]["name"], **config["data"]["params"])
    seed = int(options.get("seed", 0))
    start = time.perf_counter()
    torch.manual_seed(seed)
    metrics = evaluate(model, dataset, seed=seed, n=options.get("n"), full=bool(options.get("full", False)))
    metrics = {k: float(v) for k, v in metrics.items()}
    (run_dir / "eval_final.json").write_text(json.dumps({"options": options, "metrics": metrics}, indent=2) + "\n")
    return {**metrics, "eval_seconds": time.perf_counter() - start, "eval_protocol": "full" if options.get("full") else "default"}


def run_cell(cell: dict[str, Any], out_dir: str, threads: int) -> dict[str, Any]:
    """Train (or continue) one cell and return its result row. Runs in a worker process."""
    import torch

    from genzoo import run
    from genzoo.train.checkpoint import load_checkpoint
    from genzoo.train.trainer import CHECKPOINT

    if threads:
        torch.set_num_threads(threads)
    run_dir = Path(out_dir) / "runs" / cell["id"]
    start = time.perf_counter()
    resumed = (run_dir / CHECKPOINT).exists()
    if resumed:
        if int(load_checkpoint(run_dir / CHECKPOINT)["step"]) < cell["steps"]:
            # continue; the train.* values of the spec (e.g. steps) win over what the run saved
            run.resume(run_dir, sets=[s for s in cell["sets"] if s.startswith("train.")])
        # else: training had finished (interrupted before the cell was written): reuse it
    else:
        if run_dir.exists():  # created but never checkpointed: start it again
            shutil.rmtree(run_dir)
        config = run.resolve(cell["model"], cell["data"], sets=cell["sets"])
        run.train(config, runs_root=Path(out_dir) / "runs", name=cell["id"])
    saved = json.loads((run_dir / "config.json").read_text())
    result = {k: cell[k] for k in ("id", "label", "model", "data_label", "seed", "steps")}
    result.update(final_metrics(run_dir))
    if cell.get("evaluate"):
        result.update(final_evaluation(run_dir, cell["evaluate"]))
    result.update(seconds=time.perf_counter() - start, resumed=resumed, threads=torch.get_num_threads(),
                  run=f"runs/{cell['id']}", data_params=saved["data"]["params"], versions=saved.get("versions", {}))
    return result


def read_cell(path: Path, sha: str) -> dict[str, Any] | None:
    """A finished cell's result row (its record's params and metrics, flat), or None when missing,
    unreadable or of another identity."""
    from genzoo.bench.engine import read_record

    record = read_record(path, sha)
    if record is None:
        return None
    cell = record["params"]
    return {**{k: cell[k] for k in ("id", "label", "model", "data_label", "seed", "steps")}, **record["metrics"],
            "seconds": record["seconds"], "versions": record.get("versions", {}), "spec_sha256": sha}


# ---------------------------------------------------------------------------------- the suite
class SuiteExperiment(Experiment):
    """A TOML suite spec run by the experiment engine: each cell trains one (model variant × data ×
    seed) run through the trainer (so ``--time-limit`` stops it at a checkpoint) and scores it.

    Options are the spec's ``train.*`` values and ``seeds`` (``--set steps=…``, ``--set train.lr=…``,
    ``--set seeds=0,1``); any other key is refused before anything is written.
    """

    version = 1

    def __init__(self, spec: dict[str, Any], text: str, name: str | None = None) -> None:
        self.spec, self.text = spec, text
        self.name = name or spec["name"]
        self.summary = f"suite: {spec['description']}"

    @classmethod
    def from_file(cls, path: Path, name: str | None = None) -> "SuiteExperiment":
        return cls(load_spec(path), Path(path).read_text(), name)

    @classmethod
    def from_text(cls, text: str, where: str, name: str | None = None) -> "SuiteExperiment":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{where}.toml"
            path.write_text(text)
            return cls.from_file(path, name)

    def resolve(self, sets: dict[str, str], quick: bool) -> Options:
        from genzoo.registry import did_you_mean
        from genzoo.train.trainer import TrainConfig

        valid = ["seeds", "models", *[f.name for f in dataclasses.fields(TrainConfig)]]
        out = Options()
        for key, value in sets.items():
            bare = key.removeprefix("train.")
            if bare not in valid:
                raise GenzooError(f"unknown option {key!r} for suite {self.name!r};{did_you_mean(bare, valid)} "
                                  f"valid: {', '.join(sorted(valid))} (train.* values)")
            out[key] = value
        return out

    def identity(self, o: Options, quick: bool, sets: dict[str, str]) -> dict[str, Any]:
        old = identity(self.spec, quick, dict(o))
        text = json.dumps(old, sort_keys=True, separators=(",", ":"))
        return {**old, "experiment": self.name, "options": dict(o), "suite_sha256": old["spec_sha256"],
                "spec_sha256": hashlib.sha256(text.encode()).hexdigest()}

    def grid(self, o: Options, quick: bool) -> list[dict[str, Any]]:
        """The spec's cells; ``models=a,b`` keeps the variants with those labels or model names."""
        options = {k: v for k, v in o.items() if k != "models"}
        grid = cells(self.spec, quick, options)
        if "models" in o:
            wanted = {m.strip() for m in str(o["models"]).split(",") if m.strip()}
            known = {m["label"] for m in self.spec["models"]} | {m["model"] for m in self.spec["models"]}
            if not wanted or wanted - known:
                raise GenzooError(f"invalid value models={o['models']!r}: expected a comma-separated subset of "
                                  f"{', '.join(m['label'] for m in self.spec['models'])} (labels or model names)")
            grid = [c for c in grid if c["label"] in wanted or c["model"] in wanted]
        return grid

    def check(self, o: Options, quick: bool) -> None:
        validate(self.spec, self.grid(o, quick))

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        return [Cell(c["id"], c, c["seed"], cost=float(c["steps"])) for c in self.grid(o, quick)]

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        result = run_cell(cell.params, str(ctx.out), 0)
        return {k: v for k, v in result.items() if k not in ("id", "label", "model", "data_label", "seed", "steps", "versions")}

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        ident = self.identity(o, quick, dict(o))
        write_json_atomic(out / SUITE_FILE, ident)
        (out / "spec.toml").write_text(self.text)
        summary = write_tables(self.spec, self.grid(o, quick), out, ident)
        print(format_summary(summary, self.spec["metrics"]))


def run_suite(spec_path: Path, out_dir: Path, quick: bool = False, jobs: int = 1, options: dict[str, str] | None = None,
              **engine_options: Any) -> Path:
    """Run (or resume) every cell of the spec at ``spec_path`` into ``out_dir``; write the tables."""
    from genzoo.bench import engine

    exp = SuiteExperiment.from_file(Path(spec_path))
    result = engine.run(exp, Path(out_dir), dict(options or {}), quick=quick, jobs=jobs, **engine_options)
    print(f"report: genzoo report {out_dir}")
    if result["failed"]:
        raise GenzooError(f"{len(result['failed'])} of {result['cells']} cell(s) failed (finished cells are kept; rerun to "
                          f"retry; details in {Path(out_dir) / 'cells'}/*.failed.json); first: {result['failed'][0]}")
    return Path(out_dir)


def derived_spec(base: str, name: str, description: str, models_toml: str, notes: str | None = None,
                 quick_values: dict[str, Any] | None = None) -> str:
    """A suite spec with the protocol, budget and data of the shipped spec ``base`` and other models.

    Everything before ``base``'s first ``[[models]]`` table is kept verbatim (so its pinned protocol,
    train values, data and notes, and hence its null baselines, are the same), its name and
    description are replaced, and its models and published rows are replaced by ``models_toml``
    (``[[models]]`` tables, and ``[[published]]`` ones where papers report these models), its
    ``[quick]`` table by ``quick_values`` (default: 1 000 steps, seed 0).
    ``notes``, when given, replaces everything after the first paragraph of ``base``'s notes (which
    states the geometry and the evaluation rule).
    """
    from genzoo.bench import SPECS

    text = (SPECS / base).read_text()
    head = text[: text.index("[[models]]")]
    head = re.sub(r'(?m)^name = ".*"$', lambda _: f"name = {json.dumps(name)}", head, count=1)
    head = re.sub(r'(?m)^description = ".*"$', lambda _: f"description = {json.dumps(description)}", head, count=1)
    head = re.sub(r"(?m)(^#[^\n]*\n)*^covers = \[[^\]]*\]\n", "", head)  # what base covers, these models need not
    if notes is not None:
        start = head.index('notes = """') + len('notes = """')
        end = head.index('"""', start)
        first = head[start:end].strip("\n").split("\n\n")[0]
        head = head[:start] + "\n" + first + "\n\n" + notes.strip("\n") + "\n" + head[end:]
    quick_values = {"steps": 1000, "seeds": [0]} if quick_values is None else quick_values
    quick_toml = "".join(f"{k} = {json.dumps(v)}\n" for k, v in quick_values.items())
    return head + models_toml + "\n[quick]\n" + quick_toml


def derived_benchmark(name: str, base: str, description: str, models_toml: str, notes: str | None = None, *,
                      quick_values: dict[str, Any] | None = None) -> SuiteExperiment:
    """Register benchmark ``name``: the suite :func:`derived_spec` builds (``--set steps=…``, ``seeds=…``,
    ``models=…`` like any suite). Returns the registered experiment."""
    from genzoo.bench import BENCHES

    exp = SuiteExperiment.from_text(derived_spec(base, name, description, models_toml, notes, quick_values), name, name)
    BENCHES.register(name)(exp)
    return exp


# ---------------------------------------------------------------------------------- tables
def finished(spec: dict[str, Any], grid: list[dict[str, Any]], out_dir: Path, sha: str) -> list[dict[str, Any]]:
    """Result rows of the grid's finished cells (in grid order)."""
    rows = [read_cell(out_dir / "cells" / f"{c['id']}.json", sha) for c in grid]
    return [r for r in rows if r is not None]


def summarise(rows: list[dict[str, Any]], metrics: list[str]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation (n − 1; None for one seed) per (model variant, data set).

    mean = (1/n) Σ_s v_s,  std = sqrt(Σ_s (v_s − mean)² / (n − 1)). Non-finite values (e.g. a
    metric that is undefined for a collapsed model) are left out and counted in ``<metric>_n``.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["label"], r["data_label"]), []).append(r)
    summary = []
    for (label, data), rs in groups.items():
        entry: dict[str, Any] = {"label": label, "data": data, "n_seeds": len(rs), "seeds": [r["seed"] for r in rs]}
        for m in metrics:
            values = [float(r[m]) for r in rs if isinstance(r.get(m), (int, float)) and math.isfinite(r[m])]
            if values:
                mean = sum(values) / len(values)
                std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
                entry[m], entry[f"{m}_std"], entry[f"{m}_n"] = mean, std, len(values)
        entry["seconds"] = sum(r.get("seconds", 0.0) for r in rs) / len(rs)
        summary.append(entry)
    return summary


NULLS_FILE = "nulls.json"


def null_baselines(spec: dict[str, Any], grid: list[dict[str, Any]], out_dir: Path, ident: dict[str, Any]) -> dict[str, Any]:
    """Null baselines (:mod:`genzoo.metrics.null_baselines`) of every 2-D mixture data set of the spec,
    scored like the cells (same seeds, ``train.n_eval`` samples), summarised as mean ± std over seeds.

    Cached in ``OUT/nulls.json`` under the suite's identity (they depend only on the spec). Data
    sets without a known mixture density (images) have none. Returns {data label: [summary rows]}.
    """
    from genzoo import data as data_module
    from genzoo.config import _coerce
    from genzoo.metrics.null_baselines import score_nulls

    path = out_dir / NULLS_FILE
    seeds = sorted({c["seed"] for c in grid})
    n_eval = next((s.split("=", 1)[1] for s in grid[0]["sets"] if s.startswith("train.n_eval=")), "2500")
    key = {"spec_sha256": ident["spec_sha256"], "quick": ident["quick"], "overrides": ident["overrides"],
           "seeds": seeds, "n": int(_coerce("train.n_eval", n_eval, int))}
    if path.is_file():
        try:
            cached = json.loads(path.read_text())
            if cached.get("key") == key:
                return cached["nulls"]
        except (OSError, json.JSONDecodeError):
            pass
    out: dict[str, Any] = {}
    for d in spec["data"]:
        params = {k: v for k, v in d.items() if k not in ("name", "label")}
        dataset = data_module.load(d["name"], **params)
        if dataset.kind != "points" or getattr(dataset.density, "means", None) is None:
            continue
        rows = score_nulls(dataset, seeds, key["n"])
        for r in rows:
            r["label"], r["data_label"] = r["null"], data_label(d)
        out[data_label(d)] = summarise(rows, ["modes", "hq_share", "w1"])
    write_json_atomic(path, {"key": key, "nulls": out})
    return out


def write_tables(spec: dict[str, Any], grid: list[dict[str, Any]], out_dir: Path, ident: dict[str, Any]) -> list[dict[str, Any]]:
    rows = finished(spec, grid, out_dir, ident["spec_sha256"])
    nulls = null_baselines(spec, grid, out_dir, ident) if rows else {}
    metrics = list(spec["metrics"])
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "label", "model", "data_label", "seed", "steps", *metrics,
                                               "seconds", "spec_version", "spec_sha256"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    summary = summarise(rows, metrics)
    failed = sorted(p.name.removesuffix(".failed.json") for p in (out_dir / "cells").glob("*.failed.json"))
    write_json_atomic(out_dir / "summary.json", {**ident, "metrics": metrics, "cells": len(grid), "finished": len(rows),
                                           "failed": failed, "rows": summary, "nulls": nulls})
    with open(out_dir / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "data", "n_seeds", *metrics, *[f"{m}_std" for m in metrics]])
        for e in summary:
            writer.writerow([e["label"], e["data"], e["n_seeds"], *[_num(e.get(m)) for m in metrics],
                             *[_num(e.get(f"{m}_std")) for m in metrics]])
    return summary


def _num(value: Any) -> str:
    return "" if value is None else repr(float(value))


def format_summary(summary: list[dict[str, Any]], metrics: list[str]) -> str:
    if not summary:
        return "(no finished cells)"
    head = f"{'model':<28}{'data':<14}{'seeds':>6}" + "".join(f"{m:>22}" for m in metrics)
    lines = [head, "-" * len(head)]
    for e in summary:
        cells_ = "".join((f"{e[m]:>12.4g} ± {e[m + '_std']:<7.2g}" if e[m + "_std"] is not None else f"{e[m]:>12.4g}{'':10}")
                         if m in e else f"{'—':>22}" for m in metrics)
        lines.append(f"{e['label']:<28}{e['data']:<14}{e['n_seeds']:>6}{cells_}")
    return "\n".join(lines)
