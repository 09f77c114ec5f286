"""Experiments (``genzoo bench NAME``), all run by :mod:`genzoo.bench.engine`.

Two ways to declare one share one namespace:

* *experiments in Python*: :class:`genzoo.bench.engine.Experiment` subclasses registered with
  :func:`experiment` (claims with their own protocol, timings);
* *suites*: versioned TOML specs in ``genzoo/bench/specs/`` (or a ``.toml`` path), run by
  :mod:`genzoo.bench.suite` as a (model × data × seed) grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genzoo.errors import GenzooError
from genzoo.registry import Registry

SPECS = Path(__file__).parent / "specs"


#: Every benchmark module registers itself and is imported on the first lookup: one new file is one new benchmark.
BENCHES: Registry[Any] = Registry("benchmark", package="genzoo.bench", skip=("suite", "report", "engine"))


def experiment(cls: type) -> type:
    """Register an :class:`genzoo.bench.engine.Experiment` subclass under its ``name``."""
    BENCHES.register(cls.name)(cls())
    return cls


def mean_std(values: list[float], digits: int = 3) -> str:
    """A table cell: "m ± s" over seeds, the value alone for one seed, "" for none."""
    import statistics

    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summary_stats(values: list[float | None]) -> dict[str, Any]:
    """n, mean, sample sd, min, max and median of the finite values (None and NaN skipped)."""
    import math

    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return {"n": 0}
    mean = sum(finite) / len(finite)
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1)) if len(finite) > 1 else None
    s = sorted(finite)
    median = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
    return {"n": len(finite), "mean": mean, "std": std, "min": s[0], "max": s[-1], "median": median}


def write_results(out: Path, stem: str, rows: list[dict[str, Any]], **meta: Any) -> None:
    """Write a benchmark's table as ``OUT/stem.csv`` (one row per dict; the union of their scalar
    columns) and ``OUT/stem.json`` (``meta`` plus the full rows)."""
    import csv
    import json

    columns: list[str] = []
    for row in rows:
        columns += [k for k, v in row.items() if k not in columns and isinstance(v, (int, float, str, bool))]
    with open(out / f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / f"{stem}.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")


def suites() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SPECS.glob("*.toml"))}


def lookup(name: str) -> Any:
    """The experiment called ``name``: a registered benchmark, a shipped suite, or a suite spec path."""
    from genzoo.bench.suite import SuiteExperiment

    if name.endswith(".toml"):
        return SuiteExperiment.from_file(Path(name))
    if name in suites():
        return SuiteExperiment.from_file(suites()[name])
    if name in BENCHES:
        return BENCHES.get(name)
    from genzoo.registry import did_you_mean

    valid = sorted(list(BENCHES) + list(suites()))
    raise GenzooError(f"unknown benchmark {name!r};{did_you_mean(name, valid)} valid: {', '.join(valid)}")


def describe() -> list[tuple[str, str]]:
    from genzoo.bench.suite import load_spec

    rows = [(name, b.describe()) for name, b in BENCHES.items()]
    for name, path in suites().items():
        try:
            rows.append((name, f"suite: {load_spec(path)['description']}"))
        except GenzooError as e:  # one broken spec must not hide the others
            rows.append((name, f"suite: INVALID SPEC: {e}"))
    return sorted(rows)


def run(name: str, out: str | None = None, quick: bool = False, jobs: int = 1, sets: list[str] | None = None,
        **engine_options: Any) -> Path:
    """Run (or continue) the benchmark or suite ``name`` (or a spec file path); returns its output directory.

    ``engine_options``: ``device``, ``time_limit``, ``launcher``, ``address``, ``shard``, ``progress``
    (:func:`genzoo.bench.engine.run`).
    """
    from genzoo.bench import engine
    from genzoo.config import parse_sets
    from genzoo.run import set_threads

    exp = lookup(name)
    out_dir = Path(out) if out else default_out(Path(name).stem if name.endswith(".toml") else name, quick)
    # train's thread rule (image-sized work) for what a benchmark computes itself; a benchmark's own
    # threads option overrides it, and each run it trains applies the rule for its model's data kind
    set_threads(0, "images")
    result = engine.run(exp, out_dir, parse_sets(sets or []), quick=quick, jobs=jobs, **engine_options)
    if result["failed"]:
        raise GenzooError(f"{len(result['failed'])} of {result['cells']} cell(s) failed (finished cells are kept; rerun to "
                          f"retry; details in {out_dir / 'cells'}/*.failed.json); first: {result['failed'][0]}")
    return out_dir


def default_out(name: str, quick: bool) -> Path:
    """``bench/NAME``, or ``bench/NAME-quick`` for ``--quick``: a quick check never overwrites full results."""
    return Path("bench") / (name + ("-quick" if quick else ""))
