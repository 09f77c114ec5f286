"""The experiment engine: every benchmark is a declared :class:`Experiment`, run as a grid of cells.

An experiment states

* its **options** (:class:`Option`: the full-budget value, the ``--quick`` value, what it means) —
  one place reads and checks them, so a mistyped ``--set`` key stops with a one-line error before
  anything is written;
* its **cells** (:class:`Cell`: one training run or one evaluation, with the parameters it needs,
  its seed and its priority);
* how one cell is **scored** (:meth:`Experiment.run_cell`, returning a dict of metrics);
* how the records become a **report** (:meth:`Experiment.report`, which never trains).

The engine does the rest, the same way for every experiment:

* identity: the experiment's name, version, ``--quick`` and resolved options hash to ``spec_sha256``,
  written to ``OUT/experiment.json`` and into every record; a directory made with another identity
  is refused, and so is merging records of different identities;
* records: each finished cell writes ``OUT/cells/<id>.json`` (atomically) with one schema —
  ``id, experiment, version, spec_sha256, quick, params, seed, metrics, seconds, versions`` —
  so an interrupted campaign resumes where it stopped;
* launchers: in this process (``--jobs 1``), a pool of worker processes (``--jobs N``), or Ray tasks
  (``--launcher ray``) on a local or remote cluster; ``--device cuda`` spreads cells round-robin over
  the GPUs; results do not depend on the launcher (one torch thread per cell);
* ``--time-limit S``: no cell starts after S seconds, and running cells that train through the
  trainer checkpoint and stop at S, so a second call continues them from that checkpoint;
* ``--shard K/N``: only every N-th cell (from the K-th), for splitting a campaign over machines;
  :func:`merge` brings the halves together, :func:`verify` re-runs stored cells and compares.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable

from genzoo.errors import DivergenceError, GenzooError
from genzoo.files import write_json_atomic

IDENTITY_FILE = "experiment.json"
CELLS = "cells"
RUNS = "runs"
_SAME = object()
#: metric names that measure time, not the model: left out when records are compared (verify, merge)
TIMING = re.compile(r"(^|_)(s|seconds|per_s|time|share|skipped|resumed|threads)$")


# ------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Option:
    """One ``--set`` option: its full-budget value, its ``--quick`` value and what it means.

    The type is the default's (int, float, bool, str; a list or tuple default takes ``a,b,c``);
    ``choices`` restricts the values.
    """

    default: Any
    quick: Any = _SAME
    meaning: str = ""
    choices: tuple[Any, ...] = ()

    def value(self, quick: bool) -> Any:
        return self.default if (not quick or self.quick is _SAME) else self.quick


class Options(dict):
    """Resolved option values; ``o.steps`` reads ``o["steps"]``."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def _coerce(name: str, text: Any, like: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        if isinstance(like, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
        if isinstance(like, (list, tuple)):
            element = like[0] if like else ""
            items = [t.strip() for t in text.split(",") if t.strip()]
            return type(like)(_coerce(name, t, element) for t in items)
    except ValueError:
        kind = "true or false" if isinstance(like, bool) else f"a{'n' if isinstance(like, int) else ''} {type(like).__name__}"
        if isinstance(like, (list, tuple)):
            kind = "a comma-separated list like 1,2,3"
        raise GenzooError(f"invalid value {name}={text!r}: expected {kind}") from None
    return text


def resolve_options(name: str, declared: dict[str, Option], sets: dict[str, str], quick: bool) -> Options:
    """Each declared option's value: ``--set`` wins over the (full or quick) default.

    An unknown key is a one-line :class:`GenzooError` with the closest valid names.
    """
    from genzoo.registry import did_you_mean

    for key in sets:
        if key not in declared:
            valid = ", ".join(sorted(declared)) or "(none)"
            raise GenzooError(f"unknown option {key!r} for benchmark {name!r};{did_you_mean(key, declared)} valid: {valid}")
    out = Options()
    for key, opt in declared.items():
        value = _coerce(key, sets[key], opt.value(quick)) if key in sets else opt.value(quick)
        if opt.choices and value not in opt.choices and not (isinstance(value, (list, tuple)) and set(value) <= set(opt.choices)):
            raise GenzooError(f"invalid value {key}={value!r}; valid: {', '.join(map(str, opt.choices))}")
        out[key] = value
    return out


# --------------------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    """One unit of work: a training run or an evaluation, with what it needs beyond the options.

    ``priority``: lower runs first (a short slot does the most valuable cells); ``cost``: relative
    expected time (the progress bar's estimate, ``verify``'s "cheapest first"); ``gpu``: the cell
    benefits from a GPU when the launcher has one; ``baseline``: a null row scored by the
    experiment's rule without training anything (``verify`` re-runs trained cells first, since a
    null re-derived proves the least about the code that trains).
    """

    id: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    priority: float = 0.0
    cost: float = 1.0
    gpu: bool = False
    baseline: bool = False


def slug(*parts: Any) -> str:
    """A file-name-safe cell id from its parts."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "__".join(str(p) for p in parts)).strip("_")


@dataclass
class CellContext:
    """Where and how a cell runs: its own directory (checkpoints, pictures), device, threads, deadline."""

    out: Path
    run_dir: Path
    device: str = "cpu"
    threads: int = 1
    deadline: float | None = None
    quick: bool = False
    jobs: int = 1  # worker processes the cell may use itself (only when it runs alone in the engine's process)

    def time_left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.time()


def train(ctx: CellContext, run_config: dict[str, Any]) -> tuple[Path, dict[str, float]]:
    """Train ``run_config`` (from :func:`genzoo.run.resolve`) in the cell's run directory through the
    trainer, continuing from its checkpoint when a time limit cut it; returns (run_dir, last metrics).

    The metrics are the last value of every logged quantity, the same whether the run went in one
    piece or several.
    """
    from genzoo import run as runs
    from genzoo.files import METRICS, last_metrics
    from genzoo.train.trainer import CHECKPOINT

    if (ctx.run_dir / CHECKPOINT).exists():
        runs.resume(ctx.run_dir)
    else:
        if ctx.run_dir.exists():  # created but never checkpointed: start again
            shutil.rmtree(ctx.run_dir)
        runs.train(run_config, ctx.run_dir.parent, ctx.run_dir.name)
    return ctx.run_dir, last_metrics(ctx.run_dir / METRICS)


class Interrupted(Exception):
    """A cell stopped at the time limit; its checkpoint lets the next call continue it."""


# ---------------------------------------------------------------------------------- experiments
class Experiment:
    """Base class of every benchmark; subclasses set the class attributes and the three methods.

    ``name``: ``genzoo bench NAME``; ``version``: bump when a change alters what cells compute (it
    is part of the identity, so old records are never mixed with new ones).
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    summary: ClassVar[str] = ""
    options: ClassVar[dict[str, Option]] = {}

    def describe(self) -> str:
        return self.summary or (type(self).__doc__ or self.name).strip().splitlines()[0]

    def resolve(self, sets: dict[str, str], quick: bool) -> Options:
        return resolve_options(self.name, self.options, sets, quick)

    def check(self, o: Options, quick: bool) -> None:
        """Validate option combinations before anything is written (raise GenzooError)."""

    def identity(self, o: Options, quick: bool, sets: dict[str, str]) -> dict[str, Any]:
        pinned = {"experiment": self.name, "version": self.version, "quick": bool(quick), "options": dict(o)}
        text = json.dumps(pinned, sort_keys=True, separators=(",", ":"), default=str)
        return {**pinned, "spec_sha256": hashlib.sha256(text.encode()).hexdigest()}

    def cells(self, o: Options, quick: bool) -> list[Cell]:
        raise NotImplementedError

    def run_cell(self, cell: Cell, o: Options, ctx: CellContext) -> dict[str, Any]:
        raise NotImplementedError

    def report(self, records: list[dict[str, Any]], o: Options, out: Path, quick: bool) -> None:
        """Write tables and figures from the finished cells' records (never trains)."""


def experiments() -> Any:
    from genzoo.bench import BENCHES

    return BENCHES


def get(name: str) -> Experiment:
    from genzoo.bench import lookup

    return lookup(name)


# ------------------------------------------------------------------------------------- records
def read_record(path: Path, sha: str | None = None) -> dict[str, Any] | None:
    """A finished cell's record, or None when missing, unreadable or (with ``sha``) of another identity."""
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or "metrics" not in record:
        return None
    return record if sha is None or record.get("spec_sha256") == sha else None


def records(out: Path, sha: str, grid: list[Cell]) -> list[dict[str, Any]]:
    """The records of the grid's finished cells, in grid order."""
    found = [read_record(out / CELLS / f"{c.id}.json", sha) for c in grid]
    return [r for r in found if r is not None]


def compared(metrics: Any) -> Any:
    """The metrics that must be identical between two runs of a cell: timings left out at every
    level (a ``seconds`` inside a table row too)."""
    if isinstance(metrics, dict):
        return {k: compared(v) for k, v in metrics.items() if not TIMING.search(str(k))}
    if isinstance(metrics, list):
        return [compared(v) for v in metrics]
    return metrics


def _versions() -> dict[str, str]:
    import torch

    from genzoo import __version__

    return {"genzoo": __version__, "torch": torch.__version__, "python": platform.python_version()}


# ----------------------------------------------------------------------------------- one cell
def execute(exp: Experiment | str, cell: Cell, o: dict[str, Any], ident: dict[str, Any], out: str, device: str,
            threads: int, deadline: float | None, jobs: int = 1) -> dict[str, Any]:
    """Run one cell (in any process) and return ``{"status": "done" | "interrupted" | "failed", ...}``.

    ``exp`` travels by name for registered experiments, else as the (picklable) object itself.
    """
    import torch

    from genzoo.train import trainer

    torch.set_num_threads(threads)
    exp = get(exp) if isinstance(exp, str) else exp
    ctx = CellContext(Path(out), Path(out) / RUNS / cell.id, device, threads, deadline, bool(ident["quick"]), jobs)
    start = time.perf_counter()
    try:
        with trainer.stop_at(deadline):
            metrics = exp.run_cell(cell, Options(o), ctx)
    except (Interrupted, trainer.Stopped) as e:
        return {"status": "interrupted", "id": cell.id, "error": str(e)}
    except Exception as e:  # noqa: BLE001 - one broken cell must not lose the others
        error = str(e) if isinstance(e, (GenzooError, DivergenceError)) else f"{type(e).__name__}: {e}"
        return {"status": "failed", "id": cell.id, "kind": type(e).__name__, "error": error,
                "traceback": traceback.format_exc()}
    record = {"id": cell.id, "experiment": ident["experiment"], "version": ident["version"],
              "spec_sha256": ident["spec_sha256"], "quick": ident["quick"], "params": cell.params, "seed": cell.seed,
              "metrics": _jsonable(metrics), "seconds": time.perf_counter() - start, "device": device,
              "threads": threads, "versions": _versions(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    return {"status": "done", "id": cell.id, "record": record}


def _jsonable(value: Any) -> Any:
    """Plain JSON values (tensors and numpy scalars to numbers; NaN and ∞ stay as floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value


# ------------------------------------------------------------------------------------ launchers
class LocalLauncher:
    """Cells in this process (one job) or in a pool of spawned worker processes."""

    def __init__(self, jobs: int) -> None:
        self.jobs, self.pool = jobs, None
        if jobs > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))

    @property
    def slots(self) -> int:
        return self.jobs

    def submit(self, *args: Any) -> Any:
        if self.pool is None:
            return _Done(execute(*args))
        return self.pool.submit(execute, *args)

    def wait(self, futures: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_futures

        ready = [f for f in futures if isinstance(f, _Done)]
        if not ready:
            ready = list(wait_futures(futures, return_when=FIRST_COMPLETED)[0])
        return [(f, _outcome(f.result)) for f in ready]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _Done:
    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def result(self) -> dict[str, Any]:
        return self.value


def _outcome(result: Any) -> dict[str, Any]:
    try:
        return result()
    except Exception as e:  # noqa: BLE001 - a worker died (killed, out of memory)
        return {"status": "failed", "kind": type(e).__name__, "error": f"worker process failed: {e!r}",
                "traceback": traceback.format_exc()}


class RayLauncher:
    """Cells as Ray tasks (one CPU each, one GPU for GPU cells on a CUDA device) on a Ray cluster.

    ``address``: an existing cluster (``ray start --head`` prints it; ``auto`` finds a local one);
    None starts a private local instance with ``jobs`` CPUs.
    """

    def __init__(self, jobs: int, address: str | None, gpus: bool) -> None:
        try:
            import ray
        except ImportError:
            raise GenzooError('--launcher ray needs Ray: pip install "genzoo[ray]"') from None
        self.ray, self.gpus = ray, gpus
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": address} if address else {"num_cpus": jobs, "include_dashboard": False}
            # the workers import genzoo from where this process does (an editable checkout included)
            root = str(Path(__file__).resolve().parents[2])
            env = {"PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
                   "OMP_NUM_THREADS": "1"}
            ray.init(log_to_driver=False, runtime_env={"env_vars": env}, **kwargs)
            self.started = True
        else:
            self.started = False
        cpus = int(ray.cluster_resources().get("CPU", jobs))
        self.jobs = jobs if address is None else max(jobs, cpus)
        self.remote = ray.remote(num_cpus=1)(execute)
        self.remote_gpu = ray.remote(num_cpus=1, num_gpus=1)(execute)

    @property
    def slots(self) -> int:
        return self.jobs

    def submit(self, exp: Any, cell: Cell, *args: Any) -> Any:
        fn = self.remote_gpu if (self.gpus and cell.gpu) else self.remote
        return fn.remote(exp, cell, *args)

    def wait(self, futures: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        ready, _ = self.ray.wait(futures, num_returns=1)
        return [(f, _outcome(lambda f=f: self.ray.get(f))) for f in ready]

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


# --------------------------------------------------------------------------------------- a run
def prepare(out: Path, ident: dict[str, Any]) -> None:
    """Create ``out`` for this identity, or accept it if it was made with the same one."""
    marker = out / IDENTITY_FILE
    if marker.is_file():
        old = json.loads(marker.read_text())
        if old.get("spec_sha256") != ident["spec_sha256"]:
            changed = sorted(k for k in set(old.get("options", {})) | set(ident["options"])
                             if old.get("options", {}).get(k) != ident["options"].get(k))
            why = (f"options differ: {', '.join(changed)}" if changed else
                   f"{old.get('experiment')!r} v{old.get('version')} quick={old.get('quick')} vs "
                   f"{ident['experiment']!r} v{ident['version']} quick={ident['quick']}")
            raise GenzooError(f"{str(out)!r} holds results of another experiment identity (sha256 "
                              f"{str(old.get('spec_sha256'))[:12]}, this run {ident['spec_sha256'][:12]}; {why}); records of "
                              "different identities are never mixed: use another --out or delete that directory")
    elif out.exists() and any(out.iterdir()):
        raise GenzooError(f"{str(out)!r} is not empty and holds no {IDENTITY_FILE}: not an experiment's output; "
                          "use another --out or delete that directory")
    (out / CELLS).mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        write_json_atomic(marker, {**ident, "created": time.strftime("%Y-%m-%d %H:%M:%S")})


def order(grid: list[Cell]) -> list[Cell]:
    """Priority first, then every cell's first seed before any second seed (stable otherwise)."""
    seeds = list(dict.fromkeys(c.seed for c in grid))
    return sorted(grid, key=lambda c: (c.priority, seeds.index(c.seed)))


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not int(m[1]) < int(m[2]):
        raise GenzooError(f"invalid value --shard {text!r}: expected K/N with 0 ≤ K < N, e.g. 0/2")
    return int(m[1]), int(m[2])


def devices(device: str) -> list[str]:
    """The devices cells go to, round-robin: ``cuda`` means every visible GPU."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise GenzooError("invalid value --device cuda: no CUDA device is visible")
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if device != "cpu" and not re.fullmatch(r"cuda:\d+", device):
        raise GenzooError(f"invalid value --device {device!r}: expected cpu, cuda, cuda:K or auto")
    return [device]


def plan(name: Experiment | str, sets: dict[str, str], quick: bool) -> tuple[Experiment, Options, dict[str, Any], list[Cell]]:
    """Everything checked before anything is written: the experiment, its options, identity and cells."""
    exp = get(name) if isinstance(name, str) else name
    o = exp.resolve(sets, quick)
    exp.check(o, quick)
    ident = exp.identity(o, quick, sets)
    grid = exp.cells(o, quick)
    ids = [c.id for c in grid]
    if len(set(ids)) != len(ids):
        raise GenzooError(f"benchmark {name!r}: two cells share the id {next(i for i in ids if ids.count(i) > 1)!r}")
    return exp, o, ident, grid


def run(name: Experiment | str, out: Path, sets: dict[str, str] | None = None, quick: bool = False, jobs: int = 1,
        device: str = "cpu", time_limit: float | None = None, launcher: str = "local", address: str | None = None,
        shard: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Run (or continue) the experiment ``name`` into ``out``; returns a summary of this call.

    ``{"done": n, "interrupted": n, "failed": [...], "left": n, "seconds": s}``; the report is
    written from every finished record, also when cells are left.
    """
    if jobs < 1:
        raise GenzooError(f"invalid value --jobs {jobs}: must be ≥ 1")
    if time_limit is not None and not time_limit > 0:
        raise GenzooError(f"invalid value --time-limit {time_limit}: must be > 0 seconds")
    if launcher not in ("local", "ray"):
        raise GenzooError(f"invalid value --launcher {launcher!r}: expected local or ray")
    exp, o, ident, grid = plan(name, dict(sets or {}), quick)
    k, n = parse_shard(shard)
    gpus = devices(device)
    out = Path(out)
    prepare(out, ident)
    sha = ident["spec_sha256"]
    mine = [c for i, c in enumerate(grid) if i % n == k]
    todo = order([c for c in mine if read_record(out / CELLS / f"{c.id}.json", sha) is None])
    start = time.time()
    deadline = None if time_limit is None else start + time_limit
    summary: dict[str, Any] = {"cells": len(grid), "done": 0, "interrupted": 0, "failed": [], "left": len(todo)}
    print(f"{exp.name} v{exp.version} (sha256 {sha[:12]}{', quick' if quick else ''}): {len(grid)} cells"
          f"{f', shard {k}/{n}: {len(mine)}' if n > 1 else ''}, {len(mine) - len(todo)} already done, {len(todo)} to run"
          f" with {jobs} job(s) on {', '.join(gpus)} -> {out}", flush=True)
    try:
        if todo:
            _run_cells(exp, o, ident, out, todo, jobs, gpus, deadline, launcher, address, summary, progress)
    finally:  # also when interrupted (Ctrl-C): the finished cells' time is on record
        summary["seconds"] = time.time() - start
        if todo:
            _append_timing(out, summary, jobs, launcher)
    finished = records(out, sha, grid)
    if finished:
        exp.report(finished, o, out, quick)
    summary["left"] = len(grid) - len(finished)
    return summary


def _run_cells(exp: Experiment, o: Options, ident: dict[str, Any], out: Path, todo: list[Cell], jobs: int,
               gpus: list[str], deadline: float | None, launcher: str, address: str | None,
               summary: dict[str, Any], progress: bool) -> None:
    from tqdm.auto import tqdm

    pool: Any = RayLauncher(jobs, address, gpus[0] != "cpu") if launcher == "ray" else LocalLauncher(min(jobs, len(todo)))
    queue, running = list(todo), {}
    total_cost = sum(c.cost for c in todo)
    bar = tqdm(total=len(todo), unit="cell", disable=None if progress else True, dynamic_ncols=True)
    submitted = 0
    try:
        while queue or running:
            while queue and len(running) < pool.slots and (deadline is None or time.time() < deadline):
                cell = queue.pop(0)
                device = gpus[submitted % len(gpus)]
                submitted += 1
                registered = exp.name in experiments() and experiments().get(exp.name) is exp
                alone = pool.slots == 1 and launcher == "local"
                future = pool.submit(exp.name if registered else exp, cell, dict(o), ident, str(out), device, 1,
                                     deadline, jobs if alone else 1)
                running[future] = cell
                bar.set_postfix(running=len(running), left=len(queue), refresh=False)
            if not running:
                break
            for future, outcome in pool.wait(list(running)):
                cell = running.pop(future)
                _record(out, cell, outcome, summary, bar)
                total_cost -= cell.cost
                bar.set_postfix(running=len(running), left=len(queue), refresh=True)
    finally:
        bar.close()
        pool.close()
    summary["not_started"] = len(queue)
    if queue or summary["interrupted"]:
        print(f"time limit reached: {summary['done']} cell(s) finished, {summary['interrupted']} stopped at a checkpoint, "
              f"{len(queue)} not started; run the same command again to continue", flush=True)
    if summary["failed"]:
        print(f"{len(summary['failed'])} cell(s) failed (details in {out / CELLS}/*.failed.json); "
              f"first: {summary['failed'][0]}", flush=True)


def _record(out: Path, cell: Cell, outcome: dict[str, Any], summary: dict[str, Any], bar: Any) -> None:
    failed = out / CELLS / f"{cell.id}.failed.json"
    if outcome["status"] == "done":
        write_json_atomic(out / CELLS / f"{cell.id}.json", outcome["record"])
        failed.unlink(missing_ok=True)
        summary["done"] += 1
        shown = "  ".join(f"{k}={v:.4g}" for k, v in list(compared(outcome["record"]["metrics"]).items())[:4]
                          if isinstance(v, (int, float)) and not isinstance(v, bool))
        resumed = " (resumed)" if outcome["record"]["metrics"].get("resumed") else ""
        bar.write(f"done   {cell.id} in {outcome['record']['seconds']:.1f}s{resumed}: {shown}")
        bar.update(1)
    elif outcome["status"] == "interrupted":
        summary["interrupted"] += 1
        bar.write(f"paused {cell.id}: {outcome['error']}")
    else:
        write_json_atomic(failed, {**outcome, "id": cell.id, "params": cell.params})
        summary["failed"].append(f"{cell.id}: {outcome['error']}")
        bar.write(f"FAILED {cell.id}: {outcome['error']}")
        bar.update(1)


def _append_timing(out: Path, summary: dict[str, Any], jobs: int, launcher: str) -> None:
    path = out / "timing.json"
    calls = json.loads(path.read_text())["invocations"] if path.is_file() else []
    calls.append({"seconds": summary["seconds"], "cells_run": summary["done"], "jobs": jobs, "launcher": launcher,
                  "cpus": os.cpu_count(), "machine": platform.machine(),
                  "processor": platform.processor() or platform.machine(), "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
    write_json_atomic(path, {"seconds": sum(c["seconds"] for c in calls), "invocations": calls})


def load(out: Path) -> tuple[Experiment, Options, dict[str, Any], list[Cell]]:
    """The experiment, options, identity and grid that made ``out`` (from its ``experiment.json``)."""
    marker = Path(out) / IDENTITY_FILE
    if not marker.is_file():
        raise GenzooError(f"{str(out)!r} holds no {IDENTITY_FILE}: not an experiment's output")
    ident = json.loads(marker.read_text())
    exp = get(ident["experiment"])
    o = Options(ident["options"])
    if exp.version != ident["version"]:
        raise GenzooError(f"{str(out)!r} was made by {exp.name} v{ident['version']}; this genzoo has v{exp.version}")
    return exp, o, ident, exp.cells(o, ident["quick"])


def rerender(out: Path) -> Path:
    """Write ``out``'s report again from its stored records (nothing is trained)."""
    exp, o, ident, grid = load(out)
    finished = records(Path(out), ident["spec_sha256"], grid)
    if not finished:
        raise GenzooError(f"{str(out)!r} holds no finished cell of its experiment")
    exp.report(finished, o, Path(out), ident["quick"])
    return Path(out)


def merge(out: Path, sources: Iterable[Path]) -> dict[str, Any]:
    """Combine the records of several runs of one experiment identity into ``out`` and report them."""
    sources = [Path(s) for s in sources]
    if not sources:
        raise GenzooError("merge needs at least one source directory")
    idents = []
    for s in sources:
        marker = s / IDENTITY_FILE
        if not marker.is_file():
            raise GenzooError(f"{str(s)!r} holds no {IDENTITY_FILE}: not an experiment's output")
        idents.append(json.loads(marker.read_text()))
    shas = {i["spec_sha256"] for i in idents}
    if len(shas) > 1:
        raise GenzooError("cannot merge records of different experiment identities: "
                          + ", ".join(f"{s} ({i['experiment']} {i['spec_sha256'][:12]})" for s, i in zip(sources, idents)))
    ident = {k: v for k, v in idents[0].items() if k != "created"}
    out = Path(out)
    prepare(out, ident)
    copied = 0
    for s in sources:
        for path in sorted((s / CELLS).glob("*.json")):
            if path.name.endswith(".failed.json") or read_record(path, ident["spec_sha256"]) is None:
                continue
            target = out / CELLS / path.name
            if not target.exists() and path.resolve() != target.resolve():
                shutil.copyfile(path, target)
                copied += 1
                if (s / RUNS / path.stem).is_dir() and not (out / RUNS / path.stem).exists():
                    shutil.copytree(s / RUNS / path.stem, out / RUNS / path.stem)
    exp, o, _, grid = load(out)
    finished = records(out, ident["spec_sha256"], grid)
    if finished:
        exp.report(finished, o, out, ident["quick"])
    return {"copied": copied, "finished": len(finished), "cells": len(grid)}


def verify(out: Path, n: int = 1, seed: int | None = None, tolerance: float = 0.0) -> list[dict[str, Any]]:
    """Re-run ``n`` stored cells of ``out`` (the cheapest trained cells first, then null baselines; or
    a seeded random choice) in a scratch directory on the CPU and compare every non-timing metric
    with the stored record.

    Returns one row per cell: ``{"id", "equal", "differences"}``; equality is exact unless
    ``tolerance`` (a relative difference, for records made on a GPU) is given.
    """
    exp, o, ident, grid = load(out)
    stored = {r["id"]: r for r in records(Path(out), ident["spec_sha256"], grid)}
    if not stored:
        raise GenzooError(f"{str(out)!r} holds no finished cell to verify")
    by_id = {c.id: c for c in grid}
    chosen = sorted(stored.values(), key=lambda r: (by_id[r["id"]].baseline, r.get("seconds", 0.0), r["id"]))
    if seed is not None:
        chosen = random.Random(seed).sample(chosen, len(chosen))
    rows = []
    for record in chosen[:n]:
        with tempfile.TemporaryDirectory(prefix="genzoo-verify-") as scratch:
            (Path(scratch) / CELLS).mkdir()
            outcome = execute(exp.name, by_id[record["id"]], dict(o), ident, scratch, "cpu", 1, None)
        if outcome["status"] != "done":
            rows.append({"id": record["id"], "equal": False, "differences": [outcome.get("error", outcome["status"])]})
            continue
        rows.append({"id": record["id"], **_compare(compared(record["metrics"]), compared(outcome["record"]["metrics"]), tolerance)})
    return rows


def _compare(a: Any, b: Any, tolerance: float, where: str = "") -> dict[str, Any]:
    diffs: list[str] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                walk(x.get(key), y.get(key), f"{path}.{key}" if path else key)
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif isinstance(x, float) and isinstance(y, (int, float)) and not isinstance(y, bool):
            same = (math.isnan(x) and math.isnan(y)) or x == y or (
                tolerance > 0 and abs(x - y) <= tolerance * max(abs(x), abs(y), 1e-12))
            if not same:
                diffs.append(f"{path}: stored {x!r}, now {y!r}")
        elif x != y:
            diffs.append(f"{path}: stored {x!r}, now {y!r}")

    walk(a, b, where)
    return {"equal": not diffs, "differences": diffs}
